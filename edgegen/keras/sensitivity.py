"""The build's per-layer sensitivity and calibration summary: each int8 activation against float
(:func:`.evaluate.per_layer_error`: SQNR, worst error in LSB) on a bounded number of samples, and
the calibration method's ranges, as summary lines and as report.json data."""

from __future__ import annotations

import math
from typing import Any

from ..calibration import TensorRange
from .data import Dataset

#: samples of the per-layer comparison by default (each is one TFLM run with every tensor kept and
#: one float interpreter run)
DEFAULT_SAMPLES = 32
#: layers named in the console summary (all of them go into report.json)
WORST_SHOWN = 3


def _finite(v: float) -> float | None:
    return v if math.isfinite(v) else None


def layer_sensitivity(model: Any, tflite: bytes, data: Dataset, samples: int, where: str
                      ) -> tuple[list[str], dict[str, Any]]:
    """Summary lines (the worst layers) and report data (every tensor, in execution order) of the
    int8 model against float on the first ``samples`` inputs of ``data`` (``where`` names it)."""
    from .evaluate import per_layer_error

    n = min(samples, len(data))
    errors = per_layer_error(model, tflite, data.x, samples=n)
    rows = [{"layer": e.layer, "tensor": e.tensor, "shape": list(e.shape), "sqnr_db": _finite(e.sqnr_db),
             "max_error_lsb": e.max_error_lsb} for e in errors]
    worst = sorted(errors, key=lambda e: e.sqnr_db)[:WORST_SHOWN]
    lines = [f"per-layer int8 vs float on {n} samples of {where}: {len(errors)} tensors; lowest SQNR: "
             + "; ".join(f"{e.layer} {e.sqnr_db:.1f} dB (max {e.max_error_lsb:.1f} LSB)" for e in worst)]
    return lines, {"samples": n, "data": where, "layers": rows}


def calibration_summary(method: str, percentile: float | None, ranges: tuple[TensorRange, ...]
                        ) -> tuple[list[str], dict[str, Any]]:
    """The calibration line of the summary and its report data (each tensor's range before and
    after; minmax: the converter's ranges, not listed)."""
    param = f" {percentile:g}" if method == "percentile" and percentile is not None else ""
    data: dict[str, Any] = {"method": method, "percentile": percentile if method == "percentile" else None,
                            "tensors": [r.as_dict() for r in ranges]}
    if method == "minmax" or not ranges:
        return [f"calibration: {method} (the converter's min/max of each activation)"], data
    clipped = [r for r in ranges if r.clipped]

    def cut(r: TensorRange) -> float:
        before, after = r.before[1] - r.before[0], r.after[1] - r.after[0]
        return before / after if after > 0 else math.inf

    line = (f"calibration: {method}{param}: {len(clipped)} of {len(ranges)} activation ranges clipped")
    if clipped:
        r = max(clipped, key=cut)
        line += f"; most: {r.name.split(';')[0]} [{r.before[0]:.4g}, {r.before[1]:.4g}] -> " \
                f"[{r.after[0]:.4g}, {r.after[1]:.4g}] ({cut(r):.1f}x narrower)"
    return [line], data
