"""Structured pruning: removed channels leave a smaller model whose shapes stay consistent across
BatchNormalization, DepthwiseConv2D, residual Add, Concatenate and Flatten."""

from __future__ import annotations

import numpy as np
import pytest

from edgegen.errors import EdgegenError
from edgegen.keras.evaluate import float_predict
from edgegen.keras.prune_structured import prune_channels
from edgegen.keras.report import model_stats

from .conftest import random_images, small_cnn


def _zero_channels(model, rng: np.random.Generator) -> None:  # type: ignore[no-untyped-def]
    """Make half of every prunable group's channels exactly dead (zero filters, zero bias, BN
    folded to zero), so removing them must not change the model's outputs at all."""
    conv0, bn, conv_r, dw, conv_a, conv_b, dense = (model.get_layer(n) for n in ("c0", "bn", "cr", "dw", "ca", "cb",
                                                                                 "d1"))
    res = rng.choice(8, 4, replace=False)  # the residual group: conv0 + conv_r, through BN and DW
    k = conv0.get_weights()[0]
    k[..., res] = 0
    conv0.set_weights([k])
    gamma, beta, mean, var = bn.get_weights()
    beta[res] = 0
    mean[res] = 0
    bn.set_weights([gamma, beta, mean, var])
    for layer, chans in ((conv_r, res), (conv_a, rng.choice(6, 3, replace=False)),
                         (conv_b, rng.choice(4, 2, replace=False)), (dense, rng.choice(16, 8, replace=False))):
        w = layer.get_weights()
        w[0][..., chans] = 0
        w[1][chans] = 0
        layer.set_weights(w)
    w = dw.get_weights()
    w[1][res] = 0
    dw.set_weights(w)


def test_dead_channels_are_removed_without_changing_outputs() -> None:
    model = small_cnn()
    _zero_channels(model, np.random.default_rng(1))
    x = random_images(16)
    res = prune_channels(model, 0.5, criterion="l1")
    pruned = res.model
    # every group lost half its channels; the output layer kept its 5 units
    sizes = {g.producers: (g.before, g.after) for g in res.groups}
    assert sorted(sizes.values()) == [(4, 2), (6, 3), (8, 4), (16, 8)]
    assert any("model output" in why for _, why in res.kept)
    assert pruned.outputs[0].shape[-1] == 5
    np.testing.assert_allclose(float_predict(pruned, x), float_predict(model, x), rtol=1e-4, atol=1e-5)
    before, after = model_stats(model), model_stats(pruned)
    assert after.params < 0.5 * before.params and after.macs < 0.5 * before.macs


@pytest.mark.parametrize("criterion", ["l1", "l2", "activation"])
def test_zero_fraction_is_identity(criterion: str) -> None:
    model = small_cnn(seed=2)
    x = random_images(8, seed=3)
    res = prune_channels(model, 0.0, criterion=criterion, data=x)
    assert model_stats(res.model).params == model_stats(model).params
    np.testing.assert_allclose(float_predict(res.model, x), float_predict(model, x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("criterion", ["l2", "activation"])
def test_criteria_keep_shapes_consistent(criterion: str) -> None:
    model = small_cnn(seed=4)
    x = random_images(8, seed=5)
    res = prune_channels(model, 0.75, criterion=criterion, data=x)
    out = float_predict(res.model, x)
    assert out.shape == (8, 5) and np.all(np.isfinite(out))
    assert all(g.after == max(1, round(0.25 * g.before)) for g in res.groups)


def test_sequential_model() -> None:
    import keras

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((10,)), keras.layers.Dense(32, activation="relu"),
                              keras.layers.Dense(16, activation="relu"), keras.layers.Dense(3)])
    res = prune_channels(model, 0.5)
    assert [layer.units for layer in res.model.layers] == [16, 8, 3]


def test_unknown_layer_keeps_its_channels() -> None:
    import keras

    inp = keras.Input((8, 8, 2))
    h = keras.layers.Conv2D(8, 3)(inp)
    h = keras.layers.LayerNormalization()(h)  # per-channel weights edgegen does not slice
    h = keras.layers.Conv2D(6, 3, activation="relu")(h)
    out = keras.layers.Dense(2)(keras.layers.GlobalAveragePooling2D()(h))
    model = keras.Model(inp, out)
    res = prune_channels(model, 0.5)
    assert [(g.before, g.after) for g in res.groups] == [(6, 3)]
    assert any("LayerNormalization" in why for _, why in res.kept)
    assert float_predict(res.model, random_images(2, (8, 8, 2))).shape == (2, 2)


def test_bad_fraction_and_criterion() -> None:
    model = small_cnn()
    with pytest.raises(EdgegenError, match="fraction"):
        prune_channels(model, 1.0)
    with pytest.raises(EdgegenError, match="criterion"):
        prune_channels(model, 0.5, criterion="random")
    with pytest.raises(EdgegenError, match="sample data"):
        prune_channels(model, 0.5, criterion="activation")


def _flatten_separable(seed: int = 0):  # type: ignore[no-untyped-def]
    """Conv2D -> SeparableConv2D (depth multiplier 2) -> Conv2D -> Flatten -> Dropout -> Dense -> Dense."""
    import keras

    keras.utils.set_random_seed(seed)
    inp = keras.Input((8, 8, 3))
    h = keras.layers.Conv2D(6, 3, name="c1")(inp)
    h = keras.layers.SeparableConv2D(8, 3, depth_multiplier=2, activation="relu", name="sep")(h)
    h = keras.layers.Conv2D(4, 1, name="clast")(h)
    h = keras.layers.Dropout(0.3, name="drop")(keras.layers.Flatten(name="flat")(h))
    h = keras.layers.Dense(10, activation="relu", name="d1")(h)
    return keras.Model(inp, keras.layers.Dense(3, name="out")(h))


def test_flatten_dropout_dense_and_separable_conv_are_pruned() -> None:
    """Dead channels (zero filters and biases) in every group, so removing them must not change the
    outputs: the last conv's pruned filters remove their rows of the Dense after Flatten -> Dropout,
    and SeparableConv2D loses depthwise input channels and pointwise inputs and outputs."""
    model = _flatten_separable()
    rng = np.random.default_rng(4)
    dead = {"c1": rng.choice(6, 3, replace=False), "clast": rng.choice(4, 2, replace=False),
            "d1": rng.choice(10, 5, replace=False)}
    for name, chans in dead.items():
        w = model.get_layer(name).get_weights()
        w[0][..., chans] = 0
        w[1][chans] = 0
        model.get_layer(name).set_weights(w)
    sep = model.get_layer("sep")
    dw, pw, b = sep.get_weights()
    dead["sep"] = rng.choice(8, 4, replace=False)
    pw[..., dead["sep"]] = 0
    b[dead["sep"]] = 0
    sep.set_weights([dw, pw, b])
    res = prune_channels(model, 0.5, criterion="l1")
    pruned = res.model
    sizes = {g.producers: (g.before, g.after) for g in res.groups}
    assert sizes == {("c1",): (6, 3), ("sep",): (8, 4), ("clast",): (4, 2), ("d1",): (10, 5)}, res.lines()
    x = random_images(16, shape=(8, 8, 3))
    np.testing.assert_allclose(float_predict(pruned, x), float_predict(model, x), rtol=1e-4, atol=1e-5)
    # the kept channels' weights, exactly: depthwise input channels, pointwise rows (channel c feeds
    # rows 2c and 2c + 1) and columns, and the Dense rows (4 x 4 positions x the 2 kept channels)
    keep_c1 = np.setdiff1d(np.arange(6), dead["c1"])
    keep_sep = np.setdiff1d(np.arange(8), dead["sep"])
    keep_last = np.setdiff1d(np.arange(4), dead["clast"])
    pdw, ppw, _ = pruned.get_layer("sep").get_weights()
    np.testing.assert_array_equal(pdw, dw[:, :, keep_c1, :])
    rows = np.stack([2 * keep_c1, 2 * keep_c1 + 1], axis=1).reshape(-1)
    np.testing.assert_array_equal(ppw, pw[:, :, rows, :][..., keep_sep])
    dense_rows = (np.arange(16)[:, None] * 4 + keep_last).reshape(-1)
    np.testing.assert_array_equal(pruned.get_layer("d1").get_weights()[0],
                                  model.get_layer("d1").get_weights()[0][dense_rows][:, np.setdiff1d(np.arange(10),
                                                                                                     dead["d1"])])


def test_separable_conv_macs_counted() -> None:
    """MACs by hand: conv 6x6x6x27, separable depthwise 4x4x(6x2)x9 + pointwise 4x4x8x12,
    1x1 conv 4x4x4x8, Dense 64x10 and 10x3."""
    stats = model_stats(_flatten_separable())
    assert stats.macs == 36 * 6 * 27 + 16 * 12 * 9 + 16 * 8 * 12 + 16 * 4 * 8 + 64 * 10 + 10 * 3
