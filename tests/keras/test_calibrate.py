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
    assert [row["layer"] for row in sens["layers"]][:2] == ["re_lu", "cr"]
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
