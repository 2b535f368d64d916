"""The issue-15 autoencoder: Rescaling with an offset at the input (the converter writes a MUL and
an ADD by constants), a stride-2 Conv2D encoder, and a decoder that mixes UpSampling2D (nearest,
converted as RESIZE_NEAREST_NEIGHBOR, and bilinear) with Conv2DTranspose (TRANSPOSE_CONV). It builds
from Keras, verifies (simulator == TFLM on every tensor, host C == simulator) and runs exact on
qemu-m4."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgegen import api


def _autoencoder() -> Any:
    import keras

    keras.utils.set_random_seed(3)
    bias = keras.initializers.RandomNormal(stddev=0.2, seed=4)
    inp = keras.Input((16, 16, 1))
    h = keras.layers.Rescaling(1 / 127.5, offset=-1.0, name="rescale")(inp)
    h = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="enc1")(h)
    h = keras.layers.Conv2D(12, 3, strides=2, padding="same", activation="relu", name="enc2")(h)
    h = keras.layers.UpSampling2D(2, interpolation="nearest", name="up_nearest")(h)
    h = keras.layers.Conv2DTranspose(8, 3, strides=1, padding="same", activation="relu", bias_initializer=bias,
                                     name="dec1")(h)
    h = keras.layers.UpSampling2D(2, interpolation="bilinear", name="up_bilinear")(h)
    out = keras.layers.Conv2DTranspose(1, 3, strides=1, padding="same", activation="sigmoid",
                                       bias_initializer=bias, name="dec2")(h)
    return keras.Model(inp, out, name="autoencoder15")


def test_upsampling_conv2d_transpose_autoencoder(tmp_path: Path) -> None:
    x = np.random.default_rng(2).uniform(0, 255, size=(32, 16, 16, 1)).astype(np.float32)
    out = tmp_path / "ae"
    result = api.build(_autoencoder(), out, board="qemu-m4", calib=x, inputs=x[:2], vectors=2)
    ops = [c.op_name for c in result.program.calls]
    assert {"RESIZE_NEAREST_NEIGHBOR", "RESIZE_BILINEAR", "TRANSPOSE_CONV"} <= set(ops), ops
    # Rescaling with an offset: a MUL and an ADD by constants at the input (edgegen's tables)
    assert ops[:2] == ["MUL", "ADD"] and "TILE" not in ops, ops
    assert api.verify(out, samples=3, inputs=x[:2]).ok
    run = api.run(out)
    assert run.result.verdict is True and run.result.vectors_passed == 2
