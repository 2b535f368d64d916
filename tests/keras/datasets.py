"""Real data for the Keras front-end tests and bench/keras_accuracy.py (read in place, never copied)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")


def kws01(shared: Path) -> tuple[np.ndarray, np.ndarray]:
    """The 1000 kws01 samples as float MFCC [N, 49, 10, 1] and labels [N].

    The .bin files hold int8 inputs quantized with the shipped int8 model's input scale and zero
    point; the float .h5 expects the float features, so they are dequantized with those.
    """
    from edgegen.tflite_reader import read_tflite

    graph = read_tflite(shared / "models/mlperf_tiny/kws/kws_ref_model.tflite")
    q = graph.tensor(graph.inputs[0]).quant
    assert q is not None
    rows = [ln.split(",") for ln in (shared / "data/kws01/y_labels.csv").read_text().split() if ln.strip()]
    x = np.stack([np.frombuffer((shared / "data/kws01" / r[0]).read_bytes(), dtype=np.int8) for r in rows])
    y = np.array([int(r[2]) for r in rows], dtype=np.int64)
    xf = (x.astype(np.float32) - q.zero_point) * q.scale
    return xf.reshape(-1, 49, 10, 1), y


def _idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def fashion_mnist() -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """((x_train, y_train), (x_test, y_test)): images [N, 28, 28, 1] float32 in 0..1, labels int64."""
    def load(prefix: str) -> tuple[np.ndarray, np.ndarray]:
        x = _idx(FASHION_DIR / f"{prefix}-images-idx3-ubyte.gz").astype(np.float32)[..., None] / 255.0
        y = _idx(FASHION_DIR / f"{prefix}-labels-idx1-ubyte.gz").astype(np.int64)
        return x, y

    return load("train"), load("t10k")
