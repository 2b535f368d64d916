#!/usr/bin/env bash
# The main job, end to end, on edgegen's bundled example (a small CNN on scikit-learn's digits):
# set-up, int8 conversion of the Keras model, a build for the default board (nucleo, the
# MLPerf Tiny NUCLEO-L4R5ZI), host parity against TFLM, then the same firmware on the board's
# emulated twin (Cortex-M4 in qemu) with the parity verdict and the report.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"
set -x
edgegen build examples/digits/digits.keras --calib examples/digits/calib.npy \
    --eval examples/digits/test.npz --inputs examples/digits/test.npz --vectors 5 \
    --out build/digits --force
edgegen verify build/digits --inputs examples/digits/test.npz --samples 20
edgegen run build/digits
