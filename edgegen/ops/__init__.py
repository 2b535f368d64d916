"""The op families: one module per family holds everything about its ops, from reading and
validating them in the flatbuffer to lowering (kernel choice, Prepare-time integers) and
simulating them. Each module defines ``FAMILY``, an :class:`OpFamily`; modules are found by
listing this package (sorted, so the order is deterministic), so adding an op edits no list.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from typing import Any

from .. import ir
from ..program import Call
from ._family import Builder, Kernel, Lowerer, OpFamily

__all__ = ["Builder", "Kernel", "Lowerer", "OpFamily", "builders", "families", "kernel_for", "lowerer_for",
           "option_vectors", "options", "required_options", "state_inputs"]


@functools.cache
def families() -> tuple[tuple[str, OpFamily], ...]:
    """(module name, family) of every module of this package, by name."""
    found = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        family = module.FAMILY
        assert isinstance(family, OpFamily), f"{module.__name__}.FAMILY is not an OpFamily"
        found.append((info.name, family))
    return tuple(found)


@functools.cache
def builders() -> dict[str, Builder]:
    return {name: b for _m, f in families() for name, b in f.builders.items()}


@functools.cache
def _lowerers() -> dict[type[ir.Op], Lowerer]:
    return {t: fn for _m, f in families() for t, fn in f.lowerers.items()}


@functools.cache
def _kernels() -> dict[type[Call], Kernel]:
    return {t: fn for _m, f in families() for t, fn in f.kernels.items()}


def lowerer_for(op_type: type[ir.Op]) -> Lowerer | None:
    return _lowerers().get(op_type)


def kernel_for(call_type: type[Call]) -> Kernel:
    return _kernels()[call_type]


@functools.cache
def options() -> dict[str, int]:
    return {name: t for _m, f in families() for name, t in f.options.items()}


@functools.cache
def required_options() -> dict[str, str]:
    return {name: why for _m, f in families() for name, why in f.required_options.items()}


@functools.cache
def option_vectors() -> dict[int, tuple[Any, str]]:
    return {t: v for _m, f in families() for t, v in f.option_vectors.items()}


@functools.cache
def state_inputs() -> dict[str, tuple[int, ...]]:
    return {name: pos for _m, f in families() for name, pos in f.state_inputs.items()}
