"""A binary op with a constant operand that varies along the channels only (a scalar, or one value
per channel: Normalization, a leading BatchNormalization, ``x * c``, PReLU's alpha) is a function
of one int8 value per channel: edgegen computes its 256 outputs for every channel at build time
with the simulator's exact arithmetic (so the table is TFLM's result by construction) and the C
looks them up: ``edgegen_lut_s8`` for one table, ``edgegen_channel_lut_s8`` for one per channel.
About 6 instructions an element instead of 40 to 160 for the broadcast kernels' requantizations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .. import ir
from ..lowering import Lowering
from ..machine import Machine
from ..ops.lut import LutCall  # one table: the call every table op makes
from ..program import Call

#: the tables may take this much flash, or as much as the output has elements if that is more
TABLE_BYTES = 4096

Arith = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class ChannelLutCall(Call):
    """``edgegen_channel_lut_s8``: output[i] = tables[i % channels][input[i] + 128]."""

    KIND: ClassVar[str] = "clut"
    tables: str
    table_values: np.ndarray
    channels: int
    size: int


def _channels(const: ir.Tensor, y: ir.Tensor) -> int | None:
    """How many values the constant holds along the output's last axis, if it varies along no other."""
    shape = (1,) * (len(y.shape) - len(const.shape)) + const.shape
    if not y.shape or any(d != 1 for d in shape[:-1]) or shape[-1] not in (1, y.shape[-1]):
        return None
    return shape[-1]


def try_lower(lw: Lowering, op: ir.Op, arith: Arith) -> bool:
    """Lower ``op`` (two operands, exactly one constant, the other of the output's shape) to tables
    of ``arith(first operand, second operand)`` (int64 arrays in, int8 out); False when it does not
    apply, edgegen's kernels are off or the tables would not pay for their flash."""
    x_index = [k for k, t in enumerate(op.inputs[:2]) if not lw.g.tensor(t).is_const]
    if len(x_index) != 1 or lw.kernels.mode == "cmsis-nn":
        return False
    k = x_index[0]
    x, const, y = lw.g.tensor(op.inputs[k]), lw.g.tensor(op.inputs[1 - k]), lw.g.tensor(op.outputs[0])
    channels = _channels(const, y)
    if x.shape != y.shape or channels is None or const.data is None:
        return False
    nbytes = channels * 256
    if nbytes > max(TABLE_BYTES, y.size) or not lw.take_flash(nbytes):
        return False
    xs = np.broadcast_to(np.arange(-128, 128, dtype=np.int64), (channels, 256))
    cs = np.broadcast_to(const.data.astype(np.int64).reshape(-1, 1), (channels, 256))
    tables = np.asarray(arith(xs, cs) if k == 0 else arith(cs, xs), dtype=np.int8).reshape(channels, 256)
    src = lw.ref(op.inputs[k])
    out = lw.out_ref(op, op.inputs[k])  # elementwise: each element is read before it is written
    if channels == 1:
        b = lw.base(op, "edgegen_lut_s8", (src,), out, 0, 0)
        table = tables.reshape(-1)
        lw.calls.append(LutCall(**b, lut=lw.const("lut", "int8_t", table, op), lut_values=table,  # type: ignore[arg-type]
                                size=y.size))
        return True
    b = lw.base(op, "edgegen_channel_lut_s8", (src,), out, 0, 0)
    lw.calls.append(ChannelLutCall(
        **b, tables=lw.const("tables", "int8_t", tables, op), table_values=tables,  # type: ignore[arg-type]
        channels=channels, size=y.size,
    ))
    return True


def run_clut(m: Machine, c: Call) -> None:
    assert isinstance(c, ChannelLutCall)
    x = m.read(c.inputs[0]).astype(np.int64).reshape(-1)
    channel = np.arange(x.size) % c.channels
    m.write(c.output, c.table_values[channel, x + 128])
