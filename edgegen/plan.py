"""Static arena planning: give every buffer an offset so that no two live buffers overlap.

The baseline is TFLM's greedy planner (largest buffer first, lowest offset that fits among
buffers alive at the same time). Edgegen also tries other placement orders and keeps the
smallest arena; aliasing (reshape, in-place elementwise ops) has already merged buffers in
lowering, so it costs nothing here. ``check_plan`` proves the result.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from .program import Buffer, MemoryPlan

#: every offset is a multiple of this; 4 keeps int32 scratch and float I/O aligned
ALIGN = 4


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


def _overlap_in_time(a: Buffer, b: Buffer) -> bool:
    return a.first <= b.last and b.first <= a.last


def _place(buffers: Sequence[Buffer], order: Sequence[int]) -> tuple[int, list[int]]:
    offsets = [-1] * len(buffers)
    placed: list[int] = []
    for i in order:
        b = buffers[i]
        if b.nbytes == 0:
            offsets[i] = 0
            continue
        busy = sorted(
            (offsets[j], offsets[j] + buffers[j].nbytes)
            for j in placed
            if _overlap_in_time(b, buffers[j])
        )
        off = 0
        for lo, hi in busy:
            if off + b.nbytes <= lo:
                break
            off = max(off, _align(hi))
        offsets[i] = off
        placed.append(i)
    size = max((offsets[i] + b.nbytes for i, b in enumerate(buffers)), default=0)
    return _align(size), offsets


_ORDERS: dict[str, Callable[[Buffer], tuple[int, ...]]] = {
    # TFLM's GreedyMemoryPlanner order
    "greedy-by-size": lambda b: (-b.nbytes, b.first),
    "by-first-use": lambda b: (b.first, -b.nbytes),
    "by-lifetime": lambda b: (-(b.last - b.first), -b.nbytes),
    "by-area": lambda b: (-(b.last - b.first + 1) * b.nbytes, b.first),
}


def plan_memory(buffers: Sequence[Buffer]) -> MemoryPlan:
    best: tuple[int, list[int], str] | None = None
    greedy = 0
    for name, key in _ORDERS.items():
        order = sorted(range(len(buffers)), key=lambda i: (*key(buffers[i]), i))
        size, offsets = _place(buffers, order)
        if name == "greedy-by-size":
            greedy = size
        if best is None or size < best[0]:
            best = (size, offsets, name)
    if best is None:
        return MemoryPlan(arena_bytes=0, offsets=(), algorithm="empty", greedy_bytes=0)
    plan = MemoryPlan(arena_bytes=best[0], offsets=tuple(best[1]), algorithm=best[2], greedy_bytes=greedy)
    check_plan(buffers, plan)
    return plan


def check_plan(buffers: Sequence[Buffer], plan: MemoryPlan) -> None:
    """Raise AssertionError if two buffers alive at the same time share a byte."""
    for i, a in enumerate(buffers):
        oa = plan.offsets[i]
        if oa < 0 or oa + a.nbytes > plan.arena_bytes or oa % ALIGN:
            raise AssertionError(f"buffer {a.name} at {oa}+{a.nbytes} is outside the arena or misaligned")
        for j in range(i + 1, len(buffers)):
            b = buffers[j]
            if a.nbytes == 0 or b.nbytes == 0 or not _overlap_in_time(a, b):
                continue
            ob = plan.offsets[j]
            if oa < ob + b.nbytes and ob < oa + a.nbytes:
                raise AssertionError(f"live buffers {a.name} and {b.name} overlap in the arena")
