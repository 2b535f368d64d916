"""Architectures users bring: Keras's own MobileNet and MobileNetV2 (the MLPerf Tiny visual wake
words family) go from a Keras 3 model object to firmware with exact parity on every tier.

The models are untrained (no download). Freshly initialised BatchNormalization layers pass
activations through almost unchanged, so through 28 or more layers the logits shrink to ~1e-16,
and a SOFTMAX on them would have a quantization scale that TFLM itself cannot implement (edgegen
refuses that with a message). Giving the BatchNormalization layers a small variance and random
offsets, as training would, keeps the activations at a realistic range; the classifier has no
softmax for the same reason.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import keras
import numpy as np
import pytest

from edgegen import api


def _realistic_batch_norm(model: keras.Model, rng: np.random.Generator) -> None:
    for layer in model.layers:
        if isinstance(layer, keras.layers.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights([gamma, rng.normal(0.0, 0.1, beta.shape).astype("float32"), mean,
                               (0.05 * var).astype("float32")])


CASES: dict[str, tuple[Callable[..., keras.Model], dict[str, Any]]] = {
    "mobilenet_v1_0.25": (keras.applications.MobileNet, {"alpha": 0.25}),
    "mobilenet_v2_0.35": (keras.applications.MobileNetV2, {"alpha": 0.35}),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_keras_application_parity(case: str, tmp_path: Path) -> None:
    ctor, kwargs = CASES[case]
    rng = np.random.default_rng(7)
    model = ctor(input_shape=(64, 64, 3), weights=None, classes=3, classifier_activation=None, **kwargs)
    _realistic_batch_norm(model, rng)
    x = rng.uniform(-1.0, 1.0, (24, 64, 64, 3)).astype("float32")
    result = api.build(model, tmp_path / "m", board="qemu-m7", calib=x[:16], inputs=x[16:18], vectors=2)
    kernels = {call.function for call in result.program.calls}
    # both go through edgegen's own kernels (--kernels auto on the M7): the general convolution
    # (the first, 3x3 stride-2 layer), depthwise 3x3 and 1x1 / fully-connected
    assert {"edgegen_conv_s8", "edgegen_dw3_s8", "edgegen_mm_s8"} <= kernels, kernels
    report = api.verify(result.out, samples=4, inputs=x[16:20])
    assert report.ok, [m.message() for m in report.mismatches]
    run = api.run(result.out)
    assert run.result.verdict is True, run.result.lines
