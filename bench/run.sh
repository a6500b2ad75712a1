#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# bench/run.sh [BUILD_DIR] - what `make bench` runs: every benchmark through the harness
# (bench/harness.py; QUICK=1 for the smoke run). Extra arguments go to the harness.
set -u
B=${1:-build}
shift || true
exec /usr/bin/python3 "$(dirname "$0")/harness.py" --build "$B" "$@"
