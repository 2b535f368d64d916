"""SVDF (int8, int16 or int8 state) and state in general: simulator == TFLM on every tensor and on
the state after every invoke, with TFLM reset between samples and without reset over a stream;
host C == simulator (per sample, and over a stream in a C program of the user's kind:
``<p>_init``, ``<p>_invoke`` repeatedly, ``<p>_reset``); the refusals.

TensorFlow's converter makes no SVDF from Keras, so the cases are flatbuffers built by hand
(tests/support/svdfmodels.py); TFLM loading and running each one is the check that it is a valid
model. qemu-m4/m55: tests/test_ops_emulator.py."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from edgegen.build import build
from edgegen.errors import EdgegenError, ModelFormatError, UnsupportedError
from edgegen.lower import lower
from edgegen.machine import Machine
from edgegen.oracle import TflmRunner
from edgegen.program import Program
from edgegen.sim import simulate, simulate_sequence
from edgegen.tflite_reader import parse_tflite
from edgegen.verify import ParityReport, compare_sim_tflm, random_inputs, verify_directory

from .support.fuzz import pack, unpack
from .support.svdfmodels import svdf_case

#: random cases: every fourth a chain of two SVDFs (one int16, one int8 state)
SEEDS = range(56)
STREAM = 8


def _state_refs(program: Program) -> list[Any]:
    return [call.inputs[1] for call in program.calls if call.KIND == "svdf"]


def test_random_cases_match_tflm_per_sample_and_over_a_stream() -> None:
    kinds: set[tuple[str, int, int, str]] = set()
    cases = 0
    for seed in SEEDS:
        case = svdf_case(seed, chain=seed % 4 == 3)
        program = lower(parse_tflite(case.tflite, name="s"), name="s")
        samples = random_inputs(program, STREAM, seed=seed)
        # per sample (TFLM reset between samples): every call's output
        report = ParityReport(samples=len(samples))
        compare_sim_tflm(program, case.tflite, samples, report)
        assert report.ok and report.tensors_compared == len(samples) * len(program.calls), (case.describe(), report)
        # a stream: TFLM without reset, the simulator carrying its state; the state after every invoke too
        tflm = TflmRunner(case.tflite).run_many(samples, carry_state=True)
        m = Machine(program)
        outputs = []
        for sample, ref in zip(samples, tflm, strict=True):
            got = simulate(program, sample, machine=m)
            outputs.append(got.outputs[0])
            assert np.array_equal(got.outputs[0], ref.outputs[0]), case.describe()
            for state in _state_refs(program):
                assert np.array_equal(m.read(state), ref.tensors[state.tensor]), case.describe()
        assert all(np.array_equal(a, b.outputs[0]) for a, b in zip(outputs, simulate_sequence(program, samples),
                                                                     strict=True))
        cases += 1
        kinds |= {(case.state, case.batch, case.rank, case.activation)}
    assert cases >= 50
    # the parameters the cases must cover
    assert {k[0] for k in kinds} == {"int16", "int8"} and {k[1] for k in kinds} == {1, 2}
    assert {k[2] for k in kinds} == {1, 2, 3} and {k[3] for k in kinds} == {"NONE", "RELU"}


def test_a_larger_layer_matches_tflm_on_many_samples() -> None:
    """A keyword-spotting sized pair (40 inputs, 64 units, memory 8): where a float32-computed
    effective scale (an older TFLM's) once gave results one off near a rounding tie."""
    case = svdf_case(3, chain=True, sizes=(1, 40, 64, 1, 8))
    program = lower(parse_tflite(case.tflite, name="s"), name="s")
    samples = random_inputs(program, 50, seed=0)
    report = ParityReport(samples=len(samples))
    compare_sim_tflm(program, case.tflite, samples, report)
    assert report.ok and report.tensors_compared == len(samples) * len(program.calls), report
    tflm = TflmRunner(case.tflite).run_many(samples, carry_state=True)
    assert all(np.array_equal(a.outputs[0], b.outputs[0])
               for a, b in zip(simulate_sequence(program, samples), tflm, strict=True))


def test_a_state_buffer_in_the_file_is_ignored_as_tflm_ignores_it() -> None:
    """TFLM allocates a variable tensor in the arena and resets it (MicroInterpreterGraph::
    ResetTensorData), whatever its buffer holds; edgegen reads it as no constant at all."""
    m = unpack(svdf_case(4).tflite)
    state = _tensor(m, "state")
    n = int(np.prod(state.shape))
    buf = fb_buffer(np.full(n, 1234, np.int16))
    m.buffers.append(buf)
    state.buffer = len(m.buffers) - 1
    data = pack(m)
    graph = parse_tflite(data, name="s")
    assert not graph.tensor(_index(m, "state")).is_const
    program = lower(graph, name="s")
    samples = random_inputs(program, 4, seed=2)
    tflm = TflmRunner(data).run_many(samples, carry_state=True)
    plain = svdf_case(4).tflite
    assert all(np.array_equal(a.outputs[0], b.outputs[0]) for a, b in
               zip(tflm, TflmRunner(plain).run_many(samples, carry_state=True), strict=True))
    assert all(np.array_equal(a.outputs[0], b.outputs[0])
               for a, b in zip(simulate_sequence(program, samples), tflm, strict=True))


def fb_buffer(values: np.ndarray) -> Any:
    from ai_edge_litert import schema_py_generated as fb

    b = fb.BufferT()
    b.data = np.frombuffer(values.astype(values.dtype.newbyteorder("<")).tobytes(), np.uint8)
    return b


def test_the_state_carries_over_and_reset_restores_it() -> None:
    """Not a vacuous stream: the outputs of a stream differ from the same inputs run independently."""
    case = svdf_case(4)
    program = lower(parse_tflite(case.tflite, name="s"), name="s")
    samples = random_inputs(program, 4, seed=1)
    stream = simulate_sequence(program, samples)
    alone = [simulate(program, s) for s in samples]
    assert np.array_equal(stream[0].outputs[0], alone[0].outputs[0])
    assert any(not np.array_equal(a.outputs[0], b.outputs[0]) for a, b in zip(stream[1:], alone[1:], strict=True))
    assert program.plan.state_bytes == 2 * case.batch * case.units * case.rank * case.memory
    assert program.plan.offsets[_state_refs(program)[0].buffer] == 0


_STREAM_MAIN = r"""
#include <stdio.h>
#include <string.h>
#include "s_model.h"
int main(int argc, char **argv)
{
    if (argc != 3) return 1;
    FILE *in = fopen(argv[1], "rb");
    FILE *out = fopen(argv[2], "wb");
    if (in == NULL || out == NULL || s_init() != S_OK) return 2;
    for (int k = 0; k < 2 * STREAM; k++)
    {
        if (k == STREAM) { s_reset(); rewind(in); }   /* a new stream: the same outputs again */
        if (fread(s_input(0), 1, (size_t)s_input_bytes[0], in) != (size_t)s_input_bytes[0]) return 3;
        if (s_invoke() != S_OK) return 4;
        fwrite(s_output(0), 1, (size_t)s_output_bytes[0], out);
    }
    fclose(out);
    return 0;
}
"""


@pytest.mark.parametrize("seed", [3, 8])
def test_host_c_matches_the_simulator(seed: int, tmp_path: Path) -> None:
    """Per sample (the host harness resets before each, under ASan/UBSan), and over a stream in a
    program that calls init once, invoke repeatedly and reset between two streams."""
    case = svdf_case(seed, chain=seed % 4 == 3)
    result = build(case.tflite, tmp_path / "s", source="s.tflite", name="s", force=True)
    report, program = verify_directory(result.out, count=6, seed=seed, asan=True)
    assert report.ok and report.c_vs_sim is True and report.sim_vs_tflm is True, report
    samples = random_inputs(program, STREAM, seed=seed + 100)
    (tmp_path / "in.bin").write_bytes(b"".join(np.asarray(s[0], np.int8).tobytes() for s in samples))
    (tmp_path / "main.c").write_text(_STREAM_MAIN.replace("STREAM", str(STREAM)), encoding="utf-8")
    out = result.out
    srcs = [*(out / "model").glob("s_model.c"), out / "model" / "s_weights.c", out / "edgegen" / "edgegen_kernels.c",
            *(out / "cmsis_nn" / "Source").glob("*.c"), tmp_path / "main.c"]
    exe = tmp_path / "stream"
    subprocess.run(["cc", "-std=c99", "-Wall", "-Wextra", "-Werror", "-O1", "-fsanitize=address,undefined",
                    "-fno-sanitize-recover=all", f"-I{out / 'model'}", f"-I{out / 'cmsis_nn' / 'Include'}",
                    f"-I{out / 'edgegen'}", *map(str, srcs), "-o", str(exe), "-lm"], check=True)
    subprocess.run([str(exe), str(tmp_path / "in.bin"), str(tmp_path / "out.bin")], check=True)
    got = np.frombuffer((tmp_path / "out.bin").read_bytes(), np.int8).reshape(2, STREAM, -1)
    want = np.stack([r.outputs[0].reshape(-1) for r in simulate_sequence(program, samples)])
    assert np.array_equal(got[0], want) and np.array_equal(got[1], want)
    header = (out / "model" / "s_model.h").read_text(encoding="utf-8")
    assert f"#define S_STATE_BYTES {program.plan.state_bytes}" in header and "void s_reset(void);" in header
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert report["state_bytes"] == program.plan.state_bytes > 0
    assert sum(b["nbytes"] for b in report["buffers"] if b["kind"] == "state") == program.plan.state_bytes


def _edited(edit: Callable[[Any], None], seed: int = 2) -> EdgegenError:
    m = unpack(svdf_case(seed).tflite)
    edit(m)
    with pytest.raises(EdgegenError) as e:
        parse_tflite(pack(m), name="s")
    return e.value


def _tensor(m: Any, name: str) -> Any:
    return next(t for t in m.subgraphs[0].tensors if t.name.decode().endswith(name))


def _index(m: Any, name: str) -> int:
    return next(i for i, t in enumerate(m.subgraphs[0].tensors) if t.name.decode().endswith(name))


def _no_bias(m: Any) -> None:
    op = m.subgraphs[0].operators[0]
    op.inputs = np.array([*op.inputs[:3], -1, op.inputs[4]], np.int32)


def _zero_point(m: Any) -> None:
    _tensor(m, "state").quantization.zeroPoint = np.array([3], np.int64)


def _not_variable(m: Any) -> None:
    _tensor(m, "state").isVariable = False


def _rank(m: Any) -> None:
    m.subgraphs[0].operators[0].builtinOptions.rank = 0


def _state_as_output(m: Any) -> None:
    m.subgraphs[0].outputs = np.array([_index(m, "state")], np.int32)


def _variable_weights(m: Any) -> None:
    _tensor(m, "weights_feature").isVariable = True


@pytest.mark.parametrize(("edit", "cls", "pattern"), [
    (_no_bias, UnsupportedError, r"op 0 \(SVDF\): has no bias; TFLM's int8 SVDF reads the bias's scale"),
    (_zero_point, UnsupportedError, r"activation state .* has zero point 3; CMSIS-NN's SVDF kernels assume 0"),
    (_not_variable, ModelFormatError, r"op 0 \(SVDF\): input 4 must be a variable \(state\) tensor"),
    (_rank, UnsupportedError, r"rank 0 must be positive and divide"),
    (_state_as_output, UnsupportedError, r"model output tensor .* is a variable \(state\) tensor"),
    (_variable_weights, UnsupportedError, r"reads the variable \(stateful\) tensor .* as input 1, where it keeps no"),
], ids=["no bias", "state zero point", "state not variable", "rank 0", "state as output", "variable weights"])
def test_refusals(edit: Callable[[Any], None], cls: type[EdgegenError], pattern: str) -> None:
    import re

    err = _edited(edit)
    assert type(err) is cls and re.search(pattern, str(err)), f"{type(err).__name__}: {err}"


def test_an_int8_state_resets_to_its_zero_point(tmp_path: Path) -> None:
    """The reset value in general (SVDF itself takes zero point 0 only): TFLM's ResetTensorData
    memsets an int8 variable tensor with its zero point, so init/reset and the simulator do too."""
    import dataclasses

    from edgegen.ir import QuantParams

    graph = parse_tflite(svdf_case(0).tflite, name="s")  # int8 state
    index = next(t.index for t in graph.tensors if t.variable)
    tensors = list(graph.tensors)
    tensors[index] = dataclasses.replace(tensors[index], quant=QuantParams((0.5,), (-5,)))
    program = lower(dataclasses.replace(graph, tensors=tuple(tensors)), name="s")
    (state,) = program.state_buffers
    assert state.reset_byte == 0xFB
    m = Machine(program)
    assert (m.read(_state_refs(program)[0]) == -5).all()
    from edgegen.codegen import Provenance, RenderOptions, make_vectors, render

    render(program, tmp_path, Provenance("s.tflite", "host", "portable"),
           RenderOptions(vectors=make_vectors(program, [], "none"), qemu_boards=()))
    code = (tmp_path / "model" / "s_model.c").read_text(encoding="utf-8")
    assert f"memset(&s_arena[0], 251, {state.nbytes});" in code
