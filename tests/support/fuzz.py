"""A deterministic mutation fuzzer for .tflite files, and a tiny-model builder.

Used by tests/test_fuzz_reader.py (a fixed 10k+ case run in CI), bench/fuzz_reader.py (long
runs) and tests/test_reader.py (hostile models made on purpose).

The fuzz target is what `edgegen build` runs on a model before it writes anything: read the
file, lower it to a Program and plan its memory (:func:`edgegen.build.compile_tflite`). Every
case must either compile or raise an :class:`~edgegen.errors.EdgegenError`; anything else, a
case slower than the time limit, or the reader's safety-net message, is a bug.

Mutations are cheap byte edits, but most of them aim at positions found by walking the seed's
flatbuffer (vtable entries, offsets, vector lengths, and the fields edgegen reads: shapes,
scales, zero points, indices), so that many mutants still decode and reach the semantic checks
rather than stopping at the flatbuffer guard. Case ``i`` of run ``seed`` depends on nothing else,
so any case can be replayed alone (:meth:`Fuzzer.case`).
"""

from __future__ import annotations

import math
import random
import re
import struct
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import flatbuffers
import numpy as np
from ai_edge_litert import schema_py_generated as fb
from flatbuffers.table import Table

from edgegen.build import compile_tflite
from edgegen.errors import EdgegenError

# ------------------------------------------------------------------------------------------
# seeds: the shared models, and where their fields are
# ------------------------------------------------------------------------------------------

#: shared models and how often each is picked; the small ones dominate so that 10k cases run
#: in about a minute, the large ones still get a few hundred cases each
SHARED_SEEDS: dict[str, tuple[str, int]] = {
    "hello_world": ("models/tflite_micro/hello_world_int8.tflite", 30),
    "hello_world_float": ("models/tflite_micro/hello_world_float.tflite", 4),
    "micro_speech": ("models/tflite_micro/micro_speech_quantized.tflite", 24),
    "kws": ("models/mlperf_tiny/kws/kws_ref_model.tflite", 6),
    "resnet8": ("models/mlperf_tiny/ic/resnet8_int8.tflite", 4),
    "ad01": ("models/mlperf_tiny/ad/ad01_int8.tflite", 4),
}
#: weight of the synthetic seed that holds every op the shared models lack
TINY_WEIGHT = 28


@dataclass(frozen=True)
class Site:
    """A position in a seed worth mutating: what is stored there and what it means."""

    pos: int
    #: u8 i8 u16 i32 u32 i64 u64 f32, or uoffset / soffset / len (flatbuffer structure)
    kind: str
    label: str


@dataclass(frozen=True)
class Seed:
    name: str
    data: bytes
    weight: int
    sites: tuple[Site, ...]


def _u32(buf: bytes, pos: int) -> int:
    return int(struct.unpack_from("<I", buf, pos)[0])


def _i32(buf: bytes, pos: int) -> int:
    return int(struct.unpack_from("<i", buf, pos)[0])


class _SiteFinder:
    """Walks a valid seed with the generated accessors and records field positions."""

    #: at most this many elements of one vector are recorded (shapes, scales, indices)
    MAX_ELEMENTS = 16

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.sites: list[Site] = []

    def add(self, pos: int, kind: str, label: str) -> None:
        self.sites.append(Site(pos, kind, label))

    def table(self, tab: Table, label: str) -> None:
        pos = tab.Pos
        self.add(pos, "soffset", f"{label}: vtable offset")
        vt = pos - _i32(self.data, pos)
        vlen = struct.unpack_from("<H", self.data, vt)[0]
        self.add(vt, "u16", f"{label}: vtable size")
        self.add(vt + 2, "u16", f"{label}: table size")
        for k in range(4, vlen, 2):
            self.add(vt + k, "u16", f"{label}: vtable slot {(k - 4) // 2}")

    def scalar(self, tab: Table, slot: int, kind: str, label: str) -> None:
        o = tab.Offset(slot)
        if o:
            self.add(tab.Pos + o, kind, label)

    def offset(self, tab: Table, slot: int, label: str) -> int | None:
        """Records the uoffset field; returns the position it points to."""
        o = tab.Offset(slot)
        if not o:
            return None
        p = int(tab.Pos + o)
        self.add(p, "uoffset", f"{label}: offset")
        return p + _u32(self.data, p)

    def vector(self, tab: Table, slot: int, label: str, kind: str | None, size: int) -> None:
        vec = self.offset(tab, slot, label)
        if vec is None:
            return
        n = _u32(self.data, vec)
        self.add(vec, "len", f"{label}: length")
        if kind is not None:
            for j in range(min(n, self.MAX_ELEMENTS)):
                self.add(vec + 4 + j * size, kind, f"{label}[{j}]")

    def model(self) -> list[Site]:
        m = fb.Model.GetRootAs(self.data, 0)
        self.add(0, "uoffset", "root offset")
        self.table(m._tab, "model")
        self.scalar(m._tab, 4, "u32", "model version")
        for slot, name in ((6, "operator codes"), (8, "subgraphs"), (12, "buffers")):
            self.vector(m._tab, slot, name, "uoffset", 4)
        for i in range(m.OperatorCodesLength()):
            oc = m.OperatorCodes(i)
            self.table(oc._tab, f"opcode {i}")
            self.scalar(oc._tab, 4, "i8", f"opcode {i} deprecated builtin")
            self.scalar(oc._tab, 10, "i32", f"opcode {i} builtin")
        sg = m.Subgraphs(0)
        self.table(sg._tab, "subgraph")
        self.vector(sg._tab, 4, "tensors", "uoffset", 4)
        self.vector(sg._tab, 6, "model inputs", "i32", 4)
        self.vector(sg._tab, 8, "model outputs", "i32", 4)
        self.vector(sg._tab, 10, "operators", "uoffset", 4)
        for i in range(sg.TensorsLength()):
            self.tensor(sg.Tensors(i), i)
        for i in range(sg.OperatorsLength()):
            self.operator(sg.Operators(i), i)
        for i in range(m.BuffersLength()):
            b = m.Buffers(i)
            self.table(b._tab, f"buffer {i}")
            self.vector(b._tab, 4, f"buffer {i} data", None, 1)
            self.scalar(b._tab, 6, "u64", f"buffer {i} offset")
            self.scalar(b._tab, 8, "u64", f"buffer {i} size")
        return self.sites

    def tensor(self, t: Any, i: int) -> None:
        label = f"tensor {i}"
        self.table(t._tab, label)
        self.vector(t._tab, 4, f"{label} shape", "i32", 4)
        self.scalar(t._tab, 6, "i8", f"{label} type")
        self.scalar(t._tab, 8, "u32", f"{label} buffer")
        self.offset(t._tab, 10, f"{label} name")
        self.vector(t._tab, 18, f"{label} shape signature", "i32", 4)
        q = t.Quantization()
        if q is not None:
            self.offset(t._tab, 12, f"{label} quantization")
            self.table(q._tab, f"{label} quantization")
            self.vector(q._tab, 8, f"{label} scale", "f32", 4)
            self.vector(q._tab, 10, f"{label} zero point", "i64", 8)
            self.scalar(q._tab, 12, "u8", f"{label} quantization details type")
            self.scalar(q._tab, 16, "i32", f"{label} quantized dimension")

    def operator(self, op: Any, i: int) -> None:
        label = f"op {i}"
        self.table(op._tab, label)
        self.scalar(op._tab, 4, "u32", f"{label} opcode index")
        self.vector(op._tab, 6, f"{label} inputs", "i32", 4)
        self.vector(op._tab, 8, f"{label} outputs", "i32", 4)
        self.scalar(op._tab, 10, "u8", f"{label} options type")
        opts = op.BuiltinOptions()
        if opts is not None:
            self.offset(op._tab, 12, f"{label} options")
            self.table(opts, f"{label} options")
            vt = opts.Pos - _i32(self.data, opts.Pos)
            vlen = struct.unpack_from("<H", self.data, vt)[0]
            for k in range(4, vlen, 2):
                o = opts.Offset(k)
                if o:
                    # options fields are int8 enums, bools, int32s and floats
                    kind = "i32" if (opts.Pos + o) % 4 == 0 else "u8"
                    self.add(opts.Pos + o, kind, f"{label} options field {(k - 4) // 2}")


def find_sites(data: bytes) -> tuple[Site, ...]:
    return tuple(_SiteFinder(data).model())


def make_seed(name: str, data: bytes, weight: int) -> Seed:
    return Seed(name=name, data=data, weight=weight, sites=find_sites(data))


# ------------------------------------------------------------------------------------------
# mutations
# ------------------------------------------------------------------------------------------

_I32_EDGES = (0, 1, -1, 2, 3, 4, 8, 16, 255, 256, 65535, 65536, 0x7FFFFFFF, -0x80000000, 0x40000000, -2, 127, 128)
_I64_EDGES = (0, 1, -1, 127, 128, -128, -129, 200, 255, 256, 1 << 31, (1 << 63) - 1, -(1 << 63))
_F32_EDGES = (0.0, -0.0, -1.0, 1.0, math.nan, math.inf, -math.inf, 1e-45, 1e-38, 1e-20, 1e20, 3.4e38,
              1 / 256, 1 / 128, 0.5)
_BYTE_EDGES = (0, 1, 2, 3, 0x7F, 0x80, 0xFF, 0xFE)


def _pack(kind: str, value: int | float) -> bytes:
    if kind in ("u8", "i8"):
        return bytes([int(value) & 0xFF])
    if kind == "u16":
        return struct.pack("<H", int(value) & 0xFFFF)
    if kind == "i64":
        return struct.pack("<Q", int(value) & 0xFFFFFFFFFFFFFFFF)
    if kind == "u64":
        return struct.pack("<Q", int(value) & 0xFFFFFFFFFFFFFFFF)
    if kind == "f32":
        v = float(value)
        if math.isfinite(v) and abs(v) > 3.4028234663852886e38:
            v = math.copysign(math.inf, v)  # struct refuses to round to infinity itself
        return struct.pack("<f", v)
    return struct.pack("<I", int(value) & 0xFFFFFFFF)  # i32 u32 uoffset soffset len


_WIDTH = {"u8": 1, "i8": 1, "u16": 2, "i64": 8, "u64": 8}


def _read(buf: bytearray, kind: str, pos: int) -> int | float:
    fmt = {"u8": "<B", "i8": "<b", "u16": "<H", "i64": "<q", "u64": "<Q", "f32": "<f", "i32": "<i",
           "soffset": "<i"}.get(kind, "<I")
    return struct.unpack_from(fmt, buf, pos)[0]  # type: ignore[no-any-return]


def _site_value(rng: random.Random, kind: str, cur: int | float, pos: int, size: int) -> int | float:
    """A value for a field of ``kind`` that now holds ``cur``: edges, neighbours, or random."""
    r = rng.random()
    if kind == "f32":
        if r < 0.7:
            return rng.choice(_F32_EDGES)
        return float(cur) * rng.choice((-1.0, 2.0, 0.5, 1e10, 1e-10))
    if kind == "i64":
        if r < 0.7:
            return rng.choice(_I64_EDGES)
        return int(cur) + rng.choice((-1, 1, 128, -128))
    if kind in ("u8", "i8"):
        return rng.choice(_BYTE_EDGES) if r < 0.6 else int(cur) + rng.choice((-1, 1)) if r < 0.8 else rng.randrange(256)
    if kind == "u16":
        if r < 0.5:
            return int(cur) + rng.choice((-4, -2, -1, 1, 2, 4))
        return rng.choice((0, 1, 2, 4, 0xFFFF, 0x7FFF, rng.randrange(65536)))
    if kind in ("uoffset", "soffset"):
        if r < 0.45:
            return int(cur) + rng.choice((-8, -4, -2, -1, 1, 2, 4, 8, 12, 16))
        if r < 0.7:
            # just inside, at, and past the end of the file
            return size - pos + rng.choice((-8, -4, -1, 0, 1, 4))
        return rng.choice((0, 1, 4, 0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, pos, -pos, rng.randrange(size)))
    if kind == "len":
        if r < 0.5:
            return int(cur) + rng.choice((-2, -1, 1, 2))
        return rng.choice((0, 1, 2 * int(cur) + 1, 0xFFFFFFFF, 0x7FFFFFFF, 0x40000000, size, size // 4))
    if kind == "u64":
        return rng.choice((0, 1, 2, 16, size - 1, size, size + 1, 1 << 63, (1 << 64) - 1, rng.randrange(size)))
    # i32 / u32: shape dims, indices, dimensions, versions
    if r < 0.35:
        return int(cur) + rng.choice((-1, 1, -2, 2))
    if r < 0.45:
        return -int(cur)
    return rng.choice(_I32_EDGES)


def _put(buf: bytearray, pos: int, raw: bytes) -> None:
    end = min(len(buf), pos + len(raw))
    if 0 <= pos < len(buf):
        buf[pos:end] = raw[: end - pos]


class Mutator:
    """One named mutation; ``apply`` edits ``buf`` in place and describes what it did."""

    def __init__(self, seeds: Sequence[Seed]) -> None:
        self.seeds = seeds

    def site(self, rng: random.Random, buf: bytearray, seed: Seed) -> str:
        s = rng.choice(seed.sites)
        if s.pos + _WIDTH.get(s.kind, 4) > len(buf):
            return f"site {s.label} past the end (skipped)"
        kind = s.kind
        if "options field" in s.label and kind == "i32" and rng.random() < 0.3:
            kind = "f32"  # some options are floats (SOFTMAX beta, LEAKY_RELU alpha)
        cur = _read(buf, kind, s.pos)
        value = _site_value(rng, kind, cur, s.pos, len(buf))
        _put(buf, s.pos, _pack(kind, value))
        return f"{s.label} @{s.pos} {cur!r} -> {value!r}"

    def bit_flip(self, rng: random.Random, buf: bytearray, seed: Seed) -> str:
        flips = []
        for _ in range(rng.choice((1, 1, 2, 4))):
            pos, bit = rng.randrange(len(buf)), rng.randrange(8)
            buf[pos] ^= 1 << bit
            flips.append(f"{pos}.{bit}")
        return "bit flip " + ",".join(flips)

    def byte_set(self, rng: random.Random, buf: bytearray, seed: Seed) -> str:
        pos = rng.randrange(len(buf))
        v = rng.choice(_BYTE_EDGES) if rng.random() < 0.7 else rng.randrange(256)
        buf[pos] = v
        return f"byte @{pos} = {v:#x}"

    def int32_set(self, rng: random.Random, buf: bytearray, seed: Seed) -> str:
        pos = rng.randrange(0, max(len(buf) - 4, 1)) & ~3  # flatbuffers align 32-bit fields
        v = rng.choice((*_I32_EDGES, len(buf), len(buf) - pos, len(buf) - pos - 4, len(buf) + 4))
        _put(buf, pos, _pack("i32", v))
        return f"int32 @{pos} = {v}"

    def truncate(self, rng: random.Random, buf: bytearray, seed: Seed) -> str:
        n = rng.randrange(0, len(buf)) if rng.random() < 0.8 else rng.randrange(0, 64)
        del buf[n:]
        return f"truncate to {n}"

    def chunk(self, rng: random.Random, buf: bytearray, seed: Seed) -> str:
        a = rng.randrange(len(buf))
        n = min(rng.choice((1, 4, 8, 16, 64, 256)), len(buf) - a)
        what = rng.choice(("delete", "duplicate", "insert", "move"))
        piece = bytes(buf[a : a + n])
        if what == "delete":
            del buf[a : a + n]
        elif what == "duplicate":
            buf[a:a] = piece
        elif what == "insert":
            buf[a:a] = bytes(rng.randrange(256) for _ in range(n))
        else:
            del buf[a : a + n]
            b = rng.randrange(len(buf) + 1)
            buf[b:b] = piece
        return f"chunk {what} @{a}+{n}"

    def splice(self, rng: random.Random, buf: bytearray, seed: Seed) -> str:
        other = rng.choice(self.seeds)
        a = rng.randrange(len(buf))
        n = rng.choice((4, 16, 64, 512, len(buf)))
        b = rng.randrange(len(other.data))
        piece = other.data[b : b + n]
        buf[a : a + len(piece)] = piece
        return f"splice {other.name}[{b}:{b + len(piece)}] @{a}"

    def table(self) -> list[tuple[Callable[[random.Random, bytearray, Seed], str], float]]:
        return [
            (self.site, 0.55),
            (self.bit_flip, 0.10),
            (self.byte_set, 0.08),
            (self.int32_set, 0.10),
            (self.truncate, 0.05),
            (self.chunk, 0.08),
            (self.splice, 0.04),
        ]


@dataclass(frozen=True)
class Case:
    run_seed: int
    index: int
    seed: str
    mutations: tuple[str, ...]
    data: bytes = field(repr=False)

    def describe(self) -> str:
        return (f"case {self.index} of seed {self.run_seed} (model {self.seed}): " + "; ".join(self.mutations)
                + f"  [replay: Fuzzer(...).case({self.index}) with run seed {self.run_seed}]")


class Fuzzer:
    def __init__(self, seeds: Sequence[Seed], run_seed: int) -> None:
        self.seeds = list(seeds)
        self.run_seed = run_seed
        self.mutator = Mutator(self.seeds)
        ops = self.mutator.table()
        self.ops = [f for f, _ in ops]
        self.op_weights = [w for _, w in ops]
        self.seed_weights = [s.weight for s in self.seeds]

    def case(self, index: int) -> Case:
        """Case ``index``: a function of the run seed and the index only."""
        rng = random.Random(f"edgegen-fuzz/{self.run_seed}/{index}")
        seed = rng.choices(self.seeds, weights=self.seed_weights)[0]
        buf = bytearray(seed.data)
        n = rng.choices((1, 2, 3, 4), weights=(60, 25, 10, 5))[0]
        done = []
        for _ in range(n):
            if not buf:
                break
            op = rng.choices(self.ops, weights=self.op_weights)[0]
            done.append(op(rng, buf, seed))
        return Case(run_seed=self.run_seed, index=index, seed=seed.name, mutations=tuple(done), data=bytes(buf))


# ------------------------------------------------------------------------------------------
# running cases
# ------------------------------------------------------------------------------------------

#: the reader's safety net; reaching it means some check is missing
UNCHECKED = "inconsistent model structure"

#: message phrase -> category, first match wins (for the outcome counts)
_CATEGORIES: tuple[tuple[str, str], ...] = (
    (UNCHECKED, "UNCHECKED"),
    # the file as a whole
    ("not a valid TFLite flatbuffer", "not a valid flatbuffer"),
    ("not a TFLite model", "not a TFLite file"),
    ("file is empty", "not a TFLite file"),
    ("schema version", "schema version"),
    ("subgraph", "subgraph count"),
    ("has no operators", "operator count"),
    ("operators; edgegen compiles models of up to", "operator count"),
    ("has no tensors", "tensor count"),
    ("tensors; edgegen compiles models of up to", "tensor count"),
    ("; edgegen handles ops of up to", "op tensor count"),
    ("metadata", "metadata"),
    # TFLM parity (issue 12)
    ("variable (stateful)", "variable tensor"),
    ("carries custom options", "custom options"),
    ("table; TFLM would run it with", "options table missing"),
    ("depth multiplier", "depth multiplier"),
    ("has rank 0", "rank 0"),
    ("could accumulate up to", "accumulator bound"),
    ("quantized bias type", "options value"),
    ("buffer 0 must be the empty sentinel", "buffer 0"),
    # work budgets
    ("multiply-accumulates", "work budget"),
    ("output positions", "work budget"),
    ("padded for it would hold", "padded input"),
    # tensors
    ("element type", "tensor type"),
    ("sparse", "sparse or external tensor"),
    ("external buffer", "sparse or external tensor"),
    ("dynamic shape", "shape"),
    ("negative dimension", "shape"),
    ("empty dimension", "shape"),
    ("dimensions", "shape"),
    ("far too large", "size limit"),
    ("quantization scale", "scale"),
    ("zero point", "zero point"),
    ("scales but", "zero point"),
    ("per-channel scales along axis", "per-axis quantization"),
    ("quantized along axis", "per-axis quantization"),
    ("custom or blockwise", "quantization details"),
    # buffers
    ("refers to buffer", "buffer index"),
    ("beyond the end", "buffer offset"),
    ("outside the flatbuffer", "buffer offset"),
    ("both inline data and an offset", "buffer offset"),
    ("but its buffer", "buffer size"),
    # structure
    ("refers to tensor", "tensor index"),
    ("names tensor", "tensor index"),
    ("opcode index", "opcode index"),
    ("listed twice", "model inputs/outputs"),
    ("both a model input and a model output", "model inputs/outputs"),
    ("declares no", "model inputs/outputs"),
    ("model input", "model inputs/outputs"),
    ("model output", "model inputs/outputs"),
    ("before any op produces it", "use before produce / cycle"),
    ("already defined", "produced twice"),
    ("has no output tensor", "op outputs"),
    ("missing (-1) output", "op outputs"),
    ("leaves its required input", "op inputs"),
    ("inputs, expected", "op inputs"),
    ("outputs, expected", "op outputs"),
    ("custom op", "unsupported op"),
    ("is not supported; supported ops", "unsupported op"),
    ("options, expected", "options type"),
    ("neither SAME nor VALID", "options value"),
    ("fused activation", "options value"),
    ("must be positive", "options value"),
    ("must be a finite number", "options value"),
    ("cannot be implemented", "quantization not implementable"),
    ("TFLM cannot implement", "quantization not implementable"),
)

#: Python's own error texts: lowering turns ValueError/OverflowError/ZeroDivisionError into an
#: UnsupportedError, so one of these in a message means a reader check is missing
_PYTHON_ERRORS = ("values to unpack", "index out of range", "division by zero", "has no attribute",
                  "not subscriptable", "unsupported operand", "NoneType", "invalid literal")

_OP = re.compile(r"op \d+ \(([A-Z0-9_]+)\)")


def category(exc: BaseException | None) -> str:
    """``ok``, ``ModelFormatError[scale]``, ``UnsupportedError[CONV_2D check]``, ... or
    ``BUG <type>`` for anything that is not an EdgegenError."""
    if exc is None:
        return "ok"
    if not isinstance(exc, EdgegenError):
        return f"BUG {type(exc).__name__}"
    msg = str(exc)
    kind = type(exc).__name__
    if any(p in msg for p in _PYTHON_ERRORS):
        return f"{kind}[UNCHECKED python error]"
    for phrase, cat in _CATEGORIES:
        if phrase in msg:
            return f"{kind}[{cat}]"
    op = _OP.search(msg)
    if op:
        return f"{kind}[{op.group(1)} check]"  # an op builder's shape/type/quantization check
    return f"{kind}[other]"


def target(data: bytes) -> None:
    """What `edgegen build` does with the model before writing files (read, lower, plan)."""
    compile_tflite(data, name="fuzz", source="fuzz.tflite")


@dataclass
class Summary:
    cases: int = 0
    seconds: float = 0.0
    counts: Counter[str] = field(default_factory=Counter)
    #: (case description, what went wrong) for every bug
    failures: list[tuple[str, str]] = field(default_factory=list)
    slowest: tuple[float, str] = (0.0, "")

    def is_bug(self, cat: str) -> bool:
        return cat.startswith("BUG") or "UNCHECKED" in cat

    def table(self) -> str:
        width = max((len(k) for k in self.counts), default=10)
        lines = [f"{self.cases} cases in {self.seconds:.1f} s ({self.cases / max(self.seconds, 1e-9):.0f} cases/s); "
                 f"slowest case {self.slowest[0] * 1000:.0f} ms ({self.slowest[1]})"]
        lines += [f"  {k:<{width}}  {v:>7}" for k, v in sorted(self.counts.items(), key=lambda kv: (-kv[1], kv[0]))]
        return "\n".join(lines)


def run(fuzzer: Fuzzer, indices: range, time_limit: float = 2.0, max_failures: int = 20,
        fn: Callable[[bytes], None] = target) -> Summary:
    s = Summary()
    t0 = time.perf_counter()
    for i in indices:
        case = fuzzer.case(i)
        start = time.perf_counter()
        exc: BaseException | None = None
        try:
            fn(case.data)
        except Exception as e:  # a RecursionError or MemoryError is a bug just the same
            exc = e
        took = time.perf_counter() - start
        cat = category(exc)
        s.counts[cat] += 1
        s.cases += 1
        if took > s.slowest[0]:
            s.slowest = (took, case.describe())
        if len(s.failures) < max_failures:
            if s.is_bug(cat):
                s.failures.append((case.describe(), f"{type(exc).__name__}: {exc}"))
            elif took > time_limit:
                s.failures.append((case.describe(), f"took {took:.2f} s (limit {time_limit} s)"))
    s.seconds = time.perf_counter() - t0
    return s


def load_seeds(shared: Path) -> list[Seed]:
    """The shared models that exist, plus the synthetic all-ops model."""
    seeds = []
    for name, (rel, weight) in SHARED_SEEDS.items():
        p = shared / rel
        if p.exists():
            seeds.append(make_seed(name, p.read_bytes(), weight))
    seeds.append(make_seed("tiny_all_ops", all_ops_model(), TINY_WEIGHT))
    return seeds


# ------------------------------------------------------------------------------------------
# tiny models made with the flatbuffer object API (no TensorFlow)
# ------------------------------------------------------------------------------------------

_TYPE = {"int8": fb.TensorType.INT8, "int32": fb.TensorType.INT32, "float32": fb.TensorType.FLOAT32,
         "int64": fb.TensorType.INT64, "int16": fb.TensorType.INT16}
_OPTIONS_TYPE = {v: k for k, v in vars(fb.BuiltinOptions).items() if not k.startswith("_")}


class TinyModel:
    """Builds a one-subgraph .tflite by hand: ``tensor`` and ``op`` append, ``tflite`` packs."""

    def __init__(self) -> None:
        self.tensors: list[Any] = []
        self.buffers: list[Any] = [fb.BufferT()]  # buffer 0: the empty sentinel
        self.opcodes: list[Any] = []
        self.ops: list[Any] = []
        self.inputs: list[int] = []
        self.outputs: list[int] = []

    def tensor(self, shape: Sequence[int], dtype: str = "int8", scale: float | Sequence[float] | None = 0.05,
               zero_point: int | Sequence[int] = 0, data: np.ndarray | None = None, axis: int = 0,
               name: str | None = None) -> int:
        t = fb.TensorT()
        t.shape = np.array(shape, dtype=np.int32)
        t.type = _TYPE[dtype]
        t.name = (name or f"t{len(self.tensors)}").encode()
        if scale is not None:
            q = fb.QuantizationParametersT()
            scales = [scale] if isinstance(scale, (int, float)) else list(scale)
            zps = [zero_point] * len(scales) if isinstance(zero_point, int) else list(zero_point)
            q.scale = np.array(scales, dtype=np.float32)
            q.zeroPoint = np.array(zps, dtype=np.int64)
            q.quantizedDimension = axis
            t.quantization = q
        if data is not None:
            b = fb.BufferT()
            b.data = np.frombuffer(np.ascontiguousarray(data).astype(data.dtype.newbyteorder("<")).tobytes(),
                                   dtype=np.uint8)
            self.buffers.append(b)
            t.buffer = len(self.buffers) - 1
        self.tensors.append(t)
        return len(self.tensors) - 1

    def const(self, values: Sequence[Any] | np.ndarray, dtype: str = "int32", **kw: Any) -> int:
        a = np.asarray(values, dtype=dtype)
        kw.setdefault("scale", None)
        return self.tensor(a.shape, dtype, data=a, **kw)

    def op(self, builtin: str, inputs: Sequence[int], outputs: Sequence[int], options: Any = None) -> int:
        code = getattr(fb.BuiltinOperator, builtin)
        for i, oc in enumerate(self.opcodes):
            if oc.builtinCode == code:
                index = i
                break
        else:
            oc = fb.OperatorCodeT()
            oc.builtinCode = code
            oc.deprecatedBuiltinCode = min(code, 127)
            oc.version = 1
            self.opcodes.append(oc)
            index = len(self.opcodes) - 1
        op = fb.OperatorT()
        op.opcodeIndex = index
        op.inputs = np.array(inputs, dtype=np.int32)
        op.outputs = np.array(outputs, dtype=np.int32)
        if options is not None:
            op.builtinOptionsType = getattr(fb.BuiltinOptions, type(options).__name__[:-1])
            op.builtinOptions = options
        self.ops.append(op)
        return len(self.ops) - 1

    def model(self) -> Any:
        sg = fb.SubGraphT()
        sg.tensors, sg.operators = self.tensors, self.ops
        sg.inputs = np.array(self.inputs, dtype=np.int32)
        sg.outputs = np.array(self.outputs, dtype=np.int32)
        m = fb.ModelT()
        m.version = 3
        m.operatorCodes, m.subgraphs, m.buffers = self.opcodes, [sg], self.buffers
        return m


def pack(model: Any) -> bytes:
    """A ModelT packed into a .tflite file."""
    b = flatbuffers.Builder(4096)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def unpack(data: bytes) -> Any:
    """A valid .tflite unpacked into the generated object API's ModelT, for editing."""
    return fb.ModelT.InitFromObj(fb.Model.GetRootAs(data, 0))


def options(cls: str, **fields: Any) -> Any:
    o = getattr(fb, cls)()
    for k, v in fields.items():
        setattr(o, k, v)
    return o


def all_ops_model(relu_n1_to_1: bool = True) -> bytes:
    """Every op edgegen supports that the shared models lack, in one valid model: float input
    -> QUANTIZE -> PAD -> MAX_POOL_2D -> LOGISTIC / TANH -> MUL -> RELU / RELU6 / RELU_N1_TO_1,
    LEAKY_RELU -> CONCATENATION -> MEAN -> SQUEEZE -> EXPAND_DIMS -> PADV2 -> QUANTIZE (requantize),
    a DEQUANTIZE to a float output, and REDUCE_MAX -> SUB to a third output.

    TFLM has no RELU_N1_TO_1 kernel (edgegen follows TFLite's); ``relu_n1_to_1=False`` leaves it
    out, so that TFLM runs the model (the differential fuzzer's seed)."""
    m = TinyModel()
    s = 0.05
    x = m.tensor((1, 4, 4, 2), "float32", scale=None, name="input")
    q = m.tensor((1, 4, 4, 2), scale=s)
    m.op("QUANTIZE", [x], [q], options("QuantizeOptionsT"))
    pads = m.const([[0, 0], [1, 1], [1, 1], [0, 0]])
    p = m.tensor((1, 6, 6, 2), scale=s)
    m.op("PAD", [q, pads], [p], options("PadOptionsT"))
    mp = m.tensor((1, 3, 3, 2), scale=s)
    m.op("MAX_POOL_2D", [p], [mp], options("Pool2DOptionsT", padding=fb.Padding.VALID, strideW=2, strideH=2,
                                            filterWidth=2, filterHeight=2))
    lg = m.tensor((1, 3, 3, 2), scale=1 / 256, zero_point=-128)
    m.op("LOGISTIC", [mp], [lg])
    th = m.tensor((1, 3, 3, 2), scale=1 / 128, zero_point=0)
    m.op("TANH", [mp], [th])
    mu = m.tensor((1, 3, 3, 2), scale=0.004, zero_point=-3)
    m.op("MUL", [lg, th], [mu], options("MulOptionsT"))
    r = m.tensor((1, 3, 3, 2), scale=0.004, zero_point=-3)
    m.op("RELU", [mu], [r])
    r6 = m.tensor((1, 3, 3, 2), scale=0.004, zero_point=-3)
    m.op("RELU6", [r], [r6])
    rn = r6
    if relu_n1_to_1:
        rn = m.tensor((1, 3, 3, 2), scale=0.004, zero_point=-3)
        m.op("RELU_N1_TO_1", [r6], [rn])
    lr = m.tensor((1, 3, 3, 2), scale=s)
    m.op("LEAKY_RELU", [mp], [lr], options("LeakyReluOptionsT", alpha=0.1))
    cat = m.tensor((1, 3, 3, 4), scale=s)
    m.op("CONCATENATION", [lr, mp], [cat], options("ConcatenationOptionsT", axis=3))
    axes = m.const([1, 2])
    mean = m.tensor((1, 1, 1, 4), scale=s)
    m.op("MEAN", [cat, axes], [mean], options("ReducerOptionsT", keepDims=True))
    sq = m.tensor((1, 4), scale=s)
    m.op("SQUEEZE", [mean], [sq], options("SqueezeOptionsT", squeezeDims=[1, 2]))
    ex = m.tensor((1, 1, 4), scale=s)
    m.op("EXPAND_DIMS", [sq, m.const([1])], [ex], options("ExpandDimsOptionsT"))
    pv = m.tensor((1, 3, 4), scale=s)
    m.op("PADV2", [ex, m.const([[0, 0], [1, 1], [0, 0]]), m.const([0], "int8", scale=s)], [pv],
         options("PadV2OptionsT"))
    rq = m.tensor((1, 3, 4), scale=0.1, zero_point=3)
    m.op("QUANTIZE", [pv], [rq], options("QuantizeOptionsT"))
    out = m.tensor((1, 3, 3, 2), "float32", scale=None, name="output")
    m.op("DEQUANTIZE", [rn], [out], options("DequantizeOptionsT"))
    mx = m.tensor((1, 4), scale=s)
    m.op("REDUCE_MAX", [cat, axes], [mx], options("ReducerOptionsT", keepDims=False))
    sub = m.tensor((1, 4), scale=0.08, zero_point=-5)
    m.op("SUB", [mx, sq], [sub], options("SubOptionsT"))
    m.inputs, m.outputs = [x], [out, rq, sub]
    return pack(m.model())
