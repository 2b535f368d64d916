"""Packaging hook: ship templates/, firmware/ and boards/ inside the wheel as edgegen/_data.

In a source checkout (and an editable install) edgegen reads them from the repository root
(edgegen/resources.py); a regular wheel has no repository root, so they are copied in here.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

DATA_DIRS = ("templates", "firmware", "boards")


class BuildPyWithData(build_py):
    def run(self) -> None:
        super().run()
        root = Path(__file__).resolve().parent
        dest = Path(self.build_lib) / "edgegen" / "_data"
        for name in DATA_DIRS:
            shutil.copytree(root / name, dest / name, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))


setup(cmdclass={"build_py": BuildPyWithData})
