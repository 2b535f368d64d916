"""Reader checks of variable (state) tensors: their types, and that only an op's state inputs
(``OpFamily.state_inputs``) read them. TFLM keeps a variable tensor in the persistent part of its
arena and resets it (MicroInterpreterGraph::ResetTensorData: int8 to its zero point, any other type
to 0) at AllocateTensors and every Reset(), ignoring its buffer; edgegen does the same
(``edgegen.lowering``, ``edgegen.plan``, ``<p>_reset()``)."""

from __future__ import annotations

from collections.abc import Sequence

from . import ir
from .errors import ModelFormatError, UnsupportedError
from .tflite_checks import tensor_where
from .tflite_records import FlatTensor

#: element types of a variable (state) tensor: what TFLM's stateful int8 kernels keep (SVDF: int8
#: or int16 state; LSTM-like kernels: int16 cells, int32 accumulators)
STATE_DTYPES = ("int8", "int16", "int32")


def check_variable(t: FlatTensor, dtype: str) -> None:
    """A variable (state) tensor: TFLM allocates it in the persistent part of its arena and, at
    AllocateTensors and every Reset(), fills it with its zero point (int8) or 0 (any other type),
    whatever its buffer holds (MicroInterpreterGraph::ResetTensorData), so the buffer is ignored."""
    if dtype not in STATE_DTYPES:
        raise UnsupportedError(
            f"{tensor_where(t)} is a variable (stateful) tensor of type {dtype}; edgegen keeps int8, int16 or "
            "int32 state"
        )
    q = t.quant
    if dtype == "int8" and q is not None and q.zero_points and not q.scales:
        # TFLM resets it to this zero point though it runs the tensor as unquantized
        raise ModelFormatError(f"{tensor_where(t)} is an int8 variable tensor with zero points but no scales")


def check_state_inputs(where: str, inputs: Sequence[int], tensors: Sequence[ir.Tensor],
                       state_positions: Sequence[int]) -> None:
    """Variable (state) tensors are read only where the op keeps its state, and every such
    position holds one (TFLM's stateful kernels check ``is_variable`` in Prepare)."""
    for k, ti in enumerate(inputs):
        if k in state_positions:
            if ti < 0 or not tensors[ti].variable:
                what = "no tensor" if ti < 0 else tensors[ti].describe()
                raise ModelFormatError(
                    f"{where}: input {k} must be a variable (state) tensor, but it is {what}; TFLM refuses it too"
                )
        elif ti >= 0 and tensors[ti].variable:
            raise UnsupportedError(
                f"{where} reads the variable (stateful) {tensors[ti].describe()} as input {k}, where it keeps "
                "no state; TFLM ignores the tensor's buffer and zeroes it, so edgegen refuses it: give the op a "
                "constant or an op's output"
            )
