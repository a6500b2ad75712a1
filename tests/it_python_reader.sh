#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_python_reader: the Python reader (python/inforeg) against the real daemon - the
# same values as libinforeg at the same positions and as `inforeg dump --json`, wait()
# sleeping on the futex and waking on a publish, following a restart (SIGTERM and
# SIGKILL) and a layout change (SIGHUP reload, PUT /v1/watch), the exceptions.
# The cases are unittest cases in tests/py/test_python_reader.py.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || ir_skip "/usr/bin/python3 not installed"
[ "$(uname -m)" = x86_64 ] || ir_skip "the Python reader supports x86-64 only (see python/inforeg/reader.py)"
[ -f "$INFOREG_BUILD/lib/libinforeg.so" ] || ir_fail "no $INFOREG_BUILD/lib/libinforeg.so: build first"
cd "$INFOREG_TOP" || exit 1
INFOREG_BUILD=$INFOREG_BUILD "$PY" -m unittest -v tests/py/test_python_reader.py
