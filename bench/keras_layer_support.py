"""Which Keras layers and activations the TFLite converter + edgegen compile: one tiny model per
case, converted to int8 and compiled by edgegen; prints one line per case (ops, or why not). The
pre-flight table in edgegen/keras/layers.py records these results; rerun after adding an op.

    PYTHONPATH=. python bench/keras_layer_support.py > bench/kernels/results/issue15-kerasside-layers.txt
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import numpy as np

from edgegen.build import compile_tflite
from edgegen.errors import EdgegenError
from edgegen.keras.convert import to_int8_tflite
from edgegen.keras.data import Dataset

ACTIVATIONS = ("relu", "relu6", "sigmoid", "tanh", "softmax", "swish", "silu", "hard_swish", "hard_silu",
               "hard_sigmoid", "elu", "selu", "gelu", "leaky_relu", "linear", "softplus", "softsign", "exponential",
               "mish", "log_softmax", "relu6", "celu", "glu", "sparse_plus", "squareplus", "tanh_shrink",
               "hard_tanh", "soft_shrink", "hard_shrink", "log_sigmoid", "sparsemax", "threshold")


def _cases() -> list[tuple[str, tuple[int, ...], Callable[[Any], Any]]]:
    import keras
    L = keras.layers
    cases: list[tuple[str, tuple[int, ...], Callable[[Any], Any]]] = []
    for act in ACTIVATIONS:
        cases.append((f"Conv2D(activation={act!r})", (6, 6, 3), lambda x, a=act: L.Conv2D(4, 3, activation=a)(x)))
        cases.append((f"Activation({act!r})", (6, 6, 3), lambda x, a=act: L.Activation(a)(L.Conv2D(4, 1)(x))))
    more: list[tuple[str, tuple[int, ...], Callable[[Any], Any]]] = [
        ("ReLU(max_value=6)", (6, 6, 3), lambda x: L.ReLU(max_value=6.0)(L.Conv2D(4, 1)(x))),
        ("ReLU(max_value=3)", (6, 6, 3), lambda x: L.ReLU(max_value=3.0)(L.Conv2D(4, 1)(x))),
        ("ReLU(negative_slope=0.1)", (6, 6, 3), lambda x: L.ReLU(negative_slope=0.1)(L.Conv2D(4, 1)(x))),
        ("ReLU(threshold=0.5)", (6, 6, 3), lambda x: L.ReLU(threshold=0.5)(L.Conv2D(4, 1)(x))),
        ("LeakyReLU", (6, 6, 3), lambda x: L.LeakyReLU(0.2)(L.Conv2D(4, 1)(x))),
        ("ELU", (6, 6, 3), lambda x: L.Conv2D(2, 1)(L.ELU()(L.Conv2D(4, 1)(x)))),
        ("PReLU", (6, 6, 3), lambda x: L.PReLU(shared_axes=[1, 2])(L.Conv2D(4, 1)(x))),
        ("Softmax", (6, 6, 3), lambda x: L.Softmax()(L.Conv2D(4, 1)(x))),
        ("Conv2D dilation 2", (8, 8, 3), lambda x: L.Conv2D(4, 3, dilation_rate=2)(x)),
        ("Conv2D groups 2", (6, 6, 4), lambda x: L.Conv2D(4, 3, groups=2)(x)),
        ("Conv2D padding same stride 2", (7, 7, 3), lambda x: L.Conv2D(4, 3, strides=2, padding="same")(x)),
        ("DepthwiseConv2D depth_multiplier 2", (6, 6, 3), lambda x: L.DepthwiseConv2D(3, depth_multiplier=2)(x)),
        ("SeparableConv2D", (6, 6, 3), lambda x: L.SeparableConv2D(4, 3)(x)),
        ("Conv1D", (10, 3), lambda x: L.Conv1D(4, 3)(x)),
        ("Conv1D causal", (10, 3), lambda x: L.Conv1D(4, 3, padding="causal")(x)),
        ("DepthwiseConv1D", (10, 3), lambda x: L.DepthwiseConv1D(3)(x)),
        ("SeparableConv1D", (10, 3), lambda x: L.SeparableConv1D(4, 3)(x)),
        ("Conv3D", (4, 4, 4, 2), lambda x: L.Conv3D(2, 2)(x)),
        ("Conv2DTranspose", (4, 4, 3), lambda x: L.Conv2DTranspose(4, 3, strides=2)(x)),
        ("UpSampling2D nearest", (4, 4, 3), lambda x: L.UpSampling2D()(x)),
        ("UpSampling2D bilinear", (4, 4, 3), lambda x: L.UpSampling2D(interpolation="bilinear")(x)),
        ("UpSampling1D", (4, 3), lambda x: L.UpSampling1D()(x)),
        ("Dense on rank 3", (5, 3), lambda x: L.Dense(4)(x)),
        ("Dense on rank 4", (4, 4, 3), lambda x: L.Dense(4)(x)),
        ("MaxPooling2D", (6, 6, 3), lambda x: L.MaxPooling2D()(x)),
        ("AveragePooling2D same", (7, 7, 3), lambda x: L.AveragePooling2D(2, padding="same")(x)),
        ("MaxPooling1D", (10, 3), lambda x: L.MaxPooling1D()(x)),
        ("AveragePooling1D", (10, 3), lambda x: L.AveragePooling1D(2)(x)),
        ("GlobalAveragePooling2D", (6, 6, 3), lambda x: L.GlobalAveragePooling2D()(x)),
        ("GlobalAveragePooling2D keepdims", (6, 6, 3), lambda x: L.GlobalAveragePooling2D(keepdims=True)(x)),
        ("GlobalMaxPooling2D", (6, 6, 3), lambda x: L.GlobalMaxPooling2D()(x)),
        ("GlobalAveragePooling1D", (10, 3), lambda x: L.GlobalAveragePooling1D()(x)),
        ("GlobalMaxPooling1D", (10, 3), lambda x: L.GlobalMaxPooling1D()(x)),
        ("ZeroPadding2D", (6, 6, 3), lambda x: L.ZeroPadding2D(1)(x)),
        ("ZeroPadding1D", (6, 3), lambda x: L.ZeroPadding1D(1)(x)),
        ("Cropping2D", (6, 6, 3), lambda x: L.Cropping2D(1)(x)),
        ("Cropping1D", (6, 3), lambda x: L.Cropping1D(1)(x)),
        ("Flatten", (6, 6, 3), lambda x: L.Flatten()(x)),
        ("Reshape", (6, 6, 3), lambda x: L.Reshape((36, 3))(x)),
        ("Permute", (6, 4, 3), lambda x: L.Permute((2, 1, 3))(x)),
        ("RepeatVector", (3,), lambda x: L.RepeatVector(4)(x)),
        ("Dropout", (6, 6, 3), lambda x: L.Dropout(0.5)(x)),
        ("SpatialDropout2D", (6, 6, 3), lambda x: L.SpatialDropout2D(0.5)(x)),
        ("GaussianNoise", (6, 6, 3), lambda x: L.GaussianNoise(0.1)(x)),
        ("GaussianDropout", (6, 6, 3), lambda x: L.GaussianDropout(0.1)(x)),
        ("AlphaDropout", (6, 6, 3), lambda x: L.AlphaDropout(0.1)(x)),
        ("ActivityRegularization", (6, 6, 3), lambda x: L.ActivityRegularization()(x)),
        ("Identity", (6, 6, 3), lambda x: L.Identity()(L.Conv2D(4, 1)(x))),
        ("BatchNormalization after conv", (6, 6, 3), lambda x: L.BatchNormalization()(L.Conv2D(4, 3)(x))),
        ("BatchNormalization at input", (6, 6, 3), lambda x: L.Conv2D(4, 1)(L.BatchNormalization()(x))),
        ("LayerNormalization", (6, 6, 3), lambda x: L.LayerNormalization()(L.Conv2D(4, 1)(x))),
        ("GroupNormalization", (6, 6, 4), lambda x: L.GroupNormalization(2)(L.Conv2D(4, 1)(x))),
        ("UnitNormalization", (6, 6, 3), lambda x: L.UnitNormalization()(L.Conv2D(4, 1)(x))),
        ("Rescaling", (6, 6, 3), lambda x: L.Conv2D(4, 1)(L.Rescaling(1 / 127.5, offset=-1)(x))),
        ("Normalization", (6, 6, 3), lambda x: L.Conv2D(4, 1)(L.Normalization(mean=0.5, variance=2.0)(x))),
        ("Add", (6, 6, 3), lambda x: L.Add()([L.Conv2D(3, 1)(x), x])),
        ("Subtract", (6, 6, 3), lambda x: L.Subtract()([L.Conv2D(3, 1)(x), x])),
        ("Multiply", (6, 6, 3), lambda x: L.Multiply()([L.Conv2D(3, 1)(x), x])),
        ("Average", (6, 6, 3), lambda x: L.Average()([L.Conv2D(3, 1)(x), x])),
        ("Maximum", (6, 6, 3), lambda x: L.Maximum()([L.Conv2D(3, 1)(x), x])),
        ("Minimum", (6, 6, 3), lambda x: L.Minimum()([L.Conv2D(3, 1)(x), x])),
        ("Concatenate", (6, 6, 3), lambda x: L.Concatenate()([L.Conv2D(3, 1)(x), x])),
        ("Dot", (4,), lambda x: L.Dot(axes=1)([L.Dense(4)(x), x])),
        ("Resizing", (4, 4, 3), lambda x: L.Resizing(8, 8)(x)),
        ("CenterCrop", (6, 6, 3), lambda x: L.CenterCrop(4, 4)(x)),
        ("Embedding", (5,), lambda x: L.Embedding(10, 4)(x)),
    ]
    # (recurrent layers are left out: converting a tiny LSTM, GRU or SimpleRNN with edgegen's
    # converter settings crashed the process with a segmentation fault (exit 139) on this machine's
    # TF 2.21; the pre-flight check refuses GRU and SimpleRNN before conversion for that reason too)
    return cases + more


def main() -> int:
    import keras

    print(f"keras {keras.__version__}")
    results = []
    for name, shape, build in _cases():
        keras.utils.set_random_seed(0)
        t0 = time.monotonic()
        try:
            inp = keras.Input(shape, dtype="int32" if name == "Embedding" else "float32")
            out = build(inp)
            if len(out.shape) > 2 and name not in ("Flatten",):
                out = keras.layers.Flatten()(out)
            model = keras.Model(inp, keras.layers.Dense(2)(out))
            rng = np.random.default_rng(0)
            x = (rng.integers(0, 10, (16, *shape)) if name == "Embedding" else rng.normal(size=(16, *shape))).astype(
                np.int32 if name == "Embedding" else np.float32)
            tfl = to_int8_tflite(model, Dataset(x, None, "random"))
            _g, program = compile_tflite(tfl, name="m", source="m.tflite")
            ops = Counter(c.op_name for c in program.calls)
            line = "ok: " + " ".join(f"{k}x{v}" for k, v in sorted(ops.items()))
        except EdgegenError as e:
            line = "REFUSED: " + str(e).splitlines()[0][:240]
        except Exception as e:  # Keras itself refusing the layer
            line = f"KERAS: {type(e).__name__}: {str(e).splitlines()[0][:200] if str(e) else ''}"
        results.append(f"{name:40s} {line}  [{time.monotonic() - t0:.1f}s]")
        print(results[-1], flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
