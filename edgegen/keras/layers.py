"""What edgegen compiles, per Keras layer class: the pre-flight check run before conversion.

One table (:data:`SUPPORTED`, :data:`REFUSED`, :data:`ACTIVATIONS`, :data:`REFUSED_ACTIVATIONS`)
says, per Keras layer class and activation name, which TFLite ops TensorFlow's converter makes of
it and whether edgegen compiles them; :func:`preflight` walks a model's layers (nested models
too) against it and refuses, before a conversion that can take a minute, with every offending
layer on its own line: ``layer 'name' (Class): reason; use X instead``. The entries were found by
converting one tiny model per case (``bench/keras_layer_support.py``, results in
``bench/kernels/results/issue15-kerasside-runs.txt``); docs/user-guide.md's "Keras layers" table
is checked against this module by tests/keras/test_preflight.py.

UpSampling2D with nearest interpolation is converted as the nearest Resizing it equals (one
RESIZE_NEAREST_NEIGHBOR, :mod:`.convert`), and LSTM through the fused op (:mod:`.lstm`);
UpSampling1D and RepeatVector become TILE, which TFLM has no kernel for, so they are refused.

A class the table does not know (a custom layer, a wrapper) is let through: the converter decides,
and an op edgegen then refuses is mapped back to its layer (:mod:`.opmap`).
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UnsupportedError


@dataclass(frozen=True)
class Supported:
    #: the TFLite ops the converter makes of the layer ("" when it disappears: folded or a no-op)
    ops: str
    #: the options that hold (others are refused by :data:`CONDITIONS`)
    options: str = ""


@dataclass(frozen=True)
class Refused:
    reason: str
    instead: str

    def line(self, name: str, cls: str) -> str:
        return f"layer '{name}' ({cls}): {self.reason}; use {self.instead} instead"


_ACT = "its activation (see the activations table)"
_NOOP = "none at inference (removed by the converter)"

SUPPORTED: dict[str, Supported] = {
    "InputLayer": Supported("", "float32 inputs of up to 4 dimensions"),
    "Conv2D": Supported("CONV_2D", f"strides, dilation, valid/same padding, groups=1; {_ACT}"),
    "Conv1D": Supported("CONV_2D (PAD for causal padding)", f"valid/same/causal padding, groups=1; {_ACT}"),
    "DepthwiseConv2D": Supported("DEPTHWISE_CONV_2D", f"any depth_multiplier, strides, dilation; {_ACT}"),
    "DepthwiseConv1D": Supported("DEPTHWISE_CONV_2D", _ACT),
    "SeparableConv2D": Supported("DEPTHWISE_CONV_2D + CONV_2D", _ACT),
    "SeparableConv1D": Supported("DEPTHWISE_CONV_2D + CONV_2D", _ACT),
    "Conv2DTranspose": Supported("TRANSPOSE_CONV", _ACT),
    "Dense": Supported("FULLY_CONNECTED", f"inputs of any rank (applied to the last axis); {_ACT}"),
    "MaxPooling2D": Supported("MAX_POOL_2D"),
    "MaxPooling1D": Supported("MAX_POOL_2D"),
    "AveragePooling2D": Supported("AVERAGE_POOL_2D"),
    "AveragePooling1D": Supported("AVERAGE_POOL_2D"),
    "GlobalAveragePooling2D": Supported("MEAN", "keepdims too"),
    "GlobalAveragePooling1D": Supported("MEAN"),
    "GlobalMaxPooling2D": Supported("REDUCE_MAX"),
    "GlobalMaxPooling1D": Supported("REDUCE_MAX"),
    "ZeroPadding2D": Supported("PAD"),
    "ZeroPadding1D": Supported("PAD"),
    "Cropping2D": Supported("STRIDED_SLICE"),
    "Cropping1D": Supported("STRIDED_SLICE"),
    "CenterCrop": Supported("STRIDED_SLICE"),
    "Flatten": Supported("RESHAPE (or none)"),
    "Reshape": Supported("RESHAPE (or none)"),
    "Permute": Supported("TRANSPOSE"),
    "UpSampling2D": Supported("RESIZE_NEAREST_NEIGHBOR (nearest: converted as the nearest Resizing it equals), "
                              "RESIZE_BILINEAR (bilinear)", "interpolation nearest or bilinear"),
    "Resizing": Supported("RESIZE_BILINEAR / RESIZE_NEAREST_NEIGHBOR", "interpolation bilinear or nearest"),
    "Dropout": Supported("", _NOOP),
    "SpatialDropout1D": Supported("", _NOOP),
    "SpatialDropout2D": Supported("", _NOOP),
    "GaussianNoise": Supported("", _NOOP),
    "GaussianDropout": Supported("", _NOOP),
    "AlphaDropout": Supported("", _NOOP),
    "ActivityRegularization": Supported("", _NOOP),
    "Identity": Supported("", _NOOP),
    "BatchNormalization": Supported("folded into the convolution/Dense before it; else MUL + ADD"),
    "Rescaling": Supported("MUL + ADD by constants (int8 tables)"),
    "Normalization": Supported("SUB + MUL (or folded)"),
    "Add": Supported("ADD"),
    "Subtract": Supported("SUB"),
    "Multiply": Supported("MUL"),
    "Average": Supported("ADD + MUL"),
    "Maximum": Supported("MAXIMUM"),
    "Minimum": Supported("MINIMUM"),
    "Concatenate": Supported("CONCATENATION"),
    "ReLU": Supported("RELU / RELU6 (or fused), LEAKY_RELU (negative_slope), MINIMUM + RELU (max_value)",
                      "threshold=0"),
    "LeakyReLU": Supported("LEAKY_RELU"),
    "ELU": Supported("ELU"),
    "PReLU": Supported("PRELU"),
    "Softmax": Supported("SOFTMAX", "the last axis"),
    "Activation": Supported(_ACT.replace("its activation", "the activation's ops")),
    "LSTM": Supported("UNIDIRECTIONAL_SEQUENCE_LSTM"),
    "Lambda": Supported("whatever its function makes (checked after conversion)",
                        "in a .keras file only with --unsafe-deserialization"),
}

_RNN = "a forward LSTM, or Conv1D layers over the time axis"
_ATTENTION = ("it becomes BATCH_MATMUL, which edgegen does not compile",
              "convolutions or Dense layers (e.g. squeeze-and-excite: GlobalAveragePooling2D, Dense, Multiply)")
_3D = ("a 3-D op (CONV_3D, 3-D pooling or padding), which TFLM has no int8 kernel for",
       "the 2-D layer, with one spatial dimension folded into the channels by a Reshape")

_TILE = "it becomes TILE, which TFLM has no int8 kernel for"

REFUSED: dict[str, Refused] = {
    "RepeatVector": Refused(_TILE, "Reshape((1, 1, features)), UpSampling2D((n, 1)), Reshape((n, features))"),
    "UpSampling1D": Refused(_TILE, "Reshape((steps, 1, channels)), UpSampling2D((size, 1)), "
                                   "Reshape((steps * size, channels))"),
    "GRU": Refused("edgegen has no int8 GRU kernel", _RNN),
    "SimpleRNN": Refused("edgegen has no int8 SimpleRNN kernel", _RNN),
    "Bidirectional": Refused("edgegen compiles forward (unidirectional) LSTMs only", _RNN),
    "ConvLSTM1D": Refused("edgegen has no int8 ConvLSTM kernel", "Conv1D/Conv2D layers followed by an LSTM"),
    "ConvLSTM2D": Refused("edgegen has no int8 ConvLSTM kernel", "Conv1D/Conv2D layers followed by an LSTM"),
    "ConvLSTM3D": Refused("edgegen has no int8 ConvLSTM kernel", "Conv1D/Conv2D layers followed by an LSTM"),
    "Attention": Refused(*_ATTENTION),
    "AdditiveAttention": Refused(*_ATTENTION),
    "MultiHeadAttention": Refused(*_ATTENTION),
    "GroupQueryAttention": Refused(*_ATTENTION),
    "Dot": Refused("it becomes BATCH_MATMUL, which edgegen does not compile", "Dense, or Multiply then a pooling"),
    "Conv3D": Refused(*_3D),
    "Conv3DTranspose": Refused(*_3D),
    "MaxPooling3D": Refused(*_3D),
    "AveragePooling3D": Refused(*_3D),
    "GlobalAveragePooling3D": Refused(*_3D),
    "GlobalMaxPooling3D": Refused(*_3D),
    "UpSampling3D": Refused(*_3D),
    "ZeroPadding3D": Refused(*_3D),
    "Cropping3D": Refused(*_3D),
    "SpatialDropout3D": Refused(*_3D),
    "LayerNormalization": Refused("the converter makes float NEG/RSQRT/SQUARED_DIFFERENCE ops of it, which edgegen "
                                  "does not compile", "BatchNormalization (folded into the layer before it)"),
    "GroupNormalization": Refused("it becomes a MEAN over non-adjacent axes, which edgegen does not compile",
                                  "BatchNormalization (folded into the layer before it)"),
    "UnitNormalization": Refused("it becomes SQUARE/RSQRT ops, which edgegen does not compile",
                                 "BatchNormalization, or no normalization"),
    "Embedding": Refused("it takes integer token inputs (GATHER), and edgegen's generated API takes int8 or float32 "
                         "inputs", "one-hot (or multi-hot) float inputs and a Dense layer"),
}

#: activations (by Keras name, aliases included) that compile, and the ops they become
ACTIVATIONS: dict[str, str] = {
    "linear": "none", "relu": "fused into the layer (or RELU)", "relu6": "fused into the layer (or RELU6)",
    "hard_tanh": "fused into the layer (clamp to -1..1)",
    "sigmoid": "LOGISTIC", "tanh": "TANH", "softmax": "SOFTMAX", "swish": "LOGISTIC + MUL",
    "silu": "LOGISTIC + MUL", "hard_swish": "HARD_SWISH", "hard_silu": "HARD_SWISH",
    "hard_sigmoid": "folded clamp + MUL", "elu": "ELU", "leaky_relu": "LEAKY_RELU", "tanh_shrink": "TANH + SUB",
}

_SMOOTH = "relu, relu6, hard_swish, swish or elu"
#: activations the converter makes ops of that edgegen does not compile (by Keras name)
REFUSED_ACTIVATIONS: dict[str, Refused] = {
    "gelu": Refused("activation 'gelu' becomes GELU, which edgegen does not compile", "hard_swish or swish"),
    "selu": Refused("activation 'selu' becomes GREATER/SELECT ops, which edgegen does not compile", "elu"),
    "celu": Refused("activation 'celu' becomes EXP, which edgegen does not compile", "elu"),
    "softplus": Refused("activation 'softplus' becomes EXP/LOG, which edgegen does not compile", "swish or relu"),
    "mish": Refused("activation 'mish' becomes EXP/LOG, which edgegen does not compile", "swish or hard_swish"),
    "exponential": Refused("activation 'exponential' becomes EXP, which edgegen does not compile", _SMOOTH),
    "softsign": Refused("activation 'softsign' becomes ABS/DIV, which edgegen does not compile", "tanh"),
    "log_softmax": Refused("activation 'log_softmax' becomes LOG_SOFTMAX, which edgegen does not compile",
                           "softmax (and take the log on the host)"),
    "log_sigmoid": Refused("activation 'log_sigmoid' becomes NEG/EXP ops, which edgegen does not compile",
                           "sigmoid"),
    "sparse_plus": Refused("activation 'sparse_plus' becomes LESS/SELECT ops, which edgegen does not compile",
                           _SMOOTH),
    "squareplus": Refused("activation 'squareplus' becomes SQUARE/SQRT, which edgegen does not compile", _SMOOTH),
    "soft_shrink": Refused("activation 'soft_shrink' becomes GREATER/SELECT ops, which edgegen does not compile",
                           "tanh_shrink"),
    "hard_shrink": Refused("activation 'hard_shrink' becomes ABS/SELECT ops, which edgegen does not compile",
                           "tanh_shrink"),
    "sparsemax": Refused("activation 'sparsemax' becomes TOPK_V2, which edgegen does not compile", "softmax"),
    "glu": Refused("activation 'glu' is refused by TensorFlow's converter", "sigmoid and a Multiply"),
    "threshold": Refused("activation 'threshold' is refused by TensorFlow's converter", "relu"),
}


#: a layer's option by name, with a default: ``getattr`` on a live layer, ``dict.get`` on its
#: saved config (the two spell the options alike)
Option = Callable[[str, Any], Any]


def _activation_name(fn: Any) -> str | None:
    """The Keras name of an activation: a function (a live layer's) or a string (a saved config);
    None for a custom one, which the converter decides on."""
    if isinstance(fn, str):
        return fn
    name = getattr(fn, "__name__", None) if callable(fn) else None
    return name if isinstance(name, str) else None


def _groups(opt: Option) -> Refused | None:
    groups = int(opt("groups", 1) or 1)
    if groups == 1:
        return None
    return Refused(f"groups={groups} (a grouped convolution), which edgegen does not compile",
                   "DepthwiseConv2D (groups equal to the input channels), or one Conv2D per group on sliced "
                   "channels joined by Concatenate")


def _relu(opt: Option) -> Refused | None:
    threshold = float(opt("threshold", 0.0) or 0.0)
    if threshold == 0.0:
        return None
    return Refused(f"threshold={threshold:g} becomes GREATER/SELECT ops, which edgegen does not compile",
                   "ReLU() with threshold 0 (shift by a bias in the layer before)")


def _interpolation(allowed: tuple[str, ...]) -> Callable[[Option], Refused | None]:
    def check(opt: Option) -> Refused | None:
        how = str(opt("interpolation", "nearest"))
        if how in allowed:
            return None
        return Refused(f"interpolation '{how}' has no TFLite resize op edgegen compiles",
                       f"interpolation={' or '.join(repr(a) for a in allowed)}")
    return check


#: per-class checks of the options (run for supported classes; None when the layer is fine)
CONDITIONS: dict[str, Callable[[Option], Refused | None]] = {
    "Conv2D": _groups, "Conv1D": _groups, "ReLU": _relu,
    "UpSampling2D": _interpolation(("nearest", "bilinear")), "Resizing": _interpolation(("bilinear", "nearest")),
}


def walk(model: Any) -> Iterator[Any]:
    """Every layer of ``model``, nested models' layers included (the nested model itself is not
    yielded: its layers are what becomes ops)."""
    for layer in getattr(model, "layers", ()):
        inner = getattr(layer, "layers", None)
        if inner is not None and hasattr(layer, "get_layer"):  # a keras.Model (Functional, Sequential)
            yield from walk(layer)
        else:
            yield layer


def _problem(cls: str, opt: Option) -> Refused | None:
    why = REFUSED.get(cls)
    if why is None:
        check = CONDITIONS.get(cls)
        why = check(opt) if check is not None else None
    if why is None:
        act = _activation_name(opt("activation", None))
        why = REFUSED_ACTIVATIONS.get(act) if act is not None else None
    return why


def _live(layer: Any) -> Option:
    return lambda key, default: getattr(layer, key, default)


def problems(model: Any) -> list[str]:
    """One line per layer edgegen cannot compile, in the model's order."""
    lines = []
    for layer in walk(model):
        cls = type(layer).__name__
        why = _problem(cls, _live(layer))
        if why is not None:
            lines.append(why.line(layer.name, cls))
    return lines


def config_problems(config: Any) -> list[str]:
    """:func:`problems` of a saved model's config (a ``.keras`` archive's config.json), read
    without TensorFlow: the CLI refuses a model before spending seconds importing it."""
    lines: list[str] = []

    def visit(node: Any) -> None:
        if not isinstance(node, dict):
            return
        cls = str(node.get("class_name", ""))
        cfg = node.get("config")
        cfg = cfg if isinstance(cfg, dict) else {}
        if isinstance(cfg.get("layers"), list):  # a Functional or Sequential model
            for layer in cfg["layers"]:
                visit(layer)
            return
        why = _problem(cls, lambda key, default: cfg.get(key, default))
        if why is not None:
            lines.append(why.line(str(cfg.get("name", node.get("name", "?"))), cls))
    visit(config)
    return lines


def preflight_file(path: Path) -> None:
    """:func:`preflight` of a ``.keras`` file from its config.json (nothing when it cannot be
    read: loading the model then says why)."""
    try:
        with zipfile.ZipFile(path) as z:
            config = json.loads(z.read("config.json"))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile):
        return
    _refuse(str(config.get("config", {}).get("name", path.stem)) if isinstance(config, dict) else path.stem,
            config_problems(config))


def preflight(model: Any) -> None:
    """Refuse a model with layers edgegen cannot compile, listing all of them at once."""
    _refuse(str(getattr(model, "name", "model")), problems(model))


def _refuse(model_name: str, lines: list[str]) -> None:
    if lines:
        n = len(lines)
        raise UnsupportedError(
            f"model '{model_name}': {n} layer{'s' if n > 1 else ''} edgegen cannot compile "
            "(checked before conversion; --skip-layer-check or api layer_check=False converts anyway):\n"
            + "\n".join(f"  {ln}" for ln in lines))
