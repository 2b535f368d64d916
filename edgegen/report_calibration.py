"""report.html's sections on the Keras front end's calibration and per-layer sensitivity: the
activation ranges each method chose (a table) and each layer's int8-vs-float SQNR (an inline SVG
bar chart, no script: the page stays self-contained)."""

from __future__ import annotations

import html
from typing import Any

#: SQNR drawn at full bar width (dB); higher values are capped, and said so in the label
FULL_SCALE_DB = 60.0
#: below this SQNR a bar is red (the build's warning threshold for the model output, evaluate.LOW_SQNR_DB)
LOW_DB = 10.0


def _summary(report: dict[str, Any]) -> dict[str, Any]:
    return report.get("front_end_summary") or {}


def sensitivity_svg(rows: list[dict[str, Any]]) -> str:
    """One horizontal bar per tensor (execution order): its SQNR in dB, the worst error in LSB as
    text; infinite SQNR (int8 equal to float) drawn full and labelled so."""
    e = html.escape
    label_w, bar_w, row_h, top = 260, 420, 18, 24
    width, height = label_w + bar_w + 170, top + row_h * len(rows) + 28
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             'aria-label="per-layer SQNR of int8 against float">']
    for tick in range(0, int(FULL_SCALE_DB) + 1, 10):
        x = label_w + bar_w * tick / FULL_SCALE_DB
        parts.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 24}" stroke="#ddd"/>')
        parts.append(f'<text x="{x:.1f}" y="{height - 10}" text-anchor="middle">{tick} dB</text>')
    for i, r in enumerate(rows):
        y = top + i * row_h
        db = r.get("sqnr_db")
        shown = FULL_SCALE_DB if db is None else max(0.0, min(float(db), FULL_SCALE_DB))
        color = "#c0392b" if db is not None and db < LOW_DB else "#4e79a7"
        text = "exact" if db is None else f"{db:.1f} dB"
        title = e(f"{r['layer']} ({r['tensor']}): {text}, max error {r['max_error_lsb']:.2f} LSB")
        parts.append(f'<text x="{label_w - 6}" y="{y + 12}" text-anchor="end">{e(str(r["layer"])[:40])}</text>')
        parts.append(f'<rect class="sqnr" x="{label_w}" y="{y + 2}" width="{bar_w * shown / FULL_SCALE_DB:.1f}" '
                     f'height="{row_h - 5}" fill="{color}"><title>{title}</title></rect>')
        parts.append(f'<text x="{label_w + bar_w * shown / FULL_SCALE_DB + 4:.1f}" y="{y + 12}">{e(text)}, '
                     f'max {r["max_error_lsb"]:.1f} LSB</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def sensitivity_html(report: dict[str, Any]) -> str:
    """The calibration table and the sensitivity chart, when the build made them ("" otherwise)."""
    e = html.escape
    s = _summary(report)
    out = []
    cal = s.get("calibration")
    if cal and cal.get("tensors"):
        method = cal["method"] + (f" {cal['percentile']:g}" if cal.get("percentile") is not None else "")
        rows = "".join(
            f"<tr><td>{e(str(t['tensor']).split(';')[0])}</td><td class=\"n\">{t['min_before']:.5g}</td>"
            f"<td class=\"n\">{t['max_before']:.5g}</td><td class=\"n\">{t['min']:.5g}</td>"
            f"<td class=\"n\">{t['max']:.5g}</td></tr>" for t in cal["tensors"])
        out.append(f"<h2>Calibration: {e(method)}</h2>\n<p>Each activation tensor's int8 range: the converter's "
                   "min/max over the calibration data, and the range the method chose (docs/keras.md, "
                   "\"Calibration\").</p>\n<table id=\"calibration\"><thead><tr><th>tensor</th>"
                   "<th class=\"n\">min (min-max)</th><th class=\"n\">max (min-max)</th><th class=\"n\">min</th>"
                   f"<th class=\"n\">max</th></tr></thead><tbody>{rows}</tbody></table>\n")
    sens = s.get("sensitivity")
    if sens and sens.get("layers"):
        out.append(f"<h2>Per-layer sensitivity</h2>\n<p>Each int8 activation (TFLM, dequantized) against the float "
                   f"model's on {sens['samples']} samples of {e(str(sens['data']))}: signal-to-quantization-noise "
                   f"ratio (bars, capped at {FULL_SCALE_DB:.0f} dB; red below {LOW_DB:.0f} dB) and the largest "
                   "error in units of the tensor's scale. The lowest bars are the layers int8 hurts most.</p>\n"
                   f"<div id=\"sensitivity\">{sensitivity_svg(sens['layers'])}</div>\n")
    return "".join(out)
