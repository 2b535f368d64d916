"""Random SVDF models, built by hand as flatbuffers: TensorFlow's converter makes no SVDF from
Keras (it is written by TF1 graph rewrites and by hand), so these are built with the tflite
schema and checked by TFLM loading and running them (tests/test_ops_svdf.py)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ai_edge_litert import schema_py_generated as fb

from .fuzz import TinyModel, pack


@dataclass(frozen=True)
class SvdfCase:
    seed: int
    batch: int
    input_size: int
    units: int
    rank: int
    memory: int
    #: int16 or int8: the time weights' and the state's type
    state: str
    activation: str
    tflite: bytes

    def describe(self) -> str:
        return (f"SVDF seed {self.seed}: batch {self.batch}, input {self.input_size}, units {self.units}, "
                f"rank {self.rank}, memory {self.memory}, {self.state} state, {self.activation}")


_ACT = {"NONE": fb.ActivationFunctionType.NONE, "RELU": fb.ActivationFunctionType.RELU}


def svdf_case(seed: int, *, chain: bool = False, sizes: tuple[int, int, int, int, int] | None = None) -> SvdfCase:
    """One SVDF (``chain``: two, the second reading the first's output with the other state type)
    with random
    sizes, scales, zero points and weights; bias scale = state scale x time-weight scale, as TFLM
    requires. ``sizes`` fixes batch, input size, units, rank and memory."""
    rng = np.random.default_rng(seed)
    batch = int(rng.integers(1, 3))
    input_size = int(rng.integers(1, 24))
    units = int(rng.integers(1, 9))
    rank = int(rng.integers(1, 4))
    memory = int(rng.integers(1, 12))
    if sizes is not None:  # batch, input size, units, rank, memory (benchmark layers)
        batch, input_size, units, rank, memory = sizes
    state = "int16" if seed % 3 else "int8"
    activation = "RELU" if seed % 2 else "NONE"
    m = TinyModel()
    x_scale, x_zp = float(rng.uniform(0.005, 0.1)), int(rng.integers(-128, 128))
    x = m.tensor((batch, input_size), scale=x_scale, zero_point=x_zp, name="input")
    out, n_in = x, input_size
    # a chain's second layer keeps the other state type, so one model calls both CMSIS-NN functions
    for layer, kind in enumerate((state, "int8" if state == "int16" else "int16")[: 2 if chain else 1]):
        out, n_in = _svdf(m, rng, out, n_in, x_scale, batch, units, rank, memory, kind, activation, layer)
        x_scale = 0.0  # the next layer reads this one's output scale (set by _svdf)
    m.inputs, m.outputs = [x], [out]
    return SvdfCase(seed, batch, input_size, units, rank, memory, state, activation, pack(m.model()))


def _svdf(m: TinyModel, rng: np.random.Generator, x: int, n_in: int, x_scale: float, batch: int, units: int,
          rank: int, memory: int, state: str, activation: str, layer: int) -> tuple[int, int]:
    filters = units * rank
    in_scale = x_scale or float(m.tensors[x].quantization.scale[0])
    wf_scale = float(rng.uniform(0.002, 0.02))
    wf = rng.integers(-127, 128, size=(filters, n_in)).astype(np.int8)
    # the state scale: about the feature matmul's spread, so the state uses its range without
    # always saturating (sometimes it does: the clamp is part of what is tested)
    spread = in_scale * wf_scale * 128 * 64 * np.sqrt(n_in)
    hi = 32767 if state == "int16" else 127
    st_scale = float(spread / hi * rng.uniform(0.3, 3.0))
    wt_dtype = np.int16 if state == "int16" else np.int8
    wt_hi = 32767 if state == "int16" else 127
    wt = rng.integers(-wt_hi, wt_hi + 1, size=(filters, memory)).astype(wt_dtype)
    wt_scale = float(rng.uniform(1e-5, 1e-3)) if state == "int16" else float(rng.uniform(0.002, 0.02))
    wf_t = m.tensor(wf.shape, "int8", scale=wf_scale, zero_point=0, data=wf, name=f"svdf{layer}/weights_feature")
    wt_t = m.tensor(wt.shape, state, scale=wt_scale, zero_point=0, data=wt, name=f"svdf{layer}/weights_time")
    bias_scale = float(np.float32(st_scale) * np.float32(wt_scale))
    bias = rng.integers(-(1 << 14), 1 << 14, size=units).astype(np.int32) * int(rng.integers(0, 2))
    b_t = m.tensor((units,), "int32", scale=bias_scale, zero_point=0, data=bias, name=f"svdf{layer}/bias")
    s_t = m.tensor((batch, memory * filters), state, scale=st_scale, zero_point=0, name=f"svdf{layer}/state")
    m.tensors[s_t].isVariable = True
    # the output scale: about the time products' spread (per unit: rank x memory terms)
    out_spread = st_scale * hi * 0.3 * wt_scale * wt_hi * 0.5 * np.sqrt(rank * memory)
    y = m.tensor((batch, units), scale=float(out_spread / 127 * rng.uniform(0.3, 3.0)),
                 zero_point=int(rng.integers(-100, 100)), name=f"svdf{layer}/output")
    opts = fb.SVDFOptionsT()
    opts.rank = rank
    opts.fusedActivationFunction = _ACT[activation]
    m.op("SVDF", [x, wf_t, wt_t, b_t, s_t], [y], opts)
    return y, units
