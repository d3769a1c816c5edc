#!/usr/bin/env bash
# Set up the environment and regenerate every paper figure in quick mode into out/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/collapse-lab repro all --quick --out out "$@"
