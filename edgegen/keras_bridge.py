"""The CLI's entry to the Keras front end: ``edgegen build model.keras --calib ...``.

Prints a short summary (what was pruned, parameter and MAC counts, float vs int8 agreement or
accuracy) to stdout and returns the int8 ``.tflite`` that the core compiler takes.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from .errors import EdgegenError


def keras_to_tflite(args: argparse.Namespace, progress: Callable[[str, int, int], None] | None = None
                    ) -> tuple[bytes, tuple[str, ...], dict[str, Any]]:
    """Convert the Keras model named by ``args.model`` following the CLI options; the summary
    lines (printed here) go into the build report too."""
    from .keras._tf import DEFAULT_SEED
    from .keras.finetune import TrainConfig
    from .keras.pipeline import Options, run
    from .keras.prune_block import parse_nm

    prune = getattr(args, "prune", None)
    if prune is not None and not 0.0 <= prune < 1.0:
        raise EdgegenError(f"--prune {prune}: give the fraction to remove, between 0 and 1 (e.g. 0.5)")
    epochs = getattr(args, "epochs", 3)
    if epochs is not None and epochs < 1:
        raise EdgegenError(f"--epochs {epochs}: give at least 1 epoch")
    live = progress is not None and sys.stderr.isatty()
    opts = Options(
        calib=getattr(args, "calib", None),
        prune=prune,
        prune_mode=getattr(args, "prune_mode", None) or ("nm" if getattr(args, "prune_nm", None) else "structured"),
        train=getattr(args, "train", None),
        float_io=bool(getattr(args, "float_io", False)),
        criterion=getattr(args, "prune_criterion", None),
        prune_nm=parse_nm(args.prune_nm) if getattr(args, "prune_nm", None) else None,
        share_bits=getattr(args, "share_weights", None),
        share_granularity=getattr(args, "share_granularity", None) or "channel",
        scope=getattr(args, "prune_scope", None),
        # on a terminal fine-tuning joins the other progress bars; in a log, one line per epoch
        train_config=TrainConfig(epochs=int(epochs or 3), verbose=2,
                                 learning_rate=float(getattr(args, "learning_rate", None) or 1e-3),
                                 progress=progress if live else None),
        eval_data=getattr(args, "eval", None),
        layer_check=not bool(getattr(args, "skip_layer_check", False)),
        unsafe_deserialization=bool(getattr(args, "unsafe_deserialization", False)),
        seed=int(DEFAULT_SEED if getattr(args, "seed", None) is None else args.seed),
        progress=progress,
        precision=getattr(args, "precision", None) or "int8",
        int16_layers=tuple(n.strip() for n in (getattr(args, "int16_layers", None) or "").split(",") if n.strip()),
        max_accuracy_drop=getattr(args, "max_accuracy_drop", None),
        calib_method=getattr(args, "calib_method", None) or "minmax",
        calib_percentile=getattr(args, "calib_percentile", None),
        sensitivity_samples=32 if getattr(args, "sensitivity_samples", None) is None else args.sensitivity_samples,
    )
    result = run(args.model, opts)
    for w in result.warnings:
        print(f"WARNING: {w}", file=sys.stderr)
    for line in result.lines:
        print(line)
    return result.tflite, tuple(result.lines), result.summary_data()
