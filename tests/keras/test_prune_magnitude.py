"""Unstructured magnitude pruning: the schedule, exact mask sparsity, masks held through training."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from edgegen.errors import EdgegenError
from edgegen.keras.data import Dataset
from edgegen.keras.finetune import TrainConfig
from edgegen.keras.prune_magnitude import PolynomialDecay, compute_masks, prunable_kernels, prune_unstructured

from .conftest import random_images, small_cnn


def test_polynomial_decay_schedule() -> None:
    s = PolynomialDecay(0.0, 0.8, begin_step=10, end_step=110, power=3, frequency=10)
    values = [s.sparsity(t) for t in range(0, 130)]
    assert values[0] == 0.0 and values[10] == 0.0 and values[110] == pytest.approx(0.8) and values[129] == 0.8
    assert all(b >= a for a, b in itertools.pairwise(values))
    # polynomial decay front-loads the pruning: half-way through the ramp is past 7/8 of the target
    assert s.sparsity(60) == pytest.approx(0.8 * (1 - 0.5**3))
    assert [t for t in range(130) if s.update_now(t)] == list(range(10, 111, 10))


@pytest.mark.parametrize("scope", ["layer", "global"])
def test_masks_hit_the_sparsity(scope: str) -> None:
    rng = np.random.default_rng(0)
    kernels = [rng.normal(size=(3, 3, 4, 8)), rng.normal(0, 5, size=(100, 10))]
    masks = compute_masks(kernels, 0.7, scope)
    total = sum(m.size for m in masks)
    zeros = sum(int((~m).sum()) for m in masks)
    assert zeros == round(0.7 * total) or abs(zeros - 0.7 * total) <= len(kernels)
    if scope == "layer":
        assert all(abs((~m).mean() - 0.7) < 0.01 for m in masks)
    kept = np.concatenate([np.abs(k)[m] for k, m in zip(kernels, masks, strict=True)])
    dropped = np.concatenate([np.abs(k)[~m] for k, m in zip(kernels, masks, strict=True)])
    if scope == "global":
        assert kept.min() >= dropped.max()


def test_pruning_during_training_keeps_masks_and_leaves_the_original() -> None:
    model = small_cnn()
    original = [np.array(w) for w in model.get_weights()]
    rng = np.random.default_rng(0)
    x = random_images(256)
    y = rng.integers(0, 5, 256)
    res = prune_unstructured(model, 0.6, scope="layer", train=Dataset(x, y, "random"),
                             config=TrainConfig(epochs=2, batch_size=32, verbose=0))
    assert res.fine_tuned
    for _, var in prunable_kernels(res.model):
        zero = 1.0 - np.count_nonzero(np.asarray(var)) / np.asarray(var).size
        assert abs(zero - 0.6) < 0.02
    assert all(np.array_equal(a, np.asarray(b)) for a, b in zip(original, model.get_weights(), strict=True))
    text = "\n".join(res.lines())
    assert "saves neither" in text and "CMSIS-NN" in text


def test_one_shot_without_training() -> None:
    res = prune_unstructured(small_cnn(), 0.5, scope="global")
    assert not res.fine_tuned and abs(res.sparsity - 0.5) < 0.01
    with pytest.raises(EdgegenError, match="sparsity"):
        prune_unstructured(small_cnn(), 1.5)
