"""FULLY_CONNECTED: reading, lowering to ``arm_fully_connected_s8`` (per-tensor) or
``arm_fully_connected_per_channel_s8`` with the Helium kernel sums as a constant, its scratch
size, and the simulator's kernel. int16 activations (16x8): :mod:`edgegen.ops._fc16`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from ai_edge_litert import schema_py_generated as fb

from .. import fixedpoint as fx
from .. import ir
from ..kernels import matmul, mve_mm, sparse
from ..lowering import MVE, Lowering, activation_range
from ..machine import Machine, requant
from ..program import Call, Dims
from ..tflite_context import OpContext, accumulator_bound, quantized_bias_type
from ._family import OpFamily
from ._fc16 import FullyConnectedS16Call, lower_fully_connected_s16, run_fully_connected_s16


@dataclass(frozen=True)
class FullyConnected(ir.Op):
    KIND: ClassVar[str] = "FULLY_CONNECTED"
    activation: ir.Activation = ir.Activation.NONE
    keep_num_dims: bool = False
    #: int16 activations only: TFLM accumulates in int32 (an int32 bias, or none with
    #: quantized_bias_type INT32) rather than int64
    int32_accumulator: bool = False


# -- reading -------------------------------------------------------------------------------------


def read_fully_connected(c: OpContext) -> ir.Op:
    c.n_inputs(2, 3)
    x, w, y = c.t(0), c.const(1, "weights", ("int8",)), c.out()
    dtype = c.quant_activation(x, "input", ("int8", "int16"))
    c.quant_activation(y, "output", (dtype,))
    c.rank(w, (2,), "weights")
    if int(c.opt("weightsFormat")) != 0:
        raise c.fail("shuffled weights formats are not supported")
    if w.quant is None or any(z != 0 for z in w.quant.zero_points):
        raise c.fail(f"weights {w.describe()} must be symmetric int8 (zero point 0)")
    if w.quant.per_channel and w.quant.axis != 0:
        raise c.fail(f"weights {w.describe()} are quantized along axis {w.quant.axis}, expected 0")
    depth = w.shape[1]
    if depth == 0 or x.size % depth != 0:
        raise c.fail(f"input {x.describe()} does not split into rows of {depth} values")
    # TFLM takes the number of units from the output's last dimension and the rows from the
    # rest of the output (fully_connected.h), not from the weights or the input
    if y.shape[-1] != w.shape[0] or y.size // y.shape[-1] != x.size // depth:
        raise c.fail(
            f"output {y.describe()} is not {x.size // depth} rows of the weights' {w.shape[0]} units (TFLM reads the "
            "units from the output's last dimension)"
        )
    bias = None
    if len(c.inputs) == 3 and c.inputs[2] >= 0:
        b = c.const(2, "bias", ("int32", "int64") if dtype == "int16" else ("int32",))
        if b.size != w.shape[0]:
            raise c.fail(f"bias {b.describe()} has {b.size} values for {w.shape[0]} outputs")
        bias = b
    bias_type = quantized_bias_type(c, dtype)
    if not w.quant.per_channel:
        _per_tensor_bias_scale(c, x, w, bias, y)
    # TFLM's int16 kernel accumulates in the bias's type (fully_connected.cc: requires_int32_accum)
    int32_acc = dtype == "int16" and (bias.dtype == "int32" if bias is not None else bias_type == fb.TensorType.INT32)
    if dtype == "int8" or int32_acc:
        accumulator_bound(c, w, bias, 0, 255 if dtype == "int8" else 32768)
    c.work.op(c.where, x.size * w.shape[0])
    return FullyConnected(
        index=c.index,
        inputs=c.inputs,
        outputs=c.outputs,
        activation=c.activation(),
        keep_num_dims=bool(c.opt("keepNumDims")),
        int32_accumulator=int32_acc,
    )


def _per_tensor_bias_scale(c: OpContext, x: ir.Tensor, w: ir.Tensor, bias: ir.Tensor | None, y: ir.Tensor) -> None:
    """TFLM's per-tensor FULLY_CONNECTED (GetQuantizedConvolutionMultipler) refuses a bias whose
    scale is not input scale x weights scale, within 2 % of the output scale (a bias without
    quantization has scale 0 there)."""
    if bias is None:
        return
    assert x.quant is not None and w.quant is not None and y.quant is not None
    product = float(np.float32(x.quant.scale)) * float(np.float32(w.quant.scale))
    # TFLM reads params.scale, the first scale of a bias given per-channel parameters
    bias_scale = float(np.float32(bias.quant.scales[0])) if bias.quant is not None else 0.0
    if abs(product - bias_scale) / float(np.float32(y.quant.scale)) > 0.02:
        raise c.fail(
            f"bias {bias.describe()} has scale {bias_scale:.6g}, but input scale x weights scale is {product:.6g}; "
            "TFLM refuses a per-tensor FULLY_CONNECTED whose difference exceeds 2 % of the output scale"
        )


# -- lowering ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FullyConnectedCall(Call):
    KIND: ClassVar[str] = "fully_connected"
    weights: str
    bias: str | None
    per_channel: bool
    #: per-tensor: the scalar multiplier/shift; per-channel: names of the arrays
    multiplier: int
    shift: int
    multipliers: str | None
    shifts: str | None
    input_dims: Dims
    filter_dims: Dims  # n: accumulation depth, c: output depth
    bias_dims: Dims
    output_dims: Dims  # n: batches, c: output depth
    input_offset: int
    output_offset: int
    act_min: int
    act_max: int
    #: per-unit weight-row sums times the input offset, plus the bias: what CMSIS-NN's MVE kernels
    #: read from ctx->buf (TFLM computes them with arm_vector_sum_s8 at start-up)
    kernel_sums: str

    @property
    def checks_scratch(self) -> bool:
        return True


def lower_fully_connected(lw: Lowering, op: ir.Op) -> None:
    assert isinstance(op, FullyConnected)
    if lw.g.tensor(op.inputs[0]).dtype == "int16":
        lower_fully_connected_s16(lw, op, op.activation, op.int32_accumulator)
        return
    x, w, y = lw.g.tensor(op.inputs[0]), lw.g.tensor(op.inputs[1]), lw.g.tensor(op.outputs[0])
    assert w.data is not None and w.quant is not None
    units, depth = w.shape
    batches = x.size // depth
    if y.size != batches * units:
        raise lw.fail(op, f"output {y.describe()} does not hold {batches} x {units} values")
    xq, yq = lw.qp(op.inputs[0]), lw.qp(op.outputs[0])
    act_min, act_max = activation_range(op.activation, yq)
    mults, shifts = lw.per_channel_multipliers(op, 1, units)
    per_channel = w.quant.per_channel
    bias_values = lw.g.tensor(op.inputs[2]).data if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
    if sparse.try_lower(lw, op, w=w.data.reshape(units, depth), bias=bias_values, x=lw.ref(op.inputs[0]),
                        input_offset=-xq.zero_point, mults=mults if per_channel else mults[:1],
                        shifts=shifts if per_channel else shifts[:1], out_zp=yq.zero_point, act=(act_min, act_max),
                        npix=batches):
        return
    if matmul.try_lower(lw, op, w=w.data.reshape(units, depth), bias=bias_values, x=lw.ref(op.inputs[0]),
                        input_offset=-xq.zero_point, mults=mults if per_channel else mults[:1],
                        shifts=shifts if per_channel else shifts[:1], out_zp=yq.zero_point, act=(act_min, act_max),
                        npix=batches):
        return
    filter_dims = Dims(depth, 1, 1, units)
    sb = fully_connected_scratch(lw.scratch_target, filter_dims)
    sums = w.data.astype(np.int64).reshape(units, depth).sum(axis=1) * (-xq.zero_point)
    if bias_values is not None:
        sums = sums + bias_values.astype(np.int64).reshape(-1)
    kernel_sums = lw.const("kernel_sums", "int32_t", fx.wrap_int32(sums).astype(np.int32), op, condition=MVE)
    b = lw.base(op, "arm_fully_connected_per_channel_s8" if per_channel else "arm_fully_connected_s8",
                  (lw.ref(op.inputs[0]),), lw.out_ref(op), sb, batches * units * depth)
    lw.calls.append(FullyConnectedCall(
        **b,  # type: ignore[arg-type]
        weights=lw.const("weights", "int8_t", w.data.astype(np.int8), op),
        bias=lw.bias(op, units),
        per_channel=per_channel,
        multiplier=int(mults[0]), shift=int(shifts[0]),
        multipliers=lw.const("multipliers", "int32_t", mults, op) if per_channel else None,
        shifts=lw.const("shifts", "int32_t", shifts, op) if per_channel else None,
        input_dims=Dims(batches, 1, 1, depth), filter_dims=filter_dims, bias_dims=Dims(1, 1, 1, units),
        output_dims=Dims(batches, 1, 1, units),
        input_offset=-xq.zero_point, output_offset=yq.zero_point, act_min=act_min, act_max=act_max,
        kernel_sums=kernel_sums,
    ))


def fully_connected_scratch(target: str, f: Dims) -> int:
    # The MVE build keeps precomputed kernel sums in ctx->buf; those are constants edgegen
    # emits, not scratch, so no target needs arena space here.
    return 0


# -- simulation ----------------------------------------------------------------------------------


def run_fully_connected(m: Machine, c: Call) -> None:
    assert isinstance(c, FullyConnectedCall)
    depth, units = c.filter_dims.n, c.filter_dims.c
    x = m.read(c.inputs[0]).reshape(-1, depth).astype(np.int64) + c.input_offset
    w = m.const(c.weights)
    assert w is not None
    acc = x @ w.reshape(units, depth).astype(np.int64).T
    b = m.const(c.bias)
    if b is not None:
        acc = acc + b.astype(np.int64)
    if c.per_channel:
        mults, shifts = m.const(c.multipliers), m.const(c.shifts)
        assert mults is not None and shifts is not None
        out = requant(acc, mults.astype(np.int64), shifts.astype(np.int64), c.output_offset, c.act_min, c.act_max)
    else:
        out = requant(acc, c.multiplier, c.shift, c.output_offset, c.act_min, c.act_max)
    m.write(c.output, out)


FAMILY = OpFamily(
    builders={"FULLY_CONNECTED": read_fully_connected},
    lowerers={FullyConnected: lower_fully_connected},
    kernels={FullyConnectedCall: run_fully_connected, matmul.MatmulCall: matmul.run_matmul,
             mve_mm.MatmulMveCall: mve_mm.run_mm8, FullyConnectedS16Call: run_fully_connected_s16},
    options={"FULLY_CONNECTED": fb.BuiltinOptions.FullyConnectedOptions},
)
