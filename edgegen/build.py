"""`edgegen build`: a model file in, one self-contained output directory out.

The directory is assembled in a temporary sibling and renamed into place at the end, so a failed
build (including a model that does not fit the board) never leaves half a directory, and an
existing one is only replaced with ``force``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .boards import Board, all_boards, resolve_board
from .codegen import Provenance, RenderOptions, make_vectors, render
from .errors import EdgegenError
from .ir import Graph
from .lower import lower
from .outdir import MANIFEST_KEY, META_FILE, check_output_dir, install, manifest, staging
from .program import Program
from .tflite_reader import parse_tflite

MODEL_FILE = "model.tflite"
DEFAULT_VECTORS = 3


@dataclass(frozen=True)
class BuildResult:
    out: Path
    program: Program
    graph: Graph
    board: Board
    #: the flash/RAM check against the board (None for the host board)
    footprint: Any
    #: what an alias resolved to, for the user
    board_note: str | None
    #: the Keras front end's summary (pruning, size, float vs int8 accuracy), for the report
    front_end: tuple[str, ...] = ()


def load_tflite_bytes(path: Path) -> bytes:
    """The model file's bytes: a regular file only, its size checked before reading (modelfile)."""
    from .modelfile import read_model_file

    return read_model_file(path, what="a model file")


def compile_tflite(data: bytes, *, name: str, source: str, scratch_target: str = "dsp",
                   guard: bool = False) -> tuple[Graph, Program]:
    try:
        graph = parse_tflite(data, name=name)
        return graph, lower(graph, name=name, scratch_target=scratch_target, guard=guard)
    except EdgegenError as e:
        raise type(e)(f"{source}: {e}") from None


def as_model_inputs(program: Program, sample: Sequence[np.ndarray], *, source: str = "an input sample"
                    ) -> tuple[np.ndarray, ...]:
    """A sample in the model's input types: float data for an int8 input is quantized with the
    input's scale and zero point (so real float features can be given as they are). Values are
    checked first (:func:`edgegen.arrays.check_array`: real, finite numbers), so that a NaN is
    never quantized to the zero point; ``source`` names the sample in messages."""
    from .arrays import ArrayError, check_array
    from .fixedpoint import quantize_f32_s8

    if len(sample) != len(program.inputs):
        raise ArrayError(f"{source} has {len(sample)} arrays, the model has {len(program.inputs)} inputs")
    out = []
    for ref, value in zip(program.inputs, sample, strict=True):
        a = check_array(value, source)
        if a.size != ref.size:
            raise ArrayError(f"{source} has {a.size} values (shape {list(a.shape)}); the model's input "
                             f"'{ref.name}' takes {ref.size} (shape {list(ref.shape)})")
        if ref.ctype == "int8_t" and a.dtype.kind == "f":
            a = quantize_f32_s8(a, ref.scale, ref.zero_point)
        elif ref.ctype == "int8_t" and a.dtype != np.int8:
            if a.min() < -128 or a.max() > 127:
                raise ArrayError(f"{source} holds integers outside -128..127 ({a.min()}..{a.max()}) for the int8 "
                                 f"input '{ref.name}'; give int8 values, or float features (they are quantized "
                                 "with the input's scale and zero point)")
            a = a.astype(np.int8)
        elif ref.ctype == "float":
            a = a.astype(np.float32)
        out.append(a.reshape(ref.shape))
    return tuple(out)


def _check_cmsis_nn(path: Path) -> Path:
    p = path.expanduser().resolve()
    if not (p / "Include" / "arm_nnfunctions.h").is_file() or not (p / "Source").is_dir():
        raise EdgegenError(f"{path}: not a CMSIS-NN checkout (expected Include/arm_nnfunctions.h and Source/); "
                           "clone https://github.com/ARM-software/CMSIS-NN")
    return p


def build(
    tflite: bytes,
    out: Path,
    *,
    source: str,
    name: str,
    board: str = "host",
    force: bool = False,
    vectors: int = DEFAULT_VECTORS,
    samples: Sequence[Sequence[np.ndarray]] = (),
    cmsis_nn: Path | None = None,
    check_fit: bool = True,
    guard: bool = False,
    portable_kernels: bool = False,
    extra_files: dict[str, bytes] | None = None,
    front_end: Sequence[str] = (),
    progress: Callable[[str], None] | None = None,
    inputs: Sequence[Path] = (),
    samples_source: str = "inputs",
) -> BuildResult:
    """Compile ``tflite`` for ``board`` into the directory ``out``.

    ``samples`` (real inputs) become the first embedded test vectors; seeded random inputs fill
    up to ``vectors``. ``cmsis_nn`` copies a CMSIS-NN checkout in place of the portable kernels.
    ``inputs`` are the files the build read (model, data): ``force`` never replaces a directory
    holding one of them (see :mod:`edgegen.outdir`). ``samples_source`` names the samples in
    messages (the --inputs file). ``vectors`` is checked against fixed limits and, before anything
    is linked, against the board's flash (:mod:`edgegen.fit`).
    """
    from .fit import check_fit_before_link, check_vectors, measure_footprint, require_fit
    from .verify import random_inputs

    resolved = resolve_board(board)
    target = resolved.board
    given_out = out
    out = check_output_dir(out, force=force, inputs=(*inputs, *([cmsis_nn] if cmsis_nn is not None else [])))
    cmsis_dir = _check_cmsis_nn(cmsis_nn) if cmsis_nn is not None else None
    graph, program = compile_tflite(tflite, name=name, source=source, scratch_target=target.scratch_target,
                                    guard=guard)
    # vectors are simulated and compiled into flash: their cost is known from the I/O sizes
    vector_cost = check_vectors(program, vectors)
    if target.kind != "host" and check_fit:
        check_fit_before_link(program, target, vector_cost)
    given = [as_model_inputs(program, s, source=f"{samples_source} sample {i}")
             for i, s in enumerate(list(samples)[:vectors])]
    all_samples = given + random_inputs(program, vectors - len(given), seed=0)
    note = (f"{len(given)} given input(s) and {len(all_samples) - len(given)} seeded random one(s); "
            "expected outputs from edgegen's simulator")
    vector_set = make_vectors(program, all_samples, note)
    qemu_boards = tuple(b for b in all_boards().values() if b.kind == "qemu")
    kernels = f"CMSIS-NN from {cmsis_dir.name}" if cmsis_dir is not None else "edgegen portable CMSIS-NN API"
    with staging(out) as tmp:
        if progress:
            progress("generating C")
        render(program, tmp, Provenance(model_file=Path(source).name, board=target.name, kernels=kernels),
               RenderOptions(vectors=vector_set, qemu_boards=qemu_boards, cmsis_nn=cmsis_dir))
        if target.kind == "stm32":
            from .platformio import write_project

            write_project(tmp, target, use_local_cmsis_nn=cmsis_dir is not None or portable_kernels)
        (tmp / MODEL_FILE).write_bytes(tflite)
        for rel, data in (extra_files or {}).items():
            (tmp / rel).write_bytes(data)
        meta: dict[str, Any] = {
            "edgegen": __version__, "name": program.name, "board": target.name, "source": Path(source).name,
            "scratch_target": target.scratch_target, "vectors": len(all_samples),
            "cmsis_nn": "external" if cmsis_dir is not None else "portable", "guard": guard}
        _write_meta(tmp, meta)
        footprint = None
        if target.kind != "host" and check_fit:
            if progress:
                progress(f"checking the fit on {target.name}")
            footprint = measure_footprint(tmp, program, target, vector_cost)
            require_fit(footprint, program, target, vector_cost)
        from .report import build_report, write_report

        write_report(tmp, build_report(BuildResult(out=out, program=program, graph=graph, board=target,
                                                   footprint=footprint, board_note=resolved.note,
                                                   front_end=tuple(front_end))))
        # the manifest lists every file of the tree, so that a later --force can tell the
        # user's files from edgegen's
        _write_meta(tmp, {**meta, MANIFEST_KEY: manifest(tmp)})
        # files may have been added to the old directory while this build ran
        check_output_dir(given_out, force=force, inputs=inputs)
        install(tmp, out)
    return BuildResult(out=out, program=program, graph=graph, board=target, footprint=footprint,
                       board_note=resolved.note, front_end=tuple(front_end))


def _write_meta(directory: Path, meta: dict[str, Any]) -> None:
    (directory / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def load_build(directory: Path) -> tuple[bytes, Graph, Program, dict[str, Any]]:
    """Re-derive the program of a build directory from its model.tflite (lowering is deterministic)."""
    meta_path = directory / META_FILE
    model_path = directory / MODEL_FILE
    if not meta_path.is_file() or not model_path.is_file():
        raise EdgegenError(f"{directory} is not an edgegen build directory (no {META_FILE} / {MODEL_FILE}); "
                           "run `edgegen build` first")
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        name = str(meta["name"])
    except (ValueError, KeyError, TypeError):
        raise EdgegenError(f"{meta_path}: damaged; rebuild the directory with `edgegen build --force`") from None
    data = model_path.read_bytes()
    graph, program = compile_tflite(data, name=name, source=str(model_path),
                                    scratch_target=str(meta.get("scratch_target", "dsp")),
                                    guard=bool(meta.get("guard", False)))
    return data, graph, program, meta
