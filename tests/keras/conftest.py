"""Fixtures for the Keras front-end tests: real models from ../shared and small Keras models."""

from __future__ import annotations

from typing import Any

import numpy as np


def small_cnn(seed: int = 0) -> Any:
    """A residual CNN touching every structured-pruning case: BN, DepthwiseConv2D, Add,
    Concatenate, Flatten into Dense."""
    import keras

    keras.utils.set_random_seed(seed)
    inp = keras.Input((12, 12, 3))
    h = keras.layers.Conv2D(8, 3, padding="same", use_bias=False, name="c0")(inp)
    h = keras.layers.BatchNormalization(name="bn")(h)
    h = keras.layers.ReLU()(h)
    r = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="cr")(h)
    r = keras.layers.DepthwiseConv2D(3, padding="same", name="dw")(r)
    h = keras.layers.Add()([h, r])
    a = keras.layers.Conv2D(6, 1, activation="relu", name="ca")(h)
    b = keras.layers.MaxPooling2D(1)(keras.layers.Conv2D(4, 3, padding="same", name="cb")(h))
    h = keras.layers.Concatenate()([a, b])
    h = keras.layers.AveragePooling2D(2)(h)
    h = keras.layers.Flatten()(h)
    h = keras.layers.Dense(16, activation="relu", name="d1")(h)
    out = keras.layers.Dense(5)(h)
    model = keras.Model(inp, out, name="small_cnn")
    # non-trivial BN statistics so a wrong slice shows up in the outputs
    bn = model.get_layer("bn")
    rng = np.random.default_rng(seed)
    bn.set_weights([rng.uniform(0.5, 2, 8), rng.normal(0, 0.5, 8), rng.normal(0, 0.5, 8), rng.uniform(0.5, 2, 8)])
    return model


def random_images(n: int, shape: tuple[int, ...] = (12, 12, 3), seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-1, 1, (n, *shape)).astype(np.float32)
