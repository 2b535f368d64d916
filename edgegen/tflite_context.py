"""What the op families' readers (``edgegen.ops``) work with: :class:`OpContext`, one op of the
flatbuffer with its tensors and options, and the checks several op families share (strides,
the bias type, the int32 accumulator bound). Refusals are :class:`EdgegenError` naming the op.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from ai_edge_litert import schema_py_generated as fb

from . import ir
from . import tflite_checks as checks
from .errors import ModelFormatError, UnsupportedError

TYPE_NAMES = {v: k for k, v in vars(fb.TensorType).items() if not k.startswith("_")}

_ACTIVATIONS = {
    fb.ActivationFunctionType.NONE: ir.Activation.NONE,
    fb.ActivationFunctionType.RELU: ir.Activation.RELU,
    fb.ActivationFunctionType.RELU6: ir.Activation.RELU6,
    fb.ActivationFunctionType.RELU_N1_TO_1: ir.Activation.RELU_N1_TO_1,
}
_ACT_NAMES = {v: k for k, v in vars(fb.ActivationFunctionType).items() if not k.startswith("_")}


class OpContext:
    """One op of the flatbuffer as its family's reader sees it: its tensors and options, and the
    checks every reader shares. Refusals name the op."""

    def __init__(
        self,
        index: int,
        name: str,
        inputs: tuple[int, ...],
        outputs: tuple[int, ...],
        options: Any,
        tensors: tuple[ir.Tensor, ...],
        work: checks.Work,
    ) -> None:
        self.index = index
        self.name = name
        self.inputs = inputs
        self.outputs = outputs
        self.options = options
        self.tensors = tensors
        self.work = work

    @property
    def where(self) -> str:
        return f"op {self.index} ({self.name})"

    def fail(self, why: str) -> UnsupportedError:
        return UnsupportedError(f"op {self.index} ({self.name}): {why}")

    def t(self, i: int) -> ir.Tensor:
        ti = self.inputs[i]
        if ti < 0:
            # -1 marks an optional input left out; used as an index it would name the last tensor
            raise ModelFormatError(f"op {self.index} ({self.name}) leaves its required input {i} out (tensor index -1)")
        return self.tensors[ti]

    def out(self, i: int = 0) -> ir.Tensor:
        return self.tensors[self.outputs[i]]

    def n_inputs(self, lo: int, hi: int | None = None) -> None:
        hi = lo if hi is None else hi
        if not lo <= len(self.inputs) <= hi:
            raise ModelFormatError(f"op {self.index} ({self.name}) has {len(self.inputs)} inputs, expected {lo}..{hi}")
        self.one_output()

    def one_output(self) -> None:
        if len(self.outputs) != 1:
            raise ModelFormatError(f"op {self.index} ({self.name}) has {len(self.outputs)} outputs, expected 1")

    def opt(self, attr: str) -> Any:
        """An option as TFLM sees it: the table's field (the schema default when the field is
        absent), or 0 when the op has no options table (TFLM's parsers zero their parameters)."""
        if self.options is None:
            return 0
        return getattr(self.options, attr)

    def finite(self, attr: str) -> float:
        """A float option (SOFTMAX beta, LEAKY_RELU alpha); NaN or infinity is a corrupt file."""
        v = float(self.opt(attr))
        if not math.isfinite(v):
            raise ModelFormatError(f"op {self.index} ({self.name}) has {attr} {v}; it must be a finite number")
        return v

    def activation(self) -> ir.Activation:
        a = int(self.opt("fusedActivationFunction"))
        if a not in _ACTIVATIONS:
            raise self.fail(
                f"fused activation {_ACT_NAMES.get(a, a)} is not supported (only NONE, RELU, RELU6, RELU_N1_TO_1)"
            )
        return _ACTIVATIONS[a]

    def padding(self) -> ir.Padding:
        p = int(self.opt("padding"))
        if p not in (fb.Padding.SAME, fb.Padding.VALID):
            raise ModelFormatError(f"op {self.index} ({self.name}) has padding {p}, which is neither SAME nor VALID")
        return ir.Padding.SAME if p == fb.Padding.SAME else ir.Padding.VALID

    def int8_activation(self, t: ir.Tensor, role: str) -> None:
        """An int8 activation (what every op family reads); an int16 one is refused with a message
        saying this op has no int16 support. Families that run TFLite's 16x8 scheme call
        :meth:`quant_activation` with ``dtypes=("int8", "int16")`` instead."""
        self.quant_activation(t, role)

    def quant_activation(self, t: ir.Tensor, role: str, dtypes: tuple[str, ...] = ("int8",)) -> str:
        """A quantized activation of one of ``dtypes`` (``"int8"``, ``"int16"``), per-tensor, not a
        constant; returns its dtype. int16 activations are TFLite's 16x8 scheme: symmetric, zero
        point 0, which TFLM's int16 kernels require (and assume where they do not check)."""
        if t.dtype == "int16" and "int16" not in dtypes:
            raise self.fail(
                f"{role} {t.describe()} is int16; edgegen does not compile int16 activations for {self.name} "
                "(convert this op with int8 activations, or see docs/user-guide.md for the ops that take int16)"
            )
        if t.dtype not in dtypes:
            raise self.fail(
                f"{role} {t.describe()} is {t.dtype}; edgegen compiles fully int8-quantized models "
                "(convert with full-integer quantization and a representative dataset)"
            )
        if t.quant is None or t.quant.per_channel:
            raise self.fail(f"{role} {t.describe()} needs per-tensor quantization parameters")
        if t.is_const:
            raise self.fail(f"{role} {t.describe()} is a constant; fold it before conversion")
        if t.dtype == "int16" and t.quant.zero_point != 0:
            raise self.fail(
                f"{role} {t.describe()} is int16 with zero point {t.quant.zero_point}; TFLM's int16 kernels take "
                "symmetric int16 activations (zero point 0), as TFLite's 16x8 quantization makes them"
            )
        return t.dtype

    def const(self, i: int, role: str, dtypes: tuple[str, ...]) -> ir.Tensor:
        t = self.t(i)
        if not t.is_const:
            raise self.fail(f"{role} {t.describe()} must be a constant")
        if t.dtype not in dtypes:
            raise self.fail(f"{role} {t.describe()} has type {t.dtype}, expected {' or '.join(dtypes)}")
        return t

    def rank(self, t: ir.Tensor, ranks: tuple[int, ...], role: str) -> None:
        if len(t.shape) not in ranks:
            raise self.fail(f"{role} {t.describe()} has rank {len(t.shape)}, expected {' or '.join(map(str, ranks))}")


def stride_dilation(c: OpContext, sh: str, sw: str) -> tuple[int, int]:
    h, w = int(c.opt(sh)), int(c.opt(sw))
    if h < 1 or w < 1:
        raise c.fail(f"{sh}/{sw} of ({h}, {w}) must be positive")
    return (h, w)


def quantized_bias_type(c: OpContext, activation_dtype: str = "int8") -> int:
    """CONV_2D and FULLY_CONNECTED options name the bias type; TFLM's parser refuses a value
    that is no tensor type at all, and only int16 kernels use it: an int16 op with no bias
    accumulates in int32 when it says INT32, else in int64. Returns the type (FLOAT32, 0, when
    not set)."""
    t = int(c.opt("quantizedBiasType"))
    allowed: tuple[int, ...] = (fb.TensorType.FLOAT32, fb.TensorType.INT32)  # FLOAT32 (0): "not set"
    if activation_dtype == "int16":
        allowed = (*allowed, fb.TensorType.INT64)
    if t not in allowed:
        takes = "int32 or int64 biases" if activation_dtype == "int16" else "int32 biases"
        raise c.fail(f"quantized bias type {TYPE_NAMES.get(t, t)} in its options is not supported "
                     f"({activation_dtype} ops take {takes})")
    return t


def accumulator_bound(c: OpContext, w: ir.Tensor, bias: ir.Tensor | None, oc_axis: int,
                      input_max: int = 255) -> None:
    """TFLM (and CMSIS-NN) accumulate in int32; edgegen's simulator in int64. Refuse a layer
    whose accumulator could leave int32: per output channel, ``input_max`` x sum |weights| (an
    int8 input minus its zero point is at most 255 in magnitude; an int16 one, zero point 0, at
    most 32768) plus |bias|."""
    assert w.data is not None
    weights = np.abs(np.moveaxis(w.data.astype(np.int64), oc_axis, 0).reshape(w.shape[oc_axis], -1)).sum(axis=1)
    bound = input_max * weights
    if bias is not None:
        assert bias.data is not None
        bound = bound + np.abs(bias.data.astype(np.int64).reshape(-1))
    worst = int(np.argmax(bound))
    if int(bound[worst]) > checks.INT32_MAX:
        raise c.fail(
            f"output channel {worst} could accumulate up to {int(bound[worst]):,} ({input_max} x the sum of its "
            "|weights| plus |bias|), beyond int32: TFLM and CMSIS-NN accumulate in 32 bits, so such a layer is refused"
        )
