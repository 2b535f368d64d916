"""Pruning shaped for the kernels: whole blocks of :data:`BLOCK` weights, or N of every M.

Unstructured zeros save nothing on the target (docs/keras.md); zeros grouped the way the sparse
kernels read the weights let them skip whole SIMD groups and store one index per group. The
grouping follows the contract with edgegen's sparse formats (docs/keras.md, "Compression"): a block
is BLOCK consecutive weights of one output channel along the flattened reduction axis in TFLite's
layout, i.e. for a Conv2D kernel ``(kh, kw, cin, cout)`` each output channel's ``(kh, kw, cin)``
flattened in C order, for a Dense kernel ``(in, out)`` each output's ``in`` weights; a partial
last block of a row is a block. N:M keeps the N largest-magnitude weights of every M consecutive
ones along the same axis (a partial last group of L keeps min(N, L)).

Layers whose output channels have fewer than :data:`MIN_ROW` weights (a 3x3 conv on one input
channel: 9) are left dense too: zeroing blocks of 4 of 9 weights removes whole features (on the
Fashion-MNIST CNN of docs/keras.md, pruning that first conv cost most of the accuracy lost), and
such layers hold few bytes.

DepthwiseConv2D is left dense: its reduction axis (kh, kw) is strided in TFLite's [1, kh, kw, C]
layout, so the contract's blocks do not exist for it (and its few weights matter most).

Pruning reuses :mod:`.prune_magnitude`'s polynomial-decay schedule and mask callback: block masks
follow the sparsity ramp; N:M masks keep M, then fewer, down to N weights per group as the ramp
advances (4:4, 3:4, 2:4 for 2:4), so the network adapts gradually here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import EdgegenError
from .data import Dataset
from .finetune import TrainConfig, finetune
from .prune_magnitude import SCOPES, _base_kind, _np, copy_model, pruning_callback, ramp
from .report import layer_macs

#: weights per block (one 32-bit SIMD load of int8 weights)
BLOCK = 4
MODES = ("block", "nm")
CRITERIA = ("l1", "l2")
#: output channels with fewer weights than this stay dense (see above)
MIN_ROW = 4 * BLOCK
_SHAPED = ("Conv2D", "Conv1D", "Dense")


def rows(kernel: np.ndarray) -> np.ndarray:
    """A Conv/Dense kernel as ``[out channels, reduction]`` in TFLite's weight order (a copy)."""
    return np.ascontiguousarray(kernel.reshape(-1, kernel.shape[-1]).T)


def from_rows(r: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    return np.ascontiguousarray(r.T).reshape(shape)


def block_scores(kernel: np.ndarray, criterion: str = "l2") -> tuple[np.ndarray, np.ndarray]:
    """(scores, sizes), both ``[out channels, blocks]``: each block's L1 or L2 norm and how many
    weights it holds. A partial last block's norm is scaled to a full block's (L1 by BLOCK/n, L2
    by sqrt(BLOCK/n)) so that holding fewer weights does not make it look weaker."""
    if criterion not in CRITERIA:
        raise EdgegenError(f"block pruning ranks blocks by 'l1' or 'l2' norm, not '{criterion}'")
    r = rows(kernel)
    c, n = r.shape
    nb = -(-n // BLOCK)
    padded = np.zeros((c, nb * BLOCK), r.dtype)
    padded[:, :n] = r
    b = padded.reshape(c, nb, BLOCK)
    sizes = np.full((c, nb), BLOCK)
    sizes[:, -1] = n - (nb - 1) * BLOCK
    if criterion == "l1":
        scores = np.abs(b).sum(-1) * (BLOCK / sizes)
    else:
        scores = np.sqrt((b.astype(np.float64) ** 2).sum(-1) * (BLOCK / sizes))
    return scores, sizes


def _expand(block_keep: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """A ``[out, blocks]`` keep-mask as the kernel's element mask."""
    c = shape[-1]
    n = int(np.prod(shape[:-1]))
    full = np.repeat(block_keep, BLOCK, axis=1)[:, :n]
    assert full.shape == (c, n)
    return from_rows(full, shape)


def block_masks(kernels: list[np.ndarray], sparsity: float, scope: str = "layer",
                criterion: str = "l2") -> list[np.ndarray]:
    """Keep-masks zeroing the weakest whole blocks until ``sparsity`` of the weights (per layer,
    or across all kernels for ``scope="global"``) are zero, never more."""
    if scope not in SCOPES:
        raise EdgegenError(f"unknown pruning scope '{scope}'; use 'layer' or 'global'")
    scored = [block_scores(k, criterion) for k in kernels]

    def drop(scores: np.ndarray, sizes: np.ndarray) -> np.ndarray:
        """True for the blocks to zero: the weakest first, as many as fit in the target count."""
        order = np.argsort(scores, kind="stable")
        target = round(sparsity * sizes.sum())
        k = int(np.searchsorted(np.cumsum(sizes[order]), target, side="right"))
        out = np.zeros(scores.size, bool)
        out[order[:k]] = True
        return out

    if scope == "global":
        flat = drop(np.concatenate([s.ravel() for s, _ in scored]), np.concatenate([z.ravel() for _, z in scored]))
        parts = np.split(flat, np.cumsum([s.size for s, _ in scored])[:-1])
    else:
        parts = [drop(s.ravel(), z.ravel()) for s, z in scored]
    return [_expand(~p.reshape(s.shape), k.shape) for p, (s, _), k in zip(parts, scored, kernels, strict=True)]


def nm_masks(kernels: list[np.ndarray], n: int, m: int) -> list[np.ndarray]:
    """Keep-masks with the ``n`` largest-magnitude weights of every ``m`` consecutive weights of a
    row (ties: the first); a partial last group of ``L`` keeps ``min(n, L)``."""
    if not 0 < n <= m:
        raise EdgegenError(f"--prune-nm {n}:{m}: N:M keeps N of every M weights, 0 < N <= M")
    out = []
    for kernel in kernels:
        r = np.abs(rows(kernel))
        c, length = r.shape
        ng = -(-length // m)
        padded = np.full((c, ng * m), -1.0)  # padding ranks below every real weight
        padded[:, :length] = r
        g = padded.reshape(c, ng, m)
        # the n largest of each group: stable descending order by magnitude
        order = np.argsort(-g, axis=-1, kind="stable")
        keep = np.zeros_like(g, bool)
        np.put_along_axis(keep, order[..., :n], True, axis=-1)
        keep = keep.reshape(c, ng * m)[:, :length]
        out.append(from_rows(keep, kernel.shape))
    return out


def parse_nm(text: str) -> tuple[int, int]:
    """``"2:4"`` -> (2, 4)."""
    try:
        n, m = (int(v) for v in text.split(":"))
    except ValueError:
        raise EdgegenError(f"--prune-nm '{text}': give N:M, e.g. 2:4 (keep 2 of every 4 weights)") from None
    if not 0 < n < m:
        raise EdgegenError(f"--prune-nm {text}: keep fewer than M and at least one weight of every M (0 < N < M)")
    return n, m


@dataclass(frozen=True)
class ShapedLayer:
    name: str
    weights: int
    zeros: int
    #: blocks (block mode) or N:M groups in the layer, and how many are all zero
    groups: int
    zero_groups: int
    #: the dense layer's MACs, and those on non-zero weights (what a kernel skipping zeros does)
    macs: int
    nonzero_macs: int


@dataclass(frozen=True)
class ShapedResult:
    model: Any
    mode: str
    target: float
    scope: str
    nm: tuple[int, int] | None
    layers: tuple[ShapedLayer, ...]
    #: layers left dense, with why
    skipped: tuple[str, ...]
    fine_tuned: bool

    @property
    def sparsity(self) -> float:
        total = sum(x.weights for x in self.layers)
        return sum(x.zeros for x in self.layers) / total if total else 0.0

    def lines(self) -> list[str]:
        how = "polynomial-decay schedule during fine-tuning" if self.fine_tuned else "one shot, no fine-tuning"
        what = (f"{self.nm[0]}:{self.nm[1]} pruning" if self.nm else
                f"block pruning ({BLOCK} weights a block, {self.scope})")
        unit = "groups" if self.nm else "blocks"
        macs = sum(x.macs for x in self.layers)
        left = sum(x.nonzero_macs for x in self.layers)
        out = [f"{what}, {how}: {100 * self.sparsity:.1f}% of {sum(x.weights for x in self.layers):,} "
               f"kernel weights are zero; MACs on non-zero weights {left:,} of the pruned layers' {macs:,} "
               f"({100 * left / max(macs, 1):.1f}%)"]
        out += [f"  {x.name}: {100 * x.zeros / x.weights:.1f}% zero of {x.weights:,} ({x.zero_groups:,} of "
                f"{x.groups:,} {unit} all zero)" for x in self.layers]
        out += [f"  {s}" for s in self.skipped]
        return out


def shaped_kernels(model: Any) -> tuple[list[tuple[Any, Any]], list[str]]:
    """(layer, kernel variable) of the Conv/Dense layers, and a note per DepthwiseConv left dense."""
    found: list[tuple[Any, Any]] = []
    skipped: list[str] = []
    for layer in model.layers:
        if hasattr(layer, "layers"):
            more, notes = shaped_kernels(layer)
            found += more
            skipped += notes
        elif _base_kind(layer) in _SHAPED and getattr(layer, "kernel", None) is not None:
            row = int(np.prod(layer.kernel.shape[:-1]))
            if int(getattr(layer, "groups", 1)) != 1:
                skipped.append(f"{layer.name}: grouped convolution left dense")
            elif row < MIN_ROW:
                skipped.append(f"{layer.name}: left dense ({row} weights per output channel, fewer than {MIN_ROW})")
            else:
                found.append((layer, layer.kernel))
        elif "Depthwise" in _base_kind(layer):
            skipped.append(f"{layer.name}: DepthwiseConv left dense (its weights are strided in TFLite's layout)")
    return found, skipped


def _masker(mode: str, scope: str, criterion: str, nm: tuple[int, int] | None, final: float) -> Any:
    def masks(ks: list[np.ndarray], s: float) -> list[np.ndarray]:
        if mode == "block":
            return block_masks(ks, s, scope, criterion)
        assert nm is not None
        n, m = nm
        # the ramp's sparsity as a count kept per group: m at the start, n at the final sparsity
        keep = max(n, m - round((m - n) * s / final)) if final > 0 else m
        return nm_masks(ks, keep, m)

    return masks


def _stats(layer: Any, kernel: np.ndarray, mode: str, nm: tuple[int, int] | None) -> ShapedLayer:
    r = rows(kernel)
    size = nm[1] if nm else BLOCK
    c, n = r.shape
    ng = -(-n // size)
    padded = np.zeros((c, ng * size), r.dtype)
    padded[:, :n] = r
    zero_groups = int(np.all(padded.reshape(c, ng, size) == 0, axis=-1).sum())
    nonzero = int(np.count_nonzero(kernel))
    macs = layer_macs(layer)
    return ShapedLayer(name=layer.name, weights=int(kernel.size), zeros=int(kernel.size) - nonzero, groups=c * ng,
                       zero_groups=zero_groups, macs=macs, nonzero_macs=macs * nonzero // max(int(kernel.size), 1))


def prune_shaped(model: Any, mode: str, sparsity: float | None = None, *, nm: tuple[int, int] | None = None,
                 scope: str = "layer", criterion: str = "l2", train: Dataset | None = None,
                 config: TrainConfig | None = None, frequency: int = 50) -> ShapedResult:
    """A copy of ``model`` with whole blocks zeroed (``mode="block"``, ``sparsity`` of the Conv and
    Dense weights) or N:M sparsity (``mode="nm"``, ``nm=(N, M)``), fine-tuned when ``train``."""
    if mode not in MODES:
        raise EdgegenError(f"unknown shaped pruning mode '{mode}'; use {' or '.join(MODES)}")
    if mode == "nm":
        if nm is None:
            raise EdgegenError("N:M pruning needs N and M (--prune-nm 2:4)")
        sparsity = 1.0 - nm[0] / nm[1]
    elif sparsity is None or not 0.0 <= sparsity < 1.0:
        raise EdgegenError(f"--prune {sparsity}: the sparsity must be in [0, 1)")
    config = config or TrainConfig()
    new = copy_model(model)
    found, skipped = shaped_kernels(new)
    if not found:
        raise EdgegenError(f"model '{model.name}' has no Conv2D or Dense kernel to prune in blocks or N:M")
    kernels = [(layer.name, var) for layer, var in found]
    masker = _masker(mode, scope, criterion, nm, sparsity)
    if train is None:
        for (_, v), m in zip(kernels, masker([_np(v) for _, v in kernels], sparsity), strict=True):
            v.assign(_np(v) * m)
    else:
        schedule = ramp(sparsity, train, config, frequency)
        finetune(new, train, config, callbacks=[pruning_callback(kernels, schedule, masker)])
    layers = tuple(_stats(layer, _np(var), mode, nm if mode == "nm" else None) for layer, var in found)
    return ShapedResult(model=new, mode=mode, target=sparsity, scope=scope, nm=nm if mode == "nm" else None,
                        layers=layers, skipped=tuple(skipped), fine_tuned=train is not None)
