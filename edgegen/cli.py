"""The ``edgegen`` command line."""

from __future__ import annotations

import argparse
import contextlib
import sys
import traceback
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import __version__
from .boards import DEFAULT_BOARD
from .fit import MAX_VECTORS

if TYPE_CHECKING:
    from rich.progress import TaskID
from .errors import EdgegenError, ParityError

KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")


def _model_bytes(args: argparse.Namespace) -> tuple[bytes, str, tuple[str, ...], dict[str, Any] | None]:
    """The int8 .tflite for the model argument (converting a Keras model first if needed), its
    name, and the Keras front end's summary (lines, and as data for report.json)."""
    path = Path(args.model)
    if path.suffix.lower() in KERAS_SUFFIXES or path.is_dir():
        from .keras_bridge import keras_to_tflite

        with _progress() as update:
            tflite, summary, data = keras_to_tflite(args, update)
        return tflite, path.stem, summary, data
    from .build import load_tflite_bytes

    return load_tflite_bytes(path), path.stem, (), None


@contextlib.contextmanager
def _progress() -> Iterator[Callable[[str, int, int], None]]:
    """A transient progress bar on stderr (hidden when stderr is not a terminal)."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

    console = Console(stderr=True)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                  console=console, transient=True, disable=not console.is_terminal) as bar:
        tasks: dict[str, TaskID] = {}

        def update(what: str, done: int, total: int) -> None:
            if what not in tasks:
                tasks[what] = bar.add_task(what, total=total)
            bar.update(tasks[what], completed=done + 1, total=total)

        yield update


def cmd_build(args: argparse.Namespace) -> int:
    from .boards import resolve_board
    from .build import build
    from .outdir import check_output_dir
    from .report import print_build_summary

    # cheap checks first: a Keras conversion can take a minute, a typo should not
    stem = Path(args.model).stem
    out = Path(args.out) if args.out else Path("build") / stem
    resolve_board(args.board)
    check_keras_options(args)
    inputs = _build_inputs(args)
    check_output_dir(out, force=args.force, inputs=inputs)
    samples = _load_samples(args.inputs, None)
    tflite, stem, summary, summary_data = _model_bytes(args)
    name = args.name or stem
    with _progress() as update:
        result = build(tflite, out, source=args.model, name=name, board=args.board, force=args.force,
                       vectors=args.vectors, samples=samples, samples_source=f"{args.inputs}: --inputs",
                       cmsis_nn=Path(args.cmsis_nn) if args.cmsis_nn else None, guard=args.guard,
                       keep_inputs=args.keep_inputs, portable_kernels=args.portable_kernels, front_end=summary,
                       front_end_data=summary_data, kernels=args.kernels, compress=args.compress,
                       entropy=args.entropy_code,
                       progress=lambda what: update(what, 0, 1), inputs=inputs)
    print_build_summary(result)
    return 0


def _build_inputs(args: argparse.Namespace) -> tuple[Path, ...]:
    """Every file or directory the build reads: --force must never delete one of them."""
    given = (args.model, args.inputs, args.cmsis_nn, getattr(args, "calib", None), getattr(args, "train", None),
             getattr(args, "eval", None))
    return tuple(Path(p) for p in given if p)


def _load_samples(path: str | None, program_inputs: int | None) -> list[tuple[np.ndarray, ...]]:
    """Real inputs from a .npy array [N, ...], or the ``x`` array of a .npz (single-input models),
    checked for real, finite numbers (:mod:`edgegen.arrays`); the model checks the shape."""
    from .arrays import ArrayError, check_array

    if path is None:
        return []
    p = Path(path)
    try:
        loaded = np.load(p, allow_pickle=False)
        if isinstance(loaded, np.lib.npyio.NpzFile):
            with loaded:
                keys = [k for k in ("x", "inputs", "x_test") if k in loaded.files] or loaded.files
                if len(keys) != 1 and keys == loaded.files:
                    raise EdgegenError(f"{p}: holds {', '.join(loaded.files) or 'no arrays'}; "
                                       "name the input array 'x'")
                arr = loaded[keys[0]]
        else:
            arr = loaded
    except (OSError, ValueError, EOFError) as e:
        raise EdgegenError(f"{p}: cannot load input samples ({e}); give a .npy array of shape [N, ...] "
                           "or a .npz with an array 'x'") from None
    if program_inputs is not None and program_inputs != 1:
        raise EdgegenError(f"{p}: --inputs supports single-input models only")
    if not isinstance(arr, np.ndarray) or arr.ndim < 1:
        raise ArrayError(f"{p}: --inputs is a single value; expected an array of samples [N, ...]")
    arr = check_array(arr, f"{p}: --inputs")
    return [(a,) for a in arr]


def _whole_number(text: str, fewest: str) -> int:
    """A count option's value, refused at parse time (before a Keras conversion that may take
    minutes) when it is not a whole number of at least 1 (``fewest`` says why 1)."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"{n}: {fewest}")
    return n


def _vector_count(text: str) -> int:
    """``--vectors``: also at most what the firmware embeds."""
    n = _whole_number(text, "at least one test vector is needed")
    if n > MAX_VECTORS:
        raise argparse.ArgumentTypeError(
            f"{n:,} test vectors: at most {MAX_VECTORS:,} are embedded in the firmware (each is an input and its "
            "expected outputs in flash); check more inputs on the host with `edgegen verify DIR --samples N`")
    return n


#: inputs `edgegen verify` runs without --samples (at least)
DEFAULT_SAMPLES = 20


def _sensitivity_count(text: str) -> int:
    """``--sensitivity-samples``: 0 (off) or more."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"{n}: give 0 (off) or a number of samples")
    return n


def _sample_count(text: str) -> int:
    return _whole_number(text, "verify needs at least one input")


def cmd_verify(args: argparse.Namespace) -> int:
    from .builddir import load_build
    from .oracle import start_worker
    from .verify import verify_directory

    start_worker()  # TFLM's worker process starts up while the model is read and lowered

    directory = Path(args.dir)
    _tflite, _graph, program, _meta = load_build(directory)
    samples = _load_samples(args.inputs, len(program.inputs))
    with _progress() as update:
        # --samples N is the total: the first N rows of --inputs, then seeded random inputs; by
        # default every row of --inputs, and random ones up to 20
        count = args.samples if args.samples is not None else max(DEFAULT_SAMPLES, len(samples))
        samples = samples[:count]
        report, program = verify_directory(directory, samples, count=count,
                                           seed=args.seed, asan=args.asan, progress=update,
                                           samples_source=f"{args.inputs}: --inputs")
    calls = len(program.calls)
    given = f"{len(samples)} from {args.inputs} and {report.samples - len(samples)} random" if samples else "random"
    print(f"edgegen verify: {directory} ({report.samples} inputs: {given}; {calls} kernel calls)")
    print(f"  {'check':<34}{'result':<10}compared")
    print(f"  {'simulator == TFLM':<34}{_verdict(report.sim_vs_tflm):<10}"
          f"{report.tensors_compared} intermediate tensors")
    host = "host C (ASan+UBSan)" if args.asan else "host C"
    print(f"  {host + ' == simulator':<34}{_verdict(report.c_vs_sim):<10}{calls * report.samples} call outputs")
    if not report.ok:
        for m in report.mismatches:
            print(f"  {m.message()}")
        raise ParityError(f"parity failed for {directory}")
    print("  parity: exact")
    return 0


def _verdict(v: bool | None) -> str:
    return "-" if v is None else ("exact" if v else "MISMATCH")


def cmd_inspect(args: argparse.Namespace) -> int:
    from .inspect_model import print_inspection

    check_keras_options(args)
    tflite, stem, _summary, _data = _model_bytes(args)
    return print_inspection(tflite, args.model, args.name or stem, args.board)


def cmd_run(args: argparse.Namespace) -> int:
    from .builddir import record_run
    from .emulator import run_on_emulator
    from .report import print_run_summary

    with _progress() as update:
        run = run_on_emulator(Path(args.dir), board=args.board, timeout=args.timeout, progress=update)
    print_run_summary(Path(args.dir), run)
    record_run(Path(args.dir), run)
    if not run.result.verdict:
        raise ParityError(f"{args.dir}: firmware outputs differ from the simulator on {run.board.name}")
    return 0


def cmd_boards(args: argparse.Namespace) -> int:
    """One row per board and its description below it, within 80 columns; * marks the default."""
    import textwrap

    from .boards import DEFAULT_BOARD, all_boards, resolve_board

    default = resolve_board(DEFAULT_BOARD).board.name
    print(f"  {'board':<21}{'cpu':<12}{'flash':>9}{'RAM':>10}{'clock':>9}  runs on")
    for b in all_boards().values():
        flash = f"{b.flash_bytes // 1024} KiB" if b.flash_bytes else "-"
        ram = f"{b.ram_bytes // 1024} KiB" if b.ram_bytes else "-"
        clock = f"{b.clock_hz // 1_000_000} MHz" if b.clock_hz else "-"
        mark = "*" if b.name == default else " "
        print(f"{mark} {b.name:<21}{b.cpu:<12}{flash:>9}{ram:>10}{clock:>9}  {b.twin or 'host'}")
        about = b.description + (f"; alias: {', '.join(b.aliases)}" if b.aliases else "")
        print(textwrap.fill(about, width=79, initial_indent="      ", subsequent_indent="      "))
    print(f"* the default board ({default}, used without --board)")
    return 0


def make_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="edgegen", description="Compile int8 TFLite / Keras models to CMSIS-NN C.")
    ap.add_argument("--version", action="version", version=f"edgegen {__version__}")
    ap.add_argument("--verbose", action="store_true", help="show tracebacks on errors")
    sub = ap.add_subparsers(dest="command", required=True)
    # --verbose also after the subcommand (default SUPPRESS: it must not reset a --verbose given before)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--verbose", action="store_true", default=argparse.SUPPRESS, help="show tracebacks on errors")

    b = sub.add_parser("build", help="compile a model into a C source tree", parents=[common])
    b.add_argument("model", help="an int8 .tflite file, or a Keras model (.keras, .h5, SavedModel dir)")
    b.add_argument("--board", default=DEFAULT_BOARD,
                   help=f"target board (default: {DEFAULT_BOARD}); `edgegen boards` lists them")
    b.add_argument("--vectors", type=_vector_count, default=3,
                   help=f"test vectors embedded in the firmware (default 3, at most {MAX_VECTORS}; each is an input "
                   "and its expected outputs in flash); `edgegen verify --samples N` checks many inputs on the host")
    b.add_argument("--inputs", help=".npy array [N, ...] (or .npz with x) of real inputs to embed as the first "
                   "test vectors")
    b.add_argument("--cmsis-nn", metavar="DIR", help="build against this CMSIS-NN checkout instead of the portable "
                   "kernels (the generated model code is the same)")
    b.add_argument("--portable-kernels", action="store_true",
                   help="real boards: build the PlatformIO project with edgegen's portable kernels instead of "
                   "fetching CMSIS-NN v7.0.0")
    b.add_argument("--kernels", choices=("auto", "cmsis-nn", "portable"), default="auto",
                   help="auto (default): edgegen's specialized kernels where they are faster than CMSIS-NN on the "
                        "board's CPU, CMSIS-NN calls elsewhere; cmsis-nn: CMSIS-NN calls only; portable: edgegen's "
                        "kernels without DSP/Helium code")
    b.add_argument("--compress", choices=("auto", "on", "off"), default="auto",
                   help="weights of CONV_2D/FULLY_CONNECTED layers: auto (default): block-sparse and/or 4-bit shared "
                        "storage where it is smaller and estimated not slower than dense; on: wherever smaller; "
                        "off: dense everywhere")
    b.add_argument("--entropy-code", choices=("auto", "on", "off"), default="auto",
                   help="keep the compressed layers' weight streams Huffman-coded in flash, each decoded into arena "
                        "scratch before its layer runs (saves flash, costs RAM and time; report.json gives both per "
                        "layer): auto (default): only when the model would not fit the board's flash otherwise; "
                        "on; off")
    b.add_argument("--guard", action="store_true", help="canaries around the arena and scratch buffers, checked "
                   "after every kernel call (a debugging build)")
    b.add_argument("--keep-inputs", action="store_true",
                   help="keep the inputs intact through invoke, so it can run again on the same input (costs arena; "
                        "by default later layers reuse the input's bytes: write the input before every invoke)")
    b.add_argument("--out", help="output directory (default: build/<model name>)")
    b.add_argument("--name", help="C symbol prefix (default: the model file name)")
    b.add_argument("--force", action="store_true", help="replace an existing output directory that edgegen wrote "
                   "(never one that holds other files, an input, the working or home directory)")
    _keras_options(b)
    b.set_defaults(func=cmd_build)

    v = sub.add_parser("verify", help="prove simulator == TFLM == host C, bit for bit", parents=[common])
    v.add_argument("dir", help="a directory written by `edgegen build`")
    v.add_argument("--samples", type=_sample_count, default=None,
                   help=f"number of inputs: the first N rows of --inputs, then seeded random ones (default: every "
                        f"row of --inputs, and random ones up to {DEFAULT_SAMPLES})")
    v.add_argument("--inputs", help=".npy array [N, ...] (or .npz with x) of real inputs to include")
    v.add_argument("--seed", type=int, default=0,
                   help="seed of the random inputs added after --inputs (default 0)")
    v.add_argument("--asan", action="store_true", help="build the host C with ASan and UBSan")
    v.set_defaults(func=cmd_verify)

    i = sub.add_parser("inspect", help="show ops, kernels, shapes and sizes without building", parents=[common])
    i.add_argument("model", help="an int8 .tflite file, or a Keras model (converted first)")
    i.add_argument("--name", help="C symbol prefix (default: the model file name)")
    i.add_argument("--board", default=DEFAULT_BOARD,
                   help=f"the board whose CPU decides the kernels and scratch sizes shown (default {DEFAULT_BOARD})")
    _keras_options(i)
    i.set_defaults(func=cmd_inspect)

    r = sub.add_parser("run", help="build the firmware for an emulated Cortex-M and run it in qemu", parents=[common])
    r.add_argument("dir", help="a directory written by `edgegen build`")
    r.add_argument("--board", help="qemu-m4, qemu-m7 or qemu-m55 (default: the build board's emulator twin)")
    r.add_argument("--timeout", type=float, default=600.0, help="seconds before the emulator is stopped")
    r.set_defaults(func=cmd_run)

    bl = sub.add_parser("boards", help="list the supported boards", parents=[common])
    bl.set_defaults(func=cmd_boards)

    try:
        from .platformio import configure_flash_parser
    except ImportError:  # pragma: no cover - the module ships with edgegen
        pass
    else:
        configure_flash_parser(sub)
    return ap


#: the Keras front end's options (dest names), which an int8 .tflite cannot use
KERAS_OPTIONS = ("calib", "prune", "prune_mode", "train", "prune_criterion", "prune_scope", "epochs", "eval",
                 "float_io", "seed", "unsafe_deserialization", "skip_layer_check", "prune_nm", "share_weights",
                 "share_granularity", "learning_rate", "precision", "int16_layers", "max_accuracy_drop",
                 "calib_method", "calib_percentile", "sensitivity_samples")


def check_keras_options(args: argparse.Namespace) -> None:
    """Refuse options that would be silently ignored, before any work: Keras options given with a
    .tflite model, --epochs without --train, pruning options without --prune."""
    given = [name for name in KERAS_OPTIONS if getattr(args, name, None) not in (None, False)]
    flags = ", ".join("--" + name.replace("_", "-") for name in given)
    path = Path(args.model)
    if given and not (path.suffix.lower() in KERAS_SUFFIXES or path.is_dir()):
        verb = "applies" if len(given) == 1 else "apply"
        raise EdgegenError(f"{args.model}: {flags} {verb} to Keras models only; an int8 .tflite is already "
                           "quantized (and pruned as it is): drop them, or give the Keras model (.keras, .h5)")
    if args.learning_rate is not None and (args.train is None or not args.learning_rate > 0):
        raise EdgegenError(f"--learning-rate {args.learning_rate}: the fine-tuning rate needs --train data and a "
                           "positive value (e.g. 3e-4)")
    if args.epochs is not None and args.train is None:
        raise EdgegenError(f"--epochs {args.epochs}: epochs of fine-tuning after pruning need the training data "
                           "(--train data.npz); give --train or drop --epochs")
    _check_compression_options(args)
    from .keras.precision import check_options

    check_options(args.precision or "int8", _layer_list(args.int16_layers), args.max_accuracy_drop)
    _check_calibration_options(args)
    pruning = [f"--{n.replace('_', '-')}" for n in ("prune_mode", "prune_criterion", "prune_scope")
               if getattr(args, n) is not None]
    if pruning and args.prune is None and args.prune_nm is None:
        raise EdgegenError(f"{', '.join(pruning)} choose how to prune, but no --prune fraction was given "
                           "(e.g. --prune 0.5)")


def _check_calibration_options(args: argparse.Namespace) -> None:
    """--calib-method and --calib-percentile, before any work."""
    from .calibration import check_method

    check_method(getattr(args, "calib_method", None) or "minmax", getattr(args, "calib_percentile", None))


def _check_compression_options(args: argparse.Namespace) -> None:
    """--prune-nm and --share-weights against the other pruning options, before any work."""
    from .keras.prune_block import parse_nm

    if args.prune_nm is not None:
        n, m = parse_nm(args.prune_nm)
        if args.prune_mode not in (None, "nm"):
            raise EdgegenError(f"--prune-nm {args.prune_nm} is N:M pruning; drop --prune-mode {args.prune_mode} "
                               "(or give --prune-mode nm)")
        if args.prune is not None and abs(args.prune - (1 - n / m)) > 1e-6:
            raise EdgegenError(f"--prune {args.prune} and --prune-nm {args.prune_nm} disagree: {n}:{m} zeroes "
                               f"{1 - n / m:.3g} of the weights; drop --prune")
    elif args.prune_mode == "nm":
        raise EdgegenError("--prune-mode nm needs --prune-nm N:M (e.g. --prune-nm 2:4)")
    if args.share_granularity is not None and args.share_weights is None:
        raise EdgegenError(f"--share-granularity {args.share_granularity} needs --share-weights BITS")
    if args.share_weights is not None and not 1 <= args.share_weights <= 7:
        raise EdgegenError(f"--share-weights {args.share_weights}: give 1 to 7 bits (int8 weights have 8)")


def _layer_list(text: str | None) -> tuple[str, ...]:
    """``--int16-layers a,b``: the layer names, empty ones dropped."""
    return tuple(n.strip() for n in (text or "").split(",") if n.strip())


def _keras_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("Keras models")
    g.add_argument("--calib", help="calibration data: .npy, .npz or a directory of .npy files")
    g.add_argument("--prune", type=float, default=None, help="fraction to prune, e.g. 0.5")
    g.add_argument("--prune-mode", choices=("unstructured", "structured", "block", "nm"), default=None,
                   help="with --prune: remove whole channels (structured, the default), single weights "
                   "(unstructured), whole blocks of 4 weights along each output channel (block), or N of every "
                   "M weights (nm, with --prune-nm)")
    g.add_argument("--prune-nm", default=None, metavar="N:M",
                   help="N:M pruning: keep N of every M consecutive weights of each output channel, e.g. 2:4")
    g.add_argument("--share-weights", type=int, default=None, metavar="BITS",
                   help="weight sharing: k-means the weights into at most 2^BITS values per output channel (zero "
                   "kept for pruned weights), fine-tuned with --train keeping them shared")
    g.add_argument("--share-granularity", choices=("channel", "layer"), default=None,
                   help="weight sharing: one codebook per output channel (default) or per layer")
    g.add_argument("--train", help="training data (.npz with x and y) for fine-tuning after pruning")
    g.add_argument("--prune-criterion", choices=("l1", "l2", "activation"), default=None,
                   help="structured pruning: rank channels by filter L1 (default)/L2 norm or by mean |activation| "
                   "on the data; block pruning: blocks by L1 or L2 (default) norm")
    g.add_argument("--prune-scope", choices=("global", "layer"), default=None,
                   help="unstructured and block pruning: one magnitude threshold for the model (unstructured's "
                   "default) or one per layer (block's default)")
    g.add_argument("--epochs", type=int, default=None, help="fine-tuning epochs after pruning (needs --train; "
                   "default 3)")
    g.add_argument("--learning-rate", type=float, default=None,
                   help="Adam's learning rate for fine-tuning (needs --train; default 1e-3; compression recovers "
                   "best at 3e-4, docs/keras.md)")
    g.add_argument("--eval", help="data with targets (.npz with x and y): float vs int8 accuracy for class labels, "
                   "MSE and SQNR for other targets")
    g.add_argument("--float-io", action="store_true", help="keep float32 model inputs and outputs")
    g.add_argument("--unsafe-deserialization", action="store_true",
                   help="load Lambda layers from a .keras file (Keras's safe_mode=False): the file's Python code "
                   "runs on loading, so only for files from a trusted source")
    g.add_argument("--skip-layer-check", action="store_true",
                   help="convert even when the pre-flight check refuses a layer (when you know better than "
                   "edgegen's layer table; an op edgegen cannot compile is still refused after conversion)")
    g.add_argument("--precision", choices=("int8", "int16", "auto"), default=None,
                   help="activations: int8 (default); int16 (TFLite's 16x8 scheme: int16 activations, int8 "
                   "weights, int64 biases; int16 inputs/outputs unless --float-io); auto: the layers whose int8 "
                   "output is furthest from float go int16 until --max-accuracy-drop is met")
    g.add_argument("--int16-layers", default=None, metavar="NAME[,NAME...]",
                   help="these Keras layers int16, the rest int8 (QUANTIZE ops requantize at each boundary)")
    g.add_argument("--max-accuracy-drop", type=float, default=None, metavar="POINTS",
                   help="with --precision auto: the accuracy (points, on --eval data, else the labelled "
                   "calibration data) the quantized model may lose against float")
    g.add_argument("--seed", type=int, default=None,
                   help="seed of every random choice of the Keras front end: pruning, fine-tuning (shuffling, "
                   "dropout), calibration and evaluation subsets (default 0); the same model, data and seed give "
                   "a byte-identical build")
    g.add_argument("--calib-method", choices=("minmax", "percentile", "entropy", "mse"), default=None,
                   help="activation ranges: minmax (default: the converter's min/max), percentile (each tail "
                   "clipped at --calib-percentile), entropy (TensorRT's KL-divergence threshold) or mse (the "
                   "threshold minimizing int8 quantize-dequantize error); docs/keras.md \"Calibration\"")
    g.add_argument("--calib-percentile", type=float, default=None, metavar="P",
                   help="with --calib-method percentile: clip values above the P-th and below the (100-P)-th "
                   "percentile (90..100, default 99.99)")
    g.add_argument("--sensitivity-samples", type=_sensitivity_count, default=None, metavar="N",
                   help="per-layer int8-vs-float SQNR on the first N evaluation (else calibration) samples, in the "
                   "summary, report.json and report.html (default 32; 0 turns it off)")


def main(argv: Sequence[str] | None = None) -> int:
    from .procs import exit_code, install_handlers, restore_handlers

    previous = install_handlers()
    verbose = False
    try:
        args = make_parser().parse_args(argv)
        verbose = args.verbose
        return int(args.func(args))
    except EdgegenError as e:
        if verbose:
            traceback.print_exc()
        print(f"edgegen: error: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as e:
        # SIGINT or SIGTERM: every finally has run (temporary directories removed, children stopped)
        print("edgegen: interrupted (temporary files removed, child processes stopped)", file=sys.stderr)
        return exit_code(e)
    finally:
        restore_handlers(previous)  # main() may be called from a program with handlers of its own


if __name__ == "__main__":
    sys.exit(main())
