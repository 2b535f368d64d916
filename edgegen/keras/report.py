"""Model size and cost figures, and the short summary the CLI prints."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class ModelStats:
    """Parameters and multiply-accumulates of a Keras model (batch 1)."""

    params: int
    #: parameters that are not exactly zero (unstructured pruning zeroes weights in place)
    nonzero_params: int
    macs: int

    def line(self) -> str:
        return f"{self.params:,} params ({self.nonzero_params:,} non-zero), {self.macs:,} MACs"


def _shape(t: Any) -> tuple[int, ...]:
    return tuple(int(d) if d is not None else 1 for d in t.shape)


def layer_macs(layer: Any) -> int:
    """MACs of a Conv, DepthwiseConv, SeparableConv, Dense or LSTM layer's calls (0 for other layers); subclasses
    (such as the legacy-file shims) count by their base class name."""
    kind = next((c.__name__ for c in type(layer).__mro__ if c.__module__.startswith("keras")),
                type(layer).__name__)
    nodes = getattr(layer, "_inbound_nodes", [])
    total = 0
    for node in nodes:
        if not node.output_tensors or not node.input_tensors:
            continue
        out = _shape(node.output_tensors[0])
        cin = _shape(node.input_tensors[0])[-1]
        spatial = int(np.prod(out[1:-1])) if len(out) > 2 else 1
        if kind.startswith("SeparableConv"):
            # the depthwise part (cin x multiplier outputs, k taps each) then the 1x1 pointwise
            mult = int(getattr(layer, "depth_multiplier", 1))
            total += spatial * cin * mult * (int(np.prod(layer.kernel_size)) + out[-1])
        elif "Depthwise" in kind:
            total += spatial * out[-1] * int(np.prod(layer.kernel_size))
        elif kind.startswith("Conv"):
            k = int(np.prod(layer.kernel_size))
            total += spatial * out[-1] * k * cin // max(int(getattr(layer, "groups", 1)), 1)
        elif kind == "Dense":
            total += spatial * out[-1] * cin
        elif kind == "LSTM":
            # four gates per step, each an input and a recurrent product (the int8 op's count)
            steps, units = _shape(node.input_tensors[0])[1], int(layer.units)
            total += steps * 4 * units * (cin + units)
    return total


def model_stats(model: Any) -> ModelStats:
    weights = [np.asarray(w) for w in model.get_weights()]
    params = sum(int(w.size) for w in weights)
    nonzero = sum(int(np.count_nonzero(w)) for w in weights)
    macs = sum(layer_macs(layer) for layer in _all_layers(model))
    return ModelStats(params=params, nonzero_params=nonzero, macs=macs)


def _all_layers(model: Any) -> list[Any]:
    out: list[Any] = []
    for layer in getattr(model, "layers", []):
        if hasattr(layer, "layers") and layer is not model:
            out.extend(_all_layers(layer))
        else:
            out.append(layer)
    return out


def change(before: int, after: int) -> str:
    if before == 0:
        return "n/a"
    return f"{100.0 * (after - before) / before:+.1f}%"
