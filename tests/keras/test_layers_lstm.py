"""Keras LSTM layers as int8 UNIDIRECTIONAL_SEQUENCE_LSTM (edgegen/keras/lstm.py): a sequence
classifier (LSTM(return_sequences=True) stacked on LSTM, then Dense and softmax) builds from Keras,
verifies (simulator == TFLM, host C == simulator) and runs exact on qemu-m4; the `.keras` file
builds through the CLI; the LSTM options the int8 op cannot compute are refused by name."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edgegen import api
from edgegen.errors import UnsupportedError

STEPS, FEATURES = 12, 5


def _model(**lstm_options: Any) -> Any:
    import keras

    keras.utils.set_random_seed(0)
    inp = keras.Input((STEPS, FEATURES))
    x = keras.layers.LSTM(9, return_sequences=True, name="lstm_seq", **lstm_options)(inp)
    x = keras.layers.LSTM(7, name="lstm_last")(x)
    out = keras.layers.Dense(3, activation="softmax")(x)
    return keras.Model(inp, out, name="lstm_classifier")


def _data() -> np.ndarray:
    t = np.linspace(0, 4 * np.pi, STEPS)
    rng = np.random.default_rng(1)
    phase = rng.uniform(0, 2 * np.pi, (64, 1, FEATURES))
    return (np.sin(t[None, :, None] + phase) + rng.normal(0, 0.2, (64, STEPS, FEATURES))).astype(np.float32)


def test_lstm_classifier_builds_verifies_and_runs(tmp_path: Path) -> None:
    x = _data()
    out = tmp_path / "m"
    result = api.build(_model(), out, board="qemu-m4", calib=x, inputs=x[:2], vectors=2)
    ops = [c.op_name for c in result.program.calls]
    assert ops.count("UNIDIRECTIONAL_SEQUENCE_LSTM") == 2, ops
    assert api.verify(out, samples=3, inputs=x[:2]).ok
    run = api.run(out)
    assert run.result.verdict is True and run.result.vectors_passed == 2
    # the int8 LSTMs track the float ones (each sample from zero state in both)
    errors = api.layer_errors(_model(), (out / "model.tflite").read_bytes(), x[:16], samples=8)
    lstm = [e for e in errors if "unidirectional_sequence_lstm" in e.tensor]
    assert len(lstm) == 2 and all(e.sqnr_db > 25 for e in lstm), [(e.tensor, e.sqnr_db) for e in errors]


def test_lstm_model_file_builds_with_the_cli(tmp_path: Path) -> None:
    from edgegen.cli import main

    path = tmp_path / "lstm.keras"
    _model().save(path)
    assert main(["build", str(path), "--out", str(tmp_path / "b"), "--force"]) == 0
    assert (tmp_path / "b" / "build.json").is_file()


def test_lstm_in_a_nested_sequential_model(tmp_path: Path) -> None:
    """Keras's clone/call hooks do not reach into Sequential models; the conversion still fuses
    an LSTM there (a WHILE loop would crash the converter's int8 quantization)."""
    import keras

    inner = keras.Sequential([keras.Input((STEPS, FEATURES)), keras.layers.LSTM(6, return_sequences=True)])
    inp = keras.Input((STEPS, FEATURES))
    model = keras.Model(inp, keras.layers.Dense(2)(keras.layers.LSTM(3)(inner(inp))))
    x = _data()
    result = api.build(model, tmp_path / "m", calib=x, inputs=x[:2], vectors=2)
    ops = [c.op_name for c in result.program.calls]
    assert ops.count("UNIDIRECTIONAL_SEQUENCE_LSTM") == 2, ops
    assert api.verify(tmp_path / "m", samples=3, inputs=x[:2]).ok
    # the layers' own call is back after conversion
    assert "call" not in vars(inner.layers[0]) and "call" not in vars(model.layers[2])


@pytest.mark.parametrize(("options", "why"), [
    ({"activation": "relu"}, "activation 'relu'"),
    ({"recurrent_activation": "hard_sigmoid"}, "recurrent_activation 'hard_sigmoid'"),
    ({"go_backwards": True}, "go_backwards=True"),
])
def test_lstm_options_the_int8_op_cannot_compute_are_refused(options: dict[str, Any], why: str,
                                                               tmp_path: Path) -> None:
    with pytest.raises(UnsupportedError, match=f"layer 'lstm_seq' \\(LSTM\\): {why}"):
        api.build(_model(**options), tmp_path / "m", calib=_data())


def test_gru_is_refused_by_name_also_in_a_nested_model(tmp_path: Path) -> None:
    import keras

    inp = keras.Input((STEPS, FEATURES))
    model = keras.Model(inp, keras.layers.GRU(4, name="gru")(inp))
    with pytest.raises(UnsupportedError, match="layer 'gru' \\(GRU\\)"):
        api.build(model, tmp_path / "m", calib=_data())
    inner = keras.Sequential([keras.Input((STEPS, FEATURES)), keras.layers.SimpleRNN(4, name="rnn")])
    outer = keras.Model(inp, keras.layers.Dense(2)(inner(inp)))
    with pytest.raises(UnsupportedError, match="layer 'rnn' \\(SimpleRNN\\)"):
        api.build(outer, tmp_path / "m2", calib=_data())
