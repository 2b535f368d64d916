"""Full-int8 conversion with TensorFlow's TFLite converter.

The converter quantizes weights per channel (symmetric int8; Dense too, as TFLM and CMSIS-NN
support per-channel FULLY_CONNECTED) and activations per tensor (asymmetric int8), with ranges
from the representative dataset. The model is first rewrapped with a batch dimension of 1: with
Keras's ``None`` batch the converter emits SHAPE/STRIDED_SLICE ops for every Flatten, which
microcontrollers have no use for.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from ..errors import UnsupportedError
from ._tf import keras, quiet_output, tail, tf
from .data import Dataset, input_spec
from .lstm import all_layers, check_lstm, fused_lstms


def batch_one(model: Any) -> Any:
    """``model`` called on a ``batch_size=1`` Input (same weights, static shapes)."""
    k = keras()
    shape, dtype = input_spec(model)
    inp = k.Input(batch_shape=(1, *shape), dtype=dtype, name="input")
    out = model(inp, training=False)
    return k.Model(inp, out, name=f"{model.name}_b1")


def _converter(model: Any) -> Any:
    t = tf()
    return t.lite.TFLiteConverter.from_keras_model(batch_one(model))


def _run(conv: Any, model: Any, what: str) -> bytes:
    # the converter traces the model when it converts: LSTM layers then take the fusable form (a
    # plain Keras 3 LSTM becomes a WHILE loop whose int8 quantization crashes the converter)
    with fused_lstms(model):
        return _convert(conv, model, what)


def _convert(conv: Any, model: Any, what: str) -> bytes:
    try:
        with quiet_output() as log, warnings.catch_warnings():
            # "Statistics for quantized inputs were expected": the representative dataset gives them
            warnings.simplefilter("ignore", UserWarning)
            data = conv.convert()
    except UnsupportedError:
        raise  # a refusal while tracing (an LSTM's mask), already naming the layer
    except Exception as e:
        text = tail(log[0] if log else "")
        raise UnsupportedError(
            f"model '{model.name}': TensorFlow's TFLite converter failed for the {what} model: "
            f"{type(e).__name__}: {str(e).splitlines()[0][:300] if str(e) else ''}\n{text}\n"
            "edgegen compiles models built from Conv2D, DepthwiseConv2D, Dense, pooling, Add, Multiply, "
            "Concatenate, Reshape/Flatten, ZeroPadding and the usual activations") from None
    return bytes(data)


def to_int8_tflite(model: Any, calib: Dataset, *, float_io: bool = False,
                   progress: Callable[[str, int, int], None] | None = None) -> bytes:
    """The full-int8 ``.tflite`` of ``model``: int8 inputs and outputs unless ``float_io``;
    ``progress(what, done, total)`` follows the calibration samples."""
    t = tf()
    conv = _converter(model)
    x = calib.x

    def representative() -> Iterator[list[np.ndarray]]:
        for i in range(x.shape[0]):
            if progress is not None:
                progress("calibrating", i, x.shape[0])
            yield [x[i : i + 1]]

    conv.optimizations = [t.lite.Optimize.DEFAULT]
    conv.representative_dataset = representative
    conv.target_spec.supported_ops = [t.lite.OpsSet.TFLITE_BUILTINS_INT8]
    if not float_io:
        conv.inference_input_type = t.int8
        conv.inference_output_type = t.int8
    return _run(conv, model, "int8")


def to_float_tflite(model: Any) -> bytes:
    """The float32 ``.tflite`` of ``model`` (same graph, same tensor names as the int8 one), used to
    compare int8 activations with float ones layer by layer."""
    return _run(_converter(model), model, "float")


def check_convertible(model: Any) -> None:
    """Fail early, naming the layer, for layers the int8 path cannot take (in nested models too:
    a recurrent layer's WHILE loop crashes the converter's int8 quantization)."""
    for layer in all_layers(model):
        name = type(layer).__name__
        if name == "LSTM":
            check_lstm(layer)
        elif name in ("GRU", "SimpleRNN", "Bidirectional", "Attention", "MultiHeadAttention"):
            raise UnsupportedError(f"layer '{layer.name}' ({name}) has no int8 CMSIS-NN kernel in edgegen; "
                                   "replace it with convolutions, Dense or LSTM layers")
