"""Issue 18 item 4 and the API part of item 3: tf.data datasets of (x, y) for calib/train/eval,
the API's build taking what the CLI takes, api.inspect and api.eval."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edgegen import api
from edgegen.errors import EdgegenError
from edgegen.keras.targets import targets_for

from .test_evaluation import _dense, _labels_of, _x


def test_tf_data_datasets_of_x_y_are_accepted() -> None:
    import tensorflow as tf

    from edgegen.keras.data import as_dataset

    model = _dense()
    x = _x(300)
    y = _labels_of(model, x)
    batched = tf.data.Dataset.from_tensor_slices((x, y)).batch(299)  # a last batch of 1
    d = as_dataset(batched, model, what="evaluation data")
    assert len(d) == 300 and d.y is not None and np.array_equal(d.y, y)
    assert "evaluation data: 300 samples from the tf.data dataset" in d.notes
    # calibration stops at its limit (a dataset may repeat forever), and says so
    forever = tf.data.Dataset.from_tensor_slices((x, y)).repeat()
    c = as_dataset(forever, model, limit=50)
    assert len(c) == 50 and any("the first 50 samples of the tf.data dataset" in n for n in c.notes)
    unbatched = as_dataset(tf.data.Dataset.from_tensor_slices(x[:7]), model)
    assert len(unbatched) == 7 and unbatched.y is None
    tflite = api.quantize(model, tf.data.Dataset.from_tensor_slices((x[:100], y[:100])).batch(10))
    c2 = api.eval(model, tflite, tf.data.Dataset.from_tensor_slices((x[100:], y[100:])).batch(50))
    assert c2.samples == 200 and c2.float_accuracy == 1.0 and c2.int8_accuracy is not None
    assert not c2.warnings("x")
    assert api.eval(model, tflite, (x[100:], y[100:])).float_accuracy == 1.0  # (x, y) arrays as well


def test_api_build_takes_the_cli_options(tmp_path: Path) -> None:
    """eval, prune mode/criterion/scope, epochs and seed reach the pipeline; warnings become
    Python warnings too; a .tflite with Keras options is refused."""
    import tensorflow as tf

    model = _dense(hidden=32)
    x = _x(300)
    y = _labels_of(model, x)
    with pytest.warns(api.EdgegenWarning, match="pruning cost"):
        result = api.build(model, tmp_path / "m", board="host", calib=x[:100], prune=0.9,
                           prune_mode="unstructured", prune_scope="layer", epochs=1,
                           train=tf.data.Dataset.from_tensor_slices((x[:200], y[:200])).batch(50),
                           eval=tf.data.Dataset.from_tensor_slices((x[200:], y[200:])).batch(25), seed=3,
                           name="mynet")
    assert (tmp_path / "m" / "model" / "mynet_model.h").is_file()
    front = json.loads((tmp_path / "m" / "report.json").read_text())["front_end"]
    assert result.board.name == "host"
    text = "\n".join(front)
    assert "unstructured" in text and "evaluated on 100 samples: tf.data dataset (--eval)" in text
    assert "evaluation data: 100 samples from the tf.data dataset" in text
    assert "training data: 200 samples from the tf.data dataset" in text
    assert "accuracy before pruning: float 100.00%" in text
    assert any(line.startswith("WARNING: pruning cost") for line in front)
    with pytest.raises(EdgegenError, match="eval apply to Keras models only"):
        api.build(tmp_path / "m" / "model.tflite", tmp_path / "n", board="host", eval=(x, y))


def test_api_inspect_returns_the_kernel_rows(tmp_path: Path) -> None:
    model = _dense()
    info = api.inspect(model, calib=_x(50), board="qemu-m4")
    assert info.ok and info.board == "qemu-m4" and info.problem is None
    assert [r.op for r in info.rows] == ["FULLY_CONNECTED", "FULLY_CONNECTED"]
    assert info.macs == 8 * 16 + 16 * 4 and info.weight_bytes > 0 and info.arena_bytes > 0
    (tmp_path / "m.tflite").write_bytes(api.quantize(model, _x(50)))
    again = api.inspect(tmp_path / "m.tflite", board="qemu-m4")
    assert [r.function for r in again.rows] == [r.function for r in info.rows]
    assert [t.dtype for t in again.inputs] == ["INT8"]


def test_targets_kinds() -> None:
    ints = np.array([0, 3, 1])
    assert targets_for(ints, 4, "d").kind == "classes"
    assert targets_for(ints.reshape(3, 1), 4, "d").kind == "classes"
    assert targets_for(np.eye(4)[ints], 4, "d").kind == "classes"
    assert targets_for(np.array([0.0, 1.0, 2.0]), 4, "d").kind == "classes"  # whole numbers stored as floats
    assert targets_for(np.zeros((3, 4)) + 0.3, 4, "d").kind == "values"  # rows not summing to 1
    assert targets_for(ints.astype(np.float32), 1, "d").kind == "values"  # a single-output model regresses
    assert targets_for(np.zeros((3, 2, 5)), 10, "d").kind == "values"  # an autoencoder's images
