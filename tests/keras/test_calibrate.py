"""The calibration route through TensorFlow's converter (edgegen/keras/calibrate.py): with the
converter's ranges it gives today's .tflite byte for byte; edited ranges land in the .tflite's
scales; the build records the method, the ranges and the per-layer sensitivity in report.json and
report.html; bad values are refused before any work."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edgegen.cli import main
from edgegen.errors import EdgegenError
from edgegen.keras.data import Dataset

from .conftest import random_images, small_cnn


@cache
def _setup() -> tuple[Any, Dataset, Any]:
    from edgegen.keras._tf import deterministic
    from edgegen.keras.calibrate import calibrate

    with deterministic(0):
        model = small_cnn()
        x = random_images(60)
        x[3, 2, 2, 0] = 40.0  # one glitch: min-max must cover it, percentile clips it
        calib = Dataset(x, None, "calib")
        return model, calib, calibrate(model, calib)


@pytest.mark.parametrize("float_io", [False, True])
def test_minmax_route_is_todays_tflite_byte_for_byte(float_io: bool) -> None:
    from edgegen.keras._tf import deterministic
    from edgegen.keras.calibrate import calibrated_ranges, quantize
    from edgegen.keras.convert import to_int8_tflite

    model, calib, calibrated = _setup()
    with deterministic(0):
        direct = to_int8_tflite(model, calib, float_io=float_io)
    assert quantize(calibrated, None, float_io=float_io) == direct
    # the ranges written back unchanged (a re-serialized flatbuffer) quantize to the same bytes too
    same = calibrated_ranges(calibrated, calib, "minmax")
    assert same and all(r.after == r.before for r in same)
    assert quantize(calibrated, same, float_io=float_io) == direct


def _quant_by_name(tflite: bytes) -> dict[str, tuple[float, int]]:
    from edgegen.build import compile_tflite

    graph, _program = compile_tflite(tflite, name="m", source="test")
    return {t.name: (t.quant.scale, t.quant.zero_point) for t in graph.tensors
            if t.quant is not None and not t.quant.per_channel and t.dtype == "int8"}


def test_percentile_ranges_land_in_the_scales() -> None:
    from edgegen.keras.calibrate import calibrated_ranges, quantize

    _model, calib, calibrated = _setup()
    ranges = calibrated_ranges(calibrated, calib, "percentile", 99.9)
    by_name = {r.name: r for r in ranges}
    inp = by_name["serving_default_input:0"]
    assert inp.before[1] == pytest.approx(40.0) and inp.after[1] < 1.0
    assert inp.after[1] == pytest.approx(np.percentile(calib.x, 99.9), rel=1e-6)
    quant = _quant_by_name(quantize(calibrated, ranges))
    concat = next(r for r in ranges if "concatenate" in r.name)
    tied = [r for r in ranges if any(k in r.name for k in ("ca_1/Relu", "cb_1/conv", "max_pooling2d", "average_pool",
                                                           "flatten"))]
    assert len(tied) == 5
    for r in ranges:
        scale, zp = quant[r.name]
        # TFLite's MLIR quantizer gives CONCATENATION's inputs and output one scale, and the pools and
        # the reshape after it keep that scale: those take the concatenation's range
        lo, hi = concat.after if r in tied else r.after
        # TFLite's asymmetric int8: (max - min) / 255, the zero point nudged onto the grid
        assert scale == pytest.approx((hi - lo) / 255, rel=1e-6), r.name
        assert zp == int(np.clip(round(-128 - lo / scale), -128, 127)), r.name


def test_interpreter_values_are_the_calibrators() -> None:
    from edgegen.keras.calibrate import calibrated_ranges

    _model, calib, calibrated = _setup()
    full = calibrated_ranges(calibrated, calib, "percentile", 100.0)
    # the 100th percentile is the maximum: TF's interpreter sees the values TF's calibrator logged
    # (equal bit for bit, but for an op's input that an in-place ADD overwrote before it was logged)
    assert all(r.before[0] <= r.after[0] <= 0 <= r.after[1] <= r.before[1] for r in full)
    assert sum(r.after == r.before for r in full) >= len(full) - 2


def test_int16_route_matches_the_converters_16x8() -> None:
    from edgegen.keras._tf import deterministic, tf
    from edgegen.keras.calibrate import quantize
    from edgegen.keras.convert import _converter, _run

    model, calib, calibrated = _setup()
    t = tf()
    with deterministic(0):
        conv = _converter(model)
        conv.optimizations = [t.lite.Optimize.DEFAULT]
        conv.representative_dataset = lambda: ([calib.x[i : i + 1]] for i in range(len(calib)))
        conv.target_spec.supported_ops = [t.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
        conv.inference_input_type = t.int16
        conv.inference_output_type = t.int16
        direct = _run(conv, model, "16x8")
    assert quantize(calibrated, None, inference_type="int16") == direct


def test_build_records_method_ranges_and_sensitivity(tmp_path: Path) -> None:
    from edgegen import api

    model, calib, _ = _setup()
    res = api.build(model, tmp_path / "b", board="host", calib=calib.x, calib_method="entropy",
                    sensitivity_samples=4)
    report = json.loads((tmp_path / "b" / "report.json").read_text())
    summary = report["front_end_summary"]
    cal = summary["calibration"]
    assert cal["method"] == "entropy" and cal["percentile"] is None and len(cal["tensors"]) >= 10
    assert all(t["min"] <= 0 <= t["max"] and t["min_before"] <= t["min"] and t["max"] <= t["max_before"]
               for t in cal["tensors"])
    sens = summary["sensitivity"]
    assert sens["samples"] == 4 and "calibration data" in sens["data"]
    # execution order, named after the Keras layers (conv+BN+ReLU fuse into one tensor named after the last)
    # (the ReLU's name is Keras's automatic one, which depends on the models made before in the process)
    relu = next(layer.name for layer in model.layers if type(layer).__name__ == "ReLU")
    assert [row["layer"] for row in sens["layers"]][:2] == [relu, "cr"]
    assert all(set(row) == {"layer", "tensor", "shape", "sqnr_db", "max_error_lsb"} for row in sens["layers"])
    assert any(line.startswith("calibration: entropy:") for line in report["front_end"])
    assert any(line.startswith("per-layer int8 vs float on 4 samples") for line in report["front_end"])
    page = (tmp_path / "b" / "report.html").read_text()
    assert page.count('<rect class="sqnr"') == len(sens["layers"])
    assert 'id="calibration"' in page and "<script" not in page
    assert res.program.calls


def test_cli_refuses_bad_calibration_values(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = str(tmp_path / "m.keras")  # never opened: refused before any work
    cases = [(["--calib-method", "entropy", "--calib-percentile", "99"], "applies to --calib-method percentile only"),
             (["--calib-method", "percentile", "--calib-percentile", "50"], "between 90 and 100"),
             (["--calib-percentile", "99.9"], "applies to --calib-method percentile only (the method is minmax)")]
    for options, message in cases:
        code = main(["build", model, "--out", str(tmp_path / "o"), *options])
        err = capsys.readouterr().err
        assert code == 1 and message in err and "Traceback" not in err, err
    for options in (["--calib-method", "kl"], ["--sensitivity-samples", "-1"]):
        with pytest.raises(SystemExit):
            main(["build", model, *options])
        assert options[1] in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_cli_build_with_percentile_and_no_sensitivity(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model, calib, _ = _setup()
    model.save(tmp_path / "m.keras")
    np.save(tmp_path / "calib.npy", calib.x[:40])
    code = main(["build", str(tmp_path / "m.keras"), "--board", "host", "--calib", str(tmp_path / "calib.npy"),
                 "--calib-method", "percentile", "--calib-percentile", "99.9", "--sensitivity-samples", "0",
                 "--out", str(tmp_path / "o")])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "calibration: percentile 99.9: " in out and "per-layer int8 vs float" not in out
    summary = json.loads((tmp_path / "o" / "report.json").read_text())["front_end_summary"]
    assert summary["calibration"]["percentile"] == 99.9 and "sensitivity" not in summary
    # the glitch (40.0) is in these 40 samples: the input's range is clipped to the 99.9th percentile
    inp = summary["calibration"]["tensors"][0]
    assert inp["tensor"] == "serving_default_input:0" and inp["max_before"] == 40.0
    assert inp["max"] == pytest.approx(np.percentile(calib.x[:40], 99.9), rel=1e-6)


def test_calibration_options_with_a_tflite_are_refused(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from tests.conftest import shared_path

    hello = str(shared_path("models/tflite_micro/hello_world_int8.tflite"))
    code = main(["build", hello, "--out", str(tmp_path / "o"), "--calib-method", "entropy"])
    err = capsys.readouterr().err
    assert code == 1 and "--calib-method applies to Keras models only" in err, err


def test_api_quantize_takes_the_method() -> None:
    from edgegen import api
    from edgegen.keras.calibrate import calibrated_ranges, quantize

    model, calib, calibrated = _setup()
    expected = quantize(calibrated, calibrated_ranges(calibrated, calib, "percentile", 99.9), float_io=True)
    got = api.quantize(model, calib.x, calib_method="percentile", calib_percentile=99.9, float_io=True)
    assert got == expected
    with pytest.raises(EdgegenError, match="applies to --calib-method percentile only"):
        api.quantize(model, calib.x, calib_method="mse", calib_percentile=99.9)


def test_sensitivity_of_the_last_layer_is_the_output_sqnr() -> None:
    """The per-layer row of the op making the model's output (with --float-io: the int8 tensor the
    DEQUANTIZE reads) against a direct computation: Keras's
    float outputs and TFLM's int8 outputs (another path: int8_predict), SQNR by its formula."""
    import keras

    from edgegen.keras._tf import deterministic
    from edgegen.keras.convert import to_int8_tflite
    from edgegen.keras.evaluate import float_predict, int8_predict
    from edgegen.keras.sensitivity import layer_sensitivity

    with deterministic(1):
        inp = keras.Input((6,))
        model = keras.Model(inp, keras.layers.Dense(4, name="only")(keras.layers.Dense(8, activation="relu")(inp)))
        x = np.random.default_rng(1).normal(size=(40, 6)).astype(np.float32)
        tflite = to_int8_tflite(model, Dataset(x, None, "x"), float_io=True)
    _lines, data = layer_sensitivity(model, tflite, Dataset(x, None, "x"), 16, "x")
    last = data["layers"][-1]
    f, q = float_predict(model, x[:16]), int8_predict(tflite, x[:16])
    direct = 10 * np.log10(np.sum(f.astype(np.float64) ** 2) / np.sum((f.astype(np.float64) - q) ** 2))
    assert data["samples"] == 16 and last["sqnr_db"] == pytest.approx(direct, abs=0.01)
    scale = _quant_by_name(tflite)[last["tensor"]][0]
    assert last["max_error_lsb"] == pytest.approx(float(np.max(np.abs(f - q))) / scale, abs=0.01)


def test_default_conversion_keeps_todays_bytes() -> None:
    """minmax (the default) goes through the route too (its float flatbuffer feeds the per-layer
    comparison): the .tflite is still the normal conversion's."""
    from edgegen import api
    from edgegen.keras._tf import deterministic
    from edgegen.keras.convert import to_int8_tflite

    model, calib, _ = _setup()
    with deterministic(0):
        direct = to_int8_tflite(model, calib)
    assert api.quantize(model, calib.x) == direct
