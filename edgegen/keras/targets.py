"""What the labels given with ``--eval`` (or ``--train``, or the calibration ``.npz``) mean, told
from the targets and the model's output width, and refused when they cannot fit the output.

- **classes**: one whole number per sample, ``0 <= y < outputs``, for a model with more than one
  output; or one-hot (or probability) rows exactly as wide as the output. Metric: argmax accuracy.
- **values**: anything else whose per-sample size equals the output's (an autoencoder's ``y = x``,
  a regressor's targets, a single-output model's numbers). Metrics: MSE of the float and the int8
  outputs against the targets, and the int8 outputs' SQNR against float.

A mismatch is an error naming the data and what does not fit (label values past the last
output, one-hot rows of another width, targets of another size): before this, such labels gave
"0.00 %" and the build went on.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import EdgegenError


@dataclass(frozen=True)
class Targets:
    #: "classes" (argmax accuracy) or "values" (MSE, SQNR)
    kind: str
    #: class index per sample (classes) or ``[N, outputs]`` float64 targets (values)
    array: np.ndarray

    @property
    def classes(self) -> bool:
        return self.kind == "classes"


def _one_hot_like(y: np.ndarray) -> bool:
    """Rows of non-negative numbers summing to 1 (one-hot labels, or soft labels)."""
    rows = y.reshape(y.shape[0], -1).astype(np.float64)
    return rows.shape[1] > 1 and bool(np.all(rows >= 0)) and bool(np.allclose(rows.sum(1), 1.0, atol=1e-3))


def targets_for(y: np.ndarray, outputs: int, what: str) -> Targets:
    """The kind of ``y`` (``[N, ...]``, already one per sample) for a model with ``outputs`` output
    values per sample; ``what`` names the data in errors (file and option)."""
    n = int(y.shape[0])
    per_sample = int(y.size // max(n, 1))
    if per_sample == 1 and outputs > 1:
        flat = y.reshape(n).astype(np.float64)
        if not np.all(flat == np.round(flat)):
            bad = float(flat[np.argmax(flat != np.round(flat))])
            raise EdgegenError(f"{what}: one label per sample, but not a whole number ({bad:g}); the model has "
                               f"{outputs} outputs, so labels must be class indices 0..{outputs - 1} (or one-hot "
                               f"rows of {outputs})")
        lo, hi = int(flat.min()), int(flat.max())
        if lo < 0 or hi >= outputs:
            raise EdgegenError(f"{what}: label values {lo}..{hi}, but the model has {outputs} outputs (classes "
                               f"0..{outputs - 1}); are these the labels of another model or dataset?")
        return Targets("classes", flat.astype(np.int64))
    if per_sample == outputs:
        if outputs > 1 and y.ndim == 2 and _one_hot_like(y):
            return Targets("classes", np.argmax(y, axis=1).astype(np.int64))
        return Targets("values", y.reshape(n, outputs).astype(np.float64))
    if y.ndim == 2 and _one_hot_like(y):
        raise EdgegenError(f"{what}: one-hot labels of {per_sample} classes (shape {list(y.shape)}), but the model "
                           f"has {outputs} outputs")
    raise EdgegenError(f"{what}: {per_sample} target values per sample (shape {list(y.shape)}), but the model "
                       f"outputs {outputs}; give class indices, one-hot rows of {outputs}, or {outputs} target "
                       "values per sample")
