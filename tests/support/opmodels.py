"""Tiny converter-made .tflite models for per-op parity tests.

A model holds many independent *branches*: each branch has its own model inputs, feeds them
through one randomly parameterised instance of the op under test and ends in its own model
outputs. One TFLiteConverter call (the slow part) thus yields a couple of dozen test cases.

Every branch's inputs get their own random calibration range (width over three decades, centre
anywhere from one-sided negative to one-sided positive), so the input scales and zero points, and
through them every downstream quantization parameter, vary from case to case.

Everything is seeded: the same (family, seed) always gives the same model bytes. Input tensors
are named ``b<branch>i<k>`` so a mismatch can be traced back to the branch, and its parameters,
that produced it (:func:`branch_of_op`).
"""

from __future__ import annotations

import functools
import os
import re
import warnings
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as fb

from edgegen import ir
from edgegen.program import Program, TensorRef

#: calibration samples per conversion; enough for stable min/max, cheap to run
CALIBRATION_SAMPLES = 32
#: branches per converted model
BRANCHES = 25
#: branches of the pruned_16x8 family: MIN_CASES_PER_OP, with >= 20 of each of its three ops
PRUNED_BRANCHES = 80
#: the issue asks for at least this many randomized cases per op
MIN_CASES_PER_OP = 50

_OP_NAMES = {v: k for k, v in vars(fb.BuiltinOperator).items() if not k.startswith("_")}
_INPUT_NAME = re.compile(r"b(\d+)i(\d+)")

Tf = Any  # TensorFlow ships no type information; tensors and the module are Any here


def _tf() -> Any:
    """TensorFlow, imported on first use so collecting the tests stays fast."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import tensorflow as tf

    return tf


# ------------------------------------------------------------------------------------------
# branches and families
# ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InputSpec:
    shape: tuple[int, ...]
    #: the calibration data for this input is uniform in [lo, hi]
    lo: float
    hi: float


@dataclass(frozen=True)
class Branch:
    inputs: tuple[InputSpec, ...]
    #: builds the branch's outputs from its input tensors (TensorFlow ops, traced once)
    build: Callable[..., list[Tf]]
    #: the parameters, for failure messages
    desc: str
    #: SOFTMAX beta to write into the converted model (the converter always emits 1.0)
    beta: float | None = None
    #: turn the branch's RESHAPE back into the SQUEEZE of this axis (the converter emits RESHAPE)
    squeeze_axis: int | None = None
    #: turn the branch's DEQUANTIZE -> float ELU -> QUANTIZE (the converter does not quantize ELU)
    #: into one int8 ELU, as other tools write it
    int8_elu: bool = False


@dataclass(frozen=True)
class Family:
    """One op under test: how to make a branch, and which builtins each branch must contain."""

    name: str
    make_branch: Callable[[np.random.Generator], Branch]
    #: each branch must contribute at least one of these builtins (summed)
    builtins: tuple[str, ...]
    seeds: tuple[int, ...] = (0, 1, 2)
    branches: int = BRANCHES
    float_io: bool = False
    #: FULLY_CONNECTED weights per channel (the converter default) or per tensor
    per_channel_dense: bool = True
    #: further builtin groups that must each appear once per branch (QUANTIZE and DEQUANTIZE)
    also: tuple[tuple[str, ...], ...] = ()
    #: builtins that must each appear in every model (RESHAPE and SQUEEZE, which share branches)
    each: tuple[str, ...] = ()
    #: convert with a tf.Module as the trackable object: the converter then keeps the functions the
    #: branches call and fuses those tagged as an LSTM (a bare tf.function gets them inlined)
    keep_functions: bool = False
    #: TFLite's 16x8 scheme (int16 activations, int8 weights): converted with the
    #: EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8 op set, int16 model I/O (float32
    #: with ``float_io``)
    int16: bool = False
    #: 16x8 only: int32 biases (the converter's _experimental_full_integer_quantization_bias_type),
    #: which TFLM's int16 kernels accumulate in int32
    bias32: bool = False

    @property
    def cases(self) -> int:
        return self.branches * len(self.seeds)


@dataclass(frozen=True)
class OpModel:
    family: str
    seed: int
    tflite: bytes = field(repr=False)
    branches: tuple[Branch, ...] = field(repr=False)

    @property
    def name(self) -> str:
        return f"{self.family}_s{self.seed}"


# ------------------------------------------------------------------------------------------
# random parameters
# ------------------------------------------------------------------------------------------


def _int(rng: np.random.Generator, lo: int, hi: int) -> int:
    """Uniform in [lo, hi] inclusive."""
    return int(rng.integers(lo, hi + 1))


def _pick(rng: np.random.Generator, options: Sequence[Any]) -> Any:
    return options[int(rng.integers(len(options)))]


def _range(rng: np.random.Generator) -> tuple[float, float]:
    width = float(10 ** rng.uniform(-1.5, 1.5))
    # |centre| up to 0.7 * width lets about a quarter of the ranges be one-sided, so zero points
    # reach -128 and 127 as well as the middle
    centre = float(rng.uniform(-0.7, 0.7)) * width
    return centre - width / 2, centre + width / 2


def _input(rng: np.random.Generator, shape: Sequence[int], straddle: bool = False) -> InputSpec:
    """An input with a random range; ``straddle`` keeps a good part of it on each side of zero."""
    lo, hi = _range(rng)
    if straddle:
        # a RELU of an all-negative range outputs only zeros, quantized with a degenerate scale
        # (~1e-8) that TFLM aborts on (in SOFTMAX's Prepare); keep such cases out
        width = hi - lo
        centre = float(rng.uniform(-0.3, 0.3)) * width
        lo, hi = centre - width / 2, centre + width / 2
    return InputSpec(tuple(int(d) for d in shape), lo, hi)


def _channels(rng: np.random.Generator, hi: int) -> int:
    """Mostly a few channels; sometimes many, which takes the kernels' unrolled inner loops."""
    return _int(rng, 8, 4 * hi) if rng.random() < 0.2 else _int(rng, 1, hi)


def _shape(rng: np.random.Generator, rank: int, hi: int = 6) -> tuple[int, ...]:
    return tuple(_int(rng, 1, hi) for _ in range(rank))


def _weights(rng: np.random.Generator, shape: tuple[int, ...], fan_in: int, channel_axis: int,
             prune: bool = True, pruned: bool = False) -> np.ndarray:
    """Normal weights whose channels differ in magnitude by up to 100x, so per-channel scales differ;
    with ``prune``, sometimes an all-zero channel; with ``pruned``, always 1..n/2 all-zero channels
    (at least one channel kept)."""
    w = rng.normal(size=shape) / np.sqrt(max(fan_in, 1))
    per = 10 ** rng.uniform(-1, 1, size=shape[channel_axis])
    bshape = [1] * len(shape)
    bshape[channel_axis] = shape[channel_axis]
    w = w * per.reshape(bshape) * 10 ** rng.uniform(-1, 1)
    if rng.random() < 0.1 and prune:
        # an all-zero (pruned) output channel: its per-channel scale collapses to ~1e-8 and its
        # bias quantizes to about 2^30
        w = np.moveaxis(w, channel_axis, 0)
        w[int(rng.integers(w.shape[0]))] = 0
        w = np.moveaxis(w, 0, channel_axis)
    if pruned:
        # the 16x8 converter gives each of these channels weight scale 0.0 (TFLM runs it: multiplier 0)
        n = shape[channel_axis]
        zeros = rng.choice(n, size=_int(rng, 1, max(1, n // 2)), replace=False)
        w = np.moveaxis(w, channel_axis, 0)
        w[zeros] = 0
        w = np.moveaxis(w, 0, channel_axis)
    return np.asarray(w, dtype=np.float32)


def _pruned_bias(rng: np.random.Generator, weights: np.ndarray, bias: np.ndarray | None) -> np.ndarray | None:
    """Mostly zero bias on the all-zero output channels (last axis): the 16x8 converter then writes
    weight scale 0.0 there; with a non-zero bias it raises the channel's scale until the bias fits."""
    if bias is None or rng.random() < 0.2:
        return bias
    dead = ~weights.reshape(-1, weights.shape[-1]).any(axis=0)
    return np.where(dead, np.float32(0), bias).astype(np.float32)


def _pruned_activation(rng: np.random.Generator) -> str:
    # half without activation: with fewer live channels a RELU branch more often saw only negative
    # values in calibration, whose denormal output scale TFLM cannot requantize to (refused)
    return "none" if rng.random() < 0.5 else _activation(rng)


def _bias(rng: np.random.Generator, n: int) -> np.ndarray | None:
    # a quarter of the cases have no bias at all, to cover the optional-bias path
    if rng.random() < 0.25:
        return None
    return (rng.normal(size=n) * 10 ** rng.uniform(-2, 0.5)).astype(np.float32)


def _activation(rng: np.random.Generator) -> str:
    return str(_pick(rng, ["none", "relu", "relu6"]))


def _activate(y: Tf, act: str) -> Tf:
    tf = _tf()
    if act == "relu":
        return tf.nn.relu(y)
    if act == "relu6":
        return tf.nn.relu6(y)
    return y


def _stride_or_dilation(rng: np.random.Generator, equal_strides: bool) -> tuple[tuple[int, int], tuple[int, int]]:
    # TensorFlow's kernels (which the converter's shape inference follows) reject strides > 1
    # together with dilations > 1, so a case has one or the other
    if rng.random() < 0.5:
        s = _int(rng, 1, 3)
        stride = (s, s) if equal_strides else (s, _int(rng, 1, 3))
        return stride, (1, 1)
    return (1, 1), (_int(rng, 1, 3), _int(rng, 1, 3))


def _spatial(rng: np.random.Generator, kernel: tuple[int, int], dilation: tuple[int, int],
             padding: str) -> tuple[int, int]:
    """Input height and width; VALID needs at least the dilated kernel's extent."""
    out = []
    for k, d in zip(kernel, dilation, strict=True):
        eff = (k - 1) * d + 1
        out.append(eff + _int(rng, 0, 6) if padding == "VALID" else _int(rng, 1, 9))
    return out[0], out[1]


# ------------------------------------------------------------------------------------------
# per-op branch generators
# ------------------------------------------------------------------------------------------


def _conv2d(rng: np.random.Generator) -> Branch:
    batch = 2 if rng.random() < 0.15 else 1
    cin, cout = _channels(rng, 6), _channels(rng, 8)
    kernel = (_int(rng, 1, 4), _int(rng, 1, 4))
    stride, dilation = _stride_or_dilation(rng, equal_strides=False)
    padding = str(_pick(rng, ["SAME", "VALID"]))
    h, w = _spatial(rng, kernel, dilation, padding)
    weights = _weights(rng, (*kernel, cin, cout), kernel[0] * kernel[1] * cin, 3)
    bias = _bias(rng, cout)
    act = _activation(rng)

    def build(x: Tf) -> list[Tf]:
        tf = _tf()
        y = tf.nn.conv2d(x, weights, strides=[1, *stride, 1], padding=padding, dilations=[1, *dilation, 1])
        return [_activate(y if bias is None else y + bias, act)]

    shape = (batch, h, w, cin)
    desc = (f"CONV_2D input {list(shape)} filter {kernel} cout {cout} stride {stride} dilation {dilation} "
            f"{padding} act {act} bias {bias is not None}")
    return Branch((_input(rng, shape),), build, desc)


def _conv2d_1x1(rng: np.random.Generator) -> Branch:
    """1x1 filter, stride 1: edgegen's matmul kernel (odd channel counts, K not a multiple of 4,
    batches, either padding, sometimes a dilation, which a 1x1 filter ignores)."""
    batch = 2 if rng.random() < 0.15 else 1
    cin = _int(rng, 1, 13) if rng.random() < 0.6 else _int(rng, 14, 70)
    cout = _int(rng, 1, 13) if rng.random() < 0.7 else _int(rng, 14, 40)
    dilation = (1, 1) if rng.random() < 0.8 else (_int(rng, 1, 3), _int(rng, 1, 3))
    padding = str(_pick(rng, ["SAME", "VALID"]))
    h, w = _int(rng, 1, 6), _int(rng, 1, 6)
    weights = _weights(rng, (1, 1, cin, cout), cin, 3)
    bias = _bias(rng, cout)
    act = _activation(rng)

    def build(x: Tf) -> list[Tf]:
        tf = _tf()
        y = tf.nn.conv2d(x, weights, strides=[1, 1, 1, 1], padding=padding, dilations=[1, *dilation, 1])
        return [_activate(y if bias is None else y + bias, act)]

    shape = (batch, h, w, cin)
    desc = (f"CONV_2D 1x1 input {list(shape)} cout {cout} dilation {dilation} {padding} act {act} "
            f"bias {bias is not None}")
    return Branch((_input(rng, shape),), build, desc)


def _conv2d_general(rng: np.random.Generator) -> Branch:
    """Any filter 1..5 (non-square too), strides 1..3, dilation 1, batch 1: edgegen's general conv
    kernel (gather + the matmul micro-kernel), with 1..4 or 8+ input channels, odd output channel
    counts, SAME (padded windows on every side) and VALID, activations."""
    cin = _int(rng, 1, 4) if rng.random() < 0.6 else _int(rng, 8, 20)
    cout = _int(rng, 1, 13) if rng.random() < 0.7 else _int(rng, 14, 33)
    kernel = (_int(rng, 1, 5), _int(rng, 1, 5))
    stride = (_int(rng, 1, 3), _int(rng, 1, 3))
    if kernel == (1, 1) and stride == (1, 1):
        stride = (2, 2)
    padding = str(_pick(rng, ["SAME", "SAME", "VALID"]))
    h, w = _spatial(rng, kernel, (1, 1), padding)
    weights = _weights(rng, (*kernel, cin, cout), kernel[0] * kernel[1] * cin, 3)
    bias = _bias(rng, cout)
    act = _activation(rng)

    def build(x: Tf) -> list[Tf]:
        tf = _tf()
        y = tf.nn.conv2d(x, weights, strides=[1, *stride, 1], padding=padding)
        return [_activate(y if bias is None else y + bias, act)]

    shape = (1, h, w, cin)
    desc = (f"CONV_2D input {list(shape)} filter {kernel} cout {cout} stride {stride} {padding} act {act} "
            f"bias {bias is not None}")
    return Branch((_input(rng, shape),), build, desc)


def _depthwise(rng: np.random.Generator) -> Branch:
    cin, mult = _channels(rng, 6), _int(rng, 1, 3)
    kernel = (_int(rng, 1, 4), _int(rng, 1, 4))
    # DepthwiseConv2dNative wants equal row and column strides
    stride, dilation = _stride_or_dilation(rng, equal_strides=True)
    padding = str(_pick(rng, ["SAME", "VALID"]))
    h, w = _spatial(rng, kernel, dilation, padding)
    weights = _weights(rng, (*kernel, cin, mult), kernel[0] * kernel[1], 3)
    bias = _bias(rng, cin * mult)
    act = _activation(rng)

    def build(x: Tf) -> list[Tf]:
        tf = _tf()
        # the raw op takes dilations directly; tf.nn.depthwise_conv2d would wrap a dilated
        # convolution in SPACE_TO_BATCH_ND / BATCH_TO_SPACE_ND instead
        y = tf.raw_ops.DepthwiseConv2dNative(input=x, filter=weights, strides=[1, *stride, 1], padding=padding,
                                             dilations=[1, *dilation, 1])
        return [_activate(y if bias is None else y + bias, act)]

    shape = (1, h, w, cin)
    desc = (f"DEPTHWISE_CONV_2D input {list(shape)} filter {kernel} multiplier {mult} stride {stride} "
            f"dilation {dilation} {padding} act {act} bias {bias is not None}")
    return Branch((_input(rng, shape),), build, desc)


def _conv2d_16x8(rng: np.random.Generator, pruned: bool = False) -> Branch:
    """CONV_2D for the 16x8 scheme: filters 1x1..5x5 (non-square too), strides 1..3 or dilations
    1..3, SAME and VALID, 1..6 or 8..24 input channels, odd output channel counts, batch 2, fused
    RELU / RELU6; inputs straddle zero so a RELU output keeps a usable scale."""
    batch = 2 if rng.random() < 0.15 else 1
    cin = _int(rng, 1, 6) if rng.random() < 0.7 else _int(rng, 8, 24)
    cout = _int(rng, 1, 9) if rng.random() < 0.7 else _int(rng, 10, 33)
    cout = max(cout, 2) if pruned else cout
    kernel = (_int(rng, 1, 5), _int(rng, 1, 5))
    stride, dilation = _stride_or_dilation(rng, equal_strides=False)
    padding = str(_pick(rng, ["SAME", "VALID"]))
    h, w = _spatial(rng, kernel, dilation, padding)
    weights = _weights(rng, (*kernel, cin, cout), kernel[0] * kernel[1] * cin, 3, prune=False, pruned=pruned)
    bias = _bias(rng, cout)
    bias = _pruned_bias(rng, weights, bias) if pruned else bias
    act = _pruned_activation(rng) if pruned else _activation(rng)

    def build(x: Tf) -> list[Tf]:
        tf = _tf()
        y = tf.nn.conv2d(x, weights, strides=[1, *stride, 1], padding=padding, dilations=[1, *dilation, 1])
        return [_activate(y if bias is None else y + bias, act)]

    shape = (batch, h, w, cin)
    desc = (f"CONV_2D 16x8 input {list(shape)} filter {kernel} cout {cout} stride {stride} dilation {dilation} "
            f"{padding} act {act} bias {bias is not None}")
    return Branch((_input(rng, shape, straddle=True),), build, desc)


def _depthwise_16x8(rng: np.random.Generator, pruned: bool = False) -> Branch:
    """DEPTHWISE_CONV_2D for the 16x8 scheme: filters 1x1..5x5, equal strides 1..3 or dilations
    1..3, depth multipliers 1..3, SAME and VALID, 1..7 or 8..40 channels (quads and odd tails),
    fused RELU / RELU6."""
    cin = _int(rng, 1, 7) if rng.random() < 0.6 else _int(rng, 8, 40)
    mult = 1 if rng.random() < 0.5 else _int(rng, 2, 3)
    cin = max(cin, 2) if pruned else cin
    kernel = (_int(rng, 1, 5), _int(rng, 1, 5))
    stride, dilation = _stride_or_dilation(rng, equal_strides=True)
    padding = str(_pick(rng, ["SAME", "VALID"]))
    h, w = _spatial(rng, kernel, dilation, padding)
    if pruned:
        # the filter's channels are cin x mult (the converter's [1, kh, kw, cin * mult])
        weights = _weights(rng, (*kernel, cin * mult), kernel[0] * kernel[1], 2, prune=False,
                           pruned=True).reshape(*kernel, cin, mult)
    else:
        weights = _weights(rng, (*kernel, cin, mult), kernel[0] * kernel[1], 3, prune=False)
    bias = _bias(rng, cin * mult)
    bias = _pruned_bias(rng, weights.reshape(*kernel, cin * mult), bias) if pruned else bias
    act = _pruned_activation(rng) if pruned else _activation(rng)

    def build(x: Tf) -> list[Tf]:
        tf = _tf()
        y = tf.raw_ops.DepthwiseConv2dNative(input=x, filter=weights, strides=[1, *stride, 1], padding=padding,
                                             dilations=[1, *dilation, 1])
        return [_activate(y if bias is None else y + bias, act)]

    shape = (1, h, w, cin)
    desc = (f"DEPTHWISE_CONV_2D 16x8 input {list(shape)} filter {kernel} multiplier {mult} stride {stride} "
            f"dilation {dilation} {padding} act {act} bias {bias is not None}")
    return Branch((_input(rng, shape, straddle=True),), build, desc)


def _depthwise_3x3(rng: np.random.Generator) -> Branch:
    """3x3 filter, depth multiplier 1, dilation 1, stride 1 (sometimes 2): edgegen's depthwise 3x3
    kernel (heights and widths 1 and 2, SAME and VALID, channel counts 4..64 and odd ones)."""
    cin = _int(rng, 1, 3) * 4 if rng.random() < 0.4 else (_int(rng, 4, 16) * 4 if rng.random() < 0.5 else
                                                          _int(rng, 1, 23))
    stride = (2, 2) if rng.random() < 0.2 else (1, 1)
    padding = str(_pick(rng, ["SAME", "SAME", "VALID"]))
    lo = 3 if padding == "VALID" else 1
    h, w = _int(rng, lo, 7), _int(rng, lo, 7)
    weights = _weights(rng, (3, 3, cin, 1), 9, 2)
    bias = _bias(rng, cin)
    act = _activation(rng)

    def build(x: Tf) -> list[Tf]:
        tf = _tf()
        y = tf.raw_ops.DepthwiseConv2dNative(input=x, filter=weights, strides=[1, *stride, 1], padding=padding,
                                             dilations=[1, 1, 1, 1])
        return [_activate(y if bias is None else y + bias, act)]

    shape = (1, h, w, cin)
    desc = f"DEPTHWISE_CONV_2D 3x3 input {list(shape)} stride {stride} {padding} act {act} bias {bias is not None}"
    return Branch((_input(rng, shape),), build, desc)


def _depthwise_1ch(rng: np.random.Generator) -> Branch:
    """1 input channel, depth multiplier mostly 2..12, filters up to 10x8 (micro_speech's layer),
    equal strides 1..3, SAME and VALID, dilation 1: edgegen lowers these to its general conv kernel."""
    mult = _int(rng, 2, 12) if rng.random() < 0.85 else 1
    kernel = (_int(rng, 1, 10), _int(rng, 1, 8))
    s = _int(rng, 1, 3)
    stride = (s, s)
    padding = str(_pick(rng, ["SAME", "SAME", "VALID"]))
    h, w = _spatial(rng, kernel, (1, 1), padding)
    weights = _weights(rng, (*kernel, 1, mult), kernel[0] * kernel[1], 3)
    bias = _bias(rng, mult)
    act = _activation(rng)

    def build(x: Tf) -> list[Tf]:
        tf = _tf()
        y = tf.raw_ops.DepthwiseConv2dNative(input=x, filter=weights, strides=[1, *stride, 1], padding=padding,
                                             dilations=[1, 1, 1, 1])
        return [_activate(y if bias is None else y + bias, act)]

    shape = (1, h, w, 1)
    desc = (f"DEPTHWISE_CONV_2D 1 channel input {list(shape)} filter {kernel} multiplier {mult} stride {stride} "
            f"{padding} act {act} bias {bias is not None}")
    return Branch((_input(rng, shape),), build, desc)


def _depthwise_grouped(rng: np.random.Generator) -> Branch:
    """C = 2..12 input channels, depth multiplier 1..4, filters up to 5x5 (multiplier 1 only with a
    filter above 3x3), equal strides 1..2, SAME and VALID: edgegen's grouped conv kernel (groups = C)."""
    c, mult = _int(rng, 2, 12), _int(rng, 1, 4)
    kernel = (_int(rng, 1, 5), _int(rng, 1, 5))
    if mult == 1 and max(kernel) <= 3:
        kernel = (_int(rng, 4, 5), kernel[1])
    s = _int(rng, 1, 2)
    stride = (s, s)
    padding = str(_pick(rng, ["SAME", "SAME", "VALID"]))
    h, w = _spatial(rng, kernel, (1, 1), padding)
    weights = _weights(rng, (*kernel, c, mult), kernel[0] * kernel[1], 3)
    bias = _bias(rng, c * mult)
    act = _activation(rng)

    def build(x: Tf) -> list[Tf]:
        tf = _tf()
        y = tf.raw_ops.DepthwiseConv2dNative(input=x, filter=weights, strides=[1, *stride, 1], padding=padding,
                                             dilations=[1, 1, 1, 1])
        return [_activate(y if bias is None else y + bias, act)]

    shape = (1, h, w, c)
    desc = (f"DEPTHWISE_CONV_2D input {list(shape)} filter {kernel} multiplier {mult} stride {stride} "
            f"{padding} act {act} bias {bias is not None}")
    return Branch((_input(rng, shape),), build, desc)


def _transpose_conv(rng: np.random.Generator) -> Branch:
    """tf.nn.conv2d_transpose (Keras Conv2DTranspose's op): filters 1..5 (non-square too), strides
    1..3 per axis, SAME and VALID, odd channel counts, sometimes many input channels, with and
    without bias (the converter fuses the activation only with a bias) and activation, mostly
    Keras's output size and sometimes another one TensorFlow accepts, sometimes two images."""
    batch = 2 if rng.random() < 0.1 else 1
    cin = _int(rng, 1, 5) if rng.random() < 0.7 else _int(rng, 6, 20)
    cout = _int(rng, 1, 9) if rng.random() < 0.8 else _int(rng, 10, 24)
    kernel = (_int(rng, 1, 5), _int(rng, 1, 5))
    stride = (_int(rng, 1, 3), _int(rng, 1, 3))
    padding = str(_pick(rng, ["SAME", "VALID"]))
    h, w = _int(rng, 1, 6), _int(rng, 1, 6)
    out = []
    for size, k, st in ((h, kernel[0], stride[0]), (w, kernel[1], stride[1])):
        # the output sizes [lo, hi] whose convolution gives back ``size``; Keras's is one of them
        lo = (size - 1) * st + (1 if padding == "SAME" else k)
        hi = lo + st - 1
        keras = size * st if padding == "SAME" else (size - 1) * st + max(k, st)
        out.append(keras if rng.random() < 0.7 else _int(rng, lo, hi))
    weights = _weights(rng, (*kernel, cout, cin), kernel[0] * kernel[1] * cin, 2)
    bias = _bias(rng, cout)
    act = _activation(rng)

    def build(x: Tf) -> list[Tf]:
        tf = _tf()
        y = tf.nn.conv2d_transpose(x, weights, output_shape=[batch, *out, cout], strides=[1, *stride, 1],
                                   padding=padding)
        return [_activate(y if bias is None else y + bias, act)]

    shape = (batch, h, w, cin)
    desc = (f"TRANSPOSE_CONV input {list(shape)} filter {kernel} cout {cout} stride {stride} {padding} "
            f"output {out} act {act} bias {bias is not None}")
    return Branch((_input(rng, shape),), build, desc)


def _pruned_16x8(rng: np.random.Generator) -> Branch:
    """A 16x8 CONV_2D, DEPTHWISE_CONV_2D or FULLY_CONNECTED with pruned (all-zero) weight channels."""
    make = (_conv2d_16x8, _depthwise_16x8, _fully_connected)[int(rng.integers(3))]
    return make(rng, pruned=True)


def _fully_connected(rng: np.random.Generator, prune: bool = True, pruned: bool = False) -> Branch:
    # depth 1 would be an outer product, which the converter turns into a MUL
    depth, units = max(_channels(rng, 24), 2), _channels(rng, 16)
    units = max(units, 2) if pruned else units
    layout = str(_pick(rng, ["2d", "2d", "3d", "4d", "flatten"]))
    if layout == "2d":
        shape: tuple[int, ...] = (_int(rng, 1, 3), depth)
    elif layout == "3d":
        shape = (_int(rng, 1, 2), _int(rng, 1, 4), depth)
    elif layout == "4d":
        shape = (1, _int(rng, 1, 3), _int(rng, 1, 3), depth)
    else:  # a 3-D input flattened to rows first: FULLY_CONNECTED without keep_num_dims
        shape = (1, _int(rng, 2, 4), depth)
    weights = _weights(rng, (depth, units), depth, 1, prune and not pruned, pruned)
    bias = _bias(rng, units)
    bias = _pruned_bias(rng, weights, bias) if pruned else bias
    act = _pruned_activation(rng) if pruned else _activation(rng)

    def build(x: Tf) -> list[Tf]:
        tf = _tf()
        if layout == "flatten":
            x = tf.reshape(x, [-1, depth])
        # matmul of a rank-3/4 input with a constant matrix converts to keep_num_dims=True
        y = tf.matmul(x, weights)
        return [_activate(y if bias is None else y + bias, act)]

    desc = f"FULLY_CONNECTED input {list(shape)} ({layout}) units {units} act {act} bias {bias is not None}"
    return Branch((_input(rng, shape),), build, desc)


def _pool(kind: str) -> Callable[[np.random.Generator], Branch]:
    def make(rng: np.random.Generator) -> Branch:
        c = _channels(rng, 6)
        big = rng.random() < 0.2  # windows up to 7x7: long sums, and SAME windows wider than the input
        window = (_int(rng, 1, 7 if big else 4), _int(rng, 1, 7 if big else 4))
        stride = (_int(rng, 1, 3), _int(rng, 1, 3))
        padding = str(_pick(rng, ["SAME", "VALID"]))
        h, w = _spatial(rng, window, (1, 1), padding)
        act = _activation(rng)

        def build(x: Tf) -> list[Tf]:
            tf = _tf()
            pool = tf.nn.avg_pool2d if kind == "avg" else tf.nn.max_pool2d
            return [_activate(pool(x, list(window), list(stride), padding), act)]

        shape = (1, h, w, c)
        name = "AVERAGE_POOL_2D" if kind == "avg" else "MAX_POOL_2D"
        desc = f"{name} input {list(shape)} window {window} stride {stride} {padding} act {act}"
        return Branch((_input(rng, shape),), build, desc)

    return make


def _reduction(kind: str) -> Callable[[np.random.Generator], Branch]:
    """MEAN or REDUCE_MAX over adjacent axes of rank-2, -3 and -4 tensors."""
    extra = ["hwc", "rank2"] if kind == "max" else []

    def make(rng: np.random.Generator) -> Branch:
        variant = str(_pick(rng, ["hw", "hw", "hw", "h", "w", "rank3", *extra]))
        keep = bool(rng.random() < 0.5)
        # the reduced axes hold at least two values: the converter drops a reduction over one value
        if variant == "rank3":
            axes = [int(_pick(rng, [1, 2]))]
            shape: tuple[int, ...] = tuple(max(d, 2) if k in axes else d
                                           for k, d in enumerate((1, _int(rng, 2, 12), _int(rng, 1, 6))))
        elif variant == "rank2":
            shape = (1, _int(rng, 2, 40))
            axes = [1]
        else:
            hi = 16 if rng.random() < 0.2 else 8  # up to 256 values per reduction
            h, w = _int(rng, 1, hi), _int(rng, 1, hi)
            axes = {"hw": [1, 2], "h": [1], "w": [2], "hwc": [1, 2, 3]}[variant]
            h = max(h, 2) if axes == [1] or h * w < 2 else h
            w = max(w, 2) if axes == [2] else w
            shape = (1, h, w, _channels(rng, 6))

        def build(x: Tf) -> list[Tf]:
            reduce = _tf().reduce_max if kind == "max" else _tf().reduce_mean
            return [reduce(x, axis=axes, keepdims=keep)]

        desc = f"{'REDUCE_MAX' if kind == 'max' else 'MEAN'} input {list(shape)} axes {axes} keepdims {keep}"
        return Branch((_input(rng, shape),), build, desc)

    return make


def _broadcast_shapes(rng: np.random.Generator) -> tuple[tuple[int, ...], tuple[int, ...], str]:
    rank = _int(rng, 1, 4)
    full = _shape(rng, rank, 5)
    how = str(_pick(rng, ["same", "same", "ones", "ones", "lower-rank"]))
    other = list(full)
    if how == "ones":
        for d in range(rank):
            if rng.random() < 0.5:
                other[d] = 1
    elif how == "lower-rank":
        other = other[_int(rng, 1, rank - 1):] if rank > 1 else [1]
        other = [1 if rng.random() < 0.3 else d for d in other]
    a, b = tuple(full), tuple(other)
    # broadcasting works both ways round; which operand is the smaller one matters to kernels
    return (a, b, how) if rng.random() < 0.5 else (b, a, how)


def _binary(kind: str, relu_operands: bool = True) -> Callable[[np.random.Generator], Branch]:
    """``relu_operands=False``: no RELU before the op (16x8 models: a standalone int16 RELU is not an
    op edgegen compiles; "self" then feeds one model input to both operands)."""

    def make(rng: np.random.Generator) -> Branch:
        act = _activation(rng)
        # operands straight from model inputs, or from a RELU (then a same-shape op may write its
        # output over that dying intermediate), or one tensor on both sides
        # (x - x is not drawn for SUB: the converter may fold it to zeros)
        pres = ["inputs", "inputs", "relu first", "relu both"] if relu_operands else ["inputs", "inputs", "inputs"]
        pre = str(_pick(rng, pres + ([] if kind == "sub" else ["self"])))
        if pre == "self":
            a = b = _shape(rng, _int(rng, 1, 4), 5)
            how = "one tensor twice"
            inputs: tuple[InputSpec, ...] = (_input(rng, a, straddle=True),)
        else:
            a, b, how = _broadcast_shapes(rng)
            inputs = (_input(rng, a, straddle=True), _input(rng, b, straddle=True))

        def build(x: Tf, *rest: Tf) -> list[Tf]:
            tf = _tf()
            if pre == "self":
                x = y = tf.nn.relu(x) if relu_operands else x
            else:
                y = rest[0]
                x = tf.nn.relu(x) if pre.startswith("relu") else x
                y = tf.nn.relu(y) if pre == "relu both" else y
            return [_activate(x + y if kind == "add" else x - y if kind == "sub" else x * y, act)]

        desc = f"{kind.upper()} {list(a)} and {list(b)} ({how}, operands: {pre}) act {act}"
        return Branch(inputs, build, desc)

    return make


def _softmax(rng: np.random.Generator) -> Branch:
    layout = str(_pick(rng, ["rows", "rows", "4d", "1d"]))
    if layout == "rows":
        shape: tuple[int, ...] = (_int(rng, 1, 4), _channels(rng, 24))
    elif layout == "4d":
        shape = (1, _int(rng, 1, 3), _int(rng, 1, 3), _int(rng, 1, 12))
    else:
        shape = (_int(rng, 1, 200),)
    beta = 1.0 if rng.random() < 0.3 else float(np.float32(10 ** rng.uniform(-1, 0.7)))

    def build(x: Tf) -> list[Tf]:
        return [_tf().nn.softmax(x)]

    desc = f"SOFTMAX input {list(shape)} beta {beta}"
    return Branch((_input(rng, shape),), build, desc, beta=beta)


def _chain_16x8(rng: np.random.Generator) -> Branch:
    """A 16x8 chain through every int16 op family of issue 16's second helper: a pool, ADD or MUL
    with a second input (same shape or per channel), LOGISTIC or TANH, MEAN over height and width,
    SOFTMAX. Intermediate int16 buffers feed each op, and elementwise ops may run in place."""
    c = _channels(rng, 8)
    h, w = _int(rng, 2, 8), _int(rng, 2, 8)
    pool = str(_pick(rng, ["avg", "max"]))
    binary = str(_pick(rng, ["add", "mul"]))
    per_channel = bool(rng.random() < 0.4)
    act = str(_pick(rng, ["logistic", "tanh"]))
    ph, pw = (h + 1) // 2, (w + 1) // 2
    other = (1, 1, 1, c) if per_channel else (1, ph, pw, c)

    def build(x: Tf, y: Tf) -> list[Tf]:
        tf = _tf()
        p = (tf.nn.avg_pool2d if pool == "avg" else tf.nn.max_pool2d)(x, [2, 2], [2, 2], "SAME")
        z = p + y if binary == "add" else p * y
        z = tf.math.sigmoid(z) if act == "logistic" else tf.math.tanh(z)
        return [tf.nn.softmax(tf.reduce_mean(z, axis=[1, 2]))]

    desc = f"16x8 chain [1, {h}, {w}, {c}]: {pool} pool, {binary.upper()} {list(other)}, {act}, MEAN, SOFTMAX"
    return Branch((_input(rng, (1, h, w, c)), _input(rng, other)), build, desc)


def _factorizations(n: int) -> list[tuple[int, ...]]:
    """Shapes of rank 1-4 holding n elements."""
    out: list[tuple[int, ...]] = [(n,)]
    for a in range(1, n + 1):
        if n % a:
            continue
        out.append((a, n // a))
        for b in range(1, n // a + 1):
            if (n // a) % b:
                continue
            out.append((a, b, n // a // b))
            out.append((1, a, b, n // a // b))
    return out


def _reshape(rng: np.random.Generator) -> Branch:
    shape = _shape(rng, _int(rng, 1, 4), 5)
    kind = str(_pick(rng, ["reshape", "reshape", "squeeze", "expand_dims"]))
    if kind == "squeeze":
        shape = shape[:3]  # the inserted unit axis keeps the rank at most 4
        axis = _int(rng, 0, len(shape))
        shape = (*shape[:axis], 1, *shape[axis:])
        new_shape: tuple[int, ...] = shape[:axis] + shape[axis + 1:]
    elif kind == "expand_dims":
        shape = shape[:3]
        axis = _int(rng, 0, len(shape))
        new_shape = (*shape[:axis], 1, *shape[axis:])
    else:
        options = [s for s in _factorizations(int(np.prod(shape))) if s != shape]
        new_shape = tuple(_pick(rng, options)) if options else shape
    # the reshape reads a model input, or an op's output (then it aliases a planned buffer);
    # its result is a model output, or feeds a layout-sensitive SOFTMAX or CONCATENATION (not an
    # ADD: the converter folds a reshape that only adds unit axes into ADD's broadcasting)
    source = str(_pick(rng, ["input", "relu"]))
    sink = str(_pick(rng, ["output", "softmax", "concat", "softmax+output"]))
    if source == "input" and sink == "output":
        source = "relu"  # a RESHAPE from a model input straight to a model output has no kernel at all
    inputs = [_input(rng, shape, straddle=True)]
    if sink == "concat":
        inputs.append(_input(rng, (*new_shape[:-1], _int(rng, 1, 3))))

    def build(x: Tf, *rest: Tf) -> list[Tf]:
        tf = _tf()
        y = tf.nn.relu(x) if source == "relu" else x
        if kind == "squeeze":
            r = tf.squeeze(y, axis=[axis])
        elif kind == "expand_dims":
            r = tf.expand_dims(y, axis)
        else:
            r = tf.reshape(y, new_shape)
        if sink == "output":
            return [r]
        if sink == "concat":
            return [tf.concat([r, rest[0]], axis=-1)]
        return [tf.nn.softmax(r), r] if sink == "softmax+output" else [tf.nn.softmax(r)]

    desc = f"{kind.upper()} {list(shape)} -> {list(new_shape)} from {source} into {sink}"
    return Branch(tuple(inputs), build, desc, squeeze_axis=axis if kind == "squeeze" else None)


def _pad(rng: np.random.Generator) -> Branch:
    shape = _shape(rng, _int(rng, 1, 4), 5)
    pads = [[_int(rng, 0, 3), _int(rng, 0, 3)] for _ in shape]
    if len(shape) == 4 and rng.random() < 0.7:
        pads[0] = [0, 0]  # batch padding is legal but rare; keep most 4-D cases image-like
    if not any(a or b for a, b in pads):
        pads[-1][1] = 1  # the converter drops a PAD that pads nothing

    def build(x: Tf) -> list[Tf]:
        return [_tf().pad(x, pads)]

    desc = f"PAD input {list(shape)} paddings {pads}"
    return Branch((_input(rng, shape),), build, desc)


def _slice(rng: np.random.Generator) -> Branch:
    shape = _shape(rng, _int(rng, 1, 4), 6)
    begin = [_int(rng, 0, d - 1) for d in shape]
    size = [_pick(rng, (-1, _int(rng, 1, d - b))) for d, b in zip(shape, begin, strict=True)]
    if all(b == 0 and (z == -1 or z == d) for b, z, d in zip(begin, size, shape, strict=True)):
        # the converter drops a SLICE that keeps everything
        begin[-1], size[-1] = (1, -1) if shape[-1] > 1 else (0, 1)
        if shape[-1] == 1:
            shape = (*shape[:-1], 2)

    def build(x: Tf) -> list[Tf]:
        return [_tf().slice(x, begin, size)]

    desc = f"SLICE input {list(shape)} begin {begin} size {size}"
    return Branch((_input(rng, shape),), build, desc)


def _strided_slice(rng: np.random.Generator) -> Branch:
    """Python indexing: per axis an index (shrink_axis), or a slice with negative or omitted
    (begin_mask/end_mask) bounds and strides of either sign; never empty, never everything."""
    shape = _shape(rng, _int(rng, 1, 4), 6)
    while True:
        keys: list[Any] = []
        for d in shape:
            if rng.random() < 0.15:
                keys.append(_int(rng, -d, d - 1))
                continue
            step = _pick(rng, (1, 1, 2, 3, -1, -2))
            b = _pick(rng, (None, _int(rng, -d - 1, d)))
            e = _pick(rng, (None, _int(rng, -d - 1, d + 1)))
            keys.append(slice(b, e, step))
        lens = [len(range(*k.indices(d))) for k, d in zip(keys, shape, strict=True) if isinstance(k, slice)]
        full = all(isinstance(k, slice) and k.indices(d) == (0, d, 1) for k, d in zip(keys, shape, strict=True))
        if lens and min(lens) > 0 and not full:
            break
    key = tuple(keys)

    def build(x: Tf) -> list[Tf]:
        return [x[key]]

    desc = f"STRIDED_SLICE input {list(shape)} key {key}"
    return Branch((_input(rng, shape),), build, desc)


def _transpose(rng: np.random.Generator) -> Branch:
    shape = _shape(rng, _int(rng, 2, 4), 5)
    if sum(d > 1 for d in shape) < 2:
        shape = (*shape[:-2], 2, 3)
    perm = list(range(len(shape)))
    moved = [d for d in perm if shape[d] > 1]
    while moved == sorted(moved):
        # the converter makes a transpose that keeps the order of the non-1 axes a RESHAPE
        perm = [int(v) for v in rng.permutation(len(shape))]
        moved = [d for d in perm if shape[d] > 1]

    def build(x: Tf) -> list[Tf]:
        return [_tf().transpose(x, perm)]

    desc = f"TRANSPOSE input {list(shape)} perm {perm}"
    return Branch((_input(rng, shape),), build, desc)


def _split(kind: str) -> Callable[[np.random.Generator], Branch]:
    """SPLIT into equal parts, SPLIT_V into given sizes (one of them sometimes -1)."""

    def make(rng: np.random.Generator) -> Branch:
        rank = _int(rng, 1, 4)
        axis = _int(rng, -rank, rank - 1)
        shape = list(_shape(rng, rank, 4))
        n = _int(rng, 2, 4)
        if kind == "split":
            shape[axis] *= n
            arg: Any = n
        else:
            sizes = [_int(rng, 1, 4) for _ in range(n)]
            shape[axis] = sum(sizes)
            if rng.random() < 0.3:
                sizes[_int(rng, 0, n - 1)] = -1
            arg = sizes

        def build(x: Tf) -> list[Tf]:
            return list(_tf().split(x, arg, axis=axis))

        desc = f"{kind.upper()} input {shape} into {arg} along axis {axis}"
        return Branch((_input(rng, tuple(shape)),), build, desc)

    return make


#: TFLite's resize options (align_corners, half_pixel_centers): TFLM's bilinear refuses both set,
#: and TensorFlow's kernels (the converter's calibration) refuse it for nearest too
_RESIZE_OPTIONS = ((False, False), (True, False), (False, True))


def _resize(kind: str) -> Callable[[np.random.Generator], Branch]:
    """RESIZE_NEAREST_NEIGHBOR / RESIZE_BILINEAR: every option combination TFLM runs; integer
    upscaling (UpSampling2D's sizes), non-integer up and down sizes, 1-pixel inputs and outputs, odd
    and many channels, sometimes two batches."""

    def make(rng: np.random.Generator) -> Branch:
        batch = 2 if rng.random() < 0.15 else 1
        h, w = _int(rng, 1, 7), _int(rng, 1, 7)
        c = _channels(rng, 5)
        if rng.random() < 0.4:
            oh, ow = h * _int(rng, 1, 4), w * _int(rng, 1, 4)
        else:
            oh, ow = _int(rng, 1, 13), _int(rng, 1, 13)
        if (oh, ow) == (h, w):
            ow += 1  # the converter drops a resize to the input's own size
        align, half = _pick(rng, _RESIZE_OPTIONS)

        def build(x: Tf) -> list[Tf]:
            raw = _tf().raw_ops
            fn = raw.ResizeBilinear if kind == "bilinear" else raw.ResizeNearestNeighbor
            return [fn(images=x, size=[oh, ow], align_corners=align, half_pixel_centers=half)]

        shape = (batch, h, w, c)
        desc = (f"RESIZE_{'BILINEAR' if kind == 'bilinear' else 'NEAREST_NEIGHBOR'} input {list(shape)} "
                f"size [{oh}, {ow}] align_corners {align} half_pixel_centers {half}")
        return Branch((_input(rng, shape),), build, desc)

    return make


def _concat(rng: np.random.Generator) -> Branch:
    rank = _int(rng, 1, 4)
    base = _shape(rng, rank, 4)
    axis = _int(rng, -rank, rank - 1)
    parts = []
    for _ in range(_int(rng, 2, 4)):
        s = list(base)
        s[axis] = _int(rng, 1, 5)
        parts.append(tuple(s))

    def build(*xs: Tf) -> list[Tf]:
        return [_tf().concat(list(xs), axis=axis)]

    desc = f"CONCATENATION of {[list(p) for p in parts]} axis {axis}"
    return Branch(tuple(_input(rng, p) for p in parts), build, desc)


_LUT_OPS: dict[str, Callable[[Tf, float], Tf]] = {
    "logistic": lambda x, a: _tf().sigmoid(x),
    "tanh": lambda x, a: _tf().tanh(x),
    "relu": lambda x, a: _tf().nn.relu(x),
    "relu6": lambda x, a: _tf().nn.relu6(x),
    "leaky_relu": lambda x, a: _tf().nn.leaky_relu(x, alpha=a),
}


def _alpha(rng: np.random.Generator) -> float:
    # mostly the usual (0, 1) slopes, sometimes a steeper-than-identity one
    a = rng.uniform(1.1, 3.0) if rng.random() < 0.15 else rng.uniform(0.01, 0.95)
    return float(np.float32(a))


def _const_shape(rng: np.random.Generator, shape: tuple[int, ...]) -> tuple[int, ...]:
    """A constant operand's shape against ``shape``: a scalar, per channel (the last axis, as
    Normalization and BatchNormalization make), of lower rank, with ones, or the same shape."""
    how = str(_pick(rng, ["scalar", "channel", "channel", "ones", "lower-rank", "same"]))
    if how == "scalar":
        return ()
    if how == "channel":
        return (shape[-1],) if rng.random() < 0.6 else (1,) * (len(shape) - 1) + (shape[-1],)
    if how == "ones":
        return tuple(1 if rng.random() < 0.5 else d for d in shape)
    if how == "lower-rank" and len(shape) > 1:
        return shape[_int(rng, 1, len(shape) - 1):]
    return shape


def _const_operand(kind: str) -> Callable[[np.random.Generator], Branch]:
    """ADD / SUB / MUL of a tensor and a constant (either side, broadcast as TFLite defines it),
    sometimes chained as Normalization's (x - mean) * (1 / std) or Rescaling's x * scale + offset."""

    def make(rng: np.random.Generator) -> Branch:
        shape = _shape(rng, _int(rng, 1, 4), 5)
        cshape = _const_shape(rng, shape)
        inp = _input(rng, shape, straddle=True)
        chain = str(_pick(rng, ["none", "none", "normalize", "rescale"]))
        # an activation only on unchained ops whose constant cannot push every output below zero
        # (RELU of an all-negative range quantizes to a degenerate scale TFLM refuses)
        act = _activation(rng) if chain == "none" else "none"
        if kind == "mul":  # magnitudes over three decades
            c = rng.normal(size=cshape) * 10 ** rng.uniform(-1.5, 1.5)
        else:  # at most 0.4x the input's range, so the sum still straddles zero
            c = rng.normal(size=cshape) * (inp.hi - inp.lo) * 10 ** rng.uniform(-2, -0.8)
        if rng.random() < 0.3:  # one-signed: mean subtraction, positive scales
            c = np.abs(c) + 10 ** rng.uniform(-3, -1)
        const = np.asarray(c, dtype=np.float32)
        first = bool(rng.random() < 0.3)  # the constant as the first operand
        other = np.asarray(np.abs(rng.normal(size=cshape)) * 10 ** rng.uniform(-1, 1) + 0.01, dtype=np.float32)

        def build(x: Tf) -> list[Tf]:
            tf = _tf()
            k = tf.constant(const)
            if kind == "add":
                y = k + x if first else x + k
            elif kind == "sub":
                y = k - x if first else x - k
            else:
                y = k * x if first else x * k
            if chain == "normalize":  # Normalization: (x - mean) / std
                y = (y - tf.constant(other)) * tf.constant(np.float32(1.0) / other)
            elif chain == "rescale":  # Rescaling(scale, offset)
                y = y * tf.constant(other) + tf.constant(const)
            return [_activate(y, act)]

        desc = (f"{kind.upper()} input {list(shape)} constant {list(cshape)} ({'first' if first else 'second'}) "
                f"chain {chain} act {act}")
        return Branch((inp,), build, desc)

    return make


def _minmax(kind: str) -> Callable[[np.random.Generator], Branch]:
    """MAXIMUM / MINIMUM of two tensors (broadcast either way, or a tensor with itself through a
    RELU) or of a tensor and a constant (scalar, per channel, broadcast; either side). Scalar
    constants are never 0, which the converter turns into a RELU."""

    def make(rng: np.random.Generator) -> Branch:
        variant = str(_pick(rng, ["tensors", "tensors", "constant", "constant", "relu"]))
        if variant == "constant":
            shape = _shape(rng, _int(rng, 1, 4), 5)
            inp = _input(rng, shape)
            cshape = _const_shape(rng, shape)
            c = rng.uniform(inp.lo, inp.hi, size=cshape)
            c = np.where(np.abs(c) < 1e-3, 0.5 * (inp.hi - inp.lo), c)
            const = np.asarray(c, dtype=np.float32)
            first = bool(rng.random() < 0.3)
            inputs: tuple[InputSpec, ...] = (inp,)
            desc = f"{kind.upper()} input {list(shape)} constant {list(cshape)} ({'first' if first else 'second'})"
        else:
            a, b, how = _broadcast_shapes(rng) if variant == "tensors" else (*(_shape(rng, 3, 5),) * 2, "relu")
            inputs = (_input(rng, a), _input(rng, b)) if variant == "tensors" else (_input(rng, a, straddle=True),)
            desc = f"{kind.upper()} {list(a)} and {list(b)} ({how})"

        def build(x: Tf, *rest: Tf) -> list[Tf]:
            tf = _tf()
            f = tf.maximum if kind == "max" else tf.minimum
            if variant == "constant":
                k = tf.constant(const)
                return [f(k, x) if first else f(x, k)]
            if variant == "relu":  # the converter gives both operands one scale
                return [f(tf.nn.relu(x), x * 0.5)]
            return [f(x, rest[0])]

        return Branch(inputs, build, desc)

    return make


def _unary(kind: str, chain: Sequence[str] = tuple(_LUT_OPS)) -> Callable[[np.random.Generator], Branch]:
    """``chain``: the ops that may follow (16x8 models: LOGISTIC and TANH, the int16 ones edgegen compiles)."""

    def make(rng: np.random.Generator) -> Branch:
        shape = _shape(rng, _int(rng, 1, 4), 6)
        alpha = _alpha(rng)
        # a third of the cases chain a second, different table op behind the first, so that one
        # runs in place on an intermediate buffer rather than reading a model input
        then = str(_pick(rng, [k for k in chain if k != kind])) if rng.random() < 0.33 else None
        then_alpha = _alpha(rng)

        def build(x: Tf) -> list[Tf]:
            y = _LUT_OPS[kind](x, alpha)
            return [y if then is None else _LUT_OPS[then](y, then_alpha)]

        extra = f" alpha {alpha}" if kind == "leaky_relu" else ""
        chained = f" then {then}" if then else ""
        return Branch((_input(rng, shape),), build, f"{kind.upper()} input {list(shape)}{extra}{chained}")

    return make


def _activation_op(kind: str) -> Callable[[np.random.Generator], Branch]:
    """HARD_SWISH (keras.activations.hard_swish: x * relu6(x + 3) / 6) or ELU on inputs whose range
    is sometimes narrow (multipliers far below 1), sometimes tens wide (HARD_SWISH's reluish
    multiplier then shifts right), sometimes after a RELU (one-sided inputs)."""

    def make(rng: np.random.Generator) -> Branch:
        shape = _shape(rng, _int(rng, 1, 4), 6)
        inp = _input(rng, shape)
        if rng.random() < 0.2:
            inp = InputSpec(shape, inp.lo * 8, inp.hi * 8)
        relu_first = bool(rng.random() < 0.15)
        int8_elu = kind == "elu" and bool(rng.random() < 0.5)

        def build(x: Tf) -> list[Tf]:
            tf = _tf()
            x = tf.nn.relu(x) if relu_first else x
            if kind == "hard_swish":
                return [x * tf.nn.relu6(x + 3.0) * (1.0 / 6.0)]
            return [tf.nn.elu(x)]

        return Branch((inp,), build, f"{kind.upper()} input {list(shape)} [{inp.lo:.3g}, {inp.hi:.3g}]"
                      f"{' after RELU' if relu_first else ''}{' as int8 ELU' if int8_elu else ''}", int8_elu=int8_elu)

    return make


def _prelu(rng: np.random.Generator) -> Branch:
    """Keras PReLU's graph, relu(x) - alpha * relu(-x), which the converter fuses into PRELU when
    alpha has the input's shape without the batch (shared axes of size 1 broadcast); slopes
    negative, in (0, 1) and steeper than the identity."""
    shape = (1, *_shape(rng, _int(rng, 1, 3), 6))
    ashape = tuple(1 if rng.random() < 0.4 else d for d in shape[1:])
    kind = str(_pick(rng, ["leaky", "leaky", "mixed", "steep"]))
    lo, hi = {"leaky": (0.01, 0.9), "mixed": (-0.8, 0.9), "steep": (0.5, 3.0)}[kind]
    alpha = np.asarray(rng.uniform(lo, hi, size=ashape), dtype=np.float32)
    inp = _input(rng, shape, straddle=bool(rng.random() < 0.7))

    def build(x: Tf) -> list[Tf]:
        tf = _tf()
        return [tf.nn.relu(x) + tf.negative(tf.constant(alpha)) * tf.nn.relu(tf.negative(x))]

    return Branch((inp,), build, f"PRELU input {list(shape)} alpha {list(ashape)} ({kind})")


def _lstm(rng: np.random.Generator) -> Branch:
    """One LSTM (sometimes two stacked, the second reading the first's sequence) through the
    converter's fusable function (edgegen/keras/lstm.py): T 1..8 steps, 1..12 features, 1..16 units
    (odd too), the whole sequence or the last output, batch- or time-major, Keras-like weights at
    a random magnitude (so gates and cell states saturate sometimes), a forget bias near 1."""
    from edgegen.keras.lstm import fused_function

    steps, features = _int(rng, 1, 8), _int(rng, 1, 12)
    time_major = bool(rng.random() < 0.3)
    layers = []
    cols = features
    for _ in range(2 if rng.random() < 0.3 else 1):
        units = _int(rng, 1, 16)
        gain = float(rng.choice([0.5, 1.0, 2.0]))
        kernel = (rng.normal(size=(cols, 4 * units)) * gain / np.sqrt(cols)).astype(np.float32)
        recurrent = (rng.normal(size=(units, 4 * units)) * gain / np.sqrt(units)).astype(np.float32)
        bias = (rng.normal(size=4 * units) * 0.2).astype(np.float32)
        bias[units : 2 * units] += 1.0
        layers.append((units, kernel, recurrent, bias, fused_function(1, steps, cols, units, time_major=time_major)))
        cols = units
    sequence = bool(rng.random() < 0.5)
    shape = (steps, 1, features) if time_major else (1, steps, features)

    def build(x: Tf) -> list[Tf]:
        tf = _tf()
        last = x
        for units, kernel, recurrent, bias, fn in layers:
            zeros = tf.zeros((1, units))
            last, x, _h, _c, _runtime = fn(x, zeros, zeros, tf.constant(kernel), tf.constant(recurrent),
                                           tf.constant(bias))
        return [x if sequence else last]

    desc = (f"LSTM steps {steps} features {features} units {[u for u, *_ in layers]} "
            f"{'time' if time_major else 'batch'}-major {'sequence' if sequence else 'last output'}")
    return Branch((_input(rng, shape, straddle=True),), build, desc)


def _reshape16(rng: np.random.Generator) -> Branch:
    """16x8: FULLY_CONNECTED -> RESHAPE / SQUEEZE / EXPAND_DIMS -> a second FULLY_CONNECTED or a
    model output, so the int16 reshape aliases a planned buffer between two int16 kernels."""
    rows, depth, units = _int(rng, 1, 3), _int(rng, 2, 12), _int(rng, 2, 12)
    w1 = _weights(rng, (depth, units), depth, 1, prune=False)
    kind = str(_pick(rng, ["reshape", "reshape", "squeeze", "expand_dims"]))
    mid = (1, rows, units)  # a rank-3 matmul keeps its dimensions (keep_num_dims)
    axis = 0
    if kind == "squeeze":
        new_shape: tuple[int, ...] = (rows, units)
    elif kind == "expand_dims":
        axis = _int(rng, 0, 3)
        new_shape = (*mid[:axis], 1, *mid[axis:])
    else:
        options = [s for s in _factorizations(rows * units) if s != mid and len(s) <= 4]
        new_shape = tuple(_pick(rng, options)) if options else (rows * units,)
    # a SQUEEZE into a FULLY_CONNECTED (which flattens its input anyway) is dropped by the converter
    # (and so is a reshape that keeps the last dimension)
    sink = "output" if kind == "squeeze" else str(_pick(rng, ["output", "fc"]))
    if new_shape[-1] == units:
        sink = "output"
    w2 = _weights(rng, (new_shape[-1], _int(rng, 2, 8)), new_shape[-1], 1, prune=False)

    def build(x: Tf) -> list[Tf]:
        tf = _tf()
        y = tf.matmul(x, w1)
        if kind == "squeeze":
            r = tf.squeeze(y, axis=[0])
        elif kind == "expand_dims":
            r = tf.expand_dims(y, axis)
        else:
            r = tf.reshape(y, new_shape)
        if sink == "output" or new_shape[-1] < 2:
            return [r]
        return [tf.matmul(r, w2) if len(new_shape) > 1 else tf.matmul(tf.reshape(r, [1, -1]), w2)]

    desc = f"FC {depth}->{units} rows {rows} then {kind.upper()} {list(mid)} -> {list(new_shape)} into {sink}"
    return Branch((_input(rng, (1, rows, depth)),), build, desc, squeeze_axis=0 if kind == "squeeze" else None)


def _float_io(rng: np.random.Generator) -> Branch:
    """A float input, one int8 op, a float output: QUANTIZE and DEQUANTIZE at the model edges."""
    shape = (1, _int(rng, 1, 5), _int(rng, 1, 5), _int(rng, 1, 4))
    op = str(_pick(rng, ["relu", "tanh", "leaky_relu", "avg_pool", "add", "mean", "concat"]))
    inputs = [_input(rng, shape)]
    if op in ("add", "concat"):
        inputs.append(_input(rng, shape))

    def build(x: Tf, *rest: Tf) -> list[Tf]:
        tf = _tf()
        if op == "relu":
            return [tf.nn.relu(x)]
        if op == "tanh":
            return [tf.tanh(x)]
        if op == "leaky_relu":
            return [tf.nn.leaky_relu(x, alpha=0.25)]
        if op == "avg_pool":
            return [tf.nn.avg_pool2d(x, [1, 2], [1, 1], "SAME")]
        if op == "add":
            return [x + rest[0]]
        if op == "mean":
            return [tf.reduce_mean(x, axis=[1, 2])]
        return [tf.concat([x, rest[0]], axis=3)]

    return Branch(tuple(inputs), build, f"float {list(shape)} -> {op} -> float")


def _requantize(rng: np.random.Generator) -> Branch:
    """CONCATENATION of a LOGISTIC / TANH output with other tensors: those fixed-scale outputs
    differ from the concatenation's scale, so the converter inserts int8->int8 QUANTIZE ops."""
    rank = _int(rng, 1, 4)
    base = _shape(rng, rank, 4)
    first = str(_pick(rng, ["logistic", "tanh"]))
    others = [str(_pick(rng, ["input", "input", "logistic", "tanh", "relu"])) for _ in range(_int(rng, 1, 2))]
    kinds = [first, *others]
    shapes = []
    for _ in kinds:
        s = list(base)
        s[-1] = _int(rng, 1, 4)
        shapes.append(tuple(s))

    def build(*xs: Tf) -> list[Tf]:
        ys = [x if k == "input" else _LUT_OPS[k](x, 0.0) for k, x in zip(kinds, xs, strict=True)]
        return [_tf().concat(ys, axis=-1)]

    desc = f"QUANTIZE (requantize) into CONCATENATION of {kinds} shapes {[list(s) for s in shapes]}"
    return Branch(tuple(_input(rng, s, straddle=True) for s in shapes), build, desc)


_RESHAPES = ("RESHAPE", "SQUEEZE", "EXPAND_DIMS")

FAMILIES: dict[str, Family] = {f.name: f for f in (
    Family("conv_2d", _conv2d, ("CONV_2D",)),
    Family("conv_2d_1x1", _conv2d_1x1, ("CONV_2D",)),
    Family("conv_2d_general", _conv2d_general, ("CONV_2D",)),
    Family("depthwise_conv_2d", _depthwise, ("DEPTHWISE_CONV_2D",)),
    Family("depthwise_conv_2d_3x3", _depthwise_3x3, ("DEPTHWISE_CONV_2D",)),
    Family("depthwise_conv_2d_1ch", _depthwise_1ch, ("DEPTHWISE_CONV_2D",)),
    Family("depthwise_conv_2d_grouped", _depthwise_grouped, ("DEPTHWISE_CONV_2D",)),
    Family("transpose_conv", _transpose_conv, ("TRANSPOSE_CONV",)),
    Family("fully_connected", _fully_connected, ("FULLY_CONNECTED",), per_channel_dense=False),
    Family("fully_connected_per_channel", _fully_connected, ("FULLY_CONNECTED",), seeds=(10, 11, 12)),
    Family("average_pool_2d", _pool("avg"), ("AVERAGE_POOL_2D",)),
    Family("max_pool_2d", _pool("max"), ("MAX_POOL_2D",)),
    Family("mean", _reduction("mean"), ("MEAN",)),
    Family("reduce_max", _reduction("max"), ("REDUCE_MAX",)),
    Family("add", _binary("add"), ("ADD",)),
    Family("sub", _binary("sub"), ("SUB",)),
    Family("mul", _binary("mul"), ("MUL",)),
    Family("add_const", _const_operand("add"), ("ADD",), seeds=(0, 1)),
    Family("sub_const", _const_operand("sub"), ("SUB",), seeds=(0, 1)),
    Family("mul_const", _const_operand("mul"), ("MUL",), seeds=(0, 1)),
    Family("maximum", _minmax("max"), ("MAXIMUM",), seeds=(0, 1)),
    Family("minimum", _minmax("min"), ("MINIMUM",), seeds=(0, 1)),
    Family("hard_swish", _activation_op("hard_swish"), ("HARD_SWISH",), seeds=(0, 1)),
    Family("elu", _activation_op("elu"), ("ELU",), seeds=(0, 1)),
    Family("prelu", _prelu, ("PRELU",), seeds=(0, 1)),
    Family("softmax", _softmax, ("SOFTMAX",)),
    Family("reshape_squeeze", _reshape, _RESHAPES, each=("RESHAPE", "SQUEEZE")),
    Family("pad", _pad, ("PAD",)),
    Family("concatenation", _concat, ("CONCATENATION",)),
    Family("slice", _slice, ("SLICE",)),
    Family("strided_slice", _strided_slice, ("STRIDED_SLICE",)),
    Family("transpose", _transpose, ("TRANSPOSE",)),
    Family("split", _split("split"), ("SPLIT",)),
    Family("split_v", _split("split_v"), ("SPLIT_V",)),
    Family("resize_nearest_neighbor", _resize("nearest"), ("RESIZE_NEAREST_NEIGHBOR",)),
    Family("resize_bilinear", _resize("bilinear"), ("RESIZE_BILINEAR",)),
    Family("logistic", _unary("logistic"), ("LOGISTIC",)),
    Family("tanh", _unary("tanh"), ("TANH",)),
    Family("relu", _unary("relu"), ("RELU",)),
    Family("relu6", _unary("relu6"), ("RELU6",)),
    Family("leaky_relu", _unary("leaky_relu"), ("LEAKY_RELU",)),
    Family("lstm", _lstm, ("UNIDIRECTIONAL_SEQUENCE_LSTM",), seeds=(0, 1), keep_functions=True),
    Family("quantize_dequantize_float_io", _float_io, ("QUANTIZE",), float_io=True, also=(("DEQUANTIZE",),)),
    Family("requantize_int8", _requantize, ("QUANTIZE",)),
    # TFLite's 16x8 scheme (issue 16): int16 activations, int8 weights, int64 biases
    Family("fully_connected_16x8", _fully_connected, ("FULLY_CONNECTED",), seeds=(20, 21), int16=True),
    # seeds whose every branch keeps a usable output scale: a RELU branch whose calibration outputs were
    # all negative gets a denormal scale that TFLM cannot requantize to (refused; about 1 branch in 30)
    Family("conv_2d_16x8", _conv2d_16x8, ("CONV_2D",), seeds=(22, 25), int16=True),
    Family("depthwise_conv_2d_16x8", _depthwise_16x8, ("DEPTHWISE_CONV_2D",), seeds=(21, 22), int16=True),
    Family("conv_2d_16x8_bias32", _conv2d_16x8, ("CONV_2D",), seeds=(24, 23), int16=True, bias32=True),
    Family("fully_connected_16x8_per_tensor", _fully_connected, ("FULLY_CONNECTED",), seeds=(22, 23),
           per_channel_dense=False, int16=True),
    Family("average_pool_2d_16x8", _pool("avg"), ("AVERAGE_POOL_2D",), seeds=(20, 21), int16=True),
    Family("max_pool_2d_16x8", _pool("max"), ("MAX_POOL_2D",), seeds=(20, 21), int16=True),
    Family("add_16x8", _binary("add", relu_operands=False), ("ADD",), seeds=(20, 21), int16=True),
    Family("sub_16x8", _binary("sub", relu_operands=False), ("SUB",), seeds=(20, 21), int16=True),
    Family("mul_16x8", _binary("mul", relu_operands=False), ("MUL",), seeds=(20, 21), int16=True),
    # constant operands (Normalization / Rescaling chains also put SUB and MUL around the ADD)
    Family("add_const_16x8", _const_operand("add"), ("ADD",), seeds=(20, 21), int16=True),
    Family("logistic_16x8", _unary("logistic", ("logistic", "tanh")), ("LOGISTIC",), seeds=(20, 21), int16=True),
    Family("tanh_16x8", _unary("tanh", ("logistic", "tanh")), ("TANH",), seeds=(20, 21), int16=True),
    Family("softmax_16x8", _softmax, ("SOFTMAX",), seeds=(20, 21), int16=True),
    Family("mean_16x8", _reduction("mean"), ("MEAN",), seeds=(20, 21), int16=True),
    # PAD and CONCATENATION move int16 values as pairs of bytes (edgegen's int8 copies)
    Family("pad_16x8", _pad, ("PAD",), seeds=(20, 21), int16=True),
    Family("concatenation_16x8", _concat, ("CONCATENATION",), seeds=(20, 21), int16=True),
    Family("chain_16x8", _chain_16x8, ("SOFTMAX",), seeds=(20, 21), int16=True,
           also=(("AVERAGE_POOL_2D", "MAX_POOL_2D"), ("ADD", "MUL"), ("LOGISTIC", "TANH"), ("MEAN",))),
    # int32 biases: no pruned channels, to which the converter gives weight scale 0 in this mode (refused)
    Family("fully_connected_16x8_bias32", functools.partial(_fully_connected, prune=False), ("FULLY_CONNECTED",),
           seeds=(30, 35), int16=True, bias32=True),
    # float32 model I/O around 16x8 layers: QUANTIZE float32 -> int16 and DEQUANTIZE int16 -> float32
    Family("quantize_dequantize_16x8", functools.partial(_fully_connected, prune=False), ("QUANTIZE",),
           seeds=(32, 33), float_io=True, int16=True, also=(("DEQUANTIZE",), ("FULLY_CONNECTED",))),
    # pruned (all-zero) weight channels, to which the 16x8 converter gives weight scale 0.0: a CONV_2D,
    # DEPTHWISE_CONV_2D or FULLY_CONNECTED per branch (>= 20 of each for this seed: tests/test_pruned_scales.py)
    Family("pruned_16x8", _pruned_16x8, ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED"), seeds=(41,),
           branches=PRUNED_BRANCHES, int16=True),
    Family("reshape_squeeze_16x8", _reshape16, _RESHAPES, seeds=(27, 28), int16=True, each=("RESHAPE", "SQUEEZE")),
)}


# ------------------------------------------------------------------------------------------
# conversion
# ------------------------------------------------------------------------------------------


def _calibration(branches: Sequence[Branch], rng: np.random.Generator,
                 by_name: bool = False) -> Callable[[], Iterator[Any]]:
    """Calibration samples in input order, or ``by_name`` as dicts keyed by the inputs' names (the
    converter's saved-model path, taken with ``keep_functions``, does not keep the input order)."""
    specs = [s for b in branches for s in b.inputs]
    names = [f"b{bi:02d}i{k}" for bi, b in enumerate(branches) for k in range(len(b.inputs))]
    data = [[rng.uniform(s.lo, s.hi, size=s.shape).astype(np.float32) for s in specs]
            for _ in range(CALIBRATION_SAMPLES)]

    def dataset() -> Iterator[Any]:
        for sample in data:
            yield dict(zip(names, sample, strict=True)) if by_name else sample

    return dataset


def _convert(branches: Sequence[Branch], family: Family, rng: np.random.Generator) -> bytes:
    tf = _tf()
    specs = [tf.TensorSpec(s.shape, tf.float32, name=f"b{bi:02d}i{k}")
             for bi, b in enumerate(branches) for k, s in enumerate(b.inputs)]

    def model(*xs: Tf) -> list[Tf]:
        outs: list[Tf] = []
        pos = 0
        for b in branches:
            outs.extend(b.build(*xs[pos : pos + len(b.inputs)]))
            pos += len(b.inputs)
        return outs

    # no autograph: the branches are straight-line TensorFlow code
    fn = tf.function(model, input_signature=specs, autograph=False)
    trackable: Any = fn
    if family.keep_functions:
        trackable = tf.Module()
        trackable.fn = fn
    converter = tf.lite.TFLiteConverter.from_concrete_functions([fn.get_concrete_function()], trackable)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = _calibration(branches, rng, by_name=family.keep_functions)
    if family.int16:
        ops16 = tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
        converter.target_spec.supported_ops = [ops16]
        if family.bias32:
            converter._experimental_full_integer_quantization_bias_type = tf.int32
    else:
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    io = tf.float32 if family.float_io else tf.int16 if family.int16 else tf.int8
    converter.inference_input_type = io
    converter.inference_output_type = io
    # the converter quantizes dense weights per channel unless told otherwise
    converter._experimental_disable_per_channel_quantization_for_dense_layers = not family.per_channel_dense
    with warnings.catch_warnings():
        # "Statistics for quantized inputs were expected": the representative dataset provides them
        warnings.simplefilter("ignore", UserWarning)
        return bytes(converter.convert())


@functools.cache
def op_model(family: str, seed: int) -> OpModel:
    """The converted model of ``family`` for ``seed``; cached for the session (conversion is slow)."""
    fam = FAMILIES[family]
    # seed by family name too, so two families with the same seed still draw different cases
    rng = np.random.default_rng([seed, *family.encode()])
    branches = tuple(fam.make_branch(rng) for _ in range(fam.branches))
    data = _convert(branches, fam, rng)
    if any(b.squeeze_axis is not None or (b.beta is not None and b.beta != 1.0) or b.int8_elu for b in branches):
        data = _edit_ops(data, branches)
    return OpModel(family=family, seed=seed, tflite=data, branches=branches)


@functools.cache
def degenerate_softmax_model() -> bytes:
    """RELU of an input calibrated to [-0.4, -0.05], feeding SOFTMAX.

    The RELU's output range is [0, 0], which the converter quantizes with scale ~7.8e-9, so
    SOFTMAX's beta * input_scale * 2^26 is below 1. TFLM aborts the whole process on this model
    (QuantizeMultiplierGreaterThanOne's check in SOFTMAX's Prepare): never hand it to the oracle.
    """

    def build(x: Tf) -> list[Tf]:
        tf = _tf()
        return [tf.nn.softmax(tf.nn.relu(x))]

    branch = Branch((InputSpec((2, 4), -0.4, -0.05),), build, "RELU of a negative range into SOFTMAX")
    return _convert([branch], Family("degenerate_softmax", lambda rng: branch, ("SOFTMAX",)),
                    np.random.default_rng(0))


# ------------------------------------------------------------------------------------------
# reading the converted model
# ------------------------------------------------------------------------------------------


def _fb_model(data: bytes) -> Any:
    return fb.ModelT.InitFromPackedBuf(data, 0)


def _builtin_name(model: Any, op: Any) -> str:
    code = model.operatorCodes[op.opcodeIndex]
    value = max(int(code.builtinCode), int(code.deprecatedBuiltinCode))
    return str(_OP_NAMES.get(value, f"builtin {value}"))


def builtin_counts(data: bytes) -> Counter[str]:
    """How often each builtin op occurs (SQUEEZE and RESHAPE stay apart, unlike in edgegen's IR)."""
    m = _fb_model(data)
    return Counter(_builtin_name(m, op) for op in m.subgraphs[0].operators or [])


def _owners(names: dict[int, str], ops: Sequence[tuple[Sequence[int], Sequence[int]]]) -> dict[int, int]:
    """tensor index -> branch, propagated from the named model inputs through the ops."""
    owner: dict[int, int] = {}
    for t, name in names.items():
        m = _INPUT_NAME.search(name)
        if m:
            owner[t] = int(m.group(1))
    for inputs, outputs in ops:
        branch = next((owner[t] for t in inputs if t in owner), None)
        if branch is not None:
            for t in outputs:
                owner[t] = branch
    return owner


def branch_of_op(graph: ir.Graph, op_index: int) -> int | None:
    """Which branch an op of a generated model belongs to (None if it cannot be told)."""
    names = {t: graph.tensor(t).name for t in graph.inputs}
    owner = _owners(names, [(op.inputs, op.outputs) for op in graph.ops])
    op = graph.ops[op_index] if 0 <= op_index < len(graph.ops) else None
    return None if op is None else owner.get(op.outputs[0])


def _edit_ops(data: bytes, branches: Sequence[Branch]) -> bytes:
    """Set what TensorFlow cannot express on the converted ops, branch by branch.

    * SOFTMAX beta: TensorFlow's softmax has none and the converter does not fold a preceding
      scale into it, so every converted SOFTMAX has beta 1.0; TFLM honours other values.
    * SQUEEZE: the converter turns every static-shape tf.squeeze into RESHAPE; TFLM and edgegen
      also take the SQUEEZE builtin, so the RESHAPE of a squeeze branch becomes one again.
    * int8 ELU: the converter leaves ELU in float32 between a DEQUANTIZE and a QUANTIZE; the ELU
      then reads the DEQUANTIZE's int8 input and writes the QUANTIZE's int8 output, and those two
      ops go (TFLM computes an int8 ELU with its own table).
    """
    m = _fb_model(data)
    sg = m.subgraphs[0]
    names = {int(t): _decode(sg.tensors[t].name) for t in sg.inputs}
    owner = _owners(names, [(list(op.inputs), list(op.outputs)) for op in sg.operators])
    edited: set[int] = set()
    dropped: list[Any] = []
    for op in sg.operators:
        bi = owner.get(int(op.outputs[0]))
        if bi is None:
            continue
        b = branches[bi]
        kind = _builtin_name(m, op)
        if kind == "SOFTMAX" and b.beta is not None and b.beta != 1.0:
            op.builtinOptions.beta = b.beta
            edited.add(bi)
        elif kind == "RESHAPE" and b.squeeze_axis is not None:
            op.opcodeIndex = _opcode(m, fb.BuiltinOperator.SQUEEZE)
            op.inputs = op.inputs[:1]  # SQUEEZE has no shape operand
            op.builtinOptionsType = fb.BuiltinOptions.SqueezeOptions
            op.builtinOptions = fb.SqueezeOptionsT()
            op.builtinOptions.squeezeDims = [b.squeeze_axis]
            edited.add(bi)
        elif kind == "ELU" and b.int8_elu:
            deq = next(o for o in sg.operators if int(o.outputs[0]) == int(op.inputs[0]))
            q = next(o for o in sg.operators if int(o.inputs[0]) == int(op.outputs[0]))
            assert _builtin_name(m, deq) == "DEQUANTIZE" and _builtin_name(m, q) == "QUANTIZE"
            op.inputs, op.outputs = [int(deq.inputs[0])], [int(q.outputs[0])]
            dropped += [deq, q]
            edited.add(bi)
    sg.operators = [op for op in sg.operators if not any(op is d for d in dropped)]
    wanted = {i for i, b in enumerate(branches)
              if b.squeeze_axis is not None or b.beta not in (None, 1.0) or b.int8_elu}
    assert edited == wanted, f"edited branches {sorted(edited)}, expected {sorted(wanted)}"
    builder = flatbuffers.Builder(len(data) + 4096)
    builder.Finish(m.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def _opcode(model: Any, builtin: int) -> int:
    """The index of ``builtin``'s operator code, added to the model if it has none yet."""
    for i, code in enumerate(model.operatorCodes):
        if max(int(code.builtinCode), int(code.deprecatedBuiltinCode)) == builtin:
            return i
    code = fb.OperatorCodeT()
    code.builtinCode = builtin
    code.deprecatedBuiltinCode = min(builtin, fb.BuiltinOperator.PLACEHOLDER_FOR_GREATER_OP_CODES)
    code.version = 1
    model.operatorCodes.append(code)
    return len(model.operatorCodes) - 1


def _decode(name: Any) -> str:
    return name.decode("utf-8", "replace") if isinstance(name, bytes) else str(name)


# ------------------------------------------------------------------------------------------
# inputs
# ------------------------------------------------------------------------------------------


def edge_inputs(program: Program) -> list[tuple[np.ndarray, ...]]:
    """Three deterministic samples that uniform random inputs rarely produce.

    * a ramp through every int8 value (tiled), so each table op sees its whole table; for float
      inputs, the points half-way between quantization steps, where rounding decides (int16: a
      ramp of 256 codes spread over the whole int16 range, each step 257 codes)
    * every element at the int8 (int16) minimum, then every element at the maximum: saturated sums,
      all-equal SOFTMAX rows, outputs at the activation clamps
    """
    ramp, low, high = [], [], []
    for i, ref in enumerate(program.inputs):
        codes = np.resize(np.roll(np.arange(-128, 128), 37 * i), ref.size).reshape(ref.shape)
        wide = ref.ctype == "int16_t" or (ref.ctype == "float" and _quantized_to(program, ref) == "int16_t")
        qlo, qhi = (-32768, 32767) if wide else (-128, 127)
        if wide:
            codes = codes * 257 + 128  # -32768 .. 32767
        if ref.ctype == "float":
            scale, zero = _input_quantization(program, ref)
            ramp.append(((codes - zero + 0.5) * scale).astype(np.float32))
            low.append(np.full(ref.shape, (qlo - zero) * scale, dtype=np.float32))
            high.append(np.full(ref.shape, (qhi - zero) * scale, dtype=np.float32))
        else:
            dt = np.int16 if wide else np.int8
            ramp.append(codes.astype(dt))
            low.append(np.full(ref.shape, qlo, dtype=dt))
            high.append(np.full(ref.shape, qhi, dtype=dt))
    return [tuple(ramp), tuple(low), tuple(high)]


def _quantized_to(program: Program, ref: TensorRef) -> str:
    """The C type of the QUANTIZE output that reads float model input ``ref``."""
    for call in program.calls:
        if call.KIND == "quantize" and any(r.buffer == ref.buffer for r in call.inputs):
            return call.output.ctype
    raise AssertionError(f"no QUANTIZE reads float input '{ref.name}'")


def _input_quantization(program: Program, ref: TensorRef) -> tuple[float, int]:
    """The scale and zero point of the QUANTIZE that reads float model input ``ref``."""
    for call in program.calls:
        if call.KIND == "quantize" and any(r.buffer == ref.buffer for r in call.inputs):
            return float(call.output.scale), int(call.output.zero_point)
    raise AssertionError(f"no QUANTIZE reads float input '{ref.name}'")
