"""`edgegen inspect`: what a model holds and what edgegen can do with it, before any build.

Reads the operator list straight from the flatbuffer (so an unsupported op is listed with the
others instead of stopping the listing), then tries the full compile and, when it succeeds,
shows the kernel each op becomes with shapes, quantization, MACs and the arena it needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import EdgegenError, ModelFormatError
from .tflite_reader import SUPPORTED_OPS

if TYPE_CHECKING:
    from .report import LayerRow


@dataclass(frozen=True)
class RawOp:
    index: int
    name: str
    supported: bool
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]


@dataclass(frozen=True)
class RawTensor:
    name: str
    shape: tuple[int, ...]
    dtype: str
    quant: str


@dataclass(frozen=True)
class Inspection:
    ops: tuple[RawOp, ...]
    inputs: tuple[RawTensor, ...]
    outputs: tuple[RawTensor, ...]
    #: None when the model compiles; otherwise edgegen's error message
    problem: str | None


def _dtype_names() -> dict[int, str]:
    from ai_edge_litert import schema_py_generated as fb

    return {v: k for k, v in vars(fb.TensorType).items() if not k.startswith("_")}


def _op_names() -> dict[int, str]:
    from ai_edge_litert import schema_py_generated as fb

    return {v: k for k, v in vars(fb.BuiltinOperator).items() if not k.startswith("_")}


def raw_inspect(data: bytes, source: str) -> Inspection:
    """The op list and I/O of a .tflite, without edgegen's checks (only enough to list them)."""
    from ai_edge_litert import schema_py_generated as fb

    from .tflite_checks import check_header

    try:
        check_header(data)  # the same first checks, and messages, as `edgegen build`
    except EdgegenError as e:
        raise type(e)(f"{source}: {e}") from None
    try:
        model = fb.Model.GetRootAs(data, 0)
        if model.SubgraphsLength() < 1:
            raise ValueError("no subgraph")
        sg = model.Subgraphs(0)
        op_names, dtypes = _op_names(), _dtype_names()

        def tensor(i: int) -> RawTensor:
            t = sg.Tensors(i)
            q = t.Quantization()
            quant = "-"
            if q is not None and q.ScaleLength() > 0:
                quant = (f"scale {q.Scale(0):.6g}, zero point {q.ZeroPoint(0)}" if q.ScaleLength() == 1
                         else f"per-axis ({q.ScaleLength()} scales, axis {q.QuantizedDimension()})")
            name = (t.Name() or b"").decode("utf-8", "replace")
            return RawTensor(name, tuple(int(d) for d in t.ShapeAsNumpy()) if t.ShapeLength() else (),
                             dtypes.get(t.Type(), str(t.Type())), quant)

        ops = []
        for k in range(sg.OperatorsLength()):
            op = sg.Operators(k)
            code = model.OperatorCodes(op.OpcodeIndex())
            builtin = max(int(code.BuiltinCode()), int(code.DeprecatedBuiltinCode()))
            name = op_names.get(builtin, f"builtin {builtin}")
            if name == "CUSTOM":
                name = f"CUSTOM {(code.CustomCode() or b'').decode('utf-8', 'replace')}"
            ins = tuple(tensor(int(i)).name for i in op.InputsAsNumpy() if i >= 0) if op.InputsLength() else ()
            outs = tuple(tensor(int(i)).name for i in op.OutputsAsNumpy()) if op.OutputsLength() else ()
            ops.append(RawOp(k, name, name in SUPPORTED_OPS, ins, outs))
        inputs = tuple(tensor(int(i)) for i in sg.InputsAsNumpy()) if sg.InputsLength() else ()
        outputs = tuple(tensor(int(i)) for i in sg.OutputsAsNumpy()) if sg.OutputsLength() else ()
    except Exception as e:  # a damaged file: the full reader below gives the precise message
        raise ModelFormatError(f"{source}: not a readable TFLite model ({type(e).__name__}: {e})") from None
    return Inspection(tuple(ops), inputs, outputs, None)


def print_inspection(data: bytes, source: str, name: str, board: str = "") -> int:
    """Print the inspection for ``board`` (default: edgegen's default board), whose CPU decides the
    kernels and their scratch sizes; returns 0 when edgegen can compile the model, 1 when it cannot."""
    from .boards import DEFAULT_BOARD, resolve_board
    from .build import compile_tflite
    from .report import _console, layer_rows, table

    target = resolve_board(board or DEFAULT_BOARD).board
    console = _console()
    info = raw_inspect(data, source)
    console.print(f"{source}: {len(info.ops)} ops")
    for label, tensors in (("input", info.inputs), ("output", info.outputs)):
        for t in tensors:
            console.print(f"  {label} {t.name!r}: {list(t.shape)} {t.dtype}, {t.quant}")
    unsupported = sorted({op.name for op in info.ops if not op.supported})
    try:
        _graph, program = compile_tflite(data, name=name, source=source, scratch_target=target.scratch_target,
                                         board=target)
    except EdgegenError as e:
        ops = table("operators", (("#", "right"), ("op", "left"), ("supported", "left"), ("outputs", "left")))
        for op in info.ops:
            ops.add_row(str(op.index), op.name, "yes" if op.supported else "[bold red]no[/]", ", ".join(op.outputs))
        console.print(ops)
        if unsupported:
            console.print(f"not supported: {', '.join(unsupported)}; edgegen supports {', '.join(SUPPORTED_OPS)}")
        console.print(f"cannot build: {e}", markup=False)
        return 1
    calls = table("kernel calls", (("call", "right"), ("op", "left"), ("kernel", "left"), ("output", "left"),
                                   ("MACs", "right"), ("weights B", "right"), ("scratch B", "right")))
    for r in layer_rows(program):
        calls.add_row(str(r.call), r.op, r.function, "x".join(map(str, r.output_shape)), f"{r.macs:,}",
                      f"{r.weight_bytes:,}", f"{r.scratch_bytes:,}")
    console.print(calls)
    console.print(f"kernels and scratch sizes for {target.name} ({target.cpu}, {target.scratch_target} kernels), as "
                  f"`edgegen build --board {target.name}` chooses them; other boards: --board")
    state = f" (state {program.plan.state_bytes:,} B, kept across invokes)" if program.plan.state_bytes else ""
    console.print(f"supported: every op; constants {program.weight_bytes:,} B, arena {program.plan.arena_bytes:,} B"
                  f"{state}, {sum(c.macs for c in program.calls):,} MACs per inference")
    return 0


@dataclass(frozen=True)
class ModelInspection:
    """``edgegen inspect`` as data (:func:`edgegen.api.inspect`): the ops and I/O as the file holds
    them, and when edgegen can compile the model the kernel call per layer for ``board``."""

    source: str
    board: str
    cpu: str
    ops: tuple[RawOp, ...]
    inputs: tuple[RawTensor, ...]
    outputs: tuple[RawTensor, ...]
    #: None when the model compiles; otherwise edgegen's error message (``rows`` is then empty)
    problem: str | None
    #: op names edgegen does not support
    unsupported: tuple[str, ...]
    #: one row per kernel call (edgegen.report.LayerRow: op, kernel function, shape, MACs, bytes)
    rows: tuple[LayerRow, ...]
    weight_bytes: int
    arena_bytes: int
    macs: int

    @property
    def ok(self) -> bool:
        return self.problem is None


def inspect_tflite(data: bytes, source: str, name: str, board: str = "") -> ModelInspection:
    """What :func:`print_inspection` prints, returned instead (raises only for an unreadable file)."""
    from .boards import DEFAULT_BOARD, resolve_board
    from .build import compile_tflite
    from .report import layer_rows

    target = resolve_board(board or DEFAULT_BOARD).board
    info = raw_inspect(data, source)
    unsupported = tuple(sorted({op.name for op in info.ops if not op.supported}))
    try:
        _graph, program = compile_tflite(data, name=name, source=source, scratch_target=target.scratch_target,
                                         board=target)
    except EdgegenError as e:
        return ModelInspection(source, target.name, target.cpu, info.ops, info.inputs, info.outputs, str(e),
                               unsupported, (), 0, 0, 0)
    return ModelInspection(source, target.name, target.cpu, info.ops, info.inputs, info.outputs, None, unsupported,
                           tuple(layer_rows(program)), program.weight_bytes, program.plan.arena_bytes,
                           sum(c.macs for c in program.calls))
