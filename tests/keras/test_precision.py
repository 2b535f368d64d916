"""int16 and mixed int8/int16 precision from Keras (issue 16 items 3, 4): the splice of an int8 and
a 16x8 model (edgegen.mixed) checked in TFLM, --int16-layers, --precision auto, and the refusals.

TFLM is the oracle throughout: every spliced model is run by it. The splice is checked against the
two models it comes from, never against its own output: an all-int8 splice must be the int8 model
and an all-int16 splice the 16x8 model (op for op, tensor for tensor, and on every tensor in
TFLM); a mixed model computes, before its first int16 op, exactly the int8 model's tensors, and
from an int16 prefix exactly the 16x8 model's; each inserted QUANTIZE is TFLM's requantization
(within half an output step, plus the fixed-point rounding, of its input's real value, or clamped)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edgegen.errors import EdgegenError
from edgegen.mixed import op_names, splice, tensor_precisions
from edgegen.oracle import run_tflm_many

fb = pytest.importorskip("ai_edge_litert.schema_py_generated")


def _cnn() -> Any:
    import keras

    keras.utils.set_random_seed(0)
    inp = keras.Input((10, 10, 3))
    x = keras.layers.Conv2D(8, 3, padding="same", name="c1")(inp)
    x = keras.layers.ReLU(name="relu")(keras.layers.BatchNormalization(name="bn")(x))  # one op with c1
    x = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu", name="dw")(x)
    x = keras.layers.AveragePooling2D(2, name="pool")(x)
    x = keras.layers.Flatten(name="flat")(x)
    x = keras.layers.Dense(16, activation="relu", name="d1")(x)
    x = keras.layers.Dense(6, name="d2")(x)
    return keras.Model(inp, keras.layers.Softmax(name="sm")(x), name="cnn")


CNN_LAYERS = ["relu", "dw", "pool", "flat", "d1", "d2", "sm"]  # one op each, in this order (relu: c1+bn+relu)


@pytest.fixture(scope="module")
def cnn() -> tuple[Any, np.ndarray, bytes, bytes]:
    from edgegen.keras.convert import to_16x8_tflite, to_int8_tflite
    from edgegen.keras.data import Dataset

    model = _cnn()
    x = np.random.default_rng(0).normal(size=(24, 10, 10, 3)).astype(np.float32)
    calib = Dataset(x, None, "random")
    return model, x, to_int8_tflite(model, calib), to_16x8_tflite(model, calib)


def _graph(data: bytes) -> tuple[Any, Any]:
    m = fb.ModelT.InitFromPackedBuf(bytearray(data), 0)
    return m, m.subgraphs[0]


def _op_rows(data: bytes) -> list[tuple[Any, ...]]:
    """Each op as plain data: its builtin code, options, and every input and output tensor's type,
    shape, scale, zero point and constant bytes (tensor and buffer numbering left out)."""
    m, g = _graph(data)

    def tensor(i: int) -> tuple[Any, ...]:
        if i < 0:
            return ("none",)
        t = g.tensors[i]
        q = t.quantization
        buf = m.buffers[t.buffer].data if t.buffer > 0 and m.buffers[t.buffer].data is not None else None
        return (t.type, tuple(int(d) for d in t.shape),
                None if q is None or q.scale is None else tuple(float(s) for s in q.scale),
                None if q is None or q.zeroPoint is None else tuple(int(z) for z in q.zeroPoint),
                None if buf is None else bytes(np.asarray(buf, np.uint8)))

    rows = []
    for op in g.operators:
        code = m.operatorCodes[op.opcodeIndex]
        opts = op.builtinOptions
        rows.append((max(code.builtinCode, code.deprecatedBuiltinCode), op.builtinOptionsType,
                     None if opts is None else sorted(vars(opts).items()),
                     tuple(tensor(int(i)) for i in op.inputs), tuple(tensor(int(i)) for i in op.outputs)))
    return rows


def _inputs(data: bytes, n: int, seed: int) -> list[list[np.ndarray]]:
    """Random codes over the whole range of the model's input type."""
    _m, g = _graph(data)
    t = g.tensors[int(g.inputs[0])]
    dtype = {fb.TensorType.INT8: np.int8, fb.TensorType.INT16: np.int16}[t.type]
    info = np.iinfo(dtype)
    rng = np.random.default_rng(seed)
    return [[rng.integers(info.min, info.max + 1, [int(d) for d in t.shape]).astype(dtype)] for _ in range(n)]


def _op_outputs(data: bytes, inputs: list[list[np.ndarray]]) -> list[list[np.ndarray]]:
    """Per sample, the output of every op of ``data`` in TFLM, in op order."""
    _m, g = _graph(data)
    outs = [int(op.outputs[0]) for op in g.operators]
    return [[np.asarray(r.tensors[t]) for t in outs] for r in run_tflm_many(data, inputs)]


def _same_in_tflm(a: bytes, b: bytes, ops_a: list[int], ops_b: list[int], inputs: list[list[np.ndarray]]) -> None:
    ra, rb = _op_outputs(a, inputs), _op_outputs(b, inputs)
    for sa, sb in zip(ra, rb, strict=True):
        for i, j in zip(ops_a, ops_b, strict=True):
            assert sa[i].dtype == sb[j].dtype and np.array_equal(sa[i], sb[j]), (i, j)


def test_all_int8_splice_is_the_int8_model(cnn: tuple[Any, np.ndarray, bytes, bytes]) -> None:
    _model, _x, int8, int16 = cnn
    spliced = splice(int8, int16, [])
    assert _op_rows(spliced) == _op_rows(int8)
    n = len(op_names(int8))
    _same_in_tflm(spliced, int8, list(range(n)), list(range(n)), _inputs(int8, 3, 1))


def test_all_int16_splice_is_the_16x8_model(cnn: tuple[Any, np.ndarray, bytes, bytes]) -> None:
    _model, _x, int8, int16 = cnn
    n = len(op_names(int8))
    spliced = splice(int8, int16, range(n))
    assert _op_rows(spliced) == _op_rows(int16)
    assert {t.dtype for t in tensor_precisions(spliced)} == {"int16"}
    _same_in_tflm(spliced, int16, list(range(n)), list(range(n)), _inputs(int16, 3, 2))


@pytest.mark.parametrize("wide", [[0], [1, 2], [4], [6], [0, 3, 5], [2, 3, 4, 5, 6], [0, 1, 2, 3]])
def test_mixed_splice_runs_in_tflm_as_its_parts(cnn: tuple[Any, np.ndarray, bytes, bytes], wide: list[int]) -> None:
    _model, _x, int8, int16 = cnn
    mixed = splice(int8, int16, wide)
    names8 = op_names(int8)
    names = op_names(mixed)
    # the original ops in order, one QUANTIZE at each change of precision along the chain
    prec = [16 if i in wide else 8 for i in range(len(names8))]
    changes = sum(1 for i in range(1, len(prec)) if prec[i] != prec[i - 1])
    assert [n for n in names if n != "QUANTIZE"] == [n for n in names8 if n != "QUANTIZE"]
    assert names.count("QUANTIZE") == changes
    _m, g = _graph(mixed)
    real = [i for i, n in enumerate(names) if n != "QUANTIZE"]
    for k, i in enumerate(real):
        want = fb.TensorType.INT16 if k in wide else fb.TensorType.INT8
        assert g.tensors[int(g.operators[i].outputs[0])].type == want, (k, names[i])
    # the input's type is that of the first op (int16 when it is int16)
    assert g.tensors[int(g.inputs[0])].type == (fb.TensorType.INT16 if 0 in wide else fb.TensorType.INT8)
    inputs = _inputs(mixed, 3, 3)
    first16 = min(wide)
    if first16 > 0:  # before the first int16 op, exactly the int8 model
        _same_in_tflm(mixed, int8, real[:first16], list(range(first16)), inputs)
    else:  # an int16 prefix is exactly the 16x8 model
        prefix = next(k for k in range(len(prec) + 1) if k == len(prec) or prec[k] == 8)
        _same_in_tflm(mixed, int16, real[:prefix], list(range(prefix)), inputs)
    # every QUANTIZE requantizes: within half an output step of its input's real value, or clamped
    res = run_tflm_many(mixed, inputs)
    for op in g.operators:
        if names[g.operators.index(op)] != "QUANTIZE":
            continue
        ti, to = g.tensors[int(op.inputs[0])], g.tensors[int(op.outputs[0])]
        assert ti.type != to.type
        info = np.iinfo(np.int16 if to.type == fb.TensorType.INT16 else np.int8)
        for r in res:
            real_in = (r.tensors[int(op.inputs[0])].astype(np.float64) - ti.quantization.zeroPoint[0]) \
                * ti.quantization.scale[0]
            q = r.tensors[int(op.outputs[0])].astype(np.float64)
            ideal = np.clip(real_in / to.quantization.scale[0] + to.quantization.zeroPoint[0], info.min, info.max)
            assert np.max(np.abs(q - ideal)) <= 0.51  # half a step, plus the fixed-point multiplier's rounding


def test_int16_layers_select_exactly_those_ops(cnn: tuple[Any, np.ndarray, bytes, bytes]) -> None:
    from edgegen.keras.data import Dataset
    from edgegen.keras.precision import choose, op_layers, select_ops

    model, x, int8, _int16 = cnn
    assert op_layers(int8, model) == CNN_LAYERS
    res = choose(model, int8, Dataset(x, None, "random"), precision="int8", int16_layers=["dw", "d1"])
    assert res.precision == "mixed" and res.int16_ops == (1, 4) and res.int16_layers == ("dw", "d1")
    names = op_names(res.tflite)
    _m, g = _graph(res.tflite)
    real = [i for i, n in enumerate(names) if n != "QUANTIZE"]
    types = [g.tensors[int(g.operators[i].outputs[0])].type for i in real]
    assert types == [fb.TensorType.INT16 if k in (1, 4) else fb.TensorType.INT8 for k in range(len(real))]
    # report data: every activation tensor's type and bytes, the cost before and after
    tensors = res.data["tensors"]
    assert sum(t["bytes"] for t in tensors if t["dtype"] == "int16") == \
        sum(2 * int(np.prod(t["shape"])) for t in tensors if t["dtype"] == "int16")
    assert res.data["arena_bytes"]["mixed"] > res.data["arena_bytes"]["int8"]
    assert any("int16" in ln and "dw, d1" in ln for ln in res.lines)
    # a fused op is chosen by any of the layers its tensors are named after; the folded
    # BatchNormalization leaves no name, and is refused saying so
    for name in ("c1", "relu"):
        assert select_ops(int8, model, [name, "d2"]) == (0, 5)
    with pytest.raises(EdgegenError, match="'bn' is a layer that makes no op of its own"):
        select_ops(int8, model, ["bn"])


def test_unknown_layer_is_named_with_the_valid_ones(cnn: tuple[Any, np.ndarray, bytes, bytes]) -> None:
    from edgegen.keras.precision import select_ops

    model, _x, int8, _int16 = cnn
    with pytest.raises(EdgegenError, match=r"'conv9' is not a layer of the model\. Layers with ops: "
                                           r"relu, c1, dw, pool, flat, d1, d2, sm"):
        select_ops(int8, model, ["d1", "conv9"])


def _outlier_mlp() -> Any:
    """An MLP whose hidden layer has one unit about 25x larger than the others, which carry the
    class: int8 min-max gives that tensor a step of 1/255 of the outlier's range, so the informative
    units fall on a few levels; int16 has 256x finer steps."""
    import keras

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    inp = keras.Input((8,))
    h = keras.layers.Dense(9, activation="relu", name="wide")(inp)
    out = keras.layers.Dense(4, name="head")(keras.layers.Dense(12, activation="relu", name="mid")(h))
    model = keras.Model(inp, out, name="outlier")
    w = np.concatenate([np.eye(8), np.full((8, 1), 10.0)], axis=1)
    model.get_layer("wide").set_weights([w.astype(np.float32), np.zeros(9, np.float32)])
    w2 = rng.normal(size=(9, 12)).astype(np.float32)
    w2[8] = 0.0  # the outlier unit carries no information
    model.get_layer("mid").set_weights([w2, np.zeros(12, np.float32)])
    return model


def test_auto_reaches_the_target(tmp_path: Path) -> None:
    from edgegen.keras.data import Dataset
    from edgegen.keras.precision import choose, tflm_predict

    model = _outlier_mlp()
    rng = np.random.default_rng(1)
    x = np.abs(rng.normal(size=(300, 8))).astype(np.float32)
    y = np.argmax(model(x).numpy(), axis=1)  # the float model's own classes: float accuracy 100 %
    from edgegen.keras.convert import to_int8_tflite

    calib = Dataset(x[:100], None, "calib")
    int8 = to_int8_tflite(model, calib)
    ev = Dataset(x[100:], y[100:], "eval")

    def acc(tfl: bytes) -> float:
        return 100.0 * float(np.mean(np.argmax(tflm_predict(tfl, ev.x), axis=1) == ev.y))

    int8_drop = 100.0 - acc(int8)
    assert int8_drop >= 5.0, int8_drop  # the model loses accuracy in int8 (the premise)
    res = choose(model, int8, calib, precision="auto", max_drop=1.0, evaluation=ev, labels=ev.y)
    assert res.data["auto"]["met"] and res.precision == "mixed"
    assert 100.0 - acc(res.tflite) <= 1.0
    assert res.data["auto"]["steps"][-1]["drop_points"] == pytest.approx(100.0 - acc(res.tflite))
    assert res.data["auto"]["steps"][0]["drop_points"] == pytest.approx(int8_drop)
    # the outlier lives in wide's output: keeping it int16 (wide and its reader mid) helps most
    assert res.data["auto"]["ranking"][0]["output_of"] == "wide"
    assert res.data["auto"]["ranking"][0]["layers"] == ["wide", "mid"]
    assert res.data["auto"]["steps"][1]["int16_layers"] == ["wide", "mid"]
    assert set(res.int16_layers) <= {"wide", "mid", "head"} and res.int16_layers
    # the named layers' ops, and only those, are int16
    _m, g = _graph(res.tflite)
    names = op_names(res.tflite)
    real = [i for i, n in enumerate(names) if n != "QUANTIZE"]
    wide = {["wide", "mid", "head"].index(n) for n in res.int16_layers}
    assert [g.tensors[int(g.operators[i].outputs[0])].type == fb.TensorType.INT16 for i in real] == \
        [k in wide for k in range(3)]

    # an unreachable target is said so: calibrated on inputs 100x too small, int8 and int16 alike clamp
    small = Dataset(x[:100] * 0.01, None, "too small")
    res = choose(model, to_int8_tflite(model, small), small, precision="auto", max_drop=1.0, evaluation=ev,
                 labels=ev.y)
    assert not res.data["auto"]["met"]
    assert res.data["auto"]["steps"][-1]["int16_layers"] == ["wide", "mid", "head"]  # tried up to every layer
    assert any("cannot be met: with every layer int16 the drop is still" in w for w in res.warnings)


def test_auto_without_labels_is_refused(cnn: tuple[Any, np.ndarray, bytes, bytes]) -> None:
    from edgegen.keras.data import Dataset
    from edgegen.keras.precision import choose

    model, x, int8, _int16 = cnn
    with pytest.raises(EdgegenError, match="--precision auto measures the accuracy drop against class labels"):
        choose(model, int8, Dataset(x, None, "random"), precision="auto", max_drop=1.0,
               evaluation=Dataset(x, None, "random"), labels=None)


@pytest.mark.parametrize(("args", "message"), [
    (["--max-accuracy-drop", "1"], "--max-accuracy-drop 1 chooses int16 layers automatically: it needs "
                                   "--precision auto"),
    (["--precision", "auto"], "--precision auto needs --max-accuracy-drop POINTS"),
    (["--precision", "int16", "--int16-layers", "d1"], "--int16-layers makes the named layers int16"),
    (["--max-accuracy-drop", "-1", "--precision", "auto"], "give the accuracy points int8 may lose, >= 0"),
])
def test_cli_option_refusals(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str],
                             message: str) -> None:
    from edgegen.cli import main

    (tmp_path / "m.keras").write_bytes(b"not read: the options are refused first")
    rc = main(["build", str(tmp_path / "m.keras"), "--board", "host", "--out", str(tmp_path / "out"), *args])
    err = capsys.readouterr().err
    assert rc == 1 and message in err, err
    assert not (tmp_path / "out").exists()


def test_cli_refuses_precision_for_a_tflite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from edgegen.cli import main

    (tmp_path / "m.tflite").write_bytes(b"x")
    rc = main(["build", str(tmp_path / "m.tflite"), "--out", str(tmp_path / "o"), "--int16-layers", "d1"])
    assert rc == 1 and "--int16-layers applies to Keras models only" in capsys.readouterr().err


def test_float_io_splices_are_their_parts(cnn: tuple[Any, np.ndarray, bytes, bytes]) -> None:
    """With float inputs and outputs the input QUANTIZE and output DEQUANTIZE follow the op they
    feed or read: all-int8 and all-int16 splices are the two float-I/O models, a mixed one keeps
    float I/O and stays close to the float model."""
    from edgegen.keras.convert import to_16x8_tflite, to_int8_tflite
    from edgegen.keras.data import Dataset
    from edgegen.keras.precision import tflm_predict
    from edgegen.mixed import io_dtypes

    model, x, _int8, _int16 = cnn
    calib = Dataset(x, None, "random")
    int8, int16 = to_int8_tflite(model, calib, float_io=True), to_16x8_tflite(model, calib, float_io=True)
    n = len(op_names(int8))
    assert op_names(int8)[0] == "QUANTIZE" and op_names(int8)[-1] == "DEQUANTIZE"
    assert _op_rows(splice(int8, int16, [])) == _op_rows(int8)
    assert _op_rows(splice(int8, int16, range(n))) == _op_rows(int16)
    mixed = splice(int8, int16, [1, 2])
    assert io_dtypes(mixed) == (["float32"], ["float32"])
    assert op_names(mixed)[:3] == ["QUANTIZE", "CONV_2D", "DEPTHWISE_CONV_2D"]  # float -> int16 directly
    f = model(x[:4]).numpy()
    assert np.max(np.abs(tflm_predict(mixed, x[:4]) - f)) < 0.02


def _mlp(tmp_path: Path, middle: str = "dense") -> Path:
    """A 16-32-16-4 MLP saved as m.keras, with calibration data (calib.npy) and labels the float
    model gives itself (eval.npz); ``middle="leaky"`` puts a LeakyReLU layer after the first Dense."""
    import keras

    keras.utils.set_random_seed(0)
    inp = keras.Input((16,))
    h = keras.layers.Dense(32, activation=None if middle == "leaky" else "relu", name="d1")(inp)
    if middle == "leaky":
        h = keras.layers.LeakyReLU(negative_slope=0.1, name="leaky")(h)
    h = keras.layers.Dense(16, activation="relu", name="d2")(h)
    model = keras.Model(inp, keras.layers.Dense(4, name="d3")(h), name="mlp")
    model.save(tmp_path / "m.keras")
    x = np.random.default_rng(0).normal(size=(160, 16)).astype(np.float32)
    np.save(tmp_path / "calib.npy", x[:80])
    np.savez(tmp_path / "eval.npz", x=x[80:], y=np.argmax(model(x[80:]).numpy(), axis=1))
    return tmp_path / "m.keras"


def test_whole_16x8_mlp_builds_and_verifies_exact(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from edgegen.cli import main

    keras_file = _mlp(tmp_path)
    out = tmp_path / "out"
    rc = main(["build", str(keras_file), "--calib", str(tmp_path / "calib.npy"), "--eval", str(tmp_path / "eval.npz"),
               "--precision", "int16", "--board", "host", "--out", str(out)])
    text = capsys.readouterr()
    assert rc == 0, text.err
    assert "int16 .tflite:" in text.out and "int16 inputs and outputs" in text.out
    assert "precision int16: every layer int16" in text.out and "accuracy: float 100.00%, int16 " in text.out
    report = json.loads((out / "report.json").read_text())
    prec = report["front_end_summary"]["precision"]
    assert prec["precision"] == "int16" and {t["dtype"] for t in prec["tensors"]} == {"int16"}
    # the plan's arena for int16 activations is that of int8 twice over (2 bytes per element)
    assert prec["arena_bytes"]["source"] == "arena bytes (edgegen's plan)"
    assert prec["arena_bytes"]["int16"] == 2 * prec["arena_bytes"]["int8"]
    assert 'id="precision"' in (out / "report.html").read_text()
    assert main(["verify", str(out)]) == 0
    verified = capsys.readouterr().out
    assert "simulator == TFLM                 exact" in verified and "parity: exact" in verified


def test_int16_op_the_back_end_cannot_run_is_named(tmp_path: Path) -> None:
    from edgegen import api

    keras_file = _mlp(tmp_path, middle="leaky")
    with pytest.raises(EdgegenError, match=r"layer 'leaky' \(LeakyReLU\) -> TFLite op 1 LEAKY_RELU: .*int16"):
        api.build_keras(str(keras_file), str(tmp_path / "calib.npy"), precision="int16")


def test_calib_method_ranges_reach_the_int16_ops() -> None:
    """With --calib-method percentile the int16 ops' scales come from the same clipped ranges as
    the int8 ops' (the 16x8 twin quantized from the same calibrated model), not from min-max: the
    int16 model input's scale is the clipped range's max(|min|, |max|) / 32767."""
    from edgegen.keras.calibrate import calibrate, calibrated_ranges, convert
    from edgegen.keras.data import Dataset
    from edgegen.keras.precision import for_pipeline

    model = _outlier_mlp()
    x = np.abs(np.random.default_rng(2).normal(size=(200, 8))).astype(np.float32)
    x[3, 0] = 500.0  # one glitch: min-max stretches the input's range to it, percentile 99 clips it
    calib = Dataset(x[:100], None, "calib")
    conversion = convert(model, calib, "percentile", 99.0)
    ranges = conversion.edited
    res = for_pipeline(model, conversion.tflite, calib, None, precision="int8", int16_layers=["wide"],
                       max_drop=None, float_io=False, make_16x8=lambda: conversion.sixteen_by_eight(False))
    _m, g = _graph(res.tflite)
    t = g.tensors[int(g.inputs[0])]
    assert t.type == fb.TensorType.INT16
    lo, hi = next(r.after for r in calibrated_ranges(calibrate(model, calib), calib, "percentile", 99.0)
                  if r.name == t.name.decode())
    assert hi < 100.0  # clipped (min-max would be 500)
    assert float(t.quantization.scale[0]) == pytest.approx(max(abs(lo), abs(hi)) / 32767, rel=1e-6)
    assert ranges  # the int8 conversion used edited ranges too


def test_mixed_mlp_builds_and_verifies_exact(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--int16-layers d2: int8 d1, QUANTIZE int8 -> int16, int16 d2, QUANTIZE int16 -> int8, int8 d3,
    compiled by edgegen and exact against TFLM and on the host."""
    import json

    from edgegen.cli import main

    keras_file = _mlp(tmp_path)
    out = tmp_path / "out"
    rc = main(["build", str(keras_file), "--calib", str(tmp_path / "calib.npy"), "--eval", str(tmp_path / "eval.npz"),
               "--int16-layers", "d2", "--board", "host", "--out", str(out)])
    text = capsys.readouterr()
    assert rc == 0, text.err
    assert "precision mixed: layers d2 int16 (ops 1)" in text.out and "int8 inputs and outputs" in text.out
    assert "mixed .tflite:" in text.out
    report = json.loads((out / "report.json").read_text())
    assert [layer["op"] for layer in report["layers"]] == ["FULLY_CONNECTED", "QUANTIZE", "FULLY_CONNECTED",
                                                           "QUANTIZE", "FULLY_CONNECTED"]
    prec = report["front_end_summary"]["precision"]
    assert [t["dtype"] for t in prec["tensors"]] == ["int8", "int8", "int16", "int16", "int8", "int8"]
    assert prec["arena_bytes"]["source"] == "arena bytes (edgegen's plan)"
    assert prec["arena_bytes"]["mixed"] > prec["arena_bytes"]["int8"]
    assert main(["verify", str(out)]) == 0
    assert "parity: exact" in capsys.readouterr().out


def test_summary_names_the_io_types(cnn: tuple[Any, np.ndarray, bytes, bytes]) -> None:
    from edgegen.keras.pipeline import _io_types

    _model, _x, int8, int16 = cnn
    assert _io_types(int8) == "int8 inputs and outputs" and _io_types(int16) == "int16 inputs and outputs"
    assert _io_types(splice(int8, int16, [6])) == "int8 inputs, int16 outputs"  # the softmax int16


def test_concatenation_requantize_of_the_16x8_model_is_spliced(tmp_path: Path) -> None:
    """TensorFlow's 16x8 quantizer requantizes one CONCATENATION input (a QUANTIZE int16 -> int16
    the int8 model has not): splices still give both parts, the extra op goes with the int16
    CONCATENATION (TFLM runs it), and a mixed build with the concatenation int8 compiles."""
    import keras

    from edgegen import api
    from edgegen.keras.convert import to_16x8_tflite, to_int8_tflite
    from edgegen.keras.data import Dataset

    keras.utils.set_random_seed(0)
    inp = keras.Input((8,))
    a = keras.layers.Dense(8, activation="relu", name="da")(inp)
    b = keras.layers.Dense(8, activation="relu", name="db")(inp)
    c = keras.layers.Concatenate(name="cat")([a, b])
    model = keras.Model(inp, keras.layers.Dense(3, name="out")(c), name="catm")
    calib = Dataset(np.random.default_rng(0).normal(size=(50, 8)).astype(np.float32), None, "random")
    int8, int16 = to_int8_tflite(model, calib), to_16x8_tflite(model, calib)
    assert op_names(int16) == ["FULLY_CONNECTED", "FULLY_CONNECTED", "QUANTIZE", "CONCATENATION", "FULLY_CONNECTED"]
    assert _op_rows(splice(int8, int16, [])) == _op_rows(int8)
    assert _op_rows(splice(int8, int16, range(4))) == _op_rows(int16)
    _same_in_tflm(splice(int8, int16, range(4)), int16, list(range(5)), list(range(5)), _inputs(int16, 2, 4))
    mixed = splice(int8, int16, [2])  # the concatenation alone int16: its inputs come int8, one requantized twice
    assert op_names(mixed).count("QUANTIZE") == 4
    run_tflm_many(mixed, _inputs(mixed, 2, 5))
    _tflite, lines = api.build_keras(model, calib.x, int16_layers=["da", "db"])  # compiled by edgegen
    assert any("precision mixed: layers da, db int16 (ops 0, 1)" in ln for ln in lines)
