"""Compressed weights (issue 17, edgegen/kernels/sparse.py, firmware/edgegen/edgegen_sp.h): the
block-sparse, shared (4-bit codebook) and combined formats on converter-made CONV_2D / FULLY_CONNECTED
models whose int8 weights were edited into sparsity and sharing patterns (tests/support/sparsity.py):
the packing round trip, the per-layer choice of ``--compress``, simulator == TFLM on every pattern,
host C == simulator (ASan, on the qemu-m4 model) and qemu-m4 / qemu-m55 == simulator on one model per
CPU."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edgegen import fixedpoint
from edgegen.build import build
from edgegen.compression_table import ENTROPY_HEADER, table_lines
from edgegen.emulator import run_on_emulator
from edgegen.errors import EdgegenError
from edgegen.kernels import KernelConfig, check_compress, matmul, sparse
from edgegen.lower import lower
from edgegen.tflite_reader import parse_tflite
from edgegen.verify import ParityReport, compare_sim_tflm, random_inputs, verify_directory

from .support import opmodels
from .support.fuzz import pack, unpack
from .support.sparsity import CODES, PATTERNS, sparsified

FAMILIES = ("conv_2d_1x1", "conv_2d_general", "fully_connected", "fully_connected_per_channel")


def _model(family: str, pattern: str, seed: int = 1) -> bytes:
    return sparsified(opmodels.op_model(family, opmodels.FAMILIES[family].seeds[0]).tflite, pattern, seed)


def _random_rows(rng: np.random.Generator, oc: int, k: int, pattern: str) -> np.ndarray:
    w = rng.integers(-128, 128, size=(oc, k))
    k4 = -(-k // 4)
    if pattern in ("blocks", "shared_blocks"):
        keep = rng.random((oc, k4)) < 0.2
        keep[rng.random(oc) < 0.3] = False
        w = w * np.repeat(keep, 4, axis=1)[:, :k]
    if pattern in ("shared", "shared_blocks"):
        w = np.sign(w) * (np.abs(w) // 32 * 32)  # at most 9 values
    if pattern == "far":  # gaps above 255 blocks: filler blocks
        w[:] = 0
        w[:, 0] = 5
        w[:, -1] = -7
    return w.astype(np.int8)


@pytest.mark.parametrize("seed", range(24))
def test_packing_round_trip(seed: int) -> None:
    """Every format decodes (as the C reads it) to the weights, padded to whole blocks: odd K
    tails, empty channels, gaps above 255 blocks, all-zero layers."""
    rng = np.random.default_rng(seed)
    pattern = ("blocks", "shared", "shared_blocks", "far", "zero", "dense")[seed % 6]
    k = int(rng.integers(1, 40)) if pattern != "far" else int(rng.integers(1100, 1300))
    oc = int(rng.integers(1, 9))
    w = np.zeros((oc, k), dtype=np.int8) if pattern == "zero" else _random_rows(rng, oc, k, pattern)
    fmts = (*(sparse.FORMATS if sparse.codebooks(w) is not None else ("block8",)), sparse.HELIUM)
    for fmt in fmts:
        vals, deltas, nb, book = sparse.encode(w, fmt)
        if fmt == sparse.HELIUM:  # absolute indices, every channel padded to a multiple of 4 blocks
            nz = np.any(sparse.blocks(w) != 0, axis=2)
            assert np.array_equal(nb, -(-nz.sum(axis=1) // 4) * 4) and deltas.dtype == np.uint16
            assert np.array_equal(sparse.decode(vals, deltas, nb, book, fmt, k, oc)[:, :k], w.astype(np.int64))
            continue
        assert np.all(deltas.astype(np.int64) <= 255)
        got = sparse.decode(vals, deltas, nb, book, fmt, k, oc)
        # past K a 4-bit block may decode to any codebook value: the widened inputs there are 0
        assert np.array_equal(got[:, :k], w.astype(np.int64)) and (fmt != "block8" or not got[:, k:].any())
        if fmt != "shared4":
            nz = np.any(sparse.blocks(w) != 0, axis=2).sum()
            assert nb.sum() >= nz and (pattern != "far" or k < 1024 or nb.sum() > nz)  # fillers only for far gaps


def test_choice_and_huffman() -> None:
    rng = np.random.default_rng(0)
    dense = rng.integers(-128, 128, size=(16, 144)).astype(np.int8)
    assert sparse.choose(dense, "dsp", "auto", 100).fmt == "dense"
    pruned = _random_rows(rng, 16, 144, "blocks")
    assert sparse.choose(pruned, "dsp", "off", 100).fmt == "dense"
    got = sparse.choose(pruned, "dsp", "auto", 100)
    assert got.fmt == "block8" and got.bytes < got.dense_bytes and got.estimate < got.dense_estimate
    assert sparse.choose(_random_rows(rng, 16, 144, "shared_blocks"), "dsp", "on", 100).fmt in ("block8", "block4")
    # Huffman of counts 1, 1, 2: code lengths 2, 2, 1
    assert sparse.huffman_bits(np.array([3, 5, 7, 7])) == 6
    assert sparse.huffman_bits(np.zeros(10)) == 10
    with pytest.raises(EdgegenError, match="--compress maybe"):
        check_compress("maybe")


@pytest.mark.parametrize("pattern", PATTERNS)
@pytest.mark.parametrize("family", FAMILIES)
def test_sim_matches_tflm(family: str, pattern: str) -> None:
    """Each pattern in each family, every layer on a compressed format (``--compress on``, and the
    cycle hook for the formats ``on`` would not pick), for DSP and Helium CPUs."""
    data = _model(family, pattern)
    graph = parse_tflite(data, name="k")
    for cpu, mode in (("dsp", "on"), ("mve", sparse.CYCLE)):
        program = lower(graph, name="k", kernels=KernelConfig(cpu=cpu, compress=mode))
        assert any(isinstance(c, sparse.SparseCall) for c in program.calls)
        samples = opmodels.edge_inputs(program) + random_inputs(program, 2, seed=0)
        report = ParityReport(samples=len(samples))
        compare_sim_tflm(program, data, samples, report)
        assert report.ok, report.mismatches[:3]
        assert report.tensors_compared == len(samples) * len(program.calls)


def test_off_is_todays_code(tmp_path: Path) -> None:
    """``--compress off`` lowers a pruned model exactly as before (no compressed call, the same
    constants), and report.json carries the per-layer storage and totals."""
    data = _model("conv_2d_general", "blocks")
    graph = parse_tflite(data, name="k")
    off = lower(graph, name="k", kernels=KernelConfig(compress="off"))
    on = lower(graph, name="k", kernels=KernelConfig(compress="auto"))
    assert not any(isinstance(c, sparse.SparseCall) for c in off.calls)
    assert any(isinstance(c, sparse.SparseCall) for c in on.calls)
    assert all(lw.format == "dense" for lw in off.layer_weights)
    assert on.weights_bytes < off.dense_weights_bytes == on.dense_weights_bytes
    res = build(data, tmp_path / "k", source="k.tflite", name="k", force=True, compress="auto", vectors=1)
    report = json.loads((res.out / "report.json").read_text())
    assert report["weights_bytes"] == on.weights_bytes and report["dense_weights_bytes"] == on.dense_weights_bytes
    rows = [r["weights"] for r in report["layers"] if "weights" in r]
    assert len(rows) == len(on.layer_weights) and {r["format"] for r in rows} >= {"block8"}
    assert all(r["huffman_bytes"] > 0 for r in rows if r["dense_bytes"] > 0)


@pytest.mark.parametrize("board", ("qemu-m4", "qemu-m55"))
def test_exact_on_emulator(board: str, tmp_path: Path) -> None:
    """One model per CPU with every format (the DSP path on both: the M55 has the DSP extension; on the
    M55 also the Helium block8v, ``edgegen_spv_s8``), rows 4 at a time and single (CONV_2D windows of odd
    pixel counts), with ``--entropy-code on``: some layers'
    values and/or deltas Huffman-coded in flash and decoded into their scratch (edgegen/kernels/entropy.py),
    the others plain; the host C (the portable paths) under ASan/UBSan for both builds; on the qemu-m4
    build guard canaries around every scratch and report.json's per-layer entropy figures."""
    data = _model("conv_2d_general", "blocks_shared")
    edges = opmodels.edge_inputs(lower(parse_tflite(data, name="k"), name="k"))
    res = build(data, tmp_path / "k", source="k.tflite", name="k", board=board, vectors=len(edges) + 2,
                samples=edges, compress=sparse.CYCLE, entropy="on", guard=board == "qemu-m4")
    assert {lw.format for lw in res.program.layer_weights} >= {*sparse.FORMATS, *(
        (sparse.HELIUM,) if board == "qemu-m55" else ())}
    calls = [c for c in res.program.calls if isinstance(c, sparse.SparseCall)]
    both = (False, True)
    assert {(c.ev is not None, c.ed is not None) for c in calls} == {(a, b) for a in both for b in both}
    # the host C: the portable paths (on the M55 build, block8v's C fallback too)
    report, program = verify_directory(res.out, edges, count=len(edges) + 2, seed=0, asan=True)
    assert report.ok and report.sim_vs_tflm is True and report.c_vs_sim is True
    assert report.tensors_compared == report.samples * len(program.calls)
    if board == "qemu-m4":
        full = json.loads((res.out / "report.json").read_text())
        rows = [r["weights"] for r in full["layers"] if "weights" in r]
        # the before/after table's per-layer rows gain the coded columns (edgegen.compression_table)
        assert any(all(h in line for h in ENTROPY_HEADER) for line in table_lines(full))
        coded = [lw for lw in res.program.layer_weights if lw.decode_ram]
        assert [r["entropy"] for r in rows if "entropy" in r] == [
            {"flash_saved": lw.entropy_saved, "decode_instructions": lw.decode_instructions, "ram_bytes": lw.decode_ram}
            for lw in coded]
        assert coded and all(lw.entropy_saved > 0 for lw in coded)
    run = run_on_emulator(res.out, board=board, timeout=300)
    assert run.result.verdict is True, "\n".join(run.stdout.splitlines()[-10:])
    assert run.result.vectors_passed == len(edges) + 2 and not run.result.failures


def _far_zero_point(tflite: bytes, zp: int, seed: int) -> bytes:
    """``tflite`` with each CONV_2D / FULLY_CONNECTED output rescaled so that every channel's right shift
    ``e`` is at least 25, its zero point set to ``zp`` and its int32 biases drawn up to 2**29 (so the
    outputs still vary around ``zp``): the zero point folded into the rounding constant (``zp * 2**e``)
    overflows int32, as on a Fashion-MNIST CNN's FULLY_CONNECTED 1568 -> 64 (issue 17)."""
    rng = np.random.default_rng(seed)
    m: Any = unpack(tflite)
    g = m.subgraphs[0]
    for op in g.operators:
        code = m.operatorCodes[op.opcodeIndex]
        if max(code.builtinCode, code.deprecatedBuiltinCode) not in CODES:
            continue
        s_in = float(g.tensors[op.inputs[0]].quantization.scale[0])
        s_w = float(np.max(g.tensors[op.inputs[1]].quantization.scale))
        out = g.tensors[op.outputs[0]].quantization
        out.scale, out.zeroPoint = [s_in * s_w * 2.0**25.5], [zp]  # multiplier 2**-25.5 or less: e >= 25
        if len(op.inputs) > 2 and op.inputs[2] >= 0:
            b = g.tensors[op.inputs[2]]
            n = int(np.prod(b.shape))
            m.buffers[b.buffer].data = np.frombuffer(rng.integers(-(2**29), 2**29, n).astype(np.int32).tobytes(),
                                                     np.uint8)
    return bytes(pack(m))


def test_zero_point_after_the_shift_arithmetic() -> None:
    """The unfolded records (``c`` the rounding constant, the zero point added after the shift) equal
    TFLM's MultiplyByQuantizedMultiplier + zero point + clamp on random accumulators within the proven
    bound, for shifts up to 31 and every zero point; the folded records are refused there."""
    rng = np.random.default_rng(0)
    for _ in range(200):
        oc = int(rng.integers(1, 6))
        m = rng.integers(1 << 30, 1 << 31, oc)
        e = rng.integers(0, 32, oc)
        zp = int(rng.integers(-128, 128))
        bound = rng.integers(1, 1 << 31, oc)
        got = sparse.records(m, e, zp, bound)
        if isinstance(got, str):
            continue
        rq, e_pos, zo = got
        assert zo in (0, zp)
        acc = np.stack([rng.integers(-(b // 2), b // 2 + 1, 64) for b in bound], axis=1)  # |2 * acc| <= bound
        out = matmul.requant2(2 * acc, rq, e_pos, -128, 127, zo)
        want = np.clip(fixedpoint.multiply_by_quantized_multiplier(acc, m, -e) + zp, -128, 127)
        assert np.array_equal(out.astype(np.int64), want)
    m1, e1, b1 = np.array([1 << 30]), np.array([25]), np.array([1 << 20])
    assert isinstance(matmul.requant_records(m1, e1, -128, b1), str)
    assert sparse.records(m1, e1, -128, b1)[2] == -128  # type: ignore[index]


@pytest.mark.parametrize("family", ("fully_connected", "fully_connected_per_channel", "conv_2d_general"))
def test_far_output_zero_point(family: str, tmp_path: Path) -> None:
    """Layers whose zero point cannot be folded (e >= 25, zero point -128 or 100) run the compressed
    kernel with the zero point added after the shift: simulator == TFLM on every tensor (each format
    via ``on`` and the cycle hook, DSP and Helium lowering); for the FULLY_CONNECTED model also host C
    (ASan), qemu-m4 and qemu-m55 (with Helium block8v layers) == simulator."""
    for zp in (-128, 100):
        data = _far_zero_point(_model(family, "blocks_shared"), zp, seed=2)
        graph = parse_tflite(data, name="k")
        for cpu, mode in (("dsp", "on"), ("dsp", sparse.CYCLE), ("mve", sparse.CYCLE)):
            program = lower(graph, name="k", kernels=KernelConfig(cpu=cpu, compress=mode))
            calls = [c for c in program.calls if isinstance(c, sparse.SparseCall)]
            assert calls and all(c.zo == zp for c in calls)
            samples = opmodels.edge_inputs(program) + random_inputs(program, 3, seed=0)
            report = ParityReport(samples=len(samples))
            compare_sim_tflm(program, data, samples, report)
            assert report.ok, report.mismatches[:3]
            assert report.tensors_compared == len(samples) * len(program.calls)
    if family != "fully_connected_per_channel":
        return
    edges = opmodels.edge_inputs(lower(parse_tflite(data, name="k"), name="k"))
    res = build(data, tmp_path / "k", source="k.tflite", name="k", board="qemu-m4", vectors=len(edges) + 2,
                samples=edges, compress=sparse.CYCLE)
    assert any(isinstance(c, sparse.SparseCall) and c.zo == 100 for c in res.program.calls)
    report, program = verify_directory(res.out, edges, count=len(edges) + 2, seed=0, asan=True)
    assert report.ok and report.sim_vs_tflm is True and report.c_vs_sim is True
    run = run_on_emulator(res.out, board="qemu-m4", timeout=300)
    assert run.result.verdict is True, "\n".join(run.stdout.splitlines()[-10:])
    assert run.result.vectors_passed == len(edges) + 2 and not run.result.failures
    # the Helium block8v layers' vector requantization adding the zero point (lanes and the OC % 4 tail)
    res = build(data, tmp_path / "v", source="k.tflite", name="k", board="qemu-m55", vectors=len(edges) + 2,
                samples=edges, compress=sparse.CYCLE)
    assert any(isinstance(c, sparse.SparseCall) and c.fmt == sparse.HELIUM and c.zo == 100 and c.oc % 4
               for c in res.program.calls)
    run = run_on_emulator(res.out, board="qemu-m55", timeout=300)
    assert run.result.verdict is True, "\n".join(run.stdout.splitlines()[-10:])


def _wide_fully_connected(seed: int) -> bytes:
    """Two converter-made single-row FULLY_CONNECTED layers over long rows (K 301 and 78), their weights
    edited into 4-bit sharing: the first block-sparse with per channel 0, 1, 2, ... stored blocks (odd and
    even counts, so the single-row 4-bit loop's one-block head, its two-block body reading the indices
    of two blocks with one possibly unaligned LDR, and empty channels all run), the second dense (shared4)."""
    tf = opmodels._tf()
    rng = np.random.default_rng(seed)
    shapes = ((301, 24), (78, 9))
    mats = [rng.normal(0, 0.2, size=s).astype(np.float32) for s in shapes]

    def branch(w: np.ndarray) -> opmodels.Branch:
        return opmodels.Branch((opmodels.InputSpec((1, w.shape[0]), -1.0, 1.0),),
                               lambda x: [tf.nn.relu(tf.matmul(x, w))], f"FULLY_CONNECTED {w.shape}")
    fam = opmodels.FAMILIES["fully_connected_per_channel"]
    data = opmodels._convert([branch(w) for w in mats], fam, rng)
    m: Any = unpack(data)
    for op in m.subgraphs[0].operators:
        t = m.subgraphs[0].tensors[op.inputs[1]]
        w = np.frombuffer(bytes(m.buffers[t.buffer].data), np.int8).reshape(int(t.shape[0]), -1).astype(np.int64)
        oc, k = w.shape
        k4 = -(-k // 4)
        for j in range(oc):
            book = np.unique(np.concatenate([[0], rng.integers(-127, 128, size=15)]))
            w[j] = book[np.abs(w[j][:, None] - book[None, :]).argmin(axis=1)]
            if k > 100:  # channel j keeps j blocks (channel 0 none), at random places
                keep = np.zeros(k4, dtype=bool)
                keep[rng.choice(k4, size=j, replace=False)] = True
                w[j] *= np.repeat(keep, 4)[:k]
        m.buffers[t.buffer].data = np.frombuffer(w.astype(np.int8).tobytes(), np.uint8)
    return bytes(pack(m))


@pytest.mark.parametrize("board", ("qemu-m4", "qemu-m55"))
def test_single_row_4bit_on_emulator(board: str, tmp_path: Path) -> None:
    """The single-row 4-bit paths (block4 with the LDR-per-two-blocks loop, shared4) that ``auto``
    now takes for a long FULLY_CONNECTED: simulator == TFLM, host C (ASan, qemu-m4 build) and qemu ==
    simulator."""
    data = _wide_fully_connected(3)
    graph = parse_tflite(data, name="k")
    program = lower(graph, name="k", kernels=KernelConfig(compress="on"))
    assert sorted(c.fmt for c in program.calls if isinstance(c, sparse.SparseCall)) == ["block4", "shared4"]
    assert all(c.npix == 1 for c in program.calls if isinstance(c, sparse.SparseCall))
    edges = opmodels.edge_inputs(program)
    res = build(data, tmp_path / "k", source="k.tflite", name="k", board=board, vectors=len(edges) + 3,
                samples=edges, compress="on")
    if board == "qemu-m4":
        report, program = verify_directory(res.out, edges, count=len(edges) + 3, seed=0, asan=True)
        assert report.ok and report.sim_vs_tflm is True and report.c_vs_sim is True
        assert report.tensors_compared == report.samples * len(program.calls)
    run = run_on_emulator(res.out, board=board, timeout=300)
    assert run.result.verdict is True, "\n".join(run.stdout.splitlines()[-10:])
    assert run.result.vectors_passed == len(edges) + 3 and not run.result.failures
