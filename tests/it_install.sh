#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_install: `make install` as a user meets it.
#  1. Into a scratch PREFIX: the programs (the extender too), both libraries (versioned
#     symbols, no internal ones), headers, inforeg.pc, the man pages, the bash
#     completion, the systemd unit (pointing at PREFIX/bin) and the README with the
#     sample configuration; the README's C example is tests/readme_example.c.
#  2. Into the real /usr/local, the way the README says, inside private mount and
#     network namespaces (tmpfs over /usr/local and /dev/shm, a private copy of /etc
#     without /etc/inforeg, a private loopback), so nothing of this machine
#     changes: after `make install PREFIX=/usr/local` (which runs ldconfig) the example
#     builds with pkg-config and runs with no LD_LIBRARY_PATH, `man` finds the pages,
#     and the unit's own ExecStart runs the daemon without a configuration file.
. "$(dirname "$0")/lib.sh"
cd "$INFOREG_TOP" || ir_fail "no top"
prefix=$IR_TMP/prefix
make -s --no-print-directory install PREFIX="$prefix" BUILD="$INFOREG_BUILD" >"$IR_TMP/install.log" 2>&1 ||
	ir_fail "make install: $(tail -5 "$IR_TMP/install.log")"
for f in bin/inforegd bin/inforeg bin/inforeg-extender lib/libinforeg.a lib/libinforeg.so.0 include/inforeg.h \
	include/inforeg_layout.h lib/pkgconfig/inforeg.pc share/man/man1/inforeg.1 share/man/man3/libinforeg.3 \
	share/man/man8/inforegd.8 share/bash-completion/completions/inforeg lib/systemd/system/inforegd.service \
	share/doc/inforeg/README.md share/doc/inforeg/inforegd.conf; do
	[ -e "$prefix/$f" ] || ir_fail "not installed: $f"
done
grep -q "^ExecStart=$prefix/bin/inforegd --config-if-present /etc/inforeg/inforegd.conf$" \
	"$prefix/lib/systemd/system/inforegd.service" || ir_fail "the unit does not start PREFIX/bin/inforegd"
grep -q '@PREFIX@' "$prefix/lib/systemd/system/inforegd.service" && ir_fail "@PREFIX@ left in the unit"
objdump -T "$prefix/lib/libinforeg.so.0" | grep -q 'INFOREG_0.1 *inforeg_read_latest' ||
	ir_fail "inforeg_read_latest is not versioned INFOREG_0.1"
objdump -T "$prefix/lib/libinforeg.so.0" | grep -E ' (ring|shm)_' && ir_fail "internal symbols exported"

# the README's code block is exactly the example we build
/usr/bin/python3 - "$INFOREG_TOP/README.md" "$INFOREG_TOP/tests/readme_example.c" <<'PY' || ir_fail "README example differs from tests/readme_example.c"
import sys
readme, ex = open(sys.argv[1]).read(), open(sys.argv[2]).read()
start = readme.index("## The client library in ten lines")
block = readme[readme.index("```c\n", start) + 5:]
block = block[:block.index("```")]
sys.exit(0 if block == ex else 1)
PY

# 2. the real thing, in namespaces of its own
[ "$(id -u)" = 0 ] || ir_skip "installing into /usr/local needs root"
command -v unshare >/dev/null || ir_fail "unshare is not installed (util-linux)"
unshare -m -n --propagation private bash -s "$INFOREG_TOP" "$INFOREG_BUILD" "$IR_TMP" >"$IR_TMP/user.log" 2>&1 <<'SH' ||
set -eu
top=$1 build=$2 tmp=$3
ip link set lo up
mount -t tmpfs tmpfs /usr/local
mount -t tmpfs tmpfs /dev/shm
# a private /etc: ldconfig renames a new ld.so.cache into it; no /etc/inforeg/inforegd.conf
cp -a /etc "$tmp/etc" && mount --bind "$tmp/etc" /etc
rm -rf /etc/inforeg
cd "$top"
make -s --no-print-directory install PREFIX=/usr/local BUILD="$build"
cd "$tmp"
cp "$top/tests/readme_example.c" app.c
# exactly the README's line
cc app.c $(pkg-config --cflags --libs inforeg) -o app
unset LD_LIBRARY_PATH
ldd ./app | grep -q '/usr/local/lib/libinforeg.so.0' || { echo "ldd: $(ldd ./app)"; exit 1; }
man -w inforegd | grep -q '^/usr/local/share/man/man8/inforegd.8' || { echo "man -w inforegd: $(man -w inforegd 2>&1)"; exit 1; }
# the unit's ExecStart, as systemd would run it, with /etc/inforeg/inforegd.conf absent
exec_start=$(sed -n 's/^ExecStart=//p' /usr/local/lib/systemd/system/inforegd.service)
$exec_start > daemon.log 2>&1 &
pid=$!
ok=
for _ in $(seq 50); do
	kill -0 $pid 2>/dev/null || { echo "the unit's command exited: $(cat daemon.log)"; exit 1; }
	/usr/local/bin/inforeg get cpu.usage >/dev/null 2>&1 && { ok=1; break; }
	sleep 0.1
done
[ -n "$ok" ] || { echo "no registry from the unit's command: $(cat daemon.log)"; exit 1; }
grep -q "does not exist: running on the embedded default" daemon.log || { echo "log: $(cat daemon.log)"; exit 1; }
curl -sf --http2-prior-knowledge http://127.0.0.1:9470/healthz >/dev/null || { echo "no REST on the default port"; exit 1; }
out=$(./app)
echo "$out"
kill -TERM $pid; wait $pid || true
[ "$(echo "$out" | grep -cE '^seq [0-9]+ cpu.usage [0-9.]+%$')" -ge 4 ] || { echo "example printed: $out"; exit 1; }
SH
	ir_fail "installing as a user would: $(tail -8 "$IR_TMP/user.log")"
cat "$IR_TMP/user.log"
ls /usr/local/lib/libinforeg.so.0 2>/dev/null && ir_fail "the test changed this machine's /usr/local"
echo "ok: installed; in /usr/local the example built with pkg-config, ran without LD_LIBRARY_PATH, man found the pages, the unit ran with no config"
