"""The window geometry of a general CONV_2D layer and its gather (im2col) of each output pixel's
window, padded taps filled with the input zero point: shared by edgegen's conv kernels (DSP/portable,
edgegen/kernels/conv.py, and Helium, edgegen/kernels/mve_conv.py)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Geometry:
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

    @property
    def k(self) -> int:
        return self.kh * self.kw * self.c


def gather(x: np.ndarray, geo: Geometry, zp: int) -> np.ndarray:
    """The gather buffers of every output pixel, [OH*OW, K], padded taps = the input zero point."""
    xi = x.reshape(geo.ih, geo.iw, geo.c).astype(np.int64)
    need_h = (geo.oh - 1) * geo.sh + geo.kh
    need_w = (geo.ow - 1) * geo.sw + geo.kw
    pad_b = max(need_h - geo.pad_t - geo.ih, 0)
    pad_r = max(need_w - geo.pad_l - geo.iw, 0)
    xp = np.pad(xi, ((geo.pad_t, pad_b), (geo.pad_l, pad_r), (0, 0)), constant_values=zp)
    ys = (np.arange(geo.oh) * geo.sh)[:, None] + np.arange(geo.kh)[None, :]
    xs = (np.arange(geo.ow) * geo.sw)[:, None] + np.arange(geo.kw)[None, :]
    taps = xp[ys[:, None, :, None], xs[None, :, None, :], :]  # [oh, ow, kh, kw, c]
    out: np.ndarray = taps.reshape(geo.oh * geo.ow, geo.k)
    return out
