"""Read a model file safely: a regular file only, its size checked before a byte is read.

A path given as the model may name anything: a FIFO (reading it would block until some writer
comes, maybe forever), a character device such as /dev/zero or /dev/urandom (endless), a
directory, or a huge file. The checks here run on ``os.stat`` before the file is opened, the
file is opened non-blocking (so a FIFO swapped in after the stat cannot block the open either),
checked again on the open descriptor, and read with a hard cap. docs/input-checks.md lists the
messages.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from . import tflite_checks
from .errors import EdgegenError, UnsupportedError

_KINDS = (
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def _kind(mode: int) -> str:
    for test, name in _KINDS:
        if test(mode):
            return name
    return "not a regular file"


def _check_stat(path: Path, st: os.stat_result, what: str, limit: int) -> None:
    if stat.S_ISDIR(st.st_mode):
        raise EdgegenError(f"{path}: is a directory, expected {what}")
    if not stat.S_ISREG(st.st_mode):
        raise EdgegenError(f"{path}: is {_kind(st.st_mode)}, not a regular file; give {what} (edgegen reads "
                           "model files only from regular files, so it never blocks or reads without end)")
    if st.st_size > limit:
        raise UnsupportedError(f"{path}: the file has {st.st_size:,} bytes, more than edgegen reads ({limit:,} "
                               "bytes); a model for a microcontroller is a few MiB")


def read_model_file(path: str | Path, *, what: str = "a .tflite file", limit: int | None = None) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` bytes (by default
    :data:`edgegen.tflite_checks.MAX_FILE_BYTES`, the most the reader takes).

    Every refusal is an :class:`EdgegenError` naming the path: no such file, a directory, a FIFO,
    a device or a socket, a file over the limit (checked with ``stat`` before reading), or an
    operating-system error (permissions, I/O) with its reason.
    """
    p = Path(path)
    cap = tflite_checks.MAX_FILE_BYTES if limit is None else limit
    try:
        _check_stat(p, os.stat(p), what, cap)
        # O_NONBLOCK: should the path have become a FIFO since the stat, open() must not wait for
        # a writer; the fstat below then refuses it
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise EdgegenError(f"{p}: no such file") from None
    except NotADirectoryError:
        raise EdgegenError(f"{p}: no such file (a part of the path is not a directory)") from None
    except OSError as e:
        raise EdgegenError(f"{p}: cannot read it ({e.strerror or e})") from None
    try:
        _check_stat(p, os.fstat(fd), what, cap)
        chunks: list[bytes] = []
        total = 0
        # one byte more than allowed: a file that grew past the limit since the stat is refused
        # instead of being read without end
        while total <= cap:
            chunk = os.read(fd, min(1 << 20, cap + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
    except OSError as e:
        raise EdgegenError(f"{p}: cannot read it ({e.strerror or e})") from None
    finally:
        os.close(fd)
    if total > cap:
        raise UnsupportedError(f"{p}: the file grew past {cap:,} bytes while it was read; give a finished "
                               f"{what.removeprefix('a ')}")
    return b"".join(chunks)
