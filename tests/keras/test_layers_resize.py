"""UpSampling2D (nearest and bilinear; in nested functional and Sequential models too) and Resizing in a
small U-Net-ish decoder: it builds from Keras (RESIZE_NEAREST_NEIGHBOR, RESIZE_BILINEAR), verifies
(simulator == TFLM, host C == simulator) and runs exact on qemu-m4. Keras 3's nearest UpSampling2D
would convert to RESHAPE/TILE chains TFLM cannot run; edgegen's conversion calls it as the nearest
resize it equals, which is checked here on the float model too (same outputs, bit for bit)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgegen import api
from edgegen.keras.convert import batch_one


def _unet(x: np.ndarray) -> Any:
    import keras

    keras.utils.set_random_seed(0)
    inp = keras.Input((12, 8, 3))
    e1 = keras.layers.Conv2D(6, 3, padding="same", activation="relu", name="e1")(inp)
    e2 = keras.layers.Conv2D(8, 3, strides=2, padding="same", activation="relu", name="e2")(e1)
    e3 = keras.layers.Conv2D(12, 3, strides=2, padding="same", activation="relu", name="e3")(e2)
    # decoder: nearest (2x2) and bilinear (2x2) up-sampling, each joined with its skip connection
    d2 = keras.layers.UpSampling2D(2, interpolation="nearest", name="up_nearest")(e3)
    d2 = keras.layers.Concatenate()([d2, e2])
    # (named as edgegen would name the resize it puts in place of "up_nearest": it picks another name)
    d2 = keras.layers.Conv2D(8, 3, padding="same", activation="relu", name="up_nearest_as_resize")(d2)
    d1 = keras.layers.UpSampling2D(2, interpolation="bilinear", name="up_bilinear")(d2)
    d1 = keras.layers.Concatenate()([d1, e1])
    d1 = keras.layers.Conv2D(4, 3, padding="same", name="d1")(d1)
    # a non-square nearest factor on a nested model, then a Resizing layer named as Keras names the
    # op of keras.ops.image.resize
    inner_in = keras.Input((3, 2, 12))
    inner = keras.Model(inner_in, keras.layers.UpSampling2D((4, 2), name="up_nested")(inner_in), name="inner")
    side = keras.layers.Conv2D(2, 1, name="side")(inner(e3))
    side = keras.layers.Resizing(12, 8, interpolation="bilinear", name="resize")(side)
    # and a nested Sequential stage
    seq = keras.Sequential([keras.Input((3, 2, 12)), keras.layers.Conv2D(3, 1, name="seq_conv"),
                            keras.layers.UpSampling2D(4, name="up_seq")], name="seq")
    out = keras.layers.Concatenate()([d1, side, seq(e3)])
    return keras.Model(inp, out, name="unet_resize")


def _images(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, 12, 8, 3)).astype(np.float32)


def _sequential() -> Any:
    import keras

    keras.utils.set_random_seed(1)
    return keras.Sequential([keras.Input((12, 8, 3)), keras.layers.Conv2D(4, 3, strides=2, padding="same"),
                             keras.layers.UpSampling2D((2, 3)), keras.layers.Conv2D(2, 1)], name="decoder")


def _nearest_layers(model: Any) -> list[Any]:
    import keras

    found = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found += _nearest_layers(layer)
        elif isinstance(layer, keras.layers.UpSampling2D) and layer.interpolation == "nearest":
            found.append(layer)
    return found


def test_nearest_upsampling_is_called_as_the_resize_it_equals() -> None:
    x = _images(4, 1)
    for model in (_unet(x), _sequential()):
        assert _nearest_layers(model)
        one = batch_one(model)
        assert not _nearest_layers(one), model.name
        for i in range(len(x)):
            assert np.array_equal(np.asarray(one(x[i : i + 1])), np.asarray(model(x[i : i + 1]))), model.name


def test_upsampling_model_builds_verifies_and_runs(tmp_path: Path) -> None:
    x = _images(48, 0)
    out = tmp_path / "m"
    result = api.build(_unet(x), out, board="qemu-m4", calib=x, inputs=x[:2], vectors=2)
    ops = [c.op_name for c in result.program.calls]
    assert ops.count("RESIZE_NEAREST_NEIGHBOR") == 3 and ops.count("RESIZE_BILINEAR") == 2, ops
    assert "TILE" not in ops
    assert api.verify(out, samples=3, inputs=x[:2]).ok
    run = api.run(out)
    assert run.result.verdict is True and run.result.vectors_passed == 2

