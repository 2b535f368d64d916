"""Keras Conv2DTranspose (TRANSPOSE_CONV) in a small convolutional autoencoder: an encoder of
stride-2 Conv2D layers and a decoder of Conv2DTranspose layers with stride 2 and 1, padding same
and valid, with a fused activation (which the converter fuses only with a bias) and without, with
and without a bias, more than 16 input channels. It builds from Keras, calls both
``arm_transpose_conv_s8`` (no top padding) and ``edgegen_transpose_conv_s8`` (a top padding), verifies
(simulator == TFLM, host C == simulator) and runs exact on qemu-m4."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgegen import api


def _autoencoder() -> Any:
    import keras

    keras.utils.set_random_seed(0)
    # Keras initializes biases to 0, which the converter drops: give the decoder real ones
    bias = keras.initializers.RandomNormal(stddev=0.2, seed=1)
    inp = keras.Input((12, 12, 3))
    h = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="enc1")(inp)
    h = keras.layers.Conv2D(20, 3, strides=2, padding="same", activation="relu", name="enc2")(h)
    # 3x3x20 -> 6x6x12: kernel 4, stride 2, SAME pads 1 on top (edgegen's kernel), ReLU fused
    h = keras.layers.Conv2DTranspose(12, 4, strides=2, padding="same", activation="relu", bias_initializer=bias,
                                     name="dec1")(h)
    # 6x6x12 -> 12x12x6: kernel 2, stride 2, VALID, no bias, no activation (arm_transpose_conv_s8)
    h = keras.layers.Conv2DTranspose(6, 2, strides=2, padding="valid", use_bias=False, name="dec2")(h)
    # 12x12x6 -> 14x14x6: kernel 3, stride 1, VALID (arm_transpose_conv_s8), ReLU6 fused
    h = keras.layers.Conv2DTranspose(6, 3, strides=1, padding="valid", activation="relu6", bias_initializer=bias,
                                     name="dec3")(h)
    h = keras.layers.Conv2D(5, 3, name="mix")(h)
    # 12x12x5 -> 24x24x3: kernel 3, stride 2, SAME pads the odd pixel at the end only (arm)
    out = keras.layers.Conv2DTranspose(3, 3, strides=2, padding="same", bias_initializer=bias, name="dec4")(h)
    return keras.Model(inp, out, name="tconv_autoencoder")


def test_conv2d_transpose_autoencoder_build_verify_run(tmp_path: Path) -> None:
    x = np.random.default_rng(1).uniform(-1, 1, size=(32, 12, 12, 3)).astype(np.float32)
    out = tmp_path / "m"
    result = api.build(_autoencoder(), out, board="qemu-m4", calib=x, inputs=x[:2], vectors=2)
    tconv = [c for c in result.program.calls if c.op_name == "TRANSPOSE_CONV"]
    assert len(tconv) == 4
    assert {c.function for c in tconv} == {"arm_transpose_conv_s8", "edgegen_transpose_conv_s8"}
    assert api.verify(out, samples=3, inputs=x[:2]).ok
    run = api.run(out)
    assert run.result.verdict is True and run.result.vectors_passed == 2
