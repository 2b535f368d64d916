"""One check for every array a user hands to edgegen: ``--calib``, ``--train``, ``--eval``,
``--inputs`` and the same arguments of the Python API.

The rules (docs/user-guide.md, "Data arrays"):

- **dtype**: real numbers only, signed or unsigned integers or floats (float16/32/64). Refused:
  complex numbers (numpy would drop the imaginary part with a warning), text and bytes, Python
  objects, dates and times, structured records, and booleans: a boolean array given as model
  input is a mask or a label more often than a feature, and ``x.astype("float32")`` says what is
  meant when it is one.
- **values**: every value finite (no NaN, no +-inf); float64 values beyond float32's range are
  refused too, since a float32 model input would turn them into infinities. Non-finite inputs are
  never quantized (a NaN would silently become the zero point).
- **size**: at least one element.
- **shape**: checked by the caller, which knows the model's input and names its shape.
- **meaning**: data for the float Keras model is real values whatever the dtype; data for the
  int8 model is int8 codes only in an int8 array, real values (quantized) in any other dtype
  (:func:`edgegen.samples.as_model_inputs`). Labels must fit the output
  (:mod:`edgegen.keras.targets`).

Each failure is one :class:`EdgegenError` line naming the array (file and option, or API
argument), what is wrong, how many values and where the first one is.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .errors import EdgegenError

#: dtype kinds accepted: signed and unsigned integers, floats
NUMERIC_KINDS = "iuf"

_KIND_NAMES = {"b": "booleans", "c": "complex numbers", "U": "text", "S": "bytes", "O": "Python objects",
               "M": "dates", "m": "time spans", "V": "structured records"}
_KIND_HINTS = {"b": "; if they are 0/1 features, convert them with .astype('float32')",
               "c": "; give the real part or the magnitude as a real array"}
_F32_MAX = float(np.finfo(np.float32).max)


class ArrayError(EdgegenError):
    """A user array is not numbers, not finite, empty or of the wrong shape."""

    kind = "array"


def check_array(value: Any, what: str) -> np.ndarray:
    """``value`` as an array of real, finite numbers with at least one element.

    ``what`` names the array in the message, e.g. ``"calib.npy: calibration data"`` or
    ``"api.build(inputs=...)"``."""
    a = as_array(value, what)
    check_dtype(a, what)
    if a.size == 0:
        raise ArrayError(f"{what} is empty (shape {list(a.shape)}); give at least one sample")
    check_finite(a, what)
    return a


def as_array(value: Any, what: str) -> np.ndarray:
    """``np.asarray(value)``, with ragged nested lists refused in one line."""
    if isinstance(value, np.ndarray):
        return value
    try:
        return np.asarray(value)
    except (ValueError, TypeError) as e:
        raise ArrayError(f"{what} is not a rectangular array of numbers ({str(e).splitlines()[0][:120]})"
                         ) from None


def check_dtype(a: np.ndarray, what: str) -> None:
    """Real numbers only (see the module's rules)."""
    kind = a.dtype.kind
    if kind in NUMERIC_KINDS:
        return
    name = _KIND_NAMES.get(kind, "values that are not numbers")
    raise ArrayError(f"{what} holds {name} (dtype {a.dtype}); edgegen takes real numbers, integers or floats"
                     f"{_KIND_HINTS.get(kind, '')}")


def check_finite(a: np.ndarray, what: str) -> None:
    """No NaN, no infinity, and nothing a float32 input would turn into one."""
    if a.dtype.kind != "f":
        return
    finite = np.isfinite(a)
    if not finite.all():
        nan = int(np.isnan(a).sum())
        inf = int(a.size - int(finite.sum()) - nan)
        counts = " and ".join(f"{n:,} {label}" for n, label in ((nan, "NaN"), (inf, "infinite")) if n)
        raise ArrayError(f"{what} holds {counts} value{'s' if nan + inf > 1 else ''} "
                         f"(the first at {_where(~finite)}); remove or repair those samples")
    if a.dtype.itemsize > 4:
        big = np.abs(a) > _F32_MAX
        if big.any():
            n = int(big.sum())
            raise ArrayError(f"{what} holds {n:,} value{'s' if n > 1 else ''} beyond float32's range (+-3.4e38, "
                             f"the first at {_where(big)}); the model's float32 input would make "
                             f"{'them' if n > 1 else 'it'} infinite")


def check_labels(y: Any, samples: int, what: str) -> np.ndarray:
    """Labels: the same rules, one per sample along the first axis."""
    a = check_array(y, what)
    if a.ndim == 0 or a.shape[0] != samples:
        n = "a single value" if a.ndim == 0 else f"{a.shape[0]:,}"
        raise ArrayError(f"{what}: {n} for {samples:,} samples; give one label per sample")
    return a


def _where(mask: np.ndarray) -> str:
    index = tuple(int(i) for i in np.unravel_index(int(np.argmax(mask)), mask.shape))
    return f"index {list(index)}" if index else "the only value"
