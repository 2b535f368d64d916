"""MobileNet v1 0.25 at 96x96 (the MLPerf Tiny visual-wake-words shape) on every emulated CPU.

    .venv/bin/python bench/mobilenet.py [--cmsis-nn DIR] [--cpus qemu-m4,qemu-m7,qemu-m55] [--layers]

e.g. .venv/bin/python bench/mobilenet.py --cmsis-nn ../CMSIS-NN --layers   (a v7.0.0 checkout)

Builds keras.applications.MobileNet(alpha=0.25, input 96x96x3, 2 classes, weights=None) with a
seeded initialisation (BatchNormalization given a small variance and random offsets, as training
would, and no softmax: tests/keras/test_applications.py explains why), calibrates it on seeded
uniform random images and converts it to int8 with edgegen's Keras front end. The .tflite is
cached under ~/.cache/edgegen-bench (never in the repository; --refresh rebuilds it).

Then, for each CPU, it builds and runs (`edgegen build` / `edgegen run` through the Python API)
    cmsis-nn        --kernels cmsis-nn against edgegen's portable CMSIS-NN API
    auto            --kernels auto (the default build)
and with --cmsis-nn DIR (e.g. a CMSIS-NN v7 checkout) also
    arm cmsis-nn    --kernels cmsis-nn against Arm's library  (the reference of the ratio column)
    arm auto        --kernels auto against Arm's library
and prints one table: instructions, the ratio to edgegen + Arm's CMSIS-NN on the same CPU,
flash without weights and test vectors (bench/flash.py, from the linker map), arena and parity.
Issue 14's bars: ratio <= 0.60 on qemu-m4, <= 0.75 on qemu-m55. --layers prints each run's
per-layer table (kernel, MACs, instructions, MAC/instruction, share of the CPU's MAC bound).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from flash import flash_use, map_file  # noqa: E402

from edgegen.build import build  # noqa: E402
from edgegen.emulator import run_on_emulator  # noqa: E402

SEED = 7
INPUT = (96, 96, 3)
ALPHA = 0.25
CLASSES = 2
#: bump when the recipe changes, so a cached .tflite of an older recipe is not reused
RECIPE = f"mobilenet_v1 alpha={ALPHA} input={INPUT} classes={CLASSES} seed={SEED} bn=realistic calib=64 v1"


def mobilenet_tflite(cache: Path, refresh: bool = False) -> Path:
    """The int8 MobileNet 0.25 (cached: converting takes about a minute)."""
    key = hashlib.sha256(RECIPE.encode()).hexdigest()[:12]
    path = cache / f"mobilenet_v1_025_96_{key}.tflite"
    if path.is_file() and not refresh:
        return path
    from edgegen import api
    from edgegen.keras._tf import deterministic, keras

    k = keras()
    rng = np.random.default_rng(SEED)
    with deterministic(SEED):  # the layers' initial weights come from Keras's seeded generator
        model = k.applications.MobileNet(input_shape=INPUT, alpha=ALPHA, weights=None, classes=CLASSES,
                                         classifier_activation=None)
    for layer in model.layers:
        if isinstance(layer, k.layers.BatchNormalization):
            gamma, beta, mean, var = layer.get_weights()
            layer.set_weights([gamma, rng.normal(0.0, 0.1, beta.shape).astype("float32"), mean,
                               (0.05 * var).astype("float32")])
    calib = rng.uniform(-1.0, 1.0, (64, *INPUT)).astype("float32")
    tflite = api.quantize(model, calib, seed=SEED)
    cache.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(tflite)
    tmp.replace(path)
    return path


@dataclass(frozen=True)
class Row:
    cpu: str
    setup: str
    instructions: int
    flash_code: int
    arena: int
    parity: bool
    layers: str


def run_one(model: Path, out: Path, cpu: str, kernels: str, cmsis_nn: Path | None) -> Row:
    from edgegen.perf import arm_kernel, layer_perf, mac_bound

    res = build(model.read_bytes(), out, source=str(model), name="mobilenet", board=cpu, vectors=1, force=True,
                kernels=kernels, cmsis_nn=cmsis_nn)
    run = run_on_emulator(out, board=cpu)
    use = flash_use(map_file(out, cpu))
    setup = ("arm " if cmsis_nn else "") + kernels
    lines = [f"{'call':>4}  {'op':<18}{'kernel':<34}{'MACs':>11}{'instructions':>13}{'MAC/instr':>10}{'bound':>7}"]
    for c, p in zip(res.program.calls, layer_perf(res.program, run.result.per_call, mac_bound(run.board)),
                    strict=True):
        inner = arm_kernel(c, run.board.mve) if cmsis_nn else None  # what Arm's wrapper picks
        kernel = inner or p.function
        lines.append(f"{p.call:>4}  {p.op:<18}{kernel:<34}{p.macs:>11,}{p.instructions:>13,}"
                     f"{p.macs_per_instruction:>10.3f}{100 * p.bound_share:>6.1f}%")
    return Row(cpu, setup, run.result.total or 0, use.without_weights_and_vectors, res.program.plan.arena_bytes,
               bool(run.result.verdict), "\n".join(lines))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cmsis-nn", help="a CMSIS-NN checkout (e.g. v7.0.0): adds the runs against Arm's library")
    ap.add_argument("--cpus", default="qemu-m4,qemu-m7,qemu-m55")
    ap.add_argument("--out", default="/tmp/edgegen-mobilenet", help="scratch directory for the builds")
    ap.add_argument("--cache", default=str(Path.home() / ".cache" / "edgegen-bench"))
    ap.add_argument("--refresh", action="store_true", help="convert the Keras model again")
    ap.add_argument("--layers", action="store_true", help="print every run's per-layer table")
    args = ap.parse_args()
    t0 = time.monotonic()
    model = mobilenet_tflite(Path(args.cache), args.refresh)
    digest = hashlib.sha256(model.read_bytes()).hexdigest()[:16]
    print(f"model {model} (sha256 {digest}..., {model.stat().st_size:,} B): {RECIPE}")
    setups: list[tuple[str, Path | None]] = [("cmsis-nn", None), ("auto", None)]
    if args.cmsis_nn:
        arm = Path(args.cmsis_nn)
        setups = [("cmsis-nn", arm), ("auto", arm), *setups]
    rows: list[Row] = []
    for cpu in args.cpus.split(","):
        for kernels, lib in setups:
            tag = f"{cpu}-{'arm-' if lib else ''}{kernels}"
            row = run_one(model, Path(args.out) / tag, cpu, kernels, lib)
            rows.append(row)
            if args.layers:
                print(f"\n{tag}: {row.instructions:,} instructions\n{row.layers}")
    ref = {r.cpu: r.instructions for r in rows if r.setup == "arm cmsis-nn"}
    print(f"\n{'cpu':<10}{'build':<15}{'instructions':>13}{'x Arm CMSIS-NN':>15}{'flash w/o W+V':>14}"
          f"{'arena B':>9}  parity")
    for r in rows:
        ratio = f"{r.instructions / ref[r.cpu]:.3f}" if r.cpu in ref else "-"
        print(f"{r.cpu:<10}{r.setup:<15}{r.instructions:>13,}{ratio:>15}{r.flash_code:>14,}{r.arena:>9,}  "
              f"{'exact' if r.parity else 'MISMATCH'}")
    print("bars (issue 14): qemu-m4 <= 0.60x and qemu-m55 <= 0.75x of edgegen + Arm's CMSIS-NN"
          f"{'' if ref else ' (give --cmsis-nn DIR for the ratio)'}; [{time.monotonic() - t0:.0f} s]")


if __name__ == "__main__":
    main()
