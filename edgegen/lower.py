"""Lower an IR graph to a :class:`Program`: choose the kernel for each op and compute its integers.

Every quantity here mirrors what TFLM computes in the op's Prepare() (quantization multipliers
through QuantizeMultiplier, activation ranges, padding), so that the simulator, the generated C
and TFLM start from the same integers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

import numpy as np

from . import fixedpoint as fx
from . import ir, scratch
from .errors import UnsupportedError
from .plan import plan_memory
from .program import (
    AddCall,
    BroadcastSpec,
    Buffer,
    Call,
    ConcatCall,
    ConcatPart,
    Constant,
    ConvCall,
    DepthwiseCall,
    DequantizeCall,
    Dims,
    FullyConnectedCall,
    LutCall,
    MeanCall,
    MulCall,
    PadCall,
    PoolCall,
    Program,
    QuantizeCall,
    SoftmaxCall,
    TensorRef,
)

_IDENT = re.compile(r"[^A-Za-z0-9_]")


def c_identifier(name: str, fallback: str = "model") -> str:
    """A safe C identifier prefix from a user-supplied name (lowercase, no leading digit/underscore)."""
    s = _IDENT.sub("_", name).strip("_").lower()
    s = re.sub(r"_+", "_", s)[:32].strip("_")
    if not s:
        s = fallback
    # no leading digit, and no prefix that could collide with the runtime's own symbols and
    # macros (edgegen_*, EDGEGEN_*, CMSIS-NN's arm_* and cmsis_nn_*)
    if s[0].isdigit() or s == "arm" or s.startswith(("edgegen", "arm_", "cmsis")):
        s = "m_" + s
    return s


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


def activation_range(act: ir.Activation, q: ir.QuantParams) -> tuple[int, int]:
    """TFLite CalculateActivationRangeQuantized for int8 outputs."""
    lo, hi = -128, 127
    s, z = q.scale, q.zero_point
    if act == ir.Activation.RELU:
        return max(lo, _activation_bound(0.0, s, z)), hi
    if act == ir.Activation.RELU6:
        return max(lo, _activation_bound(0.0, s, z)), min(hi, _activation_bound(6.0, s, z))
    if act == ir.Activation.RELU_N1_TO_1:
        return max(lo, _activation_bound(-1.0, s, z)), min(hi, _activation_bound(1.0, s, z))
    return lo, hi


def _padding(padding: ir.Padding, stride: int, dilation: int, in_size: int, filt: int, out_size: int) -> int:
    """TFLite ComputePaddingWithOffset: the top/left padding (the odd pixel goes bottom/right)."""
    if padding == ir.Padding.VALID:
        return 0
    eff = (filt - 1) * dilation + 1
    total = (out_size - 1) * stride + eff - in_size
    return max(total, 0) // 2


def _out_size(padding: ir.Padding, stride: int, dilation: int, in_size: int, filt: int) -> int:
    eff = (filt - 1) * dilation + 1
    if padding == ir.Padding.SAME:
        return (in_size + stride - 1) // stride
    return (in_size + stride - eff) // stride


def _dims4(shape: tuple[int, ...]) -> Dims:
    s = (1,) * (4 - len(shape)) + tuple(shape)
    return Dims(s[0], s[1], s[2], s[3])


class _Lowerer:
    def __init__(self, graph: ir.Graph, prefix: str, scratch_target: str, guard_bytes: int = 0) -> None:
        self.g = graph
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

    # -- helpers ---------------------------------------------------------------------------

    def fail(self, op: ir.Op, why: str) -> UnsupportedError:
        return UnsupportedError(f"{op.describe()}: {why}")

    def new_buffer(self, tensor: int, nbytes: int, ctype: str) -> int:
        self.buffer_tensor.append(tensor)
        self.buffer_bytes.append(nbytes)
        self.buffer_ctype.append(ctype)
        return len(self.buffer_bytes) - 1

    def ref(self, t: int) -> TensorRef:
        tensor = self.g.tensor(t)
        if t not in self.buffer_of:
            ctype = "float" if tensor.dtype == "float32" else "int8_t"
            self.buffer_of[t] = self.new_buffer(t, tensor.nbytes, ctype)
        q = tensor.quant
        return TensorRef(
            tensor=t,
            name=tensor.name,
            buffer=self.buffer_of[t],
            shape=tensor.shape,
            ctype="float" if tensor.dtype == "float32" else "int8_t",
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

    # -- ops -------------------------------------------------------------------------------

    def lower(self) -> Program:
        self.consumers = self.g.consumers()
        self.alias_root: dict[int, int] = {}
        for op in self.g.ops:
            if isinstance(op, ir.Reshape):
                src = op.inputs[0]
                self.alias_root.setdefault(src, src)
                self.alias_root[op.outputs[0]] = self.alias_root[src]
        for t in self.g.inputs:
            self.ref(t)
        for op in self.g.ops:
            handler = _HANDLERS.get(type(op))
            if handler is None:  # pragma: no cover - the reader refuses these first
                raise self.fail(op, "no lowering")
            try:
                handler(self, op)
            except (ValueError, OverflowError, ZeroDivisionError) as e:
                # TFLM's Prepare would refuse these parameters too (it aborts); name the op instead
                why = (f"its quantization parameters cannot be implemented ({e}); TFLM refuses such a model "
                       "as well: recalibrate it (e.g. with data that exercises this layer)")
                raise self.fail(op, why) from None
        inputs = tuple(self.ref(t) for t in self.g.inputs)
        outputs = tuple(self.ref(t) for t in self.g.outputs)
        buffers = self._buffers(inputs, outputs)
        plan = plan_memory(buffers)
        return Program(
            name=self.prefix,
            source_sha256=self.g.source_sha256,
            constants=tuple(self.constants),
            buffers=buffers,
            calls=tuple(self.calls),
            inputs=inputs,
            outputs=outputs,
            plan=plan,
            scratch_target=self.scratch_target,
            guard_bytes=self.guard_bytes,
        )

    def _buffers(self, inputs: tuple[TensorRef, ...], outputs: tuple[TensorRef, ...]) -> tuple[Buffer, ...]:
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
        for r in outputs:
            last[r.buffer] = len(self.calls)
        out = []
        for b in range(n):
            t = self.buffer_tensor[b]
            name = self.g.tensor(t).name if t >= 0 else f"scratch of call {first[b]}"
            out.append(Buffer(id=b, name=name, nbytes=self.buffer_bytes[b], ctype=self.buffer_ctype[b],
                              first=first[b], last=max(last[b], first[b]), tensor=t))
        return tuple(out)

    def conv(self, op: ir.Op) -> None:
        assert isinstance(op, (ir.Conv2D, ir.DepthwiseConv2D))
        depthwise = isinstance(op, ir.DepthwiseConv2D)
        x, w, y = self.g.tensor(op.inputs[0]), self.g.tensor(op.inputs[1]), self.g.tensor(op.outputs[0])
        assert w.data is not None
        n, ih, iw, ic = x.shape
        if depthwise:
            _, kh, kw, oc = w.shape
        else:
            oc, kh, kw, _ = w.shape
        on, oh, ow, occ = y.shape
        for axis, insz, k, s, d, got in (("height", ih, kh, op.stride[0], op.dilation[0], oh),
                                           ("width", iw, kw, op.stride[1], op.dilation[1], ow)):
            exp = _out_size(op.padding, s, d, insz, k)
            if exp != got or exp <= 0:
                raise self.fail(op, f"output {axis} {got} does not match the {op.padding.name} padding result {exp}")
        if occ != oc or on != n:
            raise self.fail(op, f"output shape {list(y.shape)} does not match filter {list(w.shape)}")
        pad = (_padding(op.padding, op.stride[0], op.dilation[0], ih, kh, oh),
               _padding(op.padding, op.stride[1], op.dilation[1], iw, kw, ow))
        mults, shifts = self.per_channel_multipliers(op, 1, oc)
        xq, yq = self.qp(op.inputs[0]), self.qp(op.outputs[0])
        act_min, act_max = activation_range(op.activation, yq)
        input_dims = Dims(n, ih, iw, ic)
        filter_dims = Dims(1, kh, kw, oc) if depthwise else Dims(oc, kh, kw, ic)
        output_dims = Dims(n, oh, ow, oc)
        common = dict(
            weights=self.const("weights", "int8_t", w.data.astype(np.int8), op),
            bias=self.bias(op, oc),
            multipliers=self.const("multipliers", "int32_t", mults, op),
            shifts=self.const("shifts", "int32_t", shifts, op),
            input_dims=input_dims, filter_dims=filter_dims, bias_dims=Dims(1, 1, 1, oc), output_dims=output_dims,
            input_offset=-xq.zero_point, output_offset=yq.zero_point,
            stride=op.stride, padding=pad, dilation=op.dilation, act_min=act_min, act_max=act_max,
        )
        if depthwise:
            assert isinstance(op, ir.DepthwiseConv2D)
            sb = scratch.depthwise(self.scratch_target, input_dims, filter_dims, output_dims, pad, op.stride,
                                   op.dilation, op.depth_multiplier)
            macs = n * oh * ow * oc * kh * kw
            b = self.base(op, "arm_depthwise_conv_wrapper_s8", (self.ref(op.inputs[0]),), self.out_ref(op), sb, macs)
            self.calls.append(DepthwiseCall(**b, **common, ch_mult=op.depth_multiplier))  # type: ignore[arg-type]
        else:
            sb = scratch.conv(self.scratch_target, input_dims, filter_dims, output_dims, pad, op.stride, op.dilation)
            macs = n * oh * ow * oc * kh * kw * ic
            b = self.base(op, "arm_convolve_wrapper_s8", (self.ref(op.inputs[0]),), self.out_ref(op), sb, macs)
            self.calls.append(ConvCall(**b, **common))  # type: ignore[arg-type]

    def fully_connected(self, op: ir.Op) -> None:
        assert isinstance(op, ir.FullyConnected)
        x, w, y = self.g.tensor(op.inputs[0]), self.g.tensor(op.inputs[1]), self.g.tensor(op.outputs[0])
        assert w.data is not None and w.quant is not None
        units, depth = w.shape
        batches = x.size // depth
        if y.size != batches * units:
            raise self.fail(op, f"output {y.describe()} does not hold {batches} x {units} values")
        xq, yq = self.qp(op.inputs[0]), self.qp(op.outputs[0])
        act_min, act_max = activation_range(op.activation, yq)
        mults, shifts = self.per_channel_multipliers(op, 1, units)
        per_channel = w.quant.per_channel
        filter_dims = Dims(depth, 1, 1, units)
        sb = scratch.fully_connected(self.scratch_target, filter_dims)
        bias_values = self.g.tensor(op.inputs[2]).data if len(op.inputs) > 2 and op.inputs[2] >= 0 else None
        sums = w.data.astype(np.int64).reshape(units, depth).sum(axis=1) * (-xq.zero_point)
        if bias_values is not None:
            sums = sums + bias_values.astype(np.int64).reshape(-1)
        kernel_sums = self.const("kernel_sums", "int32_t", fx.wrap_int32(sums).astype(np.int32), op, condition=MVE)
        b = self.base(op, "arm_fully_connected_per_channel_s8" if per_channel else "arm_fully_connected_s8",
                      (self.ref(op.inputs[0]),), self.out_ref(op), sb, batches * units * depth)
        self.calls.append(FullyConnectedCall(
            **b,  # type: ignore[arg-type]
            weights=self.const("weights", "int8_t", w.data.astype(np.int8), op),
            bias=self.bias(op, units),
            per_channel=per_channel,
            multiplier=int(mults[0]), shift=int(shifts[0]),
            multipliers=self.const("multipliers", "int32_t", mults, op) if per_channel else None,
            shifts=self.const("shifts", "int32_t", shifts, op) if per_channel else None,
            input_dims=Dims(batches, 1, 1, depth), filter_dims=filter_dims, bias_dims=Dims(1, 1, 1, units),
            output_dims=Dims(batches, 1, 1, units),
            input_offset=-xq.zero_point, output_offset=yq.zero_point, act_min=act_min, act_max=act_max,
            kernel_sums=kernel_sums,
        ))

    def pool(self, op: ir.Op) -> None:
        assert isinstance(op, ir.Pool2D)
        x, y = self.g.tensor(op.inputs[0]), self.g.tensor(op.outputs[0])
        n, ih, iw, c = x.shape
        _, oh, ow, _ = y.shape
        fh, fw = op.filter
        for axis, insz, k, s, got in (("height", ih, fh, op.stride[0], oh), ("width", iw, fw, op.stride[1], ow)):
            exp = _out_size(op.padding, s, 1, insz, k)
            if exp != got or exp <= 0:
                raise self.fail(op, f"output {axis} {got} does not match the {op.padding.name} padding result {exp}")
        if n != 1:
            raise self.fail(op, "batch sizes other than 1 are not supported for pooling")
        pad = (_padding(op.padding, op.stride[0], 1, ih, fh, oh), _padding(op.padding, op.stride[1], 1, iw, fw, ow))
        act_min, act_max = activation_range(op.activation, self.qp(op.outputs[0]))
        is_max = op.kind == "max"
        sb = 0 if is_max else scratch.avgpool(self.scratch_target, ow, c)
        b = self.base(op, "arm_max_pool_s8" if is_max else "arm_avgpool_s8", (self.ref(op.inputs[0]),),
                      self.out_ref(op), sb, n * oh * ow * c * fh * fw)
        self.calls.append(PoolCall(
            **b, is_max=is_max, input_dims=Dims(n, ih, iw, c), filter_dims=Dims(1, fh, fw, 1),  # type: ignore[arg-type]
            output_dims=Dims(n, oh, ow, c), stride=op.stride, padding=pad, act_min=act_min, act_max=act_max,
        ))

    def _broadcast(self, op: ir.Op) -> tuple[str | None, BroadcastSpec | None]:
        a, b, y = (self.g.tensor(t) for t in (op.inputs[0], op.inputs[1], op.outputs[0]))
        if a.shape == b.shape == y.shape or (a.size == b.size == y.size):
            return None, None
        shape = (1,) * (4 - len(y.shape)) + y.shape

        def strides(s: tuple[int, ...]) -> tuple[int, ...]:
            p = (1,) * (4 - len(s)) + s
            st = [0, 0, 0, 0]
            acc = 1
            for d in range(3, -1, -1):
                st[d] = 0 if p[d] == 1 and shape[d] != 1 else acc
                acc *= p[d]
            return tuple(st)

        spec = (tuple(shape), strides(a.shape), strides(b.shape))
        data = np.array(spec[0] + spec[1] + spec[2], dtype=np.int32)
        name = self.const("broadcast", "edgegen_broadcast", data, op)
        return name, spec

    def _binary_inputs(self, op: ir.Op) -> tuple[TensorRef, TensorRef]:
        refs = []
        for t in op.inputs[:2]:
            tensor = self.g.tensor(t)
            if tensor.is_const:
                raise self.fail(op, f"constant operand {tensor.describe()} is not supported yet; "
                                "feed it as a model input or fold it during conversion")
            refs.append(self.ref(t))
        return refs[0], refs[1]

    def add(self, op: ir.Op) -> None:
        """ADD, and SUB: TFLM prepares both alike (sub_common.cc mirrors add_common.cc)."""
        assert isinstance(op, (ir.Add, ir.Sub))
        sub = isinstance(op, ir.Sub)
        q1, q2, qo = self.qp(op.inputs[0]), self.qp(op.inputs[1]), self.qp(op.outputs[0])
        left_shift = 20
        twice_max = 2.0 * max(float(q1.scale), float(q2.scale))
        m1, s1 = fx.quantize_multiplier_smaller_than_one_exp(float(q1.scale) / twice_max)
        m2, s2 = fx.quantize_multiplier_smaller_than_one_exp(float(q2.scale) / twice_max)
        mo, so = fx.quantize_multiplier_smaller_than_one_exp(twice_max / ((1 << left_shift) * float(qo.scale)))
        act_min, act_max = activation_range(op.activation, qo)
        bname, spec = self._broadcast(op)
        r1, r2 = self._binary_inputs(op)
        out = self.out_ref(op, None if bname else op.inputs[0])
        y = self.g.tensor(op.outputs[0])
        if sub:  # CMSIS-NN has no subtraction kernel
            function = "edgegen_sub_broadcast_s8" if bname else "edgegen_sub_s8"
        else:
            function = "edgegen_add_broadcast_s8" if bname else "arm_elementwise_add_s8"
        b = self.base(op, function, (r1, r2), out, 0, y.size)
        self.calls.append(AddCall(
            **b,  # type: ignore[arg-type]
            input_1_offset=-q1.zero_point, input_1_mult=m1, input_1_shift=s1,
            input_2_offset=-q2.zero_point, input_2_mult=m2, input_2_shift=s2, left_shift=left_shift,
            out_offset=qo.zero_point, out_mult=mo, out_shift=so, act_min=act_min, act_max=act_max,
            size=y.size, broadcast=bname, broadcast_spec=spec, subtract=sub,
        ))

    def mul(self, op: ir.Op) -> None:
        assert isinstance(op, ir.Mul)
        q1, q2, qo = self.qp(op.inputs[0]), self.qp(op.inputs[1]), self.qp(op.outputs[0])
        mo, so = fx.quantize_multiplier(float(q1.scale) * float(q2.scale) / float(qo.scale))
        act_min, act_max = activation_range(op.activation, qo)
        bname, spec = self._broadcast(op)
        r1, r2 = self._binary_inputs(op)
        out = self.out_ref(op, None if bname else op.inputs[0])
        y = self.g.tensor(op.outputs[0])
        b = self.base(op, "edgegen_mul_broadcast_s8" if bname else "arm_elementwise_mul_s8", (r1, r2), out, 0, y.size)
        self.calls.append(MulCall(
            **b,  # type: ignore[arg-type]
            input_1_offset=-q1.zero_point, input_2_offset=-q2.zero_point, out_offset=qo.zero_point,
            out_mult=mo, out_shift=so, act_min=act_min, act_max=act_max, size=y.size,
            broadcast=bname, broadcast_spec=spec,
        ))

    def softmax(self, op: ir.Op) -> None:
        assert isinstance(op, ir.Softmax)
        x = self.g.tensor(op.inputs[0])
        scale = float(self.qp(op.inputs[0]).scale)
        # TFLM scales the input differences by beta * scale * 2^26 and aborts when that is not
        # above 1 (QuantizeMultiplierGreaterThanOne). It happens when the logits are almost
        # constant, which an untrained model gives; the generic message would only say "recalibrate".
        if float(np.float32(op.beta)) * float(np.float32(scale)) * (1 << 26) <= 1.0:
            span = 255 * scale
            raise self.fail(op, f"its input {x.describe()} has quantization scale {scale:.3g}, so its logits span "
                                f"only {span:.3g}: TFLM cannot implement a SOFTMAX whose beta * input scale is "
                                "below 2^-26 (it aborts). Nearly constant logits come from an untrained model or "
                                "calibration data that does not reach this layer: train the model, calibrate "
                                "with representative data, or end the model before the softmax")
        p = fx.softmax_params(scale, op.beta)
        row = x.shape[-1]
        b = self.base(op, "arm_softmax_s8", (self.ref(op.inputs[0]),), self.out_ref(op), 0, x.size)
        self.calls.append(SoftmaxCall(**b, num_rows=x.size // row, row_size=row,  # type: ignore[arg-type]
                                      mult=p.input_multiplier, shift=p.input_left_shift, diff_min=p.diff_min))

    def reshape(self, op: ir.Op) -> None:
        # an alias: the output names the input's bytes
        src, dst = op.inputs[0], op.outputs[0]
        self.ref(src)
        self.buffer_of[dst] = self.buffer_of[src]

    def pad(self, op: ir.Op) -> None:
        assert isinstance(op, ir.Pad)
        x = self.g.tensor(op.inputs[0])
        k = 4 - len(x.shape)
        pads = ((0, 0),) * k + op.paddings
        b = self.base(op, "arm_pad_s8", (self.ref(op.inputs[0]),), self.out_ref(op), 0, 0)
        self.calls.append(PadCall(
            **b, pad_value=self.qp(op.outputs[0]).zero_point, input_size=_dims4(x.shape),  # type: ignore[arg-type]
            pre_pad=Dims(*(p[0] for p in pads)), post_pad=Dims(*(p[1] for p in pads)),
        ))

    def concat(self, op: ir.Op) -> None:
        assert isinstance(op, ir.Concatenation)
        y = self.g.tensor(op.outputs[0])
        rank = len(y.shape)
        if rank > 4:
            raise self.fail(op, "CONCATENATION of tensors with more than 4 dimensions is not supported")
        # CMSIS-NN names axes x (innermost) .. w (outermost)
        names = "xyzw"
        axis_name = names[rank - 1 - op.axis]

        def xyzw(shape: tuple[int, ...]) -> tuple[int, int, int, int]:
            s = tuple(reversed(shape)) + (1,) * (4 - len(shape))
            return (s[0], s[1], s[2], s[3])

        parts = []
        offset = 0
        refs = []
        for t in op.inputs:
            tensor = self.g.tensor(t)
            d = xyzw(tensor.shape)
            if max(d) > 0xFFFF:
                raise self.fail(op, "CONCATENATION inputs with a dimension above 65535 are not supported")
            parts.append(ConcatPart(axis_name=axis_name, input_x=d[0], input_y=d[1], input_z=d[2], input_w=d[3],
                                    output_axis=y.shape[op.axis], offset=offset))
            offset += tensor.shape[op.axis]
            refs.append(self.ref(t))
        b = self.base(op, f"arm_concatenation_s8_{axis_name}", tuple(refs), self.out_ref(op), 0, 0)
        self.calls.append(ConcatCall(**b, parts=tuple(parts), output_dims=xyzw(y.shape)))  # type: ignore[arg-type]

    def lut(self, op: ir.Op) -> None:
        qi, qo = self.qp(op.inputs[0]), self.qp(op.outputs[0])
        table: np.ndarray
        if isinstance(op, ir.Logistic):
            table = fx.logistic_lut(qi.scale, qi.zero_point)
        elif isinstance(op, ir.Tanh):
            table = fx.tanh_lut(qi.scale, qi.zero_point)
        elif isinstance(op, ir.LeakyRelu):
            table = fx.leaky_relu_lut(qi.scale, qi.zero_point, qo.scale, qo.zero_point, op.alpha)
        elif isinstance(op, ir.Relu):
            table = fx.relu_lut(op.kind.value, qi.scale, qi.zero_point, qo.scale, qo.zero_point)
        else:
            assert isinstance(op, ir.Quantize)
            table = fx.requantize_lut(qi.scale, qi.zero_point, qo.scale, qo.zero_point)
        table = np.asarray(table, dtype=np.int8)
        x = self.g.tensor(op.inputs[0])
        b = self.base(op, "edgegen_lut_s8", (self.ref(op.inputs[0]),), self.out_ref(op, op.inputs[0]), 0, 0)
        self.calls.append(LutCall(**b, lut=self.const("lut", "int8_t", table, op), lut_values=table,  # type: ignore[arg-type]
                                  size=x.size))

    def quantize(self, op: ir.Op) -> None:
        x = self.g.tensor(op.inputs[0])
        if x.dtype != "float32":
            self.lut(op)
            return
        qo = self.qp(op.outputs[0])
        b = self.base(op, "edgegen_quantize_f32_s8", (self.ref(op.inputs[0]),), self.out_ref(op), 0, 0)
        self.calls.append(QuantizeCall(**b, scale=float(np.float32(qo.scale)), zero_point=qo.zero_point,  # type: ignore[arg-type]
                                       size=x.size))

    def dequantize(self, op: ir.Op) -> None:
        qi = self.qp(op.inputs[0])
        x = self.g.tensor(op.inputs[0])
        b = self.base(op, "edgegen_dequantize_s8_f32", (self.ref(op.inputs[0]),), self.out_ref(op), 0, 0)
        self.calls.append(DequantizeCall(**b, scale=float(np.float32(qi.scale)), zero_point=qi.zero_point,  # type: ignore[arg-type]
                                         size=x.size))

    def mean(self, op: ir.Op) -> None:
        assert isinstance(op, ir.Mean)
        x = self.g.tensor(op.inputs[0])
        qi, qo = self.qp(op.inputs[0]), self.qp(op.outputs[0])
        outer, reduce, inner = _reduction_extents(x.shape, op.axes)
        if reduce == 0:
            raise self.fail(op, "MEAN over an empty axis")
        p = fx.mean_params(qi.scale, qi.zero_point, qo.scale, qo.zero_point, reduce)
        b = self.base(op, "edgegen_mean_s8", (self.ref(op.inputs[0]),), self.out_ref(op), 0, x.size)
        self.calls.append(MeanCall(**b, outer=outer, reduce=reduce, inner=inner,  # type: ignore[arg-type]
                                   sum_offset=p.sum_offset, multiplier=p.multiplier, shift=p.shift,
                                   output_offset=p.output_offset))

    def reduce_max(self, op: ir.Op) -> None:
        """A maximum over adjacent axes is a max pool: viewed as [1, outer, reduce, inner] (NHWC),
        a 1 x reduce window with stride 1 and no padding leaves [1, outer, 1, inner]. Input and
        output share their quantization, so the max is exact and arm_max_pool_s8 (CMSIS-NN's
        DSP/Helium kernel) computes it with the full int8 range as its clamp."""
        assert isinstance(op, ir.ReduceMax)
        x = self.g.tensor(op.inputs[0])
        outer, reduce, inner = _reduction_extents(x.shape, op.axes)
        b = self.base(op, "arm_max_pool_s8", (self.ref(op.inputs[0]),), self.out_ref(op), 0, x.size)
        self.calls.append(PoolCall(
            **b, is_max=True, input_dims=Dims(1, outer, reduce, inner), filter_dims=Dims(1, 1, reduce, 1),  # type: ignore[arg-type]
            output_dims=Dims(1, outer, 1, inner), stride=(1, 1), padding=(0, 0), act_min=-128, act_max=127,
        ))


def _reduction_extents(shape: tuple[int, ...], axes: tuple[int, ...]) -> tuple[int, int, int]:
    """A tensor reduced over adjacent ``axes`` viewed as [outer, reduce, inner]."""
    def size(dims: Sequence[int]) -> int:
        return int(np.prod(dims, dtype=np.int64))

    return size(shape[: axes[0]]), size([shape[a] for a in axes]), size(shape[axes[-1] + 1:])


#: true when CMSIS-NN compiles its Helium (MVE) kernels; the test arm_nn_math_types.h makes
MVE = "defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)"


_HANDLERS: dict[type[ir.Op], Callable[[_Lowerer, ir.Op], None]] = {
    ir.Conv2D: _Lowerer.conv,
    ir.DepthwiseConv2D: _Lowerer.conv,
    ir.FullyConnected: _Lowerer.fully_connected,
    ir.Pool2D: _Lowerer.pool,
    ir.Add: _Lowerer.add,
    ir.Sub: _Lowerer.add,
    ir.Mul: _Lowerer.mul,
    ir.Softmax: _Lowerer.softmax,
    ir.Reshape: _Lowerer.reshape,
    ir.Pad: _Lowerer.pad,
    ir.Concatenation: _Lowerer.concat,
    ir.Logistic: _Lowerer.lut,
    ir.Tanh: _Lowerer.lut,
    ir.Relu: _Lowerer.lut,
    ir.LeakyRelu: _Lowerer.lut,
    ir.Quantize: _Lowerer.quantize,
    ir.Dequantize: _Lowerer.dequantize,
    ir.Mean: _Lowerer.mean,
    ir.ReduceMax: _Lowerer.reduce_max,
}


#: canary size of guard builds: four words, so a kernel's vector store past the end is caught
GUARD_BYTES = 16


def lower(graph: ir.Graph, *, name: str | None = None, scratch_target: str = "dsp", guard: bool = False) -> Program:
    """Lower ``graph``; ``scratch_target`` chooses which CMSIS-NN build the scratch sizes fit,
    ``guard`` adds canaries around the arena and every scratch buffer."""
    prefix = c_identifier(name or graph.name)
    return _Lowerer(graph, prefix, scratch_target, GUARD_BYTES if guard else 0).lower()
