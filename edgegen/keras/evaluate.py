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
from .targets import Targets, targets_for

Progress = Callable[[str, int, int], None]


#: int8 output SQNR (dequantized, against float) below which a build warns. 10 dB is noise power at
#: a tenth of the signal's, an error about a third of the output's amplitude; measured (docs/
#: benchmarks.md, "Evaluation thresholds"): models calibrated on data like their inputs are at
#: 20-41 dB (ResNet-8's softmax 20.3 dB, the MLPerf reference int8 ResNet-8 16.7 dB, KWS 26 dB,
#: ad01 41 dB, random-init models 29-37 dB), calibrated on data 100x too small at -1.4-6 dB.
LOW_SQNR_DB = 10.0
#: argmax agreement of int8 with float below which a build warns. int8 rounding flips the argmax
#: only where the top two outputs are within a quantization step: measured 99 % on trained models
#: (KWS, a small classifier), 0 % on a random-init KWS, whose softmax outputs are all about 1/12
#: (its SQNR is still 36 dB: agreement, not SQNR, shows an untrained classifier).
LOW_AGREEMENT = 0.90
_CAUSES = ("Likely causes: an untrained (random-weight) model, whose outputs are tiny or nearly the same for "
           "every input; or calibration data unlike the data the model sees (another scaling, e.g. 0..255 "
           "instead of 0..1, or another source)")


@dataclass(frozen=True)
class Comparison:
    """How the int8 model's outputs compare with the float model's on ``samples`` inputs."""

    samples: int
    #: argmax accuracy against labels (None without class labels)
    float_accuracy: float | None
    int8_accuracy: float | None
    #: fraction of samples whose argmax is the same (None for regressors)
    agreement: float | None
    #: signal-to-quantization-noise ratio of the int8 outputs (dequantized) against float, in dB
    sqnr_db: float
    #: "classification" (class labels), "regression" (target values) or "unlabelled"
    task: str = "unlabelled"
    #: mean squared error of the float and int8 outputs against regression targets
    float_mse: float | None = None
    int8_mse: float | None = None

    def lines(self) -> list[str]:
        out = []
        if self.float_accuracy is not None and self.int8_accuracy is not None:
            d = 100 * (self.int8_accuracy - self.float_accuracy)
            out.append(f"accuracy: float {100 * self.float_accuracy:.2f}%, int8 {100 * self.int8_accuracy:.2f}% "
                       f"({d:+.2f} points) on {self.samples:,} labelled samples")
        if self.float_mse is not None and self.int8_mse is not None:
            out.append(f"MSE vs targets: float {self.float_mse:.4g}, int8 {self.int8_mse:.4g} on {self.samples:,} "
                       "samples (regression targets)")
        if self.agreement is not None:
            out.append(f"int8 and float predict the same class on {100 * self.agreement:.1f}% of "
                       f"{self.samples:,} samples")
        out.append(f"int8 output SQNR vs float: {self.sqnr_db:.1f} dB on {self.samples:,} samples")
        return out

    def warnings(self, data: str) -> list[str]:
        """Loud lines when the int8 outputs are far from float (:data:`LOW_SQNR_DB`,
        :data:`LOW_AGREEMENT`); ``data`` names the evaluation data."""
        far = []
        if self.sqnr_db < LOW_SQNR_DB:
            far.append(f"SQNR {self.sqnr_db:.1f} dB (below {LOW_SQNR_DB:.0f} dB: the error is a third of the output "
                       "or more)")
        if self.agreement is not None and self.agreement < LOW_AGREEMENT:
            far.append(f"the same class predicted on only {100 * self.agreement:.1f}% of samples (below "
                       f"{100 * LOW_AGREEMENT:.0f}%; a trained model calibrated on its data: about 99%)")
        if not far:
            return []
        return [f"the int8 outputs are far from the float model's: {' and '.join(far)}, on {self.samples:,} samples "
                f"of {data}. {_CAUSES}"]


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
    """Argmax accuracy against class indices or one-hot rows."""
    labels = np.argmax(y, axis=-1) if y.ndim > 1 and y.shape[-1] > 1 else y.reshape(-1)
    return float(np.mean(np.argmax(pred.reshape(pred.shape[0], -1), axis=-1) == labels.astype(np.int64)))


def output_size(model: Any) -> int:
    return int(np.prod([int(d) for d in model.outputs[0].shape[1:]]))


def targets(model: Any, data: Dataset, what: str = "evaluation data") -> Targets | None:
    """The kind of ``data``'s labels for ``model`` (None without labels); refuses labels that do
    not fit the output, naming the data."""
    if data.y is None:
        return None
    return targets_for(data.y, output_size(model), f"{data.source}: {what}")


def compare(model: Any, tflite: bytes, data: Dataset, *, float_out: np.ndarray | None = None,
            progress: Progress | None = None) -> Comparison:
    """Float (Keras) against int8 (TFLM) on every sample of ``data``, with metrics chosen from the
    labels: accuracy for class labels, MSE for target values (:mod:`.targets`)."""
    kind = targets(model, data)
    f = float_predict(model, data.x) if float_out is None else float_out
    return compare_outputs(model, f, int8_predict(tflite, data.x, progress), kind)


def compare_outputs(model: Any, float_out: np.ndarray, int8_out: np.ndarray, kind: Targets | None) -> Comparison:
    """:func:`compare` from outputs already computed (``[N, ...]`` each)."""
    f = float_out.reshape(float_out.shape[0], -1)
    q = int8_out.reshape(int8_out.shape[0], -1)
    # argmax agreement means something for classifiers only (not for an autoencoder's 640 outputs)
    classifier = kind.classes if kind is not None else f.shape[1] > 1 and _ends_in_softmax(model)
    labels = kind.array if kind is not None and kind.classes else None
    values = kind.array if kind is not None and not kind.classes else None
    return Comparison(
        samples=int(f.shape[0]),
        float_accuracy=accuracy(f, labels) if labels is not None else None,
        int8_accuracy=accuracy(q, labels) if labels is not None else None,
        agreement=float(np.mean(np.argmax(f, -1) == np.argmax(q, -1))) if classifier else None,
        sqnr_db=sqnr_db(f, q),
        task="unlabelled" if kind is None else ("classification" if kind.classes else "regression"),
        float_mse=mse(f, values) if values is not None else None,
        int8_mse=mse(q, values) if values is not None else None,
    )


def mse(pred: np.ndarray, values: np.ndarray) -> float:
    return float(np.mean((pred.reshape(values.shape).astype(np.float64) - values) ** 2))


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


def per_layer_error(model: Any, tflite: bytes, x: np.ndarray, *, samples: int = 8,
                    float_tflite: bytes | None = None) -> list[LayerError]:
    """Every int8 activation tensor against the float model's, over the first ``samples`` inputs,
    in execution order; ``float_tflite``: the float flatbuffer the int8 one was quantized from
    (edgegen.keras.calibrate's), else the model is converted again."""
    from ai_edge_litert.interpreter import Interpreter

    from ..build import as_model_inputs, compile_tflite
    from ..fixedpoint import dequantize_s8_f32
    from ..oracle import run_tflm_many
    from ._tf import quiet_output
    from .convert import to_float_tflite

    graph, program = compile_tflite(tflite, name="eval", source="converted model")
    xs = x[:samples]
    tflm = run_tflm_many(tflite, [list(as_model_inputs(program, (s,))) for s in xs], intermediates=True)
    if float_tflite is None:
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
        # each sample from zero state, as the int8 runs: an LSTM's state tensors would carry over
        interp.reset_all_variables()
        interp.set_tensor(inp["index"], s.reshape(inp["shape"]).astype(np.float32))
        interp.invoke()
        for name in wanted:
            if name in by_name:
                float_vals.setdefault(name, []).append(np.array(interp.get_tensor(by_name[name])))
    layer_names = [layer.name for layer in getattr(model, "layers", [])]
    # with float outputs (--float-io) the last int8 tensor feeds a DEQUANTIZE whose output carries
    # the float model's output name: compare it with that
    float_name = {op.inputs[0]: graph.tensor(op.outputs[0]).name for op in graph.ops if op.KIND == "DEQUANTIZE"}
    out: list[LayerError] = []
    for op in graph.ops:
        t = graph.tensor(op.outputs[0])
        name = t.name if t.name in float_vals else float_name.get(t.index, t.name)
        if name not in float_vals or t.dtype != "int8" or t.quant is None or t.quant.per_channel:
            continue
        ref = np.stack(float_vals[name])
        got = np.stack([np.asarray(dequantize_s8_f32(r.tensors[t.index], t.quant.scale, t.quant.zero_point))
                        for r in tflm]).reshape(ref.shape)
        err = float(np.max(np.abs(ref - got))) / t.quant.scale
        out.append(LayerError(tensor=t.name, layer=_layer_of(t.name, layer_names), shape=t.shape,
                              sqnr_db=sqnr_db(ref, got), max_error_lsb=err))
    return out
