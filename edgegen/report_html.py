"""report.html: the data of report.json as a self-contained page with the per-layer table and a
memory timeline (every arena buffer as a bar over the calls that keep it alive)."""

from __future__ import annotations

import html
from typing import Any

from .compression_table import table_html
from .report_calibration import sensitivity_html

_CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; } td, th { padding: 2px 8px; border-bottom: 1px solid #ddd; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.facts td { border: none; } svg text { font-size: 11px; fill: #333; } svg text.peak { fill: #c00; }
#timeline { overflow-x: auto; }
pre { white-space: pre-wrap; max-width: 70em; }
"""

_PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f")


def _bytes(n: float) -> str:
    return f"{n / 1024:.1f} KiB" if n >= 10 * 1024 else f"{int(n):,} B"


def live_bytes(report: dict[str, Any]) -> list[int]:
    """Bytes of the arena in use at each slot: -1 (inputs written before invoke), each call, and the
    outputs after it (slot n)."""
    n = len(report["layers"])
    live = [0] * (n + 2)
    for b in report["buffers"]:
        for slot in range(max(int(b["first"]), -1), min(int(b["last"]), n) + 1):
            live[slot + 1] += int(b["nbytes"])
    return live


def short_name(tensor: str) -> str:
    """A tensor's label in the timeline: the converter names tensors "model/layer/op;..." after
    the Keras layer that made them, so the layer's name (at most 40 characters)."""
    parts = tensor.split(";")[0].split("/")
    return (parts[-2] if len(parts) >= 2 else parts[0])[:40]


#: smallest horizontal distance between two call labels, in pixels (11 px digits, up to "out")
LABEL_GAP = 26


def _timeline_svg(report: dict[str, Any]) -> str:
    """Arena offset (y) against call index (x); each buffer a rectangle over its lifetime, named
    where it is wide enough; the peak of live bytes marked. The width grows with the calls (at
    least 12 px per call), so a model of 100+ calls stays legible (the page scrolls sideways)."""
    layers = report["layers"]
    n = max(len(layers), 1)
    arena = max(int(report["arena_bytes"]), 1)
    left, top, bottom, right = 80, 28, 44, 10
    width = max(900, left + right + 12 * (n + 2))
    height = 380
    plot_w, plot_h = width - left - right, height - top - bottom
    slot = plot_w / (n + 2)

    def x(call: float) -> float:
        # slots: -1 (model inputs, written before invoke), the calls, n (outputs, read after it)
        return left + slot * (call + 1.5)

    def y(offset: float) -> float:
        return top + plot_h * (1 - offset / arena)

    e = html.escape
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'role="img" aria-label="arena memory timeline">',
             f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="#fafafa" stroke="#999"/>']
    for i, b in enumerate(report["buffers"]):
        first = max(int(b["first"]), -1)
        last = min(int(b["last"]), n)
        x0, x1 = x(first - 0.45), x(last + 0.45)
        y0, y1 = y(int(b["offset"]) + int(b["nbytes"])), y(int(b["offset"]))
        color = "#bbbbbb" if b["kind"] == "scratch" else _PALETTE[i % len(_PALETTE)]
        label = e(f"{b['kind']} {b['name']}: {b['nbytes']:,} B at offset {b['offset']:,}, calls {first}..{last}")
        parts.append(f'<rect x="{x0:.1f}" y="{y0:.1f}" width="{max(x1 - x0, 1):.1f}" '
                     f'height="{max(y1 - y0, 1):.1f}" fill="{color}" fill-opacity="0.75" stroke="#333" '
                     f'stroke-width="0.5"><title>{label}</title></rect>')
        # the name inside the bar when it fits (about 6 px per character, 12 px of height)
        name = short_name(str(b["name"]))
        text = f"{name} ({_bytes(int(b['nbytes']))})"
        if x1 - x0 >= 6.2 * len(text) + 6 and y1 - y0 >= 13:
            parts.append(f'<text class="buf" x="{x0 + 3:.1f}" y="{(y0 + y1) / 2 + 4:.1f}">{e(text)}</text>')
        elif y1 - y0 >= 6.2 * len(text) + 6 and x1 - x0 >= 13:
            # narrow and tall (a short-lived buffer): the name upwards along the bar
            cx, cy = (x0 + x1) / 2 + 4, y1 - 3
            parts.append(f'<text class="buf" x="{cx:.1f}" y="{cy:.1f}" transform="rotate(-90 {cx:.1f} {cy:.1f})">'
                         f'{e(text)}</text>')
    step = max(1, -(-LABEL_GAP // max(int(slot), 1)))
    for c in range(-1, n + 1):
        # every step-th slot counted from 'in', none closer than a step to 'out'
        if c in (-1, n) or ((c + 1) % step == 0 and c + step <= n):
            label = "in" if c < 0 else ("out" if c == n else str(c))
            parts.append(f'<text x="{x(c):.1f}" y="{height - bottom + 14}" text-anchor="middle">{label}</text>')
    parts.append(f'<text x="{left + plot_w / 2:.0f}" y="{height - 8}" text-anchor="middle">kernel call</text>')
    for frac in (0, 0.25, 0.5, 0.75, 1):
        off = arena * frac
        parts.append(f'<text x="{left - 6}" y="{y(off) + 4:.1f}" text-anchor="end">{_bytes(off)}</text>')
    parts.append(f'<text x="14" y="{top + plot_h / 2:.0f}" text-anchor="middle" '
                 f'transform="rotate(-90 14 {top + plot_h / 2:.0f})">arena offset</text>')
    live = live_bytes(report)
    peak = max(range(len(live)), key=lambda i: live[i])
    px = x(peak - 1)
    where = "the inputs" if peak == 0 else ("the outputs" if peak == n + 1 else f"call {peak - 1}")
    parts.append(f'<line id="peak" x1="{px:.1f}" y1="{top}" x2="{px:.1f}" y2="{top + plot_h}" stroke="#c00" '
                 f'stroke-width="1.5" stroke-dasharray="4 3"/>')
    anchor = "start" if px < left + plot_w / 2 else "end"
    dx = 4 if anchor == "start" else -4
    parts.append(f'<text class="peak" x="{px + dx:.1f}" y="{top - 10}" text-anchor="{anchor}" fill="#c00">'
                 f'peak: {live[peak]:,} B live at {where} (arena {arena:,} B)</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def _front_end_html(report: dict[str, Any]) -> str:
    """The Keras conversion summary (pruning, sizes, float vs int8 accuracy), when there was one."""
    lines = report.get("front_end") or []
    if not lines:
        return ""
    return ("<h2>Keras front end</h2>\n<pre id=\"front-end\">"
            + html.escape("\n".join(str(x) for x in lines)) + "</pre>\n")


def _precision_html(report: dict[str, Any]) -> str:
    """int16/mixed builds from Keras (--precision, --int16-layers): each activation tensor's type
    and bytes, and the arena before and after (edgegen.keras.precision)."""
    prec = (report.get("front_end_summary") or {}).get("precision") or {}
    tensors = prec.get("tensors") or []
    if not tensors:
        return ""
    e = html.escape
    arena = prec.get("arena_bytes") or {}
    kind = str(prec.get("precision", ""))
    rows = "".join(f"<tr><td>{e(str(t['name']))}</td><td>{e(str(t['producer']))}</td><td>{e(str(t['dtype']))}</td>"
                   f"<td>{'x'.join(str(d) for d in t['shape'])}</td><td class=\"n\">{int(t['bytes']):,}</td></tr>"
                   for t in tensors)
    return (f"<h2>Precision: {e(kind)}</h2>\n<p>int16 layers: {e(', '.join(prec.get('int16_layers') or []) or '-')}; "
            f"{e(str(arena.get('source', 'arena bytes')))}: int8 {int(arena.get('int8', 0)):,}, {e(kind)} "
            f"{int(arena.get(kind, 0)):,}. Weights are int8 either way (int16 ops' biases int64).</p>\n"
            "<table id=\"precision\"><thead><tr><th>tensor</th><th>written by</th><th>type</th><th>shape</th>"
            f"<th class=\"n\">bytes</th></tr></thead><tbody>{rows}</tbody></table>\n")


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


def _facts(report: dict[str, Any]) -> list[tuple[str, str]]:
    board = report["board"]
    runs = report.get("runs", {})
    lib = report.get("library") or {}
    facts = [("board", f"{board['name']} ({board['description']})"),
             ("edgegen", f"{report.get('edgegen', '?')} (report schema {report.get('schema', 1)})")]
    if lib:
        facts.append(("kernels", lib["label"] + (f"; {lib['platformio']}" if lib.get("platformio") else "")))
    facts += [("arena", f"{report['arena_bytes']:,} B (planner {report['planner']}; TFLM's greedy order "
                        f"{report['greedy_arena_bytes']:,} B)"),
              ("constants", f"{report['weight_bytes']:,} B"), ("MACs per inference", f"{report['macs']:,}")]
    if report.get("state_bytes"):
        facts.append(("state", f"{report['state_bytes']:,} B of the arena (variable tensors, kept across invokes; "
                               "reset by init/reset)"))
    if "inputs_survive_invoke" in report:
        other = report.get("arena_bytes_other_input_choice", 0)
        facts.append(("inputs", "survive invoke (--keep-inputs)" if report["inputs_survive_invoke"] else
                      f"overwritten by invoke: write them before each invoke (--keep-inputs: arena {other:,} B)"))
    for kind in ("inputs", "outputs"):
        for i, t in enumerate((report.get("io") or {}).get(kind, [])):
            q = (f"{t['dtype']}, real = {t['scale']:.9g} * (q - ({t['zero_point']}))" if t["dtype"] in ("int8", "int16")
                 else t["dtype"])
            facts.append((f"{kind[:-1]} {i}", f"{t['name']}: {'x'.join(str(d) for d in t['shape'])}, {q}"))
    fp = report.get("footprint")
    if fp:
        facts.append(("flash", f"{fp['flash_bytes']:,} of {board['flash_bytes']:,} B"))
        facts.append(("RAM", f"{fp['ram_bytes']:,} of {board['ram_bytes']:,} B (arena, data, stack)"))
    clock = int(board.get("clock_hz") or 0)
    for rc in sorted(runs):
        r = runs[rc]
        total = f"{r['total']:,}" if r.get("total") is not None else "?"
        unit = r.get("unit", "instructions")
        line = f"parity {r['verdict']}, {total} {unit} per inference"
        if r.get("kernels"):
            line += f" ({r['kernels']})"
        if "mac_bound" in r and r.get("total"):
            b = r["mac_bound"]
            per = report["macs"] / r["total"]
            line += (f", {per:.3f} MAC/instruction = {100 * per / b['macs_per_instruction']:.1f}% of the CPU's "
                     f"bound ({b['instruction']}: {b['macs_per_instruction']} MAC/instruction)")
        if r.get("total") and clock and unit == "instructions" and not board["name"].startswith("qemu"):
            line += (f"; about {r['total'] / clock * 1000:.2f} ms at {board['name']}'s {clock / 1e6:.0f} MHz "
                     "if it runs one instruction per cycle (an estimate; `edgegen flash` measures cycles)")
        elif r.get("total") and clock and unit == "cycles":
            line += f" = {r['total'] / clock * 1000:.2f} ms at {clock / 1e6:.0f} MHz"
        facts.append((f"run on {rc}", line))
    return facts


def render_html(report: dict[str, Any]) -> str:
    e = html.escape
    runs = report.get("runs", {})
    run_cols = sorted(runs)
    head = [("call", True), ("op", False), ("kernel", False), ("kind", False), ("output", False), ("MACs", True),
            ("weights B", True), ("arena offset", True), ("out B", True), ("scratch B", True)]
    head += [(h, True) for h in _run_columns(runs, run_cols)] + [("kernel note", False)]
    rows = []
    for layer in report["layers"]:
        cells = [f'<td class="n">{layer["call"]}</td>', f"<td>{e(layer['op'])}</td>",
                 f"<td><code>{e(layer['function'])}</code></td>", f"<td>{e(layer.get('kernel_kind', ''))}</td>",
                 f"<td>{'x'.join(str(d) for d in layer['output_shape'])}</td>",
                 f'<td class="n">{layer["macs"]:,}</td>', f'<td class="n">{layer["weight_bytes"]:,}</td>',
                 f'<td class="n">{layer["out_offset"]:,}</td>', f'<td class="n">{layer["out_bytes"]:,}</td>',
                 f'<td class="n">{layer["scratch_bytes"]:,}</td>']
        cells += _run_cells(runs, run_cols, int(layer["call"]))
        cells.append(f"<td>{e(layer.get('kernel_note') or '')}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    fact_rows = "".join(f"<tr><td>{e(k)}</td><td>{e(v)}</td></tr>" for k, v in _facts(report))
    th = "".join(f'<th class="{"n" if numeric else ""}">{e(h)}</th>' for h, numeric in head)
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>edgegen report: {e(report['model'])}</title><style>{_CSS}</style></head><body>\n"
        f"<h1>edgegen report: {e(report['model'])}</h1>\n<table class=\"facts\">{fact_rows}</table>\n"
        + _front_end_html(report) + sensitivity_html(report) + _precision_html(report) + table_html(report) +
        "<h2>Memory timeline</h2>\n<p>Each bar is one buffer in the arena (offset upwards, in bytes), from the "
        "call that writes it to the last call that reads it, named where it is wide enough (hover for every "
        "bar's name, size and offset); grey bars are kernel scratch space; the red line marks the peak of "
        "live bytes.</p>\n"
        f"<div id=\"timeline\">{_timeline_svg(report)}</div>\n"
        f"<h2>Layers</h2>\n<table id=\"layers\"><thead><tr>{th}</tr></thead><tbody>\n"
        + "\n".join(rows) + "\n</tbody></table>\n</body></html>\n"
    )
