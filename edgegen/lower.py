"""Lower an IR graph to a :class:`Program`: each op's family (``edgegen.ops``) chooses its kernel
and computes its integers in a :class:`~edgegen.lowering.Lowering`; then the arena is planned.
"""

from __future__ import annotations

import re

from . import ir
from .kernels import KernelConfig
from .kernels.sparse import SparseCall
from .lowering import MVE, Lowering
from .ops import lowerer_for
from .plan import plan_memory
from .program import LayerWeights, Program

__all__ = ["GUARD_BYTES", "MVE", "c_identifier", "lower"]

_IDENT = re.compile(r"[^A-Za-z0-9_]")


def c_identifier(name: str, fallback: str = "model") -> str:
    """A safe C identifier prefix from a user-supplied name (lowercase, no leading digit/underscore)."""
    s = _IDENT.sub("_", name).strip("_").lower()
    s = re.sub(r"_+", "_", s)[:32].strip("_")
    if not s:
        s = fallback
    # no leading digit, and no prefix that could collide with the runtime's own symbols and
    # macros (edgegen_*, EDGEGEN_*, CMSIS-NN's arm_* and cmsis_nn_*)
    if s[0].isdigit() or s == "arm" or s.startswith(("edgegen", "arm_", "cmsis")):
        s = "m_" + s
    return s


#: canary size of guard builds: four words, so a kernel's vector store past the end is caught
GUARD_BYTES = 16


def lower(graph: ir.Graph, *, name: str | None = None, scratch_target: str = "dsp", guard: bool = False,
          kernels: KernelConfig | None = None, keep_inputs: bool = False) -> Program:
    """Lower ``graph``; ``scratch_target`` chooses which CMSIS-NN build the scratch sizes fit,
    ``guard`` adds canaries around the arena and every scratch buffer, ``kernels`` which layers
    edgegen's own kernels take (default: auto for a DSP CPU, no flash limit)."""
    prefix = c_identifier(name or graph.name)
    config = kernels or KernelConfig()
    lw = Lowering(graph, prefix, scratch_target, GUARD_BYTES if guard else 0, config)
    for t in graph.inputs:
        lw.ref(t)
    for op in graph.ops:
        handler = lowerer_for(type(op))
        if handler is None:  # pragma: no cover - the reader refuses these first
            raise lw.fail(op, "no lowering")
        try:
            handler(lw, op)
        except (ValueError, OverflowError, ZeroDivisionError) as e:
            # TFLM's Prepare would refuse these parameters too (it aborts); name the op instead
            why = (f"its quantization parameters cannot be implemented ({e}); TFLM refuses such a model "
                   "as well: recalibrate it (e.g. with data that exercises this layer)")
            raise lw.fail(op, why) from None
    inputs = tuple(lw.ref(t) for t in graph.inputs)
    outputs = tuple(lw.ref(t) for t in graph.outputs)
    buffers = lw.buffers(inputs, outputs, keep_inputs)
    # the other choice, planned too, so that the header and the report can say what it costs
    other = plan_memory(lw.buffers(inputs, outputs, not keep_inputs)).arena_bytes
    return Program(
        name=prefix,
        source_sha256=graph.source_sha256,
        constants=tuple(lw.constants),
        buffers=buffers,
        calls=tuple(lw.calls),
        inputs=inputs,
        outputs=outputs,
        plan=plan_memory(buffers),
        scratch_target=scratch_target,
        guard_bytes=lw.guard_bytes,
        kernel_mode=config.mode,
        kernel_notes=tuple(lw.kernel_notes),
        keep_inputs=keep_inputs,
        other_arena_bytes=other,
        compress=config.compress,
        entropy=config.entropy,
        layer_weights=_layer_weights(lw),
    )


def _layer_weights(lw: Lowering) -> tuple[LayerWeights, ...]:
    """Each compressible layer's storage: the compressed call's arrays, or the weight array the
    layer's dense call reads (W16x2 words, Helium's padded bytes or CMSIS-NN's int8)."""
    sizes = {c.name: c.nbytes for c in lw.constants}
    out = []
    for op_index, ch in sorted(lw.weight_choices.items()):
        call = next((c for c in lw.calls if c.op_index == op_index), None)
        if ch.fmt == "dense":
            name = getattr(call, "weights", None)
            stored = sizes.get(name, ch.dense_bytes) if isinstance(name, str) else ch.dense_bytes
        else:
            assert isinstance(call, SparseCall)
            coded = [s for s in (call.ev, call.ed) if s is not None]
            stored = sum(sizes[n] for n in (call.vals, call.deltas, call.nb, call.book) if n != "NULL")
            stored += sum(s.flash for s in coded)
            if coded:
                out.append(LayerWeights(op=op_index, format=ch.fmt, bytes=stored, dense_bytes=ch.dense_bytes,
                                        huffman_bytes=ch.huffman_bytes,
                                        entropy_saved=sum(s.plain - s.flash for s in coded),
                                        decode_instructions=sum(s.decode_instructions for s in coded),
                                        decode_ram=call.scratch_bytes))
                continue
        out.append(LayerWeights(op=op_index, format=ch.fmt, bytes=stored, dense_bytes=ch.dense_bytes,
                                huffman_bytes=ch.huffman_bytes))
    return tuple(out)
