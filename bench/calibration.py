"""The calibration study of docs/keras.md ("Calibration"): a Fashion-MNIST model whose data has rare
sensor glitches, where int8 min-max calibration loses accuracy, and what percentile, entropy and
MSE calibration recover (int8 accuracy from TFLM, bit-exact with edgegen's firmware, on the full
10,000-image test set).

    python bench/calibration.py train OUT_DIR   # the model and data: OUT_DIR/glitch_fashion.keras, .npz files
    python bench/calibration.py study OUT_DIR   # float vs int8 per calibration method
    python bench/calibration.py kws             # the same on the MLPerf Tiny KWS (kws01), and the sensitivity's cost

How the data is made (the same seeded process for the training, calibration and test images, so
nothing is hidden from the float model or the evaluation): the images are Fashion-MNIST scaled to
0..1 (an 8-bit reading / 255); in :data:`GLITCH_RATE` of the frames, 1 to 3 pixels take a single-event
upset in the sensor's 16-bit readout register: one of its bits 11 to 15 flips to 1, so the pixel
reads (raw + 2**b) / 255, 8x to 128x the normal full scale. The model is trained on the glitched
training images. Min-max calibration must cover the glitches, so the input and the first layers'
int8 scales grow 8-32x and ordinary images keep only a few int8 levels; clipping the rare tail
(percentile, entropy, MSE) keeps the resolution where the data is.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

#: fraction of frames with a glitch
GLITCH_RATE = 0.02
SEED = 0
CALIB_SAMPLES = 500


def glitched(x: np.ndarray, seed: int) -> np.ndarray:
    """``x`` ([N, 28, 28, 1] in 0..1) with :data:`GLITCH_RATE` of the frames given 1-3 glitch pixels
    (bit b in 11..15 of the 16-bit raw reading set; seeded)."""
    rng = np.random.default_rng(seed)
    out = x.copy()
    frames = np.flatnonzero(rng.random(len(x)) < GLITCH_RATE)
    for f in frames:
        for _ in range(int(rng.integers(1, 4))):
            r, c = rng.integers(0, 28, 2)
            raw = round(float(out[f, r, c, 0]) * 255) | (1 << int(rng.integers(11, 16)))
            out[f, r, c, 0] = raw / 255.0
    return out


def model_def() -> object:
    import keras

    inp = keras.Input((28, 28, 1))
    h = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv1")(inp)
    h = keras.layers.MaxPooling2D(name="pool1")(h)
    h = keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="conv2")(h)
    h = keras.layers.MaxPooling2D(name="pool2")(h)
    h = keras.layers.Flatten(name="flatten")(h)
    h = keras.layers.Dense(64, activation="relu", name="fc1")(h)
    return keras.Model(inp, keras.layers.Dense(10, name="logits")(h), name="glitch_fashion")


def train(out: Path) -> None:
    from edgegen.keras._tf import deterministic, keras
    from tests.keras.datasets import fashion_mnist

    out.mkdir(parents=True, exist_ok=True)
    (xtr, ytr), (xte, yte) = fashion_mnist()
    xtr, xte = glitched(xtr, SEED), glitched(xte, SEED + 1)
    t = time.monotonic()
    with deterministic(SEED):
        k = keras()
        model = model_def()
        model.compile(optimizer=k.optimizers.Adam(1e-3),  # type: ignore[attr-defined]
                      loss=k.losses.SparseCategoricalCrossentropy(from_logits=True), metrics=["accuracy"])
        model.fit(xtr, ytr, batch_size=128, epochs=4, verbose=2)  # type: ignore[attr-defined]
        model.save(out / "glitch_fashion.keras")  # type: ignore[attr-defined]
    calib_idx = np.sort(np.random.default_rng(SEED).choice(len(xtr), CALIB_SAMPLES, replace=False))
    np.savez(out / "calib.npz", x=xtr[calib_idx], y=ytr[calib_idx])
    np.savez(out / "test.npz", x=xte, y=yte)
    print(f"trained in {time.monotonic() - t:.0f} s; wrote {out}/glitch_fashion.keras, calib.npz "
          f"({CALIB_SAMPLES} training images, {int(np.sum(xtr[calib_idx].max(axis=(1, 2, 3)) > 1))} with glitches), "
          f"test.npz (10,000 test images, {int(np.sum(xte.max(axis=(1, 2, 3)) > 1))} with glitches)")


def study(out: Path, methods: list[str]) -> None:
    from edgegen.keras._tf import deterministic
    from edgegen.keras.calibrate import to_calibrated_tflite
    from edgegen.keras.data import Dataset
    from edgegen.keras.evaluate import compare, float_predict
    from edgegen.keras.load import load_model

    model = load_model(out / "glitch_fashion.keras").model
    with np.load(out / "calib.npz") as z:
        calib = Dataset(z["x"], None, "calib.npz")
    with np.load(out / "test.npz") as z:
        test = Dataset(z["x"], z["y"], "test.npz")
    f = float_predict(model, test.x)
    rows = {}
    for method in methods:
        # "percentile:99.9" gives the percentile
        name, _, p = method.partition(":")
        t = time.monotonic()
        with deterministic(SEED):
            tflite, ranges = to_calibrated_tflite(model, calib, method=name, **({"percentile": float(p)} if p else {}))
        took = time.monotonic() - t
        c = compare(model, tflite, test, float_out=f)
        rows[method] = {"float": c.float_accuracy, "int8": c.int8_accuracy, "sqnr_db": c.sqnr_db,
                        "calibrate_s": took}
        assert c.float_accuracy is not None and c.int8_accuracy is not None
        print(f"{method:<11} float {100 * c.float_accuracy:.2f}%  int8 {100 * c.int8_accuracy:.2f}%  "
              f"({100 * (c.int8_accuracy - c.float_accuracy):+.2f} points)  SQNR {c.sqnr_db:.1f} dB  "
              f"[calibration {took:.1f} s]", flush=True)
        for r in ranges[:3]:
            print(f"    {r.line()}")
    if "minmax" in rows:
        base = rows["minmax"]
        loss = base["float"] - base["int8"]
        for method, r in rows.items():
            if method != "minmax" and loss > 0:
                print(f"{method}: recovers {100 * (r['int8'] - base['int8']) / loss:.0f}% of min-max's "
                      f"{100 * loss:.2f}-point loss")
    (out / "study.json").write_text(json.dumps(rows, indent=1))


def kws() -> None:
    """KWS DS-CNN on kws01 (calibrated on every 5th of the 1,000 samples, as bench/keras_accuracy.py):
    each method's int8 accuracy on all 1,000, and the per-layer sensitivity's time."""
    from edgegen.keras._tf import deterministic
    from edgegen.keras.calibrate import to_calibrated_tflite
    from edgegen.keras.data import Dataset
    from edgegen.keras.evaluate import compare, float_predict
    from edgegen.keras.load import load_model
    from edgegen.keras.sensitivity import layer_sensitivity
    from tests.conftest import shared_dir
    from tests.keras.datasets import kws01

    shared = shared_dir()
    model = load_model(shared / "models/mlperf_tiny/kws/kws_ref_model.h5").model
    x, y = kws01(shared)
    calib = Dataset(x[::5], None, "kws01 every 5th")
    data = Dataset(x, y, "kws01")
    f = float_predict(model, x)
    for method in ("minmax", "percentile", "entropy", "mse"):
        t = time.monotonic()
        with deterministic(SEED):
            tflite, _ranges = to_calibrated_tflite(model, calib, method=method)
        took = time.monotonic() - t
        c = compare(model, tflite, data, float_out=f)
        assert c.float_accuracy is not None and c.int8_accuracy is not None
        print(f"KWS {method:<11} float {100 * c.float_accuracy:.2f}%  int8 {100 * c.int8_accuracy:.2f}%  SQNR "
              f"{c.sqnr_db:.1f} dB  [calibration {took:.1f} s]", flush=True)
        if method == "minmax":
            for n in (8, 32, 128):
                t = time.monotonic()
                lines, _data = layer_sensitivity(model, tflite, data, n, "kws01")
                print(f"  sensitivity on {n} samples: {time.monotonic() - t:.1f} s; {lines[0]}", flush=True)


def main(argv: list[str]) -> int:
    if argv[:1] == ["kws"]:
        kws()
        return 0
    if len(argv) < 2 or argv[0] not in ("train", "study"):
        print(__doc__)
        return 2
    out = Path(argv[1])
    if argv[0] == "train":
        train(out)
    else:
        study(out, argv[2:] or ["minmax", "percentile", "entropy", "mse"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
