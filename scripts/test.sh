#!/usr/bin/env bash
# Set up the environment and run the test suite (without the slow-marked tests unless other
# pytest arguments are given: `bash scripts/test.sh -m slow` runs those, `-m ""` everything).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ "$#" -eq 0 ]; then
    set -- -m "not slow"
fi
exec .venv/bin/python -m pytest -q "$@"
