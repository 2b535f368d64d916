"""The MLPerf KWS DS-CNN from Keras in int16 (issue 16 "Done when"): whole 16x8 and mixed
int8/int16, built with ``edgegen build`` from the .h5 and kws01 calibration data, verified exact
on the host (simulator == TFLM on every tensor, host C == simulator) and run exact on qemu-m4 and
qemu-m55 (``edgegen run``: firmware == simulator on the embedded vectors, real kws01 inputs).

Needs the int16 back end of every op KWS uses: CONV_2D and DEPTHWISE_CONV_2D (k16b),
AVERAGE_POOL_2D and SOFTMAX (k16c), FULLY_CONNECTED, RESHAPE and QUANTIZE int8<->int16 (k16a).
One build per precision, shared by the two CPUs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from edgegen.cli import main

from ..conftest import shared_dir
from .datasets import kws01

#: the mixed build: the last pointwise conv (fused with its BatchNormalization and ReLU, named
#: after any of them), the depthwise conv before it and the classifier int16, the rest int8
MIXED = "depthwise_conv2d_3,conv2d_4,dense"
BOARDS = ("qemu-m4", "qemu-m55")


@pytest.fixture(scope="module")
def kws_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    x, _y = kws01(shared_dir())
    d = tmp_path_factory.mktemp("kws")
    np.save(d / "calib.npy", x[::5])  # every 5th sample (200), as docs/keras.md measures
    np.save(d / "inputs.npy", x[1:4])
    return d


def _build(data: Path, out: Path, *args: str) -> dict[str, object]:
    h5 = shared_dir() / "models/mlperf_tiny/kws/kws_ref_model.h5"
    rc = main(["build", str(h5), "--calib", str(data / "calib.npy"), "--inputs", str(data / "inputs.npy"),
               "--board", "qemu-m4", "--out", str(out), "--force", *args])
    assert rc == 0
    assert main(["verify", str(out), "--inputs", str(data / "inputs.npy"), "--samples", "8"]) == 0
    report: dict[str, object] = json.loads((out / "report.json").read_text())
    return report


@pytest.fixture(scope="module")
def whole16(kws_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("kws16") / "b"
    report = _build(kws_data, out, "--precision", "int16")
    prec = report["front_end_summary"]["precision"]  # type: ignore[index]
    assert {t["dtype"] for t in prec["tensors"]} == {"int16"}
    return out


@pytest.fixture(scope="module")
def mixed(kws_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("kwsmix") / "b"
    report = _build(kws_data, out, "--int16-layers", MIXED)
    prec = report["front_end_summary"]["precision"]  # type: ignore[index]
    kinds = {t["dtype"] for t in prec["tensors"]}
    assert kinds == {"int8", "int16"} and prec["int16_ops"] == [7, 8, 10, 11]
    return out


@pytest.mark.parametrize("board", BOARDS)
def test_kws_whole_16x8_exact_on_emulator(whole16: Path, board: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(whole16), "--board", board]) == 0
    assert "exact" in capsys.readouterr().out


@pytest.mark.parametrize("board", BOARDS)
def test_kws_mixed_exact_on_emulator(mixed: Path, board: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", str(mixed), "--board", board]) == 0
    assert "exact" in capsys.readouterr().out
