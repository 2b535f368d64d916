"""Issue 17 (the Keras-free core): weight bytes and instructions of a Fashion-MNIST-like CNN with
block-sparse and shared weights, on every emulated CPU, `--compress off` against `--compress auto`.

    .venv/bin/python bench/compression_core.py [--cpus qemu-m4,qemu-m55] [--layers] [--refresh]

The CNN: Conv2D(16, 3x3, same)-BatchNorm-ReLU-MaxPool, Conv2D(32, 3x3, same)-ReLU-MaxPool,
Conv2D(32, 3x3, same)-ReLU, Flatten, Dense(64)-ReLU, Dense(10) on 28x28x1, seeded random weights
(no training: instructions and bytes do not depend on accuracy). Three variants, all converted to
int8 with edgegen's Keras front end (calibrated on seeded random images, cached under
~/.cache/edgegen-bench):

    dense       the random weights
    sparse80    80 % of the blocks zeroed: per output channel, blocks of 4 consecutive weights along the
                flattened (kh, kw, cin) axis (Dense: along its inputs), the 20 % of largest L1 kept
                (issue 17's contract); a row with 3 blocks keeps 1
    shared4     sparse80, then each output channel's kept weights snapped to 15 levels (its quantiles;
                with zero, 16 values: 4-bit indices)

Each variant is built (`edgegen build --board B`, `--compress off`, `auto` and `on`) and run (`edgegen run`)
on each CPU: total instructions of one inference, exact against the simulator on every test vector,
and the weight bytes of the CONV_2D / FULLY_CONNECTED layers (report.json's weights_bytes) against
the dense int8 weights. Issue 17's bars: sparse80 <= 0.35x dense int8 bytes and <= 0.6x the dense
model's instructions; shared4 <= 0.20x bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from edgegen.build import build  # noqa: E402
from edgegen.emulator import run_on_emulator  # noqa: E402

SEED = 17
KEEP = 0.2
LEVELS = 15
RECIPE = f"fmnist-cnn seed={SEED} keep={KEEP} levels={LEVELS} calib=32 v1"
VARIANTS = ("dense", "sparse80", "shared4")


def _prune_rows(rows: np.ndarray) -> np.ndarray:
    """``rows`` [N, K]: per row, the KEEP fraction of its blocks of 4 with the largest L1 kept."""
    n, k = rows.shape
    k4 = -(-k // 4)
    padded = np.zeros((n, k4 * 4), dtype=rows.dtype)
    padded[:, :k] = rows
    l1 = np.abs(padded.reshape(n, k4, 4)).sum(axis=2)
    keep = max(1, round(KEEP * k4))
    mask = np.zeros((n, k4), dtype=bool)
    np.put_along_axis(mask, np.argsort(-l1, axis=1)[:, :keep], True, axis=1)
    out: np.ndarray = (padded * np.repeat(mask, 4, axis=1))[:, :k]
    return out


def _share_rows(rows: np.ndarray) -> np.ndarray:
    """Each row's non-zero weights snapped to LEVELS levels (its quantiles)."""
    out = rows.copy()
    for r in out:
        nz = r != 0
        if nz.any():
            levels = np.quantile(r[nz], np.linspace(0, 1, LEVELS))
            r[nz] = levels[np.abs(r[nz][:, None] - levels[None, :]).argmin(axis=1)]
    return out


def _rows(kernel: np.ndarray) -> tuple[np.ndarray, tuple[int, ...]]:
    """A Keras kernel as [out, K] rows in TFLite's order (Conv2D (kh, kw, cin, cout); Dense (in, out))."""
    return kernel.reshape(-1, kernel.shape[-1]).T.copy(), kernel.shape


def cnn_tflite(variant: str, cache: Path, refresh: bool = False) -> Path:
    key = hashlib.sha256(f"{RECIPE} {variant}".encode()).hexdigest()[:12]
    path = cache / f"fmnist_cnn_{variant}_{key}.tflite"
    if path.is_file() and not refresh:
        return path
    from edgegen import api
    from edgegen.keras._tf import keras as keras_module

    keras = keras_module()
    keras.utils.set_random_seed(SEED)
    L = keras.layers
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        L.Conv2D(16, 3, padding="same"), L.BatchNormalization(), L.ReLU(), L.MaxPooling2D(),
        L.Conv2D(32, 3, padding="same", activation="relu"), L.MaxPooling2D(),
        L.Conv2D(32, 3, padding="same", activation="relu"),
        L.Flatten(), L.Dense(64, activation="relu"), L.Dense(10),
    ], name=f"fmnist_{variant}")
    rng = np.random.default_rng(SEED)
    for layer in model.layers:
        if isinstance(layer, L.BatchNormalization):
            g, b, mu, var = layer.get_weights()
            layer.set_weights([rng.uniform(0.5, 1.5, g.shape), rng.normal(0, 0.1, b.shape),
                               rng.normal(0, 0.1, mu.shape), rng.uniform(0.5, 1.5, var.shape)])
        if variant != "dense" and isinstance(layer, (L.Conv2D, L.Dense)):
            kernel, bias = layer.get_weights()
            rows, shape = _rows(kernel)
            rows = _prune_rows(rows)
            if variant == "shared4":
                rows = _share_rows(rows)
            layer.set_weights([rows.T.reshape(shape).astype(np.float32), bias])
    calib = np.random.default_rng(SEED).uniform(0, 1, (32, 28, 28, 1)).astype(np.float32)
    tflite, _lines = api.build_keras(model, calib)
    cache.mkdir(parents=True, exist_ok=True)
    path.write_bytes(tflite)
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cpus", default="qemu-m4,qemu-m55")
    ap.add_argument("--variants", default=",".join(VARIANTS))
    ap.add_argument("--layers", action="store_true", help="per-layer instructions and formats")
    ap.add_argument("--refresh", action="store_true")
    ap.add_argument("--out", default="/tmp/edgegen-bench-compression")
    args = ap.parse_args()
    cache = Path.home() / ".cache" / "edgegen-bench"
    rows = []
    dense_total: dict[str, int] = {}
    for variant in args.variants.split(","):
        model = cnn_tflite(variant, cache, args.refresh)
        for cpu in args.cpus.split(","):
            for compress in ("off", "auto", "on"):
                out = Path(args.out) / f"{variant}_{cpu}_{compress}"
                res = build(model.read_bytes(), out, source=model.name, name="fmnist", board=cpu, force=True,
                            compress=compress)
                run = run_on_emulator(res.out, board=cpu, timeout=900)
                p = res.program
                total = run.result.total or 0
                if variant == "dense" and compress == "off":
                    dense_total[cpu] = total
                fmts = " ".join(f"{lw.format}" for lw in p.layer_weights)
                rows.append((variant, cpu, compress, total, run.result.verdict, run.result.vectors_passed,
                             p.weights_bytes, p.dense_weights_bytes, fmts))
                print(f"{variant:9} {cpu:9} --compress {compress:4} instructions {total:>11,} "
                      f"({total / dense_total.get(cpu, total):.3f}x dense)  parity "
                      f"{'PASS' if run.result.verdict else 'FAIL'} ({run.result.vectors_passed} vectors)  "
                      f"weights {p.weights_bytes:,} B / {p.dense_weights_bytes:,} B dense int8 "
                      f"({p.weights_bytes / p.dense_weights_bytes:.3f}x)  formats {fmts}", flush=True)
                if args.layers:
                    for c, n in zip(p.calls, run.result.per_call, strict=False):
                        lw = next((w for w in p.layer_weights if w.op == c.op_index), None)
                        extra = f" {lw.format} {lw.bytes:,}/{lw.dense_bytes:,} B" if lw is not None else ""
                        print(f"    call {c.index:2} {c.op_name:16} {c.function:28} {n:>10,}{extra}")
    return 0 if all(r[4] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
