"""Train edgegen's bundled example: a small CNN on scikit-learn's 8x8 handwritten digits.

    .venv/bin/python examples/digits/train.py

Writes, next to this script: digits.keras (the float Keras 3 model), calib.npy (100 training
images for int8 calibration) and test.npz (x, y: 100 held-out images and labels, for real test
vectors and int8 accuracy). Seeded, so a re-run reproduces the files up to TensorFlow's
own nondeterminism. The data installs with scikit-learn (BSD-3), nothing is downloaded.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = Path(__file__).resolve().parent


def main() -> None:
    import keras
    from sklearn.datasets import load_digits

    keras.utils.set_random_seed(7)
    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[..., None]  # 1797 x 8 x 8 x 1, in [0, 1]
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(7).permutation(len(x))
    x, y = x[order], y[order]
    x_test, y_test = x[:300], y[:300]
    x_train, y_train = x[300:], y[300:]

    inp = keras.Input((8, 8, 1), name="image")
    h = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv1")(inp)
    h = keras.layers.DepthwiseConv2D(3, padding="same", activation="relu", name="dw2")(h)
    h = keras.layers.Conv2D(24, 1, activation="relu", name="pw2")(h)
    h = keras.layers.MaxPooling2D(2, name="pool")(h)
    h = keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="conv3")(h)
    h = keras.layers.GlobalAveragePooling2D(name="gap")(h)
    out = keras.layers.Dense(10, activation="softmax", name="classes")(h)
    model = keras.Model(inp, out, name="digits")
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=60, batch_size=64, verbose=0)
    _, acc = model.evaluate(x_test, y_test, verbose=0)
    print(f"digits: float test accuracy {acc:.3f} on {len(x_test)} held-out images")
    # saved without the optimizer state: inference needs only the weights (a third of the size)
    plain = keras.models.clone_model(model)
    plain.set_weights(model.get_weights())
    plain.save(HERE / "digits.keras")
    np.save(HERE / "calib.npy", x_train[:100])
    np.savez(HERE / "test.npz", x=x_test[:100], y=y_test[:100])


if __name__ == "__main__":
    main()
