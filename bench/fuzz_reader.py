"""A long mutation-fuzzing run of the .tflite front half (read, lower, plan).

    .venv/bin/python bench/fuzz_reader.py --cases 200000 --seed 1 [--jobs 2] [--shared ../shared]

The same engine and cases as tests/test_fuzz_reader.py (tests/support/fuzz.py), for longer.
Prints the outcome counts per error type and message category, cases per second and the
slowest case; exits 1 when some case raised anything but an EdgegenError, reached the reader's
safety net or took longer than --time-limit seconds. Case i of run seed S is rebuilt alone with
``Fuzzer(load_seeds(shared), S).case(i)``. ``--max-memory-mb`` caps the address space of each
worker, so a huge allocation fails (as a MemoryError, which counts as a bug) instead of swapping.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from tests.support.fuzz import Fuzzer, Summary, load_seeds, run  # noqa: E402


def _work(shared: str, seed: int, start: int, stop: int, time_limit: float, max_memory_mb: int) -> Summary:
    if max_memory_mb > 0:
        limit = max_memory_mb << 20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    fuzzer = Fuzzer(load_seeds(Path(shared)), seed)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return run(fuzzer, range(start, stop), time_limit=time_limit, max_failures=50)


def _merge(parts: list[Summary], seconds: float) -> Summary:
    total = Summary(seconds=seconds)
    for p in parts:
        total.cases += p.cases
        total.counts.update(p.counts)
        total.failures.extend(p.failures)
        total.slowest = max(total.slowest, p.slowest)
    return total


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default = os.environ.get("EDGEGEN_SHARED", str(REPO.parent / "shared"))
    ap.add_argument("--shared", default=default, help="the shared models directory (default: %(default)s)")
    ap.add_argument("--cases", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=1, help="run seed; case i depends only on it and i")
    ap.add_argument("--start", type=int, default=0, help="first case index (to resume or split a run)")
    ap.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--time-limit", type=float, default=2.0, help="seconds one case may take")
    ap.add_argument("--max-memory-mb", type=int, default=4096, help="address-space cap per worker (0: none)")
    args = ap.parse_args()

    seeds = load_seeds(Path(args.shared))
    print(f"seeds: {', '.join(f'{s.name} ({len(s.data)} B, {len(s.sites)} sites, weight {s.weight})' for s in seeds)}")
    jobs = max(1, min(args.jobs, args.cases))
    bounds = [args.start + args.cases * k // jobs for k in range(jobs + 1)]
    work = [(args.shared, args.seed, bounds[k], bounds[k + 1], args.time_limit, args.max_memory_mb)
            for k in range(jobs)]
    t0 = time.perf_counter()
    if jobs == 1:
        parts = [_work(*work[0])]
    else:
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            parts = pool.starmap(_work, work)
    summary = _merge(parts, time.perf_counter() - t0)
    print(f"run seed {args.seed}, cases {args.start}..{args.start + args.cases - 1}, {jobs} job(s)")
    print(summary.table())
    for case, what in summary.failures:
        print(f"FAILED {case}\n    {what}")
    return 1 if summary.failures else 0


if __name__ == "__main__":
    sys.exit(main())
