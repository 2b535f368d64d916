"""Activation calibration methods: each activation tensor's int8 range from its float values over the
calibration set, with numpy only (no TensorFlow), so every number is testable on known distributions.

TFLite quantizes activations per tensor, asymmetric: a range ``[lo, hi]`` that contains 0 maps onto
the 256 int8 codes. TensorFlow's converter takes ``lo, hi`` = the min and max seen during
calibration (``minmax``), so one rare outlier stretches the scale of the whole tensor. The other
methods clip the tail:

- ``percentile``: each tail on its own: ``hi`` = the P-th percentile of the values, ``lo`` = the
  (100 - P)-th (numpy's default, linear interpolation), exactly, from the top and bottom values kept
  while streaming (:func:`tail_size` of them).
- ``entropy``: TensorRT's KL-divergence search over a 2048-bin histogram of ``|x|`` (on [0, the
  largest |x|]): the threshold T whose 128-bin quantized distribution is closest to the clipped
  reference (:func:`entropy_threshold`). A tensor with values of one sign (a ReLU output) has all
  256 codes on that side, so it is searched with 256 quantized bins.
- ``mse``: the threshold T minimizing the mean squared error of int8 quantize-dequantize (TFLite's
  asymmetric scheme) over the values (:func:`mse_threshold`; the streamed data enters as the
  centers of a 4096-bin signed histogram).

entropy and mse clip both signs at the same T: ``[max(min, -T), min(max, T)]``. Every method keeps
0 inside the range and never widens it past the converter's min/max.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import EdgegenError

METHODS = ("minmax", "percentile", "entropy", "mse")
DEFAULT_PERCENTILE = 99.99
#: smallest --calib-percentile: lower ones would keep a large share of every tensor in memory
MIN_PERCENTILE = 90.0
#: bins of the |x| histogram (TensorRT's 2048); the signed histogram has twice as many
HIST_BINS = 2048
#: quantized bins of the entropy search for a tensor with values of both signs (TensorRT's 128)
QUANT_BINS = 128


def check_method(method: str, percentile: float | None) -> None:
    """Refuse an unknown method, or a percentile out of range or given with another method."""
    if method not in METHODS:
        raise EdgegenError(f"calibration method '{method}' is unknown; use one of {', '.join(METHODS)}")
    if percentile is None:
        return
    if method != "percentile":
        raise EdgegenError(f"--calib-percentile {percentile:g} applies to --calib-method percentile only "
                           f"(the method is {method})")
    if not (math.isfinite(percentile) and MIN_PERCENTILE <= percentile <= 100.0):
        raise EdgegenError(f"--calib-percentile {percentile:g}: give a percentile between {MIN_PERCENTILE:g} and "
                           f"100 (e.g. {DEFAULT_PERCENTILE:g}: clip each tail's rarest 0.01 %)")


@dataclass(frozen=True)
class TensorRange:
    """One activation tensor's int8 range before (the converter's min/max) and after the method."""

    index: int
    name: str
    before: tuple[float, float]
    after: tuple[float, float]

    @property
    def clipped(self) -> bool:
        return self.after != self.before

    def line(self) -> str:
        return (f"{self.name}: [{self.before[0]:.4g}, {self.before[1]:.4g}] -> "
                f"[{self.after[0]:.4g}, {self.after[1]:.4g}]")

    def as_dict(self) -> dict[str, object]:
        return {"tensor": self.name, "index": self.index, "min_before": self.before[0],
                "max_before": self.before[1], "min": self.after[0], "max": self.after[1]}


def tail_size(n: int, percentile: float) -> int:
    """How many of the largest (and of the smallest) of ``n`` values :func:`percentile_of_tails`
    needs for the ``percentile``-th and the (100 - ``percentile``)-th percentile: numpy's linear
    method reads the sorted values at ``floor((n - 1) q)`` and the one after."""
    upper = n - math.floor(float((n - 1) * (np.float64(percentile) / 100)))
    lower = math.floor(float((n - 1) * (np.float64(100 - percentile) / 100))) + 2
    return min(n, max(upper, lower) + 1)


def _lerp(a: float, b: float, t: float) -> float:
    # numpy's percentile interpolation, in its order of operations
    d = b - a
    return float(b - d * (1 - t)) if t >= 0.5 else float(a + d * t)


def percentile_of_tails(top: np.ndarray, bottom: np.ndarray, n: int, percentile: float) -> tuple[float, float]:
    """The (100 - P)-th and the P-th percentile of ``n`` values of which ``top`` holds the largest and
    ``bottom`` the smallest (each at least :func:`tail_size` of them, any order), as
    ``numpy.percentile`` computes them on all ``n``."""
    top = np.sort(np.asarray(top, np.float64))
    bottom = np.sort(np.asarray(bottom, np.float64))

    def at(q: np.float64) -> float:
        idx = q * (n - 1)
        i = math.floor(float(idx))
        t = float(idx - i)
        j = min(i + 1, n - 1)
        if j <= bottom.size - 1:
            a, b = bottom[i], bottom[j]
        else:
            off = n - top.size
            if i < off:
                raise ValueError("the kept tails are too short for this percentile")
            a, b = top[i - off], top[j - off]
        return _lerp(a, b, t)

    # numpy's quantiles: the percentile divided by 100 (for the lower tail 100 - P, not 1 - P/100)
    return at(np.float64(100 - percentile) / 100), at(np.float64(percentile) / 100)


def entropy_threshold(counts: np.ndarray, edges: np.ndarray, num_quantized_bins: int = QUANT_BINS) -> float:
    """TensorRT's entropy calibration on a histogram of ``|x|`` (``counts`` over ``edges`` from 0):
    for each candidate i (the first i bins, i from ``num_quantized_bins`` to all), the reference
    distribution P is those bins with every count beyond them added to the last; Q merges the i
    bins into ``num_quantized_bins`` groups (the last takes the remainder) and spreads each group's
    count evenly over its non-empty bins. The threshold is the upper edge of bin i minimizing
    KL(P || Q); a candidate with P > 0 where Q = 0 has infinite divergence."""
    counts = np.asarray(counts, np.float64)
    nbins = counts.size
    if nbins <= num_quantized_bins or counts.sum() == 0:
        return float(edges[-1])
    beyond = np.concatenate([np.cumsum(counts[::-1])[::-1][1:], [0.0]])  # beyond[i-1] = sum(counts[i:])
    best_i, best_kl = nbins, math.inf
    for i in range(num_quantized_bins, nbins + 1):
        ref = counts[:i].copy()
        ref[i - 1] += beyond[i - 1]
        merged = i // num_quantized_bins
        group = np.minimum(np.arange(i) // merged, num_quantized_bins - 1)
        nonzero = counts[:i] != 0
        totals = np.bincount(group, weights=counts[:i], minlength=num_quantized_bins)
        filled = np.bincount(group, weights=nonzero.astype(np.float64), minlength=num_quantized_bins)
        q = np.where(nonzero, totals[group] / np.maximum(filled[group], 1), 0.0)
        p_sum, q_sum = ref.sum(), q.sum()
        if q_sum == 0:
            continue
        pos = ref > 0
        if np.any(q[pos] == 0):
            continue
        p_n, q_n = ref[pos] / p_sum, q[pos] / q_sum
        kl = float(np.sum(p_n * np.log(p_n / q_n)))
        if kl < best_kl:
            best_kl, best_i = kl, i
    return float(edges[best_i])


def fake_quant(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """``x`` through TFLite's asymmetric int8 quantization of ``[lo, hi]`` (0 included) and back."""
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    if hi == lo:
        return np.zeros_like(np.asarray(x, np.float64))
    scale = (hi - lo) / 255.0
    zp = float(np.clip(np.round(-128.0 - lo / scale), -128, 127))
    q = np.clip(np.round(np.asarray(x, np.float64) / scale) + zp, -128, 127)
    return (q - zp) * scale


def mse_threshold(points: np.ndarray, weights: np.ndarray, candidates: np.ndarray) -> float:
    """The candidate threshold T (ascending, all > 0) whose range ``[max(min, -T), min(max, T)]``
    gives the smallest weighted mean squared error of :func:`fake_quant` over ``points``; the
    smallest such T on ties."""
    x = np.asarray(points, np.float64)
    w = np.asarray(weights, np.float64)
    lo_all, hi_all = float(x.min()), float(x.max())
    best_t, best_err = float(candidates[-1]), math.inf
    for t in np.asarray(candidates, np.float64):
        err = float(np.sum(w * (x - fake_quant(x, max(lo_all, -t), min(hi_all, t))) ** 2))
        if err < best_err:
            best_t, best_err = float(t), err
    return best_t


class TensorStats:
    """One tensor's values over the calibration set, streamed: the observed min and max, a signed
    histogram of :data:`HIST_BINS` bins a side over [-A, A] (A: the largest |x| the converter saw,
    values beyond it counted in the outer bins), and the :func:`tail_size` largest and smallest
    values for the percentile (when ``percentile`` is given)."""

    def __init__(self, before: tuple[float, float], count: int, percentile: float | None = None,
                 bins: int = HIST_BINS) -> None:
        self.before = before
        self.amax = max(abs(before[0]), abs(before[1]))
        self.bins = bins
        self.edges = np.linspace(-self.amax, self.amax, 2 * bins + 1) if self.amax > 0 else np.zeros(1)
        self.hist = np.zeros(2 * bins, np.int64)
        self.n = 0
        self.count = count
        self.k = tail_size(count, percentile) if percentile is not None else 0
        self.top = np.empty(0, np.float32)
        self.bottom = np.empty(0, np.float32)
        self.lo, self.hi = math.inf, -math.inf

    def add(self, values: np.ndarray) -> None:
        v = np.asarray(values, np.float32).ravel()
        if v.size == 0:
            return
        self.n += v.size
        self.lo, self.hi = min(self.lo, float(v.min())), max(self.hi, float(v.max()))
        if self.amax > 0:
            idx = np.floor((v.astype(np.float64) + self.amax) / (2 * self.amax) * (2 * self.bins)).astype(np.int64)
            self.hist += np.bincount(np.clip(idx, 0, 2 * self.bins - 1), minlength=2 * self.bins)
        if self.k:
            top = np.concatenate([self.top, v])
            if top.size > self.k:
                top = np.partition(top, top.size - self.k)[top.size - self.k:]
            bottom = np.concatenate([self.bottom, v])
            if bottom.size > self.k:
                bottom = np.partition(bottom, self.k - 1)[: self.k]
            self.top, self.bottom = top, bottom

    def abs_histogram(self) -> tuple[np.ndarray, np.ndarray]:
        """The histogram of |x| over [0, A] (the signed one folded: its bins are symmetric)."""
        neg, pos = self.hist[: self.bins], self.hist[self.bins :]
        return pos + neg[::-1], self.edges[self.bins :]

    def range(self, method: str, percentile: float = DEFAULT_PERCENTILE) -> tuple[float, float]:
        """The tensor's range by ``method``, inside the converter's and containing 0."""
        if method == "minmax" or self.n == 0 or self.amax == 0:
            return self.before
        if method == "percentile":
            if self.n != self.count:
                raise ValueError(f"{self.n} values streamed, {self.count} announced")
            lo, hi = percentile_of_tails(self.top, self.bottom, self.n, percentile)
        elif method in ("entropy", "mse"):
            t = self.threshold(method)
            lo, hi = max(self.lo, -t), min(self.hi, t)
        else:
            raise EdgegenError(f"calibration method '{method}' is unknown; use one of {', '.join(METHODS)}")
        lo, hi = max(min(lo, 0.0), self.before[0]), min(max(hi, 0.0), self.before[1])
        return float(np.float32(lo)), float(np.float32(hi))

    def threshold(self, method: str) -> float:
        counts, edges = self.abs_histogram()
        if method == "entropy":
            one_sided = self.lo >= 0 or self.hi <= 0
            return entropy_threshold(counts, edges, 2 * QUANT_BINS if one_sided else QUANT_BINS)
        centers = (self.edges[:-1] + self.edges[1:]) / 2
        used = self.hist > 0
        # the observed extremes bound the clipping as for the raw values
        pts = np.clip(centers[used], self.lo, self.hi)
        return mse_threshold(pts, self.hist[used], edges[1:])
