"""Names that reach the generated C (tensor names, model names) cannot break out of comments or
strings, cannot collide with the runtime's symbols, and the result still compiles and matches."""

from __future__ import annotations

import re
from pathlib import Path

import flatbuffers
import pytest
from ai_edge_litert import schema_py_generated as schema

from edgegen.build import build
from edgegen.lower import c_identifier
from edgegen.verify import verify_directory

from .conftest import shared_path

HOSTILE = [
    "*/ #include <stdlib.h>\nint evil(void) { system(\"rm -rf /\"); } /*",
    "\\\n#define main evil",
    "name with \u00fcnicode \u2603 and \x00 nul",
    "??/ trigraph ??= and \"quotes\" and 'ticks'",
    "a" * 5000,
]


def _rename_tensors(data: bytes) -> bytes:
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(data, 0))
    for i, t in enumerate(model.subgraphs[0].tensors):
        t.name = HOSTILE[i % len(HOSTILE)].encode("utf-8")
    b = flatbuffers.Builder(len(data) + 65536)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


@pytest.mark.parametrize("name", ["int", "edgegen", "edgegen_board", "arm", "arm_nn", "cmsis_nn", "9lives",
                                  "../../etc/passwd", "_Reserved", "__x", "", "a-b c.d"])
def test_c_identifier_is_safe(name: str) -> None:
    ident = c_identifier(name)
    assert re.fullmatch(r"[a-z][a-z0-9_]*", ident), ident
    assert not ident.startswith(("edgegen", "arm_", "cmsis", "_")) and ident != "arm"
    assert len(ident) <= 34


def test_hostile_tensor_and_model_names(tmp_path: Path) -> None:
    data = _rename_tensors(shared_path("models/tflite_micro/hello_world_int8.tflite").read_bytes())
    out = tmp_path / "out"
    result = build(data, out, source="*/evil\nname.tflite", name="edgegen */ evil", board="host", vectors=2)
    assert result.program.name.startswith("m_edgegen")
    for path in sorted(out.rglob("*")):
        if path.suffix not in (".c", ".h") and path.name != "Makefile":
            continue
        text = path.read_text(encoding="utf-8")
        assert text.isascii(), path
        if path.suffix in (".c", ".h"):
            # the names may appear inside comments, neutralised; outside them nothing of them is left
            code = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
            assert "evil(void)" not in code and "system(" not in code and "#define main" not in code, path
            assert code.count("#include <stdlib.h>") <= text.count("#include <stdlib.h>\n\n"), path
        else:
            assert all("*/evil" not in line or line.startswith("#") for line in text.splitlines())
    # every written path stays inside the output directory
    for path in out.rglob("*"):
        assert path.resolve().is_relative_to(out.resolve())
    report, _program = verify_directory(out, count=3)
    assert report.ok, [m.message() for m in report.mismatches]
