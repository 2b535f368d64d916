"""`edgegen build model.keras ...` end to end through the CLI, and its errors."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgegen.cli import main

from .conftest import random_images, small_cnn


def test_build_with_structured_pruning(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = small_cnn()
    model.save(tmp_path / "m.keras")
    rng = np.random.default_rng(0)
    x = random_images(300)
    y = rng.integers(0, 5, 300)
    np.savez(tmp_path / "calib.npz", x=x[:100])
    np.savez(tmp_path / "train.npz", x=x[:250], y=y[:250], x_test=x[250:], y_test=y[250:])
    rc = main(["build", str(tmp_path / "m.keras"), "--board", "host", "--calib", str(tmp_path / "calib.npz"),
               "--prune", "0.5", "--prune-mode", "structured", "--train", str(tmp_path / "train.npz"),
               "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert (tmp_path / "out" / "model.tflite").is_file()
    assert "structured pruning" in out and "MACs" in out and "params" in out
    assert "accuracy: float" in out and "accuracy before pruning" in out


def test_unstructured_summary_does_not_claim_savings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    small_cnn().save(tmp_path / "m.keras")
    np.save(tmp_path / "calib.npy", random_images(50))
    rc = main(["build", str(tmp_path / "m.keras"), "--board", "host", "--calib", str(tmp_path / "calib.npy"),
               "--prune", "0.8", "--prune-mode", "unstructured", "--out", str(tmp_path / "out"), "--float-io"])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "saves neither" in out and "float32 inputs and outputs" in out
    assert "SQNR" in out


def test_calib_required_for_non_tiny_models(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import keras

    inp = keras.Input((200,))
    keras.Model(inp, keras.layers.Dense(200)(inp)).save(tmp_path / "big.keras")
    rc = main(["build", str(tmp_path / "big.keras"), "--board", "host", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 1 and "--calib is required" in err and "big.keras" in err
    assert "Traceback" not in err


def test_tiny_model_without_calib_warns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import keras

    inp = keras.Input((1,))
    h = keras.layers.Dense(16, activation="relu")(inp)
    keras.Model(inp, keras.layers.Dense(1)(h)).save(tmp_path / "sine.keras")
    rc = main(["build", str(tmp_path / "sine.keras"), "--board", "host", "--out", str(tmp_path / "o")])
    captured = capsys.readouterr()
    assert rc == 0
    assert "WARNING" in captured.err and "RANDOM" in captured.err


def test_bad_calibration_shape_is_a_clean_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    small_cnn().save(tmp_path / "m.keras")
    np.save(tmp_path / "calib.npy", np.zeros((10, 28, 28, 1), np.float32))
    rc = main(["build", str(tmp_path / "m.keras"), "--calib", str(tmp_path / "calib.npy"),
               "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 1 and "calib.npy" in err and "[N, 12, 12, 3]" in err and "Traceback" not in err


def test_pruning_flags_reach_the_pipeline(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    small_cnn().save(tmp_path / "m.keras")
    rng = np.random.default_rng(1)
    x = random_images(120, seed=1)
    y = rng.integers(0, 5, 120)
    np.save(tmp_path / "calib.npy", x[:40])
    np.savez(tmp_path / "train.npz", x=x[:80], y=y[:80])
    np.savez(tmp_path / "eval.npz", x=x[80:], y=y[80:])
    rc = main(["build", str(tmp_path / "m.keras"), "--board", "host", "--calib", str(tmp_path / "calib.npy"),
               "--prune", "0.25", "--prune-criterion", "activation", "--train", str(tmp_path / "train.npz"),
               "--epochs", "1", "--eval", str(tmp_path / "eval.npz"), "--out", str(tmp_path / "out")])
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "structured pruning (activation, 25% of channels)" in out
    assert "accuracy: float" in out


def test_zero_epochs_is_a_clean_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    small_cnn().save(tmp_path / "m.keras")
    np.save(tmp_path / "calib.npy", random_images(20))
    rc = main(["build", str(tmp_path / "m.keras"), "--calib", str(tmp_path / "calib.npy"), "--prune", "0.5",
               "--epochs", "0", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc == 1 and "--epochs 0" in err and not (tmp_path / "o").exists()
