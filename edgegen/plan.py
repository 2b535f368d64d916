"""Static arena planning: give every buffer an offset so that no two live buffers overlap.

The baseline is TFLM's greedy planner (largest buffer first, lowest offset that fits among
buffers alive at the same time). Edgegen also tries other placement orders and keeps the
smallest arena; aliasing (reshape, in-place elementwise ops) has already merged buffers in
lowering, so it costs nothing here. Variable (state) tensors come first, in a persistent region at
the start of the arena that no other buffer shares, since they live across invokes.
``check_plan`` proves the result.
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


def _state_region(buffers: Sequence[Buffer]) -> tuple[int, dict[int, int]]:
    """The persistent region: state buffers packed from offset 0 in buffer order (as TFLM gives
    variable tensors persistent memory of their own); its size and each state buffer's offset."""
    offsets: dict[int, int] = {}
    end = 0
    for i, b in enumerate(buffers):
        if b.state:
            offsets[i] = end
            end = _align(end + b.nbytes)
    return end, offsets


def plan_memory(buffers: Sequence[Buffer]) -> MemoryPlan:
    state_bytes, state_at = _state_region(buffers)
    rest = [i for i, b in enumerate(buffers) if not b.state]
    best: tuple[int, list[int], str] | None = None
    greedy = 0
    for name, key in _ORDERS.items():
        order = sorted(range(len(rest)), key=lambda k: (*key(buffers[rest[k]]), k))
        size, placed = _place([buffers[i] for i in rest], order)
        if name == "greedy-by-size":
            greedy = state_bytes + size
        if best is None or size < best[0]:
            best = (size, placed, name)
    if best is None or not buffers:
        return MemoryPlan(arena_bytes=0, offsets=(), algorithm="empty", greedy_bytes=0)
    offsets = [0] * len(buffers)
    for i, off in state_at.items():
        offsets[i] = off
    for k, i in enumerate(rest):
        offsets[i] = state_bytes + best[1][k]
    plan = MemoryPlan(arena_bytes=state_bytes + best[0], offsets=tuple(offsets), algorithm=best[2],
                      greedy_bytes=greedy, state_bytes=state_bytes)
    check_plan(buffers, plan)
    return plan


def check_plan(buffers: Sequence[Buffer], plan: MemoryPlan) -> None:
    """Raise AssertionError if two buffers alive at the same time share a byte."""
    for i, a in enumerate(buffers):
        oa = plan.offsets[i]
        if oa < 0 or oa + a.nbytes > plan.arena_bytes or oa % ALIGN:
            raise AssertionError(f"buffer {a.name} at {oa}+{a.nbytes} is outside the arena or misaligned")
        if a.state != (oa + a.nbytes <= plan.state_bytes) and a.nbytes:
            raise AssertionError(f"buffer {a.name} at {oa}+{a.nbytes} is on the wrong side of the state region "
                                 f"(0..{plan.state_bytes})")
        for j in range(i + 1, len(buffers)):
            b = buffers[j]
            if a.nbytes == 0 or b.nbytes == 0 or not _overlap_in_time(a, b):
                continue
            ob = plan.offsets[j]
            if oa < ob + b.nbytes and ob < oa + a.nbytes:
                raise AssertionError(f"live buffers {a.name} and {b.name} overlap in the arena")
