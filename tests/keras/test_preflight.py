"""The Keras pre-flight check (edgegen/keras/layers.py): every layer edgegen cannot compile refused
before conversion, all at once, one line each naming the layer, its class, the reason and what to
use instead; errors after conversion mapped back to the Keras layer (edgegen/keras/opmap.py);
Lambda layers only behind --unsafe-deserialization. The time the check takes on the shared models
and MobileNetV2 is in docs/benchmarks.md (bench/keras_preflight_time.py)."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edgegen import api
from edgegen.cli import main
from edgegen.errors import UnsupportedError
from edgegen.keras import layers

DOCS = Path(__file__).resolve().parents[2] / "docs" / "user-guide.md"


def _refusing_model() -> Any:
    """One layer per kind of refusal (class, option, activation), one of them in a nested model."""
    import keras

    L = keras.layers
    inp = keras.Input((8, 8, 4))
    a = L.Conv2D(4, 3, padding="same", activation="gelu", name="c_gelu")(inp)
    b = L.Conv2D(4, 3, padding="same", groups=2, name="c_groups")(inp)
    c = L.ReLU(threshold=0.5, name="relu_thr")(inp)
    d = L.LayerNormalization(name="ln")(inp)
    e = L.UpSampling2D(interpolation="bicubic", name="up")(L.MaxPooling2D(name="pool")(inp))
    sub_in = keras.Input((8, 8, 4))
    sub = keras.Model(sub_in, L.Activation("selu", name="inner_selu")(sub_in), name="block")
    f = sub(inp)
    y = L.Concatenate(name="cat")([a, b, c, d, e, f])
    seq = L.Reshape((64, 24), name="seq")(y)
    g = L.GRU(4, name="gru")(seq)
    out = L.Dense(2, activation="softmax", name="head")(g)
    return keras.Model(inp, out, name="refusals")


EXPECTED = [
    "layer 'c_gelu' (Conv2D): activation 'gelu' becomes GELU, which edgegen does not compile; "
    "use hard_swish or swish instead",
    "layer 'c_groups' (Conv2D): groups=2 (a grouped convolution), which edgegen does not compile; use DepthwiseConv2D",
    "layer 'relu_thr' (ReLU): threshold=0.5 becomes GREATER/SELECT ops",
    "layer 'ln' (LayerNormalization): the converter makes float NEG/RSQRT",
    "layer 'up' (UpSampling2D): interpolation 'bicubic' has no TFLite resize op edgegen compiles; "
    "use interpolation='nearest' or 'bilinear' instead",
    "layer 'inner_selu' (Activation): activation 'selu' becomes GREATER/SELECT ops",
    "layer 'gru' (GRU): edgegen has no int8 GRU kernel; use a forward LSTM",
]


def test_every_refused_layer_listed_at_once_before_conversion() -> None:
    model = _refusing_model()
    t = time.perf_counter()
    with pytest.raises(UnsupportedError) as info:
        api.build_keras(model, np.zeros((4, 8, 8, 4), np.float32))
    elapsed = time.perf_counter() - t
    lines = str(info.value).splitlines()
    assert lines[0].startswith("model 'refusals': 7 layers edgegen cannot compile (checked before conversion")
    assert len(lines) == 1 + len(EXPECTED)
    for line, want in zip(lines[1:], EXPECTED, strict=True):
        assert line.strip().startswith(want), (line, want)
        assert re.fullmatch(r"layer '\w+' \(\w+\): .+; use .+ instead", line.strip()), line
    # refused before any conversion (a conversion of even this model takes over a second)
    assert elapsed < 5.0, elapsed  # a generous bound (a loaded CI machine); measured in docs/benchmarks.md


def test_keras_file_checked_from_its_config_before_loading(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    """A .keras file is checked from its config.json, without TensorFlow (the CLI refuses in about
    a second, docs/benchmarks.md), with the very lines the live model gives."""
    model = _refusing_model()
    model.save(tmp_path / "r.keras")
    with pytest.raises(UnsupportedError) as live:
        layers.preflight(model)
    with pytest.raises(UnsupportedError) as saved:
        layers.preflight_file(tmp_path / "r.keras")
    assert str(saved.value) == str(live.value)
    np.save(tmp_path / "calib.npy", np.zeros((4, 8, 8, 4), np.float32))
    rc = main(["build", str(tmp_path / "r.keras"), "--board", "host", "--calib", str(tmp_path / "calib.npy"),
               "--out", str(tmp_path / "o")])
    assert rc != 0 and str(live.value) in capsys.readouterr().err


def test_supported_layers_and_activations_pass() -> None:
    import keras

    L = keras.layers
    inp = keras.Input((8, 8, 3))
    h = L.Conv2D(4, 3, activation="hard_swish", dilation_rate=2, padding="same")(inp)
    h = L.SeparableConv2D(4, 3, activation="swish", padding="same")(h)
    h = L.DepthwiseConv2D(3, depth_multiplier=2, activation="relu6")(h)
    h = L.UpSampling2D(interpolation="bilinear")(h)
    h = L.ReLU(max_value=3.0, negative_slope=0.1)(h)
    h = L.Dense(4, activation="elu")(h)  # rank-4 input
    h = L.GlobalAveragePooling2D()(L.Dropout(0.2)(L.BatchNormalization()(h)))
    model = keras.Model(inp, L.Dense(3, activation="softmax")(h))
    assert layers.problems(model) == []
    mnv2 = keras.applications.MobileNetV2(weights=None, input_shape=(96, 96, 3))
    assert layers.problems(mnv2) == []
    assert layers.config_problems(json.loads(mnv2.to_json())) == []


@pytest.mark.parametrize("cls", sorted(layers.REFUSED))
def test_each_refused_class_is_named(cls: str) -> None:
    """Every refused class of the table, by class name (the walk keys on it, so stand-ins of the
    class's name do; the real layers of several of them are in the model above)."""
    stand_in = type(cls, (), {"name": f"my_{cls.lower()}"})()
    holder = type("Functional", (), {"layers": [stand_in], "name": "m"})()
    assert layers.problems(holder) == [layers.REFUSED[cls].line(f"my_{cls.lower()}", cls)]


def test_error_after_conversion_names_the_keras_layer() -> None:
    """A Lambda passes the pre-flight (its ops are unknown before conversion); the ABS it becomes
    is refused by edgegen's reader, and the message names the Lambda inside its nested model."""
    import keras

    inp = keras.Input((6, 6, 3))
    x = keras.layers.Conv2D(4, 3, name="c1")(inp)
    sub_in = keras.Input((4, 4, 4))
    sub = keras.Model(sub_in, keras.layers.Lambda(lambda t: keras.ops.abs(t), name="absval")(sub_in), name="blk")
    out = keras.layers.Dense(2)(keras.layers.Flatten()(sub(x)))
    model = keras.Model(inp, out, name="mapped")
    with pytest.raises(UnsupportedError, match=r"^layer 'absval' \(Lambda\) -> TFLite op 1 ABS: not supported"):
        api.build_keras(model, np.random.default_rng(0).normal(size=(8, 6, 6, 3)).astype(np.float32))


def test_skip_layer_check_converts_and_the_op_is_refused_with_its_layer() -> None:
    import keras

    inp = keras.Input((6, 6, 3))
    out = keras.layers.Dense(2)(keras.layers.Flatten()(keras.layers.Conv2D(4, 3, activation="gelu", name="cg")(inp)))
    model = keras.Model(inp, out)
    with pytest.raises(UnsupportedError, match=r"^layer 'cg' \(Conv2D\) -> TFLite op \d+ GELU: not supported"):
        api.build_keras(model, np.zeros((4, 6, 6, 3), np.float32), layer_check=False)


def test_lambda_needs_unsafe_deserialization(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import keras

    inp = keras.Input((4,))
    out = keras.layers.Dense(2)(keras.layers.Lambda(lambda t: t * 2.0, name="double")(inp))
    keras.Model(inp, out).save(tmp_path / "lam.keras")
    rc = main(["build", str(tmp_path / "lam.keras"), "--board", "host", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert rc != 0
    assert "layer 'double' (Lambda)" in err and "--unsafe-deserialization" in err and "arbitrary code" in err
    with pytest.raises(UnsupportedError, match="unsafe_deserialization=True"):
        api.load(tmp_path / "lam.keras")
    model = api.load(tmp_path / "lam.keras", unsafe_deserialization=True)
    assert [type(la).__name__ for la in model.layers] == ["InputLayer", "Lambda", "Dense"]


def test_user_guide_lists_every_layer_and_refusal() -> None:
    """docs/user-guide.md's "Keras layers" table holds every supported class with its ops, every
    refused class and activation with its exact message, so the docs cannot drift from the table."""
    text = DOCS.read_text()
    section = text[text.index("## Keras layers"):]
    for cls, s in layers.SUPPORTED.items():
        assert f"| `{cls}` | {s.ops or '-'} |" in section, cls
    for name, a in layers.ACTIVATIONS.items():
        assert f"| `{name}` | {a} |" in section, name
    for cls, r in layers.REFUSED.items():
        assert f"| `{cls}` | {r.reason}; use {r.instead} instead |" in section, cls
    for name, r in layers.REFUSED_ACTIVATIONS.items():
        assert f"| `{name}` | {r.reason}; use {r.instead} instead |" in section, name
    for cls in layers.CONDITIONS:
        assert f"`{cls}`" in section, cls


def test_tensor_names_map_to_the_innermost_layer() -> None:
    """The converter's name scopes add "_N" to each layer's name: "conv2d_1_1" is layer "conv2d_1",
    "conv2d_1" is layer "conv2d" when there is no layer "conv2d_1"; a nested model's layer wins
    over the model; fused names (";") are tried in order."""
    from edgegen.keras.opmap import _layer_in

    names = {"conv2d": "Conv2D", "conv2d_1": "Conv2D", "blk": "Functional", "inner": "Dense"}
    assert _layer_in("m_b1_1/m_1/conv2d_1_1/convolution", names) == "conv2d_1"
    assert _layer_in("m_b1_1/m_1/conv2d_1/convolution", names) == "conv2d"
    assert _layer_in("m_b1_1/m_1/blk_1/inner_1/MatMul", names) == "inner"
    assert _layer_in("arith.constant;m_b1_1/m_1/blk_1/inner_1/Relu", names) == "inner"
    assert _layer_in("StatefulPartitionedCall_1:0", names) is None


def test_refused_output_op_names_the_output_layer() -> None:
    """The converter renames the model's output tensor (StatefulPartitionedCall...): an op making
    it is named after the layer that makes the Keras model's output."""
    import keras

    inp = keras.Input((6,))
    out = keras.layers.Lambda(lambda t: keras.ops.abs(t), name="absout")(keras.layers.Dense(4, name="d")(inp))
    model = keras.Model(inp, out)
    with pytest.raises(UnsupportedError, match=r"^layer 'absout' \(Lambda\) -> TFLite op 1 ABS: not supported"):
        api.build_keras(model, np.random.default_rng(0).normal(size=(8, 6)).astype(np.float32))
