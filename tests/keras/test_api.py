"""The notebook API mirrors the CLI: quantize, prune, evaluate, layer_errors."""

from __future__ import annotations

import numpy as np

from edgegen import api
from edgegen.api import TrainConfig

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


def test_api_build_verify_run(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """The CLI's three steps from Python, with the Keras summary landing in the report."""
    import json

    model = small_cnn()
    x = random_images(40)
    out = tmp_path / "m"
    result = api.build(model, out, board="qemu-m4", calib=x, inputs=x[:2], vectors=2)
    assert result.board.name == "qemu-m4" and (out / "model.tflite").is_file() and (out / "Makefile").is_file()
    report = json.loads((out / "report.json").read_text())
    assert any("int8 .tflite" in line for line in report["front_end"])
    assert "Keras front end" in (out / "report.html").read_text()
    assert api.verify(out, samples=3, inputs=x[:2]).ok
    run = api.run(out)
    assert run.result.verdict is True and run.result.vectors_passed == 2
    assert "qemu-m4" in json.loads((out / "report.json").read_text())["runs"]


def test_long_steps_report_progress() -> None:
    """Calibration, fine-tuning and int8 evaluation each report steps up to their total."""
    from edgegen.keras.data import Dataset
    from edgegen.keras.pipeline import Options, run

    seen: dict[str, tuple[int, int]] = {}

    def progress(what: str, done: int, total: int) -> None:
        assert 0 <= done < total
        seen[what] = (max(done, seen.get(what, (0, 0))[0]), total)

    x = random_images(70)
    y = np.random.default_rng(0).integers(0, 5, 70)
    run(small_cnn(), Options(calib=x[:20], prune=0.25, train=Dataset(x[:64], y[:64], "train"),
                             eval_data=Dataset(x[64:], y[64:], "eval"),
                             train_config=TrainConfig(epochs=2, batch_size=32, progress=progress),
                             progress=progress))
    assert seen["calibrating"] == (19, 20)
    assert seen["fine-tuning"] == (3, 4)  # 2 epochs x 2 batches
    assert seen["int8 inference (TFLM)"] == (5, 6)
