"""report.json's record (schema, version, library, I/O quantization, kernel kinds) and report.html's
memory timeline: legible at 100+ calls (call labels apart, the width growing with the calls), the
buffers named where they fit, byte units on the axis, and the peak of live bytes marked with the
value computed here from the buffers."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path

import pytest

from edgegen import __version__
from edgegen.build import build
from edgegen.builddir import load_build
from edgegen.report_html import LABEL_GAP, render_html

from .conftest import shared_path

KWS = "models/mlperf_tiny/kws/kws_ref_model.tflite"


@pytest.fixture(scope="module")
def kws(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = shared_path(KWS)
    return build(src.read_bytes(), tmp_path_factory.mktemp("r") / "kws", source=str(src), name="kws",
                 board="nucleo-l4r5zi", vectors=1).out


def test_report_json_records_what_users_need(kws: Path) -> None:
    report = json.loads((kws / "report.json").read_text())
    _d, _g, program, _m = load_build(kws)
    assert report["schema"] == 2 and report["edgegen"] == __version__
    assert report["library"]["cmsis_nn"] == "portable" and "specialized" in report["library"]["label"]
    assert "PlatformIO" in report["library"]["platformio"]  # an STM32 board: the project compiles Arm's
    ins = report["io"]["inputs"]
    assert [(t["name"], t["shape"], t["scale"], t["zero_point"]) for t in ins] == [
        (r.name, list(r.shape), r.scale, r.zero_point) for r in program.inputs]
    assert report["inputs_survive_invoke"] is False
    for layer, call in zip(report["layers"], program.calls, strict=True):
        expected = ("edgegen specialized" if type(call).HEADER else
                    "edgegen runtime" if call.function.startswith("edgegen_") else "CMSIS-NN API")
        assert layer["kernel_kind"] == expected
    # every constant is some layer's
    assert sum(layer["weight_bytes"] for layer in report["layers"]) == program.weight_bytes


def _synthetic(calls: int) -> dict[str, object]:
    """A report of a ``calls``-layer chain: each output lives two calls, ping-ponging in the arena,
    with a long-lived 'skip' buffer; the numbers are the test's own."""
    layers = [{"call": i, "op": "CONV_2D", "function": "edgegen_mm_s8", "kernel_kind": "edgegen specialized",
               "output_shape": [1, 8, 8, 16], "macs": 1000, "weight_bytes": 10, "out_offset": 0, "out_bytes": 1024,
               "scratch_bytes": 0} for i in range(calls)]
    buffers = [{"name": f"model/layer_{i}/Relu;x", "kind": "tensor", "offset": 1024 * (i % 2), "nbytes": 1024,
                "first": i, "last": i + 1} for i in range(calls)]
    buffers.append({"name": "model/skip/add", "kind": "tensor", "offset": 2048, "nbytes": 4096, "first": 10,
                    "last": 60})
    return {"model": "deep", "board": {"name": "qemu-m4", "description": "x", "flash_bytes": 1, "ram_bytes": 1,
                                       "clock_hz": 25_000_000},
            "arena_bytes": 6144, "planner": "greedy-by-size", "greedy_arena_bytes": 6144, "weight_bytes": 10,
            "macs": 1000 * calls, "layers": layers, "buffers": buffers, "runs": {}}


@pytest.mark.parametrize("calls", [12, 64, 130])
def test_timeline_legible(calls: int) -> None:
    report = _synthetic(calls)
    page = render_html(report)
    svg = page[page.index("<svg"): page.index("</svg>")]
    width = float(re.search(r'<svg[^>]* width="(\d+)"', svg).group(1))  # type: ignore[union-attr]
    assert width >= 12 * calls
    # call labels along the axis: 'in', the calls, 'out', never closer than LABEL_GAP pixels
    axis = [(float(x), t) for x, t in re.findall(r'<text x="([\d.]+)" y="\d+" text-anchor="middle">(\w+)</text>',
                                                 svg)]
    xs = sorted(x for x, t in axis if t != "kernel")
    assert {"in", "out"} <= {t for _x, t in axis}
    gaps = [b - a for a, b in itertools.pairwise(xs)]
    assert min(gaps) >= LABEL_GAP - 1
    # byte units on the offset axis
    assert "6,144 B" in svg and "0 B" in svg
    # the peak of live bytes, computed here: while 'skip' lives, two chain buffers plus skip
    live = [0] * (calls + 2)
    for b in report["buffers"]:  # type: ignore[attr-defined]
        for s in range(max(b["first"], -1), min(b["last"], calls) + 1):
            live[s + 1] += b["nbytes"]
    peak = max(live)
    assert re.search(rf'<text class="peak"[^>]*>peak: {peak:,} B live at call {live.index(peak) - 1} ', svg)
    assert '<line id="peak"' in svg
    # names: the long-lived skip buffer always has room for its layer's name
    assert ">skip (4,096 B)</text>" in svg
