"""Every int8 model in ../shared: simulator == TFLM on every intermediate tensor, and the
generated C (built with the host compiler, also under ASan/UBSan) == simulator on every call,
for 20 inputs each (real samples where ../shared has them, seeded random ones otherwise)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgegen.build import build
from edgegen.fixedpoint import quantize_f32_s8
from edgegen.verify import verify_directory

from .conftest import shared_path

MODELS = {
    "kws": "models/mlperf_tiny/kws/kws_ref_model.tflite",
    "resnet8": "models/mlperf_tiny/ic/resnet8_int8.tflite",
    "ad01": "models/mlperf_tiny/ad/ad01_int8.tflite",
    "hello_world": "models/tflite_micro/hello_world_int8.tflite",
    "micro_speech": "models/tflite_micro/micro_speech_quantized.tflite",
}
SAMPLES = 20


def _real_samples(key: str, scale: float, zero_point: int) -> list[tuple[np.ndarray, ...]]:
    if key == "kws":
        out = [(np.load(shared_path("models/mlperf_tiny/kws/sample_input_int8.npy")).astype(np.int8),)]
        for f in sorted(shared_path("data/kws01").glob("*.bin"))[:9]:
            out.append((np.frombuffer(f.read_bytes(), dtype=np.int8).reshape(1, 49, 10, 1),))
        return out
    if key == "ad01":
        spec = np.load(shared_path("models/mlperf_tiny/ad/sample_spectrogram_float_200x128.npy"))
        frames = [spec[i : i + 5].reshape(1, 640).astype(np.float32) for i in range(0, 50, 5)]
        return [(quantize_f32_s8(f, scale, zero_point),) for f in frames]
    if key == "hello_world":
        xs = np.linspace(0, 2 * np.pi, 10, dtype=np.float32)
        return [(quantize_f32_s8(np.array([[x]], dtype=np.float32), scale, zero_point),) for x in xs]
    return []


@pytest.mark.parametrize("key", sorted(MODELS))
def test_shared_model_parity(key: str, tmp_path: Path) -> None:
    src = shared_path(MODELS[key])
    result = build(src.read_bytes(), tmp_path / key, source=str(src), name=key)
    ref = result.program.inputs[0]
    samples = _real_samples(key, ref.scale, ref.zero_point)
    report, program = verify_directory(result.out, samples, count=SAMPLES, asan=True)
    assert report.samples == SAMPLES
    assert report.ok, "\n".join(m.message() for m in report.mismatches)
    assert report.sim_vs_tflm is True and report.c_vs_sim is True
    # every kernel call's output was checked against a TFLM tensor, on every sample
    assert report.tensors_compared == SAMPLES * len(program.calls)


def _float_io_model() -> bytes:
    """A small CNN converted with float32 inputs and outputs (QUANTIZE in, DEQUANTIZE out)."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(3)
    inp = keras.Input((12, 12, 2), batch_size=1)
    h = keras.layers.Conv2D(6, 3, strides=2, padding="same", activation="relu")(inp)
    h = keras.layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2, activation="relu6")(h)
    a = keras.layers.AveragePooling2D(2)(h)
    b = keras.layers.MaxPooling2D(2)(h)
    h = keras.layers.Concatenate()([a, b])
    h = keras.layers.Flatten()(h)
    h = keras.layers.Dense(10)(h)
    out = keras.layers.Softmax()(h)
    model = keras.Model(inp, out)
    rng = np.random.default_rng(3)

    def rep():  # type: ignore[no-untyped-def]
        for _ in range(32):
            yield [rng.uniform(-2, 3, (1, 12, 12, 2)).astype(np.float32)]

    conv = tf.lite.TFLiteConverter.from_keras_model(model)
    conv.optimizations = [tf.lite.Optimize.DEFAULT]
    conv.representative_dataset = rep
    conv.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    return bytes(conv.convert())


def test_float_io_model_parity(tmp_path: Path) -> None:
    data = _float_io_model()
    result = build(data, tmp_path / "fio", source="float_io.tflite", name="fio")
    program = result.program
    assert program.inputs[0].ctype == "float" and program.outputs[0].ctype == "float"
    kinds = [c.KIND for c in program.calls]
    assert kinds[0] == "quantize" and kinds[-1] == "dequantize"
    report, program = verify_directory(result.out, count=SAMPLES, asan=True)
    assert report.ok, "\n".join(m.message() for m in report.mismatches)
    assert report.sim_vs_tflm is True and report.c_vs_sim is True
    assert report.tensors_compared == SAMPLES * len(program.calls)
