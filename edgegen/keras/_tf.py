"""Contained TensorFlow/Keras imports: quiet logs, and a clear error when they are missing."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from typing import Any

from ..errors import EdgegenError

_MISSING = ("the Keras front end needs TensorFlow 2.21 and Keras 3: pip install 'edgegen[keras]' "
            "(or convert the model to an int8 .tflite yourself)")


def _quiet_env() -> None:
    # Only set when the user has not chosen: their TF_CPP_MIN_LOG_LEVEL wins.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("KERAS_BACKEND", "tensorflow")


def tf() -> Any:
    """The ``tensorflow`` module, imported on first use with its C++ log spam turned down."""
    _quiet_env()
    try:
        with quiet_output():
            import tensorflow

            tensorflow.get_logger().setLevel("ERROR")
    except ImportError:
        raise EdgegenError(_MISSING) from None
    return tensorflow


def keras() -> Any:
    """The ``keras`` (3.x) module."""
    tf()
    import keras as k

    if not k.__version__.startswith("3."):
        raise EdgegenError(f"Keras {k.__version__} is installed; edgegen needs Keras 3 (pip install 'keras>=3')")
    return k


@contextlib.contextmanager
def quiet_output() -> Iterator[list[str]]:
    """Send fds 1 and 2 (Python prints and C++ logs alike) to a temporary file while the block
    runs; the yielded list receives the captured text, so an error can quote it.

    ``EDGEGEN_TF_VERBOSE=1`` turns the redirection off (for debugging the converter).
    """
    box: list[str] = []
    if os.environ.get("EDGEGEN_TF_VERBOSE", "") not in ("", "0"):
        yield box
        return
    sys.stdout.flush()
    sys.stderr.flush()
    with tempfile.TemporaryFile() as log:
        saved = [os.dup(1), os.dup(2)]
        try:
            os.dup2(log.fileno(), 1)
            os.dup2(log.fileno(), 2)
            yield box
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])
            log.seek(0)
            box.append(log.read().decode("utf-8", "replace"))


def tail(text: str, lines: int = 6) -> str:
    """The last meaningful lines of captured converter output, for an error message."""
    keep = [ln for ln in text.splitlines() if ln.strip() and "TensorSpec(shape=()" not in ln]
    return "\n".join(keep[-lines:])
