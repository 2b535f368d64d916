"""Names that reach the generated C (tensor names, model names) cannot break out of comments or
strings, cannot collide with the runtime's symbols, and the result still compiles and matches."""

from __future__ import annotations

import dataclasses
import random
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import flatbuffers
import pytest
from ai_edge_litert import schema_py_generated as schema

from edgegen.boards import resolve_board
from edgegen.build import build
from edgegen.codegen import c_comment, c_string
from edgegen.lower import c_identifier
from edgegen.platformio import write_project
from edgegen.verify import verify_directory

from .conftest import shared_path
from .support.cwarn import STRICT, compile_all, failures

HOSTILE = [
    "*/ #include <stdlib.h>\nint evil(void) { system(\"rm -rf /\"); } /*",
    "\\\n#define main evil",
    "name with \u00fcnicode \u2603 and \x00 nul",
    "??/ trigraph ??= and \"quotes\" and 'ticks'",
    "a" * 5000,
]


#: names with trigraphs, or that make one once non-ASCII characters become "?"; several end in
#: "??/", which C99 (and so -std=c99) reads as a backslash: at the end of a comment line it splices
#: the next line into the comment, and -Wtrigraphs (in -Wall) fails the -Werror build
TRIGRAPH_NAMES = ["abc??/", "???/", "\u00e9\u00e9/", "\u2603?/", "??=define x ??/", "x??(0??)??!??<??>??-??'y"]
#: C99 has trigraphs on in its ISO modes; -trigraphs says so whatever the compiler's default -std
TRIGRAPH_FLAGS = (*STRICT, "-Wtrigraphs", "-trigraphs")


def _rename_tensors(data: bytes, name: Callable[[int], str] = lambda i: HOSTILE[i % len(HOSTILE)]) -> bytes:
    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(data, 0))
    for i, t in enumerate(model.subgraphs[0].tensors):
        t.name = name(i).encode("utf-8")
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
            # the names may appear inside comments and string literals (edgegen_io_info's name),
            # neutralised; outside them nothing of them is left. One left-to-right scan, as the C
            # lexer reads them: a "/*" inside a string starts no comment and a quote inside a
            # comment starts no string.
            code = re.sub(r'/\*.*?\*/|"(?:\\.|[^"\\\n])*"', " ", text, flags=re.S)
            assert "evil(void)" not in code and "system(" not in code and "#define main" not in code, path
            assert code.count("#include <stdlib.h>") <= text.count("#include <stdlib.h>\n\n"), path
        else:
            assert all("*/evil" not in line or line.startswith("#") for line in text.splitlines())
    # every written path stays inside the output directory
    for path in out.rglob("*"):
        assert path.resolve().is_relative_to(out.resolve())
    report, _program = verify_directory(out, count=3)
    assert report.ok, [m.message() for m in report.mismatches]


@pytest.mark.parametrize("name", TRIGRAPH_NAMES)
def test_trigraph_names_are_neutralised(name: str, tmp_path: Path) -> None:
    """Every tensor (and the model file) named so that the name ends a comment line in the header's
    arena table: no "??" is left in any C file, and the sources compile warning-free with
    trigraphs on."""
    data = _rename_tensors(shared_path("models/tflite_micro/hello_world_int8.tflite").read_bytes(),
                           lambda i: f"t{i} {name}")
    out = tmp_path / "out"
    result = build(data, out, source=f"{name}.tflite", name="tri", board="host", vectors=1)
    texts = {p: p.read_text(encoding="utf-8") for p in out.rglob("*") if p.suffix in (".c", ".h")}
    assert any(f"t7 {c_comment(name)}\n" in text for text in texts.values())  # at a line's end, neutralised
    assert [p for p, text in texts.items() if "??" in text] == []
    p = result.program.name
    inc = ["-Imodel", "-Icmsis_nn/Include", "-Iedgegen"]
    sources = [f"model/{p}_model.c", f"model/{p}_weights.c", f"model/{p}_vectors.c", "host/main.c"]
    outcomes = compile_all([["cc", *TRIGRAPH_FLAGS, "-O2", *inc, "-c", s, "-o", "/dev/null"] for s in sources],
                           cwd=out)
    assert not failures(outcomes), failures(outcomes)


def test_c_comment_is_inert() -> None:
    """Random text over the characters that matter: never a trigraph, a comment end or start, or
    anything but printable ASCII."""
    rng = random.Random(12)
    alphabet = "?/*\\=()!<>-' a\u00e9\u2603\n\x00"
    for _ in range(2000):
        s = c_comment("".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))))
        assert "??" not in s and "*/" not in s and "/*" not in s, s
        assert all(" " <= ch <= "~" for ch in s) and len(s) <= 120, s


#: strings whose bytes a C string literal must keep exactly
STRINGS = ["abc??/", "??=??(??)??!??<??>??-??'??/", '"quoted" and \\ back\\', "\u00fcnicode \u2603", "nul\x00byte",
           "new\nline\ttab", "\u00e97 then 0x41", "\x7f\x01\x1b", "?", ""]


def _run_c(tmp_path: Path, body: str, includes: tuple[str, ...] = ()) -> bytes:
    """Compile (trigraphs on, warnings fatal) and run a main() with ``body``; its stdout."""
    src = tmp_path / "main.c"
    src.write_text("#include <stdio.h>\n" + "".join(f'#include "{h}"\n' for h in includes)
                   + f"int main(void)\n{{\n{body}    return 0;\n}}\n")
    exe = tmp_path / "main"
    outcome = compile_all([["cc", *TRIGRAPH_FLAGS, f"-I{tmp_path}", str(src), "-o", str(exe)]])
    assert not failures(outcome), failures(outcome)
    return subprocess.run([str(exe)], capture_output=True, check=True).stdout


def test_c_string_keeps_every_byte(tmp_path: Path) -> None:
    body = "".join(f"    {{ static const char s[] = {c_string(s)};\n"
                   "      fwrite(s, 1, sizeof s - 1, stdout); putchar(0xff); }\n" for s in STRINGS)
    # 0xff never occurs in UTF-8, so it separates the strings unambiguously
    assert _run_c(tmp_path, body).split(b"\xff") == [s.encode("utf-8") for s in STRINGS] + [b""]


def test_board_name_string_in_the_stm32_config(tmp_path: Path) -> None:
    """The one name the firmware prints (edgegen_stm32.c: "edgegen: board <name>"): a board file's
    name reaches the generated config header as a string literal, and arrives intact."""
    name = 'nucleo??/ "x" \\ \u00e9??= end??/'
    board = dataclasses.replace(resolve_board("nucleo-l4r5zi").board, name=name)
    write_project(tmp_path, board, use_local_cmsis_nn=True)
    config = tmp_path / "board" / "stm32"
    body = "    fputs(EDGEGEN_STM32_BOARD_NAME, stdout);\n"
    assert _run_c(config, body, includes=("edgegen_stm32_config.h",)) == name.encode("utf-8")
