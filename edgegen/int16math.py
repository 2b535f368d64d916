"""TFLM's int16 (16x8) arithmetic that is not plain requantization: the LOGISTIC / TANH
interpolated sigmoid table (reference_integer_ops::Logistic / Tanh for int16, with
``input_multiplier`` / ``input_left_shift`` from their Prepare) and SOFTMAX int16 (its two
513-entry tables, built as TFLM's ``LUTPopulate<int16_t>`` does in float32, and
reference_ops::SoftmaxInt16). Everything here runs at lowering or in the simulator; the C kernels
take the resulting numbers and tables as arguments.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from . import fixedpoint as fx

#: TFLM's ``sigmoid_table_uint16`` (tensorflow/lite/kernels/internal/common.h, Apache-2.0):
#: sigmoid(i / 24) in 0.16 format, shared by the int16 LOGISTIC and TANH kernels. The values are
#: TFLM's own (a plain round(65536 * sigmoid) differs in a few entries), so they are data here.
SIGMOID_TABLE_U16: tuple[int, ...] = (
    32768, 33451, 34133, 34813, 35493, 36169, 36843, 37513, 38180, 38841, 39498,
    40149, 40794, 41432, 42064, 42688, 43304, 43912, 44511, 45102, 45683, 46255,
    46817, 47369, 47911, 48443, 48964, 49475, 49975, 50464, 50942, 51409, 51865,
    52311, 52745, 53169, 53581, 53983, 54374, 54755, 55125, 55485, 55834, 56174,
    56503, 56823, 57133, 57433, 57724, 58007, 58280, 58544, 58800, 59048, 59288,
    59519, 59743, 59959, 60168, 60370, 60565, 60753, 60935, 61110, 61279, 61441,
    61599, 61750, 61896, 62036, 62172, 62302, 62428, 62549, 62666, 62778, 62886,
    62990, 63090, 63186, 63279, 63368, 63454, 63536, 63615, 63691, 63765, 63835,
    63903, 63968, 64030, 64090, 64148, 64204, 64257, 64308, 64357, 64405, 64450,
    64494, 64536, 64576, 64614, 64652, 64687, 64721, 64754, 64786, 64816, 64845,
    64873, 64900, 64926, 64950, 64974, 64997, 65019, 65039, 65060, 65079, 65097,
    65115, 65132, 65149, 65164, 65179, 65194, 65208, 65221, 65234, 65246, 65258,
    65269, 65280, 65291, 65301, 65310, 65319, 65328, 65337, 65345, 65352, 65360,
    65367, 65374, 65381, 65387, 65393, 65399, 65404, 65410, 65415, 65420, 65425,
    65429, 65433, 65438, 65442, 65445, 65449, 65453, 65456, 65459, 65462, 65465,
    65468, 65471, 65474, 65476, 65479, 65481, 65483, 65485, 65488, 65489, 65491,
    65493, 65495, 65497, 65498, 65500, 65501, 65503, 65504, 65505, 65507, 65508,
    65509, 65510, 65511, 65512, 65513, 65514, 65515, 65516, 65517, 65517, 65518,
    65519, 65520, 65520, 65521, 65522, 65522, 65523, 65523, 65524, 65524, 65525,
    65525, 65526, 65526, 65526, 65527, 65527, 65528, 65528, 65528, 65529, 65529,
    65529, 65529, 65530, 65530, 65530, 65530, 65531, 65531, 65531, 65531, 65531,
    65532, 65532, 65532, 65532, 65532, 65532, 65533, 65533, 65533, 65533, 65533,
    65533, 65533, 65533, 65534, 65534, 65534, 65534, 65534, 65534, 65534, 65534,
    65534, 65534, 65535,
)


def checked_log2(x: float) -> tuple[bool, int]:
    """TFLM's CheckedLog2 in float32: (is x a power of two within 1e-3 in log2, rounded log2)."""
    f = np.float32
    x_log2 = f(np.log(f(x), dtype=np.float32)) * (f(1.0) / f(np.log(f(2.0), dtype=np.float32)))
    rounded = f(fx.round_half_away(float(x_log2)))
    return bool(abs(f(x_log2 - rounded)) < f(1e-3)), int(rounded)


@dataclass(frozen=True)
class SigmoidTanh16:
    """The int16 LOGISTIC / TANH op data of TFLM's Prepare, already resolved as the kernel uses it
    (the power-of-two case turned into multiplier 3 << shift, shift 0)."""

    multiplier: int
    left_shift: int


def sigmoid_tanh16_params(input_scale: float, is_tanh: bool) -> SigmoidTanh16:
    """TFLM's CalculateArithmeticOpDataLogistic / TanhPrepare for int16 (kInputIntegerBits 3)."""
    pot, log2 = checked_log2(input_scale)
    left_shift = (15 - 3) + log2
    pot = pot and (left_shift in ((0, 1) if is_tanh else (0,)))
    if pot:
        # the kernels' power-of-two case: input_multiplier = 3 << input_left_shift, shift 0
        return SigmoidTanh16(multiplier=3 << left_shift, left_shift=0)
    multiplier = float(input_scale) * 4096.0 * 3.0
    left_shift = 0
    while multiplier <= 32767.0 / 2.0 and left_shift <= 30:
        left_shift += 1
        multiplier *= 2.0
    return SigmoidTanh16(multiplier=int(multiplier), left_shift=left_shift)


def sigmoid_tanh16(x: npt.ArrayLike, p: SigmoidTanh16, is_tanh: bool) -> npt.NDArray[np.int16]:
    """reference_integer_ops::Logistic / Tanh on int16 values (int64 arithmetic, same results as
    TFLM's int32/uint32 code for every int16 input and multiplier <= 32767)."""
    table = np.array(SIGMOID_TABLE_U16, dtype=np.int64)
    v = np.asarray(x, dtype=np.int64)
    rnd = (1 << (p.left_shift - 1)) if p.left_shift > 0 else 0
    d = (v * p.multiplier + rnd) >> p.left_shift
    a = np.abs(d)
    bits = 8 if is_tanh else 9
    uh = a >> bits
    sat = uh >= 255
    idx = np.minimum(uh, 254)
    ua, ub = table[idx], table[idx + 1]
    ut = a & ((1 << bits) - 1)
    interp = (ua << bits) + ut * (ub - ua)
    if is_tanh:
        r = np.where(sat, 0xFFFF << 8, interp)
        r = np.where(d >= 0, r - (1 << 23) + (1 << 7), -r + (1 << 23) + (1 << 7) - 1)
        out = r >> 8
    else:
        r = np.where(sat, 0x7FFF << 10, interp)
        r = np.where(d >= 0, r + (1 << 9), (1 << 25) - r + (1 << 9) - 1)
        out = r >> 10
    # TFLM stores the 32-bit result into int16_t (a truncating conversion)
    return (out & 0xFFFF).astype(np.uint16).view(np.int16)


# -- SOFTMAX int16 ---------------------------------------------------------------------------------

_libm = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
_libm.expf.restype = ctypes.c_float
_libm.expf.argtypes = [ctypes.c_float]


def _expf(v: np.float32) -> np.float32:
    """C's expf, the std::exp(float) TFLM's Prepare calls (numpy's float32 exp may differ by an ulp)."""
    return np.float32(_libm.expf(float(v)))


def _one_over_one_plus(v: np.float32) -> np.float32:
    return np.float32(np.float32(1.0) / np.float32(np.float32(1.0) + v))


def _roundf(v: np.float32) -> np.float32:
    return np.float32(fx.round_half_away(float(v)))


def lut_populate_int16(input_scale: float, input_zero_point: int, output_scale: float, output_zero_point: int,
                       kind: str) -> npt.NDArray[np.int16]:
    """TFLM's detail::LUTPopulateInt16<float>: 513 entries, every step in float32 as C++ does it."""
    f = np.float32
    fn = _expf if kind == "exp" else _one_over_one_plus
    s_in, s_out = f(input_scale), f(output_scale)
    input_min = f(s_in * f(-32768 - input_zero_point))
    input_max = f(s_in * f(32767 - input_zero_point))
    output_min = f(s_out * f(-32768 - output_zero_point))
    output_max = f(s_out * f(32767 - output_zero_point))
    nb_steps = 512
    step = f(f(input_max - input_min) / f(nb_steps))
    half_step = f(step / f(2))
    inv = f(f(65536) / f(output_max - output_min))
    lut = np.zeros(nb_steps + 1, dtype=np.int16)
    for i in range(nb_steps):
        x0 = f(input_min + f(f(i) * step))
        val = fn(x0)
        val_mid = fn(f(x0 + half_step))
        val_next = fn(f(input_min + f(f(i + 1) * step)))
        sample = _roundf(f(val * inv))
        mid_interp = _roundf(f(f(f(val_next * inv) + sample) / f(2)))
        mid = _roundf(f(val_mid * inv))
        bias = _roundf(f(f(mid_interp - mid) / f(2)))
        lut[i] = int(min(max(f(sample - bias), f(-32768)), f(32767)))
    last = _roundf(f(fn(input_max) * inv))
    lut[nb_steps] = int(min(max(last, f(-32768)), f(32767)))
    return lut


@dataclass(frozen=True)
class Softmax16:
    """SOFTMAX int16's op data (TFLM CalculateSoftmaxParams): the input-difference multiplier
    and the exp and 1/(1+x) tables."""

    mult: int
    shift: int
    exp_lut: npt.NDArray[np.int16]
    one_over_one_plus_x_lut: npt.NDArray[np.int16]


def softmax16_params(input_scale: float, beta: float) -> Softmax16:
    rng = 32767 - (-32768)
    # TFLM passes 10.0f / range etc. as floats: float32 division of float32 constants
    exp_lut = lut_populate_int16(float(np.float32(10.0) / np.float32(rng)), 32767,
                                 float(np.float32(2.0) / np.float32(rng)), 0, "exp")
    rec_lut = lut_populate_int16(float(np.float32(1.0) / np.float32(rng)), -32768,
                                 float(np.float32(2.0) / np.float32(rng)), 0, "recip")
    mult, shift = fx.quantize_multiplier(float(np.float32(input_scale)) * float(np.float32(beta)) / (10.0 / 65535.0))
    return Softmax16(mult=mult, shift=shift, exp_lut=exp_lut, one_over_one_plus_x_lut=rec_lut)


def lut_lookup16(value: npt.NDArray[np.int64], lut: npt.NDArray[np.int16]) -> npt.NDArray[np.int64]:
    """TFLM's LUTLookup(int16_t, const int16_t*): 9-bit index, 7-bit linear interpolation."""
    t = lut.astype(np.int64)
    index = 256 + (value >> 7)
    offset = value & 0x7F
    base = t[index]
    # TFLM stores the slope in an int16_t
    slope = ((t[index + 1] - base + 32768) & 0xFFFF) - 32768
    # slope * offset + 64 >> 7, then the int16_t cast of base + delta
    s = base + ((slope * offset + 64) >> 7)
    out: npt.NDArray[np.int64] = ((s + 32768) & 0xFFFF) - 32768
    return out


def softmax16(x: npt.NDArray[np.int64], p: Softmax16) -> npt.NDArray[np.int64]:
    """reference_ops::SoftmaxInt16 over the rows of ``x`` ([rows, depth], int64 values)."""
    out = np.zeros_like(x)
    for r in range(x.shape[0]):
        row = x[r]
        diff = row - row.max()
        scaled = fx.multiply_by_quantized_multiplier(diff, p.mult, p.shift)
        sym = np.clip(scaled + 32767, -32768, 32767)
        exps = lut_lookup16(sym, p.exp_lut)
        total = int(exps.sum())
        headroom = int(fx.count_leading_zeros32(total))
        shifted = ((total << (headroom - 1)) + (1 << 13)) >> 14
        sym_sum = int(np.clip(shifted - ((1 << 15) + (1 << 16)), -32768, 32767))
        recip = int(lut_lookup16(np.array([sym_sum], dtype=np.int64), p.one_over_one_plus_x_lut)[0])
        right = 31 - headroom
        res = (exps * recip + (1 << (right - 1))) >> right
        out[r] = np.clip(res, 0, 32767)
    return out
