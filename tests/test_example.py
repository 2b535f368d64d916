"""The README's first command, step by step: the bundled digits example through the CLI."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from edgegen.cli import main

from .conftest import REPO

EXAMPLE = REPO / "examples" / "digits"


def test_digits_example_builds_verifies_and_runs_on_the_default_board(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "digits"
    test = str(EXAMPLE / "test.npz")
    assert main(["build", str(EXAMPLE / "digits.keras"), "--calib", str(EXAMPLE / "calib.npy"),
                 "--eval", test, "--inputs", test, "--vectors", "5", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "board 'nucleo' is nucleo-l4r5zi" in text
    m = re.search(r"accuracy: float ([\d.]+)%, int8 ([\d.]+)%", text)
    assert m is not None, text
    flt, q = float(m.group(1)), float(m.group(2))
    # the bar for quantization: int8 within a point of float (train.py measured 0.977 float)
    assert flt >= 95.0 and abs(flt - q) <= 1.0
    assert (out / "report.html").is_file()
    # report.json holds the same summary as data: the accuracies printed above, the model's size
    import json

    front = json.loads((out / "report.json").read_text())["front_end_summary"]
    assert round(100 * front["float_vs_int8"]["float_accuracy"], 2) == flt
    assert round(100 * front["float_vs_int8"]["int8_accuracy"], 2) == q
    assert front["float_model"]["params"] > 0 and front["float_vs_int8"]["task"] == "classification"

    assert main(["verify", str(out), "--inputs", test, "--samples", "20"]) == 0
    assert "parity: exact" in capsys.readouterr().out

    assert main(["run", str(out)]) == 0
    text = capsys.readouterr().out
    assert "parity on qemu-m4: exact (5 test vectors" in text


def test_inputs_npz_without_x_is_a_clean_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import numpy as np

    bad = tmp_path / "two.npz"
    np.savez(bad, a=np.zeros((2, 8, 8, 1)), b=np.zeros(2))
    code = main(["build", str(EXAMPLE / "digits.keras"), "--calib", str(EXAMPLE / "calib.npy"),
                 "--inputs", str(bad), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 1 and "two.npz" in err and "name the input array 'x'" in err
    assert not (tmp_path / "o").exists()
