"""The one check every user array passes (edgegen.arrays), and as_model_inputs on a real model."""

from __future__ import annotations

import numpy as np
import pytest

from edgegen.arrays import ArrayError, check_array, check_labels
from edgegen.build import as_model_inputs, compile_tflite

from .conftest import shared_path

HELLO = "models/tflite_micro/hello_world_int8.tflite"


@pytest.mark.parametrize("value,message", [
    (np.array([["a", "b"]]), "x.npy: --inputs holds text (dtype <U1); edgegen takes real numbers, integers or floats"),
    (np.array([b"ab"]), "x.npy: --inputs holds bytes (dtype |S2)"),
    (np.array([[1 + 2j]]), "x.npy: --inputs holds complex numbers (dtype complex128); edgegen takes real numbers, "
                           "integers or floats; give the real part or the magnitude as a real array"),
    (np.array([True, False]), "x.npy: --inputs holds booleans (dtype bool); edgegen takes real numbers, integers or "
                              "floats; if they are 0/1 features, convert them with .astype('float32')"),
    (np.array([{"a": 1}], dtype=object), "x.npy: --inputs holds Python objects (dtype object)"),
    (np.array(["2024-01-01"], dtype="datetime64[D]"), "x.npy: --inputs holds dates (dtype datetime64[D])"),
    (np.zeros(2, dtype=[("a", "f4")]), "x.npy: --inputs holds structured records"),
    (np.zeros((0, 3), np.float32), "x.npy: --inputs is empty (shape [0, 3]); give at least one sample"),
    ([[1.0, 2.0], [3.0]], "x.npy: --inputs is not a rectangular array of numbers"),
])
def test_refused_dtypes_and_shapes(value: object, message: str) -> None:
    with pytest.raises(ArrayError) as e:
        check_array(value, "x.npy: --inputs")
    assert str(e.value).startswith(message)
    assert "\n" not in str(e.value)


def test_non_finite_values_are_counted_and_located() -> None:
    x = np.zeros((4, 2, 3), np.float32)
    x[1, 0, 2] = np.nan
    x[3, 1, 1] = np.nan
    x[2, 1, 0] = -np.inf
    with pytest.raises(ArrayError) as e:
        check_array(x, "calib.npy: calibration data")
    assert str(e.value) == ("calib.npy: calibration data holds 2 NaN and 1 infinite values (the first at index "
                            "[1, 0, 2]); remove or repair those samples")
    with pytest.raises(ArrayError, match=r"holds 1 NaN value \(the first at index \[0\]\)"):
        check_array(np.array([np.nan, 1.0]), "a")


def test_float64_beyond_float32_is_refused() -> None:
    with pytest.raises(ArrayError, match=r"a holds 1 value beyond float32's range .* the first at index \[1\]"):
        check_array(np.array([0.0, 1e300]), "a")
    assert check_array(np.array([0.0, 3e38]), "a").dtype == np.float64  # in range: kept as it is


@pytest.mark.parametrize("value", [np.arange(6, dtype=np.int8).reshape(2, 3), np.ones((2, 2), np.uint8),
                                   np.ones(3, np.float16), np.ones(3, np.float64), [[1, 2], [3, 4]], np.int64(5)])
def test_real_numbers_pass_unchanged(value: object) -> None:
    a = check_array(value, "a")
    assert np.array_equal(a, np.asarray(value)) and a.dtype == np.asarray(value).dtype


def test_labels() -> None:
    assert check_labels(np.arange(3), 3, "y").shape == (3,)
    with pytest.raises(ArrayError, match=r"^y: 2 for 3 samples; give one label per sample$"):
        check_labels(np.arange(2), 3, "y")
    with pytest.raises(ArrayError, match=r"^y: a single value for 3 samples"):
        check_labels(np.int64(1), 3, "y")
    with pytest.raises(ArrayError, match="NaN"):
        check_labels(np.array([0.0, np.nan, 1.0]), 3, "y")


def test_model_inputs_checked_against_the_model() -> None:
    _graph, program = compile_tflite(shared_path(HELLO).read_bytes(), name="hello", source="hello.tflite")
    ref = program.inputs[0]
    # float features are quantized with the input's scale and zero point; a NaN would have become the zero point
    (q,) = as_model_inputs(program, (np.array([0.5], np.float32),))
    assert q.dtype == np.int8 and q.shape == ref.shape
    assert int(q.ravel()[0]) == round(0.5 / ref.scale) + ref.zero_point
    with pytest.raises(ArrayError, match=r"^in.npy sample 2 holds 1 NaN value"):
        as_model_inputs(program, (np.array([np.nan], np.float32),), source="in.npy sample 2")
    with pytest.raises(ArrayError) as e:
        as_model_inputs(program, (np.zeros((2, 3), np.float32),), source="in.npy sample 0")
    assert str(e.value) == (f"in.npy sample 0 has 6 values (shape [2, 3]); the model's input '{ref.name}' takes 1 "
                            "(shape [1, 1])")
    with pytest.raises(ArrayError, match="complex"):
        as_model_inputs(program, (np.array([1j]),))


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int32, np.int64, np.float64])
def test_only_int8_arrays_are_codes(dtype: type) -> None:
    """One rule for data given to the int8 model: an int8 array holds codes, every other dtype
    real values quantized with the input's scale and zero point (uint8 images included)."""
    _graph, program = compile_tflite(shared_path(HELLO).read_bytes(), name="hello", source="hello.tflite")
    values = np.array([0, 1, 2, 5, 200])
    expected = [as_model_inputs(program, (np.array([v], np.float32),))[0] for v in values]
    got = [as_model_inputs(program, (np.array([v], dtype),))[0] for v in values]
    assert [int(g.ravel()[0]) for g in got] == [int(e.ravel()[0]) for e in expected]
    assert int(expected[-1].ravel()[0]) == 127  # 200 is far outside the input's range: it saturates
    (codes,) = as_model_inputs(program, (np.array([5], np.int8),))
    assert codes.dtype == np.int8 and int(codes.ravel()[0]) == 5
