"""The before/after compression table (Deep Compression's, for the chip): float32 weights -> pruned
-> shared -> int8 -> compressed, with weight bytes, flash, arena, instructions and accuracy per
stage, and per layer what the int8 weights hold (zeros, zero blocks, distinct values per channel)
with the Huffman figure (the core's ``huffman_bytes`` when report.json has it, else the estimate
of edgegen.compression) next to the stored format the core chose.

Everything is derived from report.json's data, so the terminal, report.json and report.html show
the same numbers, and ``edgegen run`` refreshes the instructions (builddir.record_result):

- the float stages and the int8 accuracy come from the Keras front end (``front_end_summary.stages``,
  edgegen.keras.stages); a .tflite build has none;
- weight bytes of the int8 and compressed stages from the core's ``dense_weights_bytes`` and
  ``weights_bytes`` (per layer ``weights: {format, bytes, dense_bytes}``); a build without them
  (``--compress off``, or a core without compressed formats) shows the int8 kernels' bytes for the
  int8 stage and "n/a" for the compressed one;
- flash and arena from the build (the int8 stage's flash, when the weights were compressed, is the
  build's flash with the dense weights put back: an estimate, marked "~");
- instructions from ``edgegen run`` on the build's board; the int8 stage's need a ``--compress off``
  build, so they are "n/a" here.

The compressed model's int8 outputs are bit-exact with TFLM's on the int8 model, so its accuracy is
the int8 stage's.
"""

from __future__ import annotations

from typing import Any

from .compression import layer_weights
from .ir import Graph

NA = "n/a"


def layer_data(graph: Graph) -> list[dict[str, Any]]:
    return [x.as_dict() for x in layer_weights(graph)]


def _instructions(report: dict[str, Any]) -> int | None:
    runs = report.get("runs") or {}
    board = (report.get("board") or {}).get("name")
    order = ([board] if board in runs else []) + sorted(r for r in runs if r != board)
    for name in order:
        run = runs[name]
        if run.get("unit", "instructions") == "instructions" and run.get("total") is not None:
            return int(run["total"])
    return None


def stage_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """One dict per stage: stage, weight_bytes, params, nonzero_params, flash_bytes (with
    flash_estimate), arena_bytes, instructions, accuracy; None where the stage has no such figure."""
    front = report.get("front_end_summary") or {}
    stages = list(front.get("stages") or [])
    int8_acc = next((s.get("accuracy") for s in stages if s.get("stage") == "int8"), None)
    rows: list[dict[str, Any]] = []
    for s in stages:
        if s.get("stage") == "int8":
            continue
        rows.append({"stage": s["stage"], "weight_bytes": s.get("weight_bytes"), "params": s.get("params"),
                     "nonzero_params": s.get("nonzero_params"), "flash_bytes": None, "flash_estimate": False,
                     "arena_bytes": None, "instructions": None, "accuracy": s.get("accuracy")})
    layers = (report.get("compression") or {}).get("layers") or []
    kernels = sum(int(x["dense_bytes"]) for x in layers)
    dense = report.get("dense_weights_bytes")
    stored = report.get("weights_bytes")
    fp = report.get("footprint") or {}
    flash = fp.get("flash_bytes")
    arena = report.get("arena_bytes")
    instructions = _instructions(report)
    nonzero = sum(int(x["weights"]) - int(x["zeros"]) for x in layers)
    int8 = {"stage": "int8", "weight_bytes": dense if dense is not None else kernels, "params": kernels,
            "nonzero_params": nonzero, "flash_bytes": flash, "flash_estimate": False, "arena_bytes": arena,
            "instructions": instructions, "accuracy": int8_acc}
    compressed = {"stage": "compressed", "weight_bytes": None, "params": kernels, "nonzero_params": nonzero,
                  "flash_bytes": None, "flash_estimate": False, "arena_bytes": None, "instructions": None,
                  "accuracy": None}
    if stored is not None and dense is not None:
        int8.update(flash_bytes=None if flash is None else int(flash) - int(stored) + int(dense),
                    flash_estimate=flash is not None, arena_bytes=None, instructions=None)
        compressed.update(weight_bytes=stored, flash_bytes=flash, arena_bytes=arena, instructions=instructions,
                          accuracy=int8_acc)
    return [*rows, int8, compressed]


def layer_rows(report: dict[str, Any]) -> list[dict[str, Any]]:
    """Per layer with int8 weights: edgegen.compression's figures, and the core's stored format
    and bytes when report.json has them. Both lists follow the model's op order, and the core
    describes a subset (CONV_2D and FULLY_CONNECTED, not DEPTHWISE_CONV_2D), so they are matched in
    order by their dense int8 bytes; a layer the core does not describe shows n/a."""
    mine = list((report.get("compression") or {}).get("layers") or [])
    core = [layer["weights"] for layer in report.get("layers", []) if isinstance(layer.get("weights"), dict)]
    out = []
    j = 0
    for x in mine:
        c: dict[str, Any] = {}
        if j < len(core) and int(core[j].get("dense_bytes", -1)) == int(x["dense_bytes"]):
            c = core[j]
            j += 1
        out.append({**x, "format": c.get("format"), "stored_bytes": c.get("bytes"),
                    "core_huffman_bytes": c.get("huffman_bytes"), "entropy": c.get("entropy")})
    return out


def _n(v: Any, suffix: str = "") -> str:
    return NA if v is None else f"{v:,}{suffix}"


def _acc(v: Any) -> str:
    return NA if v is None else f"{100 * float(v):.2f}%"


def cells(row: dict[str, Any], float32: int | None) -> list[str]:
    """The table's cells for a stage row; ``float32`` the first stage's weight bytes for the ratio."""
    wb = row.get("weight_bytes")
    ratio = f"{float32 / wb:.1f}x" if float32 and wb else NA
    flash = _n(row.get("flash_bytes"))
    if row.get("flash_estimate") and row.get("flash_bytes") is not None:
        flash = "~" + flash
    nz = row.get("nonzero_params")
    return [row["stage"], _n(wb), ratio, _n(nz), flash, _n(row.get("arena_bytes")), _n(row.get("instructions")),
            _acc(row.get("accuracy"))]


HEADER = ("stage", "weights B", "vs float32", "non-zero", "flash B", "arena B", "instructions", "accuracy")
LAYER_HEADER = ("tensor", "op", "int8 B", "zero", "zero blocks", "values/ch", "Huffman B", "format", "stored B")


def _huffman(x: dict[str, Any]) -> int:
    """The core's Huffman figure for the layer when report.json has one, else edgegen.compression's."""
    core = x.get("core_huffman_bytes")
    return int(core) if core is not None else int(x["huffman_bytes"])


#: the per-layer table's last columns when a layer's streams are entropy-coded in flash (--entropy-code)
ENTROPY_HEADER = ("coded: flash saved B", "decode instr", "decode RAM B")


def _layer_header(layers: list[dict[str, Any]]) -> tuple[str, ...]:
    return LAYER_HEADER + (ENTROPY_HEADER if any(x.get("entropy") for x in layers) else ())


def layer_cells(x: dict[str, Any], coded: bool = False) -> list[str]:
    """A layer's cells; ``coded``: with the ENTROPY_HEADER columns (``-`` for a layer kept plain)."""
    name = str(x["tensor"]).split("/")
    short = name[-2] if len(name) > 1 else name[-1]
    out = [short, str(x["kind"]), f"{x['dense_bytes']:,}", f"{100 * x['zeros'] / max(x['weights'], 1):.1f}%",
           f"{x['zero_blocks']:,}/{x['blocks']:,}", str(x["distinct"]), f"{_huffman(x):,}",
           x.get("format") or NA, _n(x.get("stored_bytes"))]
    if coded:
        e = x.get("entropy") or {}
        out += [f"{e[k]:,}" if k in e else "-" for k in ("flash_saved", "decode_instructions", "ram_bytes")]
    return out


def wanted(report: dict[str, Any]) -> bool:
    """Whether the table says anything: the Keras front end pruned or shared weights, or the core
    stored weights in fewer bytes than dense int8."""
    front = report.get("front_end_summary") or {}
    if any(s.get("stage") in ("pruned", "shared") for s in front.get("stages") or []):
        return True
    stored, dense = report.get("weights_bytes"), report.get("dense_weights_bytes")
    return stored is not None and dense is not None and int(stored) < int(dense)


def table_lines(report: dict[str, Any]) -> list[str]:
    """The table as fixed-width text lines (terminal and logs)."""
    rows = stage_rows(report)
    first = next((r.get("weight_bytes") for r in rows if r.get("weight_bytes")), None)
    grid = [_header(rows)] + [cells(r, first) for r in rows]
    out = ["compression, before -> after (weights; flash and arena of this build; instructions from "
           "`edgegen run`; accuracy on the evaluation data):"]
    out += _grid(grid)
    layers = layer_rows(report)
    if layers:
        out.append("per layer (Huffman B: an optimal code of the weights' indices with its codebooks, an estimate):")
        head = _layer_header(layers)
        out += _grid([list(head)] + [layer_cells(x, len(head) > len(LAYER_HEADER)) for x in layers])
    return out


def _header(rows: list[dict[str, Any]]) -> list[str]:
    """The ratio column names the stage it compares with: float32, or int8 for a .tflite build."""
    base = next((r["stage"] for r in rows if r.get("weight_bytes")), "float32")
    return [f"vs {base}" if h == "vs float32" else h for h in HEADER]


def _grid(grid: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in grid) for i in range(len(grid[0]))]
    return ["  " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                             for i, (c, w) in enumerate(zip(r, widths, strict=True))) for r in grid]


def table_html(report: dict[str, Any]) -> str:
    import html

    if not wanted(report):
        return ""
    e = html.escape
    rows = stage_rows(report)
    layers = layer_rows(report)
    first = next((r.get("weight_bytes") for r in rows if r.get("weight_bytes")), None)

    def tab(head: tuple[str, ...], body: list[list[str]]) -> str:
        th = "".join(f'<th class="{"" if i == 0 else "n"}">{e(h)}</th>' for i, h in enumerate(head))
        tr = "".join("<tr>" + "".join(f'<td class="{"" if i == 0 else "n"}">{e(c)}</td>' for i, c in enumerate(r))
                     + "</tr>" for r in body)
        return f"<table><thead><tr>{th}</tr></thead><tbody>{tr}</tbody></table>\n"

    return ("<h2>Compression</h2>\n<p>Before and after: weights, flash and arena of this build, instructions from "
            "<code>edgegen run</code>, accuracy on the evaluation data (n/a: not measured in this build).</p>\n"
            + tab(tuple(_header(rows)), [cells(r, first) for r in rows])
            + "<p>Per layer (Huffman B: an optimal code of the weights' indices with its codebooks, an "
              "estimate):</p>\n"
            + tab(_layer_header(layers), [layer_cells(x, len(_layer_header(layers)) > len(LAYER_HEADER))
                                          for x in layers]))
