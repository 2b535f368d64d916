"""What a build and a run explain to the user: the terminal summary, report.json and report.html.

report.json is the machine-readable record of a build (and, after `edgegen run`, of each
emulator run); report.html renders the same data as a self-contained page with the per-layer
table and a memory timeline (every arena buffer as a bar over the calls that keep it alive).
Nothing here is time-stamped, so identical builds give identical reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .builddir import REPORT_HTML, REPORT_JSON, BuildResult, load_build, write_report
from .perf import arm_kernel, call_notes, efficiency, layer_perf, mac_bound
from .program import Call, Program

if TYPE_CHECKING:
    from .emulator import EmulatorRun

__all__ = [
    "REPORT_HTML",
    "REPORT_JSON",
    "buffer_rows",
    "build_report",
    "layer_rows",
    "print_build_summary",
    "print_run_summary",
    "write_report",
]


@dataclass(frozen=True)
class LayerRow:
    call: int
    op: str
    function: str
    output_shape: tuple[int, ...]
    macs: int
    weight_bytes: int
    out_offset: int
    out_bytes: int
    scratch_offset: int | None
    scratch_bytes: int
    #: why the layer keeps its CMSIS-NN call though edgegen has a kernel for it (None: no note)
    kernel_note: str | None = None
    #: what kind of kernel runs the layer: "edgegen specialized", "edgegen runtime" or "CMSIS-NN API"
    kernel_kind: str = ""


@dataclass(frozen=True)
class BufferRow:
    name: str
    kind: str  # tensor, scratch or state (a variable tensor, in the persistent region)
    offset: int
    nbytes: int
    #: first call that writes it (-1: a model input) and last that reads it (calls: an output)
    first: int
    last: int


def _weight_bytes(program: Program, call: Call) -> int:
    """The flash of the constants the call reads (every field that names one)."""
    from dataclasses import fields, is_dataclass

    sizes = {c.name: c.nbytes for c in program.constants}
    # only string fields can name a constant (others hold numbers, tuples and numpy tables, which
    # are not hashable); a field holding a record (an LSTM gate) is searched the same way
    values = [getattr(call, f.name) for f in fields(call)]
    values += [getattr(v, f.name) for v in values if is_dataclass(v) and not isinstance(v, type) for f in fields(v)]
    names = {v for v in values if isinstance(v, str)} - {call.function, call.op_name}
    return sum(sizes.get(n, 0) for n in names)


def kernel_kind(call: Call) -> str:
    if type(call).HEADER is not None:
        return "edgegen specialized"
    return "edgegen runtime" if call.function.startswith("edgegen_") else "CMSIS-NN API"


#: report.json's layout version: 2 added schema, edgegen, library, io, inputs_survive_invoke,
#: kernel_kind per layer, the board's clock and front_end_summary
SCHEMA = 2


def layer_rows(program: Program) -> list[LayerRow]:
    offsets = program.plan.offsets
    notes = call_notes(program)
    rows = []
    for c in program.calls:
        out_bytes = c.output.nbytes if hasattr(c.output, "size") else 0
        rows.append(LayerRow(
            call=c.index, op=c.op_name, function=c.function, output_shape=tuple(c.output.shape), macs=c.macs,
            weight_bytes=_weight_bytes(program, c), out_offset=offsets[c.output.buffer], out_bytes=out_bytes,
            scratch_offset=offsets[c.scratch] if c.scratch >= 0 else None, scratch_bytes=c.scratch_bytes,
            kernel_note=notes.get(c.index), kernel_kind=kernel_kind(c),
        ))
    return rows


def buffer_rows(program: Program) -> list[BufferRow]:
    return [BufferRow(name=b.name, kind="scratch" if b.tensor < 0 else "state" if b.state else "tensor",
                      offset=program.plan.offsets[b.id],
                      nbytes=b.nbytes, first=b.first, last=b.last) for b in program.buffers]


def build_report(result: BuildResult) -> dict[str, Any]:
    from .compression_table import layer_data, stage_rows

    p = result.program
    fp = result.footprint
    report = _report(result, p, fp)
    # the before/after compression table's data (edgegen.compression_table; `edgegen run` refreshes
    # the stages with its instructions)
    report["compression"] = {"layers": layer_data(result.graph)}
    report["compression"]["stages"] = stage_rows(report)
    if p.kernel_mode != "cmsis-nn":
        # which layers edgegen's kernels could take but leave to CMSIS-NN, and why (the layers'
        # "function" says which kernel each call runs)
        report["kernels"] = {"mode": p.kernel_mode,
                             "cmsis_nn_kept": [{"op": op, "why": why} for op, why in p.kernel_notes]}
    _add_weights(report, p)
    return report


def _add_weights(report: dict[str, Any], p: Program) -> None:
    """--compress: each CONV_2D / FULLY_CONNECTED layer's weight storage and the model's totals."""
    by_op = {lw.op: lw for lw in p.layer_weights}
    first_call: dict[int, int] = {}
    for c in p.calls:
        first_call.setdefault(c.op_index, c.index)
    for row in report["layers"]:
        lw = next((by_op[op] for op, call in first_call.items() if call == row["call"] and op in by_op), None)
        if lw is not None:
            row["weights"] = {"format": lw.format, "bytes": lw.bytes, "dense_bytes": lw.dense_bytes,
                              "huffman_bytes": lw.huffman_bytes}
            if lw.decode_ram:  # --entropy-code: what coding this layer's streams saves and costs
                row["weights"]["entropy"] = {"flash_saved": lw.entropy_saved,
                                             "decode_instructions": lw.decode_instructions,
                                             "ram_bytes": lw.decode_ram}
    report["compress"] = p.compress
    report["weights_bytes"] = p.weights_bytes
    report["dense_weights_bytes"] = p.dense_weights_bytes


#: report.json's dtype of an input/output by its C type (int16: 16x8 models)
_DTYPES = {"int8_t": "int8", "int16_t": "int16", "float": "float32"}


def _io(p: Program) -> dict[str, list[dict[str, Any]]]:
    def one(r: Any) -> dict[str, Any]:
        q = r.ctype != "float"
        return {"name": r.name, "shape": list(r.shape), "dtype": _DTYPES[r.ctype],
                "scale": r.scale if q else None, "zero_point": r.zero_point if q else None}

    return {"inputs": [one(r) for r in p.inputs], "outputs": [one(r) for r in p.outputs]}


def _library(result: BuildResult) -> dict[str, str]:
    arm = result.library == "arm"
    label = ("Arm's CMSIS-NN (--cmsis-nn checkout)" if arm else "edgegen's portable CMSIS-NN API")
    if result.program.kernel_mode != "cmsis-nn":
        label += f" + edgegen's specialized kernels ({result.program.kernel_mode})"
    stm32 = result.board.kind == "stm32"
    note = ("the PlatformIO project compiles Arm's CMSIS-NN v7 for the CMSIS-NN calls (emulator runs use "
            "the build tree's library)" if stm32 and not arm else "")
    return {"cmsis_nn": "arm" if arm else "portable", "label": label, "platformio": note}


def _report(result: BuildResult, p: Program, fp: Any) -> dict[str, Any]:
    from . import __version__

    return {
        "schema": SCHEMA,
        "edgegen": __version__,
        "library": _library(result),
        "io": _io(p),
        "inputs_survive_invoke": p.keep_inputs,
        "arena_bytes_other_input_choice": p.other_arena_bytes,
        "model": p.name,
        "source_sha256": p.source_sha256,
        "board": {"name": result.board.name, "description": result.board.description,
                  "flash_bytes": result.board.flash_bytes, "ram_bytes": result.board.ram_bytes,
                  "twin": result.board.twin, "clock_hz": result.board.clock_hz},
        "arena_bytes": p.plan.arena_bytes,
        "planner": p.plan.algorithm,
        "greedy_arena_bytes": p.plan.greedy_bytes,
        # the persistent region of the arena holding the variable (state) tensors
        "state_bytes": p.plan.state_bytes,
        "weight_bytes": p.weight_bytes,
        "macs": sum(c.macs for c in p.calls),
        "footprint": None if fp is None else asdict(fp),
        "layers": [asdict(r) for r in layer_rows(p)],
        "buffers": [asdict(b) for b in buffer_rows(p)],
        "runs": {},
        # the Keras front end: the summary lines as printed, and the same as data
        "front_end": list(result.front_end),
        "front_end_summary": result.front_end_data,
    }


# ------------------------------------------------------------------------------------------
# terminal
# ------------------------------------------------------------------------------------------


#: terminal tables are laid out for this width, the narrowest common terminal
TABLE_WIDTH = 80


def _console() -> Any:
    from rich.console import Console

    # soft wrap: sentences are not broken by rich (a terminal wraps them, a log keeps them whole);
    # tables are laid out for the terminal's width, and for 80 columns in logs and pipes
    console = Console(highlight=False, soft_wrap=True)
    if not console.is_terminal:
        console = Console(highlight=False, soft_wrap=True, width=TABLE_WIDTH)
    return console


def table(title: str, columns: Sequence[tuple[str, str]], whole: Sequence[str] = ("kernel", "function")) -> Any:
    """A compact table (no vertical rules, one space between columns) that fits 80 columns: text
    cells wrap (nothing is cut off with an ellipsis); numbers and the ``whole`` columns (function
    names, which users search for) keep their line."""
    from rich import box
    from rich.table import Table

    t = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, padding=(0, 0))
    for name, justify in columns:
        t.add_column(name, justify=justify, overflow="fold",  # type: ignore[arg-type]
                     no_wrap=justify == "right" or name in whole)
    return t


def print_build_summary(result: BuildResult) -> None:
    console = _console()
    p = result.program
    if result.board_note:
        console.print(f"edgegen: {result.board_note}")
    t = table(f"{p.name} for {result.board.name}",
              (("call", "right"), ("op", "left"), ("function", "left"), ("output", "left"), ("MACs", "right"),
               ("weights", "right"), ("out B@offset", "right"), ("scratch", "right")))
    for r in layer_rows(p):
        t.add_row(str(r.call), r.op, r.function, "x".join(map(str, r.output_shape)), f"{r.macs:,}",
                  f"{r.weight_bytes:,}", f"{r.out_bytes:,}@{r.out_offset:,}", f"{r.scratch_bytes:,}")
    console.print(t)
    for op, why in p.kernel_notes:
        console.print(f"op {op} keeps its CMSIS-NN call: {why}")
    for lw in p.layer_weights if any(lw.format != "dense" for lw in p.layer_weights) else ():
        coded = (f"; entropy-coded in flash: {lw.entropy_saved:,} B saved, decoded into {lw.decode_ram:,} B of "
                 f"arena in ~{lw.decode_instructions:,} instructions") if lw.decode_ram else ""
        console.print(f"op {lw.op} weights: {lw.format}, {lw.bytes:,} B vs {lw.dense_bytes:,} B dense int8 "
                      f"({lw.bytes / max(lw.dense_bytes, 1):.2f}x; Huffman-coded {lw.huffman_bytes:,} B{coded})")
    if p.layer_weights:
        # the dense kernels keep their own layout (int8 widened to int16 pairs for SMLAD on DSP CPUs,
        # rows padded for Helium), so an uncompressed build can store more than the .tflite's int8
        layout = ("" if any(lw.format != "dense" for lw in p.layer_weights)
                  else "; every layer dense, in its kernel's layout (int16 pairs for SMLAD, padded rows for Helium)")
        console.print(f"weights ({p.compress}): {p.weights_bytes:,} B vs {p.dense_weights_bytes:,} B dense int8 "
                      f"({p.weights_bytes / max(p.dense_weights_bytes, 1):.2f}x{layout})")
    console.print(f"arena {p.plan.arena_bytes:,} B (planner {p.plan.algorithm}; TFLM's greedy order "
                  f"{p.plan.greedy_bytes:,} B), constants {p.weight_bytes:,} B, "
                  f"{sum(c.macs for c in p.calls):,} MACs")
    if p.plan.state_bytes:
        console.print(f"state {p.plan.state_bytes:,} B of the arena (variable tensors, kept across invokes)")
    fp = result.footprint
    if fp is not None:
        how = "linked firmware" if fp.exact else "estimate: arm-none-eabi-gcc not installed"
        b = result.board
        console.print(f"{b.name}: flash {fp.flash_bytes:,} / {b.flash_bytes:,} B "
                      f"({100 * fp.flash_bytes / b.flash_bytes:.1f}%), RAM {fp.ram_bytes:,} / {b.ram_bytes:,} B "
                      f"({100 * fp.ram_bytes / b.ram_bytes:.1f}%), {how}")
    _print_compression(console, result)
    console.print(f"built {result.out}")
    console.print(f"report {result.out / REPORT_HTML}")


def _print_compression(console: Any, result: BuildResult) -> None:
    from .compression_table import table_lines, wanted

    report = build_report(result)
    if wanted(report):
        for line in table_lines(report):
            console.print(line, markup=False, overflow="ignore", crop=False)


def print_run_summary(directory: Path, run: EmulatorRun) -> None:
    console = _console()
    _t, _g, program, meta = load_build(directory)
    r = run.result
    bound = mac_bound(run.board)
    # with Arm's library, also the function its convolution wrappers pick for the layer
    arm = meta.get("cmsis_nn") == "external"
    t = table(f"{program.name} on {run.board.name} ({run.board.description})",
              (("call", "right"), ("op", "left"), ("kernel", "left"), ("MACs", "right"), ("instr", "right"),
               ("share", "right"), ("MAC/i", "right"), ("bound", "right")))
    total_calls = sum(r.per_call) or 1
    rows = layer_perf(program, r.per_call, bound)
    for c, p in zip(program.calls, rows, strict=False):
        inner = arm_kernel(c, run.board.mve) if arm else None
        t.add_row(str(p.call), p.op, inner or p.function, f"{p.macs:,}", f"{p.instructions:,}",
                  f"{100 * p.instructions / total_calls:.1f}%", f"{p.macs_per_instruction:.3f}",
                  f"{100 * p.bound_share:.1f}%")
    console.print(t)
    if arm:
        console.print("kernel: for Arm's CMSIS-NN convolution wrappers, the function the wrapper picks for the layer")
    for p in rows:
        if p.note:
            console.print(f"call {p.call} ({p.op}) runs {p.function}: {p.note}")
    if r.total is not None:
        macs = sum(c.macs for c in program.calls)
        per, share = efficiency(macs, r.total, bound)
        console.print(f"instructions per inference: {r.total:,} ({macs:,} MACs, {per:.3f} MAC/instruction, "
                      f"{100 * share:.1f}% of the {run.board.cpu} bound, {bound.describe()})")
    else:
        console.print("no total reported")
    verdict = "[bold green]exact[/]" if r.verdict else "[bold red]MISMATCH[/]"
    console.print(f"parity on {run.board.name}: {verdict} "
                  f"({r.vectors_passed} test vectors identical to the simulator's outputs)")
    for f in r.failures:
        console.print(f"  vector {f.vector} output {f.output} byte {f.byte}: expected {f.expected}, got {f.got}")
    console.print(f"report {directory / REPORT_HTML}")
