"""Float against int8: accuracy with labels, output SQNR and agreement without, and the per-layer
error that says which layers lose most.

int8 inference runs in TFLM (the ``tflite-micro`` package), which is bit-exact with edgegen's
simulator and generated firmware, so the int8 figures are the firmware's figures. The per-layer
comparison runs the float and int8 ``.tflite`` made from the same graph (the converter names the
tensors alike) and compares each int8 activation, dequantized, with its float counterpart.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .data import Dataset

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Comparison:
    """How the int8 model's outputs compare with the float model's on ``samples`` inputs."""

    samples: int
    #: argmax accuracy against labels (None without labels)
    float_accuracy: float | None
    int8_accuracy: float | None
    #: fraction of samples whose argmax is the same (None for single-output regressors)
    agreement: float | None
    #: signal-to-quantization-noise ratio of the int8 outputs (dequantized) against float, in dB
    sqnr_db: float

    def lines(self) -> list[str]:
        out = []
        if self.float_accuracy is not None and self.int8_accuracy is not None:
            d = 100 * (self.int8_accuracy - self.float_accuracy)
            out.append(f"accuracy: float {100 * self.float_accuracy:.2f}%, int8 {100 * self.int8_accuracy:.2f}% "
                       f"({d:+.2f} points) on {self.samples} labelled samples")
        if self.agreement is not None:
            out.append(f"int8 and float predict the same class on {100 * self.agreement:.1f}% of samples")
        out.append(f"int8 output SQNR vs float: {self.sqnr_db:.1f} dB")
        return out


@dataclass(frozen=True)
class LayerError:
    """One int8 activation against the float one."""

    tensor: str
    #: the Keras layer the tensor comes from, as far as the converter's names tell
    layer: str
    shape: tuple[int, ...]
    sqnr_db: float
    #: largest absolute error, in units of the tensor's int8 scale
    max_error_lsb: float


def sqnr_db(reference: np.ndarray, test: np.ndarray) -> float:
    """10·log10(signal power / noise power); +inf when identical."""
    ref = np.asarray(reference, np.float64)
    noise = float(np.sum((ref - np.asarray(test, np.float64)) ** 2))
    signal = float(np.sum(ref**2))
    if noise == 0.0:
        return math.inf
    if signal == 0.0:
        return -math.inf
    return 10.0 * math.log10(signal / noise)


def float_predict(model: Any, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """The float model's outputs; called directly per batch (``predict`` prints and is slower)."""
    with warnings.catch_warnings():
        # legacy models name their input; calling them with a bare array is fine but warns
        warnings.simplefilter("ignore", UserWarning)
        outs = [np.asarray(model(x[i : i + batch_size], training=False)) for i in range(0, x.shape[0], batch_size)]
    return np.concatenate(outs).astype(np.float32)


def int8_predict(tflite: bytes, x: np.ndarray, progress: Progress | None = None) -> np.ndarray:
    """The int8 model's outputs in TFLM, dequantized to float (float inputs quantized first)."""
    from ..build import as_model_inputs, compile_tflite
    from ..fixedpoint import dequantize_s8_f32
    from ..oracle import run_tflm_many

    _graph, program = compile_tflite(tflite, name="eval", source="converted model")
    inputs = [list(as_model_inputs(program, (x[i],))) for i in range(x.shape[0])]
    results = run_tflm_many(tflite, inputs, intermediates=False,
                            progress=None if progress is None else lambda i, n: progress("int8 inference (TFLM)", i, n))
    ref = program.outputs[0]
    outs = [np.asarray(r.outputs[0]).reshape(ref.shape) for r in results]
    q = np.stack(outs)
    if ref.ctype == "int8_t":
        return np.asarray(dequantize_s8_f32(q, ref.scale, ref.zero_point), np.float32).reshape(q.shape[0], -1)
    return q.astype(np.float32).reshape(q.shape[0], -1)


def accuracy(pred: np.ndarray, y: np.ndarray) -> float:
    labels = np.argmax(y, axis=-1) if y.ndim > 1 and y.shape[-1] > 1 else y.reshape(-1)
    return float(np.mean(np.argmax(pred.reshape(pred.shape[0], -1), axis=-1) == labels.astype(np.int64)))


def compare(model: Any, tflite: bytes, data: Dataset, *, float_out: np.ndarray | None = None,
            progress: Progress | None = None) -> Comparison:
    """Float (Keras) against int8 (TFLM) on ``data``."""
    f = float_predict(model, data.x) if float_out is None else float_out
    f = f.reshape(f.shape[0], -1)
    q = int8_predict(tflite, data.x, progress)
    # argmax agreement means something for classifiers only (not for an autoencoder's 640 outputs)
    classifier = f.shape[1] > 1 and (data.y is not None or _ends_in_softmax(model))
    return Comparison(
        samples=int(f.shape[0]),
        float_accuracy=accuracy(f, data.y) if data.y is not None and classifier else None,
        int8_accuracy=accuracy(q, data.y) if data.y is not None and classifier else None,
        agreement=float(np.mean(np.argmax(f, -1) == np.argmax(q, -1))) if classifier else None,
        sqnr_db=sqnr_db(f, q),
    )


def _ends_in_softmax(model: Any) -> bool:
    from .finetune import ends_in_softmax

    return ends_in_softmax(model)


def _layer_of(tensor_name: str, layer_names: list[str]) -> str:
    """The Keras layer a converter tensor name belongs to: the first name scope in the fused name
    (conv+BN+relu fuse into one tensor named after all three, the last op first) that is a layer
    of the model. TensorFlow suffixes every scope with ``_<n>`` (``activation`` becomes
    ``activation_1``, ``activation_1`` becomes ``activation_1_2``), so the suffix is stripped first."""
    known = set(layer_names)
    parts = [p for piece in tensor_name.split(";") for p in piece.split("/")[:-1]]
    for p in parts:
        head, _, tail = p.rpartition("_")
        if tail.isdigit() and head in known:
            return head
    for p in parts:
        if p in known:
            return p
    return "(model output)" if not parts else parts[-1]


def per_layer_error(model: Any, tflite: bytes, x: np.ndarray, *, samples: int = 8) -> list[LayerError]:
    """Every int8 activation tensor against the float model's, over the first ``samples`` inputs,
    in execution order."""
    from ai_edge_litert.interpreter import Interpreter

    from ..build import as_model_inputs, compile_tflite
    from ..fixedpoint import dequantize_s8_f32
    from ..oracle import run_tflm_many
    from ._tf import quiet_output
    from .convert import to_float_tflite

    graph, program = compile_tflite(tflite, name="eval", source="converted model")
    xs = x[:samples]
    tflm = run_tflm_many(tflite, [list(as_model_inputs(program, (s,))) for s in xs], intermediates=True)
    float_tflite = to_float_tflite(model)
    with warnings.catch_warnings(), quiet_output():
        warnings.simplefilter("ignore", UserWarning)
        interp = Interpreter(model_content=float_tflite, experimental_preserve_all_tensors=True)
        interp.allocate_tensors()
    by_name = {d["name"]: d["index"] for d in interp.get_tensor_details()}
    inp = interp.get_input_details()[0]
    float_vals: dict[str, list[np.ndarray]] = {}
    wanted = {t.name for op in graph.ops for t in (graph.tensor(i) for i in op.outputs)}
    for s in xs:
        interp.set_tensor(inp["index"], s.reshape(inp["shape"]).astype(np.float32))
        interp.invoke()
        for name in wanted:
            if name in by_name:
                float_vals.setdefault(name, []).append(np.array(interp.get_tensor(by_name[name])))
    layer_names = [layer.name for layer in getattr(model, "layers", [])]
    out: list[LayerError] = []
    for op in graph.ops:
        t = graph.tensor(op.outputs[0])
        if t.name not in float_vals or t.dtype != "int8" or t.quant is None or t.quant.per_channel:
            continue
        ref = np.stack(float_vals[t.name])
        got = np.stack([np.asarray(dequantize_s8_f32(r.tensors[t.index], t.quant.scale, t.quant.zero_point))
                        for r in tflm]).reshape(ref.shape)
        err = float(np.max(np.abs(ref - got))) / t.quant.scale
        out.append(LayerError(tensor=t.name, layer=_layer_of(t.name, layer_names), shape=t.shape,
                              sqnr_db=sqnr_db(ref, got), max_error_lsb=err))
    return out
