"""Full-int8 conversion with TensorFlow's TFLite converter.

The converter quantizes weights per channel (symmetric int8; Dense too, as TFLM and CMSIS-NN
support per-channel FULLY_CONNECTED) and activations per tensor (asymmetric int8), with ranges
from the representative dataset. The model is first rewrapped with a batch dimension of 1: with
Keras's ``None`` batch the converter emits SHAPE/STRIDED_SLICE ops for every Flatten, which
microcontrollers have no use for. In that model, ``UpSampling2D(interpolation="nearest")`` becomes
the nearest-neighbour resize it equals (``_call_rewritten``).
"""

from __future__ import annotations

import functools
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
    if _has_nearest(model):
        names = {layer.name for layer in _layers(model)}
        try:
            model = _rewritten(names, model)
        except (ValueError, TypeError, NotImplementedError, AttributeError) as e:
            why = str(e).splitlines()[0][:200] if str(e) else ""
            first = next(layer for layer in _layers(model) if _nearest_upsampling(layer))
            raise UnsupportedError(
                f"model '{model.name}': layer '{first.name}' (UpSampling2D, nearest) becomes RESHAPE/TILE "
                f"ops in TensorFlow's converter, which TFLM cannot run, and edgegen could not call it as the "
                f"equal RESIZE_NEAREST_NEIGHBOR ({type(e).__name__}: {why}); "
                "build the model with the functional API or use keras.layers.Resizing(interpolation='nearest')"
            ) from None
    out = model(inp, training=False)
    return k.Model(inp, out, name=f"{model.name}_b1")


def _has_nearest(model: Any) -> bool:
    return any(_nearest_upsampling(layer) for layer in _layers(model))


def _rewritten(names: set[str], model: Any) -> Any:
    """A functional model of the same layer objects (same weights), nested models rewritten too,
    each nearest UpSampling2D replaced (:func:`_call_rewritten`)."""
    k = keras()
    call = functools.partial(_call_rewritten, names)
    if isinstance(model, k.Sequential):
        # clone_model takes no call_function for a Sequential model: call its layers in order
        inp = k.Input(batch_shape=tuple(model.inputs[0].shape), dtype=model.inputs[0].dtype)
        x = inp
        for layer in model.layers:
            x = call(layer, x)
        return k.Model(inp, x, name=model.name)
    return k.models.clone_model(model, clone_function=lambda layer: layer, call_function=call)


def _layers(layer: Any) -> Iterator[Any]:
    yield layer
    for sub in getattr(layer, "layers", None) or ():
        yield from _layers(sub)


def _nearest_upsampling(layer: Any) -> bool:
    return bool(isinstance(layer, keras().layers.UpSampling2D) and layer.interpolation == "nearest")


def _call_rewritten(names: set[str], layer: Any, *args: Any, **kwargs: Any) -> Any:
    """``layer`` called as the rewritten model calls it. Keras 3's ``UpSampling2D(interpolation=
    "nearest")`` repeats rows and columns (``ops.repeat``), which TensorFlow's converter writes as
    RESHAPE/TILE chains, and TFLM has no TILE kernel. The same values come from a nearest
    ``Resizing`` to the same size, which it writes as one RESIZE_NEAREST_NEIGHBOR (half-pixel
    centers): for an integer factor s, output index i reads source floor((i + 0.5) / s) = floor(i / s),
    the pixel the repeat copies. A nested model holding one is rewritten the same way. ``names`` are
    the model's layer names, which a new layer's must differ from."""
    if isinstance(layer, keras().Model) and _has_nearest(layer):
        return _rewritten(names, layer)(*args, **kwargs)
    if not _nearest_upsampling(layer):
        return layer(*args, **kwargs)
    x = args[0]
    sy, sx = layer.size
    h, w = (x.shape[1], x.shape[2]) if layer.data_format == "channels_last" else (x.shape[2], x.shape[3])
    name = f"{layer.name}_as_resize"
    while name in names:
        name += "_"
    names.add(name)
    resize = keras().layers.Resizing(h * sy, w * sx, interpolation="nearest", data_format=layer.data_format,
                                     name=name)
    return resize(x)


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
            "edgegen compiles models built from Conv2D, Conv2DTranspose, DepthwiseConv2D, Dense, pooling, Add, "
            "Multiply, Concatenate, Reshape/Flatten, ZeroPadding and the usual activations") from None
    return bytes(data)


def quantizing_converter(model: Any, calib: Dataset, ops: str,
                         progress: Callable[[str, int, int], None] | None = None) -> Any:
    """TensorFlow's converter for ``model`` set up for post-training quantization with ``calib`` as
    the representative data, one sample at a time, and the op set ``ops`` (``TFLITE_BUILTINS_INT8``
    or ``EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8``): one setup for the int8, the
    16x8 and the calibrate-only (:mod:`.calibrate`) conversions, so they calibrate alike."""
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
    conv.target_spec.supported_ops = [getattr(t.lite.OpsSet, ops)]
    return conv


def to_int8_tflite(model: Any, calib: Dataset, *, float_io: bool = False,
                   progress: Callable[[str, int, int], None] | None = None) -> bytes:
    """The full-int8 ``.tflite`` of ``model``: int8 inputs and outputs unless ``float_io``;
    ``progress(what, done, total)`` follows the calibration samples."""
    t = tf()
    conv = quantizing_converter(model, calib, "TFLITE_BUILTINS_INT8", progress)
    if not float_io:
        conv.inference_input_type = t.int8
        conv.inference_output_type = t.int8
    return _run(conv, model, "int8")


def to_16x8_tflite(model: Any, calib: Dataset, *, float_io: bool = False) -> bytes:
    """The 16x8 ``.tflite`` of ``model`` (TFLite's int16-activation scheme: int16 activations,
    symmetric with zero point 0; int8 per-channel weights; int64 biases), calibrated on ``calib``
    exactly as :func:`to_int8_tflite` is (the same graph, the same ranges, so the two can be
    spliced op by op: :mod:`edgegen.mixed`); int16 inputs and outputs unless ``float_io``."""
    t = tf()
    conv = quantizing_converter(model, calib, "EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8")
    if not float_io:
        conv.inference_input_type = t.int16
        conv.inference_output_type = t.int16
    return _run(conv, model, "16x8")


def to_float_tflite(model: Any) -> bytes:
    """The float32 ``.tflite`` of ``model`` (same graph, same tensor names as the int8 one), used to
    compare int8 activations with float ones layer by layer."""
    return _run(_converter(model), model, "float")


def check_convertible(model: Any) -> None:
    """Fail before conversion, naming every layer edgegen cannot compile (:func:`.layers.preflight`)."""
    from .layers import preflight

    preflight(model)
    for layer in all_layers(model):
        if type(layer).__name__ == "LSTM":
            check_lstm(layer)  # the options the fused op cannot compute
