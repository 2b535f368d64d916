"""The issue's acceptance bar on a CNN trained here on Fashion-MNIST (a 10k-image subset, 3
epochs; bench/keras_accuracy.py runs the full-size version recorded in docs/keras.md):

- int8 accuracy within 1 point of float;
- 50% structured pruning + fine-tuning cuts parameters and MACs by >= 40% and loses <= 2 points;
- 80% unstructured pruning (+ fine-tuning) keeps accuracy within 2 points;
- the unpruned and both pruned int8 models compile, and simulator == TFLM == host C exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edgegen.keras.convert import to_int8_tflite
from edgegen.keras.data import Dataset
from edgegen.keras.evaluate import Comparison, compare
from edgegen.keras.finetune import TrainConfig, finetune
from edgegen.keras.prune_magnitude import prune_unstructured
from edgegen.keras.prune_structured import prune_channels
from edgegen.keras.report import model_stats

from .datasets import FASHION_DIR, fashion_mnist

TRAIN = 10_000
TEST = 2_000
CALIB = 200


def fashion_cnn() -> Any:
    import keras

    inp = keras.Input((28, 28, 1))
    h = keras.layers.Conv2D(16, 3, padding="same", use_bias=False)(inp)
    h = keras.layers.BatchNormalization()(h)
    h = keras.layers.ReLU()(h)
    h = keras.layers.MaxPooling2D()(h)
    h = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(h)
    h = keras.layers.MaxPooling2D()(h)
    h = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(h)
    h = keras.layers.Flatten()(h)
    h = keras.layers.Dense(64, activation="relu")(h)
    return keras.Model(inp, keras.layers.Dense(10)(h), name="fashion_cnn")


@dataclass(frozen=True)
class Trained:
    model: Any
    train: Dataset
    test: Dataset
    calib: Dataset
    tflite: bytes
    base: Comparison


@pytest.fixture(scope="module")
def trained() -> Trained:
    import keras

    if not (FASHION_DIR / "train-images-idx3-ubyte.gz").is_file():
        pytest.skip(f"{FASHION_DIR} is absent: apt-get install -y dataset-fashion-mnist")
    (xt, yt), (xv, yv) = fashion_mnist()
    keras.utils.set_random_seed(0)
    train = Dataset(xt[:TRAIN], yt[:TRAIN], "fashion-mnist train[:10000]")
    # calibration images are training images the model never saw; evaluation is on the test set
    calib = Dataset(xt[TRAIN : TRAIN + CALIB], None, "fashion-mnist train[10000:10200]")
    test = Dataset(xv[:TEST], yv[:TEST], "fashion-mnist test[:2000]")
    model = fashion_cnn()
    finetune(model, train, TrainConfig(epochs=3, verbose=0))
    tflite = to_int8_tflite(model, calib)
    return Trained(model, train, test, calib, tflite, compare(model, tflite, test))


def test_int8_within_one_point_of_float(trained: Trained) -> None:
    b = trained.base
    assert b.float_accuracy is not None and b.int8_accuracy is not None
    assert b.float_accuracy > 0.8  # the model did learn
    assert abs(b.int8_accuracy - b.float_accuracy) <= 0.01


def _parity(tflite: bytes, out: Path, name: str) -> None:
    from edgegen.build import build
    from edgegen.verify import verify_directory

    result = build(tflite, out, source=f"{name}.tflite", name=name, force=True)
    report, program = verify_directory(result.out, count=5)
    assert report.ok, "\n".join(m.message() for m in report.mismatches)
    assert report.sim_vs_tflm is True and report.c_vs_sim is True
    assert report.tensors_compared == 5 * len(program.calls)


def test_structured_pruning_half(trained: Trained, tmp_path: Path) -> None:
    import keras

    keras.utils.set_random_seed(1)
    res = prune_channels(trained.model, 0.5, criterion="l1")
    finetune(res.model, trained.train, TrainConfig(epochs=2, verbose=0))
    before, after = model_stats(trained.model), model_stats(res.model)
    assert after.params <= 0.6 * before.params
    assert after.macs <= 0.6 * before.macs
    tflite = to_int8_tflite(res.model, trained.calib)
    c = compare(res.model, tflite, trained.test)
    assert trained.base.float_accuracy is not None and c.int8_accuracy is not None
    assert c.int8_accuracy >= trained.base.float_accuracy - 0.02
    assert len(tflite) < len(trained.tflite)
    _parity(tflite, tmp_path / "structured", "fashion_structured")


def test_unstructured_pruning_80(trained: Trained, tmp_path: Path) -> None:
    import keras

    keras.utils.set_random_seed(2)
    res = prune_unstructured(trained.model, 0.8, train=trained.train, config=TrainConfig(epochs=2, verbose=0))
    assert abs(res.sparsity - 0.8) < 0.01
    tflite = to_int8_tflite(res.model, trained.calib)
    c = compare(res.model, tflite, trained.test)
    assert trained.base.float_accuracy is not None and c.int8_accuracy is not None
    assert c.int8_accuracy >= trained.base.float_accuracy - 0.02
    _parity(tflite, tmp_path / "unstructured", "fashion_unstructured")


def test_unpruned_parity(trained: Trained, tmp_path: Path) -> None:
    _parity(trained.tflite, tmp_path / "base", "fashion")
    assert np.isfinite(trained.base.sqnr_db)
