"""The generated C (model, weights, vectors, host and firmware harnesses) compiles warning-free with
the flags firmware/ is held to (tests/support/cwarn.py), on the host and with arm-none-eabi-gcc for
every CPU a board file names: for models that together use every op template, the broadcasting
kernels, float I/O, a guard build and the Helium-only constants (built for the Cortex-M55)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema

from edgegen.boards import resolve_board
from edgegen.build import build, compile_tflite
from edgegen.resources import templates_dir

from .conftest import shared_path
from .support.cwarn import HOST, STRICT, Target, arm_targets, compile_all, failures
from .support.fuzz import TinyModel, all_ops_model, pack
from .support.opmodels import op_model
from .support.sparsity import sparsified
from .support.svdfmodels import svdf_case
from .test_ops_int16 import requantize_model
from .test_ops_resize import resize_model

BOARD = "qemu-m55"


def _broadcast_model() -> bytes:
    """ADD, SUB and MUL with broadcasting (edgegen_*_broadcast_s8 and their edgegen_broadcast constants)."""
    m = TinyModel()
    a = m.tensor((1, 3, 3, 2), scale=0.05, zero_point=2, name="a")
    b = m.tensor((1, 1, 3, 1), scale=0.03, zero_point=-1, name="b")
    add = m.tensor((1, 3, 3, 2), scale=0.07, zero_point=0)
    m.op("ADD", [a, b], [add], schema.AddOptionsT())
    sub = m.tensor((1, 3, 3, 2), scale=0.08, zero_point=-3)
    m.op("SUB", [b, add], [sub], schema.SubOptionsT())
    mul = m.tensor((1, 3, 3, 2), scale=0.01, zero_point=5)
    m.op("MUL", [sub, b], [mul], schema.MulOptionsT())
    m.inputs, m.outputs = [a, b], [mul]
    return pack(m.model())


def _more_ops_model() -> bytes:
    """The ops of issue 15: constant operands (first and second, broadcast along rows, per channel:
    a table call) of ADD, SUB and MUL, MAXIMUM / MINIMUM (minmax calls), PRELU (alpha along rows and
    channels), HARD_SWISH and ELU (table calls)."""
    m = TinyModel()
    x = m.tensor((1, 2, 3, 4), scale=0.05, zero_point=3, name="x")
    c4 = m.tensor((4,), scale=0.02, zero_point=-5, data=np.arange(-8, 8, 4, dtype=np.int8))
    ch = m.tensor((1, 2, 1, 1), scale=0.04, zero_point=7, data=np.array([-90, 60], dtype=np.int8).reshape(1, 2, 1, 1))
    add = m.tensor((1, 2, 3, 4), scale=0.06, zero_point=1)
    m.op("ADD", [ch, x], [add], schema.AddOptionsT())
    sub = m.tensor((1, 2, 3, 4), scale=0.07, zero_point=-2)
    m.op("SUB", [add, c4], [sub], schema.SubOptionsT())
    same = m.tensor((1, 2, 3, 4), scale=0.03, zero_point=0, data=np.arange(24, dtype=np.int8).reshape(1, 2, 3, 4))
    mul = m.tensor((1, 2, 3, 4), scale=0.09, zero_point=4)
    m.op("MUL", [sub, same], [mul], schema.MulOptionsT())
    mx = m.tensor((1, 2, 3, 4), scale=0.09, zero_point=4)
    m.op("MAXIMUM", [mul, m.tensor((1, 1, 1, 4), scale=0.09, zero_point=4, data=np.arange(4, dtype=np.int8))], [mx])
    mn = m.tensor((1, 2, 3, 4), scale=0.09, zero_point=4)
    m.op("MINIMUM", [mx, mul], [mn])
    alpha = m.tensor((2, 1, 4), scale=0.01, zero_point=0,
                     data=np.array([10, 20, -30, 40, 90, -5, 0, 127], dtype=np.int8).reshape(2, 1, 4))
    pr = m.tensor((1, 2, 3, 4), scale=0.08, zero_point=-1)
    m.op("PRELU", [mn, alpha], [pr])
    hs = m.tensor((1, 2, 3, 4), scale=0.05, zero_point=-20)
    m.op("HARD_SWISH", [pr], [hs])
    elu = m.tensor((1, 2, 3, 4), scale=0.04, zero_point=-30)
    m.op("ELU", [hs], [elu])
    m.inputs, m.outputs = [x], [elu]
    return pack(m.model())


def _kws() -> bytes:
    return shared_path("models/mlperf_tiny/kws/kws_ref_model.tflite").read_bytes()


#: name -> (the model's bytes, a guard build?)
MODELS = {
    "all_ops": (all_ops_model, False),
    "all_ops_guard": (all_ops_model, True),
    "broadcast": (_broadcast_model, False),
    "more_ops": (_more_ops_model, False),
    # edgegen_gather4d_s8 (SLICE, STRIDED_SLICE, TRANSPOSE, SPLIT): negative and non-unit steps
    "strided_slice": (lambda: op_model("strided_slice", 0).tflite, False),
    # edgegen_resize_nearest_s8 and edgegen_resize_bilinear8_s8 (Helium, and its portable loop on the host)
    "resize": (resize_model, False),
    # edgegen_resize_bilinear_s8 (the portable kernel, on the Cortex-M4)
    "resize_m4": (resize_model, False),
    # TRANSPOSE_CONV: both arm_transpose_conv_s8 (and its scratch check) and edgegen_transpose_conv_s8
    "transpose_conv": (lambda: op_model("transpose_conv", 0).tflite, False),
    # SVDF, int8 then int16 state (arm_svdf_s8, arm_svdf_state_s16_s8): a hand-built stateful model
    "svdf": (lambda: svdf_case(3, chain=True).tflite, False),
    # arm_lstm_unidirectional_s8 (stacked, time-major, odd sizes)
    "lstm": (lambda: op_model("lstm", 0).tflite, False),
    "kws": (_kws, False),
    "resnet8": (lambda: shared_path("models/mlperf_tiny/ic/resnet8_int8.tflite").read_bytes(), False),
    # edgegen's own kernels: auto for a DSP CPU (the DSP path), portable (the C path on every CPU)
    "kws_auto_m4": (_kws, False),
    # auto on the Cortex-M55 (BOARD): the Helium depthwise kernel (edgegen_dw8.h)
    "kws_auto_m55": (_kws, False),
    "all_ops_portable": (all_ops_model, False),
    # the CMSIS-NN calls (and edgegen's generic MEAN) where edgegen's kernels take ADD, pooling, MEAN
    "all_ops_cmsis": (all_ops_model, False),
    # compressed weights (edgegen_sp.h): every format (the cycle hook) on the DSP path of qemu-m4
    "sparse_m4": (lambda: sparsified(op_model("conv_2d_general", 0).tflite, "blocks_shared", 1), False),
    # int16 activations (16x8): arm_fully_connected_s16 and edgegen_fully_connected_s16, int16 I/O
    "fc16": (lambda: op_model("fully_connected_16x8", 20).tflite, False),
    # QUANTIZE int8 <-> int16 and int16 -> int16 (edgegen_requantize_*), hand-built
    "requantize16": (lambda: requantize_model(0)[0], False),
    # float32 I/O of a 16x8 model: edgegen_quantize_f32_s16 and edgegen_dequantize_s16_f32
    "fc16_float_io": (lambda: op_model("quantize_dequantize_16x8", 32).tflite, False),
}
#: --kernels and board of the models that are not built for BOARD with auto (kws with the CMSIS-NN
#: calls everywhere, so that the fully-connected and 1x1 call templates are compiled too)
KERNELS = {"kws": ("cmsis-nn", BOARD), "kws_auto_m4": ("auto", "qemu-m4"), "all_ops_portable": ("portable", BOARD),
           "all_ops_cmsis": ("cmsis-nn", "qemu-m4"), "resize_m4": ("auto", "qemu-m4"),
           "sparse_m4": ("auto", "qemu-m4")}
#: --compress of the models that do not use the default
COMPRESS = {"sparse_m4": "cycle"}


def _commands(out: Path, p: str, target: Target) -> Iterator[list[str]]:
    """The Makefile's compile of each generated file for the host (-O2, and -O1 as host-asan) or
    for the firmware (-O2), as objects only."""
    inc = ["-Imodel", "-Icmsis_nn/Include", "-Iedgegen"]
    model = [f"model/{p}_model.c", f"model/{p}_weights.c"]
    if not target.arm:
        for opt in ("-O2", "-O1"):
            for src in (*model, "host/main.c"):
                yield [target.cc, *STRICT, opt, *inc, "-DEDGEGEN_TRACE", "-c", src, "-o", "/dev/null"]
        return
    machine = [f"-Iboard/qemu/{target.machine}"] if target.machine else []
    for src in (*model, f"model/{p}_vectors.c", "harness/main.c"):
        yield [target.cc, *STRICT, "-O2", "-ffunction-sections", "-fdata-sections", "-DEDGEGEN_PROFILE",
               *target.cflags, *machine, *inc, "-Iharness", "-Iboard/qemu", "-c", src, "-o", "/dev/null"]


@pytest.mark.parametrize("name", sorted(MODELS))
def test_generated_c_warning_free(name: str, tmp_path: Path) -> None:
    make, guard = MODELS[name]
    out = tmp_path / name
    kernels, board = KERNELS.get(name, ("auto", BOARD))
    result = build(make(), out, source=f"{name}.tflite", name=name, board=board, vectors=1, check_fit=False,
                   guard=guard, kernels=kernels, compress=COMPRESS.get(name, "auto"))
    p = result.program.name
    commands = [c for t in (HOST, *arm_targets()) for c in _commands(out, p, t)]
    outcomes = compile_all(commands, cwd=out)
    assert not failures(outcomes), failures(outcomes)


def test_the_models_use_every_call_template() -> None:
    """So the check above covers every templates/calls/<kind>.c.j2 (a new kind needs a model here)."""
    kinds = set()
    for name, (make, guard) in MODELS.items():
        kernels, board = KERNELS.get(name, ("auto", BOARD))
        _graph, program = compile_tflite(make(), name=name, source=name, guard=guard, kernels=kernels,
                                         board=resolve_board(board).board, compress=COMPRESS.get(name, "auto"))
        kinds |= {call.KIND for call in program.calls}
    templates = {p.name.removesuffix(".c.j2") for p in (templates_dir() / "calls").glob("*.c.j2")}
    assert templates == kinds, sorted(templates ^ kinds)
