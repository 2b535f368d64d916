"""Instructions of int16 (16x8) pools, softmax, elementwise ops, LOGISTIC/TANH, MEAN, PAD and
CONCATENATION against the same op with int8 activations, on qemu-m4 and qemu-m55.

Each op is one converter-made model of fixed shape (the same float graph and calibration data
converted twice: full int8, and TFLite's 16x8 scheme with int16 I/O), built with edgegen's default
kernels (auto) and with Arm's CMSIS-NN v7 linked and called wherever edgegen can (--cmsis-nn
DIR --kernels cmsis-nn), run on the emulator; the op's
instructions per inference come from the harness's per-call counts (parity is checked too).

    PYTHONPATH=. python bench/int16_ops.py /path/to/cmsis-nn-v7 > runs.txt
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import numpy as np

from edgegen.build import build
from edgegen.emulator import run_on_emulator

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

#: op name -> (input shapes, the float graph)
CASES: dict[str, tuple[tuple[tuple[int, ...], ...], Callable[..., Any]]] = {}


def _cases() -> None:
    import tensorflow as tf

    x4 = (1, 16, 16, 32)
    CASES["AVERAGE_POOL_2D 3x3/2 [1,16,16,32]"] = ((x4,), lambda x: tf.nn.avg_pool2d(x, 3, 2, "SAME"))
    CASES["MAX_POOL_2D 3x3/2 [1,16,16,32]"] = ((x4,), lambda x: tf.nn.max_pool2d(x, 3, 2, "SAME"))
    CASES["ADD [1,16,16,32]"] = ((x4, x4), lambda x, y: x + y)
    CASES["MUL [1,16,16,32]"] = ((x4, x4), lambda x, y: x * y)
    CASES["LOGISTIC [1,16,16,32]"] = ((x4,), tf.math.sigmoid)
    CASES["TANH [1,16,16,32]"] = ((x4,), tf.math.tanh)
    CASES["SOFTMAX [16,64]"] = (((16, 64),), tf.nn.softmax)
    CASES["MEAN [1,8,8,64] over H,W"] = (((1, 8, 8, 64),), lambda x: tf.reduce_mean(x, axis=[1, 2]))
    CASES["PAD [1,16,16,32] by 1"] = ((x4,), lambda x: tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]))
    CASES["CONCATENATION 2x[1,16,16,16] on C"] = (((1, 16, 16, 16), (1, 16, 16, 16)),
                                                  lambda x, y: tf.concat([x, y], axis=3))


def convert(shapes: tuple[tuple[int, ...], ...], fn: Callable[..., Any], int16: bool) -> bytes:
    import tensorflow as tf

    rng = np.random.default_rng(0)
    specs = [tf.TensorSpec(s, tf.float32) for s in shapes]
    f = tf.function(fn, input_signature=specs, autograph=False)
    conv = tf.lite.TFLiteConverter.from_concrete_functions([f.get_concrete_function()], f)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    data = [[rng.uniform(-3, 3, s).astype(np.float32) for s in shapes] for _ in range(16)]
    conv.representative_dataset = lambda: iter(data)
    conv.target_spec.supported_ops = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
                                      if int16 else tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = conv.inference_output_type = tf.int16 if int16 else tf.int8
    return bytes(conv.convert())


def main() -> None:
    arm = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    _cases()
    print(f"{'op':36} {'board':9} {'kernels':8} {'int8 fn':28} {'int8':>9} {'int16 fn':28} {'int16':>9} ratio")
    with TemporaryDirectory() as tmp:
        for name, (shapes, fn) in CASES.items():
            models = {bits: convert(shapes, fn, bits == 16) for bits in (8, 16)}
            for board in ("qemu-m4", "qemu-m55"):
                for label, lib in (("auto", None), ("arm-v7", arm)):
                    if label == "arm-v7" and lib is None:
                        continue
                    row = {}
                    for bits, data in models.items():
                        out = Path(tmp) / f"m{bits}"
                        r = build(data, out, source="m.tflite", name="m", board=board, vectors=2, cmsis_nn=lib,
                                  kernels="auto" if lib is None else "cmsis-nn", force=True)
                        run = run_on_emulator(r.out, board=board, timeout=600)
                        assert run.result.verdict is True, run.stdout[-2000:]
                        fns = "+".join(sorted({c.function for c in r.program.calls}))
                        row[bits] = (fns, sum(run.result.per_call))
                    (f8, n8), (f16, n16) = row[8], row[16]
                    print(f"{name:36} {board:9} {label:8} {f8:28} {n8:>9,} {f16:28} {n16:>9,} {n16 / n8:.2f}",
                          flush=True)


if __name__ == "__main__":
    main()
