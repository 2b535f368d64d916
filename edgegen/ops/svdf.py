"""SVDF, int8 (TFLite's singular-value-decomposition filter, a stateful op): reading (TFLM's
``PrepareSvdf`` checks), lowering to CMSIS-NN's ``arm_svdf_state_s16_s8`` (int16 time weights and
state) or ``arm_svdf_s8`` (int8 time weights and state), as TFLM's cmsis_nn/svdf.cc calls them, and
the simulator's kernel (TFLM's ``EvalIntegerSvdfReference``).

The activation state (input 4) is a variable tensor: each invoke shifts it left by one time step,
writes the feature matmul's new column, and keeps it for the next invoke (``edgegen.lowering``
places it in the arena's persistent region; ``<p>_reset()`` zeroes it).

Where TFLM's reference kernel and CMSIS-NN's differ edgegen takes the reference (the oracle) and
passes CMSIS-NN the parameters that make it compute the same numbers:
* the feature matmul is clamped to the state type's range (TFLM's cmsis_nn/svdf.cc passes
  INT16_MIN..INT16_MAX even for int8 state, which then wraps on the store; the reference clamps);
* the reference subtracts (and adds) the state's zero point, CMSIS-NN ignores it: edgegen
  requires zero point 0, so both agree;
* the int8 reference ignores the fused activation (it clamps to int8 only), so edgegen does too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from ai_edge_litert import schema_py_generated as fb

from .. import fixedpoint as fx
from .. import ir
from ..lowering import MVE, Lowering
from ..machine import Machine
from ..program import Call
from ..tflite_context import OpContext, accumulator_bound
from ._family import OpFamily

#: inputs: 0 input, 1 weights_feature, 2 weights_time, 3 bias, 4 activation state (variable)
STATE_INPUT = 4
_RANGES = {"int8": (-128, 127), "int16": (-32768, 32767)}


@dataclass(frozen=True)
class Svdf(ir.Op):
    KIND: ClassVar[str] = "SVDF"
    rank: int
    activation: ir.Activation


# -- reading -------------------------------------------------------------------------------------


def read_svdf(c: OpContext) -> ir.Op:
    # TFLM's Prepare checks NumInputs == 5 (the bias slot present, -1 when left out)
    c.n_inputs(5)
    rank = int(c.opt("rank"))
    act = c.activation()
    x, wf, y = c.t(0), c.t(1), c.out()
    c.int8_activation(x, "input")
    c.int8_activation(y, "output")
    c.rank(x, (2,), "input")
    c.rank(y, (2,), "output")
    wf = c.const(1, "weights_feature", ("int8",))
    wt = c.const(2, "weights_time", ("int16", "int8"))
    state = c.t(STATE_INPUT)  # the reader checked it is a variable tensor (OpFamily.state_inputs)
    c.rank(wf, (2,), "weights_feature")
    c.rank(wt, (2,), "weights_time")
    c.rank(state, (2,), "activation state")
    batch, n_input = x.shape
    n_filter, memory = wf.shape[0], wt.shape[1]
    if rank < 1 or n_filter % rank:
        raise c.fail(f"rank {rank} must be positive and divide the {n_filter} filters (TFLM's Prepare checks it)")
    units = n_filter // rank
    if wf.shape[1] != n_input or wt.shape[0] != n_filter:
        raise c.fail(f"weights_feature {list(wf.shape)} and weights_time {list(wt.shape)} do not match the input "
                     f"{list(x.shape)} ([filters, {n_input}] and [filters, memory])")
    if y.shape != (batch, units):
        raise c.fail(f"output {y.describe()} must have shape [{batch}, {units}]")
    if state.shape != (batch, memory * n_filter):
        raise c.fail(f"activation state {state.describe()} must have shape [{batch}, {memory * n_filter}]")
    if state.dtype != wt.dtype:
        raise c.fail(f"activation state {state.describe()} must have the type of weights_time ({wt.dtype}): "
                     "CMSIS-NN has int16/int16 and int8/int8 kernels only")
    for t, role in ((wf, "weights_feature"), (wt, "weights_time"), (state, "activation state")):
        if t.quant is None or t.quant.per_channel:
            raise c.fail(f"{role} {t.describe()} needs per-tensor quantization parameters")
    assert state.quant is not None and wt.quant is not None
    if state.quant.zero_point != 0:
        raise c.fail(f"activation state {state.describe()} has zero point {state.quant.zero_point}; CMSIS-NN's SVDF "
                     "kernels assume 0 (TFLM's reference subtracts it), so edgegen takes zero point 0 only")
    if c.inputs[3] < 0:
        # PrepareSvdf reads bias->params.scale unconditionally on the int8 path (TODO #1751 there)
        raise c.fail("has no bias; TFLM's int8 SVDF reads the bias's scale in Prepare and crashes without one: "
                     "give it an int32 bias (zeros will do) with scale = state scale x weights_time scale")
    bias = c.const(3, "bias", ("int32",))
    if bias.shape[:1] != (units,):
        raise c.fail(f"bias {bias.describe()} must have {units} values (one per unit)")
    bias_scale = bias.quant.scales[0] if bias.quant is not None else 0.0
    # TFLM: |bias scale - state scale * weights_time scale| < 1e-5, in double
    product = float(np.float32(state.quant.scale)) * float(np.float32(wt.quant.scale))
    if not abs(float(np.float32(bias_scale)) - product) < 1e-5:
        raise c.fail(f"bias {bias.describe()} has scale {bias_scale:g}, not the state scale x weights_time scale "
                     "(TFLM's Prepare refuses it)")
    accumulator_bound(c, wf, None, 0)
    return Svdf(index=c.index, inputs=c.inputs, outputs=c.outputs, rank=rank, activation=act)


# -- lowering ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SvdfCall(Call):
    """``arm_svdf_state_s16_s8`` / ``arm_svdf_s8``: inputs[0] the input, inputs[1] the state (read
    and updated in place, persistent); the scratch holds CMSIS-NN's two int32 buffers."""

    KIND: ClassVar[str] = "svdf"
    batch: int
    input_size: int
    filters: int
    memory: int
    units: int
    rank: int
    input_offset: int  # the input's zero point (svdf_params.input_offset; the kernel negates it)
    output_offset: int
    #: the feature matmul's clamp: the state type's range (TFLM's reference)
    state_min: int
    state_max: int
    mult_1: int
    shift_1: int
    mult_2: int
    shift_2: int
    weights_feature: str
    weights_time: str
    bias: str
    #: the C type of the state and the time weights: int16_t or int8_t
    state_ctype: str
    #: byte offset of the output scratch (batch x units int32) after the first (batch x filters)
    scratch_output_offset: int
    #: int8: the weight-row sums times -input zero point, which arm_svdf_s8 reads from ctx on Helium
    kernel_sums: str | None
    kernel_sums_bytes: int


def _scale_product(*scales: float) -> float:
    """TFLM's effective scale: the float32 params widened to double, then ``a * b / c`` in double
    (tflite-micro #1501; an older TFLM multiplied in float32, which moves the multiplier by a few
    units and a result that lands near a rounding tie by one: the oracle's package is followed)."""
    a, b, c = (float(np.float32(s)) for s in scales)
    return a * b / c


def lower_svdf(lw: Lowering, op: ir.Op) -> None:
    assert isinstance(op, Svdf)
    g = lw.g
    x, wf, wt, bias, state, y = (g.tensor(t) for t in (*op.inputs, op.outputs[0]))
    assert wf.data is not None and wt.data is not None and bias.data is not None
    assert x.quant and wf.quant and wt.quant and state.quant and y.quant
    batch, n_input = x.shape
    filters, memory = wt.shape
    units = filters // op.rank
    m1, s1 = fx.quantize_multiplier(_scale_product(x.quant.scale, wf.quant.scale, state.quant.scale))
    m2, s2 = fx.quantize_multiplier(_scale_product(state.quant.scale, wt.quant.scale, y.quant.scale))
    s16 = wt.dtype == "int16"
    ctype = "int16_t" if s16 else "int8_t"
    kernel_sums = None
    if not s16:
        sums = wf.data.astype(np.int64).sum(axis=1) * (-x.quant.zero_point)
        kernel_sums = lw.const("kernel_sums", "int32_t", fx.wrap_int32(sums).astype(np.int32), op, condition=MVE)
    lo, hi = _RANGES[wt.dtype]
    scratch = 4 * batch * (filters + units)
    b = lw.base(op, "arm_svdf_state_s16_s8" if s16 else "arm_svdf_s8", (lw.ref(op.inputs[0]), lw.ref(op.inputs[4])),
                lw.out_ref(op), scratch, batch * filters * (n_input + memory))
    lw.calls.append(SvdfCall(
        **b,  # type: ignore[arg-type]
        batch=batch, input_size=n_input, filters=filters, memory=memory, units=units, rank=op.rank,
        input_offset=x.quant.zero_point, output_offset=y.quant.zero_point, state_min=lo, state_max=hi,
        mult_1=m1, shift_1=s1, mult_2=m2, shift_2=s2,
        weights_feature=lw.const("weights_feature", "int8_t", wf.data.astype(np.int8), op),
        weights_time=lw.const("weights_time", ctype, wt.data, op),
        bias=lw.const("bias", "int32_t", bias.data.astype(np.int32), op),
        state_ctype=ctype, scratch_output_offset=4 * batch * filters, kernel_sums=kernel_sums,
        kernel_sums_bytes=4 * filters,
    ))


# -- simulation ----------------------------------------------------------------------------------


def run_svdf(m: Machine, c: Call) -> None:
    """``EvalIntegerSvdfReference`` (state zero point 0): shift the state one step left, the new
    column from the feature matmul, then time weights x state, reduced over rank, plus bias."""
    assert isinstance(c, SvdfCall)
    x = m.read(c.inputs[0]).astype(np.int64).reshape(c.batch, c.input_size)
    view = m.view(c.inputs[1]).reshape(-1)
    flat = view.astype(np.int64)
    flat[:-1] = flat[1:].copy()
    wf = m.p.constant(c.weights_feature).data.astype(np.int64).reshape(c.filters, c.input_size)
    dot = (x - c.input_offset) @ wf.T  # [batch, filters], within int32 (the reader bounds it)
    col = np.clip(fx.multiply_by_quantized_multiplier(dot, c.mult_1, c.shift_1), c.state_min, c.state_max)
    state = flat.reshape(c.batch, c.filters, c.memory)
    state[:, :, -1] = col
    view[...] = state.reshape(-1)
    wt = m.p.constant(c.weights_time).data.astype(np.int64).reshape(c.filters, c.memory)
    # int32 accumulators in C: the sums wrap as two's complement (associative, so any order)
    time = fx.wrap_int32((state * wt[None]).sum(axis=2))  # [batch, filters]
    bias = m.p.constant(c.bias).data.astype(np.int64)
    acc = fx.wrap_int32(time.reshape(c.batch, c.units, c.rank).sum(axis=2) + bias[None])
    out = fx.multiply_by_quantized_multiplier(acc, c.mult_2, c.shift_2) + c.output_offset
    m.write(c.output, np.clip(out, fx.INT8_MIN, fx.INT8_MAX).astype(np.int8))


FAMILY = OpFamily(
    builders={"SVDF": read_svdf},
    lowerers={Svdf: lower_svdf},
    kernels={SvdfCall: run_svdf},
    options={"SVDF": fb.BuiltinOptions.SVDFOptions},
    required_options={"SVDF": "rank 0, which divides by zero"},
    state_inputs={"SVDF": (STATE_INPUT,)},
)
