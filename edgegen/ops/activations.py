"""HARD_SWISH, int8: an elementwise int8 -> int8 op, so it becomes the 256-entry table of TFLM's
exact results (:class:`edgegen.ops.lut.LutCall`, one ``edgegen_lut_s8`` call) computed at lowering.

* HARD_SWISH: TFLM's ``HardSwishPrepare`` (hard_swish_common.cc: float32 scale arithmetic, then
  QuantizeMultiplier and DownScaleInt32ToInt16Multiplier) and ``reference_ops::HardSwish`` (16-bit
  fixed point: gemmlowp's int16 SaturatingRoundingDoublingHighMul, saturating left shifts, the
  truncating SaturatingDoublingHighMul), evaluated on every int8 input.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .. import ir
from ..fixedpoint import INT8_MAX, INT8_MIN, Int8Array, quantize_multiplier
from ..lowering import Lowering
from ..tflite_context import OpContext
from ._family import OpFamily
from .lut import LutCall

INT16_MIN, INT16_MAX = -(1 << 15), (1 << 15) - 1


@dataclass(frozen=True)
class HardSwish(ir.Op):
    KIND: ClassVar[str] = "HARD_SWISH"


# -- reading -------------------------------------------------------------------------------------


def _read(cls: type[HardSwish]) -> Callable[[OpContext], ir.Op]:
    def build(c: OpContext) -> ir.Op:
        c.n_inputs(1)
        c.int8_activation(c.t(0), "input")
        c.int8_activation(c.out(), "output")
        if c.t(0).shape != c.out().shape:
            raise c.fail("input and output shapes differ")
        return cls(index=c.index, inputs=c.inputs, outputs=c.outputs)

    return build


# -- TFLM's HARD_SWISH ---------------------------------------------------------------------------


@dataclass(frozen=True)
class HardSwishParams:
    """TFLM's ``HardSwishParams`` (int8) as ``HardSwishPrepare`` computes them."""

    input_zero_point: int
    output_zero_point: int
    reluish_multiplier_fixedpoint_int16: int
    reluish_multiplier_exponent: int
    output_multiplier_fixedpoint_int16: int
    output_multiplier_exponent: int


def _down_scale_int32_to_int16(m: int) -> int:
    """TFLite ``DownScaleInt32ToInt16Multiplier``: round the Q31 multiplier to Q15, saturating."""
    if m < 0:
        raise ValueError(f"DownScaleInt32ToInt16Multiplier of a negative multiplier {m}")
    if m >= (1 << 31) - 1 - (1 << 15):
        return INT16_MAX
    return (m + (1 << 15)) >> 16


def hard_swish_params(input_scale: float, input_zero_point: int, output_scale: float,
                      output_zero_point: int) -> HardSwishParams:
    """``HardSwishPrepare``: the scales multiply and divide in float32, only the quotients widen to
    double. TFLM refuses an output multiplier of 1 or more (a positive exponent); so does this
    (ValueError)."""
    f32 = np.float32
    hires_input_scale = f32(f32(1.0) / f32(128.0)) * f32(input_scale)
    reluish_scale = f32(3.0) / f32(32768.0)
    out_m, out_e = quantize_multiplier(float(hires_input_scale / f32(output_scale)))
    if out_e > 0:
        raise ValueError(f"HARD_SWISH output multiplier exponent {out_e} > 0 (input scale {input_scale!r}, output "
                         f"scale {output_scale!r})")
    relu_m, relu_e = quantize_multiplier(float(hires_input_scale / reluish_scale))
    return HardSwishParams(int(input_zero_point), int(output_zero_point), _down_scale_int32_to_int16(relu_m), relu_e,
                           _down_scale_int32_to_int16(out_m), out_e)


def _sat16(x: int) -> int:
    return max(INT16_MIN, min(INT16_MAX, x))


def _wrap16(x: int) -> int:
    """An int assigned to int16_t (two's complement, as on every target)."""
    return ((x + (1 << 15)) & 0xFFFF) - (1 << 15)


def _srdhm16(a: int, b: int) -> int:
    """gemmlowp ``SaturatingRoundingDoublingHighMul`` on int16 (C division truncates)."""
    if a == b == INT16_MIN:
        return INT16_MAX
    ab = a * b
    nudge = (1 << 14) if ab >= 0 else 1 - (1 << 14)
    q = abs(ab + nudge) >> 15
    return _wrap16(q if ab + nudge >= 0 else -q)


def _sdhm16(a: int, b: int) -> int:
    """TFLite ``SaturatingDoublingHighMul`` on int16: as above, but truncating (SQDMULH)."""
    if a == b == INT16_MIN:
        return INT16_MAX
    ab = a * b
    q = abs(ab) >> 15
    return _wrap16(q if ab >= 0 else -q)


def _rdbypot16(x: int, exponent: int) -> int:
    """gemmlowp ``RoundingDivideByPOT`` on int16 (nearest, ties away from zero), including what it
    does for exponents of 16 and more: its mask ``(1 << exponent) - 1`` is an int16 too, so it
    wraps to -1 (all ones); the remainder is then x itself and the threshold -1 (x >= 0) or 0
    (x < 0), which rounds every non-negative x up by one. A model with tiny scales (a random-weight
    MobileNetV3's HARD_SWISH: reluish exponent -21) takes that path in TFLM."""
    mask = _wrap16((1 << exponent) - 1)
    remainder = _wrap16(x & mask)
    threshold = _wrap16((mask >> 1) + (1 if x < 0 else 0))
    return _wrap16((x >> exponent) + (1 if remainder > threshold else 0))


def hard_swish_s8(x: int, p: HardSwishParams) -> int:
    """``reference_ops::HardSwish`` on one int8 value."""
    input_value = _wrap16(x - p.input_zero_point)
    hires = _wrap16(input_value * (1 << 7))
    preshift_output = _srdhm16(hires, p.output_multiplier_fixedpoint_int16)
    reluish = hires
    if p.reluish_multiplier_exponent > 0:
        reluish = _sat16(reluish * (1 << (p.reluish_multiplier_exponent - 1)))
    reluish = _srdhm16(reluish, p.reluish_multiplier_fixedpoint_int16)
    if p.reluish_multiplier_exponent > 0:
        reluish = _sat16(reluish * 2)
    if p.reluish_multiplier_exponent < 0:
        reluish = _wrap16(_rdbypot16(reluish, -p.reluish_multiplier_exponent))
    reluish = _wrap16((reluish + (1 << 15)) >> 1)
    preshift = _sdhm16(reluish, preshift_output)
    out = _wrap16(_wrap16(_rdbypot16(preshift, -p.output_multiplier_exponent)) + p.output_zero_point)
    return max(INT8_MIN, min(INT8_MAX, out))


def hard_swish_lut(input_scale: float, input_zero_point: int, output_scale: float,
                   output_zero_point: int) -> Int8Array:
    """256-entry table of TFLM's int8 HARD_SWISH (entry k: input ``k - 128``)."""
    p = hard_swish_params(input_scale, input_zero_point, output_scale, output_zero_point)
    return np.array([hard_swish_s8(v, p) for v in range(-128, 128)], dtype=np.int8)


# -- lowering ------------------------------------------------------------------------------------


def lower_activation(lw: Lowering, op: ir.Op) -> None:
    qi, qo = lw.qp(op.inputs[0]), lw.qp(op.outputs[0])
    assert isinstance(op, HardSwish)
    table = hard_swish_lut(qi.scale, qi.zero_point, qo.scale, qo.zero_point)
    x = lw.g.tensor(op.inputs[0])
    b = lw.base(op, "edgegen_lut_s8", (lw.ref(op.inputs[0]),), lw.out_ref(op, op.inputs[0]), 0, 0)
    lw.calls.append(LutCall(**b, lut=lw.const("lut", "int8_t", table, op), lut_values=table,  # type: ignore[arg-type]
                            size=x.size))


FAMILY = OpFamily(
    builders={"HARD_SWISH": _read(HardSwish)},
    lowerers={HardSwish: lower_activation},
)
