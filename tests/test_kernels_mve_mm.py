"""edgegen's Helium (MVE) matmul and general conv kernels (edgegen.kernels.mve_mm, mve_conv): the int8
layout, the folded constants against TFLM's arithmetic on random and extreme multipliers, shifts
(left shifts included), zero points and clamps, the refusals, and the converter-made 1x1 CONV_2D,
FULLY_CONNECTED and general CONV_2D models built for qemu-m55: simulator == TFLM on every tensor,
host C (ASan/UBSan) == simulator, and the Helium path on the emulated Cortex-M55 == simulator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgegen.build import build
from edgegen.emulator import run_on_emulator
from edgegen.kernels import KernelConfig, mve_mm
from edgegen.kernels.window import Geometry, gather
from edgegen.lower import lower
from edgegen.tflite_reader import parse_tflite
from edgegen.verify import ParityReport, compare_sim_tflm, random_inputs, verify_directory

from .support.opmodels import FAMILIES, edge_inputs, op_model
from .test_kernels import _conv_reference, _reference

#: family -> the call KIND of the Helium variant it must take
VARIANT = {"conv_2d_1x1": "mm8", "fully_connected": "mm8", "fully_connected_per_channel": "mm8",
           "conv_2d_general": "conv8"}


def test_w8_layout_round_trips_in_stream_order() -> None:
    rng = np.random.default_rng(3)
    for oc, k in ((1, 1), (4, 16), (5, 17), (7, 40), (13, 64), (3, 100)):
        w = rng.integers(-128, 128, size=(oc, k)).astype(np.int8)
        words = mve_mm.pack_w8(w)
        assert words.dtype == np.int8 and words.size == mve_mm.padded(oc, 4) * mve_mm.padded(k, 16)
        back = mve_mm.unpack_w8(words, k, oc)
        assert np.array_equal(back[:oc, :k], w) and not back[oc:].any() and not back[:, k:].any()
    # the stream: block 0, chunk 0: channel 0's first 16 bytes, then channel 1's ...; then chunk 1
    w = np.arange(4 * 32).reshape(4, 32) % 128
    words = mve_mm.pack_w8(w.astype(np.int8))
    assert list(words[:16]) == list(range(16)) and list(words[16:32]) == list(range(32, 48))
    assert list(words[64:80]) == list(range(16, 32))


def test_records_are_per_block_vectors() -> None:
    prep = mve_mm.prepare(np.ones((5, 3), dtype=np.int8), np.arange(5), -2, np.arange(1, 6) << 27,
                          np.array([-3, -1, 0, 2, -5]), 7)
    assert not isinstance(prep, str) and prep.ls == 1 and prep.e_pos == 0
    r = prep.rq.reshape(2, 4, 4)  # 2 blocks of {m, -e, zp, ls}
    assert list(r[0, 0]) == [1 << 27, 2 << 27, 3 << 27, 4 << 27] and list(r[1, 0]) == [5 << 27, 0, 0, 0]
    assert list(r[0, 1]) == [-3, -1, 0, 0] and list(r[0, 2]) == [7] * 4 and list(r[0, 3]) == [0, 0, 0, 2]
    assert list(prep.bias2) == [-6, -5, -4, -3, -2, 0, 0, 0]  # bias - 2 * sum w, padded


def test_unprovable_layers_are_refused() -> None:
    w = np.full((2, 4096), 127)
    # 2^31 - 2^20 + 127 * 128 * 4096 does not fit int32 (without the bias it does)
    assert "accumulator" in str(mve_mm.prepare(w, np.array([2**31 - 2**20, 0]), 0, np.array([1 << 30]),
                                               np.array([-1]), 0))
    assert not isinstance(mve_mm.prepare(w, None, 0, np.array([1 << 30]), np.array([-1]), 0), str)
    # a left shift that would make TFLM's acc << ls wrap
    assert "accumulator" in str(mve_mm.prepare(w[:, :64], None, 0, np.array([1 << 30]), np.array([20]), 0))
    assert "shift" in str(mve_mm.prepare(w[:, :4], None, 0, np.array([1 << 30]), np.array([31]), 0))
    assert "negative" in str(mve_mm.prepare(w[:, :4], None, 0, np.array([-5]), np.array([0]), 0))
    # the extreme zero point and right shift the DSP layout refuses are proven here
    assert not isinstance(mve_mm.prepare(w[:, :4], None, 0, np.array([1 << 30]), np.array([-31]), 100), str)


@pytest.mark.parametrize("seed", range(40))
def test_folded_constants_equal_tflm_requantization(seed: int) -> None:
    """K and OC not multiples of 16 and 4, per-tensor and per-channel, multipliers from 0 to 2^31-1,
    shifts from -31 to +7, extreme zero points and clamps: exact wherever proven."""
    rng = np.random.default_rng(500 + seed)
    k, oc, rows = int(rng.integers(1, 90)), int(rng.integers(1, 20)), int(rng.integers(1, 5))
    w = rng.integers(-127, 128, size=(oc, k)) * (rng.random((oc, 1)) < 0.9)
    bias = None if seed % 4 == 0 else rng.integers(-(2**18), 2**18, size=oc)
    n = 1 if seed % 3 == 0 else oc
    m = rng.choice([0, 1 << 30, (1 << 31) - 1, int(rng.integers(1 << 30, 1 << 31))], size=n).astype(np.int64)
    sh = rng.choice([-31, -24, -12, -1, 0, 1, 7, int(rng.integers(-20, 3))], size=n).astype(np.int64)
    zp, in_off = int(rng.choice([-128, 0, 127, rng.integers(-128, 128)])), int(rng.integers(-127, 129))
    lo, hi = sorted(int(v) for v in rng.integers(-128, 128, size=2))
    if seed % 2:
        lo, hi = -128, 127
    prep = mve_mm.prepare(w, bias, in_off, m, sh, zp)
    if isinstance(prep, str):
        # only a left shift large enough to wrap TFLM's own acc << ls is refused here
        assert "accumulator" in prep and np.max(sh) > 0, prep
        return
    x = np.concatenate([rng.integers(-128, 128, size=(rows, k)), np.full((1, k), -128), np.full((1, k), 127)])
    mm, ss = (np.repeat(m, oc), np.repeat(sh, oc)) if n == 1 else (m, sh)
    got = mve_mm.matmul8(x, prep.words, prep.bias2, prep.rq, k, oc, prep.ls, prep.e_pos, (lo, hi))
    assert np.array_equal(got, _reference(x, w, bias, in_off, mm, ss, zp, lo, hi))


@pytest.mark.parametrize("seed", range(10))
def test_conv_windows_with_zero_point_padding_equal_tflm(seed: int) -> None:
    rng = np.random.default_rng(900 + seed)
    kh, kw, s = int(rng.integers(1, 6)), int(rng.integers(1, 6)), int(rng.integers(1, 3))
    c, oc = int(rng.choice([1, 3, 8])), int(rng.integers(1, 10))
    ih, iw = int(rng.integers(kh, 9)), int(rng.integers(kw, 9))
    oh, ow = -(-ih // s), -(-iw // s)
    geo = Geometry(ih=ih, iw=iw, c=c, kh=kh, kw=kw, oh=oh, ow=ow, sh=s, sw=s,
                   pad_t=max(((oh - 1) * s + kh - ih) // 2, 0), pad_l=max(((ow - 1) * s + kw - iw) // 2, 0))
    w = rng.integers(-127, 128, size=(oc, geo.k))
    bias = rng.integers(-(2**14), 2**14, size=oc)
    m, sh = rng.integers(1 << 30, 1 << 31, size=oc), rng.integers(-14, 2, size=oc)
    in_zp, zp = int(rng.integers(-128, 128)), int(rng.integers(-128, 128))
    prep = mve_mm.prepare(w, bias, -in_zp, m, sh, zp)
    assert not isinstance(prep, str), prep
    x = rng.integers(-128, 128, size=(ih, iw, c))
    got = mve_mm.matmul8(gather(x, geo, in_zp), prep.words, prep.bias2, prep.rq, geo.k, oc, prep.ls, prep.e_pos,
                         (-128, 127))
    assert np.array_equal(got.reshape(oh, ow, oc), _conv_reference(x, w, bias, -in_zp, m, sh, zp, -128, 127, geo))


@pytest.mark.parametrize("family", sorted(VARIANT))
def test_per_op_models_take_the_helium_kernel_and_match_tflm(family: str) -> None:
    """Every seed's 25 converter-made cases lowered for a Helium CPU: all take the variant, and the
    simulator equals TFLM on every tensor (edge and random inputs)."""
    calls = []
    for seed in FAMILIES[family].seeds:
        model = op_model(family, seed)
        program = lower(parse_tflite(model.tflite, name="m"), name="m", kernels=KernelConfig(cpu="mve"))
        taken = [c for c in program.calls if c.KIND == VARIANT[family]]
        assert len(taken) == len(model.branches), program.kernel_notes
        calls += taken
        samples = edge_inputs(program) + random_inputs(program, 2, seed=seed)
        report = ParityReport(samples=len(samples))
        compare_sim_tflm(program, model.tflite, samples, report)
        assert report.ok, [m.message() for m in report.mismatches]
    assert len(calls) >= 50
    assert any(c.k % 16 for c in calls) and any(c.oc % 4 for c in calls)  # type: ignore[attr-defined]
    if family.startswith("conv"):
        assert any(not c.e_pos for c in calls)  # type: ignore[attr-defined]


@pytest.mark.parametrize("family", ["conv_2d_1x1", "conv_2d_general"])
def test_host_c_matches_sim(family: str, tmp_path: Path) -> None:
    """The portable C path over the Helium layout (what the host tier compiles), under ASan+UBSan."""
    model = op_model(family, FAMILIES[family].seeds[0])
    result = build(model.tflite, tmp_path / "k", source="k.tflite", name="k", board="qemu-m55", force=True)
    assert sum(c.KIND == VARIANT[family] for c in result.program.calls) == len(model.branches)
    edges = edge_inputs(result.program)
    report, program = verify_directory(result.out, edges, count=len(edges) + 2, seed=1, asan=True)
    assert report.ok and report.sim_vs_tflm is True and report.c_vs_sim is True
    assert report.tensors_compared == report.samples * len(program.calls)


@pytest.mark.parametrize(("family", "seeds"),
                         [("conv_2d_1x1", (0, 2)), ("fully_connected", (1,)), ("fully_connected_per_channel", (11,)),
                          ("conv_2d_general", (0, 1))])
def test_helium_path_on_the_emulated_m55(family: str, seeds: tuple[int, ...], tmp_path: Path) -> None:
    """Built for qemu-m55 (so the Helium variant is chosen) and run there on edge inputs: 100 1x1 and
    FC cases through edgegen_mm8_s8, 50 general conv cases through edgegen_conv8_s8, exact on every
    vector."""
    fn = {"mm8": "edgegen_mm8_s8", "conv8": "edgegen_conv8_s8"}[VARIANT[family]]
    for seed in seeds:
        model = op_model(family, seed)
        edges = edge_inputs(lower(parse_tflite(model.tflite, name="k"), name="k", kernels=KernelConfig(cpu="mve")))
        result = build(model.tflite, tmp_path / f"k{seed}", source="k.tflite", name="k", board="qemu-m55",
                       vectors=len(edges) + 2, samples=edges)
        assert sum(c.function == fn for c in result.program.calls) == len(model.branches)
        run = run_on_emulator(result.out, board="qemu-m55", timeout=300)
        assert run.result.verdict is True, "\n".join(run.stdout.splitlines()[-10:])
