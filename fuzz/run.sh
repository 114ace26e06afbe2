#!/usr/bin/env bash
# Fuzz every target for a bounded time (default 60 s in total): fuzz/run.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python fuzz/run.py --seconds "${1:-60}"
