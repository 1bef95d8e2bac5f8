#!/usr/bin/env bash
# The README's main command: set up .venv (idempotent), then run `ember demo`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_env.sh
exec .venv/bin/ember demo "$@"
