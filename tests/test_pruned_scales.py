"""Weight scale 0.0 on a pruned (all-zero) channel (TFLite's 16x8 converter writes it; the int8
converter writes a tiny positive scale instead): accepted only on a per-channel constant whose
channel is all zero (and on that channel's bias, which the converter writes as 0); anything else
keeps the reader's refusal. TFLM runs such a channel with multiplier 0, shift 0; the converter-made
16x8 cases are the *_16x8_pruned families in tests/test_ops.py, so here: the refusals, and a
hand-made int8 FULLY_CONNECTED (sim == TFLM on every tensor, host C == sim)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from edgegen.build import build
from edgegen.errors import ModelFormatError
from edgegen.tflite_reader import parse_tflite
from edgegen.verify import verify_directory

from .support.fuzz import TinyModel, fb, pack

_POSITIVE = r"has quantization scale 0\.0 \(channel 1\); scales must be positive and finite"


def _fc_model(weights: np.ndarray, w_scales: list[float], bias: np.ndarray, b_scales: list[float] | None,
              x_scale: float = 0.05) -> bytes:
    """int8 FULLY_CONNECTED [1, 6] x [4, 6]^T, per-channel weights, int32 bias."""
    m = TinyModel()
    x = m.tensor((1, 6), scale=x_scale, zero_point=3)
    w = m.tensor(weights.shape, "int8", scale=w_scales, data=weights, axis=0)
    b = m.tensor(bias.shape, "int32", scale=b_scales, data=bias)
    y = m.tensor((1, 4), scale=0.02, zero_point=-5)
    opts = fb.FullyConnectedOptionsT()
    m.op("FULLY_CONNECTED", [x, w, b], [y], opts)
    m.inputs, m.outputs = [x], [y]
    return pack(m.model())


def _pruned() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    w = rng.integers(-127, 128, size=(4, 6)).astype(np.int8)
    w[1] = 0
    b = rng.integers(-2000, 2000, size=4).astype(np.int32)
    b[1] = 0
    return w, b


def test_zero_scale_on_a_pruned_channel_is_accepted() -> None:
    w, b = _pruned()
    g = parse_tflite(_fc_model(w, [0.01, 0.0, 0.02, 0.005], b, [5e-4, 0.0, 1e-3, 2.5e-4]), name="m")
    assert [t.quant.scales[1] for t in g.tensors if t.data is not None and t.quant is not None] == [0.0, 0.0]


def test_zero_scale_elsewhere_is_refused() -> None:
    w, b = _pruned()
    w[1, 3] = 1  # the channel is not all zero
    with pytest.raises(ModelFormatError, match=_POSITIVE):
        parse_tflite(_fc_model(w, [0.01, 0.0, 0.02, 0.005], b, None), name="m")
    w, b = _pruned()
    b[1] = 7  # the bias of the pruned channel is not 0
    with pytest.raises(ModelFormatError, match=_POSITIVE):
        parse_tflite(_fc_model(w, [0.01, 0.0, 0.02, 0.005], b, [5e-4, 0.0, 1e-3, 2.5e-4]), name="m")
    w, b = _pruned()
    with pytest.raises(ModelFormatError, match=r"scale -0\.5 \(channel 1\); scales must be positive"):
        parse_tflite(_fc_model(w, [0.01, -0.5, 0.02, 0.005], b, None), name="m")
    with pytest.raises(ModelFormatError, match=r"has quantization scale 0\.0; scales must be positive"):
        parse_tflite(_fc_model(w, [0.01, 0.0, 0.02, 0.005], b, None, x_scale=0.0), name="m")
    # one scale (per tensor) on an all-zero tensor: not a pruned channel of a per-channel tensor
    m = TinyModel()
    x = m.tensor((1, 6), scale=0.05)
    wt = m.tensor((1, 6), "int8", scale=[0.0], data=np.zeros((1, 6), np.int8))
    y = m.tensor((1, 1), scale=0.02)
    m.op("FULLY_CONNECTED", [x, wt, -1], [y], fb.FullyConnectedOptionsT())
    m.inputs, m.outputs = [x], [y]
    with pytest.raises(ModelFormatError, match=r"has quantization scale 0\.0; scales must be positive"):
        parse_tflite(pack(m.model()), name="m")


def test_int8_pruned_channel_exact(tmp_path: Path) -> None:
    """The channel's output is the output zero point (multiplier 0) in TFLM, the simulator and C."""
    w, b = _pruned()
    data = _fc_model(w, [0.01, 0.0, 0.02, 0.005], b, [5e-4, 0.0, 1e-3, 2.5e-4])
    result = build(data, tmp_path / "m", source="m.tflite", name="m", force=True)
    report, _ = verify_directory(result.out, [], count=6, seed=0)
    assert report.ok and report.sim_vs_tflm is True and report.c_vs_sim is True
    assert report.tensors_compared == 6


def test_pruned_16x8_family_covers_each_op_20_times() -> None:
    """The converter-made pruned_16x8 model (sim == TFLM and host C == sim in tests/test_ops.py, and
    on qemu-m4) has >= 20 of each op whose weights have a channel of scale 0.0 (the others: a pruned
    channel with a non-zero bias, which the converter gives a tiny positive scale)."""
    from .support.opmodels import FAMILIES, op_model

    model = op_model("pruned_16x8", FAMILIES["pruned_16x8"].seeds[0])
    graph = parse_tflite(model.tflite, name="m")
    zero_scale: Counter[str] = Counter()
    for op in graph.ops:
        w = graph.tensor(op.inputs[1]) if len(op.inputs) > 1 else None
        if w is not None and w.dtype == "int8" and w.data is not None and w.quant is not None:
            assert any(not np.take(w.data, i, axis=w.quant.axis).any() for i in range(len(w.quant.scales)))
            zero_scale[op.KIND] += 0.0 in w.quant.scales
    assert min(zero_scale[k] for k in ("CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED")) >= 20, zero_scale
