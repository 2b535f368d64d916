"""Measured figures for docs/keras.md, "Mixed precision": int8 against whole-16x8 and automatic
mixed int8/int16 on real models (accuracy from TFLM, which edgegen's simulator and firmware match
bit for bit).

    python bench/keras_precision.py kws                 # MLPerf KWS DS-CNN on kws01
    python bench/keras_precision.py heavy MODEL CALIB EVAL  # any model: .npy/.npz calibration, .npz eval
    python bench/keras_precision.py kws --drop 0.2      # auto's target (points)

KWS: calibrated on every 5th kws01 sample (200), measured on the 800 others.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from edgegen.keras.convert import to_16x8_tflite, to_int8_tflite  # noqa: E402
from edgegen.keras.data import Dataset, as_dataset  # noqa: E402
from edgegen.keras.evaluate import accuracy, float_predict  # noqa: E402
from edgegen.keras.load import load_model  # noqa: E402
from edgegen.keras.precision import arena_costs, choose, layer_ranking, tflm_predict  # noqa: E402


def pct(v: float) -> str:
    return f"{100 * v:.2f}%"


def measure(name: str, model: Any, calib: Dataset, ev: Dataset, drop: float) -> None:
    t = time.monotonic()
    assert ev.y is not None
    y = ev.y if ev.y.ndim == 1 else np.argmax(ev.y, axis=-1)
    f = accuracy(float_predict(model, ev.x).reshape(len(ev), -1), y)
    int8 = to_int8_tflite(model, calib)
    wide = to_16x8_tflite(model, calib)
    a8 = accuracy(tflm_predict(int8, ev.x), y)
    a16 = accuracy(tflm_predict(wide, ev.x), y)
    c8, c16, how = arena_costs(int8, wide)
    print(f"{name}: float {pct(f)}, int8 {pct(a8)} ({100 * (a8 - f):+.2f} points), whole 16x8 {pct(a16)} "
          f"({100 * (a16 - f):+.2f}) on {len(ev)} samples; {how}: int8 {c8:,}, 16x8 {c16:,}")
    ranking = layer_ranking(model, int8, wide, ev.x)
    print("  sensitivity: " + ", ".join(f"{r.layer} {r.gain_db:+.1f} dB ({r.sqnr_db:.1f} dB)" for r in ranking))
    res = choose(model, int8, calib, precision="auto", max_drop=drop, evaluation=ev, labels=y)
    for ln in (*res.lines, *res.warnings):
        print("  " + ln)
    am = accuracy(tflm_predict(res.tflite, ev.x), y)
    loss = f - a8
    recovered = (am - a8) / loss if loss > 0 else float("nan")
    print(f"  auto (--max-accuracy-drop {drop:g}): {res.precision} {', '.join(res.int16_layers) or '-'}: "
          f"{pct(am)}, recovers {100 * recovered:.0f} % of int8's loss  [{time.monotonic() - t:.0f} s]")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=("kws", "heavy"))
    ap.add_argument("paths", nargs="*")
    ap.add_argument("--drop", type=float, default=0.5)
    args = ap.parse_args()
    if args.what == "kws":
        from tests.conftest import shared_dir
        from tests.keras.datasets import kws01

        shared = shared_dir()
        model = load_model(shared / "models/mlperf_tiny/kws/kws_ref_model.h5").model
        x, y = kws01(shared)
        calib = np.arange(0, len(x), 5)
        held = np.setdiff1d(np.arange(len(x)), calib)
        measure("KWS", model, Dataset(x[calib], None, "kws01 every 5th"), Dataset(x[held], y[held], "kws01 held out"),
                args.drop)
    else:
        mpath, cpath, epath = args.paths
        model = load_model(mpath).model
        measure(Path(mpath).name, model, as_dataset(cpath, model), as_dataset(epath, model, what="evaluation data"),
                args.drop)


if __name__ == "__main__":
    main()
