"""Every failure a user can cause prints one clear line, exits non-zero and leaves no output."""

from __future__ import annotations

import os
import shutil
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


def test_missing_model_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _out, err = _run(capsys, "build", str(tmp_path / "nope.tflite"), "--out", str(tmp_path / "o"))
    assert code == 1
    assert err.strip() == f"edgegen: error: {tmp_path / 'nope.tflite'}: no such file"
    assert not (tmp_path / "o").exists()


def test_not_a_model(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "notes.tflite"
    bad.write_text("hello, this is not a flatbuffer")
    code, _out, err = _run(capsys, "build", str(bad), "--out", str(tmp_path / "o"))
    assert code == 1 and err.startswith("edgegen: error: ") and "notes.tflite" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def _with_unsupported_op(data: bytes) -> bytes:
    """hello_world with its first operator code switched to CUMSUM, which edgegen does not support."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromObj(schema.Model.GetRootAsModel(data, 0))
    code = model.operatorCodes[0]
    code.builtinCode = schema.BuiltinOperator.CUMSUM
    code.deprecatedBuiltinCode = min(int(schema.BuiltinOperator.CUMSUM), 127)
    b = flatbuffers.Builder(len(data) + 1024)
    b.Finish(model.Pack(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def test_unsupported_op_names_the_op(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "cumsum.tflite"
    bad.write_bytes(_with_unsupported_op(shared_path(HELLO).read_bytes()))
    code, _out, err = _run(capsys, "build", str(bad), "--board", "host", "--out", str(tmp_path / "o"))
    assert code == 1
    assert "CUMSUM" in err and "cumsum.tflite" in err and "Traceback" not in err
    assert not (tmp_path / "o").exists()


def test_existing_output_needs_force(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "o"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    code, _out, err = _run(capsys, "build", str(shared_path(HELLO)), "--board", "host", "--out", str(out))
    assert code == 1 and "already exists" in err and "--force" in err
    assert (out / "keep.txt").read_text() == "mine"


def test_verbose_shows_the_traceback(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _out, err = _run(capsys, "--verbose", "build", str(tmp_path / "nope.tflite"))
    assert code == 1 and "Traceback" in err and "no such file" in err


def test_run_on_a_directory_that_is_not_a_build(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _out, err = _run(capsys, "run", str(tmp_path))
    assert code == 1 and "not an edgegen build directory" in err and "edgegen build" in err


def _path_without_arm_tools(tmp_path: Path) -> str:
    """A PATH with make, cc and the Python interpreter but no arm-none-eabi-* and no qemu."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    for tool in ("make", "cc", "gcc", "sh", "mkdir", "rm"):
        found = shutil.which(tool)
        assert found is not None
        os.symlink(found, bindir / tool)
    return str(bindir)


def test_missing_cross_compiler(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", _path_without_arm_tools(tmp_path))
    out = tmp_path / "hello"
    code, stdout, err = _run(capsys, "build", str(shared_path(HELLO)), "--board", "qemu-m4", "--out", str(out))
    assert code == 0, err
    assert "estimate: arm-none-eabi-gcc not installed" in stdout  # the fit check still happens
    code, _out, err = _run(capsys, "run", str(out))
    assert code == 1
    assert "arm-none-eabi-gcc is missing" in err and "apt-get install gcc-arm-none-eabi" in err


def test_missing_qemu(capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "hello"
    assert _run(capsys, "build", str(shared_path(HELLO)), "--board", "qemu-m7", "--out", str(out))[0] == 0
    bindir = Path(_path_without_arm_tools(tmp_path))
    for tool in ("arm-none-eabi-gcc", "arm-none-eabi-size"):
        found = shutil.which(tool)
        assert found is not None
        os.symlink(found, bindir / tool)
    monkeypatch.setenv("PATH", str(bindir))
    code, _out, err = _run(capsys, "run", str(out))
    assert code == 1 and "qemu-system-arm is missing" in err and "apt-get install qemu-system-arm" in err


def test_run_refuses_a_real_board_name(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "hello"
    assert _run(capsys, "build", str(shared_path(HELLO)), "--board", "qemu-m4", "--out", str(out))[0] == 0
    code, _out, err = _run(capsys, "run", str(out), "--board", "nucleo-f446re")
    assert code == 1 and "not an emulated board" in err and "qemu-m4" in err and "edgegen flash" in err


def test_inspect_lists_unsupported_ops(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bad = tmp_path / "cumsum.tflite"
    bad.write_bytes(_with_unsupported_op(shared_path(HELLO).read_bytes()))
    code, out, _err = _run(capsys, "inspect", str(bad))
    assert code == 1
    assert "not supported: CUMSUM" in out and "cannot build" in out


def test_inspect_supported_model(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = _run(capsys, "inspect", str(shared_path("models/tflite_micro/micro_speech_quantized.tflite")))
    assert code == 0
    from edgegen.boards import DEFAULT_BOARD, resolve_board
    from edgegen.builddir import compile_tflite

    board = resolve_board(DEFAULT_BOARD).board
    _g, program = compile_tflite(shared_path("models/tflite_micro/micro_speech_quantized.tflite").read_bytes(),
                                 name="m", source="m", scratch_target=board.scratch_target, board=board)
    assert all(c.function in out for c in program.calls) and "supported: every op" in out


# --inputs: every array is checked (edgegen.arrays) before it is quantized or embedded

_BAD_INPUTS: dict[str, tuple[np.ndarray, str]] = {
    "strings": (np.array([["a"], ["b"]]), "--inputs holds text (dtype <U1); edgegen takes real numbers, integers or "
                "floats"),
    "nan": (np.array([[0.5], [np.nan], [np.nan]], np.float32),
            "--inputs holds 2 NaN values (the first at index [1, 0]); remove or repair those samples"),
    "inf": (np.array([[np.inf]]), "--inputs holds 1 infinite value (the first at index [0, 0]); remove or repair "
            "those samples"),
    "complex": (np.array([[1 + 2j]]), "--inputs holds complex numbers (dtype complex128)"),
    "bool": (np.array([[True]]), "--inputs holds booleans (dtype bool)"),
    "empty": (np.zeros((0, 1), np.float32), "--inputs is empty (shape [0, 1]); give at least one sample"),
    "scalar": (np.array(1.0, np.float32), "--inputs is a single value; expected an array of samples [N, ...]"),
    "shape": (np.zeros((2, 3), np.float32), "--inputs sample 0 has 3 values (shape [3]); the model's input "
              "'serving_default_dense_input:0' takes 1 (shape [1, 1])"),
}


@pytest.mark.parametrize("case", sorted(_BAD_INPUTS))
def test_bad_inputs_are_one_line_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path, case: str) -> None:
    array, message = _BAD_INPUTS[case]
    data = tmp_path / f"{case}.npy"
    np.save(data, array)
    code, _out, err = _run(capsys, "build", str(shared_path(HELLO)), "--board", "host", "--inputs", str(data),
                           "--out", str(tmp_path / "o"))
    assert code == 1 and len(err.strip().splitlines()) == 1, err
    assert err.startswith(f"edgegen: error: {data}: {message}"), err
    assert not (tmp_path / "o").exists()


def test_verify_checks_inputs_too(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    out = tmp_path / "o"
    assert _run(capsys, "build", str(shared_path(HELLO)), "--board", "host", "--out", str(out))[0] == 0
    np.save(tmp_path / "nan.npy", np.array([[np.nan]], np.float32))
    code, _out, err = _run(capsys, "verify", str(out), "--inputs", str(tmp_path / "nan.npy"))
    assert code == 1 and err.strip() == (f"edgegen: error: {tmp_path / 'nan.npy'}: --inputs holds 1 NaN value "
                                         "(the first at index [0, 0]); remove or repair those samples")
