"""edgegen.calibration's numbers against direct numpy computations on known distributions (no
TensorFlow): percentile = numpy.percentile, entropy = an independent brute-force KL search, mse = a
brute-force grid search, and the sensitivity's SQNR = its formula."""

from __future__ import annotations

import math

import numpy as np
import pytest

from edgegen.calibration import (
    HIST_BINS,
    TensorStats,
    check_method,
    entropy_threshold,
    fake_quant,
    mse_threshold,
    percentile_of_tails,
    tail_size,
)
from edgegen.errors import EdgegenError
from edgegen.keras.evaluate import sqnr_db


def _stream(x: np.ndarray, chunks: int, percentile: float | None) -> TensorStats:
    st = TensorStats((float(min(x.min(), 0)), float(max(x.max(), 0))), x.size, percentile)
    for part in np.array_split(x, chunks):
        st.add(part)
    return st


@pytest.mark.parametrize("p", [99.99, 99.9, 99.0, 95.0, 90.0, 100.0])
@pytest.mark.parametrize("dist", ["normal", "laplace", "relu"])
def test_percentile_equals_numpy(p: float, dist: str) -> None:
    rng = np.random.default_rng(int(p * 100) + len(dist))
    x = {"normal": rng.standard_normal(60_001), "laplace": rng.laplace(size=60_001),
         "relu": np.maximum(rng.standard_normal(60_001), 0)}[dist].astype(np.float32)
    st = _stream(x, 7, p)
    assert st.top.size == st.bottom.size == tail_size(x.size, p) < x.size // 5 or p <= 90
    lo, hi = percentile_of_tails(st.top, st.bottom, x.size, p)
    assert lo == np.percentile(x.astype(np.float64), 100 - p)
    assert hi == np.percentile(x.astype(np.float64), p)
    # the tensor's range: each tail clipped, 0 kept inside
    rlo, rhi = st.range("percentile", p)
    assert (rlo, rhi) == (np.float32(min(lo, 0.0)), np.float32(max(hi, 0.0)))


def test_percentile_small_and_exact_counts() -> None:
    for n in (1, 2, 3, 10, 101):
        x = np.random.default_rng(n).standard_normal(n)
        for p in (90.0, 99.0, 100.0):
            k = tail_size(n, p)
            top, bottom = np.sort(x)[n - k :], np.sort(x)[:k]
            assert percentile_of_tails(top, bottom, n, p) == (np.percentile(x, 100 - p), np.percentile(x, p))


def _kl_brute(counts: np.ndarray, nq: int) -> list[float]:
    """KL(P || Q) for every candidate, written out bin by bin (TensorRT's definition)."""
    out = []
    n = len(counts)
    for i in range(nq, n + 1):
        p = [float(c) for c in counts[:i]]
        p[-1] += float(sum(counts[i:]))
        m = i // nq
        q = [0.0] * i
        for j in range(nq):
            start, stop = j * m, (j + 1) * m if j < nq - 1 else i
            total = float(sum(counts[start:stop]))
            used = [b for b in range(start, stop) if counts[b] != 0]
            for b in used:
                q[b] = total / len(used)
        ps, qs = sum(p), sum(q)
        kl = 0.0
        for a, b in zip(p, q, strict=True):
            if a > 0:
                kl = math.inf if b == 0 else kl + (a / ps) * math.log((a / ps) / (b / qs))
        out.append(kl)
    return out


@pytest.mark.parametrize("dist", ["normal", "laplace"])
def test_entropy_threshold_equals_brute_force(dist: str) -> None:
    rng = np.random.default_rng(3)
    x = np.abs(rng.standard_normal(200_000) if dist == "normal" else rng.laplace(size=200_000))
    # a coarse histogram keeps the brute force quick; the search is the same at 2048 bins
    counts, edges = np.histogram(x, bins=512, range=(0, float(x.max())))
    kls = _kl_brute(counts, 64)
    expected = float(edges[64 + int(np.argmin(kls))])
    assert entropy_threshold(counts, edges, 64) == expected
    # and the threshold is where the literature puts it: a few standard deviations out
    assert 2.0 < expected / x.std() < 12.0


def test_entropy_threshold_full_size_clips_outliers() -> None:
    rng = np.random.default_rng(4)
    x = np.abs(rng.standard_normal(500_000))
    x[:20] = 40.0  # rare glitches, 10x the bulk
    st = _stream(x, 3, None)
    counts, edges = st.abs_histogram()
    assert counts.size == HIST_BINS and edges[0] == 0 and edges[-1] == 40.0
    t = entropy_threshold(counts, edges)
    assert 2.5 < t < 10.0
    # a one-sided tensor searches with 256 quantized bins: its range ends at the threshold
    lo, hi = st.range("entropy")
    assert lo == 0.0 and hi == np.float32(entropy_threshold(counts, edges, 256))


def _mse_brute(x: np.ndarray, candidates: np.ndarray) -> float:
    errs = [float(np.mean((x - fake_quant(x, max(x.min(), -t), min(x.max(), t))) ** 2)) for t in candidates]
    return float(candidates[int(np.argmin(errs))])


def _fake_quant_direct(v: float, lo: float, hi: float) -> float:
    scale = (max(hi, 0) - min(lo, 0)) / 255
    zp = min(max(round(-128 - min(lo, 0) / scale), -128), 127)
    q = min(max(round(v / scale) + zp, -128), 127)
    return (q - zp) * scale


def test_fake_quant_is_tflite_asymmetric_int8() -> None:
    rng = np.random.default_rng(5)
    for lo, hi in ((-1.0, 3.0), (0.0, 6.0), (-2.0, 0.5), (-4.0, -1.0)):
        v = rng.uniform(-6, 6, 50)
        got = fake_quant(v, lo, hi)
        assert np.allclose(got, [_fake_quant_direct(float(a), lo, hi) for a in v], rtol=0, atol=1e-12)


@pytest.mark.parametrize("dist", ["normal", "laplace", "relu"])
def test_mse_threshold_equals_grid_search(dist: str) -> None:
    rng = np.random.default_rng(6)
    x = {"normal": rng.standard_normal(4000), "laplace": rng.laplace(size=4000),
         "relu": np.maximum(rng.standard_normal(4000), 0)}[dist]
    x[:3] = [25.0, -25.0, 30.0] if dist != "relu" else [25.0, 28.0, 30.0]
    candidates = np.linspace(0, np.abs(x).max(), 301)[1:]
    assert mse_threshold(x, np.ones_like(x), candidates) == _mse_brute(x, candidates)


def test_mse_range_from_histogram_near_raw_optimum() -> None:
    rng = np.random.default_rng(7)
    x = rng.laplace(size=100_000).astype(np.float32)
    x[:4] = 60.0
    st = _stream(x, 5, None)
    lo, hi = st.range("mse")
    candidates = np.linspace(0, 60.0, HIST_BINS + 1)[1:]
    raw = x.astype(np.float64)
    best = _mse_brute(raw, candidates[::4])

    def err(t: float) -> float:
        return float(np.mean((raw - fake_quant(raw, max(raw.min(), -t), min(raw.max(), t))) ** 2))

    # the histogram centers stand for the values: as good as the raw grid search's optimum, within 1 %
    assert err(hi) <= 1.01 * err(best)
    assert lo == np.float32(max(float(x.min()), -hi))


def test_ranges_keep_zero_and_never_widen() -> None:
    x = np.random.default_rng(8).uniform(2.0, 3.0, 10_000).astype(np.float32)  # all positive, away from 0
    st = TensorStats((0.0, 2.9), x.size, 99.0)  # a converter range narrower than the values (ulps)
    st.add(x)
    for method in ("percentile", "entropy", "mse"):
        lo, hi = st.range(method, 99.0)
        assert lo == 0.0 and 0.0 < hi <= np.float32(2.9)
    assert st.range("minmax") == (0.0, 2.9)


def test_check_method_refusals() -> None:
    check_method("entropy", None)
    check_method("percentile", 99.9)
    with pytest.raises(EdgegenError, match="'kl' is unknown; use one of minmax, percentile, entropy, mse"):
        check_method("kl", None)
    with pytest.raises(EdgegenError, match="applies to --calib-method percentile only"):
        check_method("mse", 99.0)
    for bad in (50.0, 100.5, math.nan):
        with pytest.raises(EdgegenError, match="give a percentile between 90 and 100"):
            check_method("percentile", bad)


def test_sqnr_formula() -> None:
    rng = np.random.default_rng(9)
    ref = rng.standard_normal((4, 100))
    noisy = ref + 0.01 * rng.standard_normal((4, 100))
    direct = 10 * math.log10(float(np.sum(ref**2)) / float(np.sum((ref - noisy) ** 2)))
    assert sqnr_db(ref, noisy) == pytest.approx(direct, rel=1e-12)
    assert sqnr_db(ref, ref) == math.inf
