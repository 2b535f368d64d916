"""Shared fixtures: where ../shared lives, and one-time builds of the shared models."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def shared_dir() -> Path:
    return Path(os.environ.get("EDGEGEN_SHARED", REPO.parent / "shared"))


def shared_path(rel: str) -> Path:
    """A file under ../shared; the test is skipped, with the reason, when it is absent."""
    p = shared_dir() / rel
    if not p.exists():
        pytest.skip(f"{p} is absent (set EDGEGEN_SHARED to the shared models directory)")
    return p
