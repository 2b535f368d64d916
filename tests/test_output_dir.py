"""`--force` never deletes a user's files; bad --out paths fail before any work with one line.

The data-loss cases run with HOME pointing at a throwaway directory, so a regression deletes
nothing that matters.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from edgegen.build import build
from edgegen.cli import main
from edgegen.errors import EdgegenError
from edgegen.outdir import OLD_PREFIX, TMP_PREFIX

from .conftest import shared_path

HELLO = "models/tflite_micro/hello_world_int8.tflite"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A throwaway home directory holding the user's own files; the working directory is its
    subdirectory work/ (with files of its own)."""
    h = tmp_path / "home"
    h.mkdir()
    (h / "thesis.txt").write_text("years of work")
    (h / "project").mkdir()
    (h / "project" / "main.c").write_text("int main(void) { return 0; }\n")
    (h / "work" / "sub").mkdir(parents=True)
    (h / "work" / "todo.txt").write_text("write tests")
    monkeypatch.setenv("HOME", str(h))
    monkeypatch.chdir(h)
    return h


def _build(capsys: pytest.CaptureFixture[str], model: Path, *args: str) -> tuple[int, str]:
    code = main(["build", str(model), "--board", "host", *args])
    return code, capsys.readouterr().err


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _no_leftovers(parent: Path) -> None:
    left = [p.name for p in parent.iterdir() if p.name.startswith((TMP_PREFIX, OLD_PREFIX))]
    assert left == [], f"temporary directories left in {parent}: {left}"


def _refused(code: int, err: str, *words: str) -> None:
    assert code == 1, err
    assert err.startswith("edgegen: error: --out ") and len(err.strip().splitlines()) == 1, err
    assert "Traceback" not in err
    for w in words:
        assert w in err, err


def _model(home: Path) -> Path:
    m = home / "hello.tflite"
    m.write_bytes(shared_path(HELLO).read_bytes())
    return m


def test_force_refuses_a_directory_edgegen_did_not_write(capsys: pytest.CaptureFixture[str], home: Path) -> None:
    model = _model(home)
    before = _snapshot(home / "project")
    code, err = _build(capsys, model, "--out", "project", "--force")
    _refused(code, err, "not written by", "another --out")
    assert _snapshot(home / "project") == before
    _no_leftovers(home)


@pytest.mark.parametrize(("out", "why"), [(".", "working directory"), ("~", "home directory"),
                                          ("..", "ancestor of the working directory"), ("/", "root directory")])
def test_force_refuses_precious_directories(capsys: pytest.CaptureFixture[str], home: Path, out: str, why: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    model = _model(home)
    monkeypatch.chdir(home / "work" / "sub" if out == ".." else home / "work")
    before = _snapshot(home)
    code, err = _build(capsys, model, "--out", os.path.expanduser(out), "--force")
    _refused(code, err, why)
    assert _snapshot(home) == before


def test_force_refuses_the_home_directory_from_elsewhere(capsys: pytest.CaptureFixture[str], home: Path,
                                                         monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    model = _model(home)
    monkeypatch.chdir(tmp_path)
    before = _snapshot(home)
    code, err = _build(capsys, model, "--out", str(home), "--force")
    _refused(code, err, "home directory")
    assert _snapshot(home) == before


def test_force_refuses_a_directory_holding_the_model(capsys: pytest.CaptureFixture[str], home: Path) -> None:
    models = home / "models"
    models.mkdir()
    model = models / "hello.tflite"
    model.write_bytes(shared_path(HELLO).read_bytes())
    code, err = _build(capsys, model, "--out", str(models), "--force")
    _refused(code, err, "an input of this build")
    assert model.read_bytes() == shared_path(HELLO).read_bytes()


def test_force_refuses_an_edgegen_directory_holding_an_input(capsys: pytest.CaptureFixture[str], home: Path) -> None:
    """Even edgegen's own directory is kept when the build reads from it (its model.tflite)."""
    model = _model(home)
    assert _build(capsys, model, "--out", "b")[0] == 0
    code, err = _build(capsys, home / "b" / "model.tflite", "--out", "b", "--force")
    _refused(code, err, "an input of this build")
    assert (home / "b" / "model.tflite").read_bytes() == model.read_bytes()


def test_force_refuses_a_symlink(capsys: pytest.CaptureFixture[str], home: Path) -> None:
    model = _model(home)
    assert _build(capsys, model, "--out", "real")[0] == 0
    (home / "link").symlink_to(home / "real")
    before = _snapshot(home / "real")
    code, err = _build(capsys, model, "--out", "link", "--force")
    _refused(code, err, "symbolic link")
    assert (home / "link").is_symlink() and _snapshot(home / "real") == before


@pytest.mark.parametrize("added", ["notes.txt", "model/my_tweaks.c", "emptydir/"])
def test_force_refuses_files_added_to_a_build(capsys: pytest.CaptureFixture[str], home: Path, added: str) -> None:
    model = _model(home)
    assert _build(capsys, model, "--out", "b")[0] == 0
    target = home / "b" / added
    if added.endswith("/"):
        target.mkdir()
    else:
        target.write_text("the user's")
    code, err = _build(capsys, model, "--out", "b", "--force")
    _refused(code, err, "did not write", added)
    assert target.exists()


def test_force_replaces_edgegen_build_with_tool_outputs(capsys: pytest.CaptureFixture[str], home: Path) -> None:
    """make's build/ and PlatformIO's .pio/ are edgegen's tools' outputs: replacing them loses nothing."""
    model = _model(home)
    assert _build(capsys, model, "--out", "b")[0] == 0
    for derived in ("build/host/x.o", ".pio/build/firmware.elf"):
        (home / "b" / derived).parent.mkdir(parents=True)
        (home / "b" / derived).write_bytes(b"\0")
    code, err = _build(capsys, model, "--out", "b", "--force")
    assert code == 0, err
    # the new build's own fit-check firmware may be in build/ again, the old outputs are gone
    assert not (home / "b" / "build" / "host" / "x.o").exists() and not (home / "b" / ".pio").exists()
    assert (home / "b" / "build.json").is_file()
    _no_leftovers(home)


def test_forged_marker_without_file_list_is_refused(capsys: pytest.CaptureFixture[str], home: Path) -> None:
    (home / "project" / "build.json").write_text(json.dumps({"edgegen": "0.1.0", "name": "x"}))
    code, err = _build(capsys, _model(home), "--out", "project", "--force")
    _refused(code, err, "not written by")
    assert (home / "project" / "main.c").is_file()


def test_empty_directory_is_used_without_force(capsys: pytest.CaptureFixture[str], home: Path) -> None:
    (home / "empty").mkdir()
    code, err = _build(capsys, _model(home), "--out", "empty")
    assert code == 0, err
    assert (home / "empty" / "build.json").is_file()


def test_existing_empty_working_directory_is_never_replaced(capsys: pytest.CaptureFixture[str], home: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    model = _model(home)
    (home / "here").mkdir()
    monkeypatch.chdir(home / "here")
    code, err = _build(capsys, model, "--out", ".")
    _refused(code, err, "working directory")


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o077])
def test_output_directory_follows_the_umask(capsys: pytest.CaptureFixture[str], home: Path, mask: int) -> None:
    old = os.umask(mask)
    try:
        code, err = _build(capsys, _model(home), "--out", "b")
    finally:
        os.umask(old)
    assert code == 0, err
    assert stat.S_IMODE((home / "b").stat().st_mode) == 0o777 & ~mask
    assert stat.S_IMODE((home / "b" / "build.json").stat().st_mode) == 0o666 & ~mask


@pytest.mark.parametrize(("out", "words"), [
    ("/proc/edgegen-out", ("cannot write in /proc",)),
    ("x" * 300, ("300 bytes long", "at most 255")),
    ("deep/" + "y" * 256 + "/out", ("256 bytes long",)),
    ("afile/sub", ("afile is not a directory",)),
])
def test_unusable_paths_fail_before_any_work(capsys: pytest.CaptureFixture[str], home: Path, out: str,
                                             words: tuple[str, ...]) -> None:
    (home / "afile").write_text("a file")
    before = sorted(p.name for p in home.iterdir())
    code, err = _build(capsys, _model(home), "--out", out)
    _refused(code, err, *words)
    assert sorted(p.name for p in home.iterdir()) == sorted({*before, "hello.tflite"})


def test_api_build_applies_the_same_rules(home: Path) -> None:
    data = shared_path(HELLO).read_bytes()
    with pytest.raises(EdgegenError, match="not written by"):
        build(data, home / "project", source="hello.tflite", name="hello", force=True)
    assert (home / "project" / "main.c").is_file()
    with pytest.raises(EdgegenError, match="working directory"):
        build(data, home, source="hello.tflite", name="hello", force=True)
    assert (home / "thesis.txt").read_text() == "years of work"
