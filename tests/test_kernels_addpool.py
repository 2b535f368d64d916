"""edgegen's ADD/SUB kernel (edgegen.kernels.add) and pooling kernel (edgegen.kernels.pool:
AVERAGE_POOL_2D, MAX_POOL_2D, MEAN): the build-time preparation against TFLM's arithmetic on random
and extreme scales, zero points, clamps and geometries; the per-op models' cases that take the
kernels (their simulator == TFLM and host C == simulator parity is tests/test_ops.py's); and the
DSP (qemu-m4) and Helium (qemu-m55) paths on qemu with edge inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgegen import fixedpoint as fx
from edgegen.build import build
from edgegen.kernels import add as addk
from edgegen.kernels import pool as poolk
from edgegen.ops.reduce import MeanParams, mean_params, mean_s8
from edgegen.program import TensorRef

from .support.opmodels import FAMILIES, MIN_CASES_PER_OP, edge_inputs, op_model

_BYTES = np.arange(-128, 128, dtype=np.int64)


def _add_params(rng: np.random.Generator, subtract: bool) -> addk.AddParams:
    """TFLM's ADD Prepare on random scales 1e-4..10 (ratios up to 1e5), extreme zero points, clamps."""
    s1, s2, so = (float(10 ** rng.uniform(-4, 1)) for _ in range(3))
    if rng.random() < 0.3:
        s2 = s1 * float(rng.choice([1.0, 0.5, 2.0, 1e-5]))  # equal and power-of-two ratios: exact halves
    zps = [int(rng.choice([-128, 127, 0, int(rng.integers(-128, 128))])) for _ in range(3)]
    twice = 2.0 * max(s1, s2)
    m1, e1 = fx.quantize_multiplier_smaller_than_one_exp(s1 / twice)
    m2, e2 = fx.quantize_multiplier_smaller_than_one_exp(s2 / twice)
    mo, eo = fx.quantize_multiplier_smaller_than_one_exp(twice / ((1 << 20) * so))
    lo, hi = (-128, 127) if rng.random() < 0.5 else sorted(int(v) for v in rng.integers(-128, 128, size=2))
    return addk.AddParams(offsets=(-zps[0], -zps[1]), mults=(m1, m2), shifts=(e1, e2), left_shift=20,
                          out_offset=zps[2], out_mult=mo, out_shift=eo, act_min=lo, act_max=hi, subtract=subtract)


@pytest.mark.parametrize("seed", range(60))
def test_add_tables_equal_tflm_on_every_input_pair(seed: int) -> None:
    rng = np.random.default_rng(3000 + seed)
    p = _add_params(rng, subtract=seed % 4 == 3)
    prep = addk.prepare(p)
    if isinstance(prep, str):
        # a refusal must be a true one: an output left shift, or SMMULR's rounding really differs
        assert p.out_shift > 0 or "rounding" in prep, prep
        return
    a, b = np.meshgrid(_BYTES, _BYTES, indexing="ij")
    got = addk.kernel(prep.tables, (prep.m, prep.c, prep.e, prep.fix), a.astype(np.uint8).astype(np.int64),
                      b.astype(np.uint8).astype(np.int64), p.act_min, p.act_max)
    assert np.array_equal(got, addk.reference(p, a, b))
    assert prep.tables.dtype == np.int32 and prep.tables.size == 512


def test_add_most_random_layers_are_proven() -> None:
    proven = sum(not isinstance(addk.prepare(_add_params(np.random.default_rng(s), False)), str) for s in range(60))
    assert proven >= 55


def test_add_refusals_are_recorded() -> None:
    base = addk.AddParams(offsets=(0, 0), mults=(1 << 30, 1 << 30), shifts=(0, 0), left_shift=20, out_offset=0,
                          out_mult=1 << 30, out_shift=1, act_min=-128, act_max=127, subtract=False)
    assert "left shift" in str(addk.prepare(base))


def _pool_geometry(rng: np.random.Generator, c: int) -> poolk.PoolGeometry:
    fh, fw = int(rng.integers(1, 8)), int(rng.integers(1, 8))
    sh, sw = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    ih, iw = int(rng.integers(1, 10)), int(rng.integers(1, 10))
    same = bool(rng.random() < 0.6) or ih < fh or iw < fw
    if same:
        oh, ow = -(-ih // sh), -(-iw // sw)
        pt, pl = max(((oh - 1) * sh + fh - ih) // 2, 0), max(((ow - 1) * sw + fw - iw) // 2, 0)
    else:
        oh, ow, pt, pl = (ih - fh) // sh + 1, (iw - fw) // sw + 1, 0, 0
    return poolk.PoolGeometry(ih=ih, iw=iw, c=c, oh=oh, ow=ow, fh=fh, fw=fw, sh=sh, sw=sw, pad_t=pt, pad_l=pl)


def _pool_reference(x: np.ndarray, geo: poolk.PoolGeometry, is_max: bool, lo: int, hi: int) -> np.ndarray:
    """TFLM's pooling: windows clipped to the input; the average rounds half away from zero."""
    out = np.zeros((geo.oh, geo.ow, geo.c), dtype=np.int64)
    for y in range(geo.oh):
        for xo in range(geo.ow):
            y0, x0 = y * geo.sh - geo.pad_t, xo * geo.sw - geo.pad_l
            win = x[max(y0, 0) : min(y0 + geo.fh, geo.ih), max(x0, 0) : min(x0 + geo.fw, geo.iw)]
            if is_max:
                out[y, xo] = win.max(axis=(0, 1))
            else:
                n, s = win.shape[0] * win.shape[1], win.sum(axis=(0, 1))
                out[y, xo] = [int((v + n // 2) / n) if v > 0 else -int((-v + n // 2) / n) for v in s]
    return np.clip(out, lo, hi)


def _call(geo: poolk.PoolGeometry, mode: int, lo: int, hi: int, regions: tuple[poolk.Region, ...],
          mean: tuple[int, int, int, int] = (0, 0, 0, 0)) -> poolk.PoolKernelCall:
    ref = TensorRef(tensor=0, name="x", buffer=0, shape=(1, geo.ih, geo.iw, geo.c), ctype="int8_t")
    return poolk.PoolKernelCall(index=0, op_index=0, op_name="POOL", function="edgegen_pool_s8", inputs=(ref,),
                                output=ref, scratch=-1, scratch_bytes=0, macs=0, mode=mode, ih=geo.ih, iw=geo.iw,
                                c=geo.c, oh=geo.oh, ow=geo.ow, sh=geo.sh, sw=geo.sw, pad_t=geo.pad_t,
                                pad_l=geo.pad_l, act_min=lo, act_max=hi, sum_offset=mean[0], mult=mean[1],
                                shift=mean[2], out_offset=mean[3], regions=regions)


class _Mach:
    """The two Machine methods run_poolk uses."""

    def __init__(self, x: np.ndarray) -> None:
        self.x, self.out = x, np.zeros(0, dtype=np.int8)

    def read(self, _ref: TensorRef) -> np.ndarray:
        return self.x

    def write(self, _ref: TensorRef, v: np.ndarray) -> None:
        self.out = v


def _run(call: poolk.PoolKernelCall, x: np.ndarray) -> np.ndarray:
    mach = _Mach(x)
    poolk.run_poolk(mach, call)  # type: ignore[arg-type]
    return mach.out.astype(np.int64)


@pytest.mark.parametrize("seed", range(60))
def test_pool_regions_equal_tflm(seed: int) -> None:
    """Filters 1..7, strides 1..3, SAME (windows wider than the input) and VALID, odd channel counts,
    clamps: the regions' constant windows and counts give TFLM's average and maximum exactly, and
    no region reads outside the input."""
    rng = np.random.default_rng(4000 + seed)
    geo = _pool_geometry(rng, int(rng.integers(1, 21)))
    lo, hi = (-128, 127) if seed % 2 else sorted(int(v) for v in rng.integers(-128, 128, size=2))
    prep = poolk.prepare(geo, poolk.MAX if seed % 3 == 0 else poolk.AVG)
    assert not isinstance(prep, str), prep
    for y0, y1, x0, x1, ky0, ky1, kx0, kx1 in prep.regions:
        assert (y0 * geo.sh - geo.pad_t + ky0 >= 0 and (y1 - 1) * geo.sh - geo.pad_t + ky1 <= geo.ih
                and x0 * geo.sw - geo.pad_l + kx0 >= 0 and (x1 - 1) * geo.sw - geo.pad_l + kx1 <= geo.iw)
    covered = sum((y1 - y0) * (x1 - x0) for y0, y1, x0, x1, *_ in prep.regions)
    assert covered == geo.oh * geo.ow
    for x in (rng.integers(-128, 128, size=(geo.ih, geo.iw, geo.c)), np.full((geo.ih, geo.iw, geo.c), -128),
              np.full((geo.ih, geo.iw, geo.c), 127)):
        call = _call(geo, poolk.MAX if seed % 3 == 0 else poolk.AVG, lo, hi, prep.regions)
        assert np.array_equal(_run(call, x), _pool_reference(x, geo, seed % 3 == 0, lo, hi))


@pytest.mark.parametrize("seed", range(50))
def test_mean_equals_tflm(seed: int) -> None:
    """MEAN over [outer, reduce, inner] with reduce up to 256, random scales (left shifts included)."""
    rng = np.random.default_rng(5000 + seed)
    outer, reduce, inner = int(rng.integers(1, 5)), int(rng.integers(1, 257)), int(rng.integers(1, 12))
    si, so = float(10 ** rng.uniform(-3, 1)), float(10 ** rng.uniform(-3, 1))
    zi, zo = (int(rng.choice([-128, 127, int(rng.integers(-128, 128))])) for _ in range(2))
    p = mean_params(si, zi, so, zo, reduce)
    geo = poolk.PoolGeometry(ih=outer, iw=reduce, c=inner, oh=outer, ow=1, fh=1, fw=reduce, sh=1, sw=1, pad_t=0,
                             pad_l=0)
    prep = poolk.prepare(geo, poolk.MEAN, p.sum_offset, p.multiplier, p.shift)
    if isinstance(prep, str):
        assert "int32" in prep and p.shift > 0, prep
        return
    call = _call(geo, poolk.MEAN, -128, 127, prep.regions, (p.sum_offset, p.multiplier, p.shift, p.output_offset))
    for x in (rng.integers(-128, 128, size=(outer, reduce, inner)), np.full((outer, reduce, inner), -128),
              np.full((outer, reduce, inner), 127)):
        want = mean_s8(x, MeanParams(p.sum_offset, p.multiplier, p.shift, p.output_offset)).astype(np.int64)
        assert np.array_equal(_run(call, x).reshape(outer, inner), want)


def test_pool_refusals_and_kws_region() -> None:
    big = poolk.PoolGeometry(ih=17, iw=17, c=3, oh=1, ow=1, fh=17, fw=17, sh=1, sw=1, pad_t=0, pad_l=0)
    assert "taps" in str(poolk.prepare(big, poolk.AVG))
    kws = poolk.PoolGeometry(ih=25, iw=5, c=64, oh=1, ow=1, fh=25, fw=5, sh=25, sw=5, pad_t=0, pad_l=0)
    prep = poolk.prepare(kws, poolk.AVG)
    assert not isinstance(prep, str) and prep.regions == ((0, 1, 0, 1, 0, 25, 0, 5),) and prep.nbytes == 0


def _calls(families: tuple[str, ...], kind: str) -> list[object]:
    from edgegen.lower import lower
    from edgegen.tflite_reader import parse_tflite

    calls: list[object] = []
    for fam in families:
        for seed in FAMILIES[fam].seeds:
            program = lower(parse_tflite(op_model(fam, seed).tflite, name="m"), name="m")
            calls += [c for c in program.calls if c.KIND == kind]
    return calls


def test_per_op_models_take_the_kernels() -> None:
    """At least MIN_CASES_PER_OP converter-made cases per kernel run edgegen's kernels in
    tests/test_ops.py (simulator == TFLM on all, host C under ASan+UBSan on the first seeds)."""
    adds = [c for c in _calls(("add", "sub"), "addk") if isinstance(c, addk.AddKernelCall)]
    assert len(adds) >= MIN_CASES_PER_OP
    assert any(c.size % 4 for c in adds) and any(c.size >= 16 for c in adds)
    avg = [c for c in _calls(("average_pool_2d",), "poolk") if isinstance(c, poolk.PoolKernelCall)]
    mx = [c for c in _calls(("max_pool_2d",), "poolk") if isinstance(c, poolk.PoolKernelCall)]
    mean = [c for c in _calls(("mean",), "poolk") if isinstance(c, poolk.PoolKernelCall)]
    for calls in (avg, mx, mean):
        assert len(calls) >= MIN_CASES_PER_OP
        assert any(c.c % 4 for c in calls) and any(c.c >= 16 for c in calls)
    assert any(len(c.regions) > 1 for c in avg) and any(len(c.regions) > 1 for c in mx)
    assert any(c.act_max < 127 for c in avg + mx)


@pytest.mark.parametrize("board", ("qemu-m4", "qemu-m55"))
@pytest.mark.parametrize(("family", "seed", "kind", "least"),
                         [("add", 0, "addk", 8), ("sub", 1, "addk", 5), ("average_pool_2d", 0, "poolk", 25),
                          ("max_pool_2d", 1, "poolk", 25), ("mean", 2, "poolk", 25)],
                         ids=["add", "sub", "avgpool", "maxpool", "mean"])
def test_per_op_kernel_model_on_emulator(board: str, family: str, seed: int, kind: str, least: int,
                                         tmp_path: Path) -> None:
    """Built for each board, so qemu-m4 runs the DSP paths and qemu-m55 the Helium paths: exact on
    every vector (edge inputs: a ramp through every int8 value, all -128, all 127)."""
    from edgegen.emulator import run_on_emulator

    model = op_model(family, seed)
    result = build(model.tflite, tmp_path / "k", source="k.tflite", name="k", board=board, vectors=1)
    assert sum(c.KIND == kind for c in result.program.calls) >= least
    edges = edge_inputs(result.program)
    result = build(model.tflite, tmp_path / "k", source="k.tflite", name="k", board=board,
                   vectors=len(edges) + 2, samples=edges, force=True)
    run = run_on_emulator(result.out, board=board, timeout=300)
    assert run.result.verdict is True, "\n".join(run.stdout.splitlines()[-10:])
