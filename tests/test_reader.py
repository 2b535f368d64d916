"""The .tflite reader: what it accepts, and the messages for what it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgegen import ir
from edgegen.errors import EdgegenError, ModelFormatError, UnsupportedError
from edgegen.tflite_reader import parse_tflite, read_tflite

from .conftest import shared_path


def test_reads_kws_ops_and_quantization() -> None:
    g = read_tflite(shared_path("models/mlperf_tiny/kws/kws_ref_model.tflite"))
    kinds = [type(op).__name__ for op in g.ops]
    assert kinds[:2] == ["Conv2D", "DepthwiseConv2D"]
    assert kinds[-2:] == ["FullyConnected", "Softmax"]
    conv = g.ops[0]
    assert isinstance(conv, ir.Conv2D)
    w = g.tensor(conv.inputs[1])
    assert w.quant is not None and w.quant.per_channel and w.quant.axis == 0
    assert len(w.quant.scales) == w.shape[0]
    assert w.data is not None and w.data.shape == w.shape
    x = g.tensor(g.inputs[0])
    assert x.dtype == "int8" and x.shape == (1, 49, 10, 1)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(EdgegenError, match="no such file"):
        read_tflite(tmp_path / "nope.tflite")


def test_not_a_tflite_file(tmp_path: Path) -> None:
    p = tmp_path / "x.tflite"
    p.write_bytes(b"hello, this is not a model at all")
    with pytest.raises(ModelFormatError, match=r"x\.tflite: not a TFLite model"):
        read_tflite(p)


def test_truncated_file_is_a_clear_error() -> None:
    data = shared_path("models/tflite_micro/hello_world_int8.tflite").read_bytes()
    for cut in (16, 100, len(data) // 2, len(data) - 8):
        with pytest.raises(ModelFormatError):
            parse_tflite(data[:cut])


def test_float_model_is_refused_with_the_tensor_named() -> None:
    with pytest.raises(UnsupportedError, match=r"op 0 \(FULLY_CONNECTED\).*float32.*expected int8"):
        read_tflite(shared_path("models/tflite_micro/hello_world_float.tflite"))
