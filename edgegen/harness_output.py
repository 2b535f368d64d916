"""Parse what the on-target test harness prints (templates/harness/main.c.j2 documents it)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_LINE = re.compile(r"^edgegen: (.*)$")


@dataclass(frozen=True)
class VectorFailure:
    vector: int
    output: int
    byte: int
    expected: int
    got: int


@dataclass(frozen=True)
class HarnessResult:
    #: True for "verdict PASS", False for "verdict FAIL", None when the harness never got there
    verdict: bool | None
    lines: tuple[str, ...]
    vectors_passed: int
    failures: tuple[VectorFailure, ...]
    #: instructions (qemu) or cycles (hardware) of one inference, without per-call hooks
    total: int | None
    #: the same per kernel call, from a second, profiled inference
    per_call: tuple[int, ...]
    error: str | None


def parse_harness_output(text: str) -> HarnessResult:
    lines = []
    verdict: bool | None = None
    passed: set[int] = set()
    failures = []
    total = None
    per_call: dict[int, int] = {}
    error = None
    for raw in text.splitlines():
        m = _LINE.match(raw.strip())
        if not m:
            continue
        body = m.group(1)
        lines.append(raw.strip())
        words = body.split()
        if words[:1] == ["verdict"] and len(words) == 2:
            verdict = words[1] == "PASS"
        elif words[:1] == ["vector"] and len(words) == 3 and words[2] == "pass":
            passed.add(int(words[1]))
        elif words[:1] == ["vector"] and len(words) == 11 and words[2] == "FAIL":
            failures.append(VectorFailure(int(words[1]), int(words[4]), int(words[6]), int(words[8]), int(words[10])))
        elif words[:1] == ["total"] and len(words) == 2:
            total = int(words[1])
        elif words[:1] == ["call"] and len(words) == 3:
            per_call[int(words[1])] = int(words[2])
        elif words[:2] == ["invoke", "failed"]:
            error = body
    calls = tuple(per_call[i] for i in sorted(per_call))
    return HarnessResult(verdict=verdict, lines=tuple(lines), vectors_passed=len(passed), failures=tuple(failures),
                         total=total, per_call=calls, error=error)
