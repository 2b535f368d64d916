"""Render a :class:`Program` into a self-contained C source tree through the Jinja templates.

The templates hold structure only; every number they print comes from the program. Rendering
is deterministic: the same program and options give byte-identical files.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
import numpy as np

from . import __version__
from .boards import Board
from .kernelfns import kernel_functions
from .lowering import MVE
from .machine import CTYPES
from .program import Call, Program, TensorRef
from .resources import firmware_dir, templates_dir

_UNSAFE_COMMENT = re.compile(r"[^\x20-\x7e]")
#: a "?" followed by another: every trigraph (??= ??/ ??' ??( ??) ??! ??< ??> ??-) starts so
_QUESTION_PAIR = re.compile(r"\?(?=\?)")


def c_comment(value: object) -> str:
    """Text safe inside a C block comment: printable ASCII, no comment terminator or opener, and
    no two "?" in a row. C99 (-std=c99) replaces trigraphs even inside comments, so a name ending
    in ``??/`` would end its comment line in a backslash, splicing the next line into it (and
    -Wtrigraphs, part of -Wall, fails the -Werror build); non-ASCII characters become "?" first,
    so two of them in a row would make a pair too."""
    s = _UNSAFE_COMMENT.sub("?", str(value))
    s = _QUESTION_PAIR.sub("?_", s)
    return s.replace("*/", "*_/").replace("/*", "/_*")[:120]


def c_string(value: object) -> str:
    r"""A C string literal (quotes included) whose bytes at run time are exactly ``value`` in UTF-8.

    Printable ASCII stays, except that ``"``, ``\`` and ``?`` get a backslash (``\?`` is ``?``, so
    no trigraph can form); every other byte is a three-digit octal escape, which unlike ``\x``
    cannot swallow a following digit.
    """
    out = []
    for byte in str(value).encode("utf-8"):
        ch = chr(byte)
        if ch in '"\\?':
            out.append("\\" + ch)
        elif 0x20 <= byte <= 0x7E:
            out.append(ch)
        else:
            out.append(f"\\{byte:03o}")
    return '"' + "".join(out) + '"'


def mk_comment(value: object) -> str:
    return _UNSAFE_COMMENT.sub("?", str(value))[:120]


def c_float(value: float) -> str:
    """A float32 literal that reads back as exactly the same float32."""
    v = float(np.float32(value))
    s = f"{v:.9g}"
    if "e" not in s and "." not in s and "inf" not in s and "nan" not in s:
        s += ".0"
    return s + "f"


def c_double(value: float) -> str:
    s = f"{float(value):.17g}"
    if "e" not in s and "." not in s:
        s += ".0"
    return s


def c_values(data: np.ndarray, per_line: int = 16) -> str:
    flat = np.asarray(data).reshape(-1).tolist()
    lines = []
    for i in range(0, len(flat), per_line):
        lines.append("    " + ", ".join(str(int(v)) for v in flat[i : i + per_line]) + ",")
    return "\n".join(lines)


@dataclass(frozen=True)
class Provenance:
    model_file: str
    board: str
    kernels: str


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates_dir())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters.update(c_comment=c_comment, c_string=c_string, mk_comment=mk_comment, c_float=c_float,
                       c_double=c_double, c_values=c_values)
    return env


def write_templates(env: jinja2.Environment, out: Path, files: dict[str, str], ctx: dict[str, Any]) -> list[Path]:
    """Render each template into ``out / relative path``; returns the paths written."""
    written = []
    for rel, tpl in files.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(env.get_template(tpl).render(**ctx), encoding="utf-8")
        written.append(path)
    return written


@dataclass(frozen=True)
class _ArenaRow:
    offset: int
    nbytes: int
    first: str
    last: str
    what: str


@dataclass(frozen=True)
class Vector:
    """One embedded test vector: each input's and each expected output's bytes."""

    inputs: tuple[np.ndarray, ...]
    outputs: tuple[np.ndarray, ...]


@dataclass(frozen=True)
class VectorSet:
    items: tuple[Vector, ...]
    num_inputs: int
    num_outputs: int
    note: str

    @property
    def count(self) -> int:
        return len(self.items)


def make_vectors(program: Program, samples: Sequence[Sequence[np.ndarray]], note: str) -> VectorSet:
    """Test vectors for the firmware harness: the samples and what the simulator answers."""
    from .sim import simulate

    items = []
    for sample in samples:
        result = simulate(program, sample)
        ins = tuple(np.frombuffer(np.ascontiguousarray(np.asarray(v, dtype=_np_dtype(r))).tobytes(), dtype=np.uint8)
                    for r, v in zip(program.inputs, sample, strict=True))
        outs = tuple(np.frombuffer(np.ascontiguousarray(o).tobytes(), dtype=np.uint8) for o in result.outputs)
        items.append(Vector(inputs=ins, outputs=outs))
    return VectorSet(items=tuple(items), num_inputs=len(program.inputs), num_outputs=len(program.outputs), note=note)


def _np_dtype(ref: TensorRef) -> type[np.generic]:
    return CTYPES[ref.ctype]


@dataclass(frozen=True)
class RenderOptions:
    vectors: VectorSet
    #: boards whose firmware the Makefile can build (the qemu machines)
    qemu_boards: tuple[Board, ...]
    #: a CMSIS-NN checkout to copy instead of edgegen's portable kernels
    cmsis_nn: Path | None = None


def render(program: Program, out: Path, prov: Provenance, options: RenderOptions) -> list[Path]:
    """Write the generated sources, the shipped firmware and the Makefile under ``out``."""
    p = program.name
    offsets = program.plan.offsets
    # guard builds: a canary block before the arena (and after it); offsets shift past the first
    guard = program.guard_bytes

    def ptr(ref: TensorRef) -> str:
        cast = "" if ref.ctype == "int8_t" else f"({ref.ctype} *)(void *)"
        return f"{cast}&{p}_arena[{guard + offsets[ref.buffer]}]"

    def scratch_ptr(call: Call) -> str:
        if call.scratch < 0:
            return "NULL"
        return f"&{p}_arena[{guard + offsets[call.scratch] + guard}]"

    def ref_bytes(ref: TensorRef) -> int:
        return ref.nbytes

    def io_info(ref: TensorRef) -> str:
        """An ``edgegen_io_info`` initializer (model.h): name, shape, type, quantization, bytes."""
        shape = list(ref.shape)  # ranks up to tflite_checks.MAX_RANK (8)
        dims = ", ".join(str(d) for d in shape) or "0"
        is_float = ref.ctype == "float"
        scale = c_float(0.0 if is_float else ref.scale)
        return (f"{{ {c_string(ref.name)}, {len(shape)}, {{ {dims} }}, {int(is_float)}, {scale}, "
                f"{0 if is_float else ref.zero_point}, {ref_bytes(ref)} }}")

    n_calls = len(program.calls)
    rows = sorted(
        (
            _ArenaRow(
                offset=offsets[b.id],
                nbytes=b.nbytes,
                first="in" if b.first < 0 else str(b.first),
                last="out" if b.last >= n_calls else str(b.last),
                what=("scratch" if b.tensor < 0 else "state" if b.state else "tensor") + f" {b.name}",
            )
            for b in program.buffers
        ),
        key=lambda r: (r.offset, r.first),
    )
    ctx = dict(
        program=program,
        p=p,
        P=p.upper(),
        version=__version__,
        model_file=prov.model_file,
        board=prov.board,
        kernels=prov.kernels,
        ptr=ptr,
        scratch_ptr=scratch_ptr,
        guard=guard,
        scratch_guard_at=lambda call: (guard + offsets[call.scratch], guard + offsets[call.scratch] + guard
                                       + call.scratch_bytes),
        ref_bytes=ref_bytes,
        # variable (state) tensors: (arena index, bytes, reset byte, name) for <p>_reset()
        state_fills=[(guard + offsets[b.id], b.nbytes, b.reset_byte, b.name) for b in program.state_buffers],
        io_info=io_info,
        # edgegen's specialized kernels' headers, in first-use order (Call.HEADER)
        kernel_headers=list(dict.fromkeys(h for h in (type(c).HEADER for c in program.calls) if h)),
        buffers_by_offset=rows,
        vectors=options.vectors,
        mve_condition=MVE,
        qemu_boards=options.qemu_boards,
        kernel_warn="-std=c99" if options.cmsis_nn is not None else "$(WARN)",
    )
    env = _environment()
    ctx["kernel_functions"] = kernel_functions(env, ctx, program)
    files = {
        f"model/{p}_model.h": "model.h.j2",
        f"model/{p}_model.c": "model.c.j2",
        f"model/{p}_weights.h": "weights.h.j2",
        f"model/{p}_weights.c": "weights.c.j2",
        f"model/{p}_vectors.h": "vectors.h.j2",
        f"model/{p}_vectors.c": "vectors.c.j2",
        "host/main.c": "host/main.c.j2",
        "harness/main.c": "harness/main.c.j2",
        "Makefile": "Makefile.j2",
        # the model as a library for the user's own firmware (docs/user-guide.md)
        "CMakeLists.txt": "library/CMakeLists.txt.j2",
        "library.json": "library/library.json.j2",
    }
    written = write_templates(env, out, files, ctx)
    fw = firmware_dir()
    copies = [(fw / "edgegen", out / "edgegen"), (fw / "harness", out / "harness"),
              (fw / "boards" / "qemu", out / "board" / "qemu")]
    if options.cmsis_nn is None:
        copies.append((fw / "cmsis_nn", out / "cmsis_nn"))
    else:
        # only what a build needs: the headers, the sources and the licence
        copies += [(options.cmsis_nn / "Include", out / "cmsis_nn" / "Include"),
                   (options.cmsis_nn / "Source", out / "cmsis_nn" / "Source")]
    # Not copied: build files, edgegen's self-test, and from a CMSIS-NN checkout its float kernels
    # (after v7.0.0; its CMake builds them only when enabled) and Python bindings, which the int8
    # model does not call and which would not compile without their own configuration.
    skip = shutil.ignore_patterns("selftest.c", "CMakeLists.txt", "Bindings", "*_f16.c", "*_f32.c", "*_flt.c")
    for src, dest in copies:
        shutil.copytree(src, dest, dirs_exist_ok=True, ignore=skip)
    if options.cmsis_nn is not None and (options.cmsis_nn / "LICENSE").is_file():
        shutil.copy2(options.cmsis_nn / "LICENSE", out / "cmsis_nn" / "LICENSE")
    return written
