"""Instructions, flash and RAM per shared model and emulated CPU, beside TFLM + CMSIS-NN.

    .venv/bin/python bench/emulator.py [--shared ../shared] [--cmsis-nn DIR] [--cpus qemu-m4,qemu-m55]

Each model is built for the CPU's qemu board (scratch sized for that CPU's CMSIS-NN build), run
under `qemu -icount shift=0` (instructions counted with the board timer: MPS2's 32-bit CMSDK
timer, the SSE-300 system counter on the AN547), and measured with arm-none-eabi-size. The TFLM
figures are read from ../shared/ANCHORS.md (same emulator, compiler and counting method).

`code B` is issue 14's "flash without weights and test vectors": the linked firmware's flash
minus the bytes of the model's constants and of the embedded test vectors, attributed from the
linker map (bench/flash.py); `x TFLM` divides it by TFLM's code bytes without the model
(the bar: <= 0.5).

Without --cmsis-nn this is the default build (`--kernels auto`): edgegen's kernels specialized
per layer (DSP on M4/M7, Helium on M55) wherever they apply, edgegen's portable CMSIS-NN API for
the rest; `--kernels cmsis-nn` gives the portable API alone (reference loops, far slower). With
--cmsis-nn pointing at a CMSIS-NN checkout (e.g. v7.0.0) and `--kernels cmsis-nn` the generated
code runs Arm's kernels only, the like-for-like comparison with TFLM + CMSIS-NN.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from flash import flash_use, map_file

from edgegen.build import build
from edgegen.emulator import run_on_emulator

MODELS = {
    "kws_ref_model.tflite": "models/mlperf_tiny/kws/kws_ref_model.tflite",
    "resnet8_int8.tflite": "models/mlperf_tiny/ic/resnet8_int8.tflite",
    "ad01_int8.tflite": "models/mlperf_tiny/ad/ad01_int8.tflite",
    "hello_world_int8.tflite": "models/tflite_micro/hello_world_int8.tflite",
    "micro_speech_quantized.tflite": "models/tflite_micro/micro_speech_quantized.tflite",
}
ANCHOR_COLUMN = {"qemu-m4": 1, "qemu-m55": 2}  # columns of ANCHORS.md's instruction counts


@dataclass(frozen=True)
class Anchor:
    instructions: dict[str, int]
    arena: int
    code: int


def read_anchors(shared: Path) -> dict[str, Anchor]:
    out = {}
    path = shared / "ANCHORS.md"
    if not path.is_file():
        return out
    for line in path.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 5 or not cells[0].endswith(".tflite"):
            continue

        def num(s: str) -> int:
            return int(re.sub(r"[^0-9]", "", s.split("/")[0]))

        out[cells[0]] = Anchor(instructions={cpu: num(cells[col]) for cpu, col in ANCHOR_COLUMN.items()},
                               arena=num(cells[3]), code=num(cells[4]))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default = os.environ.get("EDGEGEN_SHARED", str(Path(__file__).resolve().parents[2] / "shared"))
    ap.add_argument("--shared", default=default)
    ap.add_argument("--cmsis-nn", help="a CMSIS-NN checkout to build against instead of the portable kernels")
    ap.add_argument("--cpus", default="qemu-m4,qemu-m7,qemu-m55")
    ap.add_argument("--kernels", default="auto", choices=("auto", "cmsis-nn", "portable"))
    ap.add_argument("--models", default=",".join(MODELS), help="a comma-separated subset of the models")
    args = ap.parse_args()
    shared = Path(args.shared)
    anchors = read_anchors(shared)
    # names, not this machine's paths: the output goes into docs/benchmarks.md
    kernels = (f"CMSIS-NN checkout {Path(args.cmsis_nn).name}" if args.cmsis_nn else
               "edgegen's portable CMSIS-NN API") + f", --kernels {args.kernels}"
    print(f"kernels: {kernels}; TFLM figures: TFLM + CMSIS-NN from shared/ANCHORS.md")
    head = (f"{'model':<30}{'cpu':<10}{'instructions':>13}{'TFLM':>12}{'ratio':>7}{'code B':>9}{'TFLM code':>10}"
            f"{'x TFLM':>7}"
            f"{'weights B':>10}{'arena B':>9}{'TFLM arena':>11}{'RAM B':>9}  parity")
    print(head)
    with tempfile.TemporaryDirectory(prefix="edgegen-bench-") as tmp:
        for name, rel in MODELS.items():
            if name not in args.models.split(","):
                continue
            src = shared / rel
            for cpu in args.cpus.split(","):
                out = Path(tmp) / f"{src.stem}-{cpu}"
                res = build(src.read_bytes(), out, source=str(src), name=src.stem, board=cpu, vectors=1,
                            cmsis_nn=Path(args.cmsis_nn) if args.cmsis_nn else None, kernels=args.kernels)
                run = run_on_emulator(out, board=cpu)
                fp = res.footprint
                a = anchors.get(name)
                t_instr = a.instructions.get(cpu) if a else None
                total = run.result.total or 0
                ratio = f"{total / t_instr:.2f}" if t_instr else "-"
                code = flash_use(map_file(out, cpu)).without_weights_and_vectors
                code_ratio = f"{code / a.code:.2f}" if a else "-"
                print(f"{name:<30}{cpu:<10}{total:>13,}{(f'{t_instr:,}' if t_instr else '-'):>12}{ratio:>7}"
                      f"{code:>9,}{(f'{a.code:,}' if a else '-'):>10}{code_ratio:>7}{res.program.weight_bytes:>10,}"
                      f"{res.program.plan.arena_bytes:>9,}{(f'{a.arena:,}' if a else '-'):>11}"
                      f"{(fp.ram_bytes - fp.stack_bytes) if fp else 0:>9,}  "
                      f"{'exact' if run.result.verdict else 'MISMATCH'}")


if __name__ == "__main__":
    main()
