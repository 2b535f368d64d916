"""The one decision every edgegen kernel makes for a layer: may it run here (mode, CPU, the
exactness proofs, the flash its wider constants take), and if so the constants it reads.

A layer that is refused keeps its CMSIS-NN call; why is recorded for the report (except under
``--kernels cmsis-nn``, where nothing was asked of edgegen's kernels)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypeVar

import numpy as np

if TYPE_CHECKING:
    from .. import ir
    from ..lowering import Lowering


class Prepared(Protocol):
    """What a kernel's build-time preparation gives: its three constant arrays."""

    @property
    def words(self) -> np.ndarray: ...
    @property
    def bias2(self) -> np.ndarray: ...
    @property
    def rq(self) -> np.ndarray: ...
    @property
    def nbytes(self) -> int: ...


P = TypeVar("P", bound=Prepared)


@dataclass(frozen=True)
class Admitted:
    """The C function to call and the names of the layer's constants."""

    function: str
    weights: str
    bias2: str
    rq: str


def cmsis_nn_bytes(weights: int, channels: int, *, bias: bool, per_channel: bool) -> int:
    """Flash of the constants the CMSIS-NN call would have read (int8 weights, int32 bias,
    per-channel multipliers and shifts), which edgegen's constants replace."""
    return weights + (4 * channels if bias else 0) + (8 * channels if per_channel else 0)


def admit(lw: Lowering, op: ir.Op, kernel: str, function: str, prepare: Callable[[], P | str], replaced: int,
          wider: str = "16-bit weights", weights_role: str = "w16x2",
          weights_ctype: str = "int32_t") -> tuple[P, Admitted] | None:
    """``(prep, admitted)`` when edgegen's ``kernel`` takes ``op``, else None (the reason recorded).
    ``weights_ctype`` is the C type of ``prep.words`` (``int8_t`` for the Helium layouts)."""
    why = lw.kernels.use(kernel)
    prep: P | str | None = None
    if why is None:
        prep = prepare()
        if isinstance(prep, str):
            why = f"not proven exact: {prep}"
        elif not lw.take_flash(prep.nbytes - replaced):
            why = f"the board's flash cannot hold its {wider} (+{prep.nbytes - replaced:,} B)"
    if why is not None:
        if lw.kernels.mode != "cmsis-nn":
            lw.kernel_notes.append((op.index, why))
        return None
    assert prep is not None and not isinstance(prep, str)
    name = f"{function}_portable" if lw.kernels.mode == "portable" else function
    return prep, Admitted(function=name, weights=lw.const(weights_role, weights_ctype, prep.words, op),
                          bias2=lw.const("bias2", "int32_t", prep.bias2, op),
                          rq=lw.const("rq", "int32_t", prep.rq, op))


class TablePrep(Protocol):
    """What a weightless kernel's preparation gives (ADD, pooling): only its size is shared."""

    @property
    def nbytes(self) -> int: ...


T = TypeVar("T", bound=TablePrep)


def admit_tables(lw: Lowering, op: ir.Op, kernel: str, function: str, prepare: Callable[[], T | str],
                 replaced: int = 0) -> tuple[T, str] | None:
    """:func:`admit` for kernels without weights: ``(prep, the C function)`` or None (the reason
    recorded); the caller names its own constants."""
    why = lw.kernels.use(kernel)
    prep: T | str | None = None
    if why is None:
        prep = prepare()
        if isinstance(prep, str):
            why = f"not proven exact: {prep}"
        elif not lw.take_flash(prep.nbytes - replaced):
            why = f"the board's flash cannot hold its tables (+{prep.nbytes - replaced:,} B)"
    if why is not None:
        if lw.kernels.mode != "cmsis-nn":
            lw.kernel_notes.append((op.index, why))
        return None
    assert prep is not None and not isinstance(prep, str)
    return prep, f"{function}_portable" if lw.kernels.mode == "portable" else function
