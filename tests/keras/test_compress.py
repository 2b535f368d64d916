"""Issue 17, Keras side: block and N:M masks, weight sharing that survives TFLite's per-channel int8
quantization, fine-tuning that keeps both, and the before/after table against direct computations."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest

from edgegen.compression import BLOCK, huffman_bits, layer_weights
from edgegen.compression_table import layer_rows, stage_rows, table_lines, wanted
from edgegen.errors import EdgegenError
from edgegen.keras.data import Dataset
from edgegen.keras.finetune import TrainConfig
from edgegen.keras.prune_block import block_masks, nm_masks, prune_shaped, rows
from edgegen.keras.share import kmeans, share_weights
from edgegen.tflite_reader import parse_tflite

from .conftest import random_images, small_cnn


def _tflite_rows(kernel: np.ndarray) -> np.ndarray:
    """Each output channel's weights in TFLite's OHWI / [out, in] order, by explicit loops (the
    layout contract, written out independently of prune_block.rows)."""
    *red, cout = kernel.shape
    return np.array([[kernel[(*idx, o)] for idx in np.ndindex(*red)] for o in range(cout)])


def _blocks(r: np.ndarray, size: int) -> list[np.ndarray]:
    """Every group of ``size`` consecutive weights of every row (the last one of a row may be short)."""
    return [row[i : i + size] for row in r for i in range(0, len(row), size)]


KERNELS = [np.random.default_rng(1).normal(size=(3, 3, 5, 7)), np.random.default_rng(2).normal(0, 3, size=(10, 6))]


def test_rows_follow_tflite_layout() -> None:
    for k in KERNELS:
        assert np.array_equal(rows(k), _tflite_rows(k))


@pytest.mark.parametrize("scope", ["layer", "global"])
def test_block_masks_are_whole_blocks(scope: str) -> None:
    masks = block_masks(KERNELS, 0.6, scope, "l2")
    total = sum(k.size for k in KERNELS)
    dropped = sum(int((~m).sum()) for m in masks)
    assert dropped <= round(0.6 * total) and dropped >= round(0.6 * total) - BLOCK * (1 if scope == "global" else 2)
    for k, m in zip(KERNELS, masks, strict=True):
        assert m.shape == k.shape
        for blk in _blocks(_tflite_rows(m), BLOCK):  # 45 weights a row: a partial last block of 1
            assert blk.all() or not blk.any()
        if scope == "layer":
            assert abs((~m).mean() - 0.6) <= BLOCK / m.shape[-1] / (m.size / m.shape[-1]) + 0.01
            # the weakest blocks went (scaled L2 norm, partial blocks scaled to a full block's)
            norms = [np.sqrt((b**2).sum() * BLOCK / len(b)) for b in _blocks(_tflite_rows(k), BLOCK)]
            kept = [blk.all() for blk in _blocks(_tflite_rows(m), BLOCK)]
            assert min(n for n, x in zip(norms, kept, strict=True) if x) >= \
                max(n for n, x in zip(norms, kept, strict=True) if not x)


@pytest.mark.parametrize(("n", "m"), [(2, 4), (1, 4), (3, 8)])
def test_nm_masks_count(n: int, m: int) -> None:
    for k, mask in zip(KERNELS, nm_masks(KERNELS, n, m), strict=True):
        for w, keep in zip(_blocks(_tflite_rows(np.abs(k)), m), _blocks(_tflite_rows(mask), m), strict=True):
            assert keep.sum() == min(n, len(keep))
            assert w[keep].min() >= w[~keep].max(initial=0.0)


def test_kmeans_keeps_zero_fixed() -> None:
    rng = np.random.default_rng(3)
    w = rng.normal(size=(6, 50)) * (rng.uniform(size=(6, 50)) > 0.7)
    w[2] = 0.0  # an all-zero channel
    c, assign = kmeans(w, 8)
    shared = np.take_along_axis(c, assign, axis=1)
    assert np.all(shared[w == 0] == 0) and np.all(shared[w != 0] != 0)
    assert all(len(np.unique(row)) <= 8 for row in shared)


@dataclass(frozen=True)
class Compressed:
    pruned: Any
    shared: Any
    tflite: bytes


@pytest.fixture(scope="module")
def compressed() -> Compressed:
    from edgegen.keras.convert import to_int8_tflite

    x = random_images(128)
    y = np.random.default_rng(0).integers(0, 5, 128)
    train = Dataset(x, y, "random")
    cfg = TrainConfig(epochs=1, batch_size=32, verbose=0)
    pruned = prune_shaped(small_cnn(), "block", 0.7, scope="layer", train=train, config=cfg)
    shared = share_weights(pruned.model, 3, train=train, config=cfg)
    return Compressed(pruned, shared, to_int8_tflite(shared.model, Dataset(x[:64], None, "calib")))


def _kernels(model: Any) -> dict[str, np.ndarray]:
    from edgegen.keras.prune_block import shaped_kernels

    return {layer.name: np.asarray(var) for layer, var in shaped_kernels(model)[0]}


def test_fine_tuning_keeps_blocks_and_sharing(compressed: Compressed) -> None:
    before = _kernels(compressed.pruned.model)
    after = _kernels(compressed.shared.model)
    for name, k in before.items():
        # whole blocks after fine-tuning, at the target sparsity
        assert all(b.all() or not b.any() for b in _blocks(_tflite_rows(k != 0), BLOCK)), name
        assert abs((k == 0).mean() - 0.7) < 0.05, name
        # sharing kept every pruned weight at zero and added no zero
        assert np.array_equal(after[name] == 0, k == 0), name
        assert max(len(np.unique(r)) for r in _tflite_rows(after[name])) <= 8, name
    assert "DepthwiseConv left dense" in "\n".join(compressed.pruned.lines())


def test_sharing_survives_int8_conversion(compressed: Compressed) -> None:
    graph = parse_tflite(compressed.tflite)
    seen = 0
    for t in graph.tensors:
        if t.data is not None and t.dtype == "int8" and t.quant is not None and len(t.shape) >= 2:
            per_channel = np.moveaxis(t.data, t.quant.axis, 0).reshape(t.shape[t.quant.axis], -1)
            assert max(len(np.unique(r)) for r in per_channel) <= 8, t.name
            seen += 1
    layers = layer_weights(graph)
    assert seen == len(layers) == 7 and all(x.distinct <= 8 for x in layers)
    for x in layers:
        t = next(t for t in graph.tensors if t.name == x.tensor)
        assert t.data is not None
        assert x.zeros == int((t.data == 0).sum()) and x.dense_bytes == t.data.size


def test_huffman_bits_against_a_known_code() -> None:
    # the textbook example (CLRS 16.3): frequencies 45, 13, 12, 16, 9, 5 take 224 bits
    assert huffman_bits(np.array([45, 13, 12, 16, 9, 5])) == 224
    assert huffman_bits(np.array([7, 0, 0])) == 7 and huffman_bits(np.array([1, 1])) == 2


def _report(core: bool) -> dict[str, Any]:
    layers = [{"dense_bytes": 1000, "weights": 1000, "zeros": 800, "blocks": 250, "zero_blocks": 200, "distinct": 16,
               "kind": "CONV_2D", "tensor": "m/conv/w", "huffman_bytes": 300, "op": 0, "channels": 10,
               "index_bits": 4}]
    report: dict[str, Any] = {
        "board": {"name": "qemu-m4"}, "arena_bytes": 5000, "footprint": {"flash_bytes": 20_000},
        "front_end_summary": {"stages": [
            {"stage": "float32", "params": 1100, "nonzero_params": 1100, "weight_bytes": 4400, "accuracy": 0.9},
            {"stage": "pruned", "params": 1100, "nonzero_params": 300, "weight_bytes": 4400, "accuracy": 0.89},
            {"stage": "int8", "accuracy": 0.885}]},
        "compression": {"layers": layers},
        "layers": [{"call": 0}], "runs": {"qemu-m4": {"unit": "instructions", "total": 12345}}}
    if core:
        report.update(weights_bytes=280, dense_weights_bytes=1000)
        report["layers"][0]["weights"] = {"format": "block4", "bytes": 280, "dense_bytes": 1000, "huffman_bytes": 271}
    return report


def test_table_against_direct_computation() -> None:
    rows = {r["stage"]: r for r in stage_rows(_report(core=True))}
    assert list(rows) == ["float32", "pruned", "int8", "compressed"]
    assert rows["int8"]["flash_bytes"] == 20_000 - 280 + 1000 and rows["int8"]["flash_estimate"]
    assert rows["int8"]["instructions"] is None and rows["int8"]["accuracy"] == 0.885
    c = rows["compressed"]
    assert (c["weight_bytes"], c["flash_bytes"], c["arena_bytes"], c["instructions"], c["accuracy"]) == \
        (280, 20_000, 5000, 12345, 0.885)
    assert rows["int8"]["nonzero_params"] == 200
    text = "\n".join(table_lines(_report(core=True)))
    assert f"{4400 / 280:.1f}x" in text and "block4" in text and "~20,720" in text
    # a depthwise layer before it, which the core does not describe: still matched by bytes
    dw = {**_report(core=True)["compression"]["layers"][0], "kind": "DEPTHWISE_CONV_2D", "dense_bytes": 90}
    both = {**_report(core=True), "compression": {"layers": [dw, *_report(core=True)["compression"]["layers"]]}}
    assert [r["format"] for r in layer_rows(both)] == [None, "block4"]
    # the core's Huffman figure replaces the estimate in the layer's row
    assert next(ln for ln in text.splitlines() if "block4" in ln).split()[-3] == "271"
    assert table_lines(_report(core=False))[-1].split()[-3] == "300"
    # without the core's fields: the int8 stage is this build, the compressed one n/a
    rows = {r["stage"]: r for r in stage_rows(_report(core=False))}
    assert rows["int8"]["weight_bytes"] == 1000 and rows["int8"]["flash_bytes"] == 20_000
    assert rows["int8"]["instructions"] == 12345
    assert rows["compressed"]["weight_bytes"] is None and rows["compressed"]["instructions"] is None
    assert "n/a" in "\n".join(table_lines(_report(core=False)))
    # a plain quantization with the core storing dense weights: no table
    plain = {**_report(core=True), "weights_bytes": 1000, "front_end_summary": {"stages": [
        {"stage": "float32", "params": 1100}, {"stage": "int8", "accuracy": 0.9}]}}
    assert wanted(_report(core=False)) and wanted(_report(core=True)) and not wanted(plain)


@pytest.mark.parametrize(("argv", "message"), [
    (["--prune-nm", "2:4", "--prune-mode", "block"], "drop --prune-mode block"),
    (["--prune-nm", "2:4", "--prune", "0.8"], "disagree"),
    (["--prune-mode", "nm", "--prune", "0.5"], "needs --prune-nm"),
    (["--prune-nm", "4:4"], "0 < N < M"),
    (["--share-weights", "9"], "1 to 7 bits"),
    (["--share-granularity", "layer"], "needs --share-weights"),
    (["--learning-rate", "3e-4"], "needs --train"),
])
def test_cli_refuses_inconsistent_options(argv: list[str], message: str) -> None:
    from edgegen.cli import check_keras_options, make_parser

    args: argparse.Namespace = make_parser().parse_args(["build", "m.keras", *argv])
    with pytest.raises(EdgegenError, match=message):
        check_keras_options(args)


def test_pipeline_stages_against_direct_computation() -> None:
    """The Keras pipeline's stage rows (block pruning + sharing, fine-tuned) against the returned
    model and .tflite measured here."""
    from edgegen.keras.evaluate import accuracy, float_predict, int8_predict
    from edgegen.keras.pipeline import Options, run

    x = random_images(160, seed=4)
    y = np.random.default_rng(4).integers(0, 5, 160)
    res = run(small_cnn(), Options(calib=x[:64], prune=0.5, prune_mode="block", share_bits=2,
                                   train=Dataset(x[:128], y[:128], "train"),
                                   eval_data=Dataset(x[128:], y[128:], "eval"),
                                   train_config=TrainConfig(epochs=1, batch_size=32, verbose=0)))
    stages = {s["stage"]: s for s in res.summary_data()["stages"]}
    assert list(stages) == ["float32", "pruned", "shared", "int8"]
    weights = [np.asarray(w) for w in res.model.get_weights()]
    shared = stages["shared"]
    assert shared["params"] == sum(w.size for w in weights) == stages["float32"]["params"]
    assert shared["nonzero_params"] == sum(int(np.count_nonzero(w)) for w in weights)
    assert shared["weight_bytes"] == 4 * shared["params"]
    assert shared["accuracy"] == accuracy(float_predict(res.model, x[128:]), y[128:])
    assert stages["int8"]["accuracy"] == accuracy(int8_predict(res.tflite, x[128:]), y[128:])
    assert any(line.startswith("block pruning") for line in res.lines)
    assert any(line.startswith("weight sharing: 2-bit") for line in res.lines)


def test_nm_fine_tuning_keeps_n_of_m() -> None:
    x = random_images(64, seed=5)
    y = np.random.default_rng(5).integers(0, 5, 64)
    res = prune_shaped(small_cnn(), "nm", nm=(2, 4), train=Dataset(x, y, "random"),
                       config=TrainConfig(epochs=2, batch_size=16, verbose=0))
    assert res.nm == (2, 4) and abs(res.sparsity - 0.5) < 0.02
    for name, k in _kernels(res.model).items():
        for g in _blocks(_tflite_rows(k), 4):
            assert np.count_nonzero(g) <= min(2, len(g)), name
