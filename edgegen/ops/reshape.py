"""RESHAPE, SQUEEZE and EXPAND_DIMS: reading (with TFLM's shape checks) and lowering to an alias
of the input's bytes; no kernel runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from ai_edge_litert import schema_py_generated as fb

from .. import ir
from ..lowering import Lowering
from ..tflite_context import OpContext
from ._family import OpFamily


@dataclass(frozen=True)
class Reshape(ir.Op):
    """RESHAPE, SQUEEZE, EXPAND_DIMS: same bytes, new shape; lowered to an alias."""

    KIND: ClassVar[str] = "RESHAPE"
    ALIAS: ClassVar[bool] = True


# -- reading -------------------------------------------------------------------------------------


def read_reshape(c: OpContext) -> ir.Op:
    lo, hi = {"RESHAPE": (1, 2), "EXPAND_DIMS": (2, 2)}.get(c.name, (1, 1))
    c.n_inputs(lo, hi)
    x, y = c.t(0), c.out()
    if x.dtype != y.dtype or x.size != y.size:
        raise c.fail(f"reshapes {x.describe()} to {y.describe()}: element counts or types differ")
    if x.quant != y.quant:
        raise c.fail("input and output quantization differ")
    if x.is_const:
        raise c.fail(f"input {x.describe()} is a constant; fold it before conversion")
    if c.name == "RESHAPE":
        # TFLM's parser copies new_shape into an array of 8 and refuses a longer one
        new_shape = c.opt("newShape") if c.options is not None else None
        if new_shape is not None and len(new_shape) > 8:
            raise c.fail(f"its options list a new shape of {len(new_shape)} dimensions; TFLM takes at most 8")
    if c.name == "SQUEEZE":
        _check_squeeze(c, x, y)
    elif c.name == "EXPAND_DIMS":
        _check_expand_dims(c, x, y)
    return Reshape(index=c.index, inputs=c.inputs[:1], outputs=c.outputs)


def _check_squeeze(c: OpContext, x: ir.Tensor, y: ir.Tensor) -> None:
    """TFLM's SqueezePrepare: the listed dimensions (all dimensions of size 1 when none are
    listed) exist and have size 1; what remains must fit the output (it aborts otherwise)."""
    rank = len(x.shape)
    if rank > 8:
        raise c.fail(f"input {x.describe()} has rank {rank}; TFLM squeezes tensors of up to 8 dimensions")
    listed = c.opt("squeezeDims") if c.options is not None else None
    dims = [int(d) for d in (listed if listed is not None else [])]
    if len(dims) > 8:
        raise c.fail(f"its options list {len(dims)} squeeze dimensions; TFLM takes at most 8")
    squeezed = set()
    for d in dims:
        a = d + rank if d < 0 else d
        if not 0 <= a < rank or x.shape[a] != 1:
            raise c.fail(f"squeeze dimension {d} is not a dimension of size 1 of input {x.describe()}")
        squeezed.add(a)
    if not dims:
        squeezed = {a for a in range(rank) if x.shape[a] == 1}
    kept = [x.shape[a] for a in range(rank) if a not in squeezed]
    if list(y.shape) != kept:
        raise c.fail(f"output {y.describe()} is not input {x.describe()} without dimensions {sorted(squeezed)}")


def _check_expand_dims(c: OpContext, x: ir.Tensor, y: ir.Tensor) -> None:
    """TFLM's ExpandDimsPrepare: a constant int32 axis of one element (TFLM refuses int64), in
    range, and the output is the input with a 1 inserted there."""
    axis_t = c.const(1, "axis", ("int32",))
    assert axis_t.data is not None
    if len(axis_t.shape) > 1 or axis_t.size != 1:
        raise c.fail(f"axis {axis_t.describe()} must hold one value")
    axis = int(axis_t.data.reshape(-1)[0])
    rank = len(x.shape)
    a = axis + rank + 1 if axis < 0 else axis
    if not 0 <= a <= rank:
        raise c.fail(f"axis {axis} is out of range for input {x.describe()}")
    if list(y.shape) != [*x.shape[:a], 1, *x.shape[a:]]:
        raise c.fail(f"output {y.describe()} is not input {x.describe()} with a dimension of 1 inserted at {a}")


# -- lowering ------------------------------------------------------------------------------------


def lower_reshape(lw: Lowering, op: ir.Op) -> None:
    # an alias: the output names the input's bytes
    lw.alias(op)


FAMILY = OpFamily(
    builders={"RESHAPE": read_reshape, "SQUEEZE": read_reshape, "EXPAND_DIMS": read_reshape},
    lowerers={Reshape: lower_reshape},
    options={"RESHAPE": fb.BuiltinOptions.ReshapeOptions, "SQUEEZE": fb.BuiltinOptions.SqueezeOptions},
    option_vectors={fb.BuiltinOptions.ReshapeOptions: (fb.ReshapeOptions, "NewShapeLength"),
                    fb.BuiltinOptions.SqueezeOptions: (fb.SqueezeOptions, "SqueezeDimsLength")},
)
