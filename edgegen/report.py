"""What a build and a run explain to the user: the terminal summary, report.json and report.html.

report.json is the machine-readable record of a build (and, after `edgegen run`, of each
emulator run); report.html renders the same data as a self-contained page with the per-layer
table and a memory timeline (every arena buffer as a bar over the calls that keep it alive).
Nothing here is time-stamped, so identical builds give identical reports.
"""

from __future__ import annotations

import html
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .program import Call, Program

if TYPE_CHECKING:
    from .build import BuildResult
    from .emulator import EmulatorRun
    from .harness_output import HarnessResult

REPORT_JSON = "report.json"
REPORT_HTML = "report.html"


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


@dataclass(frozen=True)
class BufferRow:
    name: str
    kind: str  # tensor or scratch
    offset: int
    nbytes: int
    #: first call that writes it (-1: a model input) and last that reads it (calls: an output)
    first: int
    last: int


def _weight_bytes(program: Program, call: Call) -> int:
    sizes = {c.name: c.nbytes for c in program.constants}
    names = [getattr(call, a, None) for a in ("weights", "bias", "multipliers", "shifts", "lut", "broadcast")]
    return sum(sizes.get(n, 0) for n in names if isinstance(n, str))


def layer_rows(program: Program) -> list[LayerRow]:
    offsets = program.plan.offsets
    rows = []
    for c in program.calls:
        out_bytes = c.output.size * (4 if c.output.ctype == "float" else 1) if hasattr(c.output, "size") else 0
        rows.append(LayerRow(
            call=c.index, op=c.op_name, function=c.function, output_shape=tuple(c.output.shape), macs=c.macs,
            weight_bytes=_weight_bytes(program, c), out_offset=offsets[c.output.buffer], out_bytes=out_bytes,
            scratch_offset=offsets[c.scratch] if c.scratch >= 0 else None, scratch_bytes=c.scratch_bytes,
        ))
    return rows


def buffer_rows(program: Program) -> list[BufferRow]:
    return [BufferRow(name=b.name, kind="scratch" if b.tensor < 0 else "tensor", offset=program.plan.offsets[b.id],
                      nbytes=b.nbytes, first=b.first, last=b.last) for b in program.buffers]


def build_report(result: BuildResult) -> dict[str, Any]:
    p = result.program
    fp = result.footprint
    return {
        "model": p.name,
        "source_sha256": p.source_sha256,
        "board": {"name": result.board.name, "description": result.board.description,
                  "flash_bytes": result.board.flash_bytes, "ram_bytes": result.board.ram_bytes,
                  "twin": result.board.twin},
        "arena_bytes": p.plan.arena_bytes,
        "planner": p.plan.algorithm,
        "greedy_arena_bytes": p.plan.greedy_bytes,
        "weight_bytes": p.weight_bytes,
        "macs": sum(c.macs for c in p.calls),
        "footprint": None if fp is None else asdict(fp),
        "layers": [asdict(r) for r in layer_rows(p)],
        "buffers": [asdict(b) for b in buffer_rows(p)],
        "runs": {},
        "front_end": list(result.front_end),
    }


def write_report(directory: Path, report: dict[str, Any]) -> None:
    (directory / REPORT_JSON).write_text(json.dumps(report, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    (directory / REPORT_HTML).write_text(render_html(report), encoding="utf-8")


def record_run(directory: Path, run: EmulatorRun) -> None:
    """Add an emulator run's counts (instructions) to report.json and report.html."""
    record_result(directory, run.board.name, run.result, "instructions")


def record_result(directory: Path, board: str, result: HarnessResult, unit: str) -> None:
    """Add a harness run on ``board`` (counts in ``unit``) to report.json and report.html."""
    path = directory / REPORT_JSON
    if not path.is_file():
        return
    report = json.loads(path.read_text(encoding="utf-8"))
    report.setdefault("runs", {})[board] = {
        "verdict": "PASS" if result.verdict else "FAIL",
        "vectors_passed": result.vectors_passed,
        "unit": unit,
        "total": result.total,
        "per_call": list(result.per_call),
    }
    write_report(directory, report)


# ------------------------------------------------------------------------------------------
# terminal
# ------------------------------------------------------------------------------------------


def _console() -> Any:
    from rich.console import Console

    console = Console(highlight=False)
    if not console.is_terminal:  # logs and pipes: wide enough for the whole table
        console = Console(highlight=False, width=140)
    return console


def print_build_summary(result: BuildResult) -> None:
    from rich.table import Table

    console = _console()
    p = result.program
    if result.board_note:
        console.print(f"edgegen: {result.board_note}")
    table = Table(title=f"{p.name} for {result.board.name}", title_justify="left")
    for col, just in (("call", "right"), ("op", "left"), ("CMSIS-NN function", "left"), ("output", "left"),
                      ("MACs", "right"), ("weights B", "right"), ("arena offset", "right"), ("out B", "right"),
                      ("scratch B", "right")):
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    for r in layer_rows(p):
        table.add_row(str(r.call), r.op, r.function, "x".join(map(str, r.output_shape)), f"{r.macs:,}",
                      f"{r.weight_bytes:,}", f"{r.out_offset:,}", f"{r.out_bytes:,}", f"{r.scratch_bytes:,}")
    console.print(table)
    console.print(f"arena {p.plan.arena_bytes:,} B (planner {p.plan.algorithm}; TFLM's greedy order "
                  f"{p.plan.greedy_bytes:,} B), constants {p.weight_bytes:,} B, "
                  f"{sum(c.macs for c in p.calls):,} MACs")
    fp = result.footprint
    if fp is not None:
        how = "linked firmware" if fp.exact else "estimate: arm-none-eabi-gcc not installed"
        b = result.board
        console.print(f"{b.name}: flash {fp.flash_bytes:,} / {b.flash_bytes:,} B "
                      f"({100 * fp.flash_bytes / b.flash_bytes:.1f}%), RAM {fp.ram_bytes:,} / {b.ram_bytes:,} B "
                      f"({100 * fp.ram_bytes / b.ram_bytes:.1f}%), {how}")
    console.print(f"built {result.out}")
    console.print(f"report {result.out / REPORT_HTML}")


def print_run_summary(directory: Path, run: EmulatorRun) -> None:
    from rich.table import Table

    from .build import load_build

    console = _console()
    _t, _g, program, _m = load_build(directory)
    r = run.result
    table = Table(title=f"{program.name} on {run.board.name} ({run.board.description})", title_justify="left")
    for col, just in (("call", "right"), ("op", "left"), ("function", "left"), ("instructions", "right"),
                      ("share", "right")):
        table.add_column(col, justify=just)  # type: ignore[arg-type]
    total_calls = sum(r.per_call) or 1
    for c, count in zip(program.calls, r.per_call, strict=False):
        table.add_row(str(c.index), c.op_name, c.function, f"{count:,}", f"{100 * count / total_calls:.1f}%")
    console.print(table)
    console.print(f"instructions per inference: {r.total:,}" if r.total is not None else "no total reported")
    verdict = "[bold green]exact[/]" if r.verdict else "[bold red]MISMATCH[/]"
    console.print(f"parity on {run.board.name}: {verdict} "
                  f"({r.vectors_passed} test vectors identical to the simulator's outputs)")
    for f in r.failures:
        console.print(f"  vector {f.vector} output {f.output} byte {f.byte}: expected {f.expected}, got {f.got}")
    console.print(f"report {directory / REPORT_HTML}")


# ------------------------------------------------------------------------------------------
# report.html
# ------------------------------------------------------------------------------------------

_CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; } td, th { padding: 2px 8px; border-bottom: 1px solid #ddd; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.facts td { border: none; } svg text { font-size: 11px; fill: #333; }
pre { white-space: pre-wrap; max-width: 70em; }
"""

_PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f")


def _timeline_svg(report: dict[str, Any]) -> str:
    """Arena offset (y) against call index (x); each buffer a rectangle over its lifetime."""
    layers = report["layers"]
    n = max(len(layers), 1)
    arena = max(int(report["arena_bytes"]), 1)
    width, height, left, top, bottom = 900, 360, 70, 10, 40
    plot_w, plot_h = width - left - 10, height - top - bottom

    def x(call: float) -> float:
        # slots: -1 (model inputs, written before invoke), the calls, n (outputs, read after it)
        return left + plot_w * (call + 1.5) / (n + 2)

    def y(offset: float) -> float:
        return top + plot_h * (1 - offset / arena)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'role="img" aria-label="arena memory timeline">',
             f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fafafa" stroke="#999"/>']
    for i, b in enumerate(report["buffers"]):
        first = max(int(b["first"]), -1)
        last = min(int(b["last"]), n)
        x0, x1 = x(first - 0.45), x(last + 0.45)
        y0, y1 = y(int(b["offset"]) + int(b["nbytes"])), y(int(b["offset"]))
        color = "#bbbbbb" if b["kind"] == "scratch" else _PALETTE[i % len(_PALETTE)]
        label = html.escape(f"{b['kind']} {b['name']}: {b['nbytes']} B at {b['offset']}, calls {first}..{last}")
        parts.append(f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{max(x1 - x0, 1):.1f}" '
                     f'height="{max(y1 - y0, 1):.1f}" fill="{color}" fill-opacity="0.75" stroke="#333" '
                     f'stroke-width="0.5"><title>{label}</title></rect>')
    for c in range(-1, n + 1):
        label = "in" if c < 0 else ("out" if c == n else str(c))
        parts.append(f'<text x="{x(c):.1f}" y="{height - bottom + 14}" text-anchor="middle">{label}</text>')
    parts.append(f'<text x="{left + plot_w / 2:.0f}" y="{height - 8}" text-anchor="middle">kernel call</text>')
    for frac in (0, 0.25, 0.5, 0.75, 1):
        off = arena * frac
        parts.append(f'<text x="{left - 6}" y="{y(off) + 4:.1f}" text-anchor="end">{int(off)}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def _front_end_html(report: dict[str, Any]) -> str:
    """The Keras conversion summary (pruning, sizes, float vs int8 accuracy), when there was one."""
    lines = report.get("front_end") or []
    if not lines:
        return ""
    return ("<h2>Keras front end</h2>\n<pre id=\"front-end\">"
            + html.escape("\n".join(str(x) for x in lines)) + "</pre>\n")


def render_html(report: dict[str, Any]) -> str:
    e = html.escape
    board = report["board"]
    runs = report.get("runs", {})
    run_cols = sorted(runs)
    head = ["call", "op", "CMSIS-NN function", "output", "MACs", "weights B", "arena offset", "out B", "scratch B"]
    head += [f"{r} {'instr' if runs[r].get('unit') == 'instructions' else 'cycles'}" for r in run_cols]
    rows = []
    for layer in report["layers"]:
        cells = [f'<td class="n">{layer["call"]}</td>', f"<td>{e(layer['op'])}</td>",
                 f"<td><code>{e(layer['function'])}</code></td>",
                 f"<td>{'x'.join(str(d) for d in layer['output_shape'])}</td>",
                 f'<td class="n">{layer["macs"]:,}</td>', f'<td class="n">{layer["weight_bytes"]:,}</td>',
                 f'<td class="n">{layer["out_offset"]:,}</td>', f'<td class="n">{layer["out_bytes"]:,}</td>',
                 f'<td class="n">{layer["scratch_bytes"]:,}</td>']
        for rc in run_cols:
            per = runs[rc].get("per_call", [])
            v = per[layer["call"]] if layer["call"] < len(per) else None
            cells.append(f'<td class="n">{"" if v is None else f"{v:,}"}</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    facts = [("board", f"{board['name']} ({board['description']})"),
             ("arena", f"{report['arena_bytes']:,} B (planner {report['planner']}; TFLM's greedy order "
                       f"{report['greedy_arena_bytes']:,} B)"),
             ("constants", f"{report['weight_bytes']:,} B"), ("MACs per inference", f"{report['macs']:,}")]
    fp = report.get("footprint")
    if fp:
        facts.append(("flash", f"{fp['flash_bytes']:,} of {board['flash_bytes']:,} B"))
        facts.append(("RAM", f"{fp['ram_bytes']:,} of {board['ram_bytes']:,} B (arena, data, stack)"))
    for rc in run_cols:
        r = runs[rc]
        total = f"{r['total']:,}" if r.get("total") is not None else "?"
        facts.append((f"run on {rc}", f"parity {r['verdict']}, {total} {r.get('unit', 'instructions')} per inference"))
    fact_rows = "".join(f"<tr><td>{e(k)}</td><td>{e(v)}</td></tr>" for k, v in facts)
    th = "".join(f'<th class="{"n" if i in (0, 4, 5, 6, 7, 8) or i >= 9 else ""}">{e(h)}</th>'
                 for i, h in enumerate(head))
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>edgegen report: {e(report['model'])}</title><style>{_CSS}</style></head><body>\n"
        f"<h1>edgegen report: {e(report['model'])}</h1>\n<table class=\"facts\">{fact_rows}</table>\n"
        + _front_end_html(report) +
        "<h2>Memory timeline</h2>\n<p>Each bar is one buffer in the arena, from the call that writes it to the "
        "last call that reads it; grey bars are kernel scratch space.</p>\n"
        f"<div id=\"timeline\">{_timeline_svg(report)}</div>\n"
        f"<h2>Layers</h2>\n<table id=\"layers\"><thead><tr>{th}</tr></thead><tbody>\n"
        + "\n".join(rows) + "\n</tbody></table>\n</body></html>\n"
    )
