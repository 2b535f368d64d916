"""Entropy-coded weights in flash (issue 17, item 4; edgegen/kernels/entropy.py and edgegen_sp_huff in
firmware/edgegen/edgegen_sp.h): randomized round trips of the canonical Huffman code (Python and the C
decoder, over every kind of symbol distribution: empty, single-symbol, all-zero, uniform over 256,
skewed enough to need the length limit), simulator == TFLM with the compressed layers' streams coded and
``--entropy-code auto`` coding only where the board's flash would not hold the model otherwise. Host C
(ASan), guard canaries around the scratch, qemu-m4 / qemu-m55 == simulator and the report's per-layer
figures: tests/test_sparse.py::test_exact_on_emulator (its model has coded and plain layers)."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from edgegen.boards import all_boards
from edgegen.builddir import compile_tflite
from edgegen.cli import main
from edgegen.compression_table import ENTROPY_HEADER
from edgegen.kernels import CODE_MARGIN, KernelConfig, entropy, sparse
from edgegen.lower import lower
from edgegen.tflite_reader import parse_tflite
from edgegen.verify import ParityReport, compare_sim_tflm, random_inputs

from .support import opmodels
from .support.cwarn import STRICT
from .support.sparsity import sparsified

REPO = Path(__file__).resolve().parent.parent
KINDS = ("empty", "single", "zero", "two", "uniform", "geometric", "zipf", "steep", "sparse_alphabet")


def _stream(kind: str, rng: np.random.Generator) -> np.ndarray:
    n = int(rng.integers(1, 5000))
    if kind == "empty":
        return np.zeros(0, np.uint8)
    if kind == "single":
        return np.full(n, int(rng.integers(0, 256)), np.uint8)
    if kind == "zero":
        return np.zeros(n, np.uint8)
    if kind == "two":
        return rng.choice(np.asarray(rng.integers(0, 256, 2), np.uint8), size=n, p=[0.9, 0.1])
    if kind == "uniform":
        return rng.integers(0, 256, n).astype(np.uint8)
    if kind == "geometric":
        return (rng.geometric(float(rng.uniform(0.02, 0.6)), n) % 256).astype(np.uint8)
    if kind == "zipf":
        return (rng.zipf(float(rng.uniform(1.1, 2.5)), n) % 256).astype(np.uint8)
    if kind == "steep":  # counts 2**i: a plain Huffman code would need up to 255 bits, the limit cuts it to 10
        syms = np.concatenate([np.full(1 << min(i, 14), i, np.uint8) for i in range(24)])
        return rng.permutation(syms)
    return rng.choice(np.asarray(rng.choice(256, size=int(rng.integers(3, 40)), replace=False), np.uint8), size=n)


def _cases() -> list[np.ndarray]:
    rng = np.random.default_rng(17)
    return [_stream(KINDS[i % len(KINDS)], rng) for i in range(90)]


def test_round_trip_python() -> None:
    """Every stream decodes to itself, codes stay within LMAX, the table is what the code lengths say,
    and the coded bits are within a byte (+ PAD) of the optimal code's when the limit does not bind."""
    for s in _cases():
        c = entropy.encode(s)
        assert c.l <= entropy.LMAX and c.n == s.size
        assert np.array_equal(entropy.decode(c.bits, c.counts, c.syms, c.l, c.n), s)
        assert int(c.counts.sum()) == c.syms.size == np.unique(s).size
        # Kraft: a complete code (sum 2**-len == 1) except the single symbol's 1-bit code
        kraft = sum(int(k) << (c.l - length) for length, k in enumerate(c.counts.tolist(), 1))
        assert kraft == (1 << c.l) or c.syms.size <= 1
        counts = np.bincount(s, minlength=256)
        if s.size and entropy.lengths(counts, 64).max() <= entropy.LMAX:
            assert c.bits.size == -(-sparse.huffman_bits(s) // 8) + entropy.PAD


def _c_decoder(tmp: Path) -> Path:
    """A host program decoding the streams in a file with edgegen_sp_huff (each: L, N, counts, syms, bits)."""
    src = tmp / "huff.c"
    src.write_text('''#include <stdio.h>
#include <stdlib.h>
#include "edgegen_sp.h"
static uint32_t rd(FILE *f) { uint32_t v = 0; if (fread(&v, 4, 1, f) != 1) { exit(2); } return v; }
int main(int argc, char **argv)
{
    FILE *f = fopen(argv[1], "rb");
    FILE *o = fopen(argv[2], "wb");
    (void)argc;
    for (uint32_t k = rd(f); k > 0; k--)
    {
        const int32_t L = (int32_t)rd(f), N = (int32_t)rd(f);
        const uint32_t nsym = rd(f), nbits = rd(f);
        uint16_t counts[16];
        uint8_t *syms = malloc(nsym + 1u), *bits = malloc(nbits + 1u), *out = malloc((size_t)N + 1u);
        uint16_t *table = malloc(2u << L);
        if (fread(counts, 2, (size_t)L, f) != (size_t)L || fread(syms, 1, nsym, f) != nsym ||
            fread(bits, 1, nbits, f) != nbits) { return 3; }
        edgegen_sp_huff(bits, counts, syms, L, N, table, out);
        fwrite(out, 1, (size_t)N, o);
        free(syms); free(bits); free(out); free(table);
    }
    fclose(o);
    fclose(f);
    return 0;
}
''')
    exe = tmp / "huff"
    subprocess.run(["cc", *STRICT, "-O1", "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                    f"-I{REPO / 'firmware' / 'edgegen'}", str(src), "-o", str(exe)], check=True)
    return exe


def test_round_trip_host_c(tmp_path: Path) -> None:
    """The C decoder (ASan/UBSan: the table and the refills stay in their arrays, PAD bytes suffice)
    gives every stream back byte for byte, as the simulator's mirror does."""
    cases = [s for s in _cases() if s.size]
    blob = bytearray(np.uint32(len(cases)).tobytes())
    for s in cases:
        c = entropy.encode(s)
        blob += np.asarray([c.l, c.n, c.syms.size, c.bits.size], np.uint32).tobytes()
        blob += c.counts.astype("<u2").tobytes() + c.syms.tobytes() + c.bits.tobytes()
    (tmp_path / "in.bin").write_bytes(bytes(blob))
    subprocess.run([str(_c_decoder(tmp_path)), str(tmp_path / "in.bin"), str(tmp_path / "out.bin")], check=True)
    assert (tmp_path / "out.bin").read_bytes() == b"".join(s.tobytes() for s in cases)


@pytest.mark.parametrize("pattern", ("blocks", "all_zero", "shared", "blocks_shared"))
def test_sim_matches_tflm(pattern: str) -> None:
    """Every format with its streams coded (the cycle hook and ``on``): simulator == TFLM on every tensor,
    and the lowering codes a stream only where it shrinks (``cheap``: by CHEAP)."""
    data = sparsified(opmodels.op_model("conv_2d_general", 0).tflite, pattern, 1)
    graph = parse_tflite(data, name="k")
    coded = 0
    for mode, coding in ((sparse.CYCLE, "on"), ("on", "on"), ("on", "cheap")):
        program = lower(graph, name="k", kernels=KernelConfig(compress=mode, entropy=coding))
        calls = [c for c in program.calls if isinstance(c, sparse.SparseCall)]
        streams = [s for c in calls for s in (c.ev, c.ed) if s is not None]
        assert all(s.flash < (entropy.CHEAP if coding == "cheap" else 1) * s.plain for s in streams)
        coded += len(streams)
        samples = opmodels.edge_inputs(program) + random_inputs(program, 2, seed=0)
        report = ParityReport(samples=len(samples))
        compare_sim_tflm(program, data, samples, report)
        assert report.ok, report.mismatches[:3]
    assert coded > 0


def _coded_model() -> bytes:
    return sparsified(opmodels.op_model("conv_2d_general", 0).tflite, "blocks_shared", 1)


def test_auto_only_when_flash_bound() -> None:
    """``auto`` codes nothing on a board with room; on a board whose flash the constants would overflow
    (less CODE_MARGIN) it codes the cheap streams first, then every stream that shrinks; the coded
    program is smaller and its scratch is in the arena."""
    data = _coded_model()
    board = all_boards()["qemu-m4"]

    def compiled(flash: int, mode: str = "auto") -> tuple[str, int, int]:
        _, p = compile_tflite(data, name="k", source="k.tflite", board=replace(board, flash_bytes=flash),
                              compress="on", entropy=mode)
        return p.entropy, p.weight_bytes, p.plan.arena_bytes
    roomy = compiled(board.flash_bytes)
    on = compiled(board.flash_bytes, "on")
    assert roomy[0] == "off" and on[0] == "on" and on[1] < roomy[1] and on[2] > roomy[2]
    # a small part: no flash left for the dense kernels' wider weights either way (the budget is 0)
    small = {m: compiled(CODE_MARGIN + 1, m)[1] for m in ("off", "cheap", "on")}
    assert small["on"] < small["cheap"] < small["off"]
    assert compiled(CODE_MARGIN + small["off"])[0] == "off"
    assert compiled(CODE_MARGIN + small["off"] - 1)[0] == "cheap"
    assert compiled(CODE_MARGIN + small["cheap"] - 1)[0] == "on"
    assert compiled(CODE_MARGIN + 1)[0] == "on"


def test_cli_records_the_resolved_choice(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """``edgegen build --entropy-code on`` (host board): the summary names the coded layers, build.json
    keeps the resolved choice and ``edgegen verify`` re-lowers the same program (host C == simulator)."""
    model = tmp_path / "k.tflite"
    model.write_bytes(_coded_model())
    out = tmp_path / "o"
    assert main(["build", str(model), "--board", "host", "--out", str(out), "--compress", "on",
                 "--entropy-code", "on", "--vectors", "1"]) == 0
    printed = capsys.readouterr().out
    assert "entropy-coded in flash" in printed and ENTROPY_HEADER[0] in printed
    assert json.loads((out / "build.json").read_text())["entropy"] == "on"
    assert main(["verify", str(out), "--samples", "1"]) == 0
