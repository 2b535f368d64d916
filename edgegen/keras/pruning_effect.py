"""What pruning cost: the unpruned float model against the pruned float and int8 models on the
same held-out data, with a loud warning past a 1-point drop.

The figures are chosen from the data (:mod:`.targets`): accuracy with class labels, MSE with
target values, and without labels how often the pruned models agree with the original (argmax
for classifiers, SQNR against the original's outputs for regressors). A smaller model that lost
a quarter of its accuracy must not be reported as "params -72 %" alone.
"""

from __future__ import annotations

import numpy as np

from .evaluate import accuracy, mse, sqnr_db
from .targets import Targets

#: accuracy (or argmax agreement) points pruning may cost before the build warns
MAX_DROP_POINTS = 1.0
#: relative MSE growth from pruning before the build warns (the regression analogue of a point)
MAX_MSE_GROWTH = 0.10
#: without labels, a regressor's pruned outputs against the original's: 20 dB is noise power at 1 %
#: of the signal's, the analogue of a 1-point drop
MIN_UNLABELLED_SQNR_DB = 20.0

_ADVICE = ("fine-tune longer (--train with --epochs), prune a smaller fraction, or check the pruned model "
           "before shipping it")


def pruning_effect(original: np.ndarray, pruned: np.ndarray, pruned_int8: np.ndarray, kind: Targets | None,
                   where: str, *, classifier: bool) -> tuple[list[str], list[str]]:
    """Summary lines and warnings from the unpruned float outputs, the pruned float and the pruned
    int8 outputs (``[N, outputs]``) on the same ``N`` samples of the data named ``where``;
    ``classifier`` (class labels, or a softmax output) decides the figure without labels: argmax
    agreement, else SQNR (an autoencoder's argmax means nothing)."""
    n = int(original.shape[0])
    on = f"on {n:,} samples of {where}"
    if kind is not None and kind.classes:
        base, f, q = (100 * accuracy(o, kind.array) for o in (original, pruned, pruned_int8))
        line = (f"accuracy before pruning: float {base:.2f}%; after: float {f:.2f}% ({f - base:+.2f} points), "
                f"int8 {q:.2f}% ({q - base:+.2f} points) {on}")
        drop = base - min(f, q)
        warn = (f"pruning cost {drop:.2f} accuracy points (float {base:.2f}% before, pruned float {f:.2f}%, pruned "
                f"int8 {q:.2f}%) {on}; {_ADVICE}")
        return [line], [warn] if drop > MAX_DROP_POINTS else []
    if kind is not None:
        base_mse, f_mse, q_mse = (mse(o, kind.array) for o in (original, pruned, pruned_int8))
        growth = (f_mse - base_mse) / base_mse if base_mse > 0 else (np.inf if f_mse > 0 else 0.0)
        line = (f"MSE before pruning: float {base_mse:.4g}; after: float {f_mse:.4g} ({100 * growth:+.1f}%), "
                f"int8 {q_mse:.4g} {on}")
        warn = (f"pruning raised the float model's MSE by {100 * growth:.1f}% ({base_mse:.4g} -> {f_mse:.4g}) "
                f"{on}; {_ADVICE}")
        return [line], [warn] if growth > MAX_MSE_GROWTH else []
    if classifier and original.shape[1] > 1:
        top = np.argmax(original, -1)
        f, q = (100 * float(np.mean(np.argmax(o, -1) == top)) for o in (pruned, pruned_int8))
        line = (f"no labels: the pruned model predicts the unpruned model's class on {f:.1f}% (float) and "
                f"{q:.1f}% (int8) {on}")
        # the float figure alone decides: int8 rounding flips a percent or two of argmaxes by itself
        drop = 100 - f
        warn = (f"the pruned float model disagrees with the unpruned one on {drop:.1f}% of {n:,} samples of "
                f"{where} (no labels, so its accuracy is unknown; give --eval data); {_ADVICE}")
        return [line], [warn] if drop > MAX_DROP_POINTS else []
    fs, qs = sqnr_db(original, pruned), sqnr_db(original, pruned_int8)
    line = f"no labels: pruned outputs vs the unpruned model's: SQNR {fs:.1f} dB (float), {qs:.1f} dB (int8) {on}"
    warn = (f"the pruned model's outputs are far from the unpruned model's: SQNR {fs:.1f} dB (below "
            f"{MIN_UNLABELLED_SQNR_DB:.0f} dB) {on}; {_ADVICE}")
    return [line], [warn] if fs < MIN_UNLABELLED_SQNR_DB else []
