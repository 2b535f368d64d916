"""RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR beyond the converter-made families of
tests/test_ops.py: what the converter does not write (nearest with align_corners and
half_pixel_centers both set, which TFLM runs; no options table; a one-pixel align_corners output;
one row to many), simulator == TFLM on every tensor, host C (ASan/UBSan) == simulator and exact on
qemu-m4 and qemu-m55 (bilinear's Helium path), and every refusal, each naming the op."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from edgegen.build import build
from edgegen.emulator import run_on_emulator
from edgegen.errors import EdgegenError, UnsupportedError
from edgegen.lower import lower
from edgegen.tflite_reader import parse_tflite
from edgegen.verify import ParityReport, compare_sim_tflm, random_inputs, verify_directory

from .support.fuzz import TinyModel, options, pack
from .support.opmodels import edge_inputs


def _resize(m: TinyModel, kind: str, x: int, size: tuple[int, int], out_shape: tuple[int, ...],
            opts: Any = "default", scale: float = 0.05, zero_point: int = 3, size_dtype: str = "int32") -> int:
    y = m.tensor(out_shape, scale=scale, zero_point=zero_point)
    s = m.const(list(size), dtype=size_dtype)
    if opts == "default":
        opts = options("ResizeBilinearOptionsT" if kind == "RESIZE_BILINEAR" else "ResizeNearestNeighborOptionsT")
    m.op(kind, [x, s], [y], opts)
    return y


def resize_model() -> bytes:
    """Nearest with both options set and without an options table, bilinear to one pixel with
    align_corners and from one row to 13 with half-pixel centers, chained."""
    m = TinyModel()
    x = m.tensor((1, 3, 4, 5), scale=0.05, zero_point=3, name="x")
    both = options("ResizeNearestNeighborOptionsT", alignCorners=True, halfPixelCenters=True)
    a = _resize(m, "RESIZE_NEAREST_NEIGHBOR", x, (7, 9), (1, 7, 9, 5), both)
    b = _resize(m, "RESIZE_NEAREST_NEIGHBOR", a, (2, 3), (1, 2, 3, 5), None)
    c = _resize(m, "RESIZE_BILINEAR", a, (1, 1), (1, 1, 1, 5), options("ResizeBilinearOptionsT", alignCorners=True))
    r = m.tensor((1, 1, 4, 5), scale=0.05, zero_point=3, name="row")
    d = _resize(m, "RESIZE_BILINEAR", r, (13, 3), (1, 13, 3, 5),
                options("ResizeBilinearOptionsT", halfPixelCenters=True))
    m.inputs, m.outputs = [x, r], [b, c, d]
    return pack(m.model())


@pytest.mark.parametrize(("board", "bilinear"), [("qemu-m4", "resize_bilinear"), ("qemu-m55", "resize_bilinear8")])
def test_hand_built_resizes_match_tflm_and_run_exact(board: str, bilinear: str, tmp_path: Path) -> None:
    """On the Cortex-M55 bilinear takes its Helium path (edgegen_resize8.h), whose portable loop the
    host build of the same directory checks."""
    data = resize_model()
    program = lower(parse_tflite(data, name="r"), name="r")
    samples = edge_inputs(program) + random_inputs(program, 5, seed=0)
    report = ParityReport(samples=len(samples))
    compare_sim_tflm(program, data, samples, report)
    assert report.ok and report.tensors_compared == len(samples) * len(program.calls)
    result = build(data, tmp_path / "r", source="r.tflite", name="r", board=board, vectors=len(samples),
                   samples=samples)
    assert [c.KIND for c in result.program.calls] == ["resize_nearest", "resize_nearest", bilinear, bilinear]
    host, _ = verify_directory(result.out, samples, count=len(samples), seed=0, asan=True)
    assert host.ok and host.c_vs_sim is True
    run = run_on_emulator(result.out, board=board, timeout=300)
    assert run.result.verdict is True and not run.result.failures and run.exit_code == 0


def _refused(kind: str = "RESIZE_BILINEAR", in_shape: tuple[int, ...] = (1, 3, 4, 2), size: Any = (6, 8),
             out_shape: tuple[int, ...] = (1, 6, 8, 2), opts: Any = "default", size_dtype: str = "int32",
             out_zero_point: int = 3) -> bytes:
    m = TinyModel()
    x = m.tensor(in_shape, scale=0.05, zero_point=3, name="x")
    y = _resize(m, kind, x, size, out_shape, opts, zero_point=out_zero_point, size_dtype=size_dtype)
    m.inputs, m.outputs = [x], [y]
    return pack(m.model())


REFUSALS = [
    ("align_and_half", _refused(opts=options("ResizeBilinearOptionsT", alignCorners=True, halfPixelCenters=True)),
     r"RESIZE_BILINEAR\): align_corners and half_pixel_centers are both set"),
    ("size_not_output", _refused(size=(6, 7)), r"RESIZE_BILINEAR\): output shape \[1, 6, 8, 2\] does not match"),
    ("requantizes", _refused(kind="RESIZE_NEAREST_NEIGHBOR", opts=None, out_zero_point=4),
     r"RESIZE_NEAREST_NEIGHBOR\): input .* and output .* are quantized differently"),
    ("size_int64", _refused(size_dtype="int64"), r"RESIZE_BILINEAR\): size .* has type int64, expected int32"),
    ("size_three_values", _refused(size=(6, 8, 1)), r"RESIZE_BILINEAR\): size .* must be 1-D with two values"),
    ("rank_3", _refused(in_shape=(3, 4, 2), out_shape=(6, 8, 2)), r"RESIZE_BILINEAR\): input .* has rank 3"),
    # TFLM's integer coordinates of 1 -> 2000 rows with half-pixel centers pass the last input row
    ("reads_outside", _refused(in_shape=(1, 1, 1, 2), size=(2000, 1), out_shape=(1, 2000, 1, 2),
                               opts=options("ResizeBilinearOptionsT", halfPixelCenters=True)),
     r"RESIZE_BILINEAR\): resizing 1 to 2000: .* would read outside the input"),
]


@pytest.mark.parametrize(("data", "pattern"), [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])
def test_refusals_name_the_op(data: bytes, pattern: str) -> None:
    with pytest.raises(UnsupportedError, match=pattern):
        parse_tflite(data, name="bad")


def test_tile_is_refused_with_what_to_do_instead() -> None:
    m = TinyModel()
    x = m.tensor((1, 2, 1, 3, 4), scale=0.05, zero_point=0, name="x")
    y = m.tensor((1, 2, 2, 3, 4), scale=0.05, zero_point=0)
    m.op("TILE", [x, m.const([1, 1, 2, 1, 1])], [y])
    m.inputs, m.outputs = [x], [y]
    with pytest.raises(EdgegenError,
                       match=r"\(TILE\) is not supported; supported ops: .*\. TFLM has no TILE kernel.*UpSampling2D"):
        parse_tflite(pack(m.model()), name="tile")
