"""Issue 16: the same Keras Dense layer as a full-int8 FULLY_CONNECTED and as a 16x8 one (int16
activations), instructions on qemu-m4 and qemu-m55, with edgegen's default build (--kernels auto,
edgegen's portable CMSIS-NN API plus its own kernels) and with Arm's CMSIS-NN v7 (--kernels
cmsis-nn --cmsis-nn DIR). Every run is checked exact against the simulator (== TFLM).

    PYTHONPATH=. .venv/bin/python bench/int16_fc.py /path/to/CMSIS-NN > runs.txt
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from edgegen.build import build
from edgegen.emulator import run_on_emulator
from tests.support.opmodels import _tf

LAYERS = ((256, 64, False), (256, 64, True), (1024, 32, False))  # depth, units, per-channel weights


def convert(depth: int, units: int, per_channel: bool, rng: np.random.Generator) -> dict[str, bytes]:
    tf: Any = _tf()
    inp = tf.keras.Input((depth,), batch_size=1)
    model = tf.keras.Model(inp, tf.keras.layers.Dense(units, activation="relu")(inp))
    model.set_weights([rng.normal(size=w.shape).astype(np.float32) / np.sqrt(depth) for w in model.get_weights()])
    calib = [rng.normal(size=(1, depth)).astype(np.float32) for _ in range(32)]
    out = {}
    for kind in ("int8", "int16"):
        c = tf.lite.TFLiteConverter.from_keras_model(model)
        c.optimizations = [tf.lite.Optimize.DEFAULT]
        c.representative_dataset = lambda: ([x] for x in calib)
        c.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8 if kind == "int8" else
                                       tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
        c.inference_input_type = c.inference_output_type = tf.int8 if kind == "int8" else tf.int16
        c._experimental_disable_per_channel_quantization_for_dense_layers = not per_channel
        out[kind] = bytes(c.convert())
    return out


def main() -> None:
    arm = Path(sys.argv[1]) if len(sys.argv) > 1 else None
    rng = np.random.default_rng(7)
    with tempfile.TemporaryDirectory() as tmp:
        for depth, units, per_channel in LAYERS:
            for kind, data in convert(depth, units, per_channel, rng).items():
                for board in ("qemu-m4", "qemu-m55"):
                    for lib in ("auto", "arm") if arm else ("auto",):
                        out = Path(tmp) / f"{depth}_{units}_{per_channel}_{kind}_{board}_{lib}"
                        r = build(data, out, source="fc.tflite", name="fc", board=board, force=True, vectors=3,
                                  kernels="cmsis-nn" if lib == "arm" else "auto",
                                  cmsis_nn=arm if lib == "arm" else None)
                        run = run_on_emulator(r.out, board=board, timeout=300)
                        fc = next(c for c in r.program.calls if c.op_name == "FULLY_CONNECTED")
                        print(f"FC {depth}->{units} {'per-channel' if per_channel else 'per-tensor'} {kind:5s} "
                              f"{board:8s} {lib:8s} {fc.function:36s} verdict {run.result.verdict} vectors "
                              f"{run.result.vectors_passed} total {run.result.total} fc-call "
                              f"{run.result.per_call[fc.index]} arena {r.program.plan.arena_bytes}", flush=True)


if __name__ == "__main__":
    main()
