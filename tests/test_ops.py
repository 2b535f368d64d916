"""Per-op randomized parity: tiny models made by TensorFlow's converter, one random instance of
the op per branch (see tests/support/opmodels.py), checked for

* simulator == TFLM on every intermediate tensor, exactly, for every model of every op, and
* generated host C, built with ASan/UBSan, == simulator (and simulator == TFLM again) for one
  model of every op.

A failure names the family and seed, the first divergent op, and the branch parameters that
produced it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from edgegen.build import build, compile_tflite
from edgegen.errors import UnsupportedError
from edgegen.ir import Graph
from edgegen.lower import lower
from edgegen.tflite_reader import parse_tflite
from edgegen.verify import ParityReport, compare_sim_tflm, random_inputs, verify_directory

from .support import opmodels
from .support.opmodels import FAMILIES, MIN_CASES_PER_OP, OpModel

#: random inputs per model for the simulator-vs-TFLM check (plus the edge-value ones)
SIM_SAMPLES = 4
#: random inputs per model for the host C check (plus the edge-value ones)
C_SAMPLES = 3

#: the ops the issue lists, each of which some family must cover
REQUIRED_BUILTINS = frozenset({
    "CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "AVERAGE_POOL_2D", "MAX_POOL_2D", "MEAN", "ADD",
    "MUL", "SOFTMAX", "RESHAPE", "SQUEEZE", "PAD", "CONCATENATION", "LOGISTIC", "TANH", "RELU", "RELU6",
    "LEAKY_RELU", "QUANTIZE", "DEQUANTIZE",
})

SIM_CASES = [(name, seed) for name, fam in FAMILIES.items() for seed in fam.seeds]
# one model (25 cases) per op for the C check: building and running the sanitized host build is
# the slow part (~4 s a model), and this keeps the whole module near a minute and a half on two
# cores; the simulator it is compared with is itself checked against TFLM on every model above
C_CASES = [(name, fam.seeds[0]) for name, fam in FAMILIES.items()]


def _case_id(case: tuple[str, int]) -> str:
    return f"{case[0]}-s{case[1]}"


def _explain(model: OpModel, graph: Graph, report: ParityReport) -> str:
    lines = []
    for m in report.mismatches:
        branch = opmodels.branch_of_op(graph, m.op_index)
        where = model.branches[branch].desc if branch is not None else "branch unknown"
        lines.append(f"{model.name}: {m.message()}\n    branch {branch}: {where}")
    return "\n".join(lines)


def _check_op_present(model: OpModel) -> None:
    """The converter kept the op under test in every branch (so no case silently tests nothing)."""
    fam = FAMILIES[model.family]
    counts = opmodels.builtin_counts(model.tflite)
    for group in (fam.builtins, *fam.also):
        found = sum(counts[b] for b in group)
        assert found >= len(model.branches), (
            f"{model.name}: {found} {'/'.join(group)} ops for {len(model.branches)} branches; "
            f"the converter folded some away (ops: {dict(counts)})"
        )
    for builtin in fam.each:
        assert counts[builtin] > 0, f"{model.name}: no {builtin} op (ops: {dict(counts)})"


@pytest.mark.parametrize("case", SIM_CASES, ids=_case_id)
def test_sim_matches_tflm(case: tuple[str, int]) -> None:
    model = opmodels.op_model(*case)
    _check_op_present(model)
    graph = parse_tflite(model.tflite, name=model.name)
    program = lower(graph, name=model.name)
    samples = opmodels.edge_inputs(program) + random_inputs(program, SIM_SAMPLES, seed=case[1])
    report = ParityReport(samples=len(samples))
    compare_sim_tflm(program, model.tflite, samples, report)
    assert report.ok, _explain(model, graph, report)
    # every kernel call's output was compared with a TFLM tensor, on every sample
    assert report.tensors_compared == len(samples) * len(program.calls)


@pytest.mark.parametrize("case", C_CASES, ids=_case_id)
def test_host_c_matches_sim(case: tuple[str, int], tmp_path: Path) -> None:
    model = opmodels.op_model(*case)
    result = build(model.tflite, tmp_path / model.name, source=f"{model.name}.tflite", name=model.name, force=True)
    # under ASan/UBSan: odd shapes (windows wider than the input, unit dims) are where kernels
    # read out of bounds, and a stray read can still happen to give the right number
    edges = opmodels.edge_inputs(result.program)
    report, program = verify_directory(result.out, edges, count=len(edges) + C_SAMPLES, seed=case[1], asan=True)
    graph = parse_tflite(model.tflite, name=model.name)
    assert report.ok, _explain(model, graph, report)
    assert report.sim_vs_tflm is True and report.c_vs_sim is True
    assert report.tensors_compared == report.samples * len(program.calls)
    assert report.samples == len(edges) + C_SAMPLES


def test_cases_per_op() -> None:
    """At least MIN_CASES_PER_OP random cases per op, and every op the issue lists is covered."""
    for fam in FAMILIES.values():
        assert fam.cases >= MIN_CASES_PER_OP, f"{fam.name}: only {fam.cases} cases"
    covered = {b for fam in FAMILIES.values() for group in (fam.builtins, *fam.also) for b in group
               if len(group) == 1 or b in fam.each}
    assert covered >= REQUIRED_BUILTINS, f"no family for {sorted(REQUIRED_BUILTINS - covered)}"


def test_degenerate_softmax_scale_is_refused_with_a_message() -> None:
    # TFLM aborts the process on this model, so refusing it is right; the error type is the bug
    data = opmodels.degenerate_softmax_model()
    with pytest.raises(UnsupportedError, match="SOFTMAX"):
        compile_tflite(data, name="degenerate_softmax", source="degenerate_softmax.tflite")
