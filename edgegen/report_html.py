"""report.html: the data of report.json as a self-contained page with the per-layer table and a
memory timeline (every arena buffer as a bar over the calls that keep it alive)."""

from __future__ import annotations

import html
from typing import Any

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


def _run_columns(runs: dict[str, Any], run_cols: list[str]) -> list[str]:
    """Per run: instructions (or cycles), and for instruction counts MACs per instruction and the
    share of the CPU's MAC bound (edgegen.perf)."""
    head = []
    for r in run_cols:
        head.append(f"{r} {'instr' if runs[r].get('unit') == 'instructions' else 'cycles'}")
        if "mac_bound" in runs[r]:
            b = runs[r]["mac_bound"]
            head += [f"{r} MAC/instr", f"{r} of bound ({b['instruction']} {b['macs_per_instruction']})"]
    return head


def _run_cells(runs: dict[str, Any], run_cols: list[str], call: int) -> list[str]:
    cells = []
    for rc in run_cols:
        run = runs[rc]
        per = run.get("per_call", [])
        v = per[call] if call < len(per) else None
        cells.append(f'<td class="n">{"" if v is None else f"{v:,}"}</td>')
        if "mac_bound" in run:
            mpi, share = run.get("macs_per_instruction", []), run.get("bound_share", [])
            cells.append(f'<td class="n">{f"{mpi[call]:.3f}" if call < len(mpi) else ""}</td>')
            cells.append(f'<td class="n">{f"{100 * share[call]:.1f}%" if call < len(share) else ""}</td>')
    return cells


def render_html(report: dict[str, Any]) -> str:
    e = html.escape
    board = report["board"]
    runs = report.get("runs", {})
    run_cols = sorted(runs)
    head = ["call", "op", "kernel", "output", "MACs", "weights B", "arena offset", "out B", "scratch B"]
    head += [*_run_columns(runs, run_cols), "kernel note"]
    rows = []
    for layer in report["layers"]:
        cells = [f'<td class="n">{layer["call"]}</td>', f"<td>{e(layer['op'])}</td>",
                 f"<td><code>{e(layer['function'])}</code></td>",
                 f"<td>{'x'.join(str(d) for d in layer['output_shape'])}</td>",
                 f'<td class="n">{layer["macs"]:,}</td>', f'<td class="n">{layer["weight_bytes"]:,}</td>',
                 f'<td class="n">{layer["out_offset"]:,}</td>', f'<td class="n">{layer["out_bytes"]:,}</td>',
                 f'<td class="n">{layer["scratch_bytes"]:,}</td>']
        cells += _run_cells(runs, run_cols, int(layer["call"]))
        cells.append(f"<td>{e(layer.get('kernel_note') or '')}</td>")
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
        line = f"parity {r['verdict']}, {total} {r.get('unit', 'instructions')} per inference"
        if "mac_bound" in r and r.get("total"):
            b = r["mac_bound"]
            per = report["macs"] / r["total"]
            line += (f", {per:.3f} MAC/instruction = {100 * per / b['macs_per_instruction']:.1f}% of the CPU's "
                     f"bound ({b['instruction']}: {b['macs_per_instruction']} MAC/instruction)")
        facts.append((f"run on {rc}", line))
    fact_rows = "".join(f"<tr><td>{e(k)}</td><td>{e(v)}</td></tr>" for k, v in facts)
    th = "".join(f'<th class="{"n" if i in (0, 4, 5, 6, 7, 8) or 9 <= i < len(head) - 1 else ""}">{e(h)}</th>'
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
