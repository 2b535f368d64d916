"""CMSIS-NN scratch-buffer sizes, computed at build time for the kernel library the board uses.

These mirror CMSIS-NN's ``*_get_buffer_size_dsp`` / ``*_get_buffer_size_mve`` functions (the
library's own answer for Cortex-M with the DSP extension and for Helium/MVE). edgegen's portable
kernels need no scratch. Target "max" takes the largest of all, so one generated directory runs
against any of them; the guard build checks these numbers against the library at start-up.
"""

from __future__ import annotations

from .program import Dims

#: CMSIS-NN's CH_IN_BLOCK_MVE (arm_nnsupportfunctions.h)
CH_IN_BLOCK_MVE = 124
#: CONVERT_DW_CONV_WITH_ONE_INPUT_CH_AND_OUTPUT_CH_ABOVE_THRESHOLD: 1 for GCC and clang, 8 for armclang.
#: 1 sizes for the depthwise-to-conv conversion whenever any compiler may take it (a superset).
DW_ONE_IN_CH_THRESHOLD = 1

TARGETS = ("portable", "dsp", "mve", "max")


def _is_1x1(pad: tuple[int, int], stride: tuple[int, int], dil: tuple[int, int], f: Dims) -> bool:
    # arm_nn_is_convolve_1x1: no padding, unit dilation, 1x1 filter
    return pad == (0, 0) and dil == (1, 1) and f.w == 1 and f.h == 1


def _is_1x1_fast(stride: tuple[int, int]) -> bool:
    return stride == (1, 1)


def _is_1_x_n(pad: tuple[int, int], dil: tuple[int, int], i: Dims, f: Dims, o: Dims) -> bool:
    # arm_nn_is_convolve_1_x_n: a single row, unit dilation, batch 1
    return i.n == 1 and i.h == 1 and f.h == 1 and o.h == 1 and dil == (1, 1) and pad[0] == 0


def _conv_s8_dsp(i: Dims, f: Dims) -> int:
    cols = f.w * f.h * i.c
    aligned = cols + (4 - cols % 4) % 4
    return 2 * aligned * 2


def _conv_s8_mve(i: Dims, f: Dims) -> int:
    return 4 * ((i.c * f.w * f.h + 15) // 16) * 16


def _conv_1_x_n_mve(i: Dims, f: Dims, o: Dims, pad: tuple[int, int], stride: tuple[int, int]) -> int:
    pad_x, sx = pad[1], stride[1]
    total = (o.w - 1) * sx + f.w - i.w
    asym = total % 2
    right = max(1, (pad_x + asym + sx - 1) // sx) if pad_x + asym != 0 else 0
    left = max(1, (pad_x + sx - 1) // sx) if pad_x != 0 else 0
    none = max(o.w - (right + left), 0)
    if right + none + left != o.w:
        return _conv_s8_mve(i, f)
    pl = pad_x * i.c
    pr = right * i.c if asym else pl
    el = f.w * i.c
    return max(el + pl, el - i.c + pr)


def conv(target: str, i: Dims, f: Dims, o: Dims, pad: tuple[int, int], stride: tuple[int, int],
         dil: tuple[int, int]) -> int:
    if target == "portable":
        return 0
    if target == "max":
        return max(conv(t, i, f, o, pad, stride, dil) for t in ("dsp", "mve"))
    if _is_1x1(pad, stride, dil, f):
        return 0  # 1x1 fast needs 2*C*2 only with armclang; GCC builds need none
    if _is_1_x_n(pad, dil, i, f, o):
        return _conv_1_x_n_mve(i, f, o, pad, stride) if target == "mve" else _conv_s8_dsp(i, f)
    return _conv_s8_mve(i, f) if target == "mve" else _conv_s8_dsp(i, f)


def depthwise(target: str, i: Dims, f: Dims, o: Dims, pad: tuple[int, int], stride: tuple[int, int],
              dil: tuple[int, int], ch_mult: int) -> int:
    if target == "portable":
        return 0
    if target == "max":
        return max(depthwise(t, i, f, o, pad, stride, dil, ch_mult) for t in ("dsp", "mve"))
    if target == "mve" and i.c == 1 and o.c > DW_ONE_IN_CH_THRESHOLD:
        conv_f = Dims(f.c, f.h, f.w, f.n)
        return conv("mve", i, conv_f, o, pad, stride, dil) + f.c * f.h * f.w * f.n
    if i.c == o.c and i.n == 1 and dil == (1, 1):
        if target == "dsp":
            if f.w == 3 and f.h == 3 and pad[0] <= 1 and pad[1] <= 1:
                return 0
            return i.c * f.w * f.h * 2
        return 4 * CH_IN_BLOCK_MVE * f.w * f.h
    return 0


def fully_connected(target: str, f: Dims) -> int:
    # The MVE build keeps precomputed kernel sums in ctx->buf; those are constants edgegen
    # emits, not scratch, so no target needs arena space here.
    return 0


def avgpool(target: str, out_w: int, ch: int) -> int:
    if target in ("dsp", "max"):
        return ch * 4  # arm_avgpool_s8_get_buffer_size_dsp: one int32 accumulator per channel
    return 0
