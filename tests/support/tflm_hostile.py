"""Tiny models that make TFLM (the ``tflite-micro`` package) abort, crash or refuse, each with a
sane twin of the same shape.

edgegen's reader may refuse a hostile model itself (it is being taught more of TFLM's rules), so
tests that need TFLM to see one either call the oracle API directly or let the reader read the
twin while the oracle gets the hostile bytes (:func:`reader_sees_twin`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as fb

from .fuzz import TinyModel, pack


@dataclass(frozen=True)
class Hostile:
    name: str
    #: what TFLM does with it, as its error message says
    expect: str
    data: bytes
    #: the same graph with the hostile detail fixed: what the reader is shown
    twin: bytes
    input_shape: tuple[int, ...]


def _options(cls: str, **fields: Any) -> Any:
    o = getattr(fb, cls)()
    for k, v in fields.items():
        setattr(o, k, v)
    return o


def _softmax(options: bool) -> bytes:
    m = TinyModel()
    x = m.tensor((1, 4), scale=0.1, zero_point=0)
    y = m.tensor((1, 4), scale=1 / 256, zero_point=-128)
    m.op("SOFTMAX", [x], [y], _options("SoftmaxOptionsT", beta=1.0) if options else None)
    m.inputs, m.outputs = [x], [y]
    return pack(m.model())


def _fully_connected(input_scale: float, output_scale: float) -> bytes:
    m = TinyModel()
    x = m.tensor((1, 4), scale=input_scale)
    w = m.const(np.arange(12).reshape(3, 4) - 6, "int8", scale=0.01)
    b = m.const(np.zeros(3), "int32", scale=input_scale * 0.01)
    y = m.tensor((1, 3), scale=output_scale)
    m.op("FULLY_CONNECTED", [x, w, b], [y], _options("FullyConnectedOptionsT"))
    m.inputs, m.outputs = [x], [y]
    return pack(m.model())


def _relu(output: int | None) -> bytes:
    m = TinyModel()
    x = m.tensor((1, 4), scale=0.1)
    y = m.tensor((1, 4), scale=0.1)
    m.op("RELU", [x], [y if output is None else output])
    m.inputs, m.outputs = [x], [y]
    return pack(m.model())


def softmax_without_options() -> Hostile:
    """SOFTMAX with no SoftmaxOptions table: TFLM aborts (SIGABRT) while preparing it, silently."""
    return Hostile("softmax_no_options", "aborted (SIGABRT)", _softmax(False), _softmax(True), (1, 4))


def fc_tiny_output_scale() -> Hostile:
    """FULLY_CONNECTED with output scale 1e-45: TFLM refuses it (its bias-scale check divides by it)."""
    return Hostile("fc_scale_1e-45", "scale_diff / output_scale <= 0.02 was not true",
                   _fully_connected(0.1, 1e-45), _fully_connected(0.1, 0.1), (1, 4))


def fc_huge_input_scale() -> Hostile:
    """FULLY_CONNECTED with input scale 3.4e38: float rounding of the bias scale alone exceeds the
    tolerance of TFLM's bias-scale check, so it refuses."""
    return Hostile("fc_scale_3.4e38", "scale_diff / output_scale <= 0.02 was not true",
                   _fully_connected(3.4e38, 0.1), _fully_connected(0.1, 0.1), (1, 4))


def op_output_out_of_range() -> Hostile:
    """RELU writing tensor 7 of 2: TFLM reads past its tensor array and crashes (SIGSEGV)."""
    return Hostile("relu_bad_output", "crashed (SIGSEGV)", _relu(7), _relu(None), (1, 4))


ALL = (softmax_without_options, fc_tiny_output_scale, fc_huge_input_scale, op_output_out_of_range)


@contextmanager
def reader_sees_twin(monkeypatch: pytest.MonkeyPatch, model: Hostile) -> Iterator[None]:
    """While active, edgegen's reader (``builddir.compile_tflite``, which ``load_build`` calls)
    reads ``model.twin`` whatever bytes it is given, so the hostile bytes in a build directory
    reach TFLM."""
    import edgegen.builddir

    real = edgegen.builddir.compile_tflite
    with monkeypatch.context() as m:
        m.setattr(edgegen.builddir, "compile_tflite", lambda _data, **kw: real(model.twin, **kw))
        yield
