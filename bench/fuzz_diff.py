"""A long differential fuzzing run: mutants edgegen accepts must compute exactly what TFLM computes.

    .venv/bin/python bench/fuzz_diff.py --cases 100000 --seed 1 [--jobs 2] [--shared ../shared]

The same engine and cases as tests/test_fuzz_diff.py (tests/support/difffuzz.py), for longer:
each mutant of the shared models is compiled by edgegen; the accepted ones run in edgegen's
simulator and in TFLM (in worker processes that are replaced when TFLM crashes or hangs) on two
seeded random inputs, and every op's output is compared. Prints the outcome counts (refusals by
error type and message category, "same as TFLM", findings), cases per second and the slowest
case; exits 1 on any finding: a traceback, a crash, a hang over --time-limit seconds, a model
TFLM refuses or crashes on, or a difference. Case i of run seed S is rebuilt alone with
``diff_fuzzer(shared, S).case(i)`` (``run_case`` replays it). ``--max-memory-mb`` caps each
worker's address space, so a huge allocation fails instead of swapping.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.support.difffuzz import TIME_LIMIT, DiffRunner, DiffSummary, diff_seeds  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default = os.environ.get("EDGEGEN_SHARED", str(REPO.parent / "shared"))
    ap.add_argument("--shared", default=default, help="the shared models directory (default: %(default)s)")
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1, help="run seed; case i depends only on it and i")
    ap.add_argument("--start", type=int, default=0, help="first case index (to resume or split a run)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--time-limit", type=float, default=TIME_LIMIT, help="seconds one case may take")
    ap.add_argument("--max-memory-mb", type=int, default=4096, help="address-space cap per worker (0: none)")
    ap.add_argument("--progress", type=int, default=10_000, help="print the counts every N cases (0: never)")
    args = ap.parse_args()

    shared = Path(args.shared)
    seeds = diff_seeds(shared)
    print(f"seeds: {', '.join(f'{s.name} ({len(s.data)} B, weight {s.weight})' for s in seeds)}", flush=True)
    runner = DiffRunner.for_fuzzer(shared, args.seed, jobs=args.jobs, time_limit=args.time_limit,
                                   max_memory_mb=args.max_memory_mb)
    t0 = time.perf_counter()

    def progress(s: DiffSummary) -> None:
        if args.progress and s.cases % args.progress == 0:
            s.seconds = time.perf_counter() - t0
            print(f"-- {s.table().splitlines()[0]}", flush=True)

    summary = runner.run(range(args.start, args.start + args.cases), progress)
    print(f"run seed {args.seed}, cases {args.start}..{args.start + args.cases - 1}, {runner.jobs} job(s), "
          f"time limit {args.time_limit:.0f} s per case")
    print(summary.report())
    return 1 if summary.findings else 0


if __name__ == "__main__":
    sys.exit(main())
