"""Loading models and calibration data, and the errors for what cannot be loaded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgegen.errors import EdgegenError, ModelFormatError
from edgegen.keras.data import as_dataset
from edgegen.keras.load import load_model

from .conftest import small_cnn


def test_keras_archive_and_h5_round_trip(tmp_path: Path) -> None:
    model = small_cnn()
    model.save(tmp_path / "m.keras")
    model.save(tmp_path / "m.h5")
    for name, fmt in (("m.keras", "keras"), ("m.h5", "h5")):
        loaded = load_model(tmp_path / name)
        assert loaded.format == fmt and loaded.editable
        assert loaded.model.count_params() == model.count_params()


def test_savedmodel_directory(tmp_path: Path) -> None:
    from edgegen.keras.convert import to_int8_tflite
    from edgegen.keras.data import Dataset

    model = small_cnn()
    model.export(str(tmp_path / "sm"), verbose=False)
    loaded = load_model(tmp_path / "sm")
    assert loaded.format == "savedmodel" and not loaded.editable
    x = np.random.default_rng(0).uniform(-1, 1, (4, 12, 12, 3)).astype(np.float32)
    np.testing.assert_allclose(np.asarray(loaded.model(x)), np.asarray(model(x)), rtol=1e-4, atol=1e-5)
    assert to_int8_tflite(loaded.model, Dataset(x, None, "x"))[4:8] == b"TFL3"


@pytest.mark.parametrize("name,content,match", [
    ("missing.h5", None, "no such file"),
    ("bad.h5", b"not hdf5 at all", "not an HDF5 file"),
    ("bad.keras", b"PK? no", r"not a Keras 3 \.keras archive"),
    ("model.onnx", b"x", "unknown model type"),
])
def test_unloadable_files_say_why(tmp_path: Path, name: str, content: bytes | None, match: str) -> None:
    p = tmp_path / name
    if content is not None:
        p.write_bytes(content)
    with pytest.raises(EdgegenError, match=match) as e:
        load_model(p)
    assert str(p) in str(e.value)


def test_weights_only_h5_and_empty_dir(tmp_path: Path) -> None:
    small_cnn().save_weights(tmp_path / "w.weights.h5")
    (tmp_path / "w.h5").write_bytes((tmp_path / "w.weights.h5").read_bytes())
    with pytest.raises(ModelFormatError, match=r"w\.h5"):
        load_model(tmp_path / "w.h5")
    (tmp_path / "d").mkdir()
    with pytest.raises(ModelFormatError, match=r"saved_model\.pb"):
        load_model(tmp_path / "d")


def test_custom_layer_error_names_it(tmp_path: Path) -> None:
    import keras

    @keras.saving.register_keras_serializable(package="edgegen_test")
    class Twice(keras.layers.Layer):
        def call(self, x):  # type: ignore[no-untyped-def]
            return 2 * x

    inp = keras.Input((4,))
    keras.Model(inp, Twice()(inp)).save(tmp_path / "c.keras")
    keras.saving.get_custom_objects().pop("edgegen_test>Twice")
    with pytest.raises(ModelFormatError, match="Twice"):
        load_model(tmp_path / "c.keras")


def test_calibration_sources(tmp_path: Path) -> None:
    model = small_cnn()
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (20, 12, 12, 3)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    np.savez(tmp_path / "xy.npz", x=x, y=np.arange(20) % 5)
    (tmp_path / "dir").mkdir()
    for i in range(5):
        np.save(tmp_path / "dir" / f"{i:02d}.npy", x[i])
    np.save(tmp_path / "dir" / "99.npy", x[5:9])  # a batch among single samples
    assert len(as_dataset(tmp_path / "x.npy", model)) == 20
    d = as_dataset(str(tmp_path / "xy.npz"), model)
    assert d.y is not None and d.y.shape == (20,)
    assert np.array_equal(as_dataset(tmp_path / "dir", model).x, x[:9])
    assert len(as_dataset(lambda: (x[i] for i in range(7)), model)) == 7
    assert len(as_dataset((x[i : i + 4] for i in range(0, 20, 4)), model)) == 20  # batches
    assert len(as_dataset([[x[0]], [x[1]]].__iter__(), model)) == 2
    d = as_dataset(x.reshape(20, 12, 12, 3, 1), model)  # extra singleton dimension
    assert d.x.shape == (20, 12, 12, 3) and any("reshaped" in n for n in d.notes)
    assert len(as_dataset(x, model, limit=8)) == 8


@pytest.mark.parametrize("bad,match", [
    (np.zeros((4, 12, 12, 2), np.float32), r"shape \[4, 12, 12, 2\].*\[N, 12, 12, 3\]"),
    (np.full((2, 12, 12, 3), np.nan, np.float32), "NaN"),
    (np.array(["a", "b"]), "dtype"),
    (np.zeros((0, 12, 12, 3), np.float32), "empty"),
    (np.zeros((2, 12, 12, 3), np.complex64), r"^array: calibration data holds complex numbers \(dtype complex64\)"),
    (np.zeros((2, 12, 12, 3), bool), r"^array: calibration data holds booleans"),
    (np.full((2, 12, 12, 3), 1e39), r"^array: calibration data holds 864 values beyond float32's range"),
    ([np.zeros((12, 12, 3)), np.zeros((12, 12))], "not a rectangular array|item of the calibration data has shape"),
    ([np.zeros((12, 12, 3)), np.array(["x"])], r"^list of arrays: an item of the calibration data holds text"),
])
def test_calibration_errors(bad: np.ndarray, match: str) -> None:
    with pytest.raises(EdgegenError, match=match):
        as_dataset(bad, small_cnn())


def test_integer_images_are_noted() -> None:
    d = as_dataset(np.full((3, 12, 12, 3), 200, np.uint8), small_cnn())
    assert d.x.dtype == np.float32 and any("uint8" in n and "unchanged" in n for n in d.notes)


def test_calibration_nan_is_counted_and_located(tmp_path: Path) -> None:
    x = np.zeros((5, 12, 12, 3), np.float32)
    x[4, 0, 1, 2] = np.inf
    x[2, 3, 3, 1] = np.nan
    np.save(tmp_path / "calib.npy", x)
    with pytest.raises(EdgegenError) as e:
        as_dataset(tmp_path / "calib.npy", small_cnn())
    assert str(e.value) == (f"{tmp_path / 'calib.npy'}: calibration data holds 1 NaN and 1 infinite values (the "
                            "first at index [2, 3, 3, 1]); remove or repair those samples")


def test_labels_are_checked(tmp_path: Path) -> None:
    x = np.zeros((4, 12, 12, 3), np.float32)
    np.savez(tmp_path / "train.npz", x=x, y=np.array(["a", "b", "c", "d"]))
    with pytest.raises(EdgegenError, match=r"train\.npz: labels of the training data holds text"):
        as_dataset(tmp_path / "train.npz", small_cnn(), what="training data")
    np.savez(tmp_path / "train.npz", x=x, y=np.arange(3))
    with pytest.raises(EdgegenError, match=r"train\.npz: labels of the training data: 3 for 4 samples"):
        as_dataset(tmp_path / "train.npz", small_cnn(), what="training data")


def test_calibration_subset_follows_the_seed() -> None:
    x = np.arange(50, dtype=np.float32)[:, None, None, None] * np.ones((1, 12, 12, 3), np.float32)
    model = small_cnn()
    a, b, c = (as_dataset(x, model, limit=10, seed=s).x[:, 0, 0, 0] for s in (0, 0, 1))
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    assert np.all(np.diff(a) > 0)  # a sorted subset, in the data's order
