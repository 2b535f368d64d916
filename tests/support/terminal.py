"""Child processes that get signals as they would at a terminal."""

from __future__ import annotations

import signal


def at_a_terminal() -> None:
    """A ``preexec_fn``: SIGINT back to its default. A test runner started in the background (CI,
    nohup) ignores SIGINT, its children inherit that, and edgegen rightly keeps an ignored SIGINT
    ignored, so a test of Ctrl-C must undo it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
