"""The one exception type users see.

Every failure a user can cause is raised as an :class:`EdgegenError` whose message names the
file, op or tensor at fault and says what to do. The CLI prints the message and exits non-zero;
``--verbose`` shows the traceback. Anything else escaping is a bug in edgegen.
"""

from __future__ import annotations


class EdgegenError(Exception):
    """A failure caused by the input or the environment, with a message meant for the user."""

    #: a short, stable category used by tests and by the fuzzer's error counts
    kind: str = "error"

    def __init__(self, message: str, *, kind: str | None = None) -> None:
        super().__init__(message)
        if kind is not None:
            self.kind = kind


class ModelFormatError(EdgegenError):
    """The file is not a readable model (not a flatbuffer, truncated, inconsistent)."""

    kind = "format"


class UnsupportedError(EdgegenError):
    """The model is valid but uses something edgegen does not compile."""

    kind = "unsupported"


class ToolchainError(EdgegenError):
    """A compiler, emulator or other external tool is missing or failed."""

    kind = "toolchain"


class ParityError(EdgegenError):
    """Two implementations that must agree bit for bit did not."""

    kind = "parity"


class OracleError(EdgegenError):
    """The reference (TFLM, the oracle) could not run the model, so parity cannot be proven."""

    kind = "oracle"
