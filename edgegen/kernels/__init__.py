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
#: 640->128) of CMSIS-NN on Cortex-M4; on Cortex-M55 the Helium variant (edgegen_mm8_s8) against Arm's
#: CMSIS-NN v7 on qemu-m55: kws 1x1 64->64 93,406 vs 202,968 (0.46x), ad01 FC 640->128 12,312 vs
#: 40,218 (0.31x), FC 128->640 15,406 vs 46,593, FC 128->128 3,125 vs 9,500 (docs/benchmarks.md).
#: "none": CPUs without DSP (the host), where edgegen's portable path is the one the host tier checks.
FASTER: dict[str, dict[str, bool]] = {
    "matmul": {"dsp": True, "mve": True, "none": True},
    # depthwise 3x3: DSP path 0.36x of CMSIS-NN on Cortex-M4 (kws 25x5x64: 202,040 against 560,960); Helium
    # path (edgegen_dw8_s8) 0.37x of Arm's v7 arm_depthwise_conv_wrapper_s8 on Cortex-M55 (same layer on
    # qemu-m55: 62,125 against 168,718; MobileNet 0.25's 13 layers 0.19-0.43x; filters below 3x3, which both
    # paths take since, 0.05-0.36x on M4 and M55, docs/benchmarks.md)
    "depthwise3x3": {"dsp": True, "mve": True, "none": True},
    # general CONV_2D (gather + the matmul micro-kernel): the same inner loop as matmul, plus a
    # K-byte gather per pixel; Helium variant (edgegen_conv8_s8) against Arm's v7 on qemu-m55: kws
    # first conv 97,906 vs 306,281 (0.32x), resnet8 3x3 16->16 462,531 vs 942,000 (0.49x), 3x3
    # 32->32 342,375 vs 604,031, 3x3 64->64 305,937 vs 487,312 (0.63x), first conv (3 channels)
    # 194,562 vs 626,625; depthwise layers with 1 input channel run it too: micro_speech's 10x8
    # multiplier-8 layer 504,240 vs 1,460,720 on qemu-m4, 120,750 vs 995,937 on qemu-m55
    "conv": {"dsp": True, "mve": True, "none": True},
    # DEPTHWISE_CONV_2D with C > 1 on the grouped conv kernel (per channel gather + the matmul block, its
    # DSP path on both CPUs), against Arm's v7 on the 23 admitted layers of the depthwise_conv_2d_grouped
    # family's seed 0 (docs/benchmarks.md, DWGEN). Multiplier > 1 (Arm: generic arm_depthwise_conv_s8):
    # 0.13-0.70x on qemu-m4, 0.12-0.56x on qemu-m55 (one 2x4 layer 1.05x).
    "dwgen": {"dsp": True, "mve": True, "none": True},
    # multiplier 1, filters above 3x3 (Arm: arm_depthwise_conv_s8_opt): 0.40-1.04x on qemu-m4 (all six
    # 43,920 vs 63,680), but 0.96-3.02x on qemu-m55, where Arm's Helium kernel stays
    "dwgen_m1": {"dsp": True, "mve": False, "none": True},
    # ADD/SUB of same-shape inputs (two 256-entry tables per layer, kernels/add.py)
    "add": {"dsp": True, "mve": True, "none": True},
    # AVERAGE_POOL_2D, MAX_POOL_2D and MEAN (kernels/pool.py)
    "pool": {"dsp": True, "mve": True, "none": True},
    # int16 FULLY_CONNECTED (16x8) per tensor: edgegen_fully_connected_s16 (DSP: SXTB16 + SMLALD; Helium:
    # VLDRB.S16 + VMLALDAVA) against Arm's v7 arm_fully_connected_s16 on FC 256->64: qemu-m4 44,720 vs 42,680,
    # qemu-m55 11,437 vs 16,093; it beats edgegen's portable arm_fully_connected_s16 (85,720 / 68,968)
    # everywhere (docs/benchmarks.md, "int16 activations")
    "fc16": {"dsp": False, "mve": True, "none": True},
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
    #: ``--compress``: auto, on or off (edgegen.kernels.sparse)
    compress: str = "auto"
    #: ``--entropy-code`` resolved: "on" (or "cheap") keeps the compressed layers' streams Huffman-coded
    #: in flash (edgegen.kernels.entropy); the build turns ``auto`` into off, cheap or on
    entropy: str = "off"

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


def check_compress(mode: str) -> str:
    from ..errors import EdgegenError

    # "cycle" is edgegen.kernels.sparse's test hook (every format on one model), not a CLI choice
    if mode not in ("auto", "on", "off", "cycle"):
        raise EdgegenError(f"--compress {mode}: use one of auto, on, off")
    return mode


def check_entropy(mode: str) -> str:
    from ..errors import EdgegenError

    # "cheap" is auto's first resolution (edgegen.kernels.entropy.CHEAP), kept in build.json, not a CLI choice
    if mode not in ("auto", "on", "off", "cheap"):
        raise EdgegenError(f"--entropy-code {mode}: use one of auto, on, off")
    return mode


def cpu_class(dsp: bool, mve: bool) -> str:
    return "mve" if mve else ("dsp" if dsp else "none")
