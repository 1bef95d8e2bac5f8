#!/usr/bin/env bash
# The README's test command: set up .venv (idempotent), then run the whole suite, one pytest-xdist
# worker per core, each test file on one worker in its order (`-n 0` after it: one process).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
# bytecode for ember and the tests' helpers ahead of time: with PYTHONDONTWRITEBYTECODE set,
# every process the tests launch (distributed ranks, spawned workers) would compile ember again
.venv/bin/python -m compileall -q -j 0 ember tests >/dev/null
exec .venv/bin/python -m pytest tests -n auto --dist loadfile "$@"
