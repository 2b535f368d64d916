"""edgegen's own kernels, specialized per layer at build time (issue 14), and the choice between
them and the CMSIS-NN API call (``--kernels``).

* ``cmsis-nn``: the CMSIS-NN API call for every layer (the generated code of edgegen before its own
  kernels; with ``--cmsis-nn DIR`` the user's library, else edgegen's portable implementation).
* ``portable``: edgegen's kernel, compiled without DSP or Helium code, wherever it applies.
* ``auto`` (the default): edgegen's kernel where it is faster than the CMSIS-NN call for the
  layer on the board's CPU, the CMSIS-NN call elsewhere. Against edgegen's portable CMSIS-NN
  implementation (the default build, no ``--cmsis-nn``) edgegen's kernel is faster on every CPU;
  against Arm's library, :data:`FASTER` says where (from the measurements in
  ``bench/kernels/results`` and docs/benchmarks.md).

A layer also keeps the CMSIS-NN call when edgegen cannot prove its kernel exact for it (an
accumulator bound, a shift out of range) or when the board's flash cannot hold the wider weights;
the Program records why (:attr:`KernelConfig.notes` through the lowering).
"""

from __future__ import annotations

from dataclasses import dataclass

MODES = ("auto", "cmsis-nn", "portable")
DEFAULT_MODE = "auto"

#: kernel -> CPU class -> edgegen's kernel takes fewer instructions than Arm's CMSIS-NN v7 on it.
#: matmul (1x1 CONV_2D, FULLY_CONNECTED): DSP path measured 0.53x (1x1 64->64) and 0.50x (FC
#: 640->128) of CMSIS-NN on Cortex-M4; on Cortex-M55 CMSIS-NN's Helium kernels take 0.36x of the
#: DSP path (kws 1x1), so Helium CPUs keep the CMSIS-NN call (docs/benchmarks.md). "none": CPUs
#: without DSP (the host), where edgegen's portable path is the one the host tier checks.
FASTER: dict[str, dict[str, bool]] = {
    "matmul": {"dsp": True, "mve": False, "none": True},
    # depthwise 3x3: DSP path 0.36x of CMSIS-NN on Cortex-M4 (kws 25x5x64: 202,040 against 560,960); on
    # Helium CPUs CMSIS-NN's MVE depthwise kernel keeps the call
    "depthwise3x3": {"dsp": True, "mve": False, "none": True},
    # general CONV_2D (gather + the matmul micro-kernel): the same inner loop as matmul, plus a
    # K-byte gather per pixel; on Helium CPUs CMSIS-NN's MVE convolution keeps the call
    "conv": {"dsp": True, "mve": False, "none": True},
    # ADD/SUB of same-shape inputs (two 256-entry tables per layer, kernels/add.py)
    "add": {"dsp": True, "mve": True, "none": True},
    # AVERAGE_POOL_2D, MAX_POOL_2D and MEAN (kernels/pool.py)
    "pool": {"dsp": True, "mve": True, "none": True},
}

#: flash edgegen keeps free for code when deciding whether wider weights fit the board
CODE_MARGIN = 64 * 1024


@dataclass(frozen=True)
class KernelConfig:
    """What the lowering may use: the mode, the board's CPU class, the flash left for wider
    weights (None: no limit) and which library the CMSIS-NN calls reach: ``portable`` (edgegen's
    own, generic C) or ``arm`` (a CMSIS-NN checkout given with ``--cmsis-nn``)."""

    mode: str = DEFAULT_MODE
    cpu: str = "dsp"  # "dsp", "mve" or "none"
    flash_budget: int | None = None
    library: str = "portable"

    def use(self, kernel: str) -> str | None:
        """None when edgegen's kernel may run here, else why the CMSIS-NN call stays."""
        if self.mode == "cmsis-nn":
            return "--kernels cmsis-nn"
        if self.mode == "portable":
            return None
        # edgegen's portable CMSIS-NN API is generic C: its own kernel beats it everywhere (kws
        # on Cortex-M55: 17.7 M instructions with the portable calls, 10.3 M with the DSP path)
        if self.library == "arm" and not FASTER[kernel].get(self.cpu, False):
            return f"Arm's CMSIS-NN is faster on this CPU ({self.cpu})"
        return None


def check_mode(mode: str) -> str:
    from ..errors import EdgegenError

    if mode not in MODES:
        raise EdgegenError(f"--kernels {mode}: use one of {', '.join(MODES)}")
    return mode


def cpu_class(dsp: bool, mve: bool) -> str:
    return "mve" if mve else ("dsp" if dsp else "none")
