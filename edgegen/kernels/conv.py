"""edgegen's general CONV_2D kernel (any KH x KW, any stride, dilation 1, SAME or VALID, batch 1):
for each output pixel the input window is gathered (im2col) into a K = KH*KW*Cin byte buffer on the
stack, each window row KW*Cin contiguous bytes of the NHWC input, and multiplied with the W16x2
weights by the matmul kernel's micro-kernel (``edgegen_mm_block``); the C is
``firmware/edgegen/edgegen_conv.h``, the design docs/kernel-design.md ("First conv, 1 input channel").

Padded taps are exact by zero-point substitution: TFLM pads with the input zero point and the input
offset (``-zp``) is folded into ``bias2`` over all K taps, so the gather fills padded positions with
``zp`` and each contributes ``(zp + input_offset) * w = 0``. The proofs are matmul's over the
[OC, K] weights (a padded tap's value ``zp`` is an int8 like any input, so ``128 * sum|w|`` bounds it).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from ..machine import Machine
from ..program import Call, TensorRef
from . import matmul, mve_conv
from .admit import admit, cmsis_nn_bytes
from .window import Geometry as Geometry
from .window import gather as gather

if TYPE_CHECKING:
    from .. import ir
    from ..lowering import Lowering

KERNEL = "conv"
#: DEPTHWISE_CONV_2D on the grouped conv kernel, multiplier > 1 and multiplier 1 (filters above 3x3):
#: their own FASTER entries (Arm's v7 runs generic C for the first, a Helium kernel for the second)
GROUPED_KERNEL = "dwgen"
GROUPED_M1_KERNEL = "dwgen_m1"
#: the gather buffer lives on the stack of the layer's function: at most this many bytes
MAX_K = 1024


@dataclass(frozen=True)
class ConvKernelCall(Call):
    """``edgegen_conv_s8`` (or ``edgegen_conv_s8_portable``): gather + matmul micro-kernel per pixel."""

    KIND: ClassVar[str] = "convk"
    HEADER: ClassVar[str | None] = "edgegen_conv.h"
    weights: str  # W16x2 words over K = KH*KW*Cin
    bias2: str
    rq: str
    k: int
    oc: int
    ocb: int
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
    #: 1 for CONV_2D; C for DEPTHWISE_CONV_2D (one input channel per group, OC / C outputs each,
    #: ``k`` = KH*KW per group, the weights packed per group)
    groups: int = 1


def applies(kh: int, kw: int, ic: int, dilation: tuple[int, int], batch: int) -> str | None:
    """None when the layer's shape fits the kernel, else why not."""
    if dilation != (1, 1):
        return f"dilation {dilation}"
    if batch != 1:
        return f"batch {batch}"
    if kh * kw * ic > MAX_K:
        return f"a window of {kh * kw * ic} bytes (the stack gather buffer holds at most {MAX_K})"
    return None


def try_lower(lw: Lowering, op: ir.Op, *, w: np.ndarray, bias: np.ndarray | None, x: TensorRef,
              input_offset: int, mults: np.ndarray, shifts: np.ndarray, out_zp: int, act: tuple[int, int],
              geo: Geometry, groups: int = 1) -> bool:
    """Lower ``op`` (``w`` [OC, KH*KW*Cin] int8; with ``groups`` = Cin > 1 a depthwise layer, ``w``
    [OC, KH*KW]) to edgegen's kernel when the mode, the CPU, the proofs and the flash allow it; else
    record why and return False (the CMSIS-NN call stays). The grouped kernel has no Helium variant:
    Helium CPUs run its DSP path (where FASTER says it beats Arm's)."""
    if lw.kernels.cpu == "mve" and groups == 1:
        return mve_conv.try_lower(lw, op, w=w, bias=bias, x=x, input_offset=input_offset, mults=mults,
                                  shifts=shifts, out_zp=out_zp, act=act, geo=geo)
    oc, k = w.shape
    kernel = KERNEL if groups == 1 else GROUPED_KERNEL if oc > groups else GROUPED_M1_KERNEL
    got = admit(lw, op, kernel, "edgegen_conv_s8",
                lambda: prepare_grouped(w, bias, input_offset, mults, shifts, out_zp, groups),
                cmsis_nn_bytes(k * oc, oc, bias=bias is not None, per_channel=np.size(mults) > 1))
    if got is None:
        return False
    prep, c = got
    base = lw.base(op, c.function, (x,), lw.out_ref(op), 0, geo.oh * geo.ow * oc * k)
    lw.calls.append(ConvKernelCall(**base, weights=c.weights, bias2=c.bias2, rq=c.rq,  # type: ignore[arg-type]
                                   k=k, oc=oc, ocb=matmul.OCB, ih=geo.ih, iw=geo.iw, c=geo.c, kh=geo.kh,
                                   kw=geo.kw, oh=geo.oh, ow=geo.ow, sh=geo.sh, sw=geo.sw, pad_t=geo.pad_t,
                                   pad_l=geo.pad_l, zp=-input_offset, act_min=act[0], act_max=act[1],
                                   e_pos=prep.e_pos, groups=groups))
    return True


def prepare_grouped(w: np.ndarray, bias: np.ndarray | None, input_offset: int, mults: np.ndarray,
                    shifts: np.ndarray, out_zp: int, groups: int) -> matmul.MatmulPrep | str:
    """matmul's constants and proofs (per output channel, so grouping changes neither), the W16x2
    words packed per group of OC / groups channels so each group's blocks start fresh."""
    prep = matmul.prepare(w, bias, input_offset, mults, shifts, out_zp)
    if isinstance(prep, str) or groups == 1:
        return prep
    oc, k = w.shape
    ws = matmul.unpack_w16x2(prep.words, k, oc)[:, :k]
    words = np.concatenate([matmul.pack_w16x2(g) for g in np.split(ws, groups)])
    return replace(prep, words=words)


def unpack_grouped(words: np.ndarray, k: int, oc: int, groups: int, ocb: int) -> np.ndarray:
    """The inverse of :func:`prepare_grouped`'s packing: [OC, K] int64."""
    m = oc // groups
    per = -(-k // 4) * m * 2  # words per group (every block holds its channels' K quads as pairs)
    return np.concatenate([matmul.unpack_w16x2(words[g * per : (g + 1) * per], k, m, ocb)[:, :k]
                           for g in range(groups)])


def geometry(call: ConvKernelCall) -> Geometry:
    return Geometry(ih=call.ih, iw=call.iw, c=call.c, kh=call.kh, kw=call.kw, oh=call.oh, ow=call.ow, sh=call.sh,
                    sw=call.sw, pad_t=call.pad_t, pad_l=call.pad_l)


def run_convk(mach: Machine, call: Call) -> None:
    """The kernel from its folded constants, in int64 (exact), as the C computes it."""
    assert isinstance(call, ConvKernelCall)
    words, bias2, rq = mach.const(call.weights), mach.const(call.bias2), mach.const(call.rq)
    assert words is not None and bias2 is not None and rq is not None
    cols = gather(mach.read(call.inputs[0]), geometry(call), call.zp)
    if call.groups == 1:
        ws = matmul.unpack_w16x2(words, call.k, call.oc, call.ocb)
        acc2 = bias2.astype(np.int64) + cols @ ws[:, : call.k].T
    else:
        g = call.groups
        wg = unpack_grouped(words, call.k, call.oc, g, call.ocb).reshape(g, call.oc // g, call.k)
        per_ch = cols.reshape(-1, call.k, g)  # [pixel, tap, channel]: channel c's window is column c
        acc2 = bias2.astype(np.int64) + np.einsum("ptg,gmt->pgm", per_ch, wg).reshape(-1, call.oc)
    assert np.all(np.abs(acc2) < matmul.INT32_LIMIT), "the accumulator bound proof failed"
    mach.write(call.output, matmul.requant2(acc2, rq, call.e_pos, call.act_min, call.act_max))
