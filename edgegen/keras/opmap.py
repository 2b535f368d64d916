"""TFLite ops back to the Keras layers they came from, for errors after conversion.

TensorFlow's converter names each tensor after the name scopes of the Keras call that made it:
``<model>_b1_1/<model>_1/<block>_1/<layer>_1/convolution``, one ``_N`` suffix added per scope (and
several names joined by ``;`` when ops were fused). An op's layer is the innermost path segment
that, with or without its last ``_N``, is a layer name of the model; the op's own output names
come first, then its constant inputs (the weights: the last op's output is renamed
``StatefulPartitionedCall...``), then its other inputs ("after layer X"). Read from the
flatbuffer directly: the op is one edgegen's reader refused, so the reader cannot be used.
"""

from __future__ import annotations

import re
from typing import Any

from ai_edge_litert import schema_py_generated as fb

from ..errors import EdgegenError, UnsupportedError
from .layers import walk

_OP = re.compile(r"\bop (\d+) \(([A-Z0-9_]+)\)")
_SUFFIX = re.compile(r"_\d+$")


def layer_names(model: Any) -> dict[str, str]:
    """Layer name -> class name, nested models included (and the nested models themselves)."""
    out: dict[str, str] = {}

    def add(m: Any) -> None:
        for layer in getattr(m, "layers", ()):
            out[layer.name] = type(layer).__name__
            if hasattr(layer, "get_layer"):
                add(layer)
    add(model)
    for layer in walk(model):
        out[layer.name] = type(layer).__name__
    return out


def _layer_in(tensor_name: str, names: dict[str, str]) -> str | None:
    for part in tensor_name.split(";"):
        found = None
        for seg in part.split("/"):
            # the scope adds "_N" to the layer's name: "conv2d_1_1" is layer "conv2d_1"
            cand = next((c for c in (_SUFFIX.sub("", seg), seg) if c in names), None)
            if cand is not None:
                found = cand  # the innermost match wins: a block's layer over the block
        if found is not None:
            return found
    return None


def _output_layer(model: Any) -> str | None:
    """The layer that makes a single-output model's output (the converter renames that tensor
    ``StatefulPartitionedCall...``, so its op's own names are lost)."""
    outputs = getattr(model, "outputs", None) or []
    history = getattr(outputs[0], "_keras_history", None) if len(outputs) == 1 else None
    layer = getattr(history[0], "name", None) if history else None
    return layer if isinstance(layer, str) else None


def op_layer(tflite: bytes, op_index: int, names: dict[str, str],
             output_layer: str | None = None) -> tuple[str, bool] | None:
    """The layer that made op ``op_index`` of the first subgraph, and whether it was found from
    the op's own tensors (False: only from its inputs, i.e. the layer before it). An op making
    the model's output is ``output_layer``'s when its own tensors name no layer."""
    try:
        model = fb.Model.GetRootAs(tflite, 0)
        g = model.Subgraphs(0)
        if g is None or not 0 <= op_index < g.OperatorsLength():
            return None
        op = g.Operators(op_index)

        def tname(i: int) -> str:
            t = g.Tensors(i)
            return t.Name().decode("utf-8", "replace") if t is not None and t.Name() else ""

        def const(i: int) -> bool:
            t = g.Tensors(i)
            b = model.Buffers(t.Buffer()) if t is not None and t.Buffer() > 0 else None
            return b is not None and b.DataLength() > 0

        outs = [op.Outputs(k) for k in range(op.OutputsLength())]
        ins = [i for i in (op.Inputs(k) for k in range(op.InputsLength())) if i >= 0]
        weights = [i for i in ins if const(i)]
        others = [i for i in ins if not const(i)]
        graph_outputs = {g.Outputs(k) for k in range(g.OutputsLength())}
        for group, own in ((outs, True), (weights, True)):
            for i in group:
                hit = _layer_in(tname(i), names)
                if hit is not None:
                    return hit, own
        if output_layer in names and any(i in graph_outputs for i in outs):
            return output_layer, True
        for i in others:
            hit = _layer_in(tname(i), names)
            if hit is not None:
                return hit, False
    except Exception:  # a name is a convenience: never let it hide the real error
        return None
    return None


def explain(error: EdgegenError, tflite: bytes, model: Any) -> EdgegenError:
    """``error`` (edgegen refusing the converted model) with the Keras layer of its op named:
    ``layer 'conv2d_1' (Conv2D) -> TFLite op 3 CONV_2D: <reason>``; unchanged when no op or no
    layer can be found."""
    msg = str(error)
    m = _OP.search(msg)
    if m is None:
        return error
    names = layer_names(model)
    found = op_layer(tflite, int(m.group(1)), names, _output_layer(model))
    if found is None:
        return error
    layer, own = found
    reason = msg[m.end():].lstrip(": ")
    reason = reason[3:] if reason.startswith("is ") else reason  # "op 1 (GELU) is not supported; ..."
    where = f"layer '{layer}' ({names[layer]})" if own else f"the layer after '{layer}' ({names[layer]})"
    return UnsupportedError(f"{where} -> TFLite op {m.group(1)} {m.group(2)}: {reason}", kind=error.kind)
