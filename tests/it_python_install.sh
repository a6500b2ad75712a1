#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_python_install: `pip install ./python` works offline into a venv made by Debian's
# python3 (--system-site-packages, --no-build-isolation: setuptools from
# python3-setuptools), and the installed package - not the source tree - reads a live
# daemon and agrees with the CLI on the node's CPU count.
. "$(dirname "$0")/lib.sh"
PY=/usr/bin/python3
[ -x "$PY" ] || ir_skip "/usr/bin/python3 not installed"
"$PY" -c 'import venv, ensurepip' 2>/dev/null || ir_skip "python3-venv not installed"
"$PY" -c 'import setuptools' 2>/dev/null || ir_skip "python3-setuptools not installed"
[ "$(uname -m)" = x86_64 ] || ir_skip "the Python reader supports x86-64 only"
cp -r "$INFOREG_TOP/python" "$IR_TMP/src" # the build leaves files beside the sources
"$PY" -m venv --system-site-packages "$IR_TMP/venv" || ir_fail "venv"
"$IR_TMP/venv/bin/pip" install -q --no-index --no-build-isolation "$IR_TMP/src" >"$IR_TMP/pip.log" 2>&1 ||
	{ cat "$IR_TMP/pip.log" >&2; ir_fail "pip install ./python"; }
ir_start_daemon --listen none --no-ebpf
cd "$IR_TMP" || exit 1
out=$("$IR_TMP/venv/bin/python" - "$IR_SHM" "$IR_TMP/venv" <<'PY'
import sys, inforeg
assert inforeg.__file__.startswith(sys.argv[2]), "imported from " + inforeg.__file__
r = inforeg.open(sys.argv[1])
print(int(r.get("cpu.count")))
PY
) || ir_fail "the installed package failed: $out"
want=$("$IRCLI" get --shm "$IR_SHM" cpu.count | awk '{print int($2)}')
[ "$out" = "$want" ] || ir_fail "installed reader says cpu.count=$out, the CLI $want"
"$IR_TMP/venv/bin/pip" show inforeg | grep -q '^Version: 0.1.0' || ir_fail "pip show inforeg"
echo "ok: installed into a venv, cpu.count=$out as the CLI"
