"""edgegen's general CONV_2D kernel on Helium (MVE) CPUs: the windows of a group of output pixels are
gathered (padded taps = the input zero point, as in edgegen/kernels/conv.py) into stack rows of
K = KH*KW*Cin bytes each, zero-padded to a multiple of 16, and multiplied like a matmul of that many
rows by the Helium matmul kernel (firmware/edgegen/edgegen_conv8.h over edgegen_mm8.h: 2 rows x 4
channels per block, each block's bias and records loaded once per group).

The constants are the matmul kernel's (edgegen/kernels/mve_mm.py) over the [OC, K] weights, with
its proofs: the input offset folded over all K taps is exact because a padded tap holds the zero
point (``(zp + input_offset) * w = 0``) and the buffers' padding bytes are 0 against 0 weights.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from ..machine import Machine
from ..program import Call, TensorRef
from . import mve_mm
from .admit import admit, cmsis_nn_bytes
from .window import Geometry, gather

if TYPE_CHECKING:
    from .. import ir
    from ..lowering import Lowering

KERNEL = "conv"
#: stack bytes for a group's gathered windows: at least 2 windows (one 2-row block), an even count
GROUP_BYTES = 2048


def group_size(k16: int, pixels: int) -> int:
    """Output pixels gathered per group: as many as GROUP_BYTES holds, even, at least 2."""
    return max(1, min(pixels, max(2, (GROUP_BYTES // k16) & ~1)))


@dataclass(frozen=True)
class ConvMveCall(Call):
    """``edgegen_conv8_s8`` (or ``edgegen_conv8_s8_portable``): gather 2 windows + the 2x4 Helium block."""

    KIND: ClassVar[str] = "conv8"
    HEADER: ClassVar[str | None] = "edgegen_conv8.h"
    weights: str  # int8, mve_mm's streamed layout over K = KH*KW*Cin
    bias2: str
    rq: str
    k: int
    oc: int
    ih: int
    iw: int
    c: int
    kh: int
    kw: int
    oh: int
    ow: int
    sh: int
    sw: int
    pad_t: int
    pad_l: int
    zp: int
    act_min: int
    act_max: int
    e_pos: int
    ls: int
    group: int  # output pixels gathered and multiplied together

    @property
    def k16(self) -> int:
        """Bytes of one gathered window: K zero-padded to whole 16-byte chunks."""
        return mve_mm.padded(self.k, mve_mm.KC)

    @property
    def buf_bytes(self) -> int:
        """The layer function's stack buffer: one group of windows."""
        return self.group * self.k16


def try_lower(lw: Lowering, op: ir.Op, *, w: np.ndarray, bias: np.ndarray | None, x: TensorRef,
              input_offset: int, mults: np.ndarray, shifts: np.ndarray, out_zp: int, act: tuple[int, int],
              geo: Geometry) -> bool:
    """Lower ``op`` (``w`` [OC, KH*KW*Cin] int8) to the Helium conv kernel when the mode, the proofs
    and the flash allow it; else record why and return False (the CMSIS-NN call stays)."""
    oc, k = w.shape
    got = admit(lw, op, KERNEL, "edgegen_conv8_s8",
                lambda: mve_mm.prepare(w, bias, input_offset, mults, shifts, out_zp),
                cmsis_nn_bytes(k * oc, oc, bias=bias is not None, per_channel=np.size(mults) > 1),
                wider="int8 weights padded to 16-byte chunks", weights_role="w8", weights_ctype="int8_t")
    if got is None:
        return False
    prep, c = got
    base = lw.base(op, c.function, (x,), lw.out_ref(op), 0, geo.oh * geo.ow * oc * k)
    lw.calls.append(ConvMveCall(**base, weights=c.weights, bias2=c.bias2, rq=c.rq,  # type: ignore[arg-type]
                                k=k, oc=oc, ih=geo.ih, iw=geo.iw, c=geo.c, kh=geo.kh, kw=geo.kw, oh=geo.oh,
                                ow=geo.ow, sh=geo.sh, sw=geo.sw, pad_t=geo.pad_t, pad_l=geo.pad_l,
                                zp=-input_offset, act_min=act[0], act_max=act[1], e_pos=prep.e_pos, ls=prep.ls,
                                group=group_size(mve_mm.padded(k, mve_mm.KC), geo.oh * geo.ow)))
    return True


def geometry(call: ConvMveCall) -> Geometry:
    return Geometry(ih=call.ih, iw=call.iw, c=call.c, kh=call.kh, kw=call.kw, oh=call.oh, ow=call.ow, sh=call.sh,
                    sw=call.sw, pad_t=call.pad_t, pad_l=call.pad_l)


def run_conv8(mach: Machine, call: Call) -> None:
    """The kernel from its folded constants, in int64 (exact), as the C computes it."""
    assert isinstance(call, ConvMveCall)
    words, bias2, rq = mach.const(call.weights), mach.const(call.bias2), mach.const(call.rq)
    assert words is not None and bias2 is not None and rq is not None
    cols = gather(mach.read(call.inputs[0]), geometry(call), call.zp)
    mach.write(call.output, mve_mm.matmul8(cols, words, bias2, rq, call.k, call.oc, call.ls, call.e_pos,
                                           (call.act_min, call.act_max)))
