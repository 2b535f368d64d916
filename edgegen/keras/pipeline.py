"""The Keras path end to end: load, (prune, fine-tune), calibrate, convert, compare, summarise.

Calibration policy: real calibration data is required, because int8 ranges taken from random
data are wrong for real inputs and the loss only shows up on the device. The one exception is a
tiny model (at most :data:`TINY_PARAMS` parameters, e.g. a sine regressor) — for those a build
without ``--calib`` is still useful to try the toolchain, so edgegen calibrates on random N(0, 1)
data and prints a WARNING line saying the int8 model is not fit for real data.

Evaluation (:mod:`.evaluate`, :mod:`.targets`, :mod:`.pruning_effect`): float against int8 on
every sample of the evaluation data, with metrics chosen from its labels (accuracy for classes,
MSE for target values); the summary names the data. Whenever pruning ran, the unpruned float
model is measured on the same data, and a drop past one point (or disagreement with the unpruned
model past 1 %, without labels) is a WARNING; so is int8 far from float (SQNR < 10 dB, argmax
agreement < 90 %).

Determinism: everything runs under :func:`._tf.deterministic` with ``Options.seed`` (pruning,
fine-tuning, calibration sampling, TensorFlow ops), so the same model, data and seed give a
byte-identical ``.tflite``. The summary lines name the model and data by file name only: they go
into report.json/report.html, which are shared.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import EdgegenError
from ._tf import DEFAULT_SEED, deterministic
from .data import DEFAULT_MAX_CALIB, Dataset, SampleSource, as_dataset, read_split, synthetic
from .evaluate import output_size, targets
from .finetune import TrainConfig, finetune
from .report import ModelStats, change, model_stats
from .stages import int8_row, stage_row
from .targets import targets_for

TINY_PARAMS = 20_000
#: the fraction of --train held out to measure pruning on when nothing else is labelled
HELD_OUT = 0.1
PRUNE_MODES = ("structured", "unstructured", "block", "nm")


@dataclass(frozen=True)
class Options:
    calib: SampleSource | Dataset | None = None
    prune: float | None = None
    prune_mode: str = "structured"
    #: N:M pruning's (N, M) (``prune_mode="nm"``, which sets the sparsity to 1 - N/M)
    prune_nm: tuple[int, int] | None = None
    #: weight sharing: at most 2**bits distinct values per output channel (None: off)
    share_bits: int | None = None
    share_granularity: str = "channel"
    train: SampleSource | Dataset | None = None
    float_io: bool = False
    #: structured: l1 (default), l2 or activation; block: l1 or l2 (default)
    criterion: str | None = None
    #: unstructured: global (default) or layer; block: layer (default: every layer's kernel skips
    #: work) or global
    scope: str | None = None
    train_config: TrainConfig = field(default_factory=TrainConfig)
    #: labelled data to report accuracy on (default: x_test/y_test of the training .npz, else when
    #: pruning a held-out slice of the training data, else the calibration data)
    eval_data: SampleSource | Dataset | None = None
    max_calib: int = DEFAULT_MAX_CALIB
    #: evaluation samples (None: all of them; more than this: a subset drawn with ``seed``)
    max_eval: int | None = None
    #: training samples (None: all of them)
    max_train: int | None = None
    #: seeds pruning, fine-tuning (shuffling, dropout) and the calibration/evaluation subsets
    seed: int = DEFAULT_SEED
    #: refuse layers edgegen cannot compile before converting (:mod:`.layers`); False converts anyway
    layer_check: bool = True
    #: load Lambda layers from .keras files (Keras's safe_mode=False: runs the file's Python code)
    unsafe_deserialization: bool = False
    #: compare float and int8 outputs (costs one TFLM run per evaluation sample)
    evaluate: bool = True
    #: ``progress(what, done, total)`` for calibration and int8 evaluation (fine-tuning reports
    #: through ``train_config.progress``)
    progress: Callable[[str, int, int], None] | None = field(default=None, compare=False)
    #: int8, int16 (TFLite's 16x8 scheme) or auto (with ``max_accuracy_drop``); :mod:`.precision`
    precision: str = "int8"
    #: Keras layers made int16 in an otherwise int8 model (``--int16-layers``)
    int16_layers: tuple[str, ...] = ()
    #: auto: the accuracy points the quantized model may lose against float
    max_accuracy_drop: float | None = None
    #: activation calibration (edgegen.calibration.METHODS) and its percentile (percentile only)
    calib_method: str = "minmax"
    calib_percentile: float | None = None
    #: samples of the per-layer int8-vs-float comparison (0: off)
    sensitivity_samples: int = 32


@dataclass(frozen=True)
class Result:
    tflite: bytes
    model: Any  # the (pruned) float keras.Model that was converted
    lines: tuple[str, ...]
    warnings: tuple[str, ...]
    before: ModelStats
    after: ModelStats
    comparison: Any = None  # evaluate.Comparison | None
    timings: dict[str, float] = field(default_factory=dict)
    #: the compression stages (float32, pruned, shared, int8) with their size and accuracy, for the
    #: before/after table (edgegen.compression_table)
    stages: tuple[dict[str, Any], ...] = ()
    #: the precision chosen (:class:`.precision.PrecisionResult`'s data), None for plain int8
    precision: dict[str, Any] | None = None
    #: the calibration method and ranges, and the per-layer sensitivity (report.json data)
    extra: dict[str, Any] = field(default_factory=dict)

    def summary_data(self) -> dict[str, Any]:
        """The summary as data for report.json (the lines stay the readable form): the model's
        size before and after pruning, and float against int8; infinite figures (identical
        outputs) as null, which JSON can hold."""
        import dataclasses
        import math

        def finite(d: dict[str, Any]) -> dict[str, Any]:
            return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in d.items()}

        data: dict[str, Any] = {"float_model": dataclasses.asdict(self.before),
                                "converted_model": dataclasses.asdict(self.after),
                                "warnings": list(self.warnings), "stages": list(self.stages), **self.extra}
        if self.precision is not None:
            data["precision"] = self.precision
        if self.comparison is not None and dataclasses.is_dataclass(self.comparison) \
                and not isinstance(self.comparison, type):
            data["float_vs_int8"] = finite(dataclasses.asdict(self.comparison))
        return data


def run(model_or_path: Any, opts: Options) -> Result:
    if opts.layer_check and isinstance(model_or_path, (str, Path)) and str(model_or_path).endswith(".keras"):
        from .layers import preflight_file

        # from the archive's config.json, before seconds of importing TensorFlow to load it
        preflight_file(Path(model_or_path))
    # seeded before the model is loaded: Keras seeds each new layer's generator from the global state
    with deterministic(opts.seed):
        return _run(model_or_path, opts)


def _run(model_or_path: Any, opts: Options) -> Result:
    from ..calibration import check_method
    from .calibrate import convert
    from .layers import preflight
    from .load import LoadedModel, load_model
    from .lstm import has_lstm
    from .precision import check_options

    check_options(opts.precision, opts.int16_layers, opts.max_accuracy_drop)
    check_method(opts.calib_method, opts.calib_percentile)
    t0 = time.monotonic()
    timings: dict[str, float] = {}
    lines: list[str] = []
    warnings: list[str] = []
    if isinstance(model_or_path, (str, Path)):
        loaded = load_model(model_or_path, unsafe_deserialization=opts.unsafe_deserialization)
    else:
        loaded = LoadedModel(model=model_or_path, path=Path(getattr(model_or_path, "name", "model")), format="keras")
    model = loaded.model
    name = str(loaded.path)
    lines.append(f"keras model {loaded.path.name} ({loaded.format}): input {list(model.inputs[0].shape[1:])}, "
                 f"output {list(model.outputs[0].shape[1:])}")
    lines += [f"  compatibility: {n}" for n in loaded.notes]
    if opts.layer_check:
        preflight(model)
    before = model_stats(model)
    timings["load"] = time.monotonic() - t0

    calib = _calibration(model, opts, name, warnings)
    train = as_dataset(opts.train, model, what="training data", limit=opts.max_train,
                       seed=opts.seed) if opts.train is not None else None
    if train is not None and train.y is not None:
        targets_for(train.y, output_size(model), f"{train.source}: training data")  # before minutes of work
    lines += [f"  {n}" for n in (train.notes if train is not None else ())]
    pruning = (opts.prune is not None and opts.prune > 0) or opts.prune_mode == "nm"
    sharing = opts.share_bits is not None
    evaluation, where, train = _evaluation_data(model, opts, calib, train, pruning or sharing, warnings)

    original = model
    stages: list[tuple[str, Any]] = [("float32", model)]
    if (pruning or sharing) and not loaded.editable:
        raise EdgegenError(f"{name}: a SavedModel is an opaque TensorFlow graph and cannot be pruned or have its "
                           "weights shared; load the .keras/.h5 model instead, or drop --prune/--share-weights")
    if pruning:
        if has_lstm(model):
            raise EdgegenError(f"{name}: pruning a model with LSTM layers is not supported (their gates' weights "
                               "are not pruned together with the layers that feed them); drop --prune")
        t = time.monotonic()
        model, prune_lines = _prune(model, opts, calib, train)
        lines += prune_lines
        stages.append(("pruned", model))
        timings["prune"] = time.monotonic() - t
    elif train is not None and not sharing:
        warnings.append("training data given without --prune: the model is converted as it is, not trained")
    if sharing:
        from .share import share_weights

        t = time.monotonic()
        assert opts.share_bits is not None
        shared = share_weights(model, opts.share_bits, granularity=opts.share_granularity, train=train,
                               config=opts.train_config)
        model = shared.model
        lines += shared.lines()
        stages.append(("shared", model))
        timings["share"] = time.monotonic() - t
    after = model_stats(model)
    lines.append(f"float model: {before.line()}")
    if pruning or sharing:
        lines.append(f"{'pruned:' if pruning else 'shared:':<12} {after.line()}  "
                     f"(params {change(before.params, after.params)}, "
                     f"non-zero {change(before.nonzero_params, after.nonzero_params)}, "
                     f"MACs {change(before.macs, after.macs)})")

    t = time.monotonic()
    conversion = convert(model, calib, opts.calib_method, opts.calib_percentile, float_io=opts.float_io,
                         progress=opts.progress)
    tflite, calib_lines, extra = conversion.tflite, conversion.lines, dict(conversion.report)
    timings["convert"] = time.monotonic() - t
    chosen = None
    if opts.precision != "int8" or opts.int16_layers:
        from .precision import for_pipeline

        t = time.monotonic()
        chosen = for_pipeline(model, tflite, calib, evaluation, precision=opts.precision,
                              int16_layers=opts.int16_layers, max_drop=opts.max_accuracy_drop, float_io=opts.float_io,
                              make_16x8=lambda: conversion.sixteen_by_eight(opts.float_io))
        warnings += chosen.warnings
        tflite = chosen.tflite
        timings["precision"] = time.monotonic() - t
    weight_bytes = _compiled_weights(tflite, model)
    kind_label = chosen.precision if chosen is not None else "int8"
    lines.append(f"{kind_label} .tflite: {len(tflite):,} bytes ({weight_bytes:,} bytes of weights vs "
                 f"{4 * after.params:,} as float32); calibrated on "
                 f"{len(calib)} samples from {calib.name}, value range {_range(calib)}; "
                 f"{'float32 inputs and outputs' if opts.float_io else _io_types(tflite)}")
    lines += [f"  {n}" for n in calib.notes] + calib_lines
    lines += list(chosen.lines) if chosen is not None else []

    comparison = None
    stage_data = [stage_row(s, m) for s, m in stages]
    if opts.evaluate and evaluation is not None:
        from .evaluate import compare_outputs, float_predict, int8_predict, targets
        from .pruning_effect import pruning_effect

        t = time.monotonic()
        kind = targets(model, evaluation)
        f = float_predict(model, evaluation.x)
        if chosen is not None and chosen.precision != "int8":
            from .precision import tflm_predict

            q = tflm_predict(tflite, evaluation.x)  # the int16/mixed model (the summary's "int8" lines)
        else:
            q = int8_predict(tflite, evaluation.x, opts.progress)
        comparison = compare_outputs(model, f, q, kind)
        lines.append(f"evaluated on {len(evaluation):,} samples: {where}")
        if evaluation.x is not calib.x:  # the calibration notes are printed above
            lines += [f"  {n}" for n in evaluation.notes]
        compared = comparison.lines()
        if chosen is not None and chosen.precision != "int8":  # the figures are the int16/mixed model's
            compared = [ln.replace("int8", chosen.precision) for ln in compared]
        lines += [f"{ln} [{evaluation.name}]" for ln in compared]
        warnings += comparison.warnings(where)
        if model is not original:
            more, warn = pruning_effect(float_predict(original, evaluation.x).reshape(len(evaluation), -1),
                                        f.reshape(len(evaluation), -1), q, kind, where,
                                        classifier=comparison.agreement is not None)
            lines += more
            warnings += warn
        stage_data = [stage_row(s, m, evaluation, kind) for s, m in stages]
        timings["evaluate"] = time.monotonic() - t
    if opts.evaluate and opts.sensitivity_samples > 0:
        from .sensitivity import layer_sensitivity

        t = time.monotonic()
        data, about = (evaluation, where) if evaluation is not None else (calib, f"{calib.name} (calibration data)")
        more, extra["sensitivity"] = layer_sensitivity(model, tflite, data, opts.sensitivity_samples, about,
                                                       conversion.float_flatbuffer)
        lines += more
        timings["sensitivity"] = time.monotonic() - t
    if opts.evaluate and evaluation is None and model is not original:
        warnings.append("pruning changed the weights and there is no data to measure what it cost (no --eval, "
                        "--train or --calib): the pruned model's accuracy is unknown")
    return Result(tflite=tflite, model=model, lines=tuple(lines), warnings=tuple(warnings), before=before,
                  after=after, comparison=comparison, timings=timings,
                  stages=(*stage_data, int8_row(comparison)), extra=extra,
                  precision=dict(chosen.data) if chosen is not None else None)


def _calibration(model: Any, opts: Options, name: str, warnings: list[str]) -> Dataset:
    if opts.calib is not None:
        return as_dataset(opts.calib, model, limit=opts.max_calib, seed=opts.seed)
    params = model_stats(model).params
    if params > TINY_PARAMS:
        raise EdgegenError(f"{name}: --calib is required for Keras models ({params:,} parameters): give a few "
                           "hundred real inputs as .npy/.npz or a directory of .npy files. int8 ranges taken from "
                           "random data are wrong for real inputs.")
    warnings.append(f"no --calib: calibrating on RANDOM N(0, 1) data because the model is tiny ({params:,} "
                    "params); the int8 model's ranges do not reflect real inputs and its accuracy is unknown")
    return synthetic(model, seed=opts.seed)


def _evaluation_data(model: Any, opts: Options, calib: Dataset, train: Dataset | None, pruning: bool,
                     warnings: list[str]) -> tuple[Dataset | None, str, Dataset | None]:
    """The data to evaluate on, a description saying which it is, and the training data left for
    fine-tuning. In order: ``--eval``; ``x_test``/``y_test`` of the ``--train`` .npz; when pruning
    with labelled training data, a seeded :data:`HELD_OUT` slice of it that fine-tuning never sees;
    the calibration data (optimistic for int8, and said so). Labels are checked against the model's
    output here, before any pruning or conversion; those of the calibration data are dropped with
    a warning when they do not fit, the others refused."""
    evaluation: Dataset | None = None
    where = ""
    if opts.eval_data is not None:
        evaluation = as_dataset(opts.eval_data, model, what="evaluation data", limit=opts.max_eval, seed=opts.seed)
        where = f"{evaluation.name} (--eval)"
    elif isinstance(opts.train, (str, Path)) and (split := read_split(opts.train, "test")) is not None:
        named = Dataset(split[0], split[1], f"{opts.train} (x_test, y_test)",
                        label=f"{Path(opts.train).name} (x_test, y_test)")
        evaluation = as_dataset(named, model, what="evaluation data", limit=opts.max_eval, seed=opts.seed)
        where = f"{evaluation.name} of --train"
    elif pruning and train is not None and train.y is not None and len(train) >= 2:
        held = max(1, round(HELD_OUT * len(train)))
        order = np.random.default_rng(opts.seed).permutation(len(train))
        part = train.subset(np.sort(order[:held]))
        evaluation = Dataset(part.x, part.y, part.source, notes=(), label=f"{train.name}, held out")
        where = (f"a seeded {HELD_OUT:.0%} of {train.name} held out from fine-tuning (which used the other "
                 f"{len(train) - held:,})")
        train = train.subset(np.sort(order[held:]))
    elif not calib.synthetic:
        # labelled or not, the calibration samples still tell how far int8 is from float
        evaluation = calib
        where = f"{calib.name} = the calibration data (optimistic for int8: give --eval data)"
        try:
            targets(model, calib, "labels of the calibration data")
        except EdgegenError as e:
            # labels that came along with the calibration inputs are not worth refusing the build for
            warnings.append(f"{e}; evaluating without them")
            evaluation = Dataset(calib.x, None, calib.source, notes=calib.notes, label=calib.label)
        return evaluation, where, train
    if evaluation is not None:
        targets(model, evaluation)
    return evaluation, where, train


def _prune(model: Any, opts: Options, calib: Dataset, train: Dataset | None) -> tuple[Any, list[str]]:
    fraction = float(opts.prune or 0.0)
    if opts.prune_mode == "structured":
        from .prune_structured import prune_channels

        data = train.x if train is not None else calib.x
        res = prune_channels(model, fraction, criterion=opts.criterion or "l1", data=data)
        lines = res.lines()
        if not res.groups:
            lines.append("  nothing was prunable: every channel group reaches an output or an unsupported layer")
        if train is not None:
            finetune(res.model, train, opts.train_config)
            lines.append(f"  fine-tuned {opts.train_config.epochs} epochs on {len(train)} samples from {train.name}")
        else:
            lines.append("  not fine-tuned (no --train data): expect an accuracy drop")
        return res.model, lines
    if opts.prune_mode in ("block", "nm"):
        from .prune_block import prune_shaped

        sres = prune_shaped(model, opts.prune_mode, fraction if opts.prune_mode == "block" else None,
                            nm=opts.prune_nm, scope=opts.scope or "layer", criterion=opts.criterion or "l2",
                            train=train, config=opts.train_config)
        return sres.model, sres.lines()
    if opts.prune_mode == "unstructured":
        from .prune_magnitude import prune_unstructured

        ures = prune_unstructured(model, fraction, scope=opts.scope or "global", train=train, config=opts.train_config)
        return ures.model, ures.lines()
    raise EdgegenError(f"unknown --prune-mode '{opts.prune_mode}'; use {', '.join(PRUNE_MODES)}")


def _compiled_weights(tflite: bytes, model: Any) -> int:
    """The weight bytes of the converted model as edgegen compiles it; when edgegen refuses it,
    the error names the Keras layer the refused op came from (:mod:`.opmap`)."""
    from ..build import compile_tflite
    from .opmap import explain

    try:
        _graph, program = compile_tflite(tflite, name="model", source="converted model")
    except EdgegenError as e:
        raise explain(e, tflite, model) from None
    return program.weight_bytes


def _io_types(tflite: bytes) -> str:
    from ..mixed import io_dtypes

    ins, outs = io_dtypes(tflite)
    if len(set(ins + outs)) == 1:
        return f"{ins[0]} inputs and outputs"
    return f"{'/'.join(dict.fromkeys(ins))} inputs, {'/'.join(dict.fromkeys(outs))} outputs"


def _range(d: Dataset) -> str:
    lo, hi = d.value_range()
    return f"{lo:.3g}..{hi:.3g}"

