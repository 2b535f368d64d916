"""Keras 3 LSTM layers as TFLite's fused UNIDIRECTIONAL_SEQUENCE_LSTM.

TensorFlow 2.21's converter turns a Keras 3 ``LSTM`` into a WHILE loop of FULLY_CONNECTED,
LOGISTIC, TANH and MUL ops, and its full-int8 quantization of that loop crashes (segfault). The
converter still fuses the Keras 2 form: a ``tf.function`` carrying the attributes
``api_implements="lstm_<unique>"``, ``time_major`` and ``go_backwards``, whose arguments are
``(inputs, init_h, init_c, kernel, recurrent_kernel, bias)`` and which returns five tensors
(last output, the whole sequence, new h, new c, a runtime scalar). Its MLIR pass
(``ConvertKerasLSTMLayer`` in ``prepare_composite_functions_tf``) replaces the function's body with
one UNIDIRECTIONAL_SEQUENCE_LSTM (cell clip 10, TANH cell activation, no peephole, projection or
layer norm), the state arguments becoming its variable state tensors. Two details matter: every
argument's shape must be static (an ``input_signature``; with unranked results the pass crashes),
and the weights must be arguments, not captures.

So before conversion, :func:`fuse_lstms` rebuilds the (batch-1) model with each LSTM layer called
through such a function on the layer's own weights; the body computes the same float LSTM as Keras
(sigmoid gates, tanh cell), so the float model is unchanged. The int8 LSTM then needs no calibrated
intermediates: TFLM's integer kernel works at the fixed gate scale 2^-12 and leaves the converter's
five (empty, float32) intermediate tensors unread.
"""

from __future__ import annotations

import uuid
from typing import Any

from ..errors import UnsupportedError
from ._tf import keras, tf


def _layers(model: Any) -> list[Any]:
    """Every layer of ``model``, nested models' layers included."""
    out: list[Any] = []
    for layer in getattr(model, "layers", []):
        out.append(layer)
        if hasattr(layer, "layers"):
            out.extend(_layers(layer))
    return out


def _activation_name(fn: Any) -> str:
    return str(getattr(fn, "__name__", fn))


def check_lstm(layer: Any) -> None:
    """Refuse, naming the layer and the option, an LSTM the fused int8 op cannot compute."""
    what = f"layer '{layer.name}' (LSTM)"
    refusals = [
        (_activation_name(layer.cell.activation) != "tanh",
         f"activation '{_activation_name(layer.cell.activation)}': the int8 LSTM computes tanh only"),
        (_activation_name(layer.cell.recurrent_activation) != "sigmoid",
         f"recurrent_activation '{_activation_name(layer.cell.recurrent_activation)}': "
         "the int8 LSTM's gates are sigmoid only"),
        (bool(layer.go_backwards), "go_backwards=True: reverse the sequence before the layer instead"),
        (bool(layer.stateful), "stateful=True: the compiled model starts every inference from zero state"),
        (bool(layer.return_state), "return_state=True: only the output sequence or the last output is produced"),
    ]
    for bad, why in refusals:
        if bad:
            raise UnsupportedError(f"{what}: {why}")


def has_lstm(model: Any) -> bool:
    return any(type(layer).__name__ == "LSTM" for layer in _layers(model))


def _standard_lstm(inputs: Any, init_h: Any, init_c: Any, kernel: Any, recurrent_kernel: Any,
                   bias: Any, time_axis: int) -> tuple[Any, Any, Any, Any, Any]:
    """Keras's LSTM in float, unrolled; the converter replaces this body."""
    t = tf()
    h, c = init_h, init_c
    outputs = []
    for x in t.unstack(inputs, axis=time_axis):
        z = t.matmul(x, kernel) + t.matmul(h, recurrent_kernel) + bias
        i, f, g, o = t.split(z, 4, axis=1)
        c = t.sigmoid(f) * c + t.sigmoid(i) * t.tanh(g)
        h = t.sigmoid(o) * t.tanh(c)
        outputs.append(h)
    return t.identity(h), t.stack(outputs, axis=time_axis), t.identity(h), t.identity(c), t.constant(0.0)


def fused_function(batch: int, steps: int, features: int, units: int, *, time_major: bool = False) -> Any:
    """The converter's fusable LSTM function for these static shapes: called with
    ``(inputs, init_h, init_c, kernel, recurrent_kernel, bias)`` (Keras's weight layouts, gates
    i, f, c, o), it returns (last output, sequence, h, c, runtime). The weights must reach it as
    arguments: constants the converter freezes into it, or variables."""
    t = tf()
    spec = t.TensorSpec
    x_shape = (steps, batch, features) if time_major else (batch, steps, features)
    signature = [spec(x_shape), spec((batch, units)), spec((batch, units)),
                 spec((features, 4 * units)), spec((units, 4 * units)), spec((4 * units,))]
    attributes = {"api_implements": f"lstm_{uuid.uuid4().hex}", "api_preferred_device": "CPU",
                  "time_major": time_major, "go_backwards": False}

    def body(x: Any, h: Any, c: Any, kernel: Any, recurrent: Any, bias: Any) -> tuple[Any, Any, Any, Any, Any]:
        return _standard_lstm(x, h, c, kernel, recurrent, bias, 0 if time_major else 1)

    return t.function(body, input_signature=signature, autograph=False, experimental_attributes=attributes)


def _fused_layer_class() -> Any:
    k = keras()

    class FusedLSTM(k.layers.Layer):  # type: ignore[misc,name-defined]
        """``lstm`` called through the converter's fusable function (same weights)."""

        def __init__(self, lstm: Any) -> None:
            super().__init__(name=f"{lstm.name}_fused")
            self.lstm = lstm

        def compute_output_shape(self, input_shape: Any) -> Any:
            return self.lstm.compute_output_shape(input_shape)

        def call(self, x: Any) -> Any:
            t = tf()
            cell = self.lstm.cell
            batch, steps, features = (int(d) for d in x.shape)
            fn = fused_function(batch, steps, features, cell.units)
            zeros = t.zeros((batch, cell.units), x.dtype)
            bias = cell.bias.value if cell.use_bias else t.zeros((4 * cell.units,), x.dtype)
            last, sequence, _h, _c, _rt = fn(x, zeros, zeros, cell.kernel.value, cell.recurrent_kernel.value, bias)
            return sequence if self.lstm.return_sequences else last

    return FusedLSTM


def fuse_lstms(model: Any) -> Any:
    """``model`` (static shapes, batch 1) with every LSTM layer called through a fusable function;
    the other layers are the model's own (shared weights)."""
    k = keras()
    for layer in _layers(model):
        if type(layer).__name__ == "LSTM":
            check_lstm(layer)
    fused = _fused_layer_class()

    def call(layer: Any, *args: Any, **kwargs: Any) -> Any:
        if type(layer).__name__ == "LSTM":
            if kwargs.get("mask") is not None or kwargs.get("initial_state") is not None:
                raise UnsupportedError(f"layer '{layer.name}' (LSTM): a mask or an initial state input "
                                       "is not supported; the int8 LSTM starts from zero state")
            return fused(layer)(args[0])
        return layer(*args, **kwargs)

    return k.models.clone_model(model, clone_function=lambda layer: layer, call_function=call, recursive=True)
