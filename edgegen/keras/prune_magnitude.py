"""Unstructured magnitude pruning, natively on Keras 3 (no tensorflow-model-optimization).

The smallest-magnitude weights of every Conv2D, DepthwiseConv2D and Dense kernel are zeroed,
globally (the default: one threshold across all kernels, so the sparsity lands where weights are
redundant, mostly the big Dense layers) or per layer (every kernel reaches the target, which
at 80% leaves a 3x3 first conv with two weights a filter; measured in docs/keras.md).

With training data the sparsity follows a polynomial-decay schedule during fine-tuning
(Zhu & Gupta 2017, as in TFMOT): masks are recomputed every ``frequency`` steps and re-applied
after every optimizer step, so pruned weights stay zero in every forward pass.

Sparsity alone saves nothing on the target: CMSIS-NN's int8 kernels are dense, so the zeros are
stored in flash and multiplied like any other weight. It is a step towards structured pruning or
compressed storage, and the report says so instead of claiming savings.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import EdgegenError
from ._tf import keras
from .data import Dataset
from .finetune import TrainConfig, finetune

SCOPES = ("layer", "global")
_PRUNABLE = ("Conv2D", "Conv1D", "DepthwiseConv2D", "DepthwiseConv1D", "Dense")


@dataclass(frozen=True)
class PolynomialDecay:
    """Sparsity ramping from ``initial`` to ``final`` between ``begin_step`` and ``end_step``:
    s(t) = final + (initial - final) * (1 - p)^power, p the fraction of the ramp done."""

    initial: float
    final: float
    begin_step: int
    end_step: int
    power: float = 3.0
    frequency: int = 50

    def sparsity(self, step: int) -> float:
        if step <= self.begin_step:
            return self.initial
        if step >= self.end_step:
            return self.final
        p = (step - self.begin_step) / max(self.end_step - self.begin_step, 1)
        return float(self.final + (self.initial - self.final) * (1.0 - p) ** self.power)

    def update_now(self, step: int) -> bool:
        """Masks change on these steps (and at the end of the ramp)."""
        return self.begin_step <= step <= self.end_step and (
            (step - self.begin_step) % self.frequency == 0 or step == self.end_step)


@dataclass(frozen=True)
class UnstructuredResult:
    model: Any
    target: float
    scope: str
    #: (layer, weights, zeros) per pruned kernel
    layers: tuple[tuple[str, int, int], ...]
    fine_tuned: bool

    @property
    def sparsity(self) -> float:
        total = sum(n for _, n, _ in self.layers)
        return sum(z for _, _, z in self.layers) / total if total else 0.0

    def lines(self) -> list[str]:
        how = "polynomial-decay schedule during fine-tuning" if self.fine_tuned else "one shot, no fine-tuning"
        out = [f"unstructured magnitude pruning ({self.scope}, {how}): {100 * self.sparsity:.1f}% of "
               f"{sum(n for _, n, _ in self.layers):,} kernel weights are zero"]
        out += [f"  {name}: {100 * z / n:.1f}% zero of {n:,}" for name, n, z in self.layers]
        out.append("  note: CMSIS-NN kernels are dense: zeros take the same flash and the same time as any "
                   "weight, so this saves neither (use --prune-mode structured, or block / nm, whose zeros "
                   "edgegen's sparse formats can skip, for real savings)")
        return out


def _np(v: Any) -> np.ndarray:
    """A Keras variable's value (``np.asarray`` on one warns under NumPy 2)."""
    return np.asarray(v.numpy() if hasattr(v, "numpy") else v)


def _base_kind(layer: Any) -> str:
    for c in type(layer).__mro__:
        if c.__module__.startswith("keras."):
            return c.__name__
    return type(layer).__name__


def prunable_kernels(model: Any) -> list[tuple[str, Any]]:
    """(layer name, kernel variable) of every layer magnitude pruning applies to."""
    out = []
    for layer in model.layers:
        if hasattr(layer, "layers"):
            out.extend(prunable_kernels(layer))
        elif _base_kind(layer) in _PRUNABLE:
            var = getattr(layer, "depthwise_kernel", None) if "Depthwise" in _base_kind(layer) else None
            var = var if var is not None else getattr(layer, "kernel", None)
            if var is not None:
                out.append((layer.name, var))
    return out


def compute_masks(kernels: list[np.ndarray], sparsity: float, scope: str = "layer") -> list[np.ndarray]:
    """Boolean keep-masks zeroing the ``sparsity`` fraction of smallest-magnitude weights."""
    if scope not in SCOPES:
        raise EdgegenError(f"unknown pruning scope '{scope}'; use 'layer' or 'global'")
    if scope == "global":
        mags = np.concatenate([np.abs(k).ravel() for k in kernels])
        n = round(sparsity * mags.size)
        if n == 0:
            return [np.ones(k.shape, bool) for k in kernels]
        threshold = np.partition(mags, n - 1)[n - 1]
        return [np.abs(k) > threshold for k in kernels]
    masks = []
    for k in kernels:
        flat = np.abs(k).ravel()
        n = round(sparsity * flat.size)
        m = np.ones(flat.size, bool)
        if n:
            m[np.argpartition(flat, n - 1)[:n]] = False
        masks.append(m.reshape(k.shape))
    return masks


#: keep-masks of the kernels at a sparsity: unstructured here, blocks and N:M in .prune_block
Masker = Callable[[list[np.ndarray], float], list[np.ndarray]]


def pruning_callback(kernels: list[tuple[str, Any]], schedule: PolynomialDecay, masker: Masker) -> Any:
    """A callback pruning ``kernels`` along ``schedule`` with ``masker``'s masks, re-applied after
    every optimizer step so the pruned weights are zero in every forward pass."""
    k = keras()

    class MaskCallback(k.callbacks.Callback):  # type: ignore[misc, name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.step = 0
            self.masks: list[np.ndarray] = [np.ones(v.shape, bool) for _, v in kernels]

        def _update(self) -> None:
            s = schedule.sparsity(self.step)
            self.masks = masker([_np(v) for _, v in kernels], s)

        def _apply(self) -> None:
            for (_, v), m in zip(kernels, self.masks, strict=True):
                v.assign(_np(v) * m)

        def on_train_begin(self, logs: Any = None) -> None:
            self._update()
            self._apply()

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            self.step += 1
            if schedule.update_now(self.step):
                self._update()
            self._apply()

        def on_train_end(self, logs: Any = None) -> None:
            # the schedule ends at the target, whatever the step count turned out to be
            self.masks = masker([_np(v) for _, v in kernels], schedule.final)
            self._apply()

    return MaskCallback()


def copy_model(model: Any) -> Any:
    k = keras()
    new = k.models.clone_model(model)
    new.set_weights(model.get_weights())
    return new


def ramp(sparsity: float, train: Dataset, config: TrainConfig, frequency: int = 50) -> PolynomialDecay:
    """The schedule of pruning during fine-tuning: a ramp over the first half, then training at the
    final sparsity for the rest to recover."""
    steps = config.epochs * int(np.ceil(len(train) * (1 - config.validation_split) / config.batch_size))
    return PolynomialDecay(0.0, sparsity, 0, max(1, steps // 2), frequency=max(1, min(frequency, steps // 20)))


def prune_unstructured(model: Any, sparsity: float, *, scope: str = "global", train: Dataset | None = None,
                       config: TrainConfig | None = None, frequency: int = 50) -> UnstructuredResult:
    """A copy of ``model`` with ``sparsity`` of its kernel weights zero (fine-tuned when ``train``)."""
    if not 0.0 <= sparsity < 1.0:
        raise EdgegenError(f"--prune {sparsity}: the sparsity must be in [0, 1)")
    config = config or TrainConfig()
    new = copy_model(model)
    kernels = prunable_kernels(new)
    if not kernels:
        raise EdgegenError(f"model '{model.name}' has no Conv2D, DepthwiseConv2D or Dense kernel to prune")
    if train is None:
        masks = compute_masks([_np(v) for _, v in kernels], sparsity, scope)
        for (_, v), m in zip(kernels, masks, strict=True):
            v.assign(_np(v) * m)
    else:
        schedule = ramp(sparsity, train, config, frequency)
        finetune(new, train, config, callbacks=[pruning_callback(
            kernels, schedule, lambda ks, s: compute_masks(ks, s, scope))])
    zeros = tuple((name, int(_np(v).size), int(_np(v).size - np.count_nonzero(_np(v))))
                  for name, v in kernels)
    return UnstructuredResult(model=new, target=sparsity, scope=scope, layers=zeros, fine_tuned=train is not None)
