"""What SLICE, STRIDED_SLICE, TRANSPOSE and SPLIT refuse, each with the op's name: edits of the
converter-made models of tests/support/opmodels.py (their parity is in tests/test_ops.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema

from edgegen.errors import UnsupportedError
from edgegen.tflite_reader import parse_tflite

from .support.fuzz import pack, unpack
from .support.opmodels import op_model


def _first(m: Any, builtin: str) -> Any:
    """The model's first op of ``builtin``."""
    code = getattr(schema.BuiltinOperator, builtin)
    for op in m.subgraphs[0].operators:
        oc = m.operatorCodes[op.opcodeIndex]
        if max(oc.builtinCode, oc.deprecatedBuiltinCode) == code:
            return op
    raise AssertionError(f"no {builtin}")


def _options(name: str, value: int) -> Callable[[Any], None]:
    def edit(m: Any) -> None:
        setattr(_first(m, "STRIDED_SLICE").builtinOptions, name, value)
    return edit


def _int64_begin(m: Any) -> None:
    op = _first(m, "STRIDED_SLICE")
    t = m.subgraphs[0].tensors[op.inputs[1]]
    t.type = schema.TensorType.INT64
    data = np.frombuffer(bytes(m.buffers[t.buffer].data), np.int32).astype(np.int64)
    m.buffers[t.buffer].data = np.frombuffer(data.tobytes(), np.uint8)


def _not_a_permutation(m: Any) -> None:
    op = _first(m, "TRANSPOSE")
    t = m.subgraphs[0].tensors[op.inputs[1]]
    perm = np.frombuffer(bytes(m.buffers[t.buffer].data), np.int32).copy()
    perm[:] = 0
    m.buffers[t.buffer].data = np.frombuffer(perm.tobytes(), np.uint8)


def _num_splits(m: Any) -> None:
    _first(m, "SPLIT").builtinOptions.numSplits += 1


CASES: list[tuple[str, str, Callable[[Any], None], str]] = [
    ("ellipsis", "strided_slice", _options("ellipsisMask", 1), r"STRIDED_SLICE\): ellipsisMask 1 is not supported"),
    ("new axis", "strided_slice", _options("newAxisMask", 2), r"STRIDED_SLICE\): newAxisMask 2 is not supported"),
    ("offset", "strided_slice", _options("offset", 1), r"STRIDED_SLICE\): offset 1 is not supported"),
    ("int64 begin", "strided_slice", _int64_begin, r"STRIDED_SLICE\): begin tensor .* has type int64, expected int32"),
    ("perm", "transpose", _not_a_permutation, r"TRANSPOSE\): perm \[0, 0.*\] is not a permutation"),
    ("num_splits", "split", _num_splits, r"SPLIT\): num_splits \d+ but \d+ outputs"),
]


@pytest.mark.parametrize(("family", "edit", "pattern"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_refused_with_the_op_named(family: str, edit: Callable[[Any], None], pattern: str) -> None:
    model = unpack(op_model(family, 0).tflite)
    edit(model)
    with pytest.raises(UnsupportedError, match=pattern):
        parse_tflite(pack(model))
