"""A MobileNetV3-style block (expand 1x1 conv + hard_swish, depthwise 3x3 + hard_swish,
squeeze-and-excite with a hard_sigmoid gate, project 1x1, residual Add) built from Keras: it
passes the pre-flight check, builds, verifies (simulator == TFLM on every tensor, host C ==
simulator) and runs exact on qemu-m4."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgegen import api
from edgegen.keras.layers import problems


def _block() -> Any:
    import keras

    L = keras.layers
    keras.utils.set_random_seed(0)
    inp = keras.Input((12, 12, 8))
    h = L.Conv2D(24, 1, use_bias=False, name="expand")(inp)
    h = L.BatchNormalization(name="expand_bn")(h)
    h = L.Activation("hard_swish", name="expand_hswish")(h)
    h = L.DepthwiseConv2D(3, padding="same", use_bias=False, name="dw")(h)
    h = L.BatchNormalization(name="dw_bn")(h)
    h = L.Activation("hard_swish", name="dw_hswish")(h)
    s = L.GlobalAveragePooling2D(keepdims=True, name="se_pool")(h)
    s = L.Conv2D(8, 1, activation="relu", name="se_reduce")(s)
    s = L.Conv2D(24, 1, activation="hard_sigmoid", name="se_expand")(s)
    h = L.Multiply(name="se_gate")([h, s])
    h = L.Conv2D(8, 1, use_bias=False, name="project")(h)
    h = L.BatchNormalization(name="project_bn")(h)
    h = L.Add(name="residual")([inp, h])
    out = L.Dense(4, name="head")(L.GlobalAveragePooling2D(name="pool")(h))
    model = keras.Model(inp, out, name="mnv3_block")
    rng = np.random.default_rng(0)
    for bn in ("expand_bn", "dw_bn", "project_bn"):
        n = model.get_layer(bn).gamma.shape[0]
        model.get_layer(bn).set_weights([rng.uniform(0.5, 1.5, n), rng.normal(0, 0.3, n), rng.normal(0, 0.3, n),
                                         rng.uniform(0.5, 1.5, n)])
    return model


def test_mobilenetv3_block_builds_verifies_runs_exact(tmp_path: Path) -> None:
    x = np.random.default_rng(1).normal(size=(48, 12, 12, 8)).astype(np.float32)
    model = _block()
    assert problems(model) == []
    out = tmp_path / "m"
    result = api.build(model, out, board="qemu-m4", calib=x, inputs=x[:2], vectors=2)
    ops = [c.op_name for c in result.program.calls]
    assert {"HARD_SWISH", "DEPTHWISE_CONV_2D", "MEAN", "MUL", "ADD"} <= set(ops), ops
    assert ops.count("HARD_SWISH") == 2, ops
    assert api.verify(out, samples=3, inputs=x[:2]).ok
    run = api.run(out)
    assert run.result.verdict is True and run.result.vectors_passed == 2
