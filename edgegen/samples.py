"""Inputs for a Program: the user's samples in the model's input types, and seeded random ones."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .arrays import ArrayError, check_array
from .fixedpoint import quantize_f32, quantize_f32_s8
from .program import Program, TensorRef


def as_model_inputs(program: Program, sample: Sequence[np.ndarray], *, source: str = "an input sample"
                    ) -> tuple[np.ndarray, ...]:
    """A sample in the model's input types, by the one rule for data given to the int8 model
    (``--inputs``, ``verify --inputs``, ``api.build/verify(inputs=)``; docs/user-guide.md, "Data
    arrays"): an **int8** array for an int8 input holds the int8 codes themselves; an array of any
    other dtype (float, uint8 images, int16, int32...) holds real values, quantized with the
    input's scale and zero point as the converter's QUANTIZE would. Integers therefore mean the
    same here as in ``--calib``/``--train``/``--eval`` (real values), and only int8 is read as
    codes: a uint8 image must not become codes that wrap at 128. Values are checked first
    (:func:`edgegen.arrays.check_array`: real, finite numbers), so that a NaN is never quantized
    to the zero point; ``source`` names the sample in messages."""
    if len(sample) != len(program.inputs):
        raise ArrayError(f"{source} has {len(sample)} arrays, the model has {len(program.inputs)} inputs")
    out = []
    for ref, value in zip(program.inputs, sample, strict=True):
        a = check_array(value, source)
        if a.size != ref.size:
            raise ArrayError(f"{source} has {a.size} values (shape {list(a.shape)}); the model's input "
                             f"'{ref.name}' takes {ref.size} (shape {list(ref.shape)})")
        if ref.ctype == "int8_t" and a.dtype != np.int8:
            a = quantize_f32_s8(a, ref.scale, ref.zero_point)
        elif ref.ctype == "int16_t" and a.dtype != np.int16:
            # an int16 (16x8) input: int16 arrays are its codes, any other dtype real values
            a = quantize_f32(a, ref.scale, ref.zero_point, "int16").astype(np.int16)
        elif ref.ctype == "float":
            a = a.astype(np.float32)
        out.append(a.reshape(ref.shape))
    return tuple(out)


def random_inputs(program: Program, count: int, seed: int = 0) -> list[tuple[np.ndarray, ...]]:
    """Seeded inputs covering the whole int8 (int16) range (float inputs: the quantized range)."""
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(count):
        sample = []
        for ref in program.inputs:
            if ref.ctype == "float":
                sample.append(_float_input(program, ref, rng))
            elif ref.ctype == "int16_t":
                sample.append(rng.integers(-32768, 32768, size=ref.shape, dtype=np.int16))
            else:
                sample.append(rng.integers(-128, 128, size=ref.shape, dtype=np.int8))
        samples.append(tuple(sample))
    return samples


def _float_input(program: Program, ref: TensorRef, rng: np.random.Generator) -> np.ndarray:
    # the QUANTIZE that reads this input tells the representable range
    for call in program.calls:
        if any(r.buffer == ref.buffer for r in call.inputs) and call.KIND == "quantize":
            s, z = call.output.scale, call.output.zero_point
            qlo, qhi = (-32768, 32767) if call.output.ctype == "int16_t" else (-128, 127)
            lo, hi = s * (qlo - z), s * (qhi - z)
            return rng.uniform(lo * 1.05, hi * 1.05, size=ref.shape).astype(np.float32)
    return rng.standard_normal(size=ref.shape).astype(np.float32)
