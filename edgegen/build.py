"""`edgegen build`: a model file in, one self-contained output directory out.

The directory is assembled in a temporary sibling and renamed into place at the end, so a failed
build never leaves half a directory, and an existing one is only replaced with ``force``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import __version__
from .codegen import Provenance, render
from .errors import EdgegenError
from .ir import Graph
from .lower import lower
from .program import Program
from .tflite_reader import parse_tflite

MODEL_FILE = "model.tflite"


@dataclass(frozen=True)
class BuildResult:
    out: Path
    program: Program
    graph: Graph


def load_tflite_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise EdgegenError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise EdgegenError(f"{path}: is a directory, expected a model file") from None
    except OSError as e:
        raise EdgegenError(f"{path}: cannot read it ({e.strerror})") from None


def compile_tflite(data: bytes, *, name: str, source: str) -> tuple[Graph, Program]:
    try:
        graph = parse_tflite(data, name=name)
        return graph, lower(graph, name=name)
    except EdgegenError as e:
        raise type(e)(f"{source}: {e}") from None


def build(
    tflite: bytes,
    out: Path,
    *,
    source: str,
    name: str,
    board: str = "host",
    force: bool = False,
    extra_files: dict[str, bytes] | None = None,
) -> BuildResult:
    out = out.resolve()
    if out.exists() and not force:
        raise EdgegenError(f"{out} already exists; pass --force to replace it")
    if out.exists() and not out.is_dir():
        raise EdgegenError(f"{out} exists and is not a directory")
    graph, program = compile_tflite(tflite, name=name, source=source)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    try:
        prov = Provenance(model_file=Path(source).name, board=board, kernels="edgegen portable CMSIS-NN API")
        render(program, tmp, prov)
        (tmp / MODEL_FILE).write_bytes(tflite)
        for rel, data in (extra_files or {}).items():
            (tmp / rel).write_bytes(data)
        (tmp / "build.json").write_text(
            json.dumps({"edgegen": __version__, "name": program.name, "board": board, "source": Path(source).name},
                       indent=2, sort_keys=True) + "\n",
            encoding="utf-8",
        )
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            os.replace(out, old / "x")
            os.replace(tmp, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return BuildResult(out=out, program=program, graph=graph)


def load_build(directory: Path) -> tuple[bytes, Graph, Program, dict[str, str]]:
    """Re-derive the program of a build directory from its model.tflite (lowering is deterministic)."""
    meta_path = directory / "build.json"
    model_path = directory / MODEL_FILE
    if not meta_path.is_file() or not model_path.is_file():
        raise EdgegenError(f"{directory} is not an edgegen build directory (no build.json / {MODEL_FILE}); "
                           "run `edgegen build` first")
    meta = json.loads(meta_path.read_text(encoding="utf-8"))
    data = model_path.read_bytes()
    graph, program = compile_tflite(data, name=meta["name"], source=str(model_path))
    return data, graph, program, meta
