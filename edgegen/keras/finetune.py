"""Fine-tuning after pruning: a loss chosen from the labels and the model's last layer."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import EdgegenError
from ._tf import keras
from .data import Dataset


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 3
    batch_size: int = 64
    learning_rate: float = 1e-3
    #: Keras's progress bar (1), one line per epoch (2) or silent (0)
    verbose: int = 1
    #: fraction of the training data held out to report validation accuracy
    validation_split: float = 0.0
    #: ``progress(what, done, total)`` after every batch; replaces Keras's own bar (``verbose``)
    progress: Callable[[str, int, int], None] | None = field(default=None, compare=False)


def ends_in_softmax(model: Any) -> bool:
    last = model.layers[-1] if model.layers else None
    if last is None:
        return False
    if type(last).__name__ == "Softmax":
        return True
    act = getattr(last, "activation", None)
    return getattr(act, "__name__", "") == "softmax"


def loss_for(model: Any, y: np.ndarray) -> tuple[Any, list[str]]:
    """Sparse/categorical cross-entropy for class labels (from logits unless the model ends in a
    softmax), mean squared error for anything else (regressors, autoencoders)."""
    k = keras()
    out_dim = int(model.outputs[0].shape[-1])
    logits = not ends_in_softmax(model)
    if y.ndim == 1 and y.dtype.kind in "iu" and out_dim > 1:
        return k.losses.SparseCategoricalCrossentropy(from_logits=logits), ["accuracy"]
    if y.ndim == 2 and y.shape[1] == out_dim > 1 and np.allclose(y.sum(1), 1.0) and np.all(y >= 0):
        return k.losses.CategoricalCrossentropy(from_logits=logits), ["accuracy"]
    return k.losses.MeanSquaredError(), []


def finetune(model: Any, train: Dataset, config: TrainConfig | None = None,
             callbacks: list[Any] | None = None) -> Any:
    """Train ``model`` in place on ``train`` and return Keras's History."""
    config = config or TrainConfig()
    if train.y is None:
        raise EdgegenError(f"{train.source}: training data needs labels (a .npz with x and y)")
    k = keras()
    loss, metrics = loss_for(model, train.y)
    model.compile(optimizer=k.optimizers.Adam(config.learning_rate), loss=loss, metrics=metrics)
    extra = list(callbacks or [])
    verbose = config.verbose
    if config.progress is not None:
        extra.append(_progress_callback(config, config.progress, len(train)))
        verbose = 0
    return model.fit(train.x, train.y, epochs=config.epochs, batch_size=config.batch_size, verbose=verbose,
                     callbacks=extra, validation_split=config.validation_split, shuffle=True)


def _progress_callback(config: TrainConfig, report: Callable[[str, int, int], None], samples: int) -> Any:
    """Reports every batch as one step of ``epochs * steps`` to ``report``."""
    k = keras()
    steps = max(1, math.ceil(samples * (1.0 - config.validation_split) / config.batch_size))
    total = steps * config.epochs

    class Report(k.callbacks.Callback):  # type: ignore[misc, name-defined]
        def __init__(self) -> None:
            super().__init__()
            self.epoch = 0

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.epoch = epoch

        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            report("fine-tuning", min(self.epoch * steps + batch, total - 1), total)

    return Report()
