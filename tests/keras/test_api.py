"""The notebook API mirrors the CLI: quantize, prune, evaluate, layer_errors."""

from __future__ import annotations

import numpy as np

from edgegen import api

from .conftest import random_images, small_cnn


def test_api_round_trip() -> None:
    model = small_cnn()
    x = random_images(64)
    tflite = api.quantize(model, lambda: (x[i] for i in range(32)))
    assert tflite[4:8] == b"TFL3"
    c = api.evaluate(model, tflite, x[32:], np.random.default_rng(0).integers(0, 5, 32))
    assert c.samples == 32 and c.int8_accuracy is not None and c.agreement is not None
    assert c.agreement >= 0.5  # the int8 model computes the same function, roughly
    smaller = api.prune(model, 0.5, "structured", verbose=False)
    assert smaller.count_params() < model.count_params()
    sparse = api.prune(model, 0.5, "unstructured", verbose=False)
    assert sparse.count_params() == model.count_params()
    errors = api.layer_errors(model, tflite, x, samples=4)
    assert errors and all(e.layer for e in errors)
    layer_names = {layer.name for layer in model.layers}
    assert sum(e.layer in layer_names for e in errors) >= len(errors) - 1  # all but the model output
    assert min(errors, key=lambda e: e.sqnr_db).sqnr_db < max(e.sqnr_db for e in errors)
