"""Child processes (make, the compilers, qemu, pio) and interruption.

SIGINT and SIGTERM become :class:`Interrupted`, an exception that unwinds like any other, so
every ``finally`` runs: temporary directories are removed and child processes are stopped.
Children run in their own session (process group): a Ctrl-C at the terminal reaches edgegen
only, and edgegen stops the whole group, ``make`` and the compilers it started included, instead
of leaving them running after it is gone.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import FrameType
from typing import Any

#: how long a stopped child group gets to exit after SIGTERM before it is killed
_GRACE_S = 2.0


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM arrived; ``signum`` says which."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


_raised = False


def _on_signal(signum: int, _frame: FrameType | None) -> None:
    global _raised
    if _raised:
        return  # already unwinding: a second Ctrl-C must not cut the clean-up short
    _raised = True
    raise Interrupted(signum)


Handlers = tuple[Any, Any]


def install_handlers() -> Handlers:
    """SIGINT and SIGTERM raise :class:`Interrupted` (once; later ones wait for the clean-up).
    Returns the handlers they replace, for :func:`restore_handlers`."""
    global _raised
    _raised = False
    old = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    for sig, handler in zip((signal.SIGINT, signal.SIGTERM), old, strict=True):
        if handler is not signal.SIG_IGN:  # nohup and background jobs ignore them on purpose
            signal.signal(sig, _on_signal)
    return old


def restore_handlers(old: Handlers) -> None:
    signal.signal(signal.SIGINT, old[0])
    signal.signal(signal.SIGTERM, old[1])


def exit_code(e: KeyboardInterrupt) -> int:
    """The shell's convention: 128 + the signal number."""
    return 128 + (e.signum if isinstance(e, Interrupted) else signal.SIGINT)


def stop_group(proc: subprocess.Popen[Any]) -> None:
    """Stop ``proc`` and everything it started (it leads its own process group)."""
    if proc.poll() is not None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)  # stragglers of a finished leader
        return
    for sig, wait in ((signal.SIGTERM, _GRACE_S), (signal.SIGKILL, None)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@contextlib.contextmanager
def child(cmd: Sequence[str], **popen: Any) -> Iterator[subprocess.Popen[Any]]:
    """``Popen(cmd)`` in its own process group, stopped with its group if the block is left
    by an exception (an interruption, a timeout) before it ended."""
    proc: subprocess.Popen[Any] = subprocess.Popen(list(cmd), start_new_session=True, **popen)
    try:
        yield proc
    except BaseException:
        stop_group(proc)
        raise
    finally:
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
        if proc.poll() is None:
            stop_group(proc)


@dataclass(frozen=True)
class Completed:
    returncode: int
    stdout: str
    stderr: str


def run(cmd: Sequence[str], *, timeout: float | None = None, cwd: str | os.PathLike[str] | None = None,
        env: dict[str, str] | None = None) -> Completed:
    """Run ``cmd`` to completion with its output captured as text (stdin closed).

    Raises :class:`subprocess.TimeoutExpired` after ``timeout`` seconds, with the group stopped.
    """
    with child(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
               errors="replace", cwd=cwd, env=env) as proc:
        out, err = proc.communicate(timeout=timeout)
        return Completed(proc.returncode, out, err)
