"""MEAN and REDUCE_MAX over adjacent axes: reading, lowering (MEAN to ``edgegen_mean_s8`` with
TFLM's multipliers, REDUCE_MAX to a max pool) and MEAN's simulator kernel. MEAN also takes int16
activations (16x8): TFLM's EvalIntegerMean is one template for int8 and int16, so the same numbers
go to ``edgegen_mean_s16``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
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
    multiply_by_quantized_multiplier,
    quantize_multiplier,
    wrap_int32,
)
from ..kernels import pool as poolk
from ..lowering import Lowering
from ..machine import Machine
from ..program import Call, Dims
from ..tflite_context import OpContext
from ._family import OpFamily
from .pool import PoolCall


@dataclass(frozen=True)
class Mean(ir.Op):
    KIND: ClassVar[str] = "MEAN"
    axes: tuple[int, ...] = ()
    keep_dims: bool = False


@dataclass(frozen=True)
class ReduceMax(ir.Op):
    """The maximum over adjacent ``axes`` (GlobalMaxPooling2D). Input and output share their
    quantization (TFLM requires it), so no requantization happens."""

    KIND: ClassVar[str] = "REDUCE_MAX"
    axes: tuple[int, ...] = ()
    keep_dims: bool = False


# -- reading -------------------------------------------------------------------------------------


def read_reduction(cls: type[Mean] | type[ReduceMax], what: str) -> Callable[[OpContext], ir.Op]:
    """MEAN and REDUCE_MAX: int8 in and out, a constant list of adjacent axes (input 1)."""
    def build(c: OpContext) -> ir.Op:
        c.n_inputs(2)
        axes = _reduced_axes(c, what, ("int8", "int16") if cls is Mean else ("int8",))
        if cls is ReduceMax and c.t(0).quant != c.out().quant:
            raise c.fail("input and output quantization differ; TFLM requires them equal for REDUCE_MAX")
        x = c.t(0)
        # REDUCE_MAX is lowered to a max pool with one output position per outer element
        outer = math.prod(x.shape[: axes[0]]) if cls is ReduceMax else 0
        c.work.op(c.where, x.size, positions=outer)
        return cls(index=c.index, inputs=c.inputs, outputs=c.outputs, axes=tuple(axes),
                   keep_dims=bool(c.opt("keepDims")))

    return build


def _reduced_axes(c: OpContext, what: str, dtypes: tuple[str, ...]) -> list[int]:
    """The checked, sorted, adjacent axes of a MEAN or REDUCE_MAX (input 1)."""
    x, y = c.t(0), c.out()
    if c.quant_activation(x, "input", dtypes) != c.quant_activation(y, "output", dtypes):
        raise c.fail(f"input {x.describe()} and output {y.describe()} differ in type")
    axes_t = c.const(1, "axis", ("int32",))  # TFLM refuses int64 axes
    assert axes_t.data is not None
    rank = len(x.shape)
    if axes_t.size == 0:
        raise c.fail(f"axis {axes_t.describe()} lists no axes")
    axes = sorted({int(a) % rank if -rank <= int(a) < rank else -1 for a in axes_t.data.reshape(-1)})
    if -1 in axes:
        raise c.fail(f"axis {axes_t.data.tolist()} out of range for rank {rank}")
    if axes != list(range(axes[0], axes[-1] + 1)):
        raise c.fail(f"{c.name} over non-adjacent axes {axes} is not supported")
    reduced = 1
    for a in axes:
        reduced *= x.shape[a]
    if y.size * reduced != x.size:
        raise c.fail(f"output {y.describe()} does not hold the {what} of {x.describe()} over axes {axes}")
    return axes


# -- lowering ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MeanCall(Call):
    KIND: ClassVar[str] = "mean"
    outer: int
    reduce: int
    inner: int
    sum_offset: int
    multiplier: int
    shift: int
    output_offset: int
    #: int16 input and output (edgegen_mean_s16): the int16 clamp
    int16: bool = False


def lower_mean(lw: Lowering, op: ir.Op) -> None:
    assert isinstance(op, Mean)
    x = lw.g.tensor(op.inputs[0])
    qi, qo = lw.qp(op.inputs[0]), lw.qp(op.outputs[0])
    outer, reduce, inner = _reduction_extents(x.shape, op.axes)
    if reduce == 0:
        raise lw.fail(op, "MEAN over an empty axis")
    p = mean_params(qi.scale, qi.zero_point, qo.scale, qo.zero_point, reduce)
    int16 = x.dtype == "int16"
    if int16:
        b = lw.base(op, "edgegen_mean_s16", (lw.ref(op.inputs[0]),), lw.out_ref(op), 0, x.size)
        lw.calls.append(MeanCall(**b, outer=outer, reduce=reduce, inner=inner,  # type: ignore[arg-type]
                                 sum_offset=p.sum_offset, multiplier=p.multiplier, shift=p.shift,
                                 output_offset=p.output_offset, int16=True))
        return
    geo = poolk.PoolGeometry(ih=outer, iw=reduce, c=inner, oh=outer, ow=1, fh=1, fw=reduce, sh=1, sw=1, pad_t=0,
                             pad_l=0)
    if poolk.try_lower(lw, op, lw.ref(op.inputs[0]), lw.out_ref(op), geo, poolk.MEAN, (-128, 127),
                       (p.sum_offset, p.multiplier, p.shift, p.output_offset)):
        return
    b = lw.base(op, "edgegen_mean_s8", (lw.ref(op.inputs[0]),), lw.out_ref(op), 0, x.size)
    lw.calls.append(MeanCall(**b, outer=outer, reduce=reduce, inner=inner,  # type: ignore[arg-type]
                               sum_offset=p.sum_offset, multiplier=p.multiplier, shift=p.shift,
                               output_offset=p.output_offset))


def lower_reduce_max(lw: Lowering, op: ir.Op) -> None:
    """A maximum over adjacent axes is a max pool: viewed as [1, outer, reduce, inner] (NHWC),
    a 1 x reduce window with stride 1 and no padding leaves [1, outer, 1, inner]. Input and
    output share their quantization, so the max is exact and arm_max_pool_s8 (CMSIS-NN's
    DSP/Helium kernel) computes it with the full int8 range as its clamp."""
    assert isinstance(op, ReduceMax)
    x = lw.g.tensor(op.inputs[0])
    outer, reduce, inner = _reduction_extents(x.shape, op.axes)
    b = lw.base(op, "arm_max_pool_s8", (lw.ref(op.inputs[0]),), lw.out_ref(op), 0, x.size)
    lw.calls.append(PoolCall(
        **b, is_max=True, input_dims=Dims(1, outer, reduce, inner), filter_dims=Dims(1, 1, reduce, 1),  # type: ignore[arg-type]
        output_dims=Dims(1, outer, 1, inner), stride=(1, 1), padding=(0, 0), act_min=-128, act_max=127,
    ))


def _reduction_extents(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, int, int]:
    """A tensor reduced over adjacent ``axes`` viewed as [outer, reduce, inner]."""
    def size(dims: Sequence[int]) -> int:
        return int(np.prod(dims, dtype=np.int64))

    return size(shape[: axes[0]]), size([shape[a] for a in axes]), size(shape[axes[-1] + 1:])


# -- TFLM's MEAN arithmetic ----------------------------------------------------------------------


@dataclass(frozen=True)
class MeanParams:
    """Integers of TFLM's int8 MEAN after ``QuantizedMeanOrSum`` folds 1/N into the multiplier."""

    sum_offset: int  # -input_zero_point * reduce_count
    multiplier: int
    shift: int
    output_offset: int  # output zero point


def mean_params(input_scale: float, input_zero_point: int, output_scale: float, output_zero_point: int,
                reduce_count: int) -> MeanParams:
    """TFLM reduce_common.cc ``PrepareMeanOrSumHelper``/``PrepareSimple`` then the mean branch of
    reference ``QuantizedMeanOrSum``.

    ``QuantizeMultiplier((double)in_scale / (double)out_scale)``; then with
    ``shift_n = min(floor(log2 N), 32, 31 + shift)``:
    ``multiplier = int32((int64(multiplier) << shift_n) / N)`` and ``shift -= shift_n``.
    """
    n = int(reduce_count)
    if n <= 0:
        raise ValueError(f"MEAN over {n} elements")
    m, s = quantize_multiplier(as_float32(input_scale) / as_float32(output_scale))
    shift_n = n.bit_length() - 1  # 63 - CountLeadingZeros(uint64 N)
    shift_n = min(shift_n, 32)
    shift_n = min(shift_n, 31 + s)
    if shift_n < 0 or m < 0:
        raise ValueError("MEAN: scales must be positive and the multiplier in range")
    m_n = (m << shift_n) // n  # int64 shift and truncating division; < 2**31 since 2**shift_n <= N
    return MeanParams(sum_offset=-int(input_zero_point) * n, multiplier=m_n, shift=s - shift_n,
                      output_offset=int(output_zero_point))


def mean_s16(x: npt.ArrayLike, p: MeanParams) -> npt.NDArray[np.int16]:
    """TFLM int16 MEAN: :func:`mean_s8`'s arithmetic (the same template), clamped to int16."""
    xa = as_int64(x)
    total = wrap_int32(wrap_int32(xa.sum(axis=1)) + p.sum_offset)
    out = multiply_by_quantized_multiplier(total, p.multiplier, p.shift) + p.output_offset
    return np.clip(out, -32768, 32767).astype(np.int16)


def mean_s8(x: npt.ArrayLike, p: MeanParams) -> Int8Array:
    """TFLM int8 MEAN on ``x`` viewed as ``[outer, reduce, inner]``; returns ``[outer, inner]``.

    The sum is TFLM's int32 ``temp_sum`` (wrapping), plus ``sum_offset`` (cast back to int32), then
    the **int32** ``MultiplyByQuantizedMultiplier`` overload (the accumulator type is int32_t), plus
    the output zero point, clamped to int8.
    """
    xa = as_int64(x)
    if xa.ndim != 3:
        raise ValueError(f"mean_s8 expects [outer, reduce, inner], got shape {xa.shape}")
    total = wrap_int32(wrap_int32(xa.sum(axis=1)) + p.sum_offset)
    out = multiply_by_quantized_multiplier(total, p.multiplier, p.shift) + p.output_offset
    return np.clip(out, INT8_MIN, INT8_MAX).astype(np.int8)


# -- simulation ----------------------------------------------------------------------------------


def run_mean(m: Machine, c: Call) -> None:
    assert isinstance(c, MeanCall)
    x = m.read(c.inputs[0]).reshape(c.outer, c.reduce, c.inner)
    p = MeanParams(sum_offset=c.sum_offset, multiplier=c.multiplier, shift=c.shift, output_offset=c.output_offset)
    m.write(c.output, mean_s16(x, p) if c.int16 else mean_s8(x, p))


FAMILY = OpFamily(
    builders={"MEAN": read_reduction(Mean, "mean"), "REDUCE_MAX": read_reduction(ReduceMax, "maximum")},
    lowerers={Mean: lower_mean, ReduceMax: lower_reduce_max},
    kernels={MeanCall: run_mean, poolk.PoolKernelCall: poolk.run_poolk},
    options={"MEAN": fb.BuiltinOptions.ReducerOptions, "REDUCE_MAX": fb.BuiltinOptions.ReducerOptions},
)
