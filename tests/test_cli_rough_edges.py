"""The command line's rough edges users hit (issue 18): options that were silently ignored are
refused before any work, --verbose works on either side of the subcommand, `boards` fits 80
columns, `inspect` and `build` agree on a bad file and `inspect` says which CPU it assumes,
`verify --samples` is the total, and `build`'s fit-check firmware is reused by `run`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from edgegen.cli import main

from .conftest import shared_path

HELLO = "models/tflite_micro/hello_world_int8.tflite"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    cap = capsys.readouterr()
    return code, cap.out, cap.err


@pytest.mark.parametrize("options", [["--calib", "missing.npy"], ["--prune", "0.5"], ["--epochs", "2"],
                                     ["--float-io", "--seed", "3"]])
def test_keras_options_with_a_tflite_are_refused(options: list[str], capsys: pytest.CaptureFixture[str],
                                                 tmp_path: Path) -> None:
    for command in (["build", "--out", str(tmp_path / "o")], ["inspect"]):
        code, _out, err = _run(capsys, command[0], str(shared_path(HELLO)), *command[1:], *options)
        assert code == 1 and "Keras models only" in err and options[0] in err, err
        assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_epochs_without_train_and_pruning_options_without_prune(capsys: pytest.CaptureFixture[str],
                                                                 tmp_path: Path) -> None:
    # refused before the (missing) Keras model is even opened
    model = str(tmp_path / "m.keras")
    code, _out, err = _run(capsys, "build", model, "--prune", "0.5", "--epochs", "2")
    assert code == 1 and "--epochs 2" in err and "--train" in err
    code, _out, err = _run(capsys, "build", model, "--prune-mode", "unstructured", "--prune-scope", "layer")
    assert code == 1 and "--prune-mode, --prune-scope" in err and "--prune 0.5" in err


def test_verbose_on_either_side_of_the_subcommand(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    for argv in (["--verbose", "boards"], ["boards", "--verbose"]):
        code, out, _err = _run(capsys, *argv)
        assert code == 0 and "qemu-m4" in out
    # a traceback only with --verbose, wherever it is given
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(b"x" * 16)
    code, _out, err = _run(capsys, "build", str(bad), "--out", str(tmp_path / "o"), "--verbose")
    assert code == 1 and "Traceback" in err


def test_boards_fit_80_columns_and_mark_the_default(capsys: pytest.CaptureFixture[str]) -> None:
    from edgegen.boards import DEFAULT_BOARD, all_boards, resolve_board

    code, out, _err = _run(capsys, "boards")
    assert code == 0 and max(len(line) for line in out.splitlines()) <= 80
    default = resolve_board(DEFAULT_BOARD).board.name
    rows = {line[2:].split()[0]: line for line in out.splitlines()
            if line[:2] in ("  ", "* ") and line[2:].split() and line[2:].split()[0] in all_boards()}
    assert set(all_boards()) <= set(rows)
    assert rows[default].startswith("* ") and all(r.startswith("  ") for n, r in rows.items() if n != default)
    # the columns line up: every board row has its cpu at the same offset
    assert len({line.index(all_boards()[n].cpu, len(n) + 2) for n, line in rows.items()}) == 1


def test_boards_into_a_closed_pipe_is_quiet() -> None:
    proc = subprocess.run(f"'{sys.executable}' -m edgegen boards | head -1", shell=True, capture_output=True,
                          text=True)
    assert proc.stdout.count("\n") == 1 and "Traceback" not in proc.stderr and "Error" not in proc.stderr


@pytest.mark.parametrize("content", [b"", b"not a flatbuffer at all"])
def test_inspect_and_build_agree_on_a_bad_file(content: bytes, capsys: pytest.CaptureFixture[str],
                                               tmp_path: Path) -> None:
    bad = tmp_path / "bad.tflite"
    bad.write_bytes(content)
    _c1, _o1, build_err = _run(capsys, "build", str(bad), "--out", str(tmp_path / "o"))
    _c2, _o2, inspect_err = _run(capsys, "inspect", str(bad))
    assert build_err == inspect_err and build_err.startswith(f"edgegen: error: {bad}: ")


def test_inspect_names_the_board_and_cpu_it_assumes(capsys: pytest.CaptureFixture[str]) -> None:
    kws = str(shared_path("models/mlperf_tiny/kws/kws_ref_model.tflite"))
    _c, m4, _e = _run(capsys, "inspect", kws, "--board", "qemu-m4")
    _c, m55, _e = _run(capsys, "inspect", kws, "--board", "qemu-m55")
    assert "for qemu-m4 (cortex-m4, dsp kernels)" in m4 and "for qemu-m55 (cortex-m55, mve kernels)" in m55


def test_verify_samples_is_the_total(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "hw"
    assert _run(capsys, "build", str(shared_path(HELLO)), "--board", "host", "--out", str(out))[0] == 0
    np.save(tmp_path / "x.npy", np.linspace(-1, 1, 30, dtype=np.float32).reshape(30, 1).astype(np.int8))
    code, text, err = _run(capsys, "verify", str(out), "--inputs", str(tmp_path / "x.npy"), "--samples", "5")
    assert code == 0, err
    assert "(5 inputs: 5 from" in text
    code, text, err = _run(capsys, "verify", str(out), "--inputs", str(tmp_path / "x.npy"))
    assert code == 0 and "(30 inputs: 30 from" in text


def test_run_reuses_the_fit_check_firmware(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "hw"
    assert _run(capsys, "build", str(shared_path(HELLO)), "--board", "nucleo", "--out", str(out))[0] == 0
    elf = out / "build" / "qemu-m4" / "hello_world_int8.elf"
    assert elf.is_file()
    before = elf.stat().st_mtime_ns
    code, text, _err = _run(capsys, "run", str(out))
    assert code == 0 and "exact" in text
    assert elf.stat().st_mtime_ns == before  # make found it up to date


def test_build_inspect_and_run_output_fits_80_columns(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """Tables are laid out for 80 columns (logs and pipes get 80 too); long sentences are left to the
    terminal to wrap, so only table lines are measured, and no cell is cut off with an ellipsis."""
    model = str(shared_path("models/tflite_micro/micro_speech_quantized.tflite"))
    out = tmp_path / "ms"
    outputs = [_run(capsys, "build", model, "--board", "qemu-m4", "--out", str(out)),
               _run(capsys, "inspect", model), _run(capsys, "run", str(out))]
    for code, text, _err in outputs:
        assert code == 0
        table_lines = [line for line in text.splitlines() if line.startswith(" ") or set(line) <= {" ", "─"}]
        assert table_lines and max(len(line.rstrip()) for line in table_lines) <= 80, text
        assert "…" not in text
    # every kernel name is whole on its line (inspect shows the default board's choice)
    from edgegen.boards import DEFAULT_BOARD, resolve_board
    from edgegen.builddir import compile_tflite

    board = resolve_board(DEFAULT_BOARD).board
    _g, program = compile_tflite(Path(model).read_bytes(), name="m", source="m", scratch_target=board.scratch_target,
                                 board=board)
    lines = outputs[1][1].splitlines()
    assert all(any(c.function in line for line in lines) for c in program.calls)
