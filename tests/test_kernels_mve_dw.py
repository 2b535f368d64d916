"""edgegen's Helium depthwise 3x3 kernel (edgegen.kernels.mve_dw, firmware/edgegen/edgegen_dw8.h):
its layout, its requantization against TFLM's on random and extreme multipliers, shifts, offsets,
clamps and geometries, the choice per CPU and mode, and the converter-made 3x3 depthwise models built
for the Cortex-M55: simulator == TFLM on every tensor, host C (the portable path) == simulator, and
the Helium path on qemu-m55 == simulator on edge inputs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgegen.boards import resolve_board
from edgegen.build import build, compile_tflite
from edgegen.kernels import KernelConfig, mve_dw
from edgegen.kernels import depthwise as dw3
from edgegen.verify import ParityReport, compare_sim_tflm, random_inputs, verify_directory

from .support.opmodels import FAMILIES, edge_inputs, op_model
from .test_kernels import KWS, _dw_reference, _geometry, _program
from .test_kernels import _dw_kernel as _dsp_kernel

FAMILY = "depthwise_conv_2d_3x3"


def _kernel(x: np.ndarray, prep: mve_dw.DwMvePrep, geo: dw3.Geometry, zp: int, lo: int, hi: int) -> np.ndarray:
    """edgegen_dw8.h's arithmetic from the packed constants, pixel by pixel (only the region's taps
    are read: a tap outside the input would fail the assertion)."""
    ws = mve_dw.unpack_w(prep.words, geo.c)
    g = mve_dw.groups(geo.c)
    b = mve_dw._unlanes(prep.bias2.astype(np.int64).reshape(-1, g, mve_dw.LANES), geo.c)
    m, e = mve_dw.unpack_rq(prep.rq, geo.c)
    acc = np.zeros((geo.oh, geo.ow, geo.c), dtype=np.int64)
    for y0, y1, rm, x0, x1, cm, r in prep.segments:
        mask = dw3.tap_mask(rm, cm)
        for y in range(y0, y1):
            for xo in range(x0, x1):
                a = b[r].copy()
                for t in range(9):
                    if (mask >> t) & 1:
                        iy, ix = y * geo.stride - geo.pad_t + t // 3, xo * geo.stride - geo.pad_l + t % 3
                        assert 0 <= iy < geo.ih and 0 <= ix < geo.iw
                        a += x[iy, ix].astype(np.int64) * ws[t]
                acc[y, xo] = a
    assert np.all(np.abs(acc) < 2**31)
    return mve_dw.requant(acc, m, e, prep.e_pos, zp, lo, hi)


@pytest.mark.parametrize("seed", range(40))
def test_helium_requantization_equals_tflm(seed: int) -> None:
    """Heights and widths 1..7, SAME and VALID, strides 1 and 2, channel counts around multiples of 8,
    per-tensor and per-channel, multipliers up to 2^31-1, shifts 0 to -31 (e = 0 channels mixed with
    others), extreme zero points and clamps: exact wherever proven, and every such layer is proven."""
    rng = np.random.default_rng(2000 + seed)
    c = int(rng.choice([1, 7, 8, 9, 15, 16, 17, 24, int(rng.integers(1, 40))]))
    geo = _geometry(rng, c)
    w = rng.integers(-128, 128, size=(9, c)) * (rng.random((1, c)) < 0.9)
    bias = None if seed % 4 == 0 else rng.integers(-(2**24), 2**24, size=c)
    n = 1 if seed % 3 == 0 else c
    m = rng.choice([0, 1 << 30, (1 << 31) - 1, int(rng.integers(1 << 30, 1 << 31))], size=n).astype(np.int64)
    sh = rng.choice([-31, -24, -12, -1, 0, int(rng.integers(-20, 1))], size=n).astype(np.int64)
    zp, in_off = int(rng.choice([-128, 0, 127, rng.integers(-128, 128)])), int(rng.integers(-127, 129))
    lo, hi = sorted(int(v) for v in rng.integers(-128, 128, size=2))
    if seed % 2:
        lo, hi = -128, 127
    prep = mve_dw.prepare(w, bias, in_off, m, sh, geo)
    assert not isinstance(prep, str), prep
    mm, ss = (np.repeat(m, c), np.repeat(sh, c)) if n == 1 else (m, sh)
    for x in (rng.integers(-128, 128, size=(geo.ih, geo.iw, c)), np.full((geo.ih, geo.iw, c), -128),
              np.full((geo.ih, geo.iw, c), 127)):
        assert np.array_equal(_kernel(x, prep, geo, zp, lo, hi),
                              _dw_reference(x, w, bias, in_off, mm, ss, zp, lo, hi, geo))


@pytest.mark.parametrize("seed", range(12))
def test_filters_smaller_than_3x3_run_as_3x3_with_their_taps_left_out(seed: int) -> None:
    """KH x KW filters up to 3x3 (SAME, VALID, strides 1 and 2) embedded in the 3x3 one: the taps
    beyond the filter are in no region's mask, both kernels' arithmetic equals TFLM's."""
    rng = np.random.default_rng(3000 + seed)
    kh, kw, s, c = int(rng.integers(1, 4)), int(rng.integers(1, 4)), int(rng.choice([1, 2])), int(rng.integers(1, 20))
    ih, iw = int(rng.integers(kh, 8)), int(rng.integers(kw, 8))
    if seed % 2:
        oh, ow = -(-ih // s), -(-iw // s)
        pt, pl = max((oh - 1) * s + kh - ih, 0) // 2, max((ow - 1) * s + kw - iw, 0) // 2
    else:
        oh, ow, pt, pl = (ih - kh) // s + 1, (iw - kw) // s + 1, 0, 0
    geo = dw3.Geometry(ih=ih, iw=iw, c=c, oh=oh, ow=ow, stride=s, pad_t=pt, pad_l=pl, kh=kh, kw=kw)
    assert all(dw3.tap_mask(rm, cm) & ~sum(1 << (3 * y + x) for y in range(kh) for x in range(kw)) == 0
               for _y0, _y1, rm, _x0, _x1, cm, _r in geo.segments())
    w = dw3.embed(rng.integers(-127, 128, size=(kh * kw, c)), kh, kw)
    bias = rng.integers(-(2**16), 2**16, size=c)
    m, sh = rng.integers(1 << 30, 1 << 31, size=c), rng.integers(-12, 0, size=c)
    zp, in_off = int(rng.integers(-128, 128)), int(rng.integers(-127, 129))
    prep = mve_dw.prepare(w, bias, in_off, m, sh, geo)
    prep_dsp = dw3.prepare(w, bias, in_off, m, sh, zp, geo)
    assert not isinstance(prep, str) and not isinstance(prep_dsp, str)
    x = rng.integers(-128, 128, size=(ih, iw, c))
    want = _dw_reference(x, w, bias, in_off, m, sh, zp, -128, 127, geo)
    assert np.array_equal(_kernel(x, prep, geo, zp, -128, 127), want)
    assert np.array_equal(_dsp_kernel(x, prep_dsp, geo, -128, 127), want)


def test_smaller_filters_on_qemu(tmp_path: Path) -> None:
    """A 3x2 filter (13 channels, with and without RELU) takes the Helium kernel on the M55 and the
    DSP one on the M4, exact on qemu-m55; 4x4 filters and depth multiplier 2 take the grouped conv
    kernel (tests/test_kernels_dwgen.py), and with Arm's library the 4x4 multiplier-1 layer keeps Arm's
    Helium call with the reason in the kernel notes. (tests/test_ops.py checks the converter-made general depthwise
    family, whose small-filter cases take the kernels too, against TFLM.)"""
    from edgegen.emulator import run_on_emulator

    m55 = resolve_board("qemu-m55").board
    for kh, kw, mult in ((4, 4, 1), (3, 3, 2)):
        program = compile_tflite(_tiny_depthwise(kh=kh, kw=kw, mult=mult), name="t", source="t", board=m55)[1]
        assert [(c.KIND, getattr(c, "groups", 0)) for c in program.calls] == [("convk", 3)]
        assert not program.kernel_notes
    program = compile_tflite(_tiny_depthwise(kh=4, kw=4), name="t", source="t", board=m55, arm_cmsis_nn=True)[1]
    assert [c.KIND for c in program.calls] == ["depthwise"]
    notes = [note for _op, note in program.kernel_notes]
    assert len(notes) == 2 and "Arm's CMSIS-NN is faster" in notes[0] and "a 4x4 filter" in notes[1]
    model = _tiny_depthwise(c=13, kh=3, kw=2, relu=True)
    m4 = compile_tflite(model, name="t", source="t", board=resolve_board("qemu-m4").board)[1]
    assert [c.KIND for c in m4.calls] == ["dw3x3", "dw3x3"]
    result = build(model, tmp_path / "t", source="t.tflite", name="t", board="qemu-m55", vectors=1)
    assert [c.KIND for c in result.program.calls] == ["dw8", "dw8"]
    assert all(c.macs == 5 * 4 * 13 * 6 for c in result.program.calls)
    edges = edge_inputs(result.program)
    samples = edges + random_inputs(result.program, 3, seed=7)
    report = ParityReport(samples=len(samples))
    compare_sim_tflm(result.program, model, samples, report)
    assert report.ok, [mm.message() for mm in report.mismatches]
    result = build(model, tmp_path / "t", source="t.tflite", name="t", board="qemu-m55", vectors=len(edges) + 3,
                   samples=edges, force=True)
    run = run_on_emulator(result.out, board="qemu-m55", timeout=300)
    assert run.result.verdict is True, "\n".join(run.stdout.splitlines()[-10:])


def test_helium_layout_round_trips() -> None:
    rng = np.random.default_rng(3)
    for c in (1, 7, 8, 9, 64, 70):
        w = rng.integers(-128, 128, size=(9, c))
        words = mve_dw.pack_w(w)
        assert words.dtype == np.int8 and words.size == mve_dw.groups(c) * 72
        assert np.array_equal(mve_dw.unpack_w(words, c), w)
        m, e = rng.integers(0, 2**31, size=c), rng.integers(0, 32, size=c)
        rq = mve_dw.pack_rq(m, e)
        assert rq.size == mve_dw.groups(c) * 16
        back_m, back_e = mve_dw.unpack_rq(rq, c)
        assert np.array_equal(back_m, m) and np.array_equal(back_e, e)
    # slots in load order (per row: columns 0, 2, 1); lanes even channels first
    w = np.arange(9 * 8).reshape(9, 8) % 100
    words = mve_dw.pack_w(w).reshape(9, 8)
    assert list(words[:, 0]) == [w[t, 0] for t in (0, 2, 1, 3, 5, 4, 6, 8, 7)]
    assert list(mve_dw.pack_rq(np.arange(8), np.zeros(8, dtype=np.int64))[:8]) == [0, 2, 4, 6, 1, 3, 5, 7]


def test_layers_the_helium_path_cannot_prove_fall_back_to_the_dsp_kernel() -> None:
    geo = dw3.Geometry(ih=3, iw=3, c=2, oh=3, ow=3, stride=1, pad_t=1, pad_l=1)
    w = np.full((9, 2), 127)
    assert "left shift" in str(mve_dw.prepare(w, None, 0, np.array([1 << 30]), np.array([1]), geo))
    assert "accumulator" in str(mve_dw.prepare(w, np.array([2**31 - 100, 0]), 0, np.array([1 << 30]),
                                               np.array([-1]), geo))
    assert "negative" in str(mve_dw.prepare(w, None, 0, np.array([-1]), np.array([-1]), geo))
    # a layer with a left shift (scale > 0.5): the DSP kernel on the M55, Arm's call with Arm's library
    model = _tiny_depthwise(shift_up=True)
    m55 = compile_tflite(model, name="t", source="t", board=resolve_board("qemu-m55").board)[1]
    assert [c.KIND for c in m55.calls] == ["dw3x3"]
    arm = compile_tflite(model, name="t", source="t", board=resolve_board("qemu-m55").board, arm_cmsis_nn=True)[1]
    assert [c.KIND for c in arm.calls] == ["depthwise"]
    assert any("Helium" in why and "left shift" in why for _op, why in arm.kernel_notes)
    ok = compile_tflite(_tiny_depthwise(), name="t", source="t", board=resolve_board("qemu-m55").board)
    assert [c.KIND for c in ok[1].calls] == ["dw8"]


def _tiny_depthwise(shift_up: bool = False, c: int = 3, scales: tuple[float, ...] = (0.02, 0.03, 0.04),
                    out_scale: float = 0.5, relu: bool = False, kh: int = 3, kw: int = 3, mult: int = 1) -> bytes:
    """One 3x3 depthwise layer on [1, 5, 4, c] (``relu``: and a second one with RELU on the same input);
    ``shift_up``: a requantization scale above 0.5, so TFLM's multiplier comes with a left shift."""
    from ai_edge_litert import schema_py_generated as schema

    from .support.fuzz import TinyModel, pack

    m = TinyModel()
    x = m.tensor((1, 5, 4, c), scale=0.5, zero_point=1, name="x")
    co = c * mult
    data = (np.arange(kh * kw * co) * 37 % 255 - 127).astype(np.int8)
    w = m.tensor((1, kh, kw, co), scale=list(np.resize(scales, co)), zero_point=0, data=data, axis=3)
    outputs = []
    for act in (False, True) if relu else (False,):
        y = m.tensor((1, 5, 4, co), scale=0.004 if shift_up else out_scale, zero_point=-3)
        opts = schema.DepthwiseConv2DOptionsT()
        opts.padding, opts.strideW, opts.strideH, opts.depthMultiplier = schema.Padding.SAME, 1, 1, mult
        opts.dilationWFactor = opts.dilationHFactor = 1
        opts.fusedActivationFunction = schema.ActivationFunctionType.RELU if act else 0
        m.op("DEPTHWISE_CONV_2D", [x, w], [y], opts)
        outputs.append(y)
    m.inputs, m.outputs = [x], outputs
    return pack(m.model())


def test_channels_with_shift_zero_on_qemu_m55(tmp_path: Path) -> None:
    """Requantization scales in [0.5, 1) (shift 0, e = 0) mixed with e >= 1 take the ``(h & -e) >> 31``
    nudge, which the converter-made models rarely reach; without and with a narrower clamp (RELU);
    131 channels (16 groups whose off-centre loads are beyond the 7-bit offset, and a predicated
    tail): simulator == TFLM, and the Helium path on qemu-m55 == simulator."""
    from edgegen.emulator import run_on_emulator

    model = _tiny_depthwise(c=131, scales=(0.02, 0.01, 0.004), out_scale=0.015, relu=True)
    result = build(model, tmp_path / "t", source="t.tflite", name="t", board="qemu-m55", vectors=1)
    calls = result.program.calls
    assert all(isinstance(c, mve_dw.DwMveCall) and c.e_pos == 0 for c in calls)
    assert [c.act_min > -128 for c in calls] == [False, True]  # type: ignore[attr-defined]
    edges = edge_inputs(result.program)
    samples = edges + random_inputs(result.program, 3, seed=5)
    report = ParityReport(samples=len(samples))
    compare_sim_tflm(result.program, model, samples, report)
    assert report.ok, [mm.message() for mm in report.mismatches]
    result = build(model, tmp_path / "t", source="t.tflite", name="t", board="qemu-m55", vectors=len(edges) + 3,
                   samples=edges, force=True)
    run = run_on_emulator(result.out, board="qemu-m55", timeout=300)
    assert run.result.verdict is True, "\n".join(run.stdout.splitlines()[-10:])


def test_helium_kernel_choice_on_kws() -> None:
    m55 = _program(KWS, "qemu-m55")
    assert [c.function for c in m55.calls if c.KIND == "dw8"] == ["edgegen_dw8_s8"] * 4
    assert not [c for c in m55.calls if c.KIND in ("dw3x3", "depthwise")]
    portable = _program(KWS, "qemu-m55", "portable")
    assert [c.function for c in portable.calls if c.KIND == "dw8"] == ["edgegen_dw8_s8_portable"] * 4
    assert not [c for c in _program(KWS, "qemu-m55", "cmsis-nn").calls if c.KIND == "dw8"]
    assert not [c for c in _program(KWS, "qemu-m4").calls if c.KIND == "dw8"]
    # faster than Arm's Helium depthwise (FASTER), so it is chosen with Arm's library too
    arm = _program(KWS, "qemu-m55", arm=True)
    assert [c.function for c in arm.calls if c.KIND == "dw8"] == ["edgegen_dw8_s8"] * 4
    assert KernelConfig(cpu="mve", library="arm").use(dw3.KERNEL) is None


def _m55_program(seed: int):  # type: ignore[no-untyped-def]
    return compile_tflite(op_model(FAMILY, seed).tflite, name="k", source="k.tflite",
                          board=resolve_board("qemu-m55").board)[1]


def test_per_op_models_take_the_helium_kernel_and_match_tflm() -> None:
    """Two seeds (50 converter-made cases: channel tails, 1- and 2-pixel sides, stride 2, VALID):
    every 3x3 depthwise layer runs edgegen_dw8_s8 on the M55, and the simulator equals TFLM on
    every tensor."""
    calls = []
    for seed in FAMILIES[FAMILY].seeds[:2]:
        model = op_model(FAMILY, seed)
        program = _m55_program(seed)
        assert not [c for c in program.calls if c.KIND in ("dw3x3", "depthwise")]
        calls += [c for c in program.calls if isinstance(c, mve_dw.DwMveCall)]
        samples = edge_inputs(program) + random_inputs(program, 2, seed=seed)
        report = ParityReport(samples=len(samples))
        compare_sim_tflm(program, model.tflite, samples, report)
        assert report.ok, [mm.message() for mm in report.mismatches]
        assert report.tensors_compared == len(samples) * len(program.calls)
    assert len(calls) >= 50
    assert sum(c.c % 8 != 0 for c in calls) >= 10 and any(c.stride == 2 for c in calls)


def test_host_c_matches_the_simulator(tmp_path: Path) -> None:
    """The M55 build's C on the host (the portable path over the Helium layout), ASan/UBSan."""
    model = op_model(FAMILY, FAMILIES[FAMILY].seeds[0])
    result = build(model.tflite, tmp_path / "k", source="k.tflite", name="k", board="qemu-m55", force=True)
    assert sum(c.KIND == "dw8" for c in result.program.calls) == 25
    edges = edge_inputs(result.program)
    report, _program = verify_directory(result.out, edges, count=len(edges) + 2, seed=0, asan=True)
    assert report.ok and report.c_vs_sim is True and report.sim_vs_tflm is True


@pytest.mark.parametrize("seed", [0, 1])
def test_helium_path_on_qemu_m55(seed: int, tmp_path: Path) -> None:
    """The Helium path exact on the emulated Cortex-M55 on every vector (edge inputs and random)."""
    from edgegen.emulator import run_on_emulator

    model = op_model(FAMILY, FAMILIES[FAMILY].seeds[seed])
    result = build(model.tflite, tmp_path / "k", source="k.tflite", name="k", board="qemu-m55", vectors=1)
    assert sum(c.function == "edgegen_dw8_s8" for c in result.program.calls) == 25
    edges = edge_inputs(result.program)
    result = build(model.tflite, tmp_path / "k", source="k.tflite", name="k", board="qemu-m55",
                   vectors=len(edges) + 2, samples=edges, force=True)
    run = run_on_emulator(result.out, board="qemu-m55", timeout=300)
    assert run.result.verdict is True, "\n".join(run.stdout.splitlines()[-10:])
    assert run.result.vectors_passed == len(edges) + 2
