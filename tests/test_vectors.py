"""Embedded test vectors: fixed limits for every board, the fit message before linking, the most
that fit after linking, and link failures that never name the temporary build directory."""

from __future__ import annotations

import re
import shutil
import stat
from pathlib import Path

import pytest

from edgegen import fit
from edgegen.build import build, compile_tflite
from edgegen.cli import main
from edgegen.errors import EdgegenError, ToolchainError
from edgegen.fit import MAX_VECTORS, vector_cost

from .conftest import shared_path

HELLO = "models/tflite_micro/hello_world_int8.tflite"
RESNET8 = "models/mlperf_tiny/ic/resnet8_int8.tflite"
AD01 = "models/mlperf_tiny/ad/ad01_int8.tflite"

needs_arm = pytest.mark.skipif(shutil.which("arm-none-eabi-gcc") is None or shutil.which("arm-none-eabi-size") is None,
                               reason="arm-none-eabi-gcc/size are not installed")


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    cap = capsys.readouterr()
    return code, cap.out, cap.err


def _no_leftovers(directory: Path) -> None:
    """A failed build leaves neither the output nor a temporary sibling behind."""
    assert [p.name for p in directory.iterdir() if p.name.startswith(".")] == []


def test_cli_refuses_too_many_vectors_at_once(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """The issue's `--vectors 10000 --board nucleo` and `--vectors 100000`: refused before any work."""
    for count in ("10000", "100000"):
        with pytest.raises(SystemExit) as e:
            main(["build", str(shared_path(HELLO)), "--board", "nucleo", "--vectors", count,
                  "--out", str(tmp_path / "o")])
        assert e.value.code == 2
        err = capsys.readouterr().err
        assert (f"argument --vectors: {int(count):,} test vectors: at most {MAX_VECTORS:,} are embedded in the "
                "firmware") in err and "edgegen verify DIR --samples N" in err
    with pytest.raises(SystemExit):
        main(["build", str(shared_path(HELLO)), "--vectors", "0", "--out", str(tmp_path / "o")])
    assert "at least one test vector is needed" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_api_limits_apply_to_every_board(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = shared_path(RESNET8).read_bytes()
    with pytest.raises(EdgegenError, match=r"^--vectors 1,001: at most 1,000 test vectors are embedded in the "
                                           r"firmware \(1,001 test vectors 3,093,090 B \(3,090 B each\)\)"):
        build(data, tmp_path / "o", source="resnet8.tflite", name="r", board="host", vectors=MAX_VECTORS + 1)
    # the byte limit, made small enough to reach with the shared models: 9 resnet8 vectors fit 30,000 B
    monkeypatch.setattr(fit, "MAX_VECTOR_BYTES", 30_000)
    with pytest.raises(EdgegenError) as e:
        build(data, tmp_path / "o", source="resnet8.tflite", name="r", board="host", vectors=20)
    assert str(e.value) == ("--vectors 20: 20 test vectors 61,800 B (3,090 B each), more than the 30,000 B limit for "
                            "embedded vectors; use --vectors 9 or fewer, and `edgegen verify DIR --samples N` for "
                            "more inputs")
    assert list(tmp_path.iterdir()) == []


@needs_arm
def test_vector_cost_matches_the_linked_firmware(tmp_path: Path) -> None:
    """The per-vector bytes the checks use are what the linker places (never more)."""
    data = shared_path(AD01).read_bytes()
    flash = {}
    for n in (2, 12):  # with one vector the compiler folds the pointer tables away
        res = build(data, tmp_path / f"v{n}", source="ad01.tflite", name="ad", board="qemu-m4", vectors=n)
        flash[n] = res.footprint.flash_bytes
    per = vector_cost(res.program, 1).per_vector
    measured = (flash[12] - flash[2]) / 10
    assert per <= measured < per + 4, (per, measured)


@needs_arm
def test_fit_message_before_linking_then_the_most_that_fit(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """resnet8 (3,090 B a vector) on the 512 KiB NUCLEO-F401RE: 1000 vectors are refused before any
    vector is simulated or anything linked; the suggested count is then checked on the linked
    firmware, whose message gives the exact most, which builds."""
    model = str(shared_path(RESNET8))
    import edgegen.build as build_module

    def forbidden(*_args: object, **_kw: object) -> None:
        raise AssertionError("reached after the fit check should have refused")

    with monkeypatch.context() as m:
        m.setattr(fit, "build_firmware", forbidden)
        m.setattr(build_module, "make_vectors", forbidden)
        code, _out, err = _run(capsys, "build", model, "--board", "nucleo-f401re", "--vectors", "1000",
                               "--out", str(tmp_path / "o"))
    assert code == 1 and len(err.strip().splitlines()) == 1, err
    assert err.startswith("edgegen: error: the test vectors do not fit nucleo-f401re: flash ") and (
        "1,000 test vectors 3,090,000 B (3,090 B each)" in err and "estimated before linking" in err)
    found = re.search(r"use --vectors (\d+) or fewer$", err.strip())
    assert found is not None, err
    estimate = int(found.group(1))
    assert 1 < estimate < 1000

    # the lower bound counts 3 KiB of code; resnet8's kernels take more, so the linked firmware says by how much
    code, _out, err = _run(capsys, "build", model, "--board", "nucleo-f401re", "--vectors", str(estimate),
                           "--out", str(tmp_path / "o"))
    assert code == 1 and "measured from the linked firmware" in err and "Traceback" not in err, err
    found = re.search(r"use --vectors (\d+)$", err.strip())
    assert found is not None, err
    most = int(found.group(1))
    assert 1 <= most < estimate
    _no_leftovers(tmp_path)

    code, out, err = _run(capsys, "build", model, "--board", "nucleo-f401re", "--vectors", str(most),
                          "--out", str(tmp_path / "o"))
    assert code == 0, err
    used = re.search(r"nucleo-f401re: flash ([\d,]+) / 524,288 B", out)
    assert used is not None and int(used.group(1).replace(",", "")) <= 524_288
    # one more does not fit: the count was the most
    code, _out, err = _run(capsys, "build", model, "--board", "nucleo-f401re", "--vectors", str(most + 1),
                           "--out", str(tmp_path / "o2"))
    assert code == 1 and f"use --vectors {most}" in err
    assert not (tmp_path / "o2").exists()


def _fake_arm_cc(tmp_path: Path, script: str) -> str:
    """An ARM_CC (the Makefile honours the variable) that runs ``script`` when linking, else gcc."""
    real = shutil.which("arm-none-eabi-gcc")
    assert real is not None
    wrapper = tmp_path / "fake-arm-cc"
    wrapper.write_text(f'#!/bin/sh\ncase " $* " in *" -T "*) {script} ;; esac\nexec {real} "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    return str(wrapper)


@needs_arm
def test_link_overflow_is_a_fit_message(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A real linker overflow (the qemu-m4 flash region shrunk to 8 KiB for the link) gives the fit
    message, and nothing names the temporary directory the link ran in."""
    shrink = "sed -i '/FLASH (rx)/s/LENGTH = 4M/LENGTH = 8K/' board/qemu/mps2-an386/linker.ld"
    monkeypatch.setenv("ARM_CC", _fake_arm_cc(tmp_path, shrink))
    out = tmp_path / "out" / "o"
    code, _out, err = _run(capsys, "build", str(shared_path(AD01)), "--board", "qemu-m4", "--out", str(out))
    assert code == 1 and len(err.strip().splitlines()) == 1, err
    assert err.startswith("edgegen: error: the model does not fit qemu-m4: flash ")
    assert "from the qemu-m4 link, which overflows its flash" in err and "largest weights" in err
    assert str(tmp_path / "out") not in err and "ld:" not in err
    assert not out.exists()
    _no_leftovers(tmp_path / "out")


@needs_arm
def test_link_failure_does_not_name_the_temporary_directory(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ARM_CC", _fake_arm_cc(tmp_path, 'echo "ld: cannot open $PWD/board/x.o" >&2; exit 1'))
    out = tmp_path / "out" / "o"
    with pytest.raises(ToolchainError) as e:
        build(shared_path(HELLO).read_bytes(), out, source="hello.tflite", name="h", board="qemu-m4")
    message = str(e.value)
    assert message.startswith("building the qemu-m4 firmware in the qemu-m4 build (a temporary copy, removed) "
                              "failed:\n")
    assert "ld: cannot open the qemu-m4 build (a temporary copy, removed)/board/x.o" in message
    assert str(tmp_path / "out") not in message and not out.exists()
    _no_leftovers(tmp_path / "out")


def test_vector_cost_from_the_program() -> None:
    _g, program = compile_tflite(shared_path(RESNET8).read_bytes(), name="r", source="resnet8.tflite")
    (inp,), (outp,) = program.inputs, program.outputs
    cost = vector_cost(program, 7)
    # int8 input and output; the input array 4-byte aligned; two table pointers
    assert cost.per_vector == -(-inp.size // 4) * 4 + outp.size + 8 and cost.total == 7 * cost.per_vector
