"""Structured (channel) pruning: remove whole output channels so the model gets physically smaller.

Pruning a filter of a Conv2D changes more than that layer: the BatchNormalization after it, a
DepthwiseConv2D that passes its channels on, the next layer's input channels, every branch of a
residual Add that must keep the same channel count, and the consumers of a Concatenate. The
analysis below follows every channel through the functional graph:

- each tensor gets a *channel map*: for each position of its last axis, the (group, index) of the
  channel it carries. A Conv2D/Dense output starts a new group; channel-preserving layers
  (BatchNormalization, activations, pooling, padding, dropout, DepthwiseConv2D with multiplier 1)
  pass the map on; Flatten repeats it once per spatial position (channels-last order), and the
  elementwise ones (Dropout, activations) pass that on too, so Flatten -> Dropout -> Dense slices
  the Dense rows of every pruned channel; a SeparableConv2D is a producer whose depthwise part
  loses the pruned input channels and whose pointwise part the pruned input and output ones;
  Concatenate on the last axis joins its inputs' maps;
- elementwise merges (Add, Multiply, ...) unite their inputs' groups: a residual block's groups
  become one group, pruned as one, so the sum stays well-formed;
- a group that reaches a model output or a layer edgegen does not understand is *blocked*: all of
  its channels stay (a shape the user sees never changes, and an unknown layer is never misread).

Every prunable group keeps ``round((1 - fraction) * size)`` channels (at least one), chosen by the
criterion: ``l1``/``l2`` norm of each channel's filters summed over the group's producers, or
``activation``, the mean absolute activation on sample data over every tensor carrying the group.
The model is then rebuilt with ``keras.models.clone_model`` with the smaller filter/unit counts and
its weights are sliced from the original's: the result is a smaller dense Keras model.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import EdgegenError, UnsupportedError
from ._tf import keras

CRITERIA = ("l1", "l2", "activation")

#: layers that keep channels as they are (no weights, or per-channel weights handled below)
_PASS = {
    "Activation", "ReLU", "LeakyReLU", "ELU", "Dropout", "SpatialDropout1D", "SpatialDropout2D",
    "GaussianNoise", "GaussianDropout", "AlphaDropout", "MaxPooling1D", "MaxPooling2D",
    "AveragePooling1D", "AveragePooling2D", "GlobalAveragePooling1D", "GlobalAveragePooling2D",
    "GlobalMaxPooling1D", "GlobalMaxPooling2D", "ZeroPadding1D", "ZeroPadding2D", "Cropping1D",
    "Cropping2D", "UpSampling1D", "UpSampling2D", "Identity", "ActivityRegularization",
    "BatchNormalization", "DepthwiseConv2D", "DepthwiseConv1D",
}
#: of those, the ones that act on each value alone: they also pass a flattened map (Flatten ->
#: Dropout -> Dense), whose positions repeat the channels once per spatial position
_ELEMENTWISE = {
    "Activation", "ReLU", "LeakyReLU", "ELU", "Dropout", "GaussianNoise", "GaussianDropout", "AlphaDropout",
    "Identity", "ActivityRegularization",
}
_MERGE = {"Add", "Subtract", "Multiply", "Maximum", "Minimum", "Average"}
#: SeparableConv: its depthwise part takes the input channels, its pointwise part makes the output
_SEPARABLE = {"SeparableConv2D", "SeparableConv1D"}
_PRODUCERS = {"Conv2D", "Conv1D", "Dense"} | _SEPARABLE


def _kind(layer: Any) -> str:
    """The Keras class a layer is (legacy-file shims subclass Keras layers)."""
    for c in type(layer).__mro__:
        if c.__module__.startswith("keras."):
            return c.__name__
    return type(layer).__name__


@dataclass(frozen=True)
class ChannelMap:
    """What each position of a tensor's last axis carries: ``entries[k % len(entries)]`` is the
    (group, channel) at position k (Flatten makes ``repeat`` copies, one per spatial position)."""

    entries: tuple[tuple[int, int], ...]
    repeat: int = 1

    def __len__(self) -> int:
        return len(self.entries) * self.repeat


@dataclass
class _Analysis:
    parent: dict[int, int] = field(default_factory=dict)
    size: dict[int, int] = field(default_factory=dict)
    blocked: dict[int, str] = field(default_factory=dict)
    #: (layer name, group) for each producer, in graph order
    producers: list[tuple[str, int]] = field(default_factory=list)
    maps: dict[int, ChannelMap] = field(default_factory=dict)
    #: layer name -> (input map, output map) of its single call
    layer_maps: dict[str, tuple[ChannelMap | None, ChannelMap]] = field(default_factory=dict)

    def new_group(self, n: int, blocked: str | None = None) -> ChannelMap:
        g = len(self.size)
        self.parent[g] = g
        self.size[g] = n
        if blocked:
            self.blocked[g] = blocked
        return ChannelMap(tuple((g, i) for i in range(n)))

    def find(self, g: int) -> int:
        while self.parent[g] != g:
            self.parent[g] = self.parent[self.parent[g]]
            g = self.parent[g]
        return g

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[rb] = ra
            if rb in self.blocked and ra not in self.blocked:
                self.blocked[ra] = self.blocked[rb]

    def block(self, m: ChannelMap | None, why: str) -> None:
        if m is None:
            return
        for g in {g for g, _ in m.entries}:
            r = self.find(g)
            self.blocked.setdefault(r, why)

    def is_blocked(self, g: int) -> bool:
        r = self.find(g)
        return r in self.blocked or any(self.find(b) == r for b in self.blocked)


@dataclass(frozen=True)
class PrunedGroup:
    """One set of channels pruned together."""

    producers: tuple[str, ...]
    before: int
    after: int


@dataclass(frozen=True)
class StructuredResult:
    model: Any  # keras.Model, smaller and dense
    groups: tuple[PrunedGroup, ...]
    #: groups left whole, and why (model outputs, unknown layers)
    kept: tuple[tuple[str, str], ...]
    criterion: str
    fraction: float

    def lines(self) -> list[str]:
        out = [f"structured pruning ({self.criterion}, {100 * self.fraction:.0f}% of channels):"]
        for g in self.groups:
            out.append(f"  {', '.join(g.producers)}: {g.before} -> {g.after} channels")
        for who, why in self.kept:
            out.append(f"  {who}: kept whole ({why})")
        return out


def _functional(model: Any) -> Any:
    f = getattr(model, "_functional", None)  # Sequential wraps a Functional
    if f is not None:
        return f
    if not hasattr(model, "_nodes_by_depth"):
        raise UnsupportedError(f"model '{model.name}' is a subclassed Keras model; structured pruning needs a "
                               "functional or Sequential model (its graph of layers)")
    return model


def _nodes(model: Any) -> list[Any]:
    f = _functional(model)
    out = []
    for depth in sorted(f._nodes_by_depth, reverse=True):
        out.extend(f._nodes_by_depth[depth])
    return out


def analyse(model: Any) -> _Analysis:
    """Channel maps for every tensor and the channel groups of ``model``."""
    a = _Analysis()
    nodes = _nodes(model)
    calls: dict[str, int] = {}
    for node in nodes:
        if not node.is_input:
            calls[node.operation.name] = calls.get(node.operation.name, 0) + 1
    for t in _functional(model).inputs:
        a.maps[id(t)] = a.new_group(int(t.shape[-1]), "model input")
    for node in nodes:
        if node.is_input:
            for t in node.output_tensors:
                a.maps.setdefault(id(t), a.new_group(int(t.shape[-1]), "model input"))
            continue
        layer = node.operation
        ins = [a.maps.get(id(t)) for t in node.input_tensors]
        outs = node.output_tensors
        kind = _kind(layer)
        result = None if calls[layer.name] > 1 or any(m is None for m in ins) or len(outs) != 1 else \
            _step(a, layer, kind, [m for m in ins if m is not None], node)
        if result is None:  # unknown, shared or multi-output: keep everything around it whole
            why = f"{'shared ' if calls[layer.name] > 1 else ''}{kind} '{layer.name}'"
            for m in ins:
                a.block(m, why)
            for t in outs:
                a.maps[id(t)] = a.new_group(int(t.shape[-1]) if t.shape else 1, why)
            continue
        a.maps[id(outs[0])] = result
        a.layer_maps[layer.name] = (ins[0] if len(ins) == 1 else None, result)
    for t in _functional(model).outputs:
        a.block(a.maps.get(id(t)), "model output")
    return a


def _step(a: _Analysis, layer: Any, kind: str, ins: list[ChannelMap], node: Any) -> ChannelMap | None:
    """The output map of one layer call, or None when the layer is not understood."""
    out_shape = tuple(node.output_tensors[0].shape)
    if kind in _PRODUCERS:
        if len(ins) != 1 or (kind != "Dense" and int(getattr(layer, "groups", 1)) != 1):
            return None
        if kind == "Dense" and len(node.input_tensors[0].shape) > 2 and ins[0].repeat != 1:
            return None
        m = a.new_group(int(out_shape[-1]))
        a.producers.append((layer.name, m.entries[0][0]))
        return m
    if kind in _PASS:
        if len(ins) != 1:
            return None
        if kind.startswith("Depthwise") and int(getattr(layer, "depth_multiplier", 1)) != 1:
            return None
        if kind == "BatchNormalization" and getattr(layer, "axis", -1) not in (-1, len(out_shape) - 1, [-1]):
            return None
        if ins[0].repeat != 1 and kind not in _ELEMENTWISE:
            return None
        return ins[0]
    if kind == "Flatten":
        in_shape = tuple(node.input_tensors[0].shape)
        spatial = int(np.prod([int(d) for d in in_shape[1:-1]])) if len(in_shape) > 2 else 1
        return ChannelMap(ins[0].entries, ins[0].repeat * spatial)
    if kind == "Concatenate":
        axis = int(getattr(layer, "axis", -1))
        rank = len(out_shape)
        if axis in (-1, rank - 1):
            if any(m.repeat != 1 for m in ins):
                return None
            return ChannelMap(tuple(e for m in ins for e in m.entries))
        return _unite(a, ins)
    if kind in _MERGE:
        return _unite(a, ins)
    scalar = np.ndim(getattr(layer, "scale", 1.0)) == 0 and np.ndim(getattr(layer, "offset", 0.0)) == 0
    if kind == "Rescaling" and scalar:
        return ins[0] if len(ins) == 1 else None
    return None


def _unite(a: _Analysis, ins: list[ChannelMap]) -> ChannelMap | None:
    """Elementwise merge: position k of every input is the same channel, so their groups unite."""
    first = ins[0]
    for m in ins[1:]:
        if m.repeat != first.repeat or (m.entries != first.entries and (
                len(m.entries) != len(first.entries)
                or any(i != j for (_, i), (_, j) in zip(m.entries, first.entries, strict=True)))):
            return None  # broadcasting or misaligned channels: not something to prune through
    for m in ins[1:]:
        for (g1, _), (g2, _) in zip(first.entries, m.entries, strict=True):
            a.union(g1, g2)
    return first


def _layer_by_name(model: Any) -> dict[str, Any]:
    return {layer.name: layer for layer in model.layers}


def _scores(model: Any, a: _Analysis, criterion: str, data: np.ndarray | None) -> dict[int, np.ndarray]:
    """Importance of each channel of each root group (higher = keep)."""
    layers = _layer_by_name(model)
    scores: dict[int, np.ndarray] = {}
    if criterion in ("l1", "l2"):
        for name, g in a.producers:
            # a SeparableConv's output channels are its pointwise kernel's (the second weight)
            kernel = np.asarray(layers[name].get_weights()[1 if _kind(layers[name]) in _SEPARABLE else 0])
            flat = kernel.reshape(-1, kernel.shape[-1])
            norm = np.abs(flat).sum(0) if criterion == "l1" else np.sqrt((flat**2).sum(0))
            # normalised per producer so residual branches of different scales weigh alike
            norm = norm / (float(norm.mean()) or 1.0)
            r = a.find(g)
            scores[r] = scores.get(r, 0.0) + norm
        return scores
    if data is None or len(data) == 0:
        raise EdgegenError("the 'activation' pruning criterion needs sample data (calibration or training data)")
    k = keras()
    f = _functional(model)
    tensors, groups = [], []
    for node in _nodes(model):
        for t in node.output_tensors:
            m = a.maps.get(id(t))
            if m is None or m.repeat != 1 or len({g for g, _ in m.entries}) != 1:
                continue
            g = m.entries[0][0]
            if [i for _, i in m.entries] == list(range(a.size[g])) and not a.is_blocked(g):
                tensors.append(t)
                groups.append(a.find(g))
    if not tensors:
        return scores
    probe = k.Model(f.inputs, tensors)
    x = data[: min(len(data), 256)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # legacy models name their input
        outs = probe(x, training=False)
    outs = outs if isinstance(outs, (list, tuple)) else [outs]
    for r, o in zip(groups, outs, strict=True):
        v = np.abs(np.asarray(o)).reshape(-1, np.asarray(o).shape[-1]).mean(0)
        v = v / (float(v.mean()) or 1.0)
        scores[r] = scores.get(r, 0.0) + v
    return scores


def prune_channels(model: Any, fraction: float, *, criterion: str = "l1", data: np.ndarray | None = None,
                   skip: Callable[[str], bool] | None = None, min_channels: int = 1) -> StructuredResult:
    """A new model with ``fraction`` of the channels of every prunable group removed.

    ``skip(layer_name)`` keeps the groups a producer belongs to whole (e.g. the first conv).
    """
    if not 0.0 <= fraction < 1.0:
        raise EdgegenError(f"--prune {fraction}: the fraction of channels to remove must be in [0, 1)")
    if criterion not in CRITERIA:
        raise EdgegenError(f"unknown pruning criterion '{criterion}'; use one of {', '.join(CRITERIA)}")
    a = analyse(model)
    if skip is not None:
        for name, g in a.producers:
            if skip(name):
                a.blocked.setdefault(a.find(g), "skipped")
    roots: dict[int, list[str]] = {}
    for name, g in a.producers:
        roots.setdefault(a.find(g), []).append(name)
    scores = _scores(model, a, criterion, data)
    keep: dict[int, np.ndarray] = {}
    groups, kept = [], []
    for r, names in roots.items():
        n = a.size[r]
        if a.is_blocked(r):
            reason = a.blocked.get(a.find(r)) or "blocked"
            kept.append((", ".join(names), reason))
            continue
        n_keep = min(n, max(min_channels, round((1.0 - fraction) * n)))
        s = scores.get(r)
        order = np.argsort(-s, kind="stable") if s is not None else np.arange(n)
        keep[r] = np.sort(order[:n_keep])
        groups.append(PrunedGroup(tuple(names), n, n_keep))
    new = _rebuild(model, a, keep)
    return StructuredResult(model=new, groups=tuple(groups), kept=tuple(kept), criterion=criterion,
                            fraction=fraction)


def _positions(a: _Analysis, m: ChannelMap, keep: dict[int, np.ndarray]) -> np.ndarray:
    """Positions of a tensor's last axis that survive."""
    kept_sets = {r: set(v.tolist()) for r, v in keep.items()}
    base = [k for k, (g, i) in enumerate(m.entries) if (r := a.find(g)) not in kept_sets or i in kept_sets[r]]
    c = len(m.entries)
    return np.array([rep * c + k for rep in range(m.repeat) for k in base], dtype=np.int64)


def _rebuild(model: Any, a: _Analysis, keep: dict[int, np.ndarray]) -> Any:
    k = keras()
    layers = _layer_by_name(model)
    sizes: dict[str, int] = {}
    for name, g in a.producers:
        r = a.find(g)
        if r in keep:
            sizes[name] = len(keep[r])

    def clone(layer: Any) -> Any:
        config = layer.get_config()
        if layer.name in sizes:
            config["filters" if "filters" in config else "units"] = sizes[layer.name]
        return layer.__class__.from_config(config)

    try:
        new = k.models.clone_model(model, clone_function=clone)
    except Exception as e:
        raise UnsupportedError(f"model '{model.name}': rebuilding it with fewer channels failed "
                               f"({type(e).__name__}: {str(e).splitlines()[0][:200]})") from None
    for nl in new.layers:
        old = layers.get(nl.name)
        if old is None or not old.weights:
            continue
        weights = [np.asarray(w) for w in old.get_weights()]
        maps = a.layer_maps.get(nl.name)
        if maps is not None:
            weights = _slice(_kind(old), weights, maps, a, keep)
        try:
            nl.set_weights(weights)
        except ValueError as e:
            raise UnsupportedError(f"layer '{nl.name}': its weights do not fit the pruned shape ({e}); "
                                   "structured pruning does not handle this layer") from None
    return new


def _slice(kind: str, w: list[np.ndarray], maps: tuple[ChannelMap | None, ChannelMap], a: _Analysis,
           keep: dict[int, np.ndarray]) -> list[np.ndarray]:
    in_map, out_map = maps
    out_pos = _positions(a, out_map, keep)
    if kind in _SEPARABLE:
        # depthwise kernel [..., in, multiplier], pointwise [1, (1,) in * multiplier, out]: input
        # channel c feeds depthwise outputs c * multiplier + m, the pointwise kernel's rows
        assert in_map is not None
        in_pos = _positions(a, in_map, keep)
        mult = w[0].shape[-1]
        rows = (in_pos[:, None] * mult + np.arange(mult)).reshape(-1)
        pointwise = np.take(np.take(w[1], rows, axis=-2), out_pos, axis=-1)
        return [np.take(w[0], in_pos, axis=-2), pointwise] + [np.take(b, out_pos, axis=-1) for b in w[2:]]
    if kind in _PRODUCERS:
        assert in_map is not None
        in_pos = _positions(a, in_map, keep)
        kernel = np.take(np.take(w[0], in_pos, axis=-2), out_pos, axis=-1)
        return [kernel] + [np.take(b, out_pos, axis=-1) for b in w[1:]]
    if kind.startswith("Depthwise"):
        return [np.take(w[0], out_pos, axis=-2)] + [np.take(b, out_pos, axis=-1) for b in w[1:]]
    if kind == "BatchNormalization":
        return [np.take(v, out_pos, axis=-1) for v in w]
    return w
