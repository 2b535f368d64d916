"""`edgegen build m.keras --prune 0.8 --prune-mode block --precision int16`: block pruning zeroes
whole output channels of a small layer, to which TFLite's 16x8 converter gives weight scale 0.0;
edgegen builds that model and it verifies exact (simulator == TFLM, host C == simulator)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgegen.cli import main
from edgegen.tflite_reader import parse_tflite


def test_block_pruned_int16_model_builds_and_verifies_exact(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    import keras

    keras.utils.set_random_seed(0)
    inp = keras.Input((6, 6, 2))
    h = keras.layers.Conv2D(6, 3, activation="relu", name="c")(inp)
    h = keras.layers.DepthwiseConv2D(3, padding="same", name="dw")(h)
    out = keras.layers.Dense(4, name="d")(keras.layers.Flatten()(h))
    keras.Model(inp, out).save(tmp_path / "m.keras")
    np.save(tmp_path / "calib.npy", np.random.default_rng(0).normal(size=(16, 6, 6, 2)).astype(np.float32))
    rc = main(["build", str(tmp_path / "m.keras"), "--board", "host", "--calib", str(tmp_path / "calib.npy"),
               "--prune", "0.8", "--prune-mode", "block", "--precision", "int16", "--out", str(tmp_path / "out")])
    assert rc == 0, capsys.readouterr().out
    graph = parse_tflite((tmp_path / "out" / "model.tflite").read_bytes(), name="m")
    # the case under test happened: some int8 weight channel has scale 0.0 (and is all zero)
    pruned = [(t, i) for t in graph.tensors if t.dtype == "int8" and t.data is not None and t.quant is not None
              for i, s in enumerate(t.quant.scales) if s == 0.0]
    assert pruned and all(not np.take(t.data, i, axis=t.quant.axis).any() for t, i in pruned)
    assert any(t.dtype == "int16" for t in graph.tensors)
    capsys.readouterr()
    assert main(["verify", str(tmp_path / "out")]) == 0
    rows = [" ".join(line.split()) for line in capsys.readouterr().out.splitlines()]
    assert "simulator == TFLM exact" in " ".join(rows[:8]) and "host C == simulator exact" in " ".join(rows[:8])
