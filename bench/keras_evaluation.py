"""Issue 18 items 3-4 as a user meets them: `edgegen build` on the bundled digits example.

    PYTHONPATH=. .venv/bin/python bench/keras_evaluation.py /tmp/eval

Scenarios (each an `edgegen build --board host` in a subprocess; its stdout and stderr are
printed): structured pruning with --train and no --eval; a random-init copy of the model; data
calibrated 100x too small; an autoencoder evaluated with y = x; labels of another model; uint8
--inputs. The training set is scikit-learn's digits minus the 300 test images, as train.py makes
it. Run it against two checkouts (PYTHONPATH) to compare the summaries.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "digits"


def _data(work: Path) -> None:
    import keras
    from sklearn.datasets import load_digits

    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[..., None]
    y = digits.target.astype(np.int64)
    order = np.random.default_rng(7).permutation(len(x))  # as examples/digits/train.py
    x, y = x[order], y[order]
    np.savez(work / "train.npz", x=x[300:], y=y[300:])
    np.save(work / "calib_small.npy", 0.01 * x[300:400])
    np.savez(work / "wrong_labels.npz", x=x[:100], y=(y[:100] + 5))  # 5..14 for 10 outputs
    np.save(work / "inputs_uint8.npy", (x[:3] > 0.5).astype(np.uint8))  # binarized images, real values 0/1
    keras.utils.set_random_seed(0)
    model = keras.models.load_model(EXAMPLE / "digits.keras")
    keras.models.clone_model(model).save(work / "random.keras")  # fresh initializers
    inp = keras.Input((64,))
    h = keras.layers.Dense(8, activation="relu")(inp)
    ae = keras.Model(inp, keras.layers.Dense(64)(h))
    flat = x.reshape(len(x), 64)
    ae.compile(optimizer="adam", loss="mse")
    ae.fit(flat[300:], flat[300:], epochs=20, verbose=0)
    ae.save(work / "ae.keras")
    np.save(work / "ae_calib.npy", flat[300:400])
    np.savez(work / "ae_eval.npz", x=flat[:300], y=flat[:300])


def _build(work: Path, title: str, model: Path, *args: str) -> None:
    cmd = [sys.executable, "-m", "edgegen", "build", str(model), "--board", "host", "--force",
           "--out", str(work / "out"), *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    # stderr (warnings, errors) first: stdout ends with the kernel table, cut below
    keep = [ln for ln in (proc.stderr + proc.stdout).splitlines()
            if not ln.startswith(("I0000", "E0000", "WARNING: All log", "Epoch", "24/24", "22/22"))
            and "oneDNN" not in ln and "cpu_feature" not in ln and "rebuild TensorFlow" not in ln]
    # the kernel table is the same in every scenario: up to the first table line
    cut = next((i for i, ln in enumerate(keep) if ln.startswith(("┏", "digits for", "random for", "ae for"))),
               len(keep))
    print(f"### {title} (exit {proc.returncode})\n$ edgegen build {model.name} {' '.join(args)}")
    print("\n".join(keep[:cut]).replace(str(work) + "/", "") + "\n", flush=True)


def main() -> None:
    work = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/keras_evaluation")
    work.mkdir(parents=True, exist_ok=True)
    _data(work)
    digits, calib = EXAMPLE / "digits.keras", str(EXAMPLE / "calib.npy")
    _build(work, "structured pruning 50% with --train, no --eval", digits, "--calib", calib, "--prune", "0.5",
           "--prune-mode", "structured", "--train", str(work / "train.npz"), "--epochs", "1")
    _build(work, "random-init digits model, real calibration and test data", work / "random.keras", "--calib",
           calib, "--eval", str(EXAMPLE / "test.npz"))
    _build(work, "calibration data 100x too small", digits, "--calib", str(work / "calib_small.npy"), "--eval",
           str(EXAMPLE / "test.npz"))
    _build(work, "autoencoder, --eval with y = x", work / "ae.keras", "--calib", str(work / "ae_calib.npy"),
           "--eval", str(work / "ae_eval.npz"))
    _build(work, "labels 5..14 for a 10-class model", digits, "--calib", calib, "--eval",
           str(work / "wrong_labels.npz"))
    _build(work, "uint8 --inputs (binarized images, 0/1)", digits, "--calib", calib, "--inputs",
           str(work / "inputs_uint8.npy"), "--vectors", "3")
    from edgegen.build import as_model_inputs, compile_tflite

    _graph, program = compile_tflite((work / "out" / "model.tflite").read_bytes(), name="d", source="model.tflite")
    binary = np.load(work / "inputs_uint8.npy")[0]
    ref = program.inputs[0]
    print(f"input scale {ref.scale:.6g}, zero point {ref.zero_point}; the first image's first row as embedded:")
    for a in (binary, binary.astype(np.float32), binary.astype(np.int8)):
        codes = as_model_inputs(program, (a,))[0].reshape(-1)[:8]
        print(f"  given as {a.dtype}: {a.reshape(-1)[:8].tolist()} -> int8 codes {codes.tolist()}")


if __name__ == "__main__":
    main()
