#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_install: `make install PREFIX=...` installs the programs (the extender too), both libraries, the
# headers and inforeg.pc; the README's client example (kept identical to
# tests/readme_example.c) builds with pkg-config against the installed shared library
# (versioned symbols) and reads live samples from the real daemon.
. "$(dirname "$0")/lib.sh"
cd "$INFOREG_TOP" || ir_fail "no top"
prefix=$IR_TMP/prefix
make -s --no-print-directory install PREFIX="$prefix" BUILD="$INFOREG_BUILD" >"$IR_TMP/install.log" 2>&1 ||
	ir_fail "make install: $(tail -5 "$IR_TMP/install.log")"
for f in bin/inforegd bin/inforeg bin/inforeg-extender lib/libinforeg.a lib/libinforeg.so.0 include/inforeg.h \
	include/inforeg_layout.h lib/pkgconfig/inforeg.pc; do
	[ -e "$prefix/$f" ] || ir_fail "not installed: $f"
done
objdump -T "$prefix/lib/libinforeg.so.0" | grep -q 'INFOREG_0.1 *inforeg_read_latest' ||
	ir_fail "inforeg_read_latest is not versioned INFOREG_0.1"
objdump -T "$prefix/lib/libinforeg.so.0" | grep -E ' (ring|shm)_' && ir_fail "internal symbols exported"

# the README's code block is exactly the example we build
python3 - "$INFOREG_TOP/README.md" "$INFOREG_TOP/tests/readme_example.c" <<'PY' || ir_fail "README example differs from tests/readme_example.c"
import sys
readme, ex = open(sys.argv[1]).read(), open(sys.argv[2]).read()
start = readme.index("## The client library in ten lines")
block = readme[readme.index("```c\n", start) + 5:]
block = block[:block.index("```")]
sys.exit(0 if block == ex else 1)
PY

export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
# shellcheck disable=SC2046
cc -std=gnu11 -Wall -Wextra -Werror -o "$IR_TMP/example" "$INFOREG_TOP/tests/readme_example.c" \
	$(pkg-config --cflags --libs inforeg) || ir_fail "the README example does not build"
ir_start_daemon --listen none
out=$(INFOREG_SHM=$IR_SHM LD_LIBRARY_PATH=$prefix/lib "$IR_TMP/example") || ir_fail "example failed: $out"
echo "$out"
[ "$(echo "$out" | grep -cE '^seq [0-9]+ cpu.usage [0-9.]+%$')" -ge 4 ] || ir_fail "example printed: $out"
ldd "$IR_TMP/example" | grep -q "$prefix/lib/libinforeg.so.0" 2>/dev/null ||
	LD_LIBRARY_PATH=$prefix/lib ldd "$IR_TMP/example" | grep -q "$prefix/lib/libinforeg.so.0" ||
	ir_fail "example not linked against the installed shared library"
echo "ok: installed, example built with pkg-config and read live samples"
