"""`edgegen build`: a model file in, one self-contained output directory out.

The directory is assembled in a temporary sibling and renamed into place at the end, so a failed
build (including a model that does not fit the board) never leaves half a directory, and an
existing one is only replaced with ``force``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from . import __version__
from .boards import all_boards, resolve_board
from .builddir import MANIFEST_KEY, MODEL_FILE, BuildResult, compile_tflite, load_build, write_meta, write_report
from .codegen import Provenance, RenderOptions, make_vectors, render
from .errors import EdgegenError
from .kernels import DEFAULT_MODE, check_compress, check_entropy, check_mode
from .outdir import check_output_dir, install, manifest, staging
from .samples import as_model_inputs, random_inputs

__all__ = ["DEFAULT_VECTORS", "MODEL_FILE", "BuildResult", "as_model_inputs", "build", "compile_tflite",
           "load_build", "load_tflite_bytes"]

DEFAULT_VECTORS = 3


def load_tflite_bytes(path: Path) -> bytes:
    """The model file's bytes: a regular file only, its size checked before reading (modelfile)."""
    from .modelfile import read_model_file

    return read_model_file(path, what="a model file")


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
    keep_inputs: bool = False,
    portable_kernels: bool = False,
    kernels: str = DEFAULT_MODE,
    compress: str = "auto",
    entropy: str = "auto",
    extra_files: dict[str, bytes] | None = None,
    front_end: Sequence[str] = (),
    front_end_data: dict[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
    inputs: Sequence[Path] = (),
    samples_source: str = "inputs",
) -> BuildResult:
    """Compile ``tflite`` for ``board`` into the directory ``out``.

    ``samples`` (real inputs) become the first embedded test vectors; seeded random inputs fill
    up to ``vectors``. ``cmsis_nn`` copies a CMSIS-NN checkout in place of the portable kernels.
    ``kernels`` is ``--kernels`` (auto, cmsis-nn or portable; :mod:`edgegen.kernels`), ``compress``
    ``--compress`` (auto, on or off; :mod:`edgegen.kernels.sparse`), ``entropy`` ``--entropy-code`` (auto: only
    when the constants would not fit the board's flash otherwise, on or off; :mod:`edgegen.kernels.entropy`).
    ``keep_inputs`` (``--keep-inputs``) plans the arena so that invoke never writes over the inputs.
    ``inputs`` are the files the build read (model, data): ``force`` never replaces a directory
    holding one of them (see :mod:`edgegen.outdir`). ``samples_source`` names the samples in
    messages (the --inputs file). ``vectors`` is checked against fixed limits and, before anything
    is linked, against the board's flash (:mod:`edgegen.fit`).
    """
    from .fit import check_fit_before_link, check_vectors, measure_footprint, require_fit

    resolved = resolve_board(board)
    target = resolved.board
    given_out = out
    out = check_output_dir(out, force=force, inputs=(*inputs, *([cmsis_nn] if cmsis_nn is not None else [])))
    cmsis_dir = _check_cmsis_nn(cmsis_nn) if cmsis_nn is not None else None
    graph, program = compile_tflite(tflite, name=name, source=source, scratch_target=target.scratch_target,
                                    guard=guard, kernels=check_mode(kernels), board=target,
                                    compress=check_compress(compress), entropy=check_entropy(entropy),
                                    arm_cmsis_nn=cmsis_dir is not None, keep_inputs=keep_inputs)
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
    library = f"CMSIS-NN from {cmsis_dir.name}" if cmsis_dir is not None else "edgegen portable CMSIS-NN API"
    if kernels != "cmsis-nn":
        library += f", edgegen kernels ({kernels})"
    with staging(out) as tmp:
        if progress:
            progress("generating C")
        render(program, tmp, Provenance(model_file=Path(source).name, board=target.name, kernels=library),
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
            "cmsis_nn": "external" if cmsis_dir is not None else "portable", "guard": guard, "kernels": kernels,
            "keep_inputs": keep_inputs, "compress": compress,
            # the resolved choice: load_build must lower exactly as this build did
            "entropy": program.entropy}
        write_meta(tmp, meta)
        footprint = None
        if target.kind != "host" and check_fit:
            if progress:
                progress(f"checking the fit on {target.name}")
            footprint = measure_footprint(tmp, program, target, vector_cost)
            require_fit(footprint, program, target, vector_cost)
        from .report import build_report

        write_report(tmp, build_report(BuildResult(out=out, program=program, graph=graph, board=target,
                                                   footprint=footprint, board_note=resolved.note,
                                                   front_end=tuple(front_end), front_end_data=front_end_data,
                                                   library="arm" if cmsis_dir is not None else "portable")))
        # the manifest lists every file of the tree, so that a later --force can tell the
        # user's files from edgegen's
        write_meta(tmp, {**meta, MANIFEST_KEY: manifest(tmp)})
        # files may have been added to the old directory while this build ran
        check_output_dir(given_out, force=force, inputs=inputs)
        install(tmp, out)
    return BuildResult(out=out, program=program, graph=graph, board=target, footprint=footprint,
                       board_note=resolved.note, front_end=tuple(front_end), front_end_data=front_end_data,
                       library="arm" if cmsis_dir is not None else "portable")
