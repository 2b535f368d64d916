"""Arena bytes per shared model: edgegen's plan against TFLM's, measured through tflite-micro.

    .venv/bin/python bench/arena.py [--shared ../shared]

TFLM's figure is the smallest arena its interpreter accepts for the model (it includes TFLM's
own runtime structures: tensor metadata, node data, persistent op data); edgegen's is the one
static arena the generated code declares (activations plus CMSIS-NN scratch, nothing else).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from edgegen.build import compile_tflite
from edgegen.tflm_arena import tflm_arena_bytes

MODELS = [
    "models/mlperf_tiny/kws/kws_ref_model.tflite",
    "models/mlperf_tiny/ic/resnet8_int8.tflite",
    "models/mlperf_tiny/ad/ad01_int8.tflite",
    "models/tflite_micro/hello_world_int8.tflite",
    "models/tflite_micro/micro_speech_quantized.tflite",
]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    default = os.environ.get("EDGEGEN_SHARED", str(Path(__file__).resolve().parents[2] / "shared"))
    ap.add_argument("--shared", default=default)
    args = ap.parse_args()
    print(f"{'model':<32}{'edgegen arena':>14}{'greedy order':>14}{'TFLM arena':>12}{'ratio':>8}")
    for rel in MODELS:
        path = Path(args.shared) / rel
        data = path.read_bytes()
        _graph, program = compile_tflite(data, name=path.stem, source=str(path))
        tflm = tflm_arena_bytes(data)
        ratio = program.plan.arena_bytes / tflm
        print(f"{path.name:<32}{program.plan.arena_bytes:>14}{program.plan.greedy_bytes:>14}{tflm:>12}{ratio:>8.2f}")


if __name__ == "__main__":
    main()
