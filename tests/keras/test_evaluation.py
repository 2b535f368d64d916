"""Evaluation users can trust (issue 18 item 3): metrics chosen from the targets, labels that do
not fit refused, every sample used and counted, pruning measured before and after on held-out
data with a warning past a 1-point drop, and a warning when int8 is far from float.

Tiny Dense models only: each conversion takes about a second."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edgegen.cli import main


def _dense(inputs: int = 8, hidden: int = 16, outputs: int = 4, seed: int = 0, activation: str | None = None
           ) -> Any:
    import keras

    keras.utils.set_random_seed(seed)
    inp = keras.Input((inputs,))
    h = keras.layers.Dense(hidden, activation="relu", name="h")(inp)
    return keras.Model(inp, keras.layers.Dense(outputs, activation=activation, name="out")(h), name="tiny")


def _x(n: int, d: int = 8, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)


def _labels_of(model: Any, x: np.ndarray) -> np.ndarray:
    """Labels the model itself predicts: its float accuracy is 100 %."""
    return np.argmax(np.asarray(model(x)), axis=1).astype(np.int64)


def _build(tmp_path: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = main(["build", str(tmp_path / "m.keras"), "--board", "host", "--out", str(tmp_path / "out"), "--force",
               *args])
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def test_autoencoder_eval_reports_mse_not_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import keras

    keras.utils.set_random_seed(0)
    inp = keras.Input((8,))
    h = keras.layers.Dense(4, activation="relu")(inp)
    keras.Model(inp, keras.layers.Dense(8)(h)).save(tmp_path / "m.keras")
    x = _x(120)
    np.save(tmp_path / "calib.npy", x[:60])
    np.savez(tmp_path / "eval.npz", x=x[60:], y=x[60:])  # y = x
    rc, out, err = _build(tmp_path, capsys, "--calib", str(tmp_path / "calib.npy"), "--eval",
                          str(tmp_path / "eval.npz"))
    assert rc == 0, err
    assert "MSE vs targets: float" in out and "on 60 samples (regression targets)" in out
    assert "SQNR" in out and "accuracy" not in out and "Traceback" not in err


@pytest.mark.parametrize("labels,message", [
    (lambda n: np.arange(n) % 7, "label values 0..6, but the model has 4 outputs (classes 0..3)"),
    (lambda n: np.eye(3)[np.arange(n) % 3], "one-hot labels of 3 classes (shape [{n}, 3]), but the model has 4 "
                                            "outputs"),
    (lambda n: np.arange(n - 5) % 4, "labels of the evaluation data: {m} for {n} samples"),
    (lambda n: np.full(n, 0.5), "not a whole number (0.5)"),
])
def test_labels_that_do_not_fit_the_output_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                        labels: Any, message: str) -> None:
    _dense().save(tmp_path / "m.keras")
    x = _x(50)
    np.save(tmp_path / "calib.npy", x[:20])
    np.savez(tmp_path / "eval.npz", x=x[20:], y=labels(30))
    rc, _out, err = _build(tmp_path, capsys, "--calib", str(tmp_path / "calib.npy"), "--eval",
                           str(tmp_path / "eval.npz"))
    assert rc == 1 and "Traceback" not in err
    assert str(tmp_path / "eval.npz") in err and message.format(n=30, m=25) in err, err
    assert not (tmp_path / "out").exists()


def test_calibration_labels_that_do_not_fit_are_dropped_with_a_warning(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Labels that came along in the calibration .npz are not worth refusing a build for."""
    _dense().save(tmp_path / "m.keras")
    x = _x(40)
    np.savez(tmp_path / "calib.npz", x=x, y=np.arange(40) % 9)
    rc, out, err = _build(tmp_path, capsys, "--calib", str(tmp_path / "calib.npz"))
    assert rc == 0, err
    assert "labels of the calibration data: label values 0..8, but the model has 4 outputs" in err
    assert "evaluating without them" in err and "SQNR" in out and "accuracy" not in out


def test_eval_uses_every_sample_and_says_how_many(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = _dense()
    model.save(tmp_path / "m.keras")
    x = _x(2600)
    np.save(tmp_path / "calib.npy", x[:100])
    np.savez(tmp_path / "eval.npz", x=x[100:], y=_labels_of(model, x[100:]))
    rc, out, err = _build(tmp_path, capsys, "--calib", str(tmp_path / "calib.npy"), "--eval",
                          str(tmp_path / "eval.npz"))
    assert rc == 0, err
    assert "evaluated on 2,500 samples: eval.npz (--eval)" in out
    assert "float 100.00%" in out and "on 2,500 labelled samples" in out
    assert "WARNING" not in err  # a model calibrated on its data is not far from float


def test_structured_pruning_without_eval_is_measured_on_held_out_training_data(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--prune --train without --eval: accuracy before and after on a held-out slice of --train that
    fine-tuning does not see, and a WARNING past a 1-point drop."""
    model = _dense(hidden=32)
    model.save(tmp_path / "m.keras")
    x = _x(400)
    np.save(tmp_path / "calib.npy", x[:100])
    np.savez(tmp_path / "train.npz", x=x, y=_labels_of(model, x))
    rc, out, err = _build(tmp_path, capsys, "--calib", str(tmp_path / "calib.npy"), "--prune", "0.9",
                          "--train", str(tmp_path / "train.npz"), "--epochs", "1")
    assert rc == 0, err
    assert ("evaluated on 40 samples: a seeded 10% of train.npz held out from fine-tuning (which used the other "
            "360)") in out
    assert "fine-tuned 1 epochs on 360 samples" in out
    assert "accuracy before pruning: float 100.00%; after: float" in out
    assert "WARNING: pruning cost" in err and "accuracy points" in err and "of train.npz held out" in err


def test_pruning_without_labels_reports_agreement_with_the_original(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A softmax classifier: how often the pruned models predict the unpruned model's class; a
    regressor (or logits): the SQNR of the pruned outputs against the unpruned ones."""
    _dense(hidden=32, activation="softmax").save(tmp_path / "m.keras")
    np.save(tmp_path / "calib.npy", _x(100))
    rc, out, err = _build(tmp_path, capsys, "--calib", str(tmp_path / "calib.npy"), "--prune", "0.9")
    assert rc == 0, err
    assert "calib.npy = the calibration data" in out
    assert "no labels: the pruned model predicts the unpruned model's class on" in out
    assert "WARNING: the pruned float model disagrees with the unpruned one" in err
    _dense(hidden=32).save(tmp_path / "m.keras")
    rc, out, err = _build(tmp_path, capsys, "--calib", str(tmp_path / "calib.npy"), "--prune", "0.9")
    assert rc == 0, err
    assert "no labels: pruned outputs vs the unpruned model's: SQNR" in out
    assert "WARNING: the pruned model's outputs are far from the unpruned model's" in err


def test_int8_far_from_float_warns(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Calibrated on data 100x smaller than the data evaluated on: the int8 ranges clip everything."""
    model = _dense()
    model.save(tmp_path / "m.keras")
    x = _x(200)
    np.save(tmp_path / "calib.npy", 0.01 * x[:100])
    np.savez(tmp_path / "eval.npz", x=x[100:], y=_labels_of(model, x[100:]))
    rc, _out, err = _build(tmp_path, capsys, "--calib", str(tmp_path / "calib.npy"), "--eval",
                          str(tmp_path / "eval.npz"))
    assert rc == 0, err
    assert "WARNING: the int8 outputs are far from the float model's: SQNR" in err
    assert "the same class predicted on only" in err and err.count("WARNING:") == 1  # one line for both
    assert "calibration data unlike the data the model sees" in err


def test_pruning_effect_rules() -> None:
    """The pure rules of edgegen.keras.pruning_effect, without TensorFlow."""
    from edgegen.keras.pruning_effect import pruning_effect
    from edgegen.keras.targets import Targets

    orig = np.eye(4)[np.arange(100) % 4]
    same = orig.copy()
    worse = orig.copy()
    worse[:2] = np.roll(worse[:2], 1, axis=1)  # 2 of 100 wrong
    classes = Targets("classes", np.arange(100) % 4)
    lines, warn = pruning_effect(orig, same, same, classes, "d", classifier=True)
    assert "float 100.00%; after: float 100.00% (+0.00 points), int8 100.00%" in lines[0] and not warn
    lines, warn = pruning_effect(orig, same, worse, classes, "d", classifier=True)
    assert "int8 98.00% (-2.00 points)" in lines[0] and "pruning cost 2.00 accuracy points" in warn[0]
    values = Targets("values", orig.astype(np.float64))
    _lines, warn = pruning_effect(orig + 0.1, orig + 0.1, orig + 0.1, values, "d", classifier=False)
    assert not warn
    _lines, warn = pruning_effect(orig + 0.1, orig + 0.2, orig + 0.2, values, "d", classifier=False)
    assert "raised the float model's MSE by 300.0%" in warn[0]
    single = orig[:, :1]
    _lines, warn = pruning_effect(single + 1, single + 1.5, single + 1.5, None, "d", classifier=False)
    assert "SQNR" in warn[0]
    lines, warn = pruning_effect(orig, same, worse, None, "d", classifier=True)
    assert "class on 100.0% (float) and 98.0% (int8)" in lines[0] and not warn  # int8 rounding alone
    _lines, warn = pruning_effect(orig, worse, worse, None, "d", classifier=True)
    assert "disagrees with the unpruned one on 2.0% of 100 samples" in warn[0]
