"""What one op family provides: one record per module of :mod:`edgegen.ops`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import ir
from ..program import Call

if TYPE_CHECKING:
    from ..lowering import Lowering
    from ..machine import Machine
    from ..tflite_context import OpContext

#: reads and validates one op of the flatbuffer into its IR op (refusals name the op)
Builder = Callable[["OpContext"], ir.Op]
#: computes an IR op's kernel call (TFLM's Prepare) into the lowering context
Lowerer = Callable[["Lowering", ir.Op], None]
#: executes a call in the simulator's machine (TFLM's Eval, bit-exact)
Kernel = Callable[["Machine", Call], None]


@dataclass(frozen=True)
class OpFamily:
    """Everything about one op family. Its calls are rendered by ``templates/calls/<KIND>.c.j2``
    (and, when a call's ``checks_scratch``, ``templates/calls/<KIND>.scratch.j2``)."""

    #: TFLite builtin name -> reader
    builders: Mapping[str, Builder]
    #: IR op class -> lowerer
    lowerers: Mapping[type[ir.Op], Lowerer]
    #: Call class -> simulator kernel (empty for ops lowered to aliases)
    kernels: Mapping[type[Call], Kernel] = field(default_factory=dict)
    #: builtin -> the BuiltinOptions table type its reader expects (any other is refused)
    options: Mapping[str, int] = field(default_factory=dict)
    #: builtin -> what TFLM would run without the options table (the table is then required)
    required_options: Mapping[str, str] = field(default_factory=dict)
    #: options type -> (its flatbuffer class, the accessor of its vector's length): checked
    #: against the file and the decode budget before the table is unpacked
    option_vectors: Mapping[int, tuple[Any, str]] = field(default_factory=dict)
    #: builtin -> the positions of its inputs that are variable (state) tensors, which the op reads
    #: and updates in place (SVDF: (4,)). The reader requires a variable tensor there and refuses one
    #: anywhere else (TFLM's kernels zero it at reset, so a stateless op would read zeros)
    state_inputs: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
