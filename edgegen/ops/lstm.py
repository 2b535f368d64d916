"""UNIDIRECTIONAL_SEQUENCE_LSTM, int8 (Keras LSTM through edgegen/keras/lstm.py): reading (the
24 inputs TFLM's ``LstmTensors::ValidateTensorStatus`` and ``ValidateTensorSize`` accept), lowering
to ``arm_lstm_unidirectional_s8`` with every integer TFLM's CMSIS-NN kernel sets
(``PrepareGateParametersInteger``, ``CreateLstmCellStateInfo``, ``CMSIS_NN_PortOpData``), and the
simulator's kernel (TFLM's ``lstm_eval``: int8 x int8 -> int16 gates at the fixed scale 2^-12,
int16 sigmoid/tanh on the shared 256-entry table, int16 cell state, int8 hidden state).

State: TFLM keeps the hidden and cell state in variable tensors, zeroed (hidden: its zero point)
by ``Reset()``; its CMSIS-NN kernel, which runs on the Cortex-M, starts every invoke from that
zero state (the cell state in scratch, the first step without the recurrent product). edgegen
computes one inference from zero state too; the oracle resets TFLM between samples.

Saturation: TFLM's reference kernel saturates each requantized product (input x weights, hidden x
weights, input gate x cell gate) to int16 before adding it; Arm's CMSIS-NN v7 adds the unsaturated
product and saturates the sum. edgegen computes TFLM's reference order (the simulator and its
portable ``arm_lstm_unidirectional_s8``), so a model whose products pass int16 (a small cell-state
scale, large recurrent weights) can differ by that saturation when linked with Arm's library.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from ai_edge_litert import schema_py_generated as fb

from .. import fixedpoint as fx
from .. import ir
from ..lowering import Lowering
from ..machine import Machine
from ..program import Call
from ..tflite_context import OpContext
from ._family import OpFamily

#: input tensor indices of each gate (input weights, recurrent weights, bias), in the order of
#: ``cmsis_nn_lstm_params``: forget, input, cell, output (lstm_shared.h's constants)
GATES = {"forget": (2, 6, 13), "input": (1, 5, 12), "cell": (3, 7, 14), "output": (4, 8, 15)}
INPUT, HIDDEN_STATE, CELL_STATE = 0, 18, 19
#: optional inputs TFLM's integer kernel refuses: peephole (9-11), projection (16-17), layer norm (20-23)
_ABSENT = {9: "peephole (cell-to-gate) weights", 10: "peephole (cell-to-gate) weights",
           11: "peephole (cell-to-gate) weights", 16: "a projection", 17: "a projection bias",
           20: "layer normalization", 21: "layer normalization", 22: "layer normalization",
           23: "layer normalization"}
#: the gates' FULLY_CONNECTED output scale (Q3.12) and the sigmoid/tanh output scale (Q0.15)
GATE_INPUT_SCALE = float(np.float32(2.0 ** -12))
GATE_OUTPUT_SCALE = float(np.float32(2.0 ** -15))
INT16_MIN, INT16_MAX = -32768, 32767


@dataclass(frozen=True)
class UnidirectionalSequenceLstm(ir.Op):
    KIND: ClassVar[str] = "UNIDIRECTIONAL_SEQUENCE_LSTM"
    time_major: bool = False
    cell_clip: float = 0.0


# -- reading -------------------------------------------------------------------------------------


def _scale_power(scale: float) -> int | None:
    """TFLM's ``CheckedLog2`` in float: the exponent when ``scale`` is a power of two, else None."""
    x_log2 = np.float32(math.log(np.float32(scale))) * np.float32(1.0 / np.float32(math.log(np.float32(2.0))))
    rounded = np.float32(np.round(x_log2))
    return int(rounded) if abs(float(x_log2 - rounded)) < 1e-3 else None


def read_lstm(c: OpContext) -> ir.Op:
    c.n_inputs(24)
    x, y = c.t(INPUT), c.out()
    c.int8_activation(x, "input")
    c.int8_activation(y, "output")
    for i, what in _ABSENT.items():
        if c.inputs[i] >= 0:
            raise c.fail(f"input {i} gives {what}; edgegen (like TFLM's integer LSTM) takes none")
    if c.inputs[1] < 0 or c.inputs[5] < 0 or c.inputs[12] < 0:
        raise c.fail("a coupled input-forget gate (CIFG, no input gate) is not supported; TFLM's LSTM needs "
                     "the input gate's weights and bias")
    activation = int(c.opt("fusedActivationFunction"))
    if activation != fb.ActivationFunctionType.TANH:
        # TFLM's lstm_eval computes the cell gate with sigmoid or tanh, and the schema can name only tanh
        raise c.fail(f"cell activation {activation} is not supported (TFLM's LSTM computes TANH)")
    if bool(c.opt("diagonalRecurrentTensors")):
        raise c.fail("diagonal recurrent weights (IndyLSTM) are not supported")
    clip = c.finite("cellClip")
    if clip <= 0:
        raise c.fail(f"cell_clip {clip} is not supported: TFLM's reference kernel then leaves the cell state "
                     "unclipped but its CMSIS-NN kernel clips it to 0; convert with edgegen (cell_clip 10)")
    c.rank(x, (3,), "input")
    time_major = bool(c.opt("timeMajor"))
    steps, batch, features = x.shape if time_major else (x.shape[1], x.shape[0], x.shape[2])
    h, cell = c.t(HIDDEN_STATE), c.t(CELL_STATE)
    units = h.shape[-1] if h.shape else 0
    if batch != 1:
        raise c.fail(f"input {x.describe()} holds {batch} sequences; edgegen compiles batch-1 LSTMs")
    if steps < 1 or features < 1 or units < 1:
        raise c.fail(f"input {x.describe()} or hidden state {h.describe()} is empty")
    for role, t in (("hidden state", h), ("cell state", cell)):
        if t.is_const or t.size != batch * units:
            raise c.fail(f"{role} {t.describe()} must be a variable tensor of {batch} x {units} values")
    if h.dtype != "int8" or h.quant is None or h.quant.per_channel:
        raise c.fail(f"hidden state {h.describe()} must be per-tensor int8")
    if cell.dtype != "int16" or cell.quant is None or cell.quant.per_channel or cell.quant.zero_point != 0:
        raise c.fail(f"cell state {cell.describe()} must be int16 with one scale and zero point 0")
    power = _scale_power(cell.quant.scale)
    if power is None:
        raise c.fail(f"cell state {cell.describe()} has scale {cell.quant.scale:.6g}, not a power of two "
                     "(TFLM's integer tanh of the cell state needs one)")
    if y.shape != ((steps, batch, units) if time_major else (batch, steps, units)):
        raise c.fail(f"output {y.describe()} is not the {steps} steps of {units} units TFLM writes")
    for gate, (wi, wr, bi) in GATES.items():
        for idx, cols in ((wi, features), (wr, units)):
            w = c.const(idx, f"{gate} gate weights", ("int8",))
            if w.shape != (units, cols):
                raise c.fail(f"{gate} gate weights {w.describe()} are not {units} x {cols}")
            if w.quant is None or w.quant.per_channel or w.quant.zero_point != 0:
                raise c.fail(f"{gate} gate weights {w.describe()} must be per-tensor symmetric int8")
        b = c.const(bi, f"{gate} gate bias", ("int32",))
        if b.shape != (units,):
            raise c.fail(f"{gate} gate bias {b.describe()} does not have {units} values")
    c.work.op(c.where, steps * 4 * units * (features + units))
    return UnidirectionalSequenceLstm(
        index=c.index, inputs=c.inputs, outputs=c.outputs, time_major=time_major, cell_clip=clip,
    )


# -- lowering ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LstmGate:
    """One ``cmsis_nn_lstm_gate``: the input and recurrent products' multipliers and weights, the
    effective biases (bias + input offset x weight-row sums; the hidden zero point's likewise)."""

    input_multiplier: int
    input_shift: int
    input_weights: str
    input_effective_bias: str
    hidden_multiplier: int
    hidden_shift: int
    hidden_weights: str
    hidden_effective_bias: str
    bias: str
    activation: str  # ARM_SIGMOID or ARM_TANH


@dataclass(frozen=True)
class LstmCall(Call):
    """``arm_lstm_unidirectional_s8``: ``cmsis_nn_lstm_params`` and the three int16 scratch
    vectors of ``cmsis_nn_lstm_context`` (temp1, temp2, cell state) at byte offsets in the scratch."""

    KIND: ClassVar[str] = "lstm"
    time_major: int
    batch_size: int
    time_steps: int
    input_size: int
    hidden_size: int
    input_offset: int
    forget_to_cell_multiplier: int
    forget_to_cell_shift: int
    input_to_cell_multiplier: int
    input_to_cell_shift: int
    cell_clip: int
    cell_scale_power: int
    output_multiplier: int
    output_shift: int
    output_offset: int
    forget_gate: LstmGate
    input_gate: LstmGate
    cell_gate: LstmGate
    output_gate: LstmGate
    temp2_offset: int
    cell_state_offset: int

    @property
    def gates(self) -> tuple[LstmGate, LstmGate, LstmGate, LstmGate]:
        return (self.forget_gate, self.input_gate, self.cell_gate, self.output_gate)


def _multiplier(*scales: float, divide_by: float) -> tuple[int, int]:
    """TFLM's doubles: the float32 scales widened, multiplied, divided by the output scale."""
    product = 1.0
    for s in scales:
        product *= float(np.float32(s))
    return fx.quantize_multiplier(product / float(np.float32(divide_by)))


def _int32(lw: Lowering, op: ir.Op, what: str, values: np.ndarray) -> np.ndarray:
    if values.min() < -(1 << 31) or values.max() >= 1 << 31:
        raise lw.fail(op, f"the {what} overflows int32")
    return values.astype(np.int32)


def lower_lstm(lw: Lowering, op: ir.Op) -> None:
    assert isinstance(op, UnidirectionalSequenceLstm)
    x, y = lw.g.tensor(op.inputs[INPUT]), lw.g.tensor(op.outputs[0])
    xq, hq, cq = lw.qp(op.inputs[INPUT]), lw.qp(op.inputs[HIDDEN_STATE]), lw.qp(op.inputs[CELL_STATE])
    steps, batch, features = x.shape if op.time_major else (x.shape[1], x.shape[0], x.shape[2])
    units = y.shape[-1]
    power = _scale_power(cq.scale)
    assert power is not None
    gates: dict[str, LstmGate] = {}
    for gate, (wi, wr, bi) in GATES.items():
        w_in, w_rec, bias = (lw.g.tensor(op.inputs[i]) for i in (wi, wr, bi))
        assert w_in.data is not None and w_rec.data is not None and bias.data is not None
        assert w_in.quant is not None and w_rec.quant is not None
        # CreateGateParams: both products requantized to the gates' Q3.12 scale
        im, ish = _multiplier(xq.scale, w_in.quant.scale, divide_by=GATE_INPUT_SCALE)
        hm, hsh = _multiplier(hq.scale, w_rec.quant.scale, divide_by=GATE_INPUT_SCALE)
        # CMSIS_NN_PortOpData: arm_vector_sum_s8 with the input offset and the bias, the hidden
        # state's zero point without
        in_sums = w_in.data.astype(np.int64).reshape(units, features).sum(axis=1) * (-xq.zero_point)
        rec_sums = w_rec.data.astype(np.int64).reshape(units, units).sum(axis=1) * (-hq.zero_point)
        gates[gate] = LstmGate(
            input_multiplier=im, input_shift=ish,
            input_weights=lw.const(f"{gate}_input_weights", "int8_t", w_in.data.astype(np.int8), op),
            input_effective_bias=lw.const(f"{gate}_input_bias", "int32_t", _int32(
                lw, op, f"{gate} gate's effective bias", in_sums + bias.data.astype(np.int64)), op),
            hidden_multiplier=hm, hidden_shift=hsh,
            hidden_weights=lw.const(f"{gate}_hidden_weights", "int8_t", w_rec.data.astype(np.int8), op),
            hidden_effective_bias=lw.const(f"{gate}_hidden_bias", "int32_t", _int32(
                lw, op, f"{gate} gate's recurrent effective bias", rec_sums), op),
            bias=lw.const(f"{gate}_bias", "int32_t", bias.data.astype(np.int32), op),
            activation="ARM_TANH" if gate == "cell" else "ARM_SIGMOID",
        )
    # PrepareGateParametersInteger's three multiplications (CreateInterGateMulParams)
    fm, fsh = _multiplier(GATE_OUTPUT_SCALE, cq.scale, divide_by=cq.scale)
    im, ish = _multiplier(GATE_OUTPUT_SCALE, GATE_OUTPUT_SCALE, divide_by=cq.scale)
    om, osh = _multiplier(GATE_OUTPUT_SCALE, GATE_OUTPUT_SCALE, divide_by=hq.scale)
    # CreateLstmCellStateInfo: the clip in cell-state units, saturated to int16, truncated
    clip = int(min(max(float(np.float32(op.cell_clip)) / float(np.float32(cq.scale)), -32768.0), 32767.0))
    vector = batch * units * 2  # one int16 vector of the state
    b = lw.base(op, "arm_lstm_unidirectional_s8", (lw.ref(op.inputs[INPUT]),), lw.out_ref(op), 3 * vector,
                steps * 4 * units * (features + units))
    lw.calls.append(LstmCall(
        **b,  # type: ignore[arg-type]
        time_major=int(op.time_major), batch_size=batch, time_steps=steps, input_size=features, hidden_size=units,
        input_offset=-xq.zero_point,
        forget_to_cell_multiplier=fm, forget_to_cell_shift=fsh, input_to_cell_multiplier=im,
        input_to_cell_shift=ish, cell_clip=clip, cell_scale_power=power,
        output_multiplier=om, output_shift=osh, output_offset=hq.zero_point,
        forget_gate=gates["forget"], input_gate=gates["input"], cell_gate=gates["cell"],
        output_gate=gates["output"], temp2_offset=vector, cell_state_offset=2 * vector,
    ))


# -- simulation ----------------------------------------------------------------------------------

#: sigmoid(i/24) in 0.16 fixed point (TFLite's ``sigmoid_table_uint16``, CMSIS-NN's too)
_SIGMOID_TABLE = np.array([
    32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498, 40149, 40794, 41432, 42064,
    42688, 43304, 43912, 44511, 45102, 45683, 46255, 46817, 47369, 47911, 48443, 48964, 49475, 49975, 50464,
    50942, 51409, 51865, 52311, 52745, 53169, 53581, 53983, 54374, 54755, 55125, 55485, 55834, 56174, 56503,
    56823, 57133, 57433, 57724, 58007, 58280, 58544, 58800, 59048, 59288, 59519, 59743, 59959, 60168, 60370,
    60565, 60753, 60935, 61110, 61279, 61441, 61599, 61750, 61896, 62036, 62172, 62302, 62428, 62549, 62666,
    62778, 62886, 62990, 63090, 63186, 63279, 63368, 63454, 63536, 63615, 63691, 63765, 63835, 63903, 63968,
    64030, 64090, 64148, 64204, 64257, 64308, 64357, 64405, 64450, 64494, 64536, 64576, 64614, 64652, 64687,
    64721, 64754, 64786, 64816, 64845, 64873, 64900, 64926, 64950, 64974, 64997, 65019, 65039, 65060, 65079,
    65097, 65115, 65132, 65149, 65164, 65179, 65194, 65208, 65221, 65234, 65246, 65258, 65269, 65280, 65291,
    65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360, 65367, 65374, 65381, 65387, 65393, 65399, 65404,
    65410, 65415, 65420, 65425, 65429, 65433, 65438, 65442, 65445, 65449, 65453, 65456, 65459, 65462, 65465,
    65468, 65471, 65474, 65476, 65479, 65481, 65483, 65485, 65488, 65489, 65491, 65493, 65495, 65497, 65498,
    65500, 65501, 65503, 65504, 65505, 65507, 65508, 65509, 65510, 65511, 65512, 65513, 65514, 65515, 65516,
    65517, 65517, 65518, 65519, 65520, 65520, 65521, 65522, 65522, 65523, 65523, 65524, 65524, 65525, 65525,
    65526, 65526, 65526, 65527, 65527, 65528, 65528, 65528, 65529, 65529, 65529, 65529, 65530, 65530, 65530,
    65530, 65531, 65531, 65531, 65531, 65531, 65532, 65532, 65532, 65532, 65532, 65532, 65533, 65533, 65533,
    65533, 65533, 65533, 65533, 65533, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534,
    65535], dtype=np.int64)


def activation_s16(x: np.ndarray, left_shift: int, tanh: bool) -> np.ndarray:
    """``reference_integer_ops::Logistic``/``Tanh`` on int16 (lstm_eval's calls; CMSIS-NN's
    ``arm_nn_activation_s16`` with ``left_shift``: 0 for the gates, cell power + 12 for the cell)."""
    mult = 3 if left_shift < 0 else 3 << left_shift
    shift = -left_shift if left_shift < 0 else 0
    rounding = 1 << (shift - 1) if shift > 0 else 0
    v = (x.astype(np.int64) * mult + rounding) >> shift
    a = np.abs(v)
    frac_bits = 8 if tanh else 9
    uh = a >> frac_bits
    idx = np.minimum(uh, 254)
    ua, ub = _SIGMOID_TABLE[idx], _SIGMOID_TABLE[idx + 1]
    ut = a & ((1 << frac_bits) - 1)
    r = np.where(uh >= 255, (0xFFFF << 8) if tanh else (0x7FFF << 10), (ua << frac_bits) + ut * (ub - ua))
    if tanh:
        r = np.where(v >= 0, r - (1 << 23) + (1 << 7), -r + (1 << 23) + (1 << 7) - 1) >> 8
    else:
        r = np.where(v >= 0, r + (1 << 9), (1 << 25) - r + (1 << 9) - 1) >> 10
    return r.astype(np.int16)  # the low 16 bits, as both libraries store them


def _product(m: Machine, vec: np.ndarray, weights: str, bias: str, mult: int, shift: int) -> np.ndarray:
    w, b = m.const(weights), m.const(bias)
    assert w is not None and b is not None
    acc = vec.astype(np.int64) @ w.reshape(b.size, -1).astype(np.int64).T + b.astype(np.int64)
    out: np.ndarray = np.clip(fx.multiply_by_quantized_multiplier(acc, mult, shift), INT16_MIN, INT16_MAX)
    return out


def _mul(a: np.ndarray, b: np.ndarray, mult: int, shift: int, offset: int, lo: int, hi: int) -> np.ndarray:
    out: np.ndarray = np.clip(fx.multiply_by_quantized_multiplier(a.astype(np.int64) * b, mult, shift) + offset,
                              lo, hi)
    return out


def run_lstm(m: Machine, c: Call) -> None:
    """``EvalLstm`` for one sequence from zero state (hidden = its zero point, cell = 0)."""
    assert isinstance(c, LstmCall)
    x = m.read(c.inputs[0]).reshape(c.time_steps, c.input_size).astype(np.int64)
    hidden: np.ndarray | None = None  # the zero-point state: its recurrent product is 0
    cell = np.zeros(c.hidden_size, dtype=np.int64)
    out = np.zeros((c.time_steps, c.hidden_size), dtype=np.int8)
    for t in range(c.time_steps):
        acts = []
        for g in c.gates:
            acc = _product(m, x[t], g.input_weights, g.input_effective_bias, g.input_multiplier, g.input_shift)
            if hidden is not None:
                rec = _product(m, hidden, g.hidden_weights, g.hidden_effective_bias, g.hidden_multiplier,
                               g.hidden_shift)
                acc = np.clip(acc + rec, INT16_MIN, INT16_MAX)
            acts.append(activation_s16(acc, 0, g.activation == "ARM_TANH").astype(np.int64))
        forget, inp, cgate, outg = acts
        cell = _mul(forget, cell, c.forget_to_cell_multiplier, c.forget_to_cell_shift, 0, INT16_MIN, INT16_MAX)
        cell = cell + _mul(inp, cgate, c.input_to_cell_multiplier, c.input_to_cell_shift, 0, INT16_MIN, INT16_MAX)
        cell = np.clip(cell, -c.cell_clip, c.cell_clip)
        squashed = activation_s16(cell, c.cell_scale_power + 12, True).astype(np.int64)
        h = _mul(squashed, outg, c.output_multiplier, c.output_shift, c.output_offset, -128, 127)
        out[t] = h.astype(np.int8)
        hidden = h
    m.write(c.output, out.reshape(c.output.shape))


FAMILY = OpFamily(
    builders={"UNIDIRECTIONAL_SEQUENCE_LSTM": read_lstm},
    lowerers={UnidirectionalSequenceLstm: lower_lstm},
    kernels={LstmCall: run_lstm},
    options={"UNIDIRECTIONAL_SEQUENCE_LSTM": fb.BuiltinOptions.UnidirectionalSequenceLSTMOptions},
    required_options={"UNIDIRECTIONAL_SEQUENCE_LSTM": "no cell activation and a cell_clip of 0"},
    # TFLM requires both states to be variable tensors; the kernel starts each invoke from zero state
    # (as TFLM's CMSIS-NN kernel does), so lowering gives them no bytes
    state_inputs={"UNIDIRECTIONAL_SEQUENCE_LSTM": (HIDDEN_STATE, CELL_STATE)},
)
