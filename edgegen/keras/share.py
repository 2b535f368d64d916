"""Weight sharing (trained quantization, Deep Compression's second stage), natively on Keras 3.

Every Conv, DepthwiseConv and Dense kernel's weights are clustered with 1-D k-means into at most
2**bits values per output channel (``granularity="channel"``, the default) or per layer
(``"layer"``: one codebook, which also leaves at most 2**bits values in every channel). Zeros of
a pruned kernel form one fixed centroid that stays exactly 0 and keeps every pruned weight; the
non-zero weights share the other 2**bits - 1 centroids (all 2**bits when the kernel has no zero).

Why per channel: TFLite quantizes these kernels per output channel (symmetric int8, scale =
max|w| / 127), so a channel with k distinct floats has at most k distinct int8 values (rounding
can only merge values, and 0 stays 0) whatever the codebook granularity; a codebook per channel
fits each channel's range and costs nothing extra once the int8 values are what edgegen's core
detects and stores (its codebooks are per channel). BatchNormalization folded into a conv
multiplies each channel by one factor, which keeps its count of distinct values.

Initialisation: linear (centroids evenly spaced between the smallest and largest weight, the
default: Deep Compression found it keeps the rare large weights, which matter most) or density
(quantiles of the weights). 20 Lloyd iterations.

Fine-tuning keeps the centroids shared by projection: the cluster assignment is fixed (as in Deep
Compression), and after every optimizer step each cluster's weights are replaced by their mean, so
a centroid moves by the mean of its members' updates (under SGD exactly the summed gradient of its
weights over the cluster size, Deep Compression's update) and every forward pass, and the saved
model, sees shared weights; pruned weights are reset to 0.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import EdgegenError
from ._tf import keras
from .data import Dataset
from .finetune import TrainConfig, finetune
from .prune_magnitude import _base_kind, _np, copy_model, prunable_kernels

GRANULARITIES = ("channel", "layer")
INITS = ("linear", "density")
ITERATIONS = 20


def channel_rows(kernel: np.ndarray, depthwise: bool) -> np.ndarray:
    """``[output channels, weights]`` in TFLite's order: a DepthwiseConv kernel ``(kh, kw, cin,
    mult)`` has output channel ``c * mult + m``, every other kernel's output channel is its last axis."""
    flat = kernel.reshape(int(np.prod(kernel.shape[:-2])), -1) if depthwise else kernel.reshape(-1, kernel.shape[-1])
    return np.ascontiguousarray(flat.T)


def from_channel_rows(r: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    return np.ascontiguousarray(r.T).reshape(shape)


def kmeans(r: np.ndarray, k: int, *, init: str = "linear", iterations: int = ITERATIONS
           ) -> tuple[np.ndarray, np.ndarray]:
    """(centroids ``[rows, k]``, assignment ``[rows, n]``) clustering each row of ``r``. When the
    row set holds exact zeros (a pruned kernel), centroid 0 is fixed at 0.0 and holds exactly the
    zero weights; the others cluster the non-zero weights."""
    if init not in INITS:
        raise EdgegenError(f"weight sharing: unknown init '{init}'; use {' or '.join(INITS)}")
    w = r.astype(np.float64)
    rows_n, _ = w.shape
    active = w != 0
    pruned = not bool(active.all())
    free = k - 1 if pruned else k
    if free < 1:
        raise EdgegenError(f"weight sharing with {k} values leaves none for the non-zero weights of a pruned "
                           "kernel; give at least 2 bits")
    big = np.where(active, w, np.nan)
    with np.errstate(all="ignore"), warnings.catch_warnings():
        # a channel pruned to all zeros has no weight to place centroids on (nan, then 0 below)
        warnings.simplefilter("ignore", RuntimeWarning)
        if init == "linear":
            lo, hi = np.nanmin(big, axis=1), np.nanmax(big, axis=1)
            c = lo[:, None] + (hi - lo)[:, None] * np.linspace(0.0, 1.0, free)[None, :]
        else:
            c = np.nanquantile(big, (np.arange(free) + 0.5) / free, axis=1).T
    c = np.nan_to_num(c)  # rows with no non-zero weight
    base = np.arange(rows_n)[:, None] * free
    for _ in range(iterations):
        assign = np.argmin(np.abs(w[:, :, None] - c[:, None, :]), axis=-1)
        idx = (base + assign)[active]
        sums = np.bincount(idx, weights=w[active], minlength=rows_n * free).reshape(rows_n, free)
        counts = np.bincount(idx, minlength=rows_n * free).reshape(rows_n, free)
        new = np.where(counts > 0, sums / np.maximum(counts, 1), c)
        if np.array_equal(new, c):
            break
        c = new
    assign = np.argmin(np.abs(w[:, :, None] - c[:, None, :]), axis=-1)
    if pruned:
        c = np.concatenate([np.zeros((rows_n, 1)), c], axis=1)
        assign = np.where(active, assign + 1, 0)
    return c, assign


@dataclass(frozen=True)
class _Shared:
    name: str
    var: Any
    depthwise: bool
    #: the granularity's rows: ``[groups, n]`` cluster index of every weight, and centroids per group
    assign: np.ndarray
    k: int
    #: whether centroid 0 is the fixed zero of a pruned kernel
    zero: bool
    layer: bool

    def project(self, kernel: np.ndarray) -> np.ndarray:
        """Every cluster's weights replaced by their mean (the fixed zero stays 0)."""
        r = channel_rows(kernel, self.depthwise)
        g = r.reshape(1, -1) if self.layer else r
        idx = (np.arange(g.shape[0])[:, None] * self.k + self.assign).ravel()
        n = g.shape[0] * self.k
        sums = np.bincount(idx, weights=g.ravel().astype(np.float64), minlength=n)
        counts = np.bincount(idx, minlength=n)
        c = (sums / np.maximum(counts, 1)).reshape(g.shape[0], self.k)
        if self.zero:
            c[:, 0] = 0.0
        out = np.take_along_axis(c, self.assign, axis=1).reshape(r.shape).astype(kernel.dtype)
        return from_channel_rows(out, kernel.shape)


def _cluster(name: str, var: Any, depthwise: bool, bits: int, granularity: str, init: str) -> _Shared:
    kernel = _np(var)
    r = channel_rows(kernel, depthwise)
    g = r.reshape(1, -1) if granularity == "layer" else r
    k = 2**bits
    c, assign = kmeans(g, k, init=init)
    zero = not bool((g != 0).all())
    shared = _Shared(name=name, var=var, depthwise=depthwise, assign=assign, k=c.shape[1], zero=zero,
                     layer=granularity == "layer")
    out = np.take_along_axis(c, assign, axis=1).reshape(r.shape).astype(kernel.dtype)
    var.assign(from_channel_rows(out, kernel.shape))
    return shared


def _sharing_callback(shared: list[_Shared]) -> Any:
    k = keras()

    class ShareCallback(k.callbacks.Callback):  # type: ignore[misc, name-defined]
        def on_train_batch_end(self, batch: int, logs: Any = None) -> None:
            for s in shared:
                s.var.assign(s.project(_np(s.var)))

    return ShareCallback()


def distinct_per_channel(kernel: np.ndarray, depthwise: bool) -> int:
    """The largest number of distinct values in one output channel."""
    r = channel_rows(kernel, depthwise)
    return max(len(np.unique(row)) for row in r)


@dataclass(frozen=True)
class SharingResult:
    model: Any
    bits: int
    granularity: str
    init: str
    #: (layer, weights, most distinct values in one output channel, zeros)
    layers: tuple[tuple[str, int, int, int], ...]
    fine_tuned: bool

    def lines(self) -> list[str]:
        how = ("fine-tuned with the centroids shared (each cluster's weights averaged after every step)"
               if self.fine_tuned else "not fine-tuned (no --train data): expect an accuracy drop")
        out = [f"weight sharing: {self.bits}-bit ({2**self.bits} values) per {self.granularity}, k-means with "
               f"{self.init} init, zero kept as a fixed centroid; {how}"]
        out += [f"  {name}: {n:,} weights, at most {d} distinct values per output channel ({100 * z / n:.1f}% zero)"
                for name, n, d, z in self.layers]
        return out


def share_weights(model: Any, bits: int, *, granularity: str = "channel", init: str = "linear",
                  train: Dataset | None = None, config: TrainConfig | None = None) -> SharingResult:
    """A copy of ``model`` whose kernels hold at most ``2**bits`` distinct values per output channel
    (zeros kept), fine-tuned with the sharing held when ``train`` is given."""
    if not 1 <= bits <= 7:
        raise EdgegenError(f"--share-weights {bits}: give 1 to 7 bits (int8 weights have 8)")
    if granularity not in GRANULARITIES:
        raise EdgegenError(f"weight sharing per '{granularity}': use {' or '.join(GRANULARITIES)}")
    new = copy_model(model)
    kernels = prunable_kernels(new)
    if not kernels:
        raise EdgegenError(f"model '{model.name}' has no Conv2D, DepthwiseConv2D or Dense kernel to share")
    kinds = {layer.name: "Depthwise" in _base_kind(layer) for layer in _layers(new)}
    shared = [_cluster(name, var, kinds.get(name, False), bits, granularity, init) for name, var in kernels]
    if train is not None:
        finetune(new, train, config or TrainConfig(), callbacks=[_sharing_callback(shared)])
        for s in shared:  # exact after the last step too
            s.var.assign(s.project(_np(s.var)))
    layers = tuple((s.name, int(_np(s.var).size), distinct_per_channel(_np(s.var), s.depthwise),
                    int(_np(s.var).size - np.count_nonzero(_np(s.var)))) for s in shared)
    return SharingResult(model=new, bits=bits, granularity=granularity, init=init, layers=layers,
                         fine_tuned=train is not None)


def _layers(model: Any) -> list[Any]:
    out: list[Any] = []
    for layer in model.layers:
        out += _layers(layer) if hasattr(layer, "layers") else [layer]
    return out
