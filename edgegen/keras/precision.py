"""int8, int16 (TFLite's 16x8 scheme) and mixed int8/int16 models from Keras: ``--precision``,
``--int16-layers`` and ``--precision auto --max-accuracy-drop X``.

The int8 model is converted first (as always); for anything else the same model is converted a
second time in the 16x8 scheme with the same calibration data (:func:`.convert.to_16x8_tflite`),
and a mixed model is spliced from the two op by op (:mod:`edgegen.mixed`), the ops of the named
Keras layers taken from the 16x8 model. A layer's ops are found from the converter's tensor names
(:mod:`.opmap`): an op belongs to the layer its own output or weights are named after.

``auto`` ranks the layers' outputs by how much the model output's SQNR against float rises when
that tensor is kept int16 (the layer and its readers int16: :func:`layer_ranking`, over the first
:data:`SENSITIVITY_SAMPLES` evaluation inputs; ties by the layer's own int8 SQNR, the measure of
``api.layer_errors``), then adds them to int16 one at a time, most helpful first, until the
int8-vs-float accuracy drop (TFLM accuracy of the mixed model, which the firmware matches bit
for bit) is at most X points, or every layer is int16 and the target is out of reach (said so).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import EdgegenError
from .data import Dataset

PRECISIONS = ("int8", "int16", "auto")
#: inputs the per-op SQNR of the int8 model is measured on (auto's ranking)
SENSITIVITY_SAMPLES = 32


@dataclass(frozen=True)
class PrecisionResult:
    tflite: bytes
    #: int8, int16 or mixed (what came out; auto may end at any of them)
    precision: str
    int16_layers: tuple[str, ...]
    #: op indices (of the int8 model) taken from the 16x8 model
    int16_ops: tuple[int, ...]
    lines: tuple[str, ...]
    warnings: tuple[str, ...]
    data: dict[str, Any] = field(default_factory=dict)


def op_layers(tflite: bytes, model: Any) -> list[str | None]:
    """The Keras layer each op of ``tflite`` comes from (None when its own tensors name none)."""
    from ..mixed import op_names
    from .opmap import _output_layer, layer_names, op_layer

    names = layer_names(model)
    out_layer = _output_layer(model)
    layers: list[str | None] = []
    for i in range(len(op_names(tflite))):
        found = op_layer(tflite, i, names, out_layer)
        layers.append(found[0] if found is not None and found[1] else None)
    return layers


def op_layer_sets(tflite: bytes, model: Any) -> list[list[str]]:
    """Every Keras layer each op computes: the converter fuses Conv2D + BatchNormalization +
    ReLU into one op and names its output after all of them (``;``-joined), so the op is each of
    those layers' (the innermost layer named in every part of its output's and weights' names)."""
    from ai_edge_litert import schema_py_generated as fb

    from .opmap import _layer_in, layer_names

    names = {k: v for k, v in layer_names(model).items() if v not in ("Functional", "Sequential", "Model")}
    m = fb.Model.GetRootAs(tflite, 0)
    g = m.Subgraphs(0)
    primary = op_layers(tflite, model)
    out: list[list[str]] = []
    for i in range(g.OperatorsLength()):
        op = g.Operators(i)
        first = primary[i]
        found: list[str] = [first] if first is not None else []
        own = [op.Outputs(k) for k in range(op.OutputsLength())]
        for k in range(op.InputsLength()):
            t = op.Inputs(k)
            buf = m.Buffers(g.Tensors(t).Buffer()) if t >= 0 and g.Tensors(t).Buffer() > 0 else None
            if buf is not None and buf.DataLength() > 0:
                own.append(t)
        for t in own:
            for part in (g.Tensors(t).Name() or b"").decode("utf-8", "replace").split(";"):
                hit = _layer_in(part, names)
                if hit is not None and hit not in found and first is not None:
                    found.append(hit)
        out.append(found)
    return out


def select_ops(tflite: bytes, model: Any, wanted: Sequence[str]) -> tuple[int, ...]:
    """The op indices of the layers ``wanted`` (an op fusing several layers is chosen by any of
    them); an unknown name, or a layer that made no op, is refused naming it and listing the
    layers that can be chosen."""
    sets = op_layer_sets(tflite, model)
    valid = list(dict.fromkeys(x for s in sets for x in s))
    bad = [w for w in wanted if w not in valid]
    if bad:
        from .opmap import layer_names

        known = layer_names(model)
        why = "; ".join(f"'{b}' is a layer that makes no op of its own (folded into another or removed)"
                        if b in known else f"'{b}' is not a layer of the model" for b in bad)
        raise EdgegenError(f"--int16-layers: {why}. Layers with ops: {', '.join(valid)}")
    return tuple(i for i, s in enumerate(sets) if set(s) & set(wanted))


def _io(tflite: bytes) -> tuple[list[Any], list[Any]]:
    from ai_edge_litert import schema_py_generated as fb

    m = fb.Model.GetRootAs(tflite, 0)
    g = m.Subgraphs(0)
    return ([g.Tensors(g.Inputs(i)) for i in range(g.InputsLength())],
            [g.Tensors(g.Outputs(i)) for i in range(g.OutputsLength())])


def _quant(t: Any) -> tuple[int, float, int]:
    q = t.Quantization()
    scale = float(q.Scale(0)) if q is not None and q.ScaleLength() else 1.0
    zp = int(q.ZeroPoint(0)) if q is not None and q.ZeroPointLength() else 0
    return int(t.Type()), scale, zp


def _quantize(x: np.ndarray, scale: float, zp: int, lo: int, hi: int, dtype: Any) -> np.ndarray:
    # TFLM's AffineQuantize: float32 division, roundf (half away from zero), zero point, clamp
    v = np.asarray(x, np.float32) / np.float32(scale)
    r = np.sign(v) * np.floor(np.abs(v) + np.float32(0.5))
    return np.asarray(np.clip(r.astype(np.int64) + zp, lo, hi), dtype)


def tflm_predict(tflite: bytes, x: np.ndarray) -> np.ndarray:
    """The outputs of an int8, 16x8 or mixed model in TFLM, dequantized to float, ``[N, -1]``:
    float inputs are quantized to the input tensor's type as the converter's QUANTIZE would."""
    from ai_edge_litert import schema_py_generated as fb

    from ..oracle import run_tflm_many

    (inp, *_), (out, *_) = _io(tflite)
    itype, iscale, izp = _quant(inp)
    shape = [int(inp.Shape(k)) for k in range(inp.ShapeLength())]
    ranges = {fb.TensorType.INT8: (-128, 127, np.int8), fb.TensorType.INT16: (-32768, 32767, np.int16)}
    sets = []
    for s in x:
        if itype in ranges:
            lo, hi, dt = ranges[itype]
            sets.append([_quantize(s, iscale, izp, lo, hi, dt).reshape(shape)])
        else:
            sets.append([np.asarray(s, np.float32).reshape(shape)])
    results = run_tflm_many(tflite, sets, intermediates=False)
    otype, oscale, ozp = _quant(out)
    q = np.stack([np.asarray(r.outputs[0]) for r in results]).reshape(len(sets), -1)
    if otype in ranges:
        return ((q.astype(np.float32) - np.float32(ozp)) * np.float32(oscale)).astype(np.float32)
    return q.astype(np.float32)


def op_sqnr(model: Any, int8: bytes, x: np.ndarray) -> dict[int, float]:
    """Each op's int8 output (dequantized, from TFLM) against the float model's same tensor, by
    op index; ops whose output has no float twin (renamed by the converter) are left out."""
    from ai_edge_litert import schema_py_generated as fb
    from ai_edge_litert.interpreter import Interpreter

    from ..oracle import run_tflm_many
    from ._tf import quiet_output
    from .convert import to_float_tflite
    from .evaluate import sqnr_db

    m = fb.ModelT.InitFromPackedBuf(bytearray(int8), 0)
    g = m.subgraphs[0]
    (inp, *_), _ = _io(int8)
    itype, iscale, izp = _quant(inp)
    shape = [int(inp.Shape(k)) for k in range(inp.ShapeLength())]
    sets = [[_quantize(s, iscale, izp, -128, 127, np.int8).reshape(shape)] if itype == fb.TensorType.INT8
             else [np.asarray(s, np.float32).reshape(shape)] for s in x]
    tflm = run_tflm_many(int8, sets, intermediates=True)
    with warnings.catch_warnings(), quiet_output():
        warnings.simplefilter("ignore", UserWarning)
        interp = Interpreter(model_content=to_float_tflite(model), experimental_preserve_all_tensors=True)
        interp.allocate_tensors()
    by_name = {d["name"]: d["index"] for d in interp.get_tensor_details()}
    fin = interp.get_input_details()[0]
    wanted: dict[int, int] = {}
    for i, op in enumerate(g.operators or []):
        t = int(op.outputs[0])
        tt = g.tensors[t]
        name = (tt.name or b"").decode("utf-8", "replace")
        q = tt.quantization
        if name in by_name and tt.type == fb.TensorType.INT8 and q is not None and q.scale is not None \
                and len(q.scale) == 1:
            wanted[i] = t
    ref: dict[int, list[np.ndarray]] = {i: [] for i in wanted}
    for s in x:
        interp.reset_all_variables()
        interp.set_tensor(fin["index"], np.asarray(s, np.float32).reshape(fin["shape"]))
        interp.invoke()
        for i, t in wanted.items():
            ref[i].append(np.array(interp.get_tensor(by_name[g.tensors[t].name.decode("utf-8", "replace")])))
    out: dict[int, float] = {}
    for i, t in wanted.items():
        q = g.tensors[t].quantization
        got = np.stack([(np.asarray(r.tensors[t], np.float32) - np.float32(q.zeroPoint[0])) * np.float32(q.scale[0])
                        for r in tflm])
        f = np.stack(ref[i])
        out[i] = sqnr_db(f, got.reshape(f.shape))
    return out


@dataclass(frozen=True)
class TensorSensitivity:
    """Keeping one layer's output (or the model input) in int16: the ops that must be int16 for
    that (the layer's own and every op reading its output), and what it buys."""

    #: the layer whose output stays int16 ("input": the model input)
    layer: str
    ops: tuple[int, ...]
    #: the layers of ``ops`` (the layer itself and its readers)
    layers: tuple[str, ...]
    #: the lowest SQNR of the layer's op outputs in the int8 model against float (dB)
    sqnr_db: float
    #: how much the model output's SQNR against float rises with ``ops`` alone int16 (dB)
    gain_db: float


def _readers(int8: bytes) -> tuple[list[list[int]], list[int]]:
    """For each op the ops reading its outputs, and the ops reading the model's inputs."""
    from ai_edge_litert import schema_py_generated as fb

    g = fb.ModelT.InitFromPackedBuf(bytearray(int8), 0).subgraphs[0]
    ops = g.operators or []
    by_tensor: dict[int, list[int]] = {}
    for i, op in enumerate(ops):
        for t in op.inputs:
            by_tensor.setdefault(int(t), []).append(i)
    readers = [sorted({j for t in op.outputs for j in by_tensor.get(int(t), [])}) for op in ops]
    return readers, sorted({j for t in g.inputs for j in by_tensor.get(int(t), [])})


def layer_ranking(model: Any, int8: bytes, wide: bytes, x: np.ndarray) -> list[TensorSensitivity]:
    """Where int16 helps most, first. int16 precision lives in a tensor, and a tensor keeps it
    only when the op writing it and every op reading it are int16 (a QUANTIZE between an int8 and
    an int16 op carries int8 precision), so each candidate is one layer's output: the layer and
    its readers int16 (for the model input: the ops reading it). Each candidate alone is spliced
    and the model output's SQNR against float measured (on :data:`SENSITIVITY_SAMPLES` inputs).
    A layer's own int8 SQNR alone would be a poor guide: the error adds up along the network,
    so the layers after the one that loses precision show the lowest SQNR (the heavy-tailed
    Fashion-MNIST model, docs/keras.md: conv2, pool2 and flatten came first by SQNR and none of
    them helped). Ties keep the lower int8 SQNR first."""
    from ..mixed import splice
    from .evaluate import float_predict, sqnr_db

    xs = x[:SENSITIVITY_SAMPLES]
    layers = op_layers(int8, model)
    readers, input_readers = _readers(int8)
    sq = op_sqnr(model, int8, xs)
    units: dict[str, set[int]] = {}
    worst: dict[str, float] = {}
    if input_readers:
        units["input"] = set(input_readers)
    for i, layer in enumerate(layers):
        if layer is not None:
            units.setdefault(layer, set()).update({i, *readers[i]})
            worst[layer] = min(worst.get(layer, math.inf), sq.get(i, math.inf))
    f = float_predict(model, xs).reshape(len(xs), -1)
    base = sqnr_db(f, tflm_predict(int8, xs))
    out = []
    for name, ops in units.items():
        gain = sqnr_db(f, tflm_predict(splice(int8, wide, sorted(ops)), xs)) - base
        named = tuple(dict.fromkeys(n for i in sorted(ops) if (n := layers[i]) is not None))
        out.append(TensorSensitivity(name, tuple(sorted(ops)), named, worst.get(name, math.inf),
                                     gain if math.isfinite(gain) else 0.0))
    return sorted(out, key=lambda s: (-round(s.gain_db, 2), s.sqnr_db))


def arena_costs(int8: bytes, other: bytes) -> tuple[int, int, str]:
    """The arena bytes of the int8 and the other model, and what they are: edgegen's plan when
    the back end compiles both, else (for both, so they compare) the peak of live activation bytes,
    an estimate without alignment or scratch."""
    from ..build import compile_tflite
    from ..mixed import activation_peak_bytes

    try:
        planned = [compile_tflite(t, name="cost", source="model")[1].plan.arena_bytes for t in (int8, other)]
    except EdgegenError:
        return (activation_peak_bytes(int8), activation_peak_bytes(other),
                "peak live activation bytes (an estimate: edgegen cannot plan this model's int16 ops yet)")
    return int(planned[0]), int(planned[1]), "arena bytes (edgegen's plan)"


def _fmt_db(v: float) -> str:
    return f"{v:.1f} dB" if math.isfinite(v) else "exact"


def check_options(precision: str, int16_layers: Sequence[str], max_drop: float | None) -> None:
    """Refuse contradictory precision options before any conversion."""
    if precision not in PRECISIONS:
        raise EdgegenError(f"--precision {precision}: use one of {', '.join(PRECISIONS)}")
    if max_drop is not None and precision != "auto":
        raise EdgegenError(f"--max-accuracy-drop {max_drop:g} chooses int16 layers automatically: it needs "
                           "--precision auto")
    if max_drop is not None and not (math.isfinite(max_drop) and max_drop >= 0):
        raise EdgegenError(f"--max-accuracy-drop {max_drop}: give the accuracy points int8 may lose, >= 0 (e.g. 0.5)")
    if precision == "auto" and max_drop is None:
        raise EdgegenError("--precision auto needs --max-accuracy-drop POINTS (e.g. 0.5)")
    if int16_layers and precision != "int8":
        raise EdgegenError(f"--int16-layers makes the named layers int16 and the rest int8; drop --precision "
                           f"{precision} (or drop --int16-layers)")


def for_pipeline(model: Any, int8: bytes, calib: Dataset, evaluation: Dataset | None, *, precision: str,
                 int16_layers: Sequence[str], max_drop: float | None, float_io: bool,
                 make_16x8: Callable[[], bytes | None] | None = None) -> PrecisionResult:
    """:func:`choose` with the pipeline's evaluation data (labels when they are class labels).
    ``make_16x8`` is the pipeline's conversion's 16x8 twin (:meth:`.calibrate.Conversion.
    sixteen_by_eight`: the same calibrated model and ranges, ``--calib-method``'s included)."""
    from .evaluate import targets

    kind = targets(model, evaluation) if evaluation is not None else None
    labels = kind.array if kind is not None and kind.classes else None
    return choose(model, int8, calib, precision=precision, int16_layers=int16_layers, max_drop=max_drop,
                  evaluation=evaluation, labels=labels, float_io=float_io, make_16x8=make_16x8)


def choose(model: Any, int8: bytes, calib: Dataset, *, precision: str, int16_layers: Sequence[str] = (),
           max_drop: float | None = None, evaluation: Dataset | None = None, labels: np.ndarray | None = None,
           float_io: bool = False, make_16x8: Callable[[], bytes | None] | None = None) -> PrecisionResult:
    """The model in the precision asked for (see the module's doc); ``evaluation`` and ``labels``
    (class indices) are needed for ``auto``. ``make_16x8`` makes the 16x8 twin of ``int8`` (same
    graph, same ranges); without it, or when it gives None (a model converted without the calibrated
    route), :func:`.convert.to_16x8_tflite` on ``calib``, which gives the converter's min-max ranges."""
    from ..mixed import splice
    from .convert import to_16x8_tflite

    check_options(precision, int16_layers, max_drop)
    if precision == "int8" and not int16_layers:
        return PrecisionResult(int8, "int8", (), (), (), ())
    if precision == "auto" and (evaluation is None or labels is None):
        raise EdgegenError("--precision auto measures the accuracy drop against class labels: give labelled "
                           "--eval data (or calibration data with labels, a .npz with x and y)")
    wide = make_16x8() if make_16x8 is not None else None
    if wide is None:
        wide = to_16x8_tflite(model, calib, float_io=float_io)
    lines: list[str] = []
    warns: list[str] = []
    data: dict[str, Any] = {"requested": precision}
    if precision == "int16":
        return _result(wide, "int16", tuple(n for n in op_layers(int8, model) if n), (), int8, lines, warns,
                       data)
    if int16_layers:
        ops = select_ops(int8, model, int16_layers)
        return _result(splice(int8, wide, ops), "mixed", tuple(int16_layers), ops, int8, lines, warns, data)
    assert evaluation is not None and labels is not None and max_drop is not None
    from .evaluate import accuracy, float_predict

    f_acc = accuracy(float_predict(model, evaluation.x).reshape(len(evaluation), -1), labels)

    def drop(tfl: bytes) -> float:
        return 100.0 * (f_acc - accuracy(tflm_predict(tfl, evaluation.x), labels))

    ranking = layer_ranking(model, int8, wide, evaluation.x)
    steps: list[dict[str, Any]] = [{"int16_layers": [], "drop_points": drop(int8)}]
    chosen: set[int] = set()
    best = int8
    layers = op_layers(int8, model)
    lines.append(f"precision auto: target drop <= {max_drop:g} points on {len(evaluation):,} samples of "
                 f"{evaluation.name}; float accuracy {100 * f_acc:.2f}%, int8 drop {steps[0]['drop_points']:+.2f}")
    lines.append("  sensitivity (output SQNR gain with a layer's output kept int16; the layer's int8 SQNR): "
                 + ", ".join(f"{r.layer} {r.gain_db:+.1f} dB"
                             + (f" ({_fmt_db(r.sqnr_db)})" if r.layer != "input" else "") for r in ranking[:8])
                 + (" ..." if len(ranking) > 8 else ""))
    for r in ranking:
        if steps[-1]["drop_points"] <= max_drop:
            break
        if set(r.ops) <= chosen:
            continue
        chosen |= set(r.ops)
        best = splice(int8, wide, sorted(chosen))
        names = _names(layers, chosen)
        steps.append({"int16_layers": names, "drop_points": drop(best)})
        lines.append(f"  + {r.layer}'s output int16 ({', '.join(r.layers)}): drop {steps[-1]['drop_points']:+.2f} "
                     "points")
    met = steps[-1]["drop_points"] <= max_drop
    data["auto"] = {"max_accuracy_drop": max_drop, "float_accuracy": f_acc, "steps": steps, "met": met,
                    "ranking": [{"output_of": r.layer, "layers": list(r.layers), "ops": list(r.ops),
                                 "gain_db": r.gain_db, "sqnr_db": r.sqnr_db if math.isfinite(r.sqnr_db) else None}
                                for r in ranking]}
    if not met:
        warns.append(f"--max-accuracy-drop {max_drop:g} cannot be met: with every layer int16 the drop is still "
                     f"{steps[-1]['drop_points']:.2f} points (int8: {steps[0]['drop_points']:.2f})")
    if not chosen:
        lines.append("  the int8 model meets the target: nothing moved to int16")
        return PrecisionResult(int8, "int8", (), (), tuple(lines), tuple(warns), data)
    return _result(best, "mixed", tuple(_names(layers, chosen)), tuple(sorted(chosen)), int8, lines, warns, data)


def _names(layers: list[str | None], ops: set[int]) -> list[str]:
    return list(dict.fromkeys(n for i in sorted(ops) if (n := layers[i]) is not None))


def _result(tflite: bytes, precision: str, layers: tuple[str, ...], ops: tuple[int, ...], int8: bytes,
            lines: list[str], warns: list[str], data: dict[str, Any]) -> PrecisionResult:
    from ..mixed import tensor_precisions

    before, cost, how = arena_costs(int8, tflite)
    tensors = tensor_precisions(tflite)
    n16 = [t for t in tensors if t.dtype == "int16"]
    what = "every layer" if precision == "int16" else f"layers {', '.join(layers)}"
    lines.append(f"precision {precision}: {what} int16 (ops {', '.join(map(str, ops)) or 'all'}); "
                 f"{len(n16)} of {len(tensors)} activation tensors int16"
                 f"{', the rest int8' if len(n16) < len(tensors) else ''}; weights int8 either way "
                 "(int16 ops' biases int64)")
    lines.append(f"  cost: {how}: {before:,} int8 -> {cost:,} {precision}")
    if precision == "mixed":
        shown = [f"{t.name.split(';')[0].split('/')[-2] if '/' in t.name else t.name} {list(t.shape)}"
                 for t in n16]
        lines.append("  int16 tensors: " + ", ".join(shown[:8]) + (f" and {len(shown) - 8} more" if len(shown) > 8
                                                                     else "") + " (all of them in report.json)")
    data.update({"precision": precision, "int16_layers": list(layers), "int16_ops": list(ops),
                 "arena_bytes": {"int8": before, precision: cost, "source": how},
                 "tensors": [{"name": t.name, "dtype": t.dtype, "shape": list(t.shape), "bytes": t.nbytes,
                              "producer": t.producer} for t in tensors]})
    return PrecisionResult(tflite, precision, layers, ops, tuple(lines), tuple(warns), data)
