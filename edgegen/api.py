"""A small typed Python API over the Keras front end, for notebooks and scripts.

>>> from edgegen import api
>>> tflite = api.quantize("kws.h5", calib_array)                     # doctest: +SKIP
>>> smaller = api.prune(model, 0.5, mode="structured", train=(x, y))  # doctest: +SKIP
>>> api.evaluate(smaller, api.quantize(smaller, x[:300]), x_test, y_test).lines()  # doctest: +SKIP

Everything mirrors the CLI: :func:`build`, :func:`verify`, :func:`run` and :func:`inspect` are
``edgegen build``, ``verify``, ``run`` and ``inspect`` (``build`` takes every option the CLI takes,
``inspect`` returns the kernel rows instead of printing them); :func:`evaluate` (or ``eval``) is
``--eval``; :func:`quantize` is ``--calib``/``--float-io``, :func:`prune` is
``--prune``/``--prune-mode``/``--train``; :func:`build_keras` runs the whole Keras pipeline and
returns the summary. TensorFlow is imported on first call, not on import.

>>> result = api.build("model.keras", "build/m", calib="calib.npy", board="qemu-m4")  # doctest: +SKIP
>>> assert api.verify("build/m").ok and api.run("build/m").result.verdict          # doctest: +SKIP

Every array argument passes the CLI's checks (:mod:`edgegen.arrays`: real, finite numbers of the
model's input shape). ``seed`` (default 0, as ``--seed``) seeds pruning, fine-tuning and the
calibration subset: the same arguments give the same bytes.
"""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from .arrays import ArrayError, check_array
from .errors import EdgegenError
from .keras._tf import DEFAULT_SEED
from .keras.data import Dataset, SampleSource
from .keras.evaluate import Comparison, LayerError
from .keras.finetune import TrainConfig

if TYPE_CHECKING:
    from .builddir import BuildResult
    from .emulator import EmulatorRun
    from .inspect_model import ModelInspection
    from .verify import ParityReport

__all__ = ["Comparison", "EdgegenWarning", "LayerError", "TrainConfig", "build", "build_keras", "eval", "evaluate",
           "inspect", "layer_errors", "load", "prune", "quantize", "run", "verify"]

ModelLike = Any  # a keras.Model or a path to .keras/.h5/SavedModel
Calib = SampleSource | Callable[[], Iterable[Any]]
LabelledData = SampleSource | Dataset | tuple[np.ndarray, np.ndarray]
CalibMethod = Literal["minmax", "percentile", "entropy", "mse"]


def load(path: str | Path, *, unsafe_deserialization: bool = False) -> Any:
    """Load a ``.keras``, ``.h5`` (legacy files included) or SavedModel as a ``keras.Model``;
    ``unsafe_deserialization`` loads Lambda layers (their Python code runs: trusted files only)."""
    from .keras.load import load_model

    return load_model(path, unsafe_deserialization=unsafe_deserialization).model


def _model(model_or_path: ModelLike) -> Any:
    return load(model_or_path) if isinstance(model_or_path, (str, Path)) else model_or_path


def quantize(model_or_path: ModelLike, calib: Calib, *, float_io: bool = False, max_samples: int = 500,
             seed: int = DEFAULT_SEED, calib_method: CalibMethod = "minmax",
             calib_percentile: float | None = None) -> bytes:
    """The full-int8 ``.tflite`` (per-channel int8 weights, int8 activations, int8 I/O unless
    ``float_io``) calibrated on ``calib``: an array ``[N, *input_shape]``, a ``.npy``/``.npz`` path,
    a directory of ``.npy`` files, or a callable/generator yielding samples or batches; beyond
    ``max_samples``, a subset drawn with ``seed``. ``calib_method``/``calib_percentile`` as
    ``--calib-method``/``--calib-percentile`` (the activation ranges, docs/keras.md "Calibration")."""
    from .calibration import check_method
    from .keras._tf import deterministic
    from .keras.calibrate import convert
    from .keras.convert import check_convertible
    from .keras.data import as_dataset

    check_method(calib_method, calib_percentile)
    with deterministic(seed):
        model = _model(model_or_path)
        check_convertible(model)
        data = as_dataset(calib, model, limit=max_samples, seed=seed)
        return convert(model, data, calib_method, calib_percentile, float_io=float_io).tflite


def _train_set(model: Any, train: tuple[np.ndarray, np.ndarray] | str | Path | Dataset | None) -> Dataset | None:
    from .keras.data import as_dataset

    if train is None or isinstance(train, Dataset):
        return train
    if isinstance(train, tuple):
        return as_dataset(train[0], model, what="training data", labels=train[1])
    return as_dataset(train, model, what="training data")


def prune(model: ModelLike, fraction: float, mode: Literal["structured", "unstructured", "block"] = "structured", *,
          train: tuple[np.ndarray, np.ndarray] | str | Path | Dataset | None = None,
          criterion: Literal["l1", "l2", "activation"] = "l1", scope: Literal["layer", "global"] = "global",
          data: np.ndarray | None = None, config: TrainConfig | None = None, verbose: bool = True,
          seed: int = DEFAULT_SEED) -> Any:
    """A pruned copy of ``model`` (the original is left alone).

    ``structured``: ``fraction`` of the output channels of every prunable Conv2D/Dense group are
    removed (a smaller dense model); ``criterion`` ``activation`` ranks channels on ``data`` (or
    the training inputs). ``unstructured``: ``fraction`` of the kernel weights are zeroed, per layer
    or globally, along a polynomial-decay schedule when ``train`` is given; ``block`` the same with
    whole blocks of 4 weights (``criterion`` l1 or l2, docs/keras.md "Compression"). Fine-tuning runs
    ``config.epochs`` epochs when ``train`` (``(x, y)``, a ``.npz`` path or a Dataset) is given.
    ``seed`` seeds every random choice (fine-tuning's shuffling and dropout).
    """
    from .keras._tf import deterministic

    with deterministic(seed):
        return _prune(model, fraction, mode, train=train, criterion=criterion, scope=scope, data=data,
                      config=config, verbose=verbose)


def _prune(model: ModelLike, fraction: float, mode: str, *, train: tuple[np.ndarray, np.ndarray] | str | Path |
           Dataset | None, criterion: str, scope: str, data: np.ndarray | None, config: TrainConfig | None,
           verbose: bool) -> Any:
    m = _model(model)
    train_set = _train_set(m, train)
    if mode == "structured":
        from .keras.finetune import finetune
        from .keras.prune_structured import prune_channels

        sample = _activation_data(m, data) if data is not None else (train_set.x if train_set is not None else None)
        res = prune_channels(m, fraction, criterion=criterion, data=sample)
        if verbose:
            print("\n".join(res.lines()))
        if train_set is not None:
            finetune(res.model, train_set, config or TrainConfig())
        return res.model
    if mode == "unstructured":
        from .keras.prune_magnitude import prune_unstructured

        ures = prune_unstructured(m, fraction, scope=scope, train=train_set, config=config)
        if verbose:
            print("\n".join(ures.lines()))
        return ures.model
    if mode == "block":
        from .keras.prune_block import prune_shaped

        bres = prune_shaped(m, "block", fraction, scope=scope, criterion=criterion, train=train_set, config=config)
        if verbose:
            print("\n".join(bres.lines()))
        return bres.model
    raise EdgegenError(f"unknown pruning mode '{mode}'; use 'structured', 'unstructured' or 'block'")


def evaluate(model_or_path: ModelLike, tflite: bytes, x: np.ndarray | SampleSource | LabelledData,
             y: np.ndarray | None = None) -> Comparison:
    """Float (Keras) against int8 (TFLM, bit-exact with the firmware) on every sample of ``x`` (an
    array, a path, a tf.data dataset of ``(x, y)``...): accuracy for class labels, MSE for
    target values (chosen from ``y`` and the output, labels that do not fit refused), output SQNR
    and argmax agreement always; ``.warnings(name)`` gives the build's warnings. Also ``api.eval``."""
    from .keras.data import as_dataset
    from .keras.evaluate import compare

    model = _model(model_or_path)
    data = _labelled(x, "api.eval(x)") if isinstance(x, tuple) and y is None else x
    assert data is not None
    return compare(model, tflite, as_dataset(data, model, what="evaluation data", labels=y, limit=None))


#: ``api.eval`` mirrors ``--eval``
eval = evaluate


def layer_errors(model_or_path: ModelLike, tflite: bytes, x: np.ndarray, *, samples: int = 8) -> list[LayerError]:
    """Each int8 activation against the float one (SQNR, worst error in LSB), in execution order;
    sort by ``sqnr_db`` to see which layers lose most."""
    from .keras.data import as_dataset
    from .keras.evaluate import per_layer_error

    model = _model(model_or_path)
    return per_layer_error(model, tflite, as_dataset(x, model, what="evaluation data").x, samples=samples)


def _labelled(value: LabelledData | None, what: str) -> SampleSource | Dataset | None:
    """``(x, y)`` arrays as a :class:`Dataset` (checked later against the model like a file)."""
    if isinstance(value, tuple):
        if len(value) != 2:
            raise EdgegenError(f"{what}: give (x, y), a path, an array or a tf.data dataset; got a tuple of "
                               f"{len(value)}")
        return Dataset(check_array(value[0], f"{what}[0]"), check_array(value[1], f"{what}[1]"), f"{what} (x, y)")
    return value


def _pipeline(model_or_path: ModelLike, calib: Calib | None, *, prune: float | None, prune_mode: str,
              train: LabelledData | None, eval: LabelledData | None, float_io: bool, config: TrainConfig | None,
              epochs: int | None, prune_criterion: str | None, prune_scope: str | None, eval_samples: int | None,
              seed: int, prune_nm: str | None = None, share_weights: int | None = None,
              share_granularity: str = "channel", layer_check: bool = True,
              unsafe_deserialization: bool = False, calib_method: str = "minmax",
              calib_percentile: float | None = None, sensitivity_samples: int = 32, precision: str = "int8",
              int16_layers: Sequence[str] = (), max_accuracy_drop: float | None = None) -> Any:
    from .keras.pipeline import Options, run

    if prune is not None and not 0.0 <= prune < 1.0:
        raise EdgegenError(f"prune={prune}: give the fraction to remove, between 0 and 1 (e.g. 0.5)")
    if epochs is not None and epochs < 1:
        raise EdgegenError(f"epochs={epochs}: give at least 1 epoch")
    cfg = config or TrainConfig()
    if epochs is not None:
        cfg = dataclasses.replace(cfg, epochs=epochs)
    from .keras.prune_block import parse_nm

    nm = parse_nm(prune_nm) if prune_nm is not None else None
    if nm is not None and prune_mode not in ("structured", "nm"):
        raise EdgegenError(f"prune_nm={prune_nm!r} is N:M pruning; drop prune_mode={prune_mode!r}")
    if nm is not None:
        prune_mode = "nm"
    res = run(model_or_path, Options(calib=calib, prune=prune, prune_mode=prune_mode, prune_nm=nm,
                                     share_bits=share_weights, share_granularity=share_granularity,
                                     train=_labelled(train, "train"), eval_data=_labelled(eval, "eval"),
                                     float_io=float_io, criterion=prune_criterion, scope=prune_scope,
                                     train_config=cfg, max_eval=eval_samples, seed=seed,
                                     layer_check=layer_check, unsafe_deserialization=unsafe_deserialization,
                                     calib_method=calib_method, calib_percentile=calib_percentile,
                                     sensitivity_samples=sensitivity_samples,
                                     precision=precision, int16_layers=tuple(int16_layers),
                                     max_accuracy_drop=max_accuracy_drop))
    for w in res.warnings:
        # the CLI prints these on stderr; a notebook shows Python warnings
        warnings.warn(w, EdgegenWarning, stacklevel=3)
    return res


class EdgegenWarning(UserWarning):
    """A build went through but its numbers need a look (accuracy lost to pruning, int8 far from
    float, calibration on random data); the same lines start with ``WARNING:`` in the summary."""


def build_keras(model_or_path: ModelLike, calib: Calib | None, *, prune: float | None = None,
                prune_mode: Literal["structured", "unstructured", "block", "nm"] = "structured",
                train: LabelledData | None = None, eval: LabelledData | None = None, float_io: bool = False,
                config: TrainConfig | None = None, epochs: int | None = None,
                prune_criterion: Literal["l1", "l2", "activation"] | None = None,
                prune_scope: Literal["layer", "global"] | None = None, eval_samples: int | None = None,
                seed: int = DEFAULT_SEED, prune_nm: str | None = None, share_weights: int | None = None,
                share_granularity: Literal["channel", "layer"] = "channel", layer_check: bool = True,
                unsafe_deserialization: bool = False, calib_method: CalibMethod = "minmax",
                calib_percentile: float | None = None, sensitivity_samples: int = 32,
                precision: Literal["int8", "int16", "auto"] = "int8", int16_layers: Sequence[str] = (),
                max_accuracy_drop: float | None = None) -> tuple[bytes, list[str]]:
    """The CLI's Keras pipeline: the int8 ``.tflite`` and the summary lines it would print
    (warnings first, each also raised as an :class:`EdgegenWarning`). Arguments as the CLI's
    options: ``eval`` is ``--eval`` (labelled data: a path, ``(x, y)``, a tf.data dataset of
    ``(x, y)``; every sample unless ``eval_samples``), ``train`` is ``--train``, ``epochs``
    ``--epochs``, ``prune_criterion``/``prune_scope`` ``--prune-criterion``/``--prune-scope``,
    ``layer_check=False`` ``--skip-layer-check``, ``unsafe_deserialization`` ``--unsafe-deserialization``,
    ``prune_nm`` ``--prune-nm`` ("2:4"), ``share_weights``/``share_granularity``
    ``--share-weights``/``--share-granularity``, ``calib_method``/``calib_percentile``
    ``--calib-method``/``--calib-percentile``, ``sensitivity_samples`` ``--sensitivity-samples``,
    ``precision``/``int16_layers``/``max_accuracy_drop`` ``--precision``/``--int16-layers``/
    ``--max-accuracy-drop`` (docs/keras.md, "Mixed precision")."""
    res = _pipeline(model_or_path, calib, prune=prune, prune_mode=prune_mode, train=train, eval=eval,
                    float_io=float_io, config=config, epochs=epochs, prune_criterion=prune_criterion,
                    prune_scope=prune_scope, eval_samples=eval_samples, seed=seed, prune_nm=prune_nm,
                    share_weights=share_weights, share_granularity=share_granularity, layer_check=layer_check,
                    unsafe_deserialization=unsafe_deserialization, calib_method=calib_method,
                    calib_percentile=calib_percentile, sensitivity_samples=sensitivity_samples,
                    precision=precision, int16_layers=int16_layers, max_accuracy_drop=max_accuracy_drop)
    return res.tflite, [f"WARNING: {w}" for w in res.warnings] + list(res.lines)


def build(model: ModelLike, out: str | Path, *, board: str = "nucleo", calib: Calib | None = None,
          prune: float | None = None,
          prune_mode: Literal["structured", "unstructured", "block", "nm"] = "structured",
          train: LabelledData | None = None, eval: LabelledData | None = None, float_io: bool = False,
          config: TrainConfig | None = None, epochs: int | None = None,
          prune_criterion: Literal["l1", "l2", "activation"] | None = None,
          prune_scope: Literal["layer", "global"] | None = None, eval_samples: int | None = None,
          prune_nm: str | None = None, share_weights: int | None = None,
          share_granularity: Literal["channel", "layer"] = "channel", inputs: np.ndarray | None = None,
          vectors: int = 3, force: bool = False,
          cmsis_nn: str | Path | None = None, guard: bool = False, seed: int = DEFAULT_SEED,
          kernels: Literal["auto", "cmsis-nn", "portable"] = "auto", keep_inputs: bool = False,
          portable_kernels: bool = False, name: str | None = None, layer_check: bool = True,
          unsafe_deserialization: bool = False,
          compress: Literal["auto", "on", "off"] = "auto",
          entropy_code: Literal["auto", "on", "off"] = "auto", calib_method: CalibMethod = "minmax",
          calib_percentile: float | None = None, sensitivity_samples: int = 32,
          precision: Literal["int8", "int16", "auto"] = "int8", int16_layers: Sequence[str] = (),
          max_accuracy_drop: float | None = None) -> BuildResult:
    """``edgegen build``: a Keras model (object or path; converted as :func:`build_keras` does,
    with the same options) or an int8 ``.tflite`` path, compiled for ``board`` into the directory
    ``out``. ``inputs`` ``[N, ...]`` become the first embedded test vectors (at most ``vectors``,
    which is at most :data:`edgegen.fit.MAX_VECTORS`; int8 arrays are int8 codes, every other
    dtype real values, see "Data arrays" in docs/user-guide.md). ``seed`` as ``--seed``,
    ``kernels`` as ``--kernels``, ``keep_inputs`` as ``--keep-inputs``, ``portable_kernels`` as
    ``--portable-kernels``, ``name`` (the C symbol prefix) as ``--name``, ``layer_check=False`` as
    ``--skip-layer-check``, ``unsafe_deserialization`` as ``--unsafe-deserialization``, ``compress``
    as ``--compress`` (the result's ``program.layer_weights``, ``weights_bytes`` and
    ``dense_weights_bytes`` say what it chose), ``entropy_code`` as ``--entropy-code`` (``program.entropy``
    is what ``auto`` resolved to), ``calib_method``/``calib_percentile``/``sensitivity_samples`` as
    ``--calib-method``/``--calib-percentile``/``--sensitivity-samples``."""
    from .build import build as build_dir
    from .build import load_tflite_bytes
    from .fit import check_vector_count

    path = Path(model) if isinstance(model, (str, Path)) else None
    # cheap checks before a conversion that may take minutes
    check_vector_count(vectors)
    samples = _samples(inputs, "api.build(inputs=...)")
    summary: list[str] = []
    summary_data: dict[str, Any] | None = None
    if path is not None and path.suffix.lower() == ".tflite":
        keras_only = {"calib": calib, "prune": prune, "train": train, "eval": eval, "epochs": epochs,
                      "prune_nm": prune_nm, "share_weights": share_weights,
                      "calib_percentile": calib_percentile,
                      "calib_method": None if calib_method == "minmax" else calib_method,
                      "int16_layers": tuple(int16_layers) or None, "max_accuracy_drop": max_accuracy_drop,
                      "precision": None if precision == "int8" else precision}
        given = [k for k, v in keras_only.items() if v is not None]
        if given:
            raise EdgegenError(f"{path}: {', '.join(given)} apply to Keras models only; a .tflite is already "
                               "quantized")
        tflite = load_tflite_bytes(path)
    else:
        res = _pipeline(model, calib, prune=prune, prune_mode=prune_mode, train=train, eval=eval,
                        float_io=float_io, config=config, epochs=epochs, prune_criterion=prune_criterion,
                        prune_scope=prune_scope, eval_samples=eval_samples, seed=seed, prune_nm=prune_nm,
                        share_weights=share_weights, share_granularity=share_granularity, layer_check=layer_check,
                        unsafe_deserialization=unsafe_deserialization, calib_method=calib_method,
                        calib_percentile=calib_percentile, sensitivity_samples=sensitivity_samples,
                        precision=precision, int16_layers=int16_layers, max_accuracy_drop=max_accuracy_drop)
        tflite, summary = res.tflite, [f"WARNING: {w}" for w in res.warnings] + list(res.lines)
        summary_data = res.summary_data()
    stem = path.stem if path is not None else str(getattr(model, "name", "model"))
    return build_dir(tflite, Path(out), source=str(path or f"{stem}.keras"), name=name or stem, board=board,
                     force=force, vectors=vectors, samples=samples,
                     samples_source="api.build(inputs=...)", cmsis_nn=Path(cmsis_nn) if cmsis_nn else None,
                     guard=guard, front_end=summary, front_end_data=summary_data, kernels=kernels,
                     keep_inputs=keep_inputs, compress=compress, entropy=entropy_code,
                     portable_kernels=portable_kernels)


def inspect(model: ModelLike | bytes, *, board: str = "", calib: Calib | None = None, float_io: bool = False,
            name: str | None = None, seed: int = DEFAULT_SEED) -> ModelInspection:
    """``edgegen inspect`` as data: the ops, the I/O tensors and, when edgegen can compile the
    model, one row per kernel call for ``board`` (default: the default board), with the constants,
    arena and MACs; ``.problem`` says why a model cannot be built. ``model`` is a ``.tflite`` path
    or its bytes, or a Keras model (object or path; converted with ``calib`` first)."""
    from .build import load_tflite_bytes
    from .inspect_model import inspect_tflite

    if isinstance(model, bytes):
        return inspect_tflite(model, "model.tflite", name or "model", board)
    path = Path(model) if isinstance(model, (str, Path)) else None
    if path is not None and path.suffix.lower() == ".tflite":
        return inspect_tflite(load_tflite_bytes(path), str(path), name or path.stem, board)
    tflite, _lines = build_keras(model, calib, float_io=float_io, seed=seed)
    stem = path.stem if path is not None else str(getattr(model, "name", "model"))
    return inspect_tflite(tflite, str(path or f"{stem}.keras"), name or stem, board)


def _samples(inputs: np.ndarray | None, what: str) -> list[tuple[np.ndarray, ...]]:
    """``[N, ...]`` samples of a single-input model, checked like ``--inputs``."""
    if inputs is None:
        return []
    a = check_array(inputs, what)
    if a.ndim == 0:
        raise ArrayError(f"{what} is a single value; expected an array of samples [N, ...]")
    return [(x,) for x in a]


def _activation_data(model: Any, data: np.ndarray) -> np.ndarray:
    from .keras.data import as_dataset

    return as_dataset(data, model, what="activation data").x


def verify(directory: str | Path, *, samples: int = 20, inputs: np.ndarray | None = None,
           asan: bool = False) -> ParityReport:
    """``edgegen verify``: simulator == TFLM on every tensor and host C == simulator, on
    ``samples`` inputs (``inputs`` first, then seeded random ones). ``.ok`` is the verdict."""
    from .verify import verify_directory

    given = _samples(inputs, "api.verify(inputs=...)")
    report, _program = verify_directory(Path(directory), given, count=max(samples, len(given)), asan=asan)
    return report


def run(directory: str | Path, *, board: str | None = None, timeout: float = 600.0) -> EmulatorRun:
    """``edgegen run``: the firmware on the board's emulated twin (or the qemu board named);
    the result holds the parity verdict and per-layer instruction counts, and joins the report."""
    from .builddir import record_run
    from .emulator import run_on_emulator

    result = run_on_emulator(Path(directory), board=board, timeout=timeout)
    record_run(Path(directory), result)
    return result
