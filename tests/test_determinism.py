"""Building the same model twice gives byte-identical output directories."""

from __future__ import annotations

from pathlib import Path

import pytest

from edgegen.build import build

from .conftest import shared_path


def _tree(root: Path) -> dict[str, bytes]:
    """The generated tree; build/ is make's output (the fit check's firmware, whose link map names
    the temporary directory it was linked in), outside the manifest like any make output."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.relative_to(root).parts[0] != "build"}


@pytest.mark.parametrize("board", ["nucleo-l4r5zi", "qemu-m55", "host"])
def test_two_builds_are_byte_identical(board: str, tmp_path: Path) -> None:
    src = shared_path("models/mlperf_tiny/kws/kws_ref_model.tflite")
    a = build(src.read_bytes(), tmp_path / "a" / "kws", source=str(src), name="kws", board=board).out
    b = build(src.read_bytes(), tmp_path / "b" / "kws", source=str(src), name="kws", board=board).out
    ta, tb = _tree(a), _tree(b)
    assert sorted(ta) == sorted(tb)
    different = [name for name in ta if ta[name] != tb[name]]
    assert not different, different
    assert "model/kws_model.c" in ta and "report.html" in ta
