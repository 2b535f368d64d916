"""The Keras side's rows of the before/after compression table (edgegen.compression_table): each
float stage's size and accuracy, and the int8 model's accuracy (from TFLM, which the compressed
model matches bit for bit, so it is the compressed stage's accuracy too)."""

from __future__ import annotations

from typing import Any

from .data import Dataset
from .evaluate import accuracy, float_predict
from .report import model_stats
from .targets import Targets


def stage_row(stage: str, model: Any, evaluation: Dataset | None = None, kind: Targets | None = None
              ) -> dict[str, Any]:
    """``stage`` (float32, pruned, shared): parameters, non-zero ones, float32 bytes, MACs and the
    float accuracy on ``evaluation`` (None without class labels)."""
    s = model_stats(model)
    acc = None
    if evaluation is not None and kind is not None and kind.classes:
        acc = accuracy(float_predict(model, evaluation.x).reshape(len(evaluation), -1), kind.array)
    return {"stage": stage, "params": s.params, "nonzero_params": s.nonzero_params, "weight_bytes": 4 * s.params,
            "macs": s.macs, "accuracy": acc}


def int8_row(comparison: Any) -> dict[str, Any]:
    acc = getattr(comparison, "int8_accuracy", None) if comparison is not None else None
    return {"stage": "int8", "accuracy": acc}
