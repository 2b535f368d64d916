"""Issue 17's accuracy figures: a Fashion-MNIST CNN dense int8 vs 80% block-sparse / N:M /
unstructured + fine-tuning, then + 4-bit weight sharing + fine-tuning (docs/keras.md, "Compression").

    nice python bench/compression.py                     # all variants (about 40 minutes on 2 busy cores)
    nice python bench/compression.py block80_layer share4 nm24 control share4_dense  # docs/keras.md's table
    EDGEGEN_COMPRESS_FT=2,1e-3 nice python bench/compression.py block80_layer  # another fine-tuning recipe
    python bench/compression.py estimate [DIR...]          # a block-sparse size estimate of the saved models

The model and training follow docs/keras.md's "Measured" section (Conv16-BN-ReLU-pool, Conv32-pool,
Conv32, Flatten, Dense64, Dense10; 3 epochs of Adam on train[:55000], calibrated on train[55000:55500],
tested on all 10,000 test images). Each produced float model is saved as OUT/<variant>.keras and its
int8 model as OUT/<variant>.tflite (OUT = $EDGEGEN_COMPRESS_OUT or /tmp/compresskeras); the paths
are listed in OUT/models.txt. int8 accuracy comes from TFLM (bit-exact with edgegen's firmware);
the weight figures from edgegen.compression on the int8 model.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from edgegen.compression import layer_weights  # noqa: E402
from edgegen.keras.convert import to_int8_tflite  # noqa: E402
from edgegen.keras.data import Dataset  # noqa: E402
from edgegen.keras.evaluate import compare  # noqa: E402
from edgegen.keras.finetune import TrainConfig, finetune  # noqa: E402
from edgegen.keras.prune_block import prune_shaped  # noqa: E402
from edgegen.keras.prune_magnitude import copy_model, prune_unstructured  # noqa: E402
from edgegen.keras.report import model_stats  # noqa: E402
from edgegen.keras.share import share_weights  # noqa: E402
from edgegen.tflite_reader import parse_tflite  # noqa: E402
from tests.keras.datasets import fashion_mnist  # noqa: E402
from tests.keras.test_fashion_mnist import fashion_cnn  # noqa: E402

OUT = Path(os.environ.get("EDGEGEN_COMPRESS_OUT", "/tmp/compresskeras"))
#: fine-tuning while pruning ($EDGEGEN_COMPRESS_FT="epochs,learning rate", default 5 epochs at 3e-4, the
#: recipe of docs/keras.md's table)
_FT = os.environ.get("EDGEGEN_COMPRESS_FT", "5,3e-4").split(",")
FT = TrainConfig(epochs=int(_FT[0]), verbose=0, learning_rate=float(_FT[1]))
#: fine-tuning after weight sharing (Deep Compression retrains the centroids briefly)
SHARE_FT = TrainConfig(epochs=2, verbose=0, learning_rate=3e-4)


class Bench:
    def __init__(self) -> None:
        import keras

        (xt, yt), (xv, yv) = fashion_mnist()
        self.train = Dataset(xt[:55_000], yt[:55_000], "train[:55000]")
        self.calib = Dataset(xt[55_000:55_500], None, "train[55000:55500]")
        self.test = Dataset(xv, yv, "test (10000)")
        self.models: dict[str, Any] = {}
        OUT.mkdir(parents=True, exist_ok=True)
        base = OUT / "dense.keras"
        if base.is_file():
            self.base = keras.models.load_model(base)
        else:
            keras.utils.set_random_seed(0)
            self.base = fashion_cnn()
            finetune(self.base, self.train, TrainConfig(epochs=3, verbose=0))
        self.record("dense", self.base, "trained 3 epochs (55k), dense")

    def record(self, name: str, model: Any, what: str, t0: float | None = None) -> None:
        t = time.monotonic()
        tflite = to_int8_tflite(model, self.calib)
        c = compare(model, tflite, self.test)
        model.save(OUT / f"{name}.keras")
        (OUT / f"{name}.tflite").write_bytes(tflite)
        self.models[name] = model
        layers = layer_weights(parse_tflite(tflite))
        dense = sum(x.dense_bytes for x in layers)
        zeros = sum(x.zeros for x in layers)
        zb = sum(x.zero_blocks for x in layers)
        blocks = sum(x.blocks for x in layers)
        huff = sum(x.huffman_bytes for x in layers)
        s = model_stats(model)
        took = time.monotonic() - (t0 if t0 is not None else t)
        assert c.float_accuracy is not None and c.int8_accuracy is not None
        print(f"{name}: {what}: float {100 * c.float_accuracy:.2f}%, int8 {100 * c.int8_accuracy:.2f}% (10k test); "
              f"{s.params:,} params, {s.nonzero_params:,} non-zero; int8 kernels {dense:,} B, "
              f"{100 * zeros / dense:.1f}% zero, {zb:,}/{blocks:,} blocks all zero, at most "
              f"{max(x.distinct for x in layers)} values per channel, Huffman estimate {huff:,} B "
              f"({huff / dense:.3f}x); .tflite {len(tflite):,} B  [{took:.0f} s]")
        for x in layers:
            print(f"    {x.tensor.split('/')[-2]}: {x.kind} {x.dense_bytes:,} B, {100 * x.zeros / x.weights:.1f}% "
                  f"zero, {x.zero_blocks}/{x.blocks} zero blocks, <= {x.distinct} values/channel, Huffman "
                  f"{x.huffman_bytes:,} B")
        with (OUT / "models.txt").open("a") as f:
            f.write(f"{OUT / name}.keras  {OUT / name}.tflite  int8 {100 * c.int8_accuracy:.2f}%  {what}\n")
        sys.stdout.flush()

    def pruned(self, name: str) -> Any:
        if name not in self.models:
            VARIANTS[name](self)
        return self.models[name]


def _block(scope: str) -> Any:
    def run(b: Bench) -> None:
        import keras

        t = time.monotonic()
        keras.utils.set_random_seed(2)
        r = prune_shaped(b.base, "block", 0.8, scope=scope, train=b.train, config=FT)
        b.record(f"block80_{scope}", r.model, f"80% block-sparse ({scope}) + {FT.epochs} epochs (lr "
                 f"{FT.learning_rate:g})", t)
    return run


def _nm(n: int, m: int) -> Any:
    def run(b: Bench) -> None:
        import keras

        t = time.monotonic()
        keras.utils.set_random_seed(2)
        r = prune_shaped(b.base, "nm", nm=(n, m), train=b.train, config=FT)
        b.record(f"nm{n}{m}", r.model, f"{n}:{m} + {FT.epochs} epochs (lr {FT.learning_rate:g})", t)
    return run


def unstructured(b: Bench) -> None:
    import keras

    t = time.monotonic()
    keras.utils.set_random_seed(2)
    r = prune_unstructured(b.base, 0.8, scope="global", train=b.train, config=FT)
    b.record("unstructured80", r.model, f"80% unstructured (global) + {FT.epochs} epochs (lr {FT.learning_rate:g})",
             t)


def control(b: Bench) -> None:
    import keras

    t = time.monotonic()
    keras.utils.set_random_seed(2)
    m = copy_model(b.base)
    finetune(m, b.train, FT)
    b.record("dense_ft", m, f"dense + the same {FT.epochs} epochs (lr {FT.learning_rate:g}, control)", t)


def _share(source: str, bits: int, granularity: str = "channel", init: str = "linear") -> Any:
    def run(b: Bench) -> None:
        import keras

        model = b.base if source == "dense" else b.pruned(source)
        t = time.monotonic()
        keras.utils.set_random_seed(3)
        one = share_weights(model, bits, granularity=granularity, init=init)
        b.record(f"{source}_share{bits}_{granularity}_{init}_noft", one.model,
                 f"{source} + {bits}-bit sharing per {granularity} ({init}), no fine-tuning", t)
        t = time.monotonic()
        keras.utils.set_random_seed(3)
        r = share_weights(model, bits, granularity=granularity, init=init, train=b.train, config=SHARE_FT)
        b.record(f"{source}_share{bits}_{granularity}_{init}", r.model,
                 f"{source} + {bits}-bit sharing per {granularity} ({init}) + 2 epochs (lr 3e-4)", t)
    return run


def block_estimate(tflite: bytes) -> tuple[int, int]:
    """(dense int8 kernel bytes, an estimate of a block-sparse store): per layer, one bit per block
    of 4 plus the non-zero blocks' weights, as 4-bit indices with a 16-entry int8 codebook per
    channel when every channel has at most 16 values. A plausible format to size the issue's bars
    against before the core's own figures (report.json's weights_bytes) replace it."""
    dense = est = 0
    for x in layer_weights(parse_tflite(tflite)):
        dense += x.dense_bytes
        nz = x.blocks - x.zero_blocks
        shared = x.distinct <= 16
        est += -(-x.blocks // 8) + (nz * 2 + x.channels * 16 if shared else nz * 4)
    return dense, est


def summarize(dirs: list[str]) -> None:
    """The estimate above for every .tflite in the given output directories."""
    for d in dirs:
        for f in sorted(Path(d).glob("*.tflite")):
            dense, est = block_estimate(f.read_bytes())
            print(f"{f}: int8 kernels {dense:,} B, block-sparse estimate {est:,} B ({est / dense:.3f}x)")


VARIANTS = {
    "block80_layer": _block("layer"),
    "block80_global": _block("global"),
    "unstructured80": unstructured,
    "nm24": _nm(2, 4),
    "nm14": _nm(1, 4),
    "control": control,
    "share4": _share("block80_layer", 4),
    "share4_global": _share("block80_global", 4),
    "share4_layer": _share("block80_layer", 4, "layer"),
    "share4_density": _share("block80_layer", 4, "channel", "density"),
    "share4_dense": _share("dense", 4),
}

if __name__ == "__main__":
    if sys.argv[1:2] == ["estimate"]:
        summarize(sys.argv[2:] or [str(OUT)])
        sys.exit(0)
    bench = Bench()
    for key in sys.argv[1:] or list(VARIANTS):
        if key not in bench.models:  # a sharing variant may have run its pruned model already
            VARIANTS[key](bench)
