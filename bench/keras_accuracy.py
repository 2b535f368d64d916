"""Measured figures for docs/keras.md: the Keras front end on real models and data.

    python bench/keras_accuracy.py            # all (about 10 minutes on 2 cores)
    python bench/keras_accuracy.py kws mlperf  # a subset

int8 figures come from TFLM (bit-exact with edgegen's simulator and firmware).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from edgegen.keras.convert import to_int8_tflite  # noqa: E402
from edgegen.keras.data import Dataset  # noqa: E402
from edgegen.keras.evaluate import compare, float_predict, int8_predict, per_layer_error, sqnr_db  # noqa: E402
from edgegen.keras.finetune import TrainConfig, finetune  # noqa: E402
from edgegen.keras.load import load_model  # noqa: E402
from edgegen.keras.prune_magnitude import prune_unstructured  # noqa: E402
from edgegen.keras.prune_structured import prune_channels  # noqa: E402
from edgegen.keras.report import model_stats  # noqa: E402
from tests.conftest import shared_dir  # noqa: E402
from tests.keras.datasets import fashion_mnist, kws01  # noqa: E402
from tests.keras.test_fashion_mnist import fashion_cnn  # noqa: E402
from tests.keras.test_mlperf import _smooth_images  # noqa: E402


def pct(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.2f}%"


def bench_kws() -> None:
    t = time.monotonic()
    shared = shared_dir()
    model = load_model(shared / "models/mlperf_tiny/kws/kws_ref_model.h5").model
    x, y = kws01(shared)
    calib = np.arange(0, len(x), 5)
    held = np.setdiff1d(np.arange(len(x)), calib)
    tflite = to_int8_tflite(model, Dataset(x[calib], None, "kws01 every 5th"))
    full = compare(model, tflite, Dataset(x, y, "kws01"))
    part = compare(model, tflite, Dataset(x[held], y[held], "kws01 held out"))
    ref = (shared / "models/mlperf_tiny/kws/kws_ref_model.tflite").read_bytes()
    from edgegen.keras.evaluate import accuracy

    ref_acc = accuracy(int8_predict(ref, x), y)
    print(f"KWS: calibrated on 200 (every 5th sample); all 1000: float {pct(full.float_accuracy)}, int8 "
          f"{pct(full.int8_accuracy)}, agreement {pct(full.agreement)}, SQNR {full.sqnr_db:.1f} dB; held-out 800: "
          f"float {pct(part.float_accuracy)}, int8 {pct(part.int8_accuracy)}; shipped MLPerf int8 model: "
          f"{pct(ref_acc)}  [{time.monotonic() - t:.0f} s]")
    worst = sorted(per_layer_error(model, tflite, x, samples=16), key=lambda e: e.sqnr_db)[:3]
    print("  KWS worst layers: " + "; ".join(f"{e.layer} {e.sqnr_db:.1f} dB (max {e.max_error_lsb:.1f} LSB)"
                                              for e in worst))
    for frac in (0.25, 0.5):
        # structured pruning of KWS without fine-tuning data (kws01 is test data): the cost of pruning alone
        res = prune_channels(model, frac)
        tfl = to_int8_tflite(res.model, Dataset(x[calib], None, "kws01"))
        c = compare(res.model, tfl, Dataset(x[held], y[held], "kws01 held out"))
        b, a = model_stats(model), model_stats(res.model)
        print(f"  KWS structured {frac:.0%} without fine-tuning: params {b.params}->{a.params}, MACs {b.macs}->"
              f"{a.macs}, held-out float {pct(c.float_accuracy)}, int8 {pct(c.int8_accuracy)}")


def bench_mlperf() -> None:
    shared = shared_dir()
    spec = np.load(shared / "models/mlperf_tiny/ad/sample_spectrogram_float_200x128.npy")
    win = np.stack([spec[i : i + 5].reshape(640) for i in range(len(spec) - 4)]).astype(np.float32)
    cases = {
        "ResNet-8": ("ic/resnet8.h5", "ic/resnet8_int8.tflite", _smooth_images(300, 0), _smooth_images(200, 1)),
        "ad01": ("ad/ad01.h5", "ad/ad01_int8.tflite", win[::2], win[1::2]),
    }
    for name, (h5, ref, cal, test) in cases.items():
        t = time.monotonic()
        model = load_model(shared / "models/mlperf_tiny" / h5).model
        tflite = to_int8_tflite(model, Dataset(cal, None, "calibration"))
        f = float_predict(model, test)
        ours = sqnr_db(f, int8_predict(tflite, test))
        theirs = sqnr_db(f, int8_predict((shared / "models/mlperf_tiny" / ref).read_bytes(), test))
        agree = float(np.mean(np.argmax(f, -1) == np.argmax(int8_predict(tflite, test), -1)))
        worst = sorted(per_layer_error(model, tflite, test, samples=8), key=lambda e: e.sqnr_db)[:2]
        print(f"{name}: output SQNR vs float: edgegen int8 {ours:.1f} dB, MLPerf reference int8 {theirs:.1f} dB "
              f"({len(test)} inputs; argmax agreement {100 * agree:.1f}%); worst layers: "
              + "; ".join(f"{e.layer} {e.sqnr_db:.1f} dB" for e in worst) + f"  [{time.monotonic() - t:.0f} s]")


def bench_fashion() -> None:
    import keras

    (xt, yt), (xv, yv) = fashion_mnist()
    train = Dataset(xt[:55_000], yt[:55_000], "train[:55000]")
    calib = Dataset(xt[55_000:55_500], None, "train[55000:55500]")
    test = Dataset(xv, yv, "test (10000)")
    keras.utils.set_random_seed(0)
    t = time.monotonic()
    model = fashion_cnn()
    finetune(model, train, TrainConfig(epochs=3, verbose=0))
    tfl = to_int8_tflite(model, calib)
    base = compare(model, tfl, test)
    s0 = model_stats(model)
    print(f"Fashion-MNIST CNN (55k train, 3 epochs; 10k test): float {pct(base.float_accuracy)}, int8 "
          f"{pct(base.int8_accuracy)}; {s0.params} params, {s0.macs} MACs, {len(tfl)} B .tflite "
          f"[{time.monotonic() - t:.0f} s]")
    for frac in (0.5, 0.75):
        t = time.monotonic()
        keras.utils.set_random_seed(1)
        res = prune_channels(model, frac)
        c0 = compare(res.model, to_int8_tflite(res.model, calib), test)
        finetune(res.model, train, TrainConfig(epochs=2, verbose=0))
        tp = to_int8_tflite(res.model, calib)
        c = compare(res.model, tp, test)
        s = model_stats(res.model)
        print(f"  structured {frac:.0%} (l1): params {s.params} ({100 * (1 - s.params / s0.params):.1f}% fewer), MACs "
              f"{s.macs} ({100 * (1 - s.macs / s0.macs):.1f}% fewer), .tflite {len(tp)} B; before fine-tuning "
              f"float {pct(c0.float_accuracy)}; after 2 epochs float {pct(c.float_accuracy)}, int8 "
              f"{pct(c.int8_accuracy)}  [{time.monotonic() - t:.0f} s]")
    for scope in ("global", "layer"):
        t = time.monotonic()
        keras.utils.set_random_seed(2)
        u = prune_unstructured(model, 0.8, scope=scope, train=train, config=TrainConfig(epochs=2, verbose=0))
        tu = to_int8_tflite(u.model, calib)
        c = compare(u.model, tu, test)
        print(f"  unstructured 80% ({scope}): sparsity {100 * u.sparsity:.1f}%, float {pct(c.float_accuracy)}, int8 "
              f"{pct(c.int8_accuracy)}, .tflite {len(tu)} B (unchanged: dense kernels)  [{time.monotonic() - t:.0f} s]")
    # the fair baseline for fine-tuned models: the unpruned model trained the same 2 extra epochs
    t = time.monotonic()
    finetune(model, train, TrainConfig(epochs=2, verbose=0))
    c = compare(model, to_int8_tflite(model, calib), test)
    print(f"  unpruned + 2 more epochs (reference for the fine-tuned rows): float {pct(c.float_accuracy)}, int8 "
          f"{pct(c.int8_accuracy)}  [{time.monotonic() - t:.0f} s]")


BENCHES = {"kws": bench_kws, "mlperf": bench_mlperf, "fashion": bench_fashion}

if __name__ == "__main__":
    for key in sys.argv[1:] or list(BENCHES):
        BENCHES[key]()
        sys.stdout.flush()
