"""Where the data edgegen ships lives: templates/, firmware/ and boards/.

In a source checkout (editable install) they sit at the repository root; in a wheel they are
copied under ``edgegen/_data``.
"""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def _find(name: str) -> Path:
    for base in (_PKG / "_data", _PKG.parent):
        p = base / name
        if p.is_dir():
            return p
    raise FileNotFoundError(f"edgegen installation is incomplete: no '{name}' directory next to {_PKG}")


def templates_dir() -> Path:
    return _find("templates")


def firmware_dir() -> Path:
    return _find("firmware")


def boards_dir() -> Path:
    return _find("boards")
