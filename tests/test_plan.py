"""Memory planner properties: no overlap of live buffers, never worse than no sharing."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from edgegen.plan import ALIGN, check_plan, plan_memory
from edgegen.program import Buffer


@st.composite
def buffer_sets(draw: st.DrawFn) -> list[Buffer]:
    n = draw(st.integers(1, 25))
    out = []
    for i in range(n):
        first = draw(st.integers(-1, 30))
        last = draw(st.integers(first, 31))
        size = draw(st.integers(0, 5000))
        out.append(Buffer(id=i, name=f"b{i}", nbytes=size, ctype="int8_t", first=first, last=last))
    return out


def _aligned(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


@settings(max_examples=300, deadline=None)
@given(buffer_sets())
def test_plan_never_overlaps_and_never_exceeds_the_sum(buffers: list[Buffer]) -> None:
    plan = plan_memory(buffers)
    check_plan(buffers, plan)  # raises on overlap
    assert plan.arena_bytes <= sum(_aligned(b.nbytes) for b in buffers)
    assert plan.arena_bytes <= plan.greedy_bytes
    # at the busiest moment all live buffers must fit side by side
    for t in range(-1, 32):
        live = sum(b.nbytes for b in buffers if b.first <= t <= b.last)
        assert plan.arena_bytes >= live


def test_disjoint_lifetimes_share_bytes() -> None:
    a = Buffer(id=0, name="a", nbytes=100, ctype="int8_t", first=0, last=1)
    b = Buffer(id=1, name="b", nbytes=100, ctype="int8_t", first=2, last=3)
    plan = plan_memory([a, b])
    assert plan.arena_bytes == 100
    assert plan.offsets == (0, 0)


def test_check_plan_detects_overlap() -> None:
    import pytest

    from edgegen.program import MemoryPlan

    a = Buffer(id=0, name="a", nbytes=100, ctype="int8_t", first=0, last=2)
    b = Buffer(id=1, name="b", nbytes=100, ctype="int8_t", first=1, last=3)
    with pytest.raises(AssertionError, match="overlap"):
        check_plan([a, b], MemoryPlan(arena_bytes=200, offsets=(0, 50), algorithm="x", greedy_bytes=200))


@settings(max_examples=150, deadline=None)
@given(buffer_sets(), st.lists(st.integers(1, 3000), min_size=1, max_size=3))
def test_state_buffers_own_a_persistent_region(buffers: list[Buffer], states: list[int]) -> None:
    """Variable (state) tensors: packed from offset 0, and no other buffer ever touches those bytes
    (whatever its lifetime), so state survives from one invoke to the next."""
    n = len(buffers)
    calls = 32
    stateful = buffers + [Buffer(id=n + k, name=f"s{k}", nbytes=size, ctype="int16_t", first=-1, last=calls,
                                 state=True) for k, size in enumerate(states)]
    plan = plan_memory(stateful)
    check_plan(stateful, plan)
    assert plan.state_bytes == sum(_aligned(s) for s in states)
    for b in stateful[n:]:
        assert plan.offsets[b.id] + b.nbytes <= plan.state_bytes
    for b in buffers:
        assert b.nbytes == 0 or plan.offsets[b.id] >= plan.state_bytes
    # the rest is planned as without state, after the region
    assert plan.arena_bytes == plan.state_bytes + plan_memory(buffers).arena_bytes
