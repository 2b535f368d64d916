"""Decode the fields edgegen uses from a .tflite flatbuffer into plain records
(:mod:`edgegen.tflite_checks`), with every vector length checked against the file and a decode
budget proportional to its size. Any failure of the generated accessors is a
:class:`ModelFormatError`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
from ai_edge_litert import schema_py_generated as fb

from . import ops
from . import tflite_checks as checks
from . import tflite_records as records
from .errors import EdgegenError, ModelFormatError


@contextmanager
def _decoding(what: str) -> Iterator[None]:
    """The generated accessors trust the file: on a corrupt one they raise struct.error,
    IndexError, TypeError ("bad number"), ValueError (numpy views past the end) and so on.
    All of them mean the same thing to the user."""
    try:
        yield
    except EdgegenError:
        raise
    except Exception as e:
        raise ModelFormatError(
            f"{checks.FLATBUFFER}: {what} cannot be decoded, the file is truncated or corrupt "
            f"({type(e).__name__}: {e})"
        ) from None


def _numpy(value: Any) -> np.ndarray:
    # the generated *AsNumpy accessors return the int 0 for an absent vector
    return value if isinstance(value, np.ndarray) else np.zeros(0, dtype=np.int32)


class Decoder:
    """Reads the fields edgegen uses, and only those, from the flatbuffer into plain records.

    The generated object API (ModelT) would unpack every table, including ones edgegen never
    looks at, and a hostile file can make it unpack one shared table many times over; here
    every vector length is checked against the file size before it is iterated, and the total
    decoded is bounded by a budget proportional to the file size.
    """

    #: what decoding one table costs against the budget; a table takes at least 4 bytes
    TABLE = 4

    def __init__(self, data: bytes) -> None:
        self.data = data
        # a file whose tables are not shared decodes to at most its own size; allow sharing
        # up to twice that, which no converter comes near
        self.budget = 2 * len(data) + 4096

    def charge(self, what: str, nbytes: int) -> None:
        self.budget -= nbytes
        if self.budget < 0:
            raise ModelFormatError(
                f"{checks.FLATBUFFER}: {what} makes the file decode to more than twice its size "
                "(its tables refer to the same data over and over)"
            )

    def length(self, what: str, n: int, element_bytes: int) -> int:
        checks.check_vector_length(what, n, element_bytes, len(self.data))
        self.charge(what, n * element_bytes)
        return n

    def ints(self, what: str, is_none: bool, arr: Any) -> tuple[int, ...] | None:
        if is_none:
            return None
        a = _numpy(arr)
        self.charge(what, a.nbytes)
        return tuple(a.tolist())

    def name(self, what: str, raw: bytes | None, fallback: str) -> str:
        if raw is None:
            return fallback
        self.charge(what, len(raw))
        return raw.decode("utf-8", "replace")

    def model(self) -> records.FlatModel:
        checks.check_header(self.data)
        m = fb.Model.GetRootAs(self.data, 0)
        with _decoding("the model table"):
            version = int(m.Version())
            n_sub = self.length("the subgraph list", m.SubgraphsLength(), 4)
            n_codes = self.length("the operator code list", m.OperatorCodesLength(), 4)
            n_buffers = self.length("the buffer list", m.BuffersLength(), 4)
        checks.check_version(version)
        checks.check_subgraph_count(n_sub)
        with _decoding("subgraph 0"):
            sg = m.Subgraphs(0)
            n_tensors = self.length("the tensor list", sg.TensorsLength(), 4)
            n_ops = self.length("the operator list", sg.OperatorsLength(), 4)
        # the counts are checked before anything is decoded per tensor or per op
        checks.check_counts(n_tensors, n_ops)
        with _decoding("subgraph 0"):
            inputs = self.ints("the model inputs", sg.InputsIsNone(), sg.InputsAsNumpy()) or ()
            outputs = self.ints("the model outputs", sg.OutputsIsNone(), sg.OutputsAsNumpy()) or ()
        metadata = self.metadata(m)
        tensors = tuple(self.tensor(sg, i) for i in range(n_tensors))
        ops = tuple(self.op(sg, i) for i in range(n_ops))
        # only the operator codes the ops name (an unused list can be long)
        opcodes = {i: self.opcode(m, i) for i in sorted({op.opcode_index for op in ops}) if 0 <= i < n_codes}
        used = sorted({t.buffer for t in tensors if 0 <= t.buffer < n_buffers})
        buffers = {i: self.buffer(m, i) for i in used}
        return records.FlatModel(version=version, opcodes=opcodes, n_opcodes=n_codes, tensors=tensors, ops=ops,
                                inputs=inputs, outputs=outputs, n_buffers=n_buffers, buffers=buffers,
                                metadata=metadata)

    def metadata(self, m: Any) -> tuple[str, ...]:
        """The metadata names: TFLM looks them up (and acts on two of them)."""
        with _decoding("the metadata list"):
            n = self.length("the metadata list", m.MetadataLength(), 4)
            names = []
            for i in range(n):
                what = f"metadata entry {i}"
                self.charge(what, self.TABLE)
                names.append(self.name(what, m.Metadata(i).Name(), ""))
        return tuple(names)

    def tensor(self, sg: Any, index: int) -> records.FlatTensor:
        what = f"tensor {index}"
        with _decoding(what):
            self.charge(what, self.TABLE)
            t = sg.Tensors(index)
            name = self.name(what, t.Name(), f"t{index}")
            shape = self.ints(what, t.ShapeIsNone(), t.ShapeAsNumpy()) or ()
            signature = self.ints(what, t.ShapeSignatureIsNone(), t.ShapeSignatureAsNumpy())
            q = t.Quantization()
            return records.FlatTensor(
                index=index, name=name, type=int(t.Type()), shape=shape, signature=signature,
                buffer=int(t.Buffer()), quant=None if q is None else self.quant(what, q),
                sparse=t.Sparsity() is not None, external_buffer=int(t.ExternalBuffer()),
                variable=bool(t.IsVariable()),
            )

    def quant(self, what: str, q: Any) -> records.FlatQuant:
        self.charge(what, self.TABLE)
        scales = _numpy(q.ScaleAsNumpy()) if not q.ScaleIsNone() else np.zeros(0, dtype=np.float32)
        self.charge(what, scales.nbytes)
        return records.FlatQuant(
            scales=tuple(scales.tolist()),
            zero_points=self.ints(what, q.ZeroPointIsNone(), q.ZeroPointAsNumpy()),
            axis=int(q.QuantizedDimension()),
            details_type=int(q.DetailsType()),
        )

    def op(self, sg: Any, index: int) -> records.FlatOp:
        what = f"operator {index}"
        with _decoding(what):
            self.charge(what, self.TABLE)
            op = sg.Operators(index)
            options_type = int(op.BuiltinOptionsType())
            table = op.BuiltinOptions()
            options = None
            # only the options tables of supported ops are unpacked (any other is never read)
            decoded = set(ops.options().values())
            if table is not None and options_type in decoded:
                self.charge(what, self.TABLE)
                vector = ops.option_vectors().get(options_type)
                if vector is not None:
                    cls, length = vector
                    o = cls()
                    o.Init(table.Bytes, table.Pos)
                    self.length(f"{what}'s options", getattr(o, length)(), 4)
                options = fb.BuiltinOptionsCreator(options_type, table)
            # the lengths are checked before the vectors are read
            checks.check_op_tensor_count(f"operator {index}", "input", op.InputsLength())
            checks.check_op_tensor_count(f"operator {index}", "output", op.OutputsLength())
            # TFLM reads these vectors (and refuses custom options on a builtin op): a corrupt
            # one must be refused here rather than crash TFLM later (edgegen verify)
            custom = not op.CustomOptionsIsNone()
            if custom:
                self.length(f"{what}'s custom options", op.CustomOptionsLength(), 1)
            self.length(f"{what}'s intermediates", op.IntermediatesLength(), 4)
            return records.FlatOp(
                index=index, opcode_index=int(op.OpcodeIndex()),
                inputs=self.ints(what, op.InputsIsNone(), op.InputsAsNumpy()) or (),
                outputs=self.ints(what, op.OutputsIsNone(), op.OutputsAsNumpy()) or (),
                options_type=options_type, options=options, custom_options=custom,
                intermediates=self.ints(what, op.IntermediatesIsNone(), op.IntermediatesAsNumpy()) or (),
            )

    def opcode(self, m: Any, index: int) -> records.FlatOpCode:
        what = f"operator code {index}"
        with _decoding(what):
            self.charge(what, self.TABLE)
            oc = m.OperatorCodes(index)
            custom = oc.CustomCode()
            return records.FlatOpCode(
                builtin=int(oc.BuiltinCode()), deprecated_builtin=int(oc.DeprecatedBuiltinCode()),
                custom=None if custom is None else self.name(what, custom, "?"),
            )

    def buffer(self, m: Any, index: int) -> records.FlatBuffer:
        what = f"buffer {index}"
        with _decoding(what):
            self.charge(what, self.TABLE)
            b = m.Buffers(index)
            # a view into the file, not a copy: the size is checked against the tensor first
            data = None if b.DataIsNone() else _numpy(b.DataAsNumpy())
            return records.FlatBuffer(data=data, offset=int(b.Offset()), size=int(b.Size()))
