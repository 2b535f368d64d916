"""Elementwise int8 -> int8 ops computed as a 256-entry table at build time: LOGISTIC, TANH,
standalone RELU / RELU6 / RELU_N1_TO_1, LEAKY_RELU (and int8 QUANTIZE, see
:mod:`edgegen.ops.quantize`). Lowering runs TFLM's exact algorithm over all 256 inputs; the C is one
``edgegen_lut_s8`` call. int16 LOGISTIC and TANH (16x8): :mod:`edgegen.ops._act16`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt
from ai_edge_litert import schema_py_generated as fb

from .. import ir
from ..fixedpoint import (
    INT8_MAX,
    INT8_MIN,
    INT32_MAX,
    INT32_MIN,
    Int8Array,
    IntArray,
    as_float32,
    as_int64,
    calculate_input_radius,
    logistic,
    multiply_by_quantized_multiplier,
    quantize_multiplier,
    round_half_away,
    rounding_divide_by_pot,
    tanh,
)
from ..int16math import checked_log2
from ..lowering import Lowering
from ..machine import Machine
from ..program import Call
from ..tflite_context import OpContext
from ._act16 import SigmoidTanhS16Call, lower_sigmoid_tanh_s16, run_sigmoid_tanh_s16
from ._family import OpFamily


@dataclass(frozen=True)
class Logistic(ir.Op):
    KIND: ClassVar[str] = "LOGISTIC"


@dataclass(frozen=True)
class Tanh(ir.Op):
    KIND: ClassVar[str] = "TANH"


@dataclass(frozen=True)
class Relu(ir.Op):
    """Standalone RELU, RELU6 or RELU_N1_TO_1 (``kind`` says which)."""

    KIND: ClassVar[str] = "RELU"
    kind: ir.Activation = ir.Activation.RELU

    def describe(self) -> str:
        return f"op {self.index} ({self.kind.name})"


@dataclass(frozen=True)
class LeakyRelu(ir.Op):
    KIND: ClassVar[str] = "LEAKY_RELU"
    alpha: float = 0.2


# -- reading -------------------------------------------------------------------------------------


def _unary(build_op: Callable[[OpContext], ir.Op], int16: bool = False) -> Callable[[OpContext], ir.Op]:
    """``int16``: the op also takes int16 activations (TFLite's 16x8 scheme), input and output alike."""

    def build(c: OpContext) -> ir.Op:
        c.n_inputs(1)
        dtypes = ("int8", "int16") if int16 else ("int8",)
        dtype = c.quant_activation(c.t(0), "input", dtypes)
        if c.quant_activation(c.out(), "output", dtypes) != dtype:
            raise c.fail(f"input {c.t(0).describe()} and output {c.out().describe()} differ in type; "
                         f"edgegen compiles {c.name} int8 -> int8 and int16 -> int16")
        if c.t(0).shape != c.out().shape:
            raise c.fail("input and output shapes differ")
        return build_op(c)

    return build


def read_relu(kind: ir.Activation) -> Callable[[OpContext], ir.Op]:
    return _unary(lambda c: Relu(index=c.index, inputs=c.inputs, outputs=c.outputs, kind=kind))


def _check_int16_output(c: OpContext, name: str) -> None:
    """TFLM's int16 LOGISTIC / TANH Prepare: the output scale is 2^-15 (CheckedLog2, zero point 0
    checked by the reader)."""
    q = c.out().quant
    assert q is not None
    pot, log2 = checked_log2(float(q.scale))
    if not pot or log2 != -15:
        raise c.fail(f"int16 {name} output must have scale 1/32768 (2^-15) and zero point 0, as TFLM requires")


def read_logistic(c: OpContext) -> ir.Op:
    q = c.out().quant
    assert q is not None
    if c.out().dtype == "int16":
        _check_int16_output(c, "LOGISTIC")
    elif q.zero_point != -128 or abs(q.scale - 1 / 256) > 1e-9:
        raise c.fail("int8 LOGISTIC output must have scale 1/256 and zero point -128")
    return Logistic(index=c.index, inputs=c.inputs, outputs=c.outputs)


def read_tanh(c: OpContext) -> ir.Op:
    q = c.out().quant
    assert q is not None
    if c.out().dtype == "int16":
        _check_int16_output(c, "TANH")
    elif q.zero_point != 0 or abs(q.scale - 1 / 128) > 1e-9:
        raise c.fail("int8 TANH output must have scale 1/128 and zero point 0")
    return Tanh(index=c.index, inputs=c.inputs, outputs=c.outputs)


def read_leaky_relu(c: OpContext) -> ir.Op:
    return LeakyRelu(index=c.index, inputs=c.inputs, outputs=c.outputs, alpha=c.finite("alpha"))


# -- lowering ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LutCall(Call):
    """Any int8 -> int8 elementwise op, as a 256-entry table computed at build time."""

    KIND: ClassVar[str] = "lut"
    lut: str
    lut_values: np.ndarray
    size: int


def lower_lut(lw: Lowering, op: ir.Op) -> None:
    if lw.g.tensor(op.inputs[0]).dtype == "int16":  # only LOGISTIC and TANH read int16
        lower_sigmoid_tanh_s16(lw, op, isinstance(op, Tanh))
        return
    qi, qo = lw.qp(op.inputs[0]), lw.qp(op.outputs[0])
    table: np.ndarray
    if isinstance(op, Logistic):
        table = logistic_lut(qi.scale, qi.zero_point)
    elif isinstance(op, Tanh):
        table = tanh_lut(qi.scale, qi.zero_point)
    elif isinstance(op, LeakyRelu):
        table = leaky_relu_lut(qi.scale, qi.zero_point, qo.scale, qo.zero_point, op.alpha)
    elif isinstance(op, Relu):
        table = relu_lut(op.kind.value, qi.scale, qi.zero_point, qo.scale, qo.zero_point)
    else:
        assert isinstance(op, ir.Op) and op.KIND == "QUANTIZE"
        table = requantize_lut(qi.scale, qi.zero_point, qo.scale, qo.zero_point)
    table = np.asarray(table, dtype=np.int8)
    x = lw.g.tensor(op.inputs[0])
    b = lw.base(op, "edgegen_lut_s8", (lw.ref(op.inputs[0]),), lw.out_ref(op, op.inputs[0]), 0, 0)
    lw.calls.append(LutCall(**b, lut=lw.const("lut", "int8_t", table, op), lut_values=table,  # type: ignore[arg-type]
                              size=x.size))


# -- TFLM's tables -------------------------------------------------------------------------------


_ALL_INT8 = np.arange(-128, 128, dtype=np.int64)


@dataclass(frozen=True)
class SigmoidTanhParams:
    """TFLM's int8 LOGISTIC / TANH op data (``OpDataLogistic`` / tanh.cc ``OpData``)."""

    input_zero_point: int
    input_range_radius: int
    input_multiplier: int
    input_left_shift: int


def _sigmoid_tanh_params(input_scale: float, input_zero_point: int) -> SigmoidTanhParams:
    """The int8 branch shared verbatim by TFLM's ``CalculateArithmeticOpDataLogistic`` and tanh.cc
    ``CalculateArithmeticOpData``: frexp of ``scale * 2**27`` and a plain round (not
    QuantizeMultiplier), radius ``CalculateInputRadius(4, shift, 31)``."""
    scale = as_float32(input_scale)
    if not scale > 0.0 or not math.isfinite(scale):
        raise ValueError(f"input scale must be positive and finite, got {input_scale!r}")
    q, shift = math.frexp(scale * float(1 << 27))
    mult = round_half_away(q * float(1 << 31))
    if mult > INT32_MAX:  # cannot happen for a float32 scale (24-bit mantissa)
        raise ValueError(f"input multiplier overflow for scale {input_scale!r}")
    return SigmoidTanhParams(input_zero_point=int(input_zero_point),
                             input_range_radius=calculate_input_radius(4, shift, 31),
                             input_multiplier=mult, input_left_shift=shift)


def logistic_params(input_scale: float, input_zero_point: int) -> SigmoidTanhParams:
    """TFLM ``CalculateArithmeticOpDataLogistic`` (logistic_common.cc), int8 branch."""
    return _sigmoid_tanh_params(input_scale, input_zero_point)


def tanh_params(input_scale: float, input_zero_point: int) -> SigmoidTanhParams:
    """TFLM tanh.cc ``CalculateArithmeticOpData`` + ``TanhPrepare``, int8 branch."""
    return _sigmoid_tanh_params(input_scale, input_zero_point)


def _q4_input(x: npt.ArrayLike, p: SigmoidTanhParams) -> tuple[IntArray, IntArray]:
    inp = as_int64(x) - p.input_zero_point
    return inp, multiply_by_quantized_multiplier(inp, p.input_multiplier, p.input_left_shift)


def logistic_s8(x: npt.ArrayLike, p: SigmoidTanhParams) -> Int8Array:
    """TFLM ``reference_integer_ops::Logistic`` (int8; output scale 1/256, zero point -128)."""
    inp, q4 = _q4_input(x, p)
    out = rounding_divide_by_pot(logistic(q4, 4), 31 - 8)
    out = np.clip(out + INT8_MIN, INT8_MIN, INT8_MAX)
    out = np.where(inp <= -p.input_range_radius, INT8_MIN, np.where(inp >= p.input_range_radius, INT8_MAX, out))
    return out.astype(np.int8)


def tanh_s8(x: npt.ArrayLike, p: SigmoidTanhParams) -> Int8Array:
    """TFLM ``reference_integer_ops::Tanh`` (int8; output scale 1/128, zero point 0)."""
    inp, q4 = _q4_input(x, p)
    out = np.clip(rounding_divide_by_pot(tanh(q4, 4), 31 - 7), INT8_MIN, INT8_MAX)
    out = np.where(inp <= -p.input_range_radius, INT8_MIN, np.where(inp >= p.input_range_radius, INT8_MAX, out))
    return out.astype(np.int8)


def _check_output(op: str, output_scale: float | None, output_zero_point: int | None, scale: float,
                  zero_point: int) -> None:
    if output_zero_point is not None and output_zero_point != zero_point:
        raise ValueError(f"int8 {op} needs output zero point {zero_point}, got {output_zero_point}")
    if output_scale is not None and np.float32(output_scale) != np.float32(scale):
        raise ValueError(f"int8 {op} needs output scale {scale!r}, got {output_scale!r}")


def logistic_lut(input_scale: float, input_zero_point: int, *, output_scale: float | None = None,
                 output_zero_point: int | None = None) -> Int8Array:
    """256-entry table of TFLM's int8 LOGISTIC: entry k is the output for input ``k - 128``.

    TFLM's kernel always produces scale 1/256, zero point -128 (Prepare checks only the zero
    point); pass the output's parameters to have anything else refused with ValueError.
    """
    _check_output("LOGISTIC", output_scale, output_zero_point, 1.0 / 256, -128)
    return logistic_s8(_ALL_INT8, logistic_params(input_scale, input_zero_point))


def tanh_lut(input_scale: float, input_zero_point: int, *, output_scale: float | None = None,
             output_zero_point: int | None = None) -> Int8Array:
    """256-entry table of TFLM's int8 TANH (entry k: input ``k - 128``).

    TFLM's kernel always produces scale 1/128, zero point 0 and checks neither; pass the output's
    parameters to have anything else refused with ValueError.
    """
    _check_output("TANH", output_scale, output_zero_point, 1.0 / 128, 0)
    return tanh_s8(_ALL_INT8, tanh_params(input_scale, input_zero_point))


def leaky_relu_lut(input_scale: float, input_zero_point: int, output_scale: float, output_zero_point: int,
                   alpha: float) -> Int8Array:
    """256-entry table of TFLM's int8 LEAKY_RELU (``CalculateOpDataLeakyRelu`` +
    ``reference_ops::QuantizeLeakyRelu``).

    Multipliers come from the float32 scales and alpha in double arithmetic (the tflite-micro
    package, 0.dev20261023, computes ``in_scale / out_scale`` in double: with input scale 1/256
    and output scale 0.05 a float32 division gives another multiplier and TFLM disagrees with it;
    found by the differential fuzzer), then ``QuantizeMultiplier``. Inputs at or above the zero
    point use the identity multiplier, the rest the alpha one (applied to |multiplier| and negated
    back for a negative alpha).
    """
    in_s, out_s, a = float(np.float32(input_scale)), float(np.float32(output_scale)), float(np.float32(alpha))
    alpha_real = in_s * a / out_s
    identity_real = in_s / out_s
    m_alpha, s_alpha = quantize_multiplier(alpha_real)
    m_id, s_id = quantize_multiplier(identity_real)
    inp = _ALL_INT8 - int(input_zero_point)
    pos = multiply_by_quantized_multiplier(inp, m_id, s_id)
    neg = multiply_by_quantized_multiplier(inp, abs(m_alpha), s_alpha)
    if m_alpha < 0:
        neg = -neg
    out: IntArray = np.where(inp >= 0, pos, neg) + int(output_zero_point)
    return np.clip(out, INT8_MIN, INT8_MAX).astype(np.int8)


def relu6_bounds(input_scale: float, input_zero_point: int) -> tuple[int, int]:
    """TFLM ``Relu6Prepare`` int8: (zero, six) = (input zero point,
    ``FloatToQuantizedType<int8_t>(6.0f, input_scale, input_zero_point)``), i.e.
    ``round(6.0f / scale) + zero_point`` converted to int32 and clamped to int8.

    A conversion out of int32's range (only for input scales below ~3e-9) is undefined in C++;
    this follows x86-64 (INT32_MIN), which is what the tflite-micro package on the host does.
    """
    q = np.float32(6.0) / np.float32(input_scale)
    if not np.isfinite(q):
        six = INT32_MIN
    else:
        r = round_half_away(float(q)) + int(input_zero_point)
        six = r if INT32_MIN <= r <= INT32_MAX else INT32_MIN
    return int(input_zero_point), min(max(six, INT8_MIN), INT8_MAX)


def _relu_x_table(input_scale: float, input_zero_point: int, output_scale: float, output_zero_point: int,
                  act_min: float, act_max: float | None, double_ratio: bool) -> Int8Array:
    """TFLM ``CalculateReluOpData<int8_t>`` + ``ReluQuantized`` (also TFLite's ``QuantizedReluX``).

    ``double_ratio``: the tflite-micro package (0.dev20261023) divides the scales in double
    (input scale 0.05, output scale 0.004: 12.4999996 instead of float32's 12.5, and outputs one
    apart; found by the differential fuzzer); TFLite's RELU_N1_TO_1 divides in float32."""
    in_s, out_s = np.float32(input_scale), np.float32(output_scale)
    ratio = float(in_s) / float(out_s) if double_ratio else float(np.float32(in_s / out_s))
    m, s = quantize_multiplier(ratio)
    lo = max(INT8_MIN, int(output_zero_point) + round_half_away(float(np.float32(np.float32(act_min) / out_s))))
    hi = INT8_MAX if act_max is None else min(
        INT8_MAX, int(output_zero_point) + round_half_away(float(np.float32(np.float32(act_max) / out_s))))
    out = int(output_zero_point) + multiply_by_quantized_multiplier(_ALL_INT8 - int(input_zero_point), m, s)
    out = np.minimum(np.maximum(out, lo), hi)
    return out.astype(np.int8)


def relu_lut(kind: str, input_scale: float, input_zero_point: int, output_scale: float,
             output_zero_point: int) -> Int8Array:
    """256-entry table of a standalone int8 RELU / RELU6 / RELU_N1_TO_1 as TFLM computes it.

    * ``"relu"``: TFLM ``ReluQuantized``: requantize ``x - in_zp`` by ``in_scale / out_scale``
      (a double division of the float32 scales, then QuantizeMultiplier), add ``out_zp``, clamp to
      ``[max(-128, out_zp), 127]``.
    * ``"relu6"``: TFLM ``Relu6Quantized``: NO requantization; the raw input is clamped to
      ``[in_zp, six]`` with ``six = round(6.0f / in_scale) + in_zp`` (clamped to int8). The output
      tensor's scale and zero point are ignored, exactly as TFLM ignores them.
    * ``"relu_n1_to_1"``: TFLM registers no RELU_N1_TO_1 kernel at all, so there is no TFLM
      behaviour to match; this is TFLite's ``QuantizedReluX(-1, 1)`` (requantize as for RELU, clamp
      to the quantized [-1, 1]), the only reference semantics that exist.
    """
    if kind == "relu":
        return _relu_x_table(input_scale, input_zero_point, output_scale, output_zero_point, 0.0, None, True)
    if kind == "relu6":
        zero, six = relu6_bounds(input_scale, input_zero_point)
        x = _ALL_INT8
        out = np.where(x > six, six, np.where(x < zero, zero, x))
        return out.astype(np.int8)
    if kind == "relu_n1_to_1":
        return _relu_x_table(input_scale, input_zero_point, output_scale, output_zero_point, -1.0, 1.0, False)
    raise ValueError(f"unknown relu kind {kind!r} (expected relu, relu6 or relu_n1_to_1)")


@dataclass(frozen=True)
class RequantizeParams:
    """TFLM QUANTIZE int8 -> int8 op data (``PrepareQuantizeReference``)."""

    multiplier: int
    shift: int
    input_zero_point: int
    output_zero_point: int


def requantize_params(input_scale: float, input_zero_point: int, output_scale: float,
                      output_zero_point: int) -> RequantizeParams:
    """TFLM ``PrepareQuantizeReference`` int8 -> int8: ``QuantizeMultiplier((double)in_scale /
    (double)out_scale)`` (a double division, unlike RELU's float division)."""
    m, s = quantize_multiplier(as_float32(input_scale) / as_float32(output_scale))
    return RequantizeParams(m, s, int(input_zero_point), int(output_zero_point))


def requantize_s8(x: npt.ArrayLike, p: RequantizeParams, act_min: int = INT8_MIN, act_max: int = INT8_MAX) -> Int8Array:
    """TFLM ``reference_ops::Requantize<int8_t, int8_t>``: MBQM(x - in_zp) + out_zp, clamped.

    (Its ``x ^ 0x80`` fast path applies only to int8 <-> uint8.) ``act_min``/``act_max`` narrow the
    clamp for callers that fold an activation; QUANTIZE itself uses the full int8 range.
    """
    inp = as_int64(x) - p.input_zero_point
    out = multiply_by_quantized_multiplier(inp, p.multiplier, p.shift) + p.output_zero_point
    return np.clip(out, max(act_min, INT8_MIN), min(act_max, INT8_MAX)).astype(np.int8)


def requantize_lut(input_scale: float, input_zero_point: int, output_scale: float, output_zero_point: int,
                   act_min: int = INT8_MIN, act_max: int = INT8_MAX) -> Int8Array:
    """256-entry table of TFLM's QUANTIZE int8 -> int8 (entry k: input ``k - 128``).

    Not a substitute for :func:`relu_lut` with narrowed bounds: TFLM's RELU derives its multiplier
    from a float32 division of the scales, QUANTIZE from a double one, and the two can differ in
    the last bit of the multiplier.
    """
    p = requantize_params(input_scale, input_zero_point, output_scale, output_zero_point)
    return requantize_s8(_ALL_INT8, p, act_min, act_max)


# -- simulation ----------------------------------------------------------------------------------


def run_lut(m: Machine, c: Call) -> None:
    assert isinstance(c, LutCall)
    x = m.read(c.inputs[0]).astype(np.int64)
    m.write(c.output, c.lut_values[x + 128])


FAMILY = OpFamily(
    builders={"LOGISTIC": _unary(read_logistic, int16=True), "TANH": _unary(read_tanh, int16=True),
              "RELU": read_relu(ir.Activation.RELU),
              "RELU6": read_relu(ir.Activation.RELU6), "RELU_N1_TO_1": read_relu(ir.Activation.RELU_N1_TO_1),
              "LEAKY_RELU": _unary(read_leaky_relu)},
    lowerers={Logistic: lower_lut, Tanh: lower_lut, Relu: lower_lut, LeakyRelu: lower_lut},
    kernels={LutCall: run_lut, SigmoidTanhS16Call: run_sigmoid_tanh_s16},
    options={"LEAKY_RELU": fb.BuiltinOptions.LeakyReluOptions},
)
