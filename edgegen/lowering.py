"""The lowering context every op's lowerer builds on (``edgegen.ops``): buffers and their
aliases, tensor references, in-place decisions, constants, the common fields of a call, and the
Prepare-time helpers shared by several ops (activation ranges, padding, per-channel multipliers).

Every quantity mirrors what TFLM computes in an op's Prepare() (QuantizeMultiplier, activation
ranges, padding), so that the simulator, the generated C and TFLM start from the same integers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import fixedpoint as fx
from . import ir
from .errors import UnsupportedError
from .kernels import KernelConfig
from .program import Buffer, Call, Constant, Dims, TensorRef

if TYPE_CHECKING:
    from .kernels.sparse import Choice

#: true when CMSIS-NN compiles its Helium (MVE) kernels; the test arm_nn_math_types.h makes
MVE = "defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)"


def _round_half_away(x: np.floating) -> int:
    v = float(x)
    return int(np.floor(abs(v) + 0.5)) * (1 if v >= 0 else -1)


def quantize_f32(value: float, scale: float, zero_point: int) -> int:
    """TFLite's Quantize(): zero_point + round(value / scale), the division in float32."""
    return zero_point + _round_half_away(np.float32(value) / np.float32(scale))


def _activation_bound(value: float, scale: float, zero_point: int) -> int:
    """TFLite's Quantize() inside CalculateActivationRangeQuantized: it refuses a rounded
    ``value / scale`` outside int32 (and adding the zero point to the edge of int32 overflows in
    C), so such a tiny output scale is refused here as well (lowering reports the ValueError)."""
    r = np.float32(value) / np.float32(scale)
    q = _round_half_away(r) if np.isfinite(r) else 1 << 32
    if not -(1 << 31) + 128 <= q < (1 << 31) - 128:
        raise ValueError(f"the activation bound {value} / output scale {scale:g} is outside int32")
    return zero_point + q


#: the range of each quantized activation type (CalculateActivationRangeQuantized's qmin/qmax)
QUANT_RANGES = {"int8": (-128, 127), "int16": (-32768, 32767)}


def activation_range(act: ir.Activation, q: ir.QuantParams, dtype: str = "int8") -> tuple[int, int]:
    """TFLite CalculateActivationRangeQuantized for int8 (or, with ``dtype="int16"``, int16) outputs."""
    lo, hi = QUANT_RANGES[dtype]
    s, z = q.scale, q.zero_point
    if act == ir.Activation.RELU:
        return max(lo, _activation_bound(0.0, s, z)), hi
    if act == ir.Activation.RELU6:
        return max(lo, _activation_bound(0.0, s, z)), min(hi, _activation_bound(6.0, s, z))
    if act == ir.Activation.RELU_N1_TO_1:
        return max(lo, _activation_bound(-1.0, s, z)), min(hi, _activation_bound(1.0, s, z))
    return lo, hi


def same_padding(padding: ir.Padding, stride: int, dilation: int, in_size: int, filt: int, out_size: int) -> int:
    """TFLite ComputePaddingWithOffset: the top/left padding (the odd pixel goes bottom/right)."""
    if padding == ir.Padding.VALID:
        return 0
    eff = (filt - 1) * dilation + 1
    total = (out_size - 1) * stride + eff - in_size
    return max(total, 0) // 2


def out_size(padding: ir.Padding, stride: int, dilation: int, in_size: int, filt: int) -> int:
    eff = (filt - 1) * dilation + 1
    if padding == ir.Padding.SAME:
        return (in_size + stride - 1) // stride
    return (in_size + stride - eff) // stride


def dims4(shape: tuple[int, ...]) -> Dims:
    s = (1,) * (4 - len(shape)) + tuple(shape)
    return Dims(s[0], s[1], s[2], s[3])


#: C element type of a variable (state) tensor, by IR dtype
STATE_CTYPES = {"int8": "int8_t", "int16": "int16_t", "int32": "int32_t"}
#: C element type of an activation, by IR dtype (int16: TFLite's 16x8 scheme); anything else is int8_t
ACT_CTYPES = {"float32": "float", "int16": "int16_t"}


def tensor_ctype(tensor: ir.Tensor) -> str:
    """The C element type of a tensor's arena buffer: float, int16_t (16x8 activations), a state
    tensor's own type, else int8_t."""
    if tensor.variable:
        return "float" if tensor.dtype == "float32" else STATE_CTYPES[tensor.dtype]
    return ACT_CTYPES.get(tensor.dtype, "int8_t")


class Lowering:
    """What op lowerers build on: buffers, tensor references, constants and calls."""

    def __init__(self, graph: ir.Graph, prefix: str, scratch_target: str, guard_bytes: int = 0,
                 kernels: KernelConfig | None = None) -> None:
        self.g = graph
        #: which kernels the lowering may choose (edgegen.kernels); the flash left for wider weights
        self.kernels = kernels or KernelConfig()
        self.flash_left = self.kernels.flash_budget
        #: (op index, why it keeps its CMSIS-NN call) for layers edgegen's kernels could take
        self.kernel_notes: list[tuple[int, str]] = []
        #: op index -> the storage --compress chose for its weights (edgegen.kernels.sparse.Choice)
        self.weight_choices: dict[int, Choice] = {}
        self.prefix = prefix
        self.scratch_target = scratch_target
        self.guard_bytes = guard_bytes
        self.constants: list[Constant] = []
        self.calls: list[Call] = []
        # tensor index -> buffer id; aliases (reshape, in-place) share ids
        self.buffer_of: dict[int, int] = {}
        self.buffer_tensor: list[int] = []
        self.buffer_bytes: list[int] = []
        self.buffer_ctype: list[str] = []
        self.scratch_of_call: dict[int, int] = {}
        self.consumers = graph.consumers()
        # reshape-like ops (Op.ALIAS) share their input's bytes: tensor -> the root of its alias group
        self.alias_root: dict[int, int] = {}
        for op in graph.ops:
            if op.ALIAS:
                src = op.inputs[0]
                self.alias_root.setdefault(src, src)
                self.alias_root[op.outputs[0]] = self.alias_root[src]

    # -- helpers ---------------------------------------------------------------------------

    def fail(self, op: ir.Op, why: str) -> UnsupportedError:
        return UnsupportedError(f"{op.describe()}: {why}")

    def new_buffer(self, tensor: int, nbytes: int, ctype: str) -> int:
        self.buffer_tensor.append(tensor)
        self.buffer_bytes.append(nbytes)
        self.buffer_ctype.append(ctype)
        return len(self.buffer_bytes) - 1

    def ref(self, t: int) -> TensorRef:
        """The arena buffer of tensor ``t``. A variable (state) tensor's buffer is a state buffer
        (persistent, reset by init/reset) and its ref has its own C type (int8_t, int16_t, int32_t);
        a stateful op reads and updates it in place through this ref, listed among its inputs.
        An int16 activation (16x8 models) is an ``int16_t`` ref of 2 bytes per element."""
        tensor = self.g.tensor(t)
        ctype = tensor_ctype(tensor)
        if t not in self.buffer_of:
            self.buffer_of[t] = self.new_buffer(t, tensor.nbytes, ctype)
        q = tensor.quant
        return TensorRef(
            tensor=t,
            name=tensor.name,
            buffer=self.buffer_of[t],
            shape=tensor.shape,
            ctype=ctype,
            scale=q.scales[0] if q is not None else 0.0,
            zero_point=q.zero_points[0] if q is not None else 0,
        )

    def out_ref(self, op: ir.Op, inplace_of: int | None = None) -> TensorRef:
        """The output's buffer; with ``inplace_of``, reuse that input's buffer if it dies here."""
        t = op.outputs[0]
        if inplace_of is not None and self._dies_at(inplace_of, op) and inplace_of not in self.g.inputs:
            src, dst = self.g.tensor(inplace_of), self.g.tensor(t)
            if src.nbytes == dst.nbytes and not src.is_const:
                self.buffer_of[t] = self.buffer_of[inplace_of]
        return self.ref(t)

    def _dies_at(self, t: int, op: ir.Op) -> bool:
        """True when no later op (nor the caller, as a model output) reads ``t``'s bytes.

        Reshape aliases share bytes, so the whole alias group must be dead after ``op``.
        """
        group = [u for u, root in self.alias_root.items() if root == self.alias_root.get(t, t)] or [t]
        if t not in group:
            group.append(t)
        reads = 0
        for member in group:
            if member in self.g.outputs or member in self.g.inputs:
                return False  # callers read outputs after invoke and may reuse their inputs
            for user in self.consumers.get(member, []):
                if user.index > op.index:
                    return False
                if user.index == op.index:
                    reads += sum(1 for x in user.inputs if x == member)
        return reads == 1

    def const(self, role: str, ctype: str, data: np.ndarray, op: ir.Op, condition: str | None = None) -> str:
        name = f"{self.prefix}_op{op.index}_{role}"
        self.constants.append(Constant(name=name, ctype=ctype, data=np.ascontiguousarray(data).reshape(-1), role=role,
                                       condition=condition))
        return name

    def base(self, op: ir.Op, function: str, inputs: tuple[TensorRef, ...], output: TensorRef, scratch_bytes: int = 0,
             macs: int = 0) -> dict[str, object]:
        idx = len(self.calls)
        sid = -1
        if scratch_bytes > 0:
            # guard builds surround the scratch space with canaries inside the same buffer
            sid = self.new_buffer(-1, scratch_bytes + 2 * self.guard_bytes, "int8_t")
            self.scratch_of_call[idx] = sid
        name = op.describe().split("(")[1].rstrip(")")
        return dict(
            index=idx, op_index=op.index, op_name=name, function=function, inputs=inputs, output=output,
            scratch=sid, scratch_bytes=scratch_bytes, macs=macs,
        )

    def take_flash(self, nbytes: int) -> bool:
        """Reserve ``nbytes`` more flash for a kernel's constants; False when the board has none left."""
        if self.flash_left is None or nbytes <= 0:
            return True
        if nbytes > self.flash_left:
            return False
        self.flash_left -= nbytes
        return True

    def qp(self, t: int) -> ir.QuantParams:
        q = self.g.tensor(t).quant
        assert q is not None
        return q

    def per_channel_multipliers(self, op: ir.Op, w_index: int, channels: int) -> tuple[np.ndarray, np.ndarray]:
        in_s = self.qp(op.inputs[0]).scale
        out_s = self.qp(op.outputs[0]).scale
        wq = self.qp(op.inputs[w_index])
        mults = np.zeros(channels, dtype=np.int32)
        shifts = np.zeros(channels, dtype=np.int32)
        for ch in range(channels):
            ws = wq.scales[ch] if wq.per_channel else wq.scales[0]
            m, s = fx.quantize_multiplier(float(in_s) * float(ws) / float(out_s))
            mults[ch], shifts[ch] = m, s
        return mults, shifts

    def bias(self, op: ir.Op, channels: int) -> str | None:
        if len(op.inputs) < 3 or op.inputs[2] < 0:
            return None
        b = self.g.tensor(op.inputs[2]).data
        assert b is not None
        return self.const("bias", "int32_t", b.astype(np.int32), op)

    def alias(self, op: ir.Op) -> None:
        """The output names the input's bytes (RESHAPE and its kin)."""
        src, dst = op.inputs[0], op.outputs[0]
        self.ref(src)
        self.buffer_of[dst] = self.buffer_of[src]

    def buffers(self, inputs: tuple[TensorRef, ...], outputs: tuple[TensorRef, ...],
                keep_inputs: bool = False) -> tuple[Buffer, ...]:
        """The buffers with their lifetimes; ``keep_inputs`` keeps the inputs' bytes live to the end
        of invoke, so a caller may invoke again without writing them (``--keep-inputs``)."""
        n = len(self.buffer_bytes)
        first = [len(self.calls)] * n
        last = [-1] * n
        for r in inputs:
            first[r.buffer] = -1
        for call in self.calls:
            for r in call.inputs:
                last[r.buffer] = max(last[r.buffer], call.index)
                first[r.buffer] = min(first[r.buffer], call.index)
            first[call.output.buffer] = min(first[call.output.buffer], call.index)
            last[call.output.buffer] = max(last[call.output.buffer], call.index)
            if call.scratch >= 0:
                first[call.scratch] = last[call.scratch] = call.index
        for r in (*outputs, *(inputs if keep_inputs else ())):
            last[r.buffer] = len(self.calls)
        out = []
        for b in range(n):
            t = self.buffer_tensor[b]
            name = self.g.tensor(t).name if t >= 0 else f"scratch of call {first[b]}"
            state = t >= 0 and self.g.tensor(t).variable
            if state:
                # state lives across invokes: from before the first call to after the last
                first[b], last[b] = -1, len(self.calls)
            out.append(Buffer(id=b, name=name, nbytes=self.buffer_bytes[b], ctype=self.buffer_ctype[b],
                              first=first[b], last=max(last[b], first[b]), tensor=t, state=state,
                              reset_byte=self.g.tensor(t).reset_value & 0xFF if state else 0))
        return tuple(out)
