"""Keras layers that became int8 ops in issue 15 (Normalization and BatchNormalization at the input:
SUB/MUL/ADD with constant operands; Activation("hard_swish"): HARD_SWISH; ELU: the converter's
DEQUANTIZE -> ELU -> QUANTIZE island; PReLU; Maximum / Minimum) in one model: it builds from Keras,
verifies (simulator == TFLM, host C == simulator) and runs exact on qemu-m4."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgegen import api


def _model(x: np.ndarray) -> Any:
    import keras

    keras.utils.set_random_seed(0)
    inp = keras.Input((8, 8, 3))
    norm = keras.layers.Normalization(axis=-1, name="norm")
    norm.adapt(x)
    a = keras.layers.Conv2D(6, 3, padding="same", name="ca")(norm(inp))
    b = keras.layers.BatchNormalization(name="bn_first")(inp)
    b = keras.layers.Conv2D(6, 3, padding="same", name="cb")(b)
    h = keras.layers.Activation("hard_swish", name="hswish")(a)
    # (TensorFlow's converter keeps ELU in float: a layer reading it in float too, such as Maximum,
    # would stay float as well; a convolution reads the int8 QUANTIZE of it)
    e = keras.layers.Conv2D(6, 1, name="ce")(keras.layers.ELU(name="elu")(b))
    p = keras.layers.PReLU(shared_axes=[1, 2], name="prelu")(keras.layers.Conv2D(6, 1, name="cp")(h))
    mx = keras.layers.Maximum(name="max")([p, e])
    mn = keras.layers.Minimum(name="min")([h, e])
    y = keras.layers.Concatenate()([mx, mn])
    y = keras.layers.GlobalAveragePooling2D()(y)
    out = keras.layers.Dense(4)(y)
    model = keras.Model(inp, out, name="layers15")
    rng = np.random.default_rng(0)
    model.get_layer("bn_first").set_weights([rng.uniform(0.5, 2, 3), rng.normal(0, 0.5, 3), rng.normal(0, 0.5, 3),
                                             rng.uniform(0.5, 2, 3)])
    model.get_layer("prelu").set_weights([rng.uniform(-0.3, 0.8, (1, 1, 6)).astype(np.float32)])
    return model


def test_issue15_layers_build_verify_run(tmp_path: Path) -> None:
    x = (np.random.default_rng(1).normal(size=(48, 8, 8, 3)) * [2.0, 0.5, 5.0] + [1.0, -3.0, 0.0]).astype(np.float32)
    out = tmp_path / "m"
    result = api.build(_model(x), out, board="qemu-m4", calib=x, inputs=x[:2], vectors=2)
    ops = {c.op_name for c in result.program.calls}
    assert ops >= {"SUB", "MUL", "ADD", "HARD_SWISH", "ELU", "PRELU", "MAXIMUM", "MINIMUM"}, sorted(ops)
    assert api.verify(out, samples=3, inputs=x[:2]).ok
    run = api.run(out)
    assert run.result.verdict is True and run.result.vectors_passed == 2
