"""edgegen's ADD / SUB kernel for inputs of the same shape: the build-time preparation, its proof,
its call and its simulator kernel (the C is ``firmware/edgegen/edgegen_add.h``; design in
docs/kernel-design.md, "ADD and SUB").

TFLM's int8 ADD rescales each input on its own before the sum:
``s_i(x) = RDBPOT(SRDHM((x + offset_i) << 20, m_i), -shift_i)``. That term depends on one int8
value only, so the preparation tabulates it: per input, 256 int32 entries indexed by the input's
byte read unsigned, each ``2 * s_i`` (``-2 * s_2`` for SUB), every rounding of TFLM's double
rounding already in the table. At run time an element is two table loads, one addition and the
output requantization with literal ``m, c, e`` (the matmul kernel's constants, edgegen.kernels.matmul.
requant_records): ``v = c + SMMLAR/VRMULH(acc2, m)``, ``-1`` when ``fix`` and ``acc2 < 0`` (rounding
half away from zero), ``>> e``, saturated to int8, clamped.

Proof: the output depends on the pair of input bytes only, so all 65,536 pairs are run through the
kernel's arithmetic and compared with TFLM's (edgegen's simulator arithmetic); the doubled sums must
stay below 2**31. A layer that fails keeps its CMSIS-NN call with the reason recorded. Broadcasting
adds keep edgegen's broadcast call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from .. import fixedpoint as fx
from ..machine import Machine
from ..program import Call, TensorRef
from . import matmul
from .admit import admit_tables

if TYPE_CHECKING:
    from .. import ir
    from ..lowering import Lowering

KERNEL = "add"
#: every int8 value, in the order of the tables (index = the byte read unsigned)
_BYTES = np.arange(256, dtype=np.int64).astype(np.uint8).astype(np.int8).astype(np.int64)


@dataclass(frozen=True)
class AddKernelCall(Call):
    """``edgegen_add_s8`` (or ``_portable``) over ``size`` elements; SUB too (its second table negated)."""

    KIND: ClassVar[str] = "addk"
    HEADER: ClassVar[str | None] = "edgegen_add.h"
    tables: str  # int32 [2][256]: 2*s_1 and +-2*s_2 by unsigned byte
    m: int
    c: int
    e: int
    fix: int
    size: int
    act_min: int
    act_max: int


@dataclass(frozen=True)
class AddParams:
    """TFLM's Prepare integers of one ADD/SUB (edgegen.ops.elementwise.lower_add)."""

    offsets: tuple[int, int]
    mults: tuple[int, int]
    shifts: tuple[int, int]
    left_shift: int
    out_offset: int
    out_mult: int
    out_shift: int
    act_min: int
    act_max: int
    subtract: bool


@dataclass(frozen=True)
class AddPrep:
    tables: np.ndarray  # int32 [512]
    m: int
    c: int
    e: int
    fix: int

    @property
    def nbytes(self) -> int:
        return int(self.tables.nbytes)


def reference(p: AddParams, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """TFLM's int8 ADD/SUB on int8 values ``a``, ``b`` (the simulator's arithmetic)."""
    mbqm = fx.multiply_by_quantized_multiplier
    s1 = mbqm((a + p.offsets[0]) * (1 << p.left_shift), p.mults[0], p.shifts[0])
    s2 = mbqm((b + p.offsets[1]) * (1 << p.left_shift), p.mults[1], p.shifts[1])
    raw = s1 - s2 if p.subtract else s1 + s2
    out = fx.multiply_by_quantized_multiplier(raw, p.out_mult, p.out_shift) + p.out_offset
    return np.clip(out, p.act_min, p.act_max).astype(np.int64)


def kernel(tables: np.ndarray, rq: tuple[int, int, int, int], ua: np.ndarray, ub: np.ndarray, act_min: int,
           act_max: int) -> np.ndarray:
    """The C's arithmetic on unsigned bytes ``ua``, ``ub`` (int64, exact); ``rq = (m, c, e, fix)``."""
    m, c, e, fix = rq
    t = tables.astype(np.int64).reshape(2, 256)
    acc2 = t[0][ua] + t[1][ub]
    assert np.all(np.abs(acc2) < matmul.INT32_LIMIT), "the doubled sum bound proof failed"
    v = c + ((acc2 * m + (1 << 31)) >> 32)  # SMMLAR
    if fix:
        v = v + (acc2 >> 31)
    out: np.ndarray = np.clip(np.clip(v >> e, -128, 127), act_min, act_max)
    return out


def prepare(p: AddParams) -> AddPrep | str:
    """The tables and the output record, or why they cannot be proven exact."""
    if p.out_shift > 0 or p.out_mult < 0:
        return "an output left shift or a negative multiplier"
    mbqm = fx.multiply_by_quantized_multiplier
    t1 = 2 * mbqm((_BYTES + p.offsets[0]) * (1 << p.left_shift), p.mults[0], p.shifts[0])
    t2 = 2 * mbqm((_BYTES + p.offsets[1]) * (1 << p.left_shift), p.mults[1], p.shifts[1])
    if p.subtract:
        t2 = -t2
    bound = np.array([int(np.abs(t1).max() + np.abs(t2).max()) + 1], dtype=np.int64)
    rq = matmul.requant_records(np.array([p.out_mult], dtype=np.int64), np.array([-p.out_shift], dtype=np.int64),
                                p.out_offset, bound)
    if isinstance(rq, str):
        return rq
    tables = np.concatenate([t1, t2]).astype(np.int32)
    m, c, e = (int(v) for v in rq[0])
    # every pair of input bytes: the kernel's arithmetic against TFLM's; the sign fix-up (rounding
    # half away from zero before >> e) first as the matmul kernel chooses it, then the other way
    ua, ub = np.meshgrid(np.arange(256), np.arange(256), indexing="ij")
    want = reference(p, _BYTES[ua], _BYTES[ub])
    bad = 0
    for fix in (int(e > 0), int(e == 0)):
        got = kernel(tables, (m, c, e, fix), ua, ub, p.act_min, p.act_max)
        if np.array_equal(got, want):
            return AddPrep(tables=tables, m=m, c=c, e=e, fix=fix)
        bad = bad or int(np.count_nonzero(got != want))
    return f"SMMLAR's rounding differs from TFLM's on {bad} of the 65,536 input pairs"


def try_lower(lw: Lowering, op: ir.Op, p: AddParams, inputs: tuple[TensorRef, TensorRef], out: TensorRef,
              size: int) -> bool:
    """Lower ``op`` to edgegen's kernel when the mode, the proof and the flash allow it; else record
    why and return False (the caller emits its call)."""
    got = admit_tables(lw, op, KERNEL, "edgegen_add_s8", lambda: prepare(p))
    if got is None:
        return False
    prep, fn = got
    base = lw.base(op, fn, inputs, out, 0, size)
    lw.calls.append(AddKernelCall(**base, tables=lw.const("tables", "int32_t", prep.tables, op),  # type: ignore[arg-type]
                                  m=prep.m, c=prep.c, e=prep.e, fix=prep.fix, size=size, act_min=p.act_min,
                                  act_max=p.act_max))
    return True


def run_addk(mach: Machine, call: Call) -> None:
    """The kernel from its tables, in int64 (exact), as the C computes it."""
    assert isinstance(call, AddKernelCall)
    tables = mach.const(call.tables)
    assert tables is not None
    ua = mach.read(call.inputs[0]).reshape(-1).astype(np.uint8).astype(np.int64)
    ub = mach.read(call.inputs[1]).reshape(-1).astype(np.uint8).astype(np.int64)
    out = kernel(tables, (call.m, call.c, call.e, call.fix), ua, ub, call.act_min, call.act_max)
    mach.write(call.output, out.astype(np.int8))
