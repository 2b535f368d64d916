"""SOFTMAX: reading, lowering to ``arm_softmax_s8`` (TFLM's Prepare: the input multiplier and
diff_min) and the simulator's kernel. int16 input and output (16x8): :mod:`edgegen.ops._softmax16`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt
from ai_edge_litert import schema_py_generated as fb

from .. import ir
from ..fixedpoint import (
    INT8_MAX,
    INT8_MIN,
    Int8Array,
    as_float32,
    as_int64,
    calculate_input_radius,
    exp_on_negative_values,
    get_reciprocal,
    int32_pow2,
    quantize_multiplier_greater_than_one,
    rescale,
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
    wrap_int32,
)
from ..lowering import Lowering
from ..machine import Machine
from ..program import Call
from ..tflite_context import OpContext
from ._family import OpFamily
from ._softmax16 import SoftmaxS16Call, lower_softmax_s16, run_softmax_s16


@dataclass(frozen=True)
class Softmax(ir.Op):
    KIND: ClassVar[str] = "SOFTMAX"
    beta: float = 1.0


# -- reading -------------------------------------------------------------------------------------


def read_softmax(c: OpContext) -> ir.Op:
    c.n_inputs(1)
    x, y = c.t(0), c.out()
    dtype = c.quant_activation(x, "input", ("int8", "int16"))
    if c.quant_activation(y, "output", ("int8", "int16")) != dtype:
        raise c.fail(f"input {x.describe()} and output {y.describe()} differ in type; edgegen compiles int8 -> int8 "
                     "and int16 -> int16 SOFTMAX")
    if not x.shape or x.shape != y.shape:
        raise c.fail(f"input {x.describe()} and output {y.describe()} must have the same shape, of rank 1 or more")
    assert y.quant is not None
    if dtype == "int16":
        # TFLM: TF_LITE_ENSURE_NEAR(output scale, 1.f / 32768, 0.001f / 32768), zero point 0 (checked above)
        f = np.float32
        if not abs(f(y.quant.scale) - f(1.0) / f(32768)) <= f(0.001) * f(1.0) / f(32768):
            raise c.fail("int16 SOFTMAX output must have scale 1/32768 and zero point 0 (as TFLM requires)")
        return Softmax(index=c.index, inputs=c.inputs, outputs=c.outputs, beta=c.finite("beta"))
    # TFLM compares the float32 scale with 1/256 exactly
    if y.quant.zero_point != -128 or np.float32(y.quant.scale) != np.float32(1 / 256):
        raise c.fail("int8 SOFTMAX output must have scale 1/256 and zero point -128 (as TFLM requires)")
    return Softmax(index=c.index, inputs=c.inputs, outputs=c.outputs, beta=c.finite("beta"))


# -- lowering ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SoftmaxCall(Call):
    KIND: ClassVar[str] = "softmax"
    num_rows: int
    row_size: int
    mult: int
    shift: int
    diff_min: int


def lower_softmax(lw: Lowering, op: ir.Op) -> None:
    assert isinstance(op, Softmax)
    x = lw.g.tensor(op.inputs[0])
    if x.dtype == "int16":
        lower_softmax_s16(lw, op, op.beta)
        return
    scale = float(lw.qp(op.inputs[0]).scale)
    # TFLM scales the input differences by beta * scale * 2^26 and aborts when that is not
    # above 1 (QuantizeMultiplierGreaterThanOne). It happens when the logits are almost
    # constant, which an untrained model gives; the generic message would only say "recalibrate".
    if float(np.float32(op.beta)) * float(np.float32(scale)) * (1 << 26) <= 1.0:
        span = 255 * scale
        raise lw.fail(op, f"its input {x.describe()} has quantization scale {scale:.3g}, so its logits span "
                            f"only {span:.3g}: TFLM cannot implement a SOFTMAX whose beta * input scale is "
                            "below 2^-26 (it aborts). Nearly constant logits come from an untrained model or "
                            "calibration data that does not reach this layer: train the model, calibrate "
                            "with representative data, or end the model before the softmax")
    p = softmax_params(scale, op.beta)
    row = x.shape[-1]
    b = lw.base(op, "arm_softmax_s8", (lw.ref(op.inputs[0]),), lw.out_ref(op), 0, x.size)
    lw.calls.append(SoftmaxCall(**b, num_rows=x.size // row, row_size=row,  # type: ignore[arg-type]
                                  mult=p.input_multiplier, shift=p.input_left_shift, diff_min=p.diff_min))


# -- TFLM's softmax arithmetic -------------------------------------------------------------------


_SCALED_DIFF_INTEGER_BITS = 5


_ACCUMULATION_INTEGER_BITS = 12


@dataclass(frozen=True)
class SoftmaxParams:
    """Exactly the three integers TFLM's CMSIS-NN glue passes to ``arm_softmax_s8`` as
    ``mult``, ``shift`` and ``diff_min`` (its ``SoftmaxParams.input_multiplier``,
    ``.input_left_shift`` and ``.diff_min``); the reference kernel uses the same three."""

    input_multiplier: int
    input_left_shift: int
    diff_min: int


def preprocess_softmax_scaling(beta: float, input_scale: float, input_integer_bits: int) -> tuple[int, int]:
    """TFLite ``PreprocessSoftmaxScaling`` (double-rounding build): (multiplier, left_shift).

    ``min(beta * input_scale * 2**(31 - input_integer_bits), 2**31 - 1)`` in double, then
    ``QuantizeMultiplierGreaterThanOne``. ``beta`` and ``input_scale`` are used as given (callers
    pass the float32 values widened to double, as TFLM does).
    """
    max_real_multiplier = float((1 << 31) - 1)
    real = min(float(beta) * float(input_scale) * float(1 << (31 - input_integer_bits)), max_real_multiplier)
    return quantize_multiplier_greater_than_one(real)


def softmax_params(input_scale: float, beta: float, *, output_scale: float = 1.0 / 256,
                   output_zero_point: int = -128) -> SoftmaxParams:
    """TFLM ``CalculateSoftmaxParams`` (softmax_common.cc) for int8 input and int8 output.

    TFLM requires the output to have zero point -128 and scale exactly ``1.f / 256``; anything else
    is a ValueError here. ``PreprocessSoftmaxScaling(beta, input_scale, 5)`` gives the multiplier
    and left shift; ``diff_min = -CalculateInputRadius(5, left_shift)``.
    """
    if output_zero_point != -128:
        raise ValueError(f"int8 SOFTMAX needs output zero point -128 (TFLM), got {output_zero_point}")
    if np.float32(output_scale) != np.float32(1.0 / 256):
        raise ValueError(f"int8 SOFTMAX needs output scale 1/256 (TFLM), got {output_scale!r}")
    mult, shift = preprocess_softmax_scaling(as_float32(beta), as_float32(input_scale), _SCALED_DIFF_INTEGER_BITS)
    diff_min = -calculate_input_radius(_SCALED_DIFF_INTEGER_BITS, shift)
    return SoftmaxParams(input_multiplier=mult, input_left_shift=shift, diff_min=diff_min)


def softmax_s8(x: npt.ArrayLike, p: SoftmaxParams) -> Int8Array:
    """TFLM ``reference_ops::Softmax<int8_t, int8_t>`` over the last axis.

    Also CMSIS-NN ``arm_softmax_s8`` (``arm_nn_softmax_common_s8``): same operations in the same
    order (``DIV_POW2(EXP_ON_NEG(MUL_SAT(diff * (1 << shift), mult)), 12)`` summed, the same
    reciprocal, ``bits_over_unit = 12 - clz(sum) + 23``). ``x`` is int8 ``(rows, depth)`` or any
    shape whose last axis is the softmax axis; the result has the same shape.
    """
    xa = np.asarray(x)
    shape = xa.shape
    rows = as_int64(xa).reshape(-1, shape[-1] if shape else 1)
    srdhm = saturating_rounding_doubling_high_mul
    diff = rows - rows.max(axis=1, keepdims=True)
    valid = diff >= p.diff_min
    rescaled = srdhm(wrap_int32(diff * int32_pow2(p.input_left_shift)), p.input_multiplier)
    exp = exp_on_negative_values(rescaled, _SCALED_DIFF_INTEGER_BITS)
    terms = rescale(exp, 0, _ACCUMULATION_INTEGER_BITS)
    sum_of_exps = wrap_int32(np.where(valid, terms, 0).sum(axis=1, keepdims=True))
    shifted_scale, num_bits_over_unit = get_reciprocal(sum_of_exps, _ACCUMULATION_INTEGER_BITS)
    exponent = num_bits_over_unit + 31 - 8
    if np.any(exponent < 0) or np.any(exponent > 31):  # TFLITE_CHECK in the kernel
        raise ValueError("softmax: exponent out of [0, 31]")
    unsat = rounding_divide_by_pot(srdhm(shifted_scale, exp), exponent)
    out = np.clip(unsat + INT8_MIN, INT8_MIN, INT8_MAX)
    out = np.where(valid, out, INT8_MIN)
    return out.astype(np.int8).reshape(shape)


# -- simulation ----------------------------------------------------------------------------------


def run_softmax(m: Machine, c: Call) -> None:
    assert isinstance(c, SoftmaxCall)
    x = m.read(c.inputs[0]).reshape(c.num_rows, c.row_size)
    p = SoftmaxParams(input_multiplier=c.mult, input_left_shift=c.shift, diff_min=c.diff_min)
    m.write(c.output, softmax_s8(x, p))


FAMILY = OpFamily(
    builders={"SOFTMAX": read_softmax},
    lowerers={Softmax: lower_softmax},
    kernels={SoftmaxCall: run_softmax, SoftmaxS16Call: run_softmax_s16},
    options={"SOFTMAX": fb.BuiltinOptions.SoftmaxOptions},
    required_options={"SOFTMAX": "beta 0, which TFLM cannot implement (it aborts)"},
)
