"""Seeded Keras builds are byte-identical, and reports name inputs by file name only."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edgegen import api
from edgegen.api import TrainConfig
from edgegen.cli import main
from edgegen.keras.data import Dataset

from .conftest import random_images, small_cnn


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_pruned_fine_tuned_rebuild_is_byte_identical(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`--prune 0.5 --train ... --epochs 2` twice (absolute paths, two output directories): the
    same files, byte for byte; none names the absolute directory; another --seed gives another
    model (so the seed is what makes it repeat, not training doing nothing)."""
    data = tmp_path / "data"
    data.mkdir()
    small_cnn().save(data / "m.keras")
    rng = np.random.default_rng(3)
    x = random_images(240, seed=3)
    y = rng.integers(0, 5, 240)
    np.save(data / "calib.npy", x[:60])
    np.savez(data / "train.npz", x=x[:200], y=y[:200])
    np.savez(data / "eval.npz", x=x[200:], y=y[200:])

    def build(out: str, *extra: str) -> dict[str, bytes]:
        rc = main(["build", str(data / "m.keras"), "--board", "host", "--calib", str(data / "calib.npy"),
                   "--prune", "0.5", "--train", str(data / "train.npz"), "--epochs", "2",
                   "--eval", str(data / "eval.npz"), "--out", str(tmp_path / out), *extra])
        assert rc == 0, capsys.readouterr().err
        return _tree(tmp_path / out)

    import keras

    a = build("A")
    keras.utils.set_random_seed(99)  # whatever state the process is in, --seed decides
    b = build("B")
    assert sorted(a) == sorted(b)
    assert [name for name in a if a[name] != b[name]] == []
    for name, content in a.items():
        assert str(tmp_path).encode() not in content, name
    front_end = json.loads(a["report.json"])["front_end"]
    assert front_end[0].startswith("keras model m.keras (keras)")
    assert any("fine-tuned 2 epochs on 200 samples from train.npz" in line for line in front_end)
    assert any("calibrated on 60 samples from calib.npy" in line for line in front_end)
    assert any(line.endswith("[eval.npz]") for line in front_end)
    assert b"from calib.npy" in a["report.html"]
    capsys.readouterr()

    c = build("C", "--seed", "1")
    assert c["model.tflite"] != a["model.tflite"]


def test_api_seed_covers_dropout_and_unstructured_pruning() -> None:
    """Dropout masks and fine-tuning's shuffling follow the seed; op determinism is switched back off."""
    import keras
    from tensorflow.python.framework import config as tf_config

    keras.utils.set_random_seed(0)
    inp = keras.Input((8,))
    h = keras.layers.Dense(32, activation="relu")(inp)
    h = keras.layers.Dropout(0.5)(h)
    model = keras.Model(inp, keras.layers.Dense(3)(h), name="drop")
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 8)).astype(np.float32)
    train = Dataset(x, rng.integers(0, 3, 128), "train")
    config = TrainConfig(epochs=2, batch_size=16, verbose=0)
    assert not tf_config.is_op_determinism_enabled()

    def build(seed: int) -> bytes:
        tflite, _lines = api.build_keras(model, x[:32], prune=0.5, prune_mode="unstructured", train=train,
                                         config=config, seed=seed)
        return tflite

    first = build(0)
    keras.utils.set_random_seed(123)  # whatever the caller's state, the seed decides
    assert build(0) == first
    assert build(7) != first
    assert not tf_config.is_op_determinism_enabled()


def test_api_refuses_bad_arrays(tmp_path: Path) -> None:
    from edgegen.arrays import ArrayError

    model = small_cnn()
    x = random_images(8)
    bad = x.copy()
    bad[3, 1, 2, 0] = np.nan
    with pytest.raises(ArrayError, match=r"^array: calibration data holds 1 NaN value \(the first at index "
                                         r"\[3, 1, 2, 0\]\)"):
        api.quantize(model, bad)
    with pytest.raises(ArrayError, match=r"^array: labels of the evaluation data: 7 for 8 samples"):
        api.evaluate(model, b"", x, np.arange(7))
    with pytest.raises(ArrayError, match=r"^array: training data holds complex numbers"):
        api.prune(model, 0.5, train=(x.astype(np.complex64), np.arange(8)), verbose=False)
    with pytest.raises(ArrayError, match=r"^api.build\(inputs=...\) holds text"):
        api.build(model, tmp_path / "o", board="host", calib=x, inputs=np.array([["a"]]))
    assert not (tmp_path / "o").exists()
