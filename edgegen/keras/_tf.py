"""Contained TensorFlow/Keras imports: quiet logs, and a clear error when they are missing."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
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


#: the seed of every random choice in the Keras front end unless the user gives one (--seed)
DEFAULT_SEED = 0


@contextlib.contextmanager
def deterministic(seed: int = DEFAULT_SEED) -> Iterator[None]:
    """Seed Python's, NumPy's, TensorFlow's and Keras's random generators with ``seed`` and turn on
    TensorFlow's op determinism while the block runs, so that pruning, fine-tuning (shuffling,
    dropout) and conversion give the same bytes on every run.

    Seeding at the start, before any layer is created or cloned, matters: Keras draws the seed of
    each new layer's generator (Dropout's) from the global state. The op-determinism switch is
    process-wide; it is restored afterwards so a notebook's own training keeps its speed.
    """
    if not 0 <= seed < 2**32:
        raise EdgegenError(f"--seed {seed}: give a seed between 0 and {2**32 - 1}")
    t = tf()
    k = keras()
    restore = _op_determinism_restorer()
    k.utils.set_random_seed(seed)
    t.config.experimental.enable_op_determinism()
    try:
        yield
    finally:
        if restore is not None:
            restore()


def _op_determinism_restorer() -> Callable[[], None] | None:
    """What turns op determinism back off when it was off; None when it was on, or when this
    TensorFlow has no (private) switch for it: then it stays on, which costs speed only."""
    try:
        from tensorflow.python.framework import config as tf_config

        if tf_config.is_op_determinism_enabled():
            return None
        off: Callable[[], None] = tf_config.disable_op_determinism
    except (ImportError, AttributeError):
        return None
    return off


def tail(text: str, lines: int = 6) -> str:
    """The last meaningful lines of captured converter output, for an error message."""
    keep = [ln for ln in text.splitlines() if ln.strip() and "TensorSpec(shape=()" not in ln]
    return "\n".join(keep[-lines:])
