"""Calibration and training data: files or callables in, arrays checked against the model out.

Accepted sources:

- a ``.npy`` array ``[N, *input_shape]`` (or one sample ``input_shape``);
- a ``.npz`` archive with ``x`` (also ``calib``/``inputs``/``x_train``, or its only array) and
  optionally labels ``y`` (``labels``/``y_train``);
- a directory of ``.npy`` files, each one sample or a batch, taken in name order;
- through the Python API: an array, a list of arrays, or a callable/generator yielding samples
  or batches (an array, or a list/tuple with one array per model input).

Samples must match the model's input shape; singleton dimensions may differ (``[N, 49, 10]`` for a
``[49, 10, 1]`` input) and are reshaped. Integer data is fed as float values unchanged: a model
trained on ``x / 255`` must be calibrated on ``x / 255`` — edgegen cannot know, so it says
which range it saw. Every array, labels included, passes :func:`edgegen.arrays.check_array`
(real numbers, finite, not empty) before anything else.

A :class:`Dataset` keeps its ``source`` as given (a path as typed, for error messages) and a
``label`` (the file name) for the summary lines that go into shared reports.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Union

import numpy as np

from ..arrays import as_array, check_array, check_dtype, check_labels
from ..errors import EdgegenError

X_KEYS = ("x", "calib", "inputs", "x_train", "x_calib", "data")
Y_KEYS = ("y", "labels", "y_train", "y_calib")

#: calibration batches beyond this many samples add converter time, not accuracy
DEFAULT_MAX_CALIB = 500
#: samples taken from a tf.data dataset when no other limit applies (training and evaluation):
#: datasets may repeat forever, and all of it is held in memory
MAX_TF_DATASET = 100_000

SampleSource = Union[str, Path, np.ndarray, "list[np.ndarray]", Callable[[], Iterable[Any]], Iterable[Any]]


@dataclass(frozen=True)
class Dataset:
    """Samples for a single-input model (``x`` is ``[N, *input_shape]`` float32) and optional labels."""

    x: np.ndarray
    y: np.ndarray | None
    source: str
    #: True when the samples are random, not real data (calibration without --calib)
    synthetic: bool = False
    #: what was adapted (reshape, dtype), for the report
    notes: tuple[str, ...] = ()
    #: how summaries and reports name the data: the file name, never the path as typed (reports are
    #: shared; an absolute path would leak the author's directories); None: ``source``
    label: str | None = None

    def __len__(self) -> int:
        return int(self.x.shape[0])

    @property
    def name(self) -> str:
        """The data's name for summaries and reports."""
        return self.label if self.label is not None else self.source

    def subset(self, idx: np.ndarray) -> Dataset:
        return Dataset(self.x[idx], None if self.y is None else self.y[idx], self.source, self.synthetic, self.notes,
                       self.label)

    def value_range(self) -> tuple[float, float]:
        return float(self.x.min()), float(self.x.max())


def input_spec(model: Any) -> tuple[tuple[int, ...], str]:
    """The single input's shape without the batch dimension, and its dtype name."""
    inputs = list(model.inputs or [])
    if len(inputs) != 1:
        raise EdgegenError(f"model '{model.name}' has {len(inputs)} inputs; the Keras front end handles "
                           "single-input models (convert multi-input models to .tflite yourself)")
    shape = tuple(inputs[0].shape)[1:]
    if any(d is None for d in shape):
        raise EdgegenError(f"model '{model.name}' input has unknown dimensions {list(inputs[0].shape)}; "
                           "give the Input layer a fixed shape, e.g. keras.Input((49, 10, 1))")
    return tuple(int(d) for d in shape), str(inputs[0].dtype)


def _npz_pick(z: Any, keys: tuple[str, ...], path: Path, what: str, required: bool) -> np.ndarray | None:
    for k in keys:
        if k in z.files:
            return np.asarray(z[k])
    if required and len(z.files) == 1:
        return np.asarray(z[z.files[0]])
    if required:
        raise EdgegenError(f"{path}: the .npz has arrays {z.files}; name the {what} array one of {list(keys)}")
    return None


def read_arrays(path: str | Path, *, what: str = "calibration data"
                ) -> tuple[np.ndarray | list[np.ndarray], np.ndarray | None]:
    """``(x, y)`` from a .npy file, a .npz archive or a directory of .npy files (a list of arrays,
    each one sample or a batch); y may be None."""
    p = Path(path)
    try:
        if p.is_dir():
            files = sorted(p.glob("*.npy"))
            if not files:
                raise EdgegenError(f"{p}: no .npy files in the directory ({what})")
            return [np.load(f, allow_pickle=False) for f in files], None
        if not p.exists():
            raise EdgegenError(f"{p}: no such file ({what})")
        if p.suffix.lower() == ".npz":
            with np.load(p, allow_pickle=False) as z:
                x = _npz_pick(z, X_KEYS, p, "input", True)
                y = _npz_pick(z, Y_KEYS, p, "label", False)
            assert x is not None
            return x, y
        if p.suffix.lower() == ".npy":
            return np.load(p, allow_pickle=False), None
    except EdgegenError:
        raise
    except (OSError, ValueError) as e:
        raise EdgegenError(f"{p}: cannot read {what} ({e}); give a .npy, a .npz or a directory of .npy files"
                           ) from None
    raise EdgegenError(f"{p}: {what} must be a .npy or .npz file or a directory of .npy files")


def read_split(path: str | Path, prefix: str) -> tuple[np.ndarray, np.ndarray] | None:
    """``(x_<prefix>, y_<prefix>)`` from a .npz archive when it holds both (e.g. ``test``)."""
    p = Path(path)
    if p.suffix.lower() != ".npz" or not p.is_file():
        return None
    with np.load(p, allow_pickle=False) as z:
        if f"x_{prefix}" in z.files and f"y_{prefix}" in z.files:
            return np.asarray(z[f"x_{prefix}"]), np.asarray(z[f"y_{prefix}"])
    return None


def _collect(items: Iterable[Any], limit: int) -> list[np.ndarray]:
    """Arrays from an iterable of samples/batches (dicts and 1-element lists are unwrapped)."""
    chunks: list[np.ndarray] = []
    for item in items:
        if isinstance(item, dict):
            if len(item) != 1:
                raise EdgegenError(f"a calibration item is a dict with {len(item)} entries; single-input models "
                                   "take one array per item")
            item = next(iter(item.values()))
        if isinstance(item, (list, tuple)):
            if len(item) != 1:
                raise EdgegenError(f"a calibration item holds {len(item)} arrays; single-input models take one")
            item = item[0]
        chunks.append(as_array(item, "an item of the calibration source"))
        if len(chunks) >= limit:
            break
    if not chunks:
        raise EdgegenError("the calibration source yielded no samples")
    return chunks


def _join(chunks: list[np.ndarray], shape: tuple[int, ...], source: str, what: str) -> np.ndarray:
    """One ``[N, *shape]`` array from arrays that are each one sample or a batch of samples."""
    size = int(np.prod(shape))
    out = []
    for a in chunks:
        check_dtype(a, f"{source}: an item of the {what}")
        if a.size == size:
            out.append(a.reshape((1, *shape)))
        elif a.ndim >= 1 and a.size % size == 0 and _squeeze(a.shape[1:]) == _squeeze(shape):
            out.append(a.reshape((-1, *shape)))
        else:
            raise EdgegenError(f"{source}: an item of the {what} has shape {list(a.shape)}; the model takes "
                               f"samples shaped {list(shape)} (or batches [N, {_dims(shape)}])")
    return np.concatenate(out)


def as_dataset(source: SampleSource | Dataset, model: Any, *, what: str = "calibration data",
               labels: np.ndarray | None = None, limit: int | None = None, seed: int = 0) -> Dataset:
    """Turn any accepted source into a :class:`Dataset` checked against ``model``'s input; when
    there are more than ``limit`` samples, a subset drawn with ``seed`` is kept."""
    if isinstance(source, Dataset):
        return check(source.x, model, source.source, what=what, y=source.y, limit=limit, seed=seed,
                     label=source.label)
    shape, _ = input_spec(model)
    if isinstance(source, (str, Path)):
        xs, y = read_arrays(source, what=what)
        x = _join(xs, shape, str(source), what) if isinstance(xs, list) else xs
        return check(x, model, str(source), what=what, y=labels if labels is not None else y, limit=limit,
                     seed=seed, label=Path(source).name)
    if isinstance(source, np.ndarray):
        return check(source, model, "array", what=what, y=labels, limit=limit, seed=seed)
    if isinstance(source, list) and source and all(isinstance(a, np.ndarray) for a in source):
        return check(_join(source, shape, "list of arrays", what), model, "list of arrays", what=what,
                     y=labels, limit=limit, seed=seed)
    if _is_tf_dataset(source):
        return from_tf_dataset(source, model, what=what, labels=labels, limit=limit, seed=seed)
    items: Any = source() if callable(source) else source
    if isinstance(items, np.ndarray):
        return check(items, model, "callable", what=what, y=labels, limit=limit, seed=seed)
    if not isinstance(items, Iterable) or isinstance(items, (str, bytes)):
        raise EdgegenError(f"{what}: expected an array, a path, or a callable/generator of samples, "
                           f"got {type(source).__name__}")
    cap = limit if limit is not None else DEFAULT_MAX_CALIB
    x = _join(_collect(itertools.islice(items, cap), cap), shape, "generator", what)
    return check(x, model, "generator", what=what, y=labels, limit=limit, seed=seed)


def _is_tf_dataset(source: Any) -> bool:
    """A ``tf.data.Dataset`` (told by duck typing: TensorFlow is not imported for the check)."""
    return type(source).__module__.startswith("tensorflow") and hasattr(source, "as_numpy_iterator")


def from_tf_dataset(ds: Any, model: Any, *, what: str, labels: np.ndarray | None = None, limit: int | None = None,
                    seed: int = 0) -> Dataset:
    """Samples (and labels) of a ``tf.data.Dataset`` whose elements are ``x``, ``(x,)``, ``(x, y)``
    or ``(x, y, sample_weight)``, batched or not, materialized up to ``limit`` samples (else
    :data:`MAX_TF_DATASET` samples: a dataset may repeat forever); the notes say how many were taken."""
    shape, _ = input_spec(model)
    cap = limit if limit is not None else MAX_TF_DATASET
    xs: list[np.ndarray] = []
    ys: list[np.ndarray] = []
    taken = 0
    more = False
    labelled: bool | None = None
    for item in ds.as_numpy_iterator():
        if taken >= cap:
            more = True
            break
        if isinstance(item, dict) or (isinstance(item, tuple) and (not item or isinstance(item[0], dict))):
            raise EdgegenError(f"tf.data dataset ({what}): elements are dicts; single-input models take x or (x, y)")
        if isinstance(item, tuple) and len(item) > 3:
            raise EdgegenError(f"tf.data dataset ({what}): elements hold {len(item)} arrays; give x, (x, y) or "
                               "(x, y, sample_weight)")
        x = as_array(item[0] if isinstance(item, tuple) else item, f"tf.data dataset: {what}")
        y = as_array(item[1], f"tf.data dataset: labels of the {what}") if isinstance(item, tuple) and \
            len(item) > 1 else None
        # an element with one more dimension than the input is a batch (a last batch of 1 included)
        if x.ndim <= len(shape):
            x = x.reshape((1, *x.shape))
            y = None if y is None else y.reshape((1, *y.shape))
        if labelled is None:
            labelled = y is not None
        elif labelled != (y is not None):
            raise EdgegenError(f"tf.data dataset ({what}): some elements have labels and some do not")
        xs.append(x)
        if y is not None:
            ys.append(y)
        taken += int(x.shape[0])
    if not xs:
        raise EdgegenError(f"tf.data dataset ({what}) yielded no samples")
    more = more or taken > cap
    x = np.concatenate(xs)[:cap]
    y = np.concatenate(ys)[:cap] if ys else labels
    d = check(x, model, "tf.data dataset", what=what, y=y, limit=limit, seed=seed)
    note = (f"{what}: the first {x.shape[0]:,} samples of the tf.data dataset (it holds more; the limit is "
            f"{cap:,})" if more else f"{what}: {x.shape[0]:,} samples from the tf.data dataset")
    return Dataset(d.x, d.y, d.source, notes=(note, *d.notes))


def check(x: Any, model: Any, source: str, *, what: str = "calibration data", y: Any = None,
          limit: int | None = None, seed: int = 0, label: str | None = None) -> Dataset:
    """Values (:func:`edgegen.arrays.check_array`), shape and labels, with messages that say what
    the model wants; ``limit`` keeps a subset drawn with ``seed``."""
    shape, dtype = input_spec(model)
    x = check_array(x, f"{source}: {what}")
    notes: list[str] = []
    size = int(np.prod(shape))
    if x.shape == shape or (x.size == size and x.ndim <= len(shape)):
        x = x.reshape((1, *shape))
        notes.append(f"{what}: one sample")
    elif x.ndim >= 1 and x.size % size == 0 and x.shape[1:] != shape:
        n = x.shape[0]
        if int(np.prod(x.shape[1:])) != size or _squeeze(x.shape[1:]) != _squeeze(shape):
            raise EdgegenError(f"{source}: {what} has shape {list(x.shape)}, but model '{model.name}' takes "
                               f"[N, {_dims(shape)}] (one sample is {list(shape)})")
        notes.append(f"{what}: reshaped {list(x.shape[1:])} samples to the model's {list(shape)}")
        x = x.reshape((n, *shape))
    elif x.shape[1:] != shape:
        raise EdgegenError(f"{source}: {what} has shape {list(x.shape)}, but model '{model.name}' takes "
                           f"[N, {_dims(shape)}] (one sample is {list(shape)})")
    if dtype.startswith("float") and x.dtype.kind in "iu":
        notes.append(f"{what}: {x.dtype} values used as float unchanged (range {x.min()}..{x.max()}); "
                     "scale them as in training")
    x = x.astype(np.float32) if dtype.startswith("float") else x.astype(dtype)
    if y is not None:
        y = check_labels(y, int(x.shape[0]), f"{source}: labels of the {what}")
    if limit is not None and x.shape[0] > limit:
        # a fixed, seeded subset: the same files and seed always give the same model
        idx = np.sort(np.random.default_rng(seed).choice(x.shape[0], limit, replace=False))
        notes.append(f"{what}: {limit} of {x.shape[0]} samples used")
        x, y = x[idx], None if y is None else y[idx]
    return Dataset(x=x, y=y, source=source, notes=tuple(notes), label=label)


def synthetic(model: Any, count: int = 100, seed: int = 0) -> Dataset:
    """Random standard-normal samples shaped like the input: a last resort that makes the int8
    ranges meaningless for real data (the caller says so loudly)."""
    shape, _ = input_spec(model)
    x = np.random.default_rng(seed).standard_normal((count, *shape)).astype(np.float32)
    return Dataset(x=x, y=None, source="random N(0, 1) data", synthetic=True)


def _squeeze(shape: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(d for d in shape if d != 1)


def _dims(shape: tuple[int, ...]) -> str:
    return ", ".join(str(d) for d in shape)
