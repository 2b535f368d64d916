"""How long the Keras pre-flight check (edgegen/keras/layers.py) takes on the shared MLPerf Tiny
Keras models and keras.applications.MobileNetV2 (random weights): the time of
``layers.preflight`` alone, best of 3, after loading.

    EDGEGEN_SHARED=/work/shared PYTHONPATH=. python bench/keras_preflight_time.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from edgegen.keras.layers import preflight, preflight_file, walk
from edgegen.keras.load import load_model


def _time(model: Any) -> float:
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        preflight(model)
        best = min(best, time.perf_counter() - t)
    return best


def main() -> int:
    import keras

    shared = Path(os.environ.get("EDGEGEN_SHARED", "/work/shared")) / "models" / "mlperf_tiny"
    models: list[tuple[str, Any]] = [(p.name, load_model(p).model) for p in sorted(shared.glob("*/*.h5"))]
    models.append(("MobileNetV2 (alpha 1.0, 224x224, weights=None)", keras.applications.MobileNetV2(weights=None)))
    for name, model in models:
        n = sum(1 for _ in walk(model))
        print(f"{name:50s} {n:4d} layers  preflight {_time(model) * 1000:8.2f} ms")
    # the CLI's check of a .keras file: config.json read from the archive, no TensorFlow
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "mobilenetv2.keras"
        models[-1][1].save(path)
        best = float("inf")
        for _ in range(3):
            t = time.perf_counter()
            preflight_file(path)
            best = min(best, time.perf_counter() - t)
        print(f"{'MobileNetV2 .keras (config.json, no TensorFlow)':50s}       preflight_file {best * 1000:8.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
