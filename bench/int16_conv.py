"""int16 activations (TFLite's 16x8 scheme) for convolution and depthwise: the KWS DS-CNN layers in
int8 and in 16x8 on the emulated CPUs.

    .venv/bin/python bench/int16_conv.py [--cmsis-nn DIR] [--cpus qemu-m4,qemu-m55]

The model is the convolutional part of the MLPerf Tiny KWS DS-CNN (input 49x10x1, CONV_2D 10x4
stride 2 to 64 channels, then four DEPTHWISE_CONV_2D 3x3 + CONV_2D 1x1 64->64, RELU fused), seeded
random weights, calibrated on seeded uniform inputs, converted twice: int8 (TFLITE_BUILTINS_INT8) and
16x8 (EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8, int16 I/O). The .tflite files are
cached under ~/.cache/edgegen-bench.

For each CPU it builds and runs (`edgegen build` / `edgegen run`):
    int8 auto        edgegen's default build (its own int8 kernels where faster)
    int16            edgegen's portable CMSIS-NN API (edgegen_nn_convolve_s16 / _depthwise_conv_*_s16)
and with --cmsis-nn DIR (a CMSIS-NN v7 checkout) also
    int8 arm         --kernels cmsis-nn against Arm's library
    int16 arm        Arm's arm_convolve_s16 / arm_depthwise_conv_*_s16
and prints the per-layer instructions and the totals; every run must be exact (parity).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
CACHE = Path.home() / ".cache" / "edgegen-bench"
ROW = re.compile(r"^\s+(\d+)\s+\S+\s+(\w+)\s+([\d,]+)\s+([\d,]+)\s")
TOTAL = re.compile(r"instructions per inference: ([\d,]+)")


def kws_layers(int16: bool) -> Path:
    path = CACHE / f"kws_layers_{'16x8' if int16 else 'int8'}.tflite"
    if path.exists():
        return path
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf

    rng = np.random.default_rng(0)
    k: Any = tf.keras
    x = k.Input((49, 10, 1), batch_size=1)
    y = k.layers.Conv2D(64, (10, 4), strides=(2, 2), padding="same", activation="relu")(x)
    for _ in range(4):
        y = k.layers.DepthwiseConv2D(3, padding="same", activation="relu")(y)
        y = k.layers.Conv2D(64, 1, activation="relu")(y)
    model = k.Model(x, y)
    for v in model.weights:
        v.assign((rng.normal(size=v.shape) * (0.3 if len(v.shape) > 1 else 0.1)).astype(np.float32))
    cal = np.random.default_rng(1)
    data = [cal.uniform(-1, 1, size=(1, 49, 10, 1)).astype(np.float32) for _ in range(16)]
    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = lambda: ([d] for d in data)
    ops = tf.lite.OpsSet
    conv.target_spec.supported_ops = [ops.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8 if int16
                                      else ops.TFLITE_BUILTINS_INT8]
    conv.inference_input_type = conv.inference_output_type = tf.int16 if int16 else tf.int8
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data_bytes = conv.convert()
    CACHE.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data_bytes)
    return path


def run(model: Path, cpu: str, out: Path, extra: list[str]) -> tuple[list[tuple[str, int, int]], int, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cli = [sys.executable, "-m", "edgegen"]
    subprocess.run([*cli, "build", str(model), "--board", cpu, "--out", str(out), "--force", *extra], env=env,
                   check=True, capture_output=True)
    text = subprocess.run([*cli, "run", str(out)], env=env, check=True, capture_output=True, text=True).stdout
    rows = [(m[2], int(m[3].replace(",", "")), int(m[4].replace(",", ""))) for m in map(ROW.match, text.splitlines())
            if m]
    total = TOTAL.search(text)
    assert total is not None and "parity on" in text and ": exact" in text, text
    return rows, int(total[1].replace(",", "")), text


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cmsis-nn", type=Path)
    ap.add_argument("--cpus", default="qemu-m4,qemu-m55")
    ap.add_argument("--out", type=Path, default=Path("/tmp/edgegen-bench-int16"))
    args = ap.parse_args()
    configs: list[tuple[str, bool, list[str]]] = [("int8 auto", False, []), ("int16", True, [])]
    if args.cmsis_nn:
        arm = ["--cmsis-nn", str(args.cmsis_nn), "--kernels", "cmsis-nn"]
        configs += [("int8 arm", False, arm), ("int16 arm", True, arm)]
    for cpu in args.cpus.split(","):
        results = {}
        for name, int16, extra in configs:
            rows, total, _ = run(kws_layers(int16), cpu, args.out / f"{cpu}-{name.replace(' ', '-')}", extra)
            results[name] = (rows, total)
        print(f"\n{cpu}: instructions per layer (MACs)")
        names = list(results)
        print(f"{'layer':>5} {'MACs':>9} " + " ".join(f"{n:>12}" for n in names))
        first = results[names[0]][0]
        for i, (_fn, macs, _) in enumerate(first):
            print(f"{i:>5} {macs:>9,} " + " ".join(f"{results[n][0][i][2]:>12,}" for n in names))
        print(f"{'total':>5} {'':>9} " + " ".join(f"{results[n][1]:>12,}" for n in names))
        for i in range(len(first)):
            print(f"  layer {i}: " + ", ".join(f"{n}: {results[n][0][i][0]}" for n in names))


if __name__ == "__main__":
    main()
