#!/usr/bin/env bash
# The README's test command: set up .venv (idempotent), then run the whole suite, one pytest-xdist
# worker per core, each test file on one worker in its order (`-n 0` after it: one process).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
exec .venv/bin/python -m pytest tests -n auto --dist loadfile "$@"
