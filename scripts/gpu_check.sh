#!/usr/bin/env bash
# One prepared command for a machine with an NVIDIA GPU, CuPy and torch: the test suite on
# `cuda`, then the GPU benchmarks against torch on the same GPU. Prints a compact table last.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp}
"$PY" -c "import cupy, torch; print('cupy', cupy.__version__, 'torch', torch.__version__, \
torch.cuda.get_device_name(0))"
timeout ${TEST_TIMEOUT:-300} "$PY" -m pytest tests -q --maxfail=60 --device cuda -p no:cacheprovider \
  -k cuda 2>&1 | tee "$OUT/gpu_tests.log" | tail -n 25
timeout ${BENCH_TIMEOUT:-200} "$PY" bench/bench_gpu.py 2>&1 | tee "$OUT/gpu_bench.log"
