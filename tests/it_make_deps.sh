#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_make_deps: plain `make` never installs packages. Only `make run`, `make test` and
# `make deps` reach scripts/install-deps.sh (apt-get); `make` and `make all` run the
# pkg-config check instead, which names what is missing (a Debian package for each)
# and stops the build before compiling anything.
. "$(dirname "$0")/lib.sh"
command -v make >/dev/null || ir_skip "make not installed"
cd "$INFOREG_TOP" || ir_fail "no source tree"
B=$IR_TMP/b # a build directory with no stamps yet
for goal in "" all tests; do
	out=$(make -n BUILD="$B" $goal 2>&1)
	echo "$out" | grep -q install-deps.sh && ir_fail "make $goal would run install-deps.sh"
	echo "$out" | grep -q check-deps.sh || ir_fail "make $goal does not check the packages"
done
for goal in deps test run; do
	make -n BUILD="$B" $goal 2>&1 | grep -q install-deps.sh || ir_fail "make $goal does not install packages"
done
# a machine without the libraries: the check names them and make stops
out=$(PKG_CONFIG_LIBDIR=$IR_TMP/none PKG_CONFIG_PATH= make BUILD="$B" all 2>&1)
rc=$?
[ $rc -ne 0 ] || ir_fail "make succeeded without the libraries"
echo "$out" | grep -q "libh2o-evloop-dev" || ir_fail "the check does not name libh2o-evloop-dev: $out"
echo "$out" | grep -q "make deps" || ir_fail "the check does not say how to install: $out"
echo "$out" | grep -qE '^ *CC |apt-get' && ir_fail "make compiled or ran apt-get before the check failed: $out"
echo "ok: $(echo "$out" | head -n 1)"
