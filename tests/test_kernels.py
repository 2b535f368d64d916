"""edgegen's specialized kernels: 1x1 CONV_2D / FULLY_CONNECTED (edgegen.kernels.matmul) and
depthwise 3x3 (edgegen.kernels.depthwise): the build-time preparation against TFLM's arithmetic on
random and extreme multipliers, shifts and geometries (per-region folded biases), the weight layouts,
the per-layer choice of --kernels, the flash fallback, and the per-op models' cases that take the
kernels (their parity is tests/test_ops.py's)."""

from __future__ import annotations

import numpy as np
import pytest

from edgegen import fixedpoint as fx
from edgegen.boards import resolve_board
from edgegen.build import compile_tflite
from edgegen.kernels import KernelConfig
from edgegen.kernels import conv as convk
from edgegen.kernels import depthwise as dw3
from edgegen.kernels.matmul import MatmulPrep, pack_w16x2, prepare, unpack_w16x2

from .conftest import shared_path
from .support.opmodels import FAMILIES, MIN_CASES_PER_OP, op_model

KWS = "models/mlperf_tiny/kws/kws_ref_model.tflite"
AD01 = "models/mlperf_tiny/ad/ad01_int8.tflite"


def _reference(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, in_off: int, m: np.ndarray, sh: np.ndarray,
               zp: int, lo: int, hi: int) -> np.ndarray:
    acc = (x.astype(np.int64) + in_off) @ w.astype(np.int64).T
    if bias is not None:
        acc = acc + bias
    out = fx.multiply_by_quantized_multiplier(acc, m, sh) + zp
    return np.clip(out, lo, hi)


def _kernel(x: np.ndarray, prep: MatmulPrep, k: int, oc: int, lo: int, hi: int) -> np.ndarray:
    """The arithmetic of edgegen_mm.h (and of the simulator's run_matmul) on the folded constants."""
    ws = unpack_w16x2(prep.words, k, oc)
    xp = np.zeros((x.shape[0], ws.shape[1]), dtype=np.int64)
    xp[:, :k] = x
    acc2 = prep.bias2.astype(np.int64) + xp @ ws.T
    assert np.all(np.abs(acc2) < 2**31)
    r = prep.rq.astype(np.int64).reshape(oc, 3)
    h = (acc2 * r[:, 0] + (1 << 31)) >> 32
    fix = h >> 31 if prep.e_pos else (h & -r[:, 2]) >> 31
    return np.clip(np.clip((h + r[:, 1] + fix) >> r[:, 2], -128, 127), lo, hi)


@pytest.mark.parametrize("seed", range(60))
def test_folded_constants_equal_tflm_requantization(seed: int) -> None:
    """Odd K and OC, per-tensor and per-channel, multipliers from 0 to 2^31-1, shifts from -31 to +7,
    extreme zero points and clamps: exact wherever the preparation proves it, and it proves most."""
    rng = np.random.default_rng(seed)
    k, oc, rows = int(rng.integers(1, 70)), int(rng.integers(1, 20)), int(rng.integers(1, 5))
    w = rng.integers(-127, 128, size=(oc, k)) * (rng.random((oc, 1)) < 0.9)
    bias = None if seed % 4 == 0 else rng.integers(-(2**18), 2**18, size=oc)
    n = 1 if seed % 3 == 0 else oc
    m = rng.choice([0, 1 << 30, (1 << 31) - 1, int(rng.integers(1 << 30, 1 << 31))], size=n).astype(np.int64)
    sh = rng.choice([-31, -24, -12, -1, 0, 1, 7, int(rng.integers(-20, 3))], size=n).astype(np.int64)
    zp, in_off = int(rng.choice([-128, 0, 127, rng.integers(-128, 128)])), int(rng.integers(-127, 129))
    lo, hi = sorted(int(v) for v in rng.integers(-128, 128, size=2))
    if seed % 2:
        lo, hi = -128, 127
    prep = prepare(w, bias, in_off, m, sh, zp)
    if isinstance(prep, str):
        # the layer keeps its CMSIS-NN call (TFLM's arithmetic); the refusal must be a true one
        e = -np.minimum(sh, 0).astype(np.float64)
        zp_overflows = bool(np.any(abs(zp) * 2.0**e + 2.0 ** (e - 1) >= 2.0**31))
        assert "zero point" in prep and zp_overflows, prep
        return
    x = np.concatenate([rng.integers(-128, 128, size=(rows, k)), np.full((1, k), -128), np.full((1, k), 127)])
    mm, ss = (np.repeat(m, oc), np.repeat(sh, oc)) if n == 1 else (m, sh)
    assert np.array_equal(_kernel(x, prep, k, oc, lo, hi), _reference(x, w, bias, in_off, mm, ss, zp, lo, hi))


def test_most_extreme_cases_are_proven() -> None:
    proven = 0
    for seed in range(60):
        rng = np.random.default_rng(seed)
        w = rng.integers(-127, 128, size=(7, 33))
        proven += not isinstance(prepare(w, None, int(rng.integers(-127, 129)), np.array([1 << 30]),
                                         np.array([int(rng.integers(-20, 3))]), 5), str)
    assert proven == 60


def test_unprovable_layers_are_refused() -> None:
    w = np.full((2, 4096), 127)
    assert "accumulator" in str(prepare(w, np.array([2**30, 0]), 0, np.array([1 << 30]), np.array([-1]), 0))
    assert "left shift" in str(prepare(w[:, :4], None, 0, np.array([1 << 30]), np.array([8]), 0))
    assert "zero point" in str(prepare(w[:, :4], None, 0, np.array([1 << 30]), np.array([-31]), 100))


def test_w16x2_layout_round_trips_with_the_sxtb16_order() -> None:
    rng = np.random.default_rng(1)
    for oc, k in ((1, 1), (6, 4), (7, 9), (13, 64)):
        ws = rng.integers(-32768, 32768, size=(oc, k))
        words = pack_w16x2(ws)
        assert words.size == oc * (-(-k // 4)) * 2
        back = unpack_w16x2(words, k, oc)
        assert np.array_equal(back[:, :k], ws) and not back[:, k:].any()
    # the first block's first channel: (w0, w2) then (w1, w3), low half first
    u = pack_w16x2(np.array([[1, 2, 3, 4]])).view(np.uint32)
    assert list(u) == [1 | 3 << 16, 2 | 4 << 16]


def _program(rel: str, board: str, kernels: str = "auto", arm: bool = False):  # type: ignore[no-untyped-def]
    b = resolve_board(board).board
    return compile_tflite(shared_path(rel).read_bytes(), name="m", source=rel, scratch_target=b.scratch_target,
                          kernels=kernels, board=b, arm_cmsis_nn=arm)[1]


def test_kernel_choice_per_mode_and_cpu() -> None:
    auto = _program(KWS, "qemu-m4")
    assert [c.function for c in auto.calls if c.KIND == "matmul"] == ["edgegen_mm_s8"] * 5
    assert auto.kernel_mode == "auto" and not auto.kernel_notes
    cmsis = _program(KWS, "qemu-m4", "cmsis-nn")
    assert not [c for c in cmsis.calls if c.KIND == "matmul"] and not cmsis.kernel_notes
    portable = _program(KWS, "qemu-m55", "portable")
    # a Helium CPU takes the int8 layout (edgegen/kernels/mve_mm.py), here through its portable C path
    assert [c.function for c in portable.calls if c.KIND == "mm8"] == ["edgegen_mm8_s8_portable"] * 5
    assert [c.function for c in _program(KWS, "qemu-m4", "portable").calls if c.KIND == "matmul"] == [
        "edgegen_mm_s8_portable"] * 5
    # the default M55 build: edgegen's Helium kernel (tests/test_kernels_mve_mm.py)
    m55 = _program(KWS, "qemu-m55")
    assert [c.function for c in m55.calls if c.KIND == "mm8"] == ["edgegen_mm8_s8"] * 5
    # with Arm's library (--cmsis-nn), edgegen's Helium matmul and conv kernels are faster on the M55
    m55_arm = _program(KWS, "qemu-m55", arm=True)
    assert [c.function for c in m55_arm.calls if c.KIND == "mm8"] == ["edgegen_mm8_s8"] * 5
    assert [c.function for c in m55_arm.calls if c.KIND == "conv8"] == ["edgegen_conv8_s8"]
    # all of kws's layers edgegen has a kernel for take it (the 4 depthwise 3x3 take edgegen_dw8_s8)
    assert not m55_arm.kernel_notes
    m4_arm = _program(KWS, "qemu-m4", arm=True)
    assert [c.function for c in m4_arm.calls if c.KIND == "matmul"] == ["edgegen_mm_s8"] * 5
    # the first conv (10x4, stride 2, 1 input channel): edgegen's general conv kernel
    for program, function in ((auto, "edgegen_conv_s8"), (m4_arm, "edgegen_conv_s8")):
        assert [c.function for c in program.calls if c.KIND == "convk"] == [function]
    for program, function in ((m55, "edgegen_conv8_s8"), (portable, "edgegen_conv8_s8_portable")):
        assert [c.function for c in program.calls if c.KIND == "conv8"] == [function]
    assert not [c for c in cmsis.calls if c.KIND == "convk"]


def test_wider_weights_fall_back_where_the_flash_is_short() -> None:
    """ad01's 270 KB of weights double in W16x2: on a 512 KiB board some layers keep int8 weights."""
    small = _program(AD01, "nucleo-f401re")
    big = _program(AD01, "qemu-m4")
    assert sum(c.KIND == "matmul" for c in big.calls) == 10
    assert 0 < sum(c.KIND == "matmul" for c in small.calls) < 10
    assert small.kernel_notes and all("flash" in why for _op, why in small.kernel_notes)
    assert small.weight_bytes + 64 * 1024 + 16 * 1024 <= resolve_board("nucleo-f401re").board.flash_bytes


def test_default_config_is_auto_on_a_dsp_cpu() -> None:
    assert KernelConfig().use("matmul") is None
    assert KernelConfig(cpu="mve").use("matmul") is None  # against edgegen's portable CMSIS-NN API
    assert KernelConfig(cpu="mve", library="arm").use("matmul") is None  # the Helium variant is faster
    assert KernelConfig(cpu="dsp", library="arm").use("matmul") is None
    assert KernelConfig(mode="portable", cpu="mve").use("matmul") is None


@pytest.mark.parametrize("families", [("conv_2d_1x1",), ("fully_connected", "fully_connected_per_channel")],
                         ids=["conv_1x1", "fully_connected"])
def test_per_op_models_take_the_kernel(families: tuple[str, ...]) -> None:
    """At least MIN_CASES_PER_OP converter-made cases of each op run edgegen's kernel in
    tests/test_ops.py (sim == TFLM on all, host C under ASan+UBSan on the first seed's), with odd K
    and e = 0 channels among them."""
    from edgegen.lower import lower
    from edgegen.tflite_reader import parse_tflite

    calls = []
    for fam in families:
        for seed in FAMILIES[fam].seeds:
            program = lower(parse_tflite(op_model(fam, seed).tflite, name="m"), name="m")
            calls += [c for c in program.calls if c.KIND == "matmul"]
    assert len(calls) >= MIN_CASES_PER_OP
    assert sum(c.k % 4 != 0 for c in calls) >= 20 and sum(c.oc % 2 == 1 for c in calls) >= 10
    assert any(not c.e_pos for c in calls) and any(c.npix > 1 for c in calls)


# -- depthwise 3x3 ------------------------------------------------------------------------------


def _dw_reference(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, in_off: int, m: np.ndarray,
                  sh: np.ndarray, zp: int, lo: int, hi: int, geo: dw3.Geometry) -> np.ndarray:
    """TFLM's depthwise convolution: out-of-bounds taps skipped (input + in_off on the valid ones)."""
    acc = np.zeros((geo.oh, geo.ow, geo.c), dtype=np.int64)
    for y in range(geo.oh):
        for xo in range(geo.ow):
            for t in range(9):
                iy, ix = y * geo.stride - geo.pad_t + t // 3, xo * geo.stride - geo.pad_l + t % 3
                if 0 <= iy < geo.ih and 0 <= ix < geo.iw:
                    acc[y, xo] += (x[iy, ix].astype(np.int64) + in_off) * w[t]
    if bias is not None:
        acc = acc + bias
    return np.clip(fx.multiply_by_quantized_multiplier(acc, m, sh) + zp, lo, hi)


def _dw_kernel(x: np.ndarray, prep: dw3.DepthwisePrep, geo: dw3.Geometry, lo: int, hi: int) -> np.ndarray:
    """The arithmetic of edgegen_dw.h on the folded constants, pixel by pixel: the region's bias and
    only the region's taps (a tap outside the input would raise an IndexError or wrap around)."""
    ws = dw3.unpack_dw(prep.words, geo.c)
    b2 = prep.bias2.astype(np.int64).reshape(-1, geo.c)
    acc2 = np.zeros((geo.oh, geo.ow, geo.c), dtype=np.int64)
    for y0, y1, rm, x0, x1, cm, r in prep.segments:
        mask = dw3.tap_mask(rm, cm)
        for y in range(y0, y1):
            for xo in range(x0, x1):
                a = b2[r].copy()
                for t in range(9):
                    if (mask >> t) & 1:
                        iy, ix = y * geo.stride - geo.pad_t + t // 3, xo * geo.stride - geo.pad_l + t % 3
                        assert 0 <= iy < geo.ih and 0 <= ix < geo.iw
                        a += x[iy, ix].astype(np.int64) * ws[t]
                acc2[y, xo] = a
    assert np.all(np.abs(acc2) < 2**31)
    r = prep.rq.astype(np.int64).reshape(geo.c, 3)
    h = (acc2 * r[:, 0] + (1 << 31)) >> 32
    fix = h >> 31 if prep.e_pos else (h & -r[:, 2]) >> 31
    return np.clip(np.clip((h + r[:, 1] + fix) >> r[:, 2], -128, 127), lo, hi)


def _geometry(rng: np.random.Generator, c: int) -> dw3.Geometry:
    stride = int(rng.choice([1, 1, 2]))
    same = bool(rng.random() < 0.7)
    ih, iw = int(rng.integers(1 if same else 3, 8)), int(rng.integers(1 if same else 3, 8))
    if same:
        oh, ow = -(-ih // stride), -(-iw // stride)
        pt, pl = max((oh - 1) * stride + 3 - ih, 0) // 2, max((ow - 1) * stride + 3 - iw, 0) // 2
    else:
        oh, ow, pt, pl = (ih - 3) // stride + 1, (iw - 3) // stride + 1, 0, 0
    return dw3.Geometry(ih=ih, iw=iw, c=c, oh=oh, ow=ow, stride=stride, pad_t=pt, pad_l=pl)


@pytest.mark.parametrize("seed", range(60))
def test_dw_folded_region_biases_equal_tflm(seed: int) -> None:
    """Heights and widths 1..7, SAME and VALID, strides 1 and 2, odd channel counts, per-tensor and
    per-channel, extreme multipliers, shifts, offsets and clamps: exact wherever proven."""
    rng = np.random.default_rng(1000 + seed)
    c = int(rng.integers(1, 21))
    geo = _geometry(rng, c)
    w = rng.integers(-127, 128, size=(9, c)) * (rng.random((1, c)) < 0.9)
    bias = None if seed % 4 == 0 else rng.integers(-(2**18), 2**18, size=c)
    n = 1 if seed % 3 == 0 else c
    m = rng.choice([0, 1 << 30, (1 << 31) - 1, int(rng.integers(1 << 30, 1 << 31))], size=n).astype(np.int64)
    sh = rng.choice([-31, -24, -12, -1, 0, 1, 7, int(rng.integers(-20, 3))], size=n).astype(np.int64)
    zp, in_off = int(rng.choice([-128, 0, 127, rng.integers(-128, 128)])), int(rng.integers(-127, 129))
    lo, hi = sorted(int(v) for v in rng.integers(-128, 128, size=2))
    if seed % 2:
        lo, hi = -128, 127
    prep = dw3.prepare(w, bias, in_off, m, sh, zp, geo)
    if isinstance(prep, str):
        e = -np.minimum(sh, 0).astype(np.float64)
        assert "zero point" in prep and bool(np.any(abs(zp) * 2.0**e + 2.0 ** (e - 1) >= 2.0**31)), prep
        return
    mm, ss = (np.repeat(m, c), np.repeat(sh, c)) if n == 1 else (m, sh)
    for x in (rng.integers(-128, 128, size=(geo.ih, geo.iw, c)), np.full((geo.ih, geo.iw, c), -128),
              np.full((geo.ih, geo.iw, c), 127)):
        assert np.array_equal(_dw_kernel(x, prep, geo, lo, hi),
                              _dw_reference(x, w, bias, in_off, mm, ss, zp, lo, hi, geo))


def test_dw_regions_of_kws_and_of_thin_inputs() -> None:
    kws = dw3.Geometry(ih=25, iw=5, c=64, oh=25, ow=5, stride=1, pad_t=1, pad_l=1)
    segs = kws.segments()
    assert len(segs) == 9
    assert [(s[0], s[1], s[2]) for s in segs[::3]] == [(0, 1, 0b110), (1, 24, 0b111), (24, 25, 0b011)]
    assert dw3.tap_mask(0b110, 0b110) == 0b110110000 and dw3.tap_mask(0b111, 0b111) == 0x1FF
    # one row and one column, SAME: only the centre tap reads the input
    one = dw3.Geometry(ih=1, iw=1, c=3, oh=1, ow=1, stride=1, pad_t=1, pad_l=1).segments()
    assert one == [(0, 1, 0b010, 0, 1, 0b010, 0)]
    # two columns: left and right borders, no middle run
    two = dw3.Geometry(ih=3, iw=2, c=4, oh=1, ow=2, stride=1, pad_t=0, pad_l=1).segments()
    assert [(s[3], s[4], s[5]) for s in two] == [(0, 1, 0b110), (1, 2, 0b011)]


def test_dw_layout_round_trips_with_the_sxtb16_order() -> None:
    rng = np.random.default_rng(2)
    for c in (1, 3, 4, 7, 64):
        ws = rng.integers(-32768, 32768, size=(9, c))
        words = dw3.pack_dw(ws)
        assert words.size == -(-c // 4) * 18
        assert np.array_equal(dw3.unpack_dw(words, c), ws)
    u = dw3.pack_dw(np.array([[1, 2, 3, 4]] * 9)).view(np.uint32)
    assert list(u[:2]) == [1 | 3 << 16, 2 | 4 << 16]


def test_dw_unprovable_layers_are_refused() -> None:
    geo = dw3.Geometry(ih=3, iw=3, c=2, oh=3, ow=3, stride=1, pad_t=1, pad_l=1)
    w = np.full((9, 2), 127)
    assert "accumulator" in str(dw3.prepare(w, np.array([2**30, 0]), 0, np.array([1 << 30]), np.array([-1]), 0, geo))
    assert "left shift" in str(dw3.prepare(w, None, 0, np.array([1 << 30]), np.array([8]), 0, geo))
    assert dw3.applies(3, 3, (1, 1), (1, 1), 1, 1) is None and dw3.applies(3, 3, (2, 2), (1, 1), 1, 1) is None
    assert dw3.applies(5, 5, (1, 1), (1, 1), 1, 1) and dw3.applies(3, 3, (1, 1), (2, 2), 1, 1)
    assert dw3.applies(3, 3, (1, 1), (1, 1), 2, 1) and dw3.applies(3, 3, (3, 3), (1, 1), 1, 1)


def test_dw_kernel_choice_on_kws() -> None:
    auto = _program(KWS, "qemu-m4")
    assert [c.function for c in auto.calls if c.KIND == "dw3x3"] == ["edgegen_dw3_s8"] * 4
    assert not [c for c in auto.calls if c.KIND == "depthwise"]
    assert not [c for c in _program(KWS, "qemu-m4", "cmsis-nn").calls if c.KIND == "dw3x3"]
    portable = _program(KWS, "qemu-m4", "portable")
    assert [c.function for c in portable.calls if c.KIND == "dw3x3"] == ["edgegen_dw3_s8_portable"] * 4
    # Helium CPUs take edgegen_dw8_s8 (tests/test_kernels_mve_dw.py)
    assert not [c for c in _program(KWS, "qemu-m55").calls if c.KIND == "dw3x3"]
    assert not [c for c in _program(KWS, "qemu-m55", arm=True).calls if c.KIND == "dw3x3"]


def test_dw_per_op_models_take_the_kernel() -> None:
    """At least 50 converter-made 3x3 depthwise cases run edgegen's kernel in tests/test_ops.py, with
    channel counts not a multiple of 4, 1- and 2-pixel sides, stride 2 and VALID among them."""
    from edgegen.lower import lower
    from edgegen.tflite_reader import parse_tflite

    calls = []
    for seed in FAMILIES["depthwise_conv_2d_3x3"].seeds:
        program = lower(parse_tflite(op_model("depthwise_conv_2d_3x3", seed).tflite, name="m"), name="m")
        calls += [c for c in program.calls if isinstance(c, dw3.DepthwiseKernelCall)]
    assert len(calls) >= 50
    assert sum(c.c % 4 != 0 for c in calls) >= 10 and sum(c.c % 4 == 0 for c in calls) >= 20
    assert any(c.ih == 1 for c in calls) and any(c.iw == 2 or c.ih == 2 for c in calls)
    assert any(c.stride == 2 for c in calls) and any(len(c.segments) == 1 for c in calls)
    assert any(c.c >= 32 for c in calls)


# -- general CONV_2D (gather + the matmul micro-kernel) ------------------------------------------


def _conv_reference(x: np.ndarray, w: np.ndarray, bias: np.ndarray | None, in_off: int, m: np.ndarray,
                    sh: np.ndarray, zp: int, lo: int, hi: int, geo: convk.Geometry) -> np.ndarray:
    """TFLM's convolution: out-of-bounds taps skipped (input + in_off on the valid ones)."""
    wf = w.reshape(-1, geo.kh, geo.kw, geo.c).astype(np.int64)
    acc = np.zeros((geo.oh, geo.ow, wf.shape[0]), dtype=np.int64)
    for y in range(geo.oh):
        for xo in range(geo.ow):
            for ky in range(geo.kh):
                for kx in range(geo.kw):
                    iy, ix = y * geo.sh - geo.pad_t + ky, xo * geo.sw - geo.pad_l + kx
                    if 0 <= iy < geo.ih and 0 <= ix < geo.iw:
                        acc[y, xo] += wf[:, ky, kx, :] @ (x[iy, ix].astype(np.int64) + in_off)
    if bias is not None:
        acc = acc + bias
    return np.clip(fx.multiply_by_quantized_multiplier(acc, m, sh) + zp, lo, hi)


@pytest.mark.parametrize("seed", range(40))
def test_conv_gather_with_zero_point_padding_equals_tflm(seed: int) -> None:
    """Filters 1..5 (non-square), strides 1..3, SAME and VALID padding on every side, extreme input
    zero points: padded taps filled with the zero point contribute exactly nothing."""
    rng = np.random.default_rng(1000 + seed)
    kh, kw = int(rng.integers(1, 6)), int(rng.integers(1, 6))
    sh_, sw_ = int(rng.integers(1, 4)), int(rng.integers(1, 4))
    c, oc = int(rng.choice([1, 2, 3, 4, 8, 13])), int(rng.integers(1, 16))
    ih, iw = int(rng.integers(1, 9)), int(rng.integers(1, 9))
    same = bool(seed % 3) or ih < kh or iw < kw
    if same:
        oh, ow = -(-ih // sh_), -(-iw // sw_)
        pad_t = max(((oh - 1) * sh_ + kh - ih) // 2, 0)
        pad_l = max(((ow - 1) * sw_ + kw - iw) // 2, 0)
    else:
        oh, ow, pad_t, pad_l = (ih - kh) // sh_ + 1, (iw - kw) // sw_ + 1, 0, 0
    geo = convk.Geometry(ih=ih, iw=iw, c=c, kh=kh, kw=kw, oh=oh, ow=ow, sh=sh_, sw=sw_, pad_t=pad_t, pad_l=pad_l)
    w = rng.integers(-127, 128, size=(oc, geo.k))
    bias = None if seed % 4 == 0 else rng.integers(-(2**14), 2**14, size=oc)
    m = rng.integers(1 << 30, 1 << 31, size=oc).astype(np.int64)
    shifts = rng.integers(-14, -6, size=oc).astype(np.int64)
    in_zp = int(rng.choice([-128, 127, 0, int(rng.integers(-128, 128))]))
    zp = int(rng.integers(-128, 128))
    prep = prepare(w, bias, -in_zp, m, shifts, zp)
    assert not isinstance(prep, str), prep
    x = rng.integers(-128, 128, size=(ih, iw, c))
    cols = convk.gather(x, geo, in_zp)
    got = _kernel(cols, prep, geo.k, oc, -128, 127).reshape(oh, ow, oc)
    want = _conv_reference(x, w, bias, -in_zp, m, shifts, zp, -128, 127, geo)
    assert np.array_equal(got, want)


def test_conv_per_op_models_take_the_kernel() -> None:
    """At least MIN_CASES_PER_OP converter-made general conv cases run edgegen's kernel in
    tests/test_ops.py, with non-square filters, strides 2 and 3, padded windows, 1 and 8+ input
    channels and odd output channel counts among them."""
    from edgegen.lower import lower
    from edgegen.tflite_reader import parse_tflite

    calls = []
    for seed in FAMILIES["conv_2d_general"].seeds:
        program = lower(parse_tflite(op_model("conv_2d_general", seed).tflite, name="m"), name="m")
        calls += [c for c in program.calls if isinstance(c, convk.ConvKernelCall)]
    assert len(calls) >= MIN_CASES_PER_OP
    assert any(c.kh != c.kw for c in calls) and any(max(c.kh, c.kw) == 5 for c in calls)
    assert any(c.sh == 3 or c.sw == 3 for c in calls) and any(c.sh == 2 for c in calls)
    assert any(c.pad_t > 0 for c in calls) and any(c.pad_l > 0 for c in calls)
    assert any(c.c == 1 for c in calls) and any(c.c >= 8 for c in calls) and any(c.oc % 2 for c in calls)
    assert any(c.kh == c.kw == 1 for c in calls)  # strided 1x1


def test_conv_kernel_config() -> None:
    assert KernelConfig().use("conv") is None
    assert KernelConfig(cpu="mve", library="arm").use("conv") is None
    assert KernelConfig(mode="cmsis-nn").use("conv") is not None
