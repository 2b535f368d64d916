#!/usr/bin/env bash
# Set up (if needed) and run the whole test suite, lint and type checks included.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export EDGEGEN_SHARED=${EDGEGEN_SHARED:-$(cd .. && pwd)/shared}
.venv/bin/ruff check edgegen tests bench examples
.venv/bin/mypy
.venv/bin/python -m pytest -q "$@"
