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

So during conversion (:func:`fused_lstms`) each LSTM layer computes through such a function on
its own weights; the body computes the same float LSTM as Keras
(sigmoid gates, tanh cell), so the float model is unchanged. The int8 LSTM then needs no calibrated
intermediates: TFLM's integer kernel works at the fixed gate scale 2^-12 and leaves the converter's
five (empty, float32) intermediate tensors unread.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from typing import Any

from ..errors import UnsupportedError
from ._tf import tf


def all_layers(model: Any) -> list[Any]:
    """Every layer of ``model``, nested models' layers included."""
    out: list[Any] = []
    for layer in getattr(model, "layers", []):
        out.append(layer)
        if hasattr(layer, "layers"):
            out.extend(all_layers(layer))
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
    return any(type(layer).__name__ == "LSTM" for layer in all_layers(model))


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


def _fused_call(lstm: Any) -> Callable[..., Any]:
    """``lstm.call`` through the converter's fusable function on the layer's own weights."""

    def call(sequences: Any, initial_state: Any = None, mask: Any = None, training: Any = None) -> Any:
        if mask is not None or initial_state is not None:
            raise UnsupportedError(f"layer '{lstm.name}' (LSTM): a mask or an initial state input is not "
                                   "supported; the int8 LSTM starts from zero state")
        t = tf()
        cell = lstm.cell
        dims = tuple(sequences.shape)
        if len(dims) != 3 or any(d is None for d in dims):
            # a trace with an unknown batch (Keras's export also traces nested models on their own
            # input specs): not the graph converted, which has batch 1
            return type(lstm).call(lstm, sequences, initial_state=initial_state, mask=mask, training=training)
        batch, steps, features = (int(d) for d in dims)
        fn = fused_function(batch, steps, features, cell.units)
        zeros = t.zeros((batch, cell.units), sequences.dtype)
        bias = cell.bias.value if cell.use_bias else t.zeros((4 * cell.units,), sequences.dtype)
        last, sequence, _h, _c, _rt = fn(sequences, zeros, zeros, cell.kernel.value, cell.recurrent_kernel.value,
                                         bias)
        return sequence if lstm.return_sequences else last

    return call


@contextlib.contextmanager
def fused_lstms(model: Any) -> Iterator[None]:
    """While the block runs, every LSTM layer of ``model`` (nested models' too, Sequential or
    Functional) computes through the converter's fusable function: its ``call`` is replaced on the
    instance and restored afterwards. Convert the model inside the block."""
    lstms = [layer for layer in all_layers(model) if type(layer).__name__ == "LSTM"]
    for layer in lstms:
        check_lstm(layer)
    try:
        for layer in lstms:
            # object.__setattr__: past Keras's attribute tracking, so nothing is recorded
            object.__setattr__(layer, "call", _fused_call(layer))
        yield
    finally:
        for layer in lstms:
            if "call" in vars(layer):
                object.__delattr__(layer, "call")
