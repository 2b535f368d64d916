"""Where a linked firmware's flash goes, from the GNU ld map file `edgegen run` writes beside the ELF.

    .venv/bin/python bench/flash.py BUILD_DIR [--board qemu-m4] [--top 15]

Issue 14's flash bar is "flash without weights and test vectors <= 0.5x TFLM's code without the
model" (ANCHORS.md: TFLM code bytes without the model). Here every byte the linker places in a
flash output section (.vectors, .text, .rodata, the load image of .data, ...) is attributed to
the object file it came from, grouped as:

    weights        model/<name>_weights.o  (the model's constants in the kernels' layouts)
    test vectors   model/<name>_vectors.o  (embedded inputs and expected outputs, and their getters)
    model code     model/<name>_model.o    (invoke and the per-layer functions with inlined kernels)
    edgegen        edgegen/*.o             (edgegen_kernels.c: shared kernel code)
    cmsis-nn       cmsis_nn/**.o           (edgegen's portable CMSIS-NN API or Arm's library)
    harness        harness/*.o             (main, output checks, profiling marks)
    board          board/**.o              (startup, semihosting, counter)
    libc           lib*.a members          (memcpy, libgcc helpers)
    linker         linker stubs and veneers
    padding        alignment fill between input sections

"flash without weights and test vectors" is the flash total minus the first two groups (the
padding stays in, so the figure never understates). It needs a build directory that has been
linked for the board (`edgegen run DIR --board B` leaves build/B/*.elf and *.elf.map).
"""

from __future__ import annotations

import argparse
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

#: output sections that take no flash (same rule as edgegen.fit._size)
_NOT_FLASH = (".bss", ".noinit", ".stack", ".heap", ".debug", ".comment", ".ARM.attributes")
_HEX = re.compile(r"^0x[0-9a-fA-F]+$")
GROUPS = ("weights", "test vectors", "model code", "edgegen", "cmsis-nn", "harness", "board", "libc", "linker",
          "padding")


@dataclass(frozen=True)
class Piece:
    """One input section placed in flash."""

    output: str  # the output section (.text, .rodata, ...)
    name: str  # the input section (.text.kws_call3.constprop.0, ...)
    size: int
    source: str  # object file or archive(member)

    @property
    def group(self) -> str:
        return group_of(self.source)

    @property
    def symbol(self) -> str:
        """The function or object the section holds (-ffunction-sections / -fdata-sections)."""
        for prefix in (".text.startup.", ".text.", ".rodata.", ".data.", ".edgegen_"):
            if self.name.startswith(prefix):
                return self.name[len(prefix):]
        return self.name


def group_of(source: str) -> str:
    if source == "*fill*":
        return "padding"
    if source == "linker stubs":
        return "linker"
    if ".a(" in source or source.endswith(".a"):
        return "libc"
    path = source.replace("\\", "/")
    if "/obj/model/" in path:
        if path.endswith("_weights.o"):
            return "weights"
        if path.endswith("_vectors.o"):
            return "test vectors"
        return "model code"
    for part, group in (("/obj/edgegen/", "edgegen"), ("/obj/cmsis_nn/", "cmsis-nn"), ("/obj/harness/", "harness"),
                        ("/obj/board/", "board")):
        if part in path:
            return group
    return "libc" if "/lib/" in path else "other"


def parse_map(text: str) -> list[Piece]:
    """The input sections of the flash output sections of a GNU ld map file."""
    lines = text.splitlines()
    try:
        start = next(i for i, line in enumerate(lines) if line.startswith("Linker script and memory map"))
    except StopIteration:
        raise ValueError("not a GNU ld map file (no 'Linker script and memory map')") from None
    pieces: list[Piece] = []
    output = ""
    pending: str | None = None  # an input section whose address and size are on the next line
    for line in lines[start + 1:]:
        if not line.strip():
            continue
        tokens = line.split()
        if not line.startswith(" "):  # an output section header, or LOAD/OUTPUT lines
            output = tokens[0] if tokens[0].startswith(".") else ""
            pending = None
            continue
        if not output or output.startswith(_NOT_FLASH):
            continue
        if tokens[0] == "*fill*" and len(tokens) >= 3 and _HEX.match(tokens[2]):
            pieces.append(Piece(output, "*fill*", int(tokens[2], 16), "*fill*"))
            continue
        if line.startswith(" ") and not line.startswith("  ") and tokens[0].startswith("."):
            if len(tokens) >= 4 and _HEX.match(tokens[1]) and _HEX.match(tokens[2]):
                pieces.append(Piece(output, tokens[0], int(tokens[2], 16), " ".join(tokens[3:])))
                pending = None
            elif len(tokens) == 1:
                pending = tokens[0]
            continue
        if pending is not None and len(tokens) >= 3 and _HEX.match(tokens[0]) and _HEX.match(tokens[1]):
            pieces.append(Piece(output, pending, int(tokens[1], 16), " ".join(tokens[2:])))
        pending = None
    return pieces


@dataclass(frozen=True)
class FlashUse:
    total: int
    by_group: dict[str, int]
    pieces: tuple[Piece, ...]

    @property
    def without_weights_and_vectors(self) -> int:
        """Issue 14's flash figure: everything but the model's constants and the test vectors."""
        return self.total - self.by_group.get("weights", 0) - self.by_group.get("test vectors", 0)

    def largest(self, count: int, groups: tuple[str, ...] | None = None) -> list[Piece]:
        chosen = [p for p in self.pieces if groups is None or p.group in groups]
        return sorted(chosen, key=lambda p: (-p.size, p.name))[:count]


def flash_use(map_file: Path) -> FlashUse:
    pieces = parse_map(map_file.read_text(encoding="utf-8", errors="replace"))
    by_group: dict[str, int] = defaultdict(int)
    for p in pieces:
        by_group[p.group] += p.size
    return FlashUse(total=sum(by_group.values()), by_group=dict(by_group), pieces=tuple(pieces))


def map_file(directory: Path, board: str) -> Path:
    maps = sorted((directory / "build" / board).glob("*.elf.map"))
    if len(maps) != 1:
        raise FileNotFoundError(f"{directory}/build/{board}: no linked firmware; run `edgegen run {directory} "
                                f"--board {board}` first")
    return maps[0]


def describe(use: FlashUse, top: int) -> str:
    rows = [f"flash {use.total:,} B; without weights and test vectors {use.without_weights_and_vectors:,} B"]
    rows += [f"  {g:<13}{use.by_group.get(g, 0):>9,} B" for g in GROUPS if use.by_group.get(g, 0)]
    rows.append(f"  largest code pieces (all but weights and test vectors, top {top}):")
    code_groups = tuple(g for g in GROUPS if g not in ("weights", "test vectors"))
    rows += [f"    {p.size:>7,} B  {p.group:<11}{p.symbol}" for p in use.largest(top, code_groups)]
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("dir", help="a build directory linked by `edgegen run`")
    ap.add_argument("--board", default="qemu-m4")
    ap.add_argument("--top", type=int, default=15)
    args = ap.parse_args()
    print(describe(flash_use(map_file(Path(args.dir), args.board)), args.top))


if __name__ == "__main__":
    main()
