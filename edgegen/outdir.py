"""The output directory of `edgegen build`: what may be replaced, and replacing it atomically.

``--force`` deletes the old directory, so it is only allowed where nothing of the user's can be
lost: an empty directory, or one that edgegen wrote itself and that holds nothing but what the
build (its manifest in build.json) and edgegen's own tools (make, PlatformIO) put there. Anything
else is refused before any work, with the reason: the working directory or one of its ancestors,
the home directory, the root, a symbolic link, a directory that holds one of the build's inputs,
a directory edgegen did not write, or one with files added since.

The new tree is assembled in a hidden temporary sibling and swapped in with renames while
SIGINT/SIGTERM are held back, so an interruption leaves either the old directory or the new one,
never neither, and no temporary directory.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from .errors import EdgegenError

META_FILE = "build.json"
#: build.json's key for the manifest: every file the build wrote, relative to the directory
MANIFEST_KEY = "files"
#: directories that tools write inside a build directory (make's objects, PlatformIO's cache);
#: regenerated at will, so replacing them loses nothing
DERIVED_DIRS = ("build", ".pio")
#: prefixes of the temporary siblings; short, so that any name the file system takes works
TMP_PREFIX = ".edgegen-tmp-"
OLD_PREFIX = ".edgegen-old-"
#: the longest file name Linux, macOS and Windows file systems take (bytes)
_NAME_MAX = 255
#: how many foreign files a refusal names
_SHOWN = 5


class OutputDirError(EdgegenError):
    """The output directory cannot be used as asked (nothing was written)."""


def _refuse(out: Path, why: str) -> OutputDirError:
    return OutputDirError(f"--out {out}: {why}")


def check_output_dir(out: Path, *, force: bool, inputs: Sequence[Path] = ()) -> Path:
    """Check before any work that ``out`` may be written (and, with ``force``, replaced);
    return its absolute path. ``inputs`` are the files and directories the build reads."""
    absolute = Path(os.path.abspath(out))
    longest = max((len(os.fsencode(p)) for p in absolute.parts), default=0)
    if longest > _NAME_MAX:
        raise _refuse(out, f"a path component is {longest} bytes long; file systems take at most {_NAME_MAX}")
    if absolute.is_symlink():
        raise _refuse(out, "is a symbolic link; edgegen does not replace links or write through them, "
                      "give the directory itself or a new path")
    _check_parent(out, absolute.parent)
    if not absolute.exists():
        return absolute
    if not absolute.is_dir():
        raise _refuse(out, "exists and is not a directory")
    real = absolute.resolve()
    _check_not_precious(out, real)
    empty = not any(real.iterdir())
    if not force:
        if empty:
            return absolute
        raise _refuse(out, "already exists; pass --force to replace it (only a directory that edgegen wrote, "
                      "holding nothing else, is replaced)")
    for given in inputs:
        p = Path(os.path.abspath(given)).resolve()
        if p == real or real in p.parents:
            raise _refuse(out, f"holds {given}, an input of this build; --force would delete it")
    if not empty:
        _check_edgegen_wrote(out, real)
    return absolute


def _check_parent(out: Path, parent: Path) -> None:
    """The parent must be (or become) a writable directory. Probed by making (and removing) a
    temporary directory in the nearest existing ancestor: on /proc, a read-only mount or a full
    disk, permission bits alone do not tell."""
    anc = next((a for a in (parent, *parent.parents) if a.exists()), Path(parent.anchor))
    if not anc.is_dir():
        raise _refuse(out, f"{anc} is not a directory")
    try:
        with signals_held():
            os.rmdir(tempfile.mkdtemp(prefix=TMP_PREFIX, dir=anc))
    except OSError as e:
        raise _refuse(out, f"cannot write in {anc} ({e.strerror or e})") from None


def _check_not_precious(out: Path, real: Path) -> None:
    cwd = Path.cwd().resolve()
    home = Path.home().resolve()
    if real == Path(real.anchor):
        raise _refuse(out, "is the root directory; edgegen never replaces it")
    if real == cwd:
        raise _refuse(out, "is the working directory; edgegen never replaces it, give a subdirectory")
    if real == home:
        raise _refuse(out, "is your home directory; edgegen never replaces it, give a subdirectory")
    if real in cwd.parents:
        raise _refuse(out, "is an ancestor of the working directory; edgegen never replaces it")


def _check_edgegen_wrote(out: Path, real: Path) -> None:
    meta_path = real / META_FILE
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        manifest = meta[MANIFEST_KEY]
        if not isinstance(meta.get("edgegen"), str) or not isinstance(manifest, list):
            raise TypeError
        known = {str(f) for f in manifest}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        raise _refuse(out, f"is not empty and was not written by this version of edgegen (no {META_FILE} with its "
                      "file list); --force replaces only edgegen's own build directories or empty ones, "
                      "so move it away or choose another --out") from None
    foreign = sorted(f for f in _files(real) if f not in known)
    if foreign:
        shown = ", ".join(foreign[:_SHOWN]) + (f" and {len(foreign) - _SHOWN} more" if len(foreign) > _SHOWN else "")
        raise _refuse(out, f"holds files that edgegen did not write ({shown}); --force would delete them, so move "
                      "them out or choose another --out")


def _files(root: Path) -> list[str]:
    """Every file and link under ``root`` (relative, '/'-separated), outside the derived
    directories; empty directories count as entries too so nothing goes unnoticed."""
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root)
        if rel_dir == Path("."):
            dirnames[:] = [d for d in dirnames if d not in DERIVED_DIRS]
        for d in list(dirnames):
            if (Path(dirpath) / d).is_symlink():
                found.append((rel_dir / d).as_posix())
        if not dirnames and not filenames and rel_dir != Path("."):
            found.append(rel_dir.as_posix() + "/")
        found.extend((rel_dir / f).as_posix() for f in filenames)
    return found


def manifest(root: Path) -> list[str]:
    """The manifest of a freshly assembled build directory (build.json itself included)."""
    return sorted({*_files(root), META_FILE})


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back (they are delivered on exit) around a step that must not be
    cut in half."""
    held = {signal.SIGINT, signal.SIGTERM}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


@contextlib.contextmanager
def staging(out: Path) -> Iterator[Path]:
    """A fresh hidden directory beside ``out`` to assemble the build in; removed if the block
    fails or is interrupted (after :func:`install` there is nothing left to remove)."""
    made: list[Path] = []
    try:
        with signals_held():
            # created and recorded while signals wait, so an interruption cannot orphan it
            out.parent.mkdir(parents=True, exist_ok=True)
            made.append(Path(tempfile.mkdtemp(prefix=TMP_PREFIX, dir=out.parent)))
        yield made[0]
    except BaseException:
        if made:
            with signals_held():
                shutil.rmtree(made[0], ignore_errors=True)
        raise


def install(staging: Path, out: Path) -> None:
    """Move the assembled ``staging`` directory to ``out``, replacing what is there."""
    staging.chmod(0o777 & ~_umask())  # mkdtemp makes it 0700; the user's umask decides
    with signals_held():
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=OLD_PREFIX, dir=out.parent))
            os.replace(out, old / "x")
            os.replace(staging, out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            try:
                os.replace(staging, out)
            except OSError as e:
                if e.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                    raise
                raise _refuse(out, "was created by something else during the build; nothing was replaced") from None
