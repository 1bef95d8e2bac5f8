#!/usr/bin/env bash
# One prepared command for a machine with an NVIDIA GPU, CuPy and torch: the test suite on
# `cuda`, `ember demo` on the GPU, the cost of one tiny op, a profile of ember's GPT step (host
# time, and GPU time per kernel against torch's), then the GPU benchmarks against torch.
# Logs go to $OUT (default /tmp); the compact benchmark table is printed last.
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
OUT=${OUT:-/tmp}
"$PY" -c "import cupy, numpy, torch; print('cupy', cupy.__version__, 'numpy', numpy.__version__, \
'torch', torch.__version__, torch.cuda.get_device_name(0))"
# Parallel workers and a per-test time limit where pytest-xdist / pytest-timeout are installed.
EXTRA=()
"$PY" -c "import xdist" 2>/dev/null && EXTRA+=(-n "${TEST_WORKERS:-12}")
"$PY" -c "import pytest_timeout" 2>/dev/null && EXTRA+=(--timeout 120)
timeout "${TEST_TIMEOUT:-200}" "$PY" -m pytest tests "${EXTRA[@]}" --device cuda -k cuda \
  -p no:cacheprovider -o addopts= -q --tb=short -rfE > "$OUT/gpu_tests.log" 2>&1
echo "tests exit status $?"
grep -E "^(FAILED|ERROR)" "$OUT/gpu_tests.log" | cut -c1-220 | head -n 80
tail -n 2 "$OUT/gpu_tests.log"
timeout "${DEMO_TIMEOUT:-150}" "$PY" -m ember demo --out "$OUT/demo" > "$OUT/gpu_demo.log" 2>&1
echo "ember demo exit status $?"
grep -aE "^(== a CNN|test accuracy|checkpoint|figure)" "$OUT/gpu_demo.log"
timeout "${PROFILE_TIMEOUT:-60}" "$PY" bench/bench_gpu.py --overhead > "$OUT/gpu_overhead.log" 2>&1
timeout "${PROFILE_TIMEOUT:-60}" "$PY" bench/bench_gpu.py --profile gpt > "$OUT/gpu_profile.log" 2>&1
timeout "${PROFILE_TIMEOUT:-60}" "$PY" bench/bench_gpu.py --kernels gpt > "$OUT/gpu_kernels.log" 2>&1
timeout "${BENCH_TIMEOUT:-150}" "$PY" bench/bench_gpu.py 2>&1 | tee "$OUT/gpu_bench.log"
