"""ELU, int8, as TFLM computes it, in the two forms a model holds it:

* an int8 ELU (from tools that quantize it): TFLM builds a 256-entry table at Prepare (elu.cc
  ``PopulateLookupTable``: float32 arithmetic with ``std::exp``);
* TensorFlow's converter does not quantize ELU: an int8 Keras model holds DEQUANTIZE -> float32
  ELU -> QUANTIZE. That island is still a function of one int8 value, so edgegen lowers the three
  ops to one table of what TFLM's three kernels compute (Dequantize's double product, the float
  ``std::expm1``, AffineQuantize's float division) and no float tensor reaches the arena.

Either way the C is one ``edgegen_lut_s8`` call (:class:`edgegen.ops.lut.LutCall`). The float
functions are the host C library's ``expf`` / ``expm1f`` (through ctypes), which the tflite-micro
package edgegen is checked against calls too; TFLM on a device calls its own C library's, whose
results may differ in the last bit, and so may its tables.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .. import ir
from ..fixedpoint import INT8_MAX, INT8_MIN, INT32_MIN, Int8Array, dequantize_s8_f32, quantize_f32_s8, round_half_away
from ..lowering import Lowering
from ..tflite_context import OpContext
from ._family import OpFamily
from .lut import LutCall


@dataclass(frozen=True)
class Elu(ir.Op):
    KIND: ClassVar[str] = "ELU"


# -- reading -------------------------------------------------------------------------------------


def read_elu(c: OpContext) -> ir.Op:
    c.n_inputs(1)
    x, y = c.t(0), c.out()
    if x.dtype == "float32" and y.dtype == "float32":
        # the converter's float island; lowering checks it sits between DEQUANTIZE and QUANTIZE
        if x.is_const:
            raise c.fail(f"input {x.describe()} is a constant; fold it before conversion")
    else:
        c.int8_activation(x, "input")
        c.int8_activation(y, "output")
    if x.shape != y.shape:
        raise c.fail("input and output shapes differ")
    return Elu(index=c.index, inputs=c.inputs, outputs=c.outputs)


# -- the float island ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Island:
    """int8 -> DEQUANTIZE -> float32 ELU -> QUANTIZE -> int8, each float tensor read only there."""

    dequantize: ir.Op
    elu: ir.Op
    quantize: ir.Op


def island(g: ir.Graph, op: ir.Op) -> Island | None:
    """The island ``op`` (a DEQUANTIZE, ELU or QUANTIZE) belongs to, if it is one."""
    producers, consumers = g.producers(), g.consumers()

    def only_reader(t: int) -> ir.Op | None:
        users = consumers.get(t, [])
        return users[0] if len(users) == 1 and t not in g.outputs else None

    elu = op if op.KIND == "ELU" else None
    if op.KIND == "DEQUANTIZE":
        elu = only_reader(op.outputs[0])
    elif op.KIND == "QUANTIZE":
        elu = producers.get(op.inputs[0])
    if elu is None or elu.KIND != "ELU" or g.tensor(elu.inputs[0]).dtype != "float32":
        return None
    deq, q = producers.get(elu.inputs[0]), only_reader(elu.outputs[0])
    if deq is None or deq.KIND != "DEQUANTIZE" or only_reader(deq.outputs[0]) is not elu:
        return None
    if q is None or q.KIND != "QUANTIZE" or g.tensor(q.outputs[0]).dtype != "int8":
        return None
    return Island(deq, elu, q)


# -- TFLM's tables -------------------------------------------------------------------------------


@functools.cache
def _libm(name: str) -> Callable[[float], float] | None:
    lib = ctypes.util.find_library("m")
    if lib is None:  # pragma: no cover - every Linux and macOS host has one
        return None
    fn = getattr(ctypes.CDLL(lib), name)
    fn.argtypes, fn.restype = [ctypes.c_float], ctypes.c_float
    return fn  # type: ignore[no-any-return]


def _expf(v: np.float32) -> np.float32:
    fn = _libm("expf")
    return np.float32(fn(float(v))) if fn is not None else np.exp(np.float32(v))


def _expm1f(v: np.float32) -> np.float32:
    fn = _libm("expm1f")
    return np.float32(fn(float(v))) if fn is not None else np.expm1(np.float32(v))


_ALL_INT8 = np.arange(-128, 128, dtype=np.int64)


def elu_lut(input_scale: float, input_zero_point: int, output_scale: float, output_zero_point: int) -> Int8Array:
    """256-entry table of TFLM's int8 ELU (entry k: input ``k - 128``): elu.cc
    ``PopulateLookupTable`` in float32 (``std::exp(x) - 1`` below zero, times ``1 / output scale``,
    ``TfLiteRound`` half away from zero, plus the zero point in float, to int32, clamped)."""
    f32 = np.float32
    in_s, out_s = f32(input_scale), f32(output_scale)
    inverse_scale = f32(1) / out_s
    table = []
    for val in range(-128, 128):
        dequantized = f32(in_s * f32(val - int(input_zero_point)))
        transformed = f32(_expf(dequantized) - f32(1)) if dequantized < 0 else dequantized
        product = f32(transformed * inverse_scale)
        q = f32(f32(round_half_away(float(product))) + f32(int(output_zero_point))) if np.isfinite(product) else product
        # a float -> int32 conversion out of range is undefined in C++; x86-64 (where the
        # tflite-micro package runs) gives INT32_MIN, as relu6_bounds in edgegen.ops.lut follows
        quantized = int(q) if np.isfinite(q) and -(2.0**31) <= float(q) < 2.0**31 else INT32_MIN
        table.append(max(INT8_MIN, min(INT8_MAX, quantized)))
    return np.array(table, dtype=np.int8)


def elu_island_lut(input_scale: float, input_zero_point: int, output_scale: float,
                   output_zero_point: int) -> Int8Array:
    """256-entry table of TFLM's DEQUANTIZE, float ELU (``x < 0 ? std::expm1(x) : x``) and
    QUANTIZE, one after the other."""
    x = dequantize_s8_f32(_ALL_INT8, input_scale, input_zero_point)
    y = np.array([_expm1f(v) if v < 0 else v for v in x], dtype=np.float32)
    return quantize_f32_s8(y, output_scale, output_zero_point)


# -- lowering ------------------------------------------------------------------------------------


def lower_elu(lw: Lowering, op: ir.Op) -> None:
    assert isinstance(op, Elu)
    if lw.g.tensor(op.inputs[0]).dtype == "float32":
        found = island(lw.g, op)
        if found is None:
            raise lw.fail(op, "a float32 ELU is compiled only between a DEQUANTIZE and a QUANTIZE to int8 (as "
                              "TensorFlow's converter writes an int8 model's ELU), each float tensor read only there")
        src, dst = found.dequantize.inputs[0], found.quantize.outputs[0]
        qi, qo = lw.qp(src), lw.qp(dst)
        table = elu_island_lut(qi.scale, qi.zero_point, qo.scale, qo.zero_point)
        # not in place: ops between the island's ends may still read its int8 input
        out = lw.ref(dst)
    else:
        src = op.inputs[0]
        qi, qo = lw.qp(src), lw.qp(op.outputs[0])
        table = elu_lut(qi.scale, qi.zero_point, qo.scale, qo.zero_point)
        out = lw.out_ref(op, src)
    b = lw.base(op, "edgegen_lut_s8", (lw.ref(src),), out, 0, 0)
    lw.calls.append(LutCall(**b, lut=lw.const("lut", "int8_t", table, op), lut_values=table,  # type: ignore[arg-type]
                            size=lw.g.tensor(src).size))


FAMILY = OpFamily(builders={"ELU": read_elu}, lowerers={Elu: lower_elu})
