"""edgegen's specialized 1x1 CONV_2D / FULLY_CONNECTED kernel (edgegen.kernels.matmul): the build-
time preparation against TFLM's requantization on random and extreme multipliers and shifts, the
W16x2 layout, the per-layer choice of --kernels, the flash fallback, and the per-op models' cases
that take the kernel (their parity is tests/test_ops.py's)."""

from __future__ import annotations

import numpy as np
import pytest

from edgegen import fixedpoint as fx
from edgegen.boards import resolve_board
from edgegen.build import compile_tflite
from edgegen.kernels import KernelConfig
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
    assert [c.function for c in portable.calls if c.KIND == "matmul"] == ["edgegen_mm_s8_portable"] * 5
    # the default M55 build: edgegen's DSP path beats edgegen's own portable CMSIS-NN API there
    m55 = _program(KWS, "qemu-m55")
    assert [c.function for c in m55.calls if c.KIND == "matmul"] == ["edgegen_mm_s8"] * 5
    # with Arm's library (--cmsis-nn), its Helium kernels are faster on the M55
    m55_arm = _program(KWS, "qemu-m55", arm=True)
    assert not [c for c in m55_arm.calls if c.KIND == "matmul"]
    assert len(m55_arm.kernel_notes) == 5 and all("faster" in why for _op, why in m55_arm.kernel_notes)
    m4_arm = _program(KWS, "qemu-m4", arm=True)
    assert [c.function for c in m4_arm.calls if c.KIND == "matmul"] == ["edgegen_mm_s8"] * 5


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
    assert KernelConfig(cpu="mve", library="arm").use("matmul") is not None
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
