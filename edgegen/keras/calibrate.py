"""Calibration methods through TensorFlow's own converter, so the result is a standard .tflite that
TFLM (edgegen's oracle) runs.

The route (TF 2.21): the converter with ``_experimental_calibrate_only`` stops after calibration and
returns the float flatbuffer in which each activation tensor carries the min/max it saw
(:func:`calibrate`); :func:`calibrated_ranges` runs that flatbuffer over the calibration samples in
TensorFlow's TFLite interpreter (its builtin kernels without delegates, every tensor preserved: the
same values the calibrator logged) and applies a method of :mod:`edgegen.calibration` to each
tensor; :func:`quantize` writes the ranges into the flatbuffer and quantizes it as ``convert()``
does: int8 with TF's MLIR quantizer (``mlir_quantize``, the options the normal path passes), 16x8
with the calibration wrapper's ``QuantizeModel`` (the converter's path for int16 activations; it
finds the statistics already in the model and feeds nothing), then the converter's buffer
deduplication and conversion metadata. With the ranges left alone the bytes equal
:func:`.convert.to_int8_tflite`'s (tests/keras/test_calibrate.py).

One quirk of TF's calibrator: it logs an op's input after the op ran, so when the interpreter
runs an ADD in place (its input buffer reused for the output) the input tensor's min/max is the
union of both. The methods compute from the tensor's own values and never widen the converter's
range, so such a tensor may narrow even at the 100th percentile.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..calibration import DEFAULT_PERCENTILE, TensorRange, TensorStats, check_method
from ._tf import quiet_output, tf
from .convert import _run, quantizing_converter
from .data import Dataset

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Calibrated:
    """The converter's calibrated float flatbuffer and the conversion metadata convert() would
    stamp on the quantized model."""

    flatbuffer: bytes
    metadata: Any


def calibrate(model: Any, calib: Dataset, *, progress: Progress | None = None) -> Calibrated:
    """``model`` through TensorFlow's converter as :func:`.convert.to_int8_tflite` sets it up, stopped
    after calibration on ``calib``."""
    conv = quantizing_converter(model, calib, "TFLITE_BUILTINS_INT8", progress)
    conv._experimental_calibrate_only = True
    # stamped after quantization instead, as convert() does (the hash is the final model's)
    conv.exclude_conversion_metadata = True
    data = _run(conv, model, "calibrated float")
    return Calibrated(flatbuffer=data, metadata=conv._metadata)


def _model_object(flatbuffer: bytes) -> Any:
    from tensorflow.lite.tools import flatbuffer_utils

    return flatbuffer_utils.convert_bytearray_to_object(bytearray(flatbuffer))


def activation_tensors(flatbuffer: bytes) -> list[tuple[int, str, tuple[float, float]]]:
    """The tensors of the calibrated flatbuffer that carry a calibrated min/max and hold values the
    interpreter keeps (the model's inputs and op outputs; not the LSTM's added intermediates): index,
    name, (min, max)."""
    sg = _model_object(flatbuffer).subgraphs[0]
    intermediates = {int(i) for op in sg.operators for i in (op.intermediates if op.intermediates is not None else ())}
    out = []
    for i, t in enumerate(sg.tensors):
        q = t.quantization
        if q is None or q.min is None or q.max is None or len(q.min) != 1 or i in intermediates:
            continue
        out.append((i, t.name.decode("utf-8", "replace"), (float(q.min[0]), float(q.max[0]))))
    return out


def _interpreter(flatbuffer: bytes) -> Any:
    from tensorflow.lite.python.interpreter import Interpreter, OpResolverType

    with warnings.catch_warnings(), quiet_output():
        warnings.simplefilter("ignore", UserWarning)
        # without delegates: TF's calibrator runs the builtin kernels, and a delegate would not keep
        # the tensors inside its partitions
        interp = Interpreter(model_content=flatbuffer, experimental_preserve_all_tensors=True,
                             experimental_op_resolver_type=OpResolverType.BUILTIN_WITHOUT_DEFAULT_DELEGATES)
        interp.allocate_tensors()
    return interp


def calibrated_ranges(calibrated: Calibrated, calib: Dataset, method: str,
                      percentile: float = DEFAULT_PERCENTILE, *, progress: Progress | None = None
                      ) -> tuple[TensorRange, ...]:
    """Each activation tensor's range by ``method`` from its float values on every sample of
    ``calib`` (minmax: the converter's, without running anything)."""
    check_method(method, percentile if method == "percentile" else None)
    tensors = activation_tensors(calibrated.flatbuffer)
    if method == "minmax":
        return tuple(TensorRange(i, name, r, r) for i, name, r in tensors)
    interp = _interpreter(calibrated.flatbuffer)
    details = {d["index"]: d for d in interp.get_tensor_details()}
    n = calib.x.shape[0]
    stats = {i: TensorStats(r, n * int(np.prod(details[i]["shape"])),
                            percentile if method == "percentile" else None) for i, _, r in tensors}
    inp = interp.get_input_details()[0]
    for s in range(n):
        if progress is not None:
            progress(f"{method} calibration", s, n)
        interp.reset_all_variables()
        interp.set_tensor(inp["index"], calib.x[s : s + 1].reshape(inp["shape"]).astype(inp["dtype"]))
        interp.invoke()
        for i, st in stats.items():
            st.add(interp.get_tensor(i))
    return tuple(TensorRange(i, name, r, stats[i].range(method, percentile)) for i, name, r in tensors)


def quantize(calibrated: Calibrated, ranges: Sequence[TensorRange] | None = None, *,
             inference_type: str = "int8", float_io: bool = False) -> bytes:
    """The calibrated model quantized with ``ranges`` (None: the converter's min/max): activations
    int8 or, ``inference_type="int16"``, int16 with int8 weights (TFLite's 16x8 scheme); int8/int16
    model inputs and outputs unless ``float_io``."""
    if inference_type not in ("int8", "int16"):
        raise ValueError(f"inference_type {inference_type!r}: int8 or int16")
    flatbuffer = calibrated.flatbuffer if ranges is None else with_ranges(calibrated.flatbuffer, ranges)
    t = tf()
    from tensorflow.lite.python import conversion_metadata_schema_py_generated as meta_fb
    from tensorflow.lite.python import lite

    with quiet_output():
        if inference_type == "int8":
            from tensorflow.lite.python.convert import mlir_quantize

            io = t.float32 if float_io else t.int8
            model = mlir_quantize(flatbuffer, False, input_data_type=io, output_data_type=io,
                                  enable_variable_quantization=False, disable_per_channel_for_dense_layers=False)
        else:
            from tensorflow.lite.python.optimize import calibrator

            io = t.float32 if float_io else t.int16
            wrapper = calibrator.Calibrator(flatbuffer)._calibrator
            model = wrapper.QuantizeModel(np.dtype(io.as_numpy_dtype).num, np.dtype(io.as_numpy_dtype).num, False,
                                          np.dtype(np.int16).num, np.dtype(np.int64).num, False, False)
            model = lite._modify_model_io_type(model, io, io)
        model = lite._deduplicate_readonly_buffers(bytes(model))
    metadata = copy.deepcopy(calibrated.metadata)
    modes = meta_fb.ModelOptimizationMode
    metadata.options.modelOptimizationModes = [modes.PTQ_FULL_INTEGER if inference_type == "int8" else modes.PTQ_INT16]
    from tensorflow.lite.tools import flatbuffer_utils

    obj = flatbuffer_utils.convert_bytearray_to_object(model)
    metadata.options.modelOptimizationModes.extend(lite._get_sparsity_modes(obj))
    metadata.environment.modelHash = lite._get_model_hash(obj)
    obj = lite._populate_conversion_metadata(obj, metadata)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(obj))


def with_ranges(flatbuffer: bytes, ranges: Sequence[TensorRange]) -> bytes:
    """The calibrated flatbuffer with each tensor's min/max replaced by its range's ``after``."""
    from tensorflow.lite.tools import flatbuffer_utils

    obj = _model_object(flatbuffer)
    tensors = obj.subgraphs[0].tensors
    for r in ranges:
        q = tensors[r.index].quantization
        q.min = np.array([r.after[0]], np.float32)
        q.max = np.array([r.after[1]], np.float32)
    return bytes(flatbuffer_utils.convert_object_to_bytearray(obj))


def to_calibrated_tflite(model: Any, calib: Dataset, *, method: str, percentile: float = DEFAULT_PERCENTILE,
                         float_io: bool = False, progress: Progress | None = None
                         ) -> tuple[bytes, tuple[TensorRange, ...]]:
    """The int8 ``.tflite`` of ``model`` with activation ranges by ``method``, and the ranges."""
    calibrated = calibrate(model, calib, progress=progress)
    ranges = calibrated_ranges(calibrated, calib, method, percentile, progress=progress)
    edited = None if method == "minmax" else ranges
    return quantize(calibrated, edited, float_io=float_io), ranges


@dataclass(frozen=True)
class Conversion:
    """The pipeline's int8 conversion through this route, and what it leaves for later stages."""

    tflite: bytes
    #: the calibration's summary line(s) and its report.json data (``{"calibration": ...}``)
    lines: list[str]
    report: dict[str, Any]
    #: the calibrated float model the int8 one was quantized from (None: an LSTM model's direct
    #: conversion); the per-layer comparison runs it instead of converting the model again
    calibrated: Calibrated | None
    #: the ranges written into it before quantizing (None: the converter's min-max)
    edited: tuple[TensorRange, ...] | None

    @property
    def float_flatbuffer(self) -> bytes | None:
        return self.calibrated.flatbuffer if self.calibrated is not None else None

    def sixteen_by_eight(self, float_io: bool) -> bytes | None:
        """The 16x8 twin of :attr:`tflite`: the same calibrated model with the same ranges, quantized
        with int16 activations (no second calibration); None where there is no calibrated model."""
        if self.calibrated is None:
            return None
        return quantize(self.calibrated, self.edited, inference_type="int16", float_io=float_io)


def convert(model: Any, calib: Dataset, method: str = "minmax", percentile: float | None = None, *,
            float_io: bool = False, progress: Progress | None = None) -> Conversion:
    """The pipeline's conversion through this route. The route costs what the normal conversion
    costs and, for minmax, gives its bytes (tested; also checked on the MLPerf KWS, ResNet-8, ad01
    and MobileNetV2, int8 and float I/O). A model with LSTM layers takes minmax through
    :func:`.convert.to_int8_tflite` (no calibrated model): there the route leaves other bytes in an
    orphan buffer no tensor references."""
    from .convert import to_int8_tflite
    from .lstm import has_lstm
    from .sensitivity import calibration_summary

    p = DEFAULT_PERCENTILE if percentile is None else percentile
    ranges: tuple[TensorRange, ...] = ()
    calibrated = None
    edited = None
    if method == "minmax" and has_lstm(model):
        tflite = to_int8_tflite(model, calib, float_io=float_io, progress=progress)
    else:
        calibrated = calibrate(model, calib, progress=progress)
        ranges = calibrated_ranges(calibrated, calib, method, p, progress=progress)
        edited = None if method == "minmax" else ranges
        tflite = quantize(calibrated, edited, float_io=float_io)
    lines, data = calibration_summary(method, p, ranges)
    return Conversion(tflite, lines, {"calibration": data}, calibrated, edited)
