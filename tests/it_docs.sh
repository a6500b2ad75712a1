#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_docs: the manual pages render without a warning (groff -ww) and say what the
# programs do: every flag of `inforegd --help` is in inforegd(8), every command of
# `inforeg --help` in inforeg(1), every function of include/inforeg.h in libinforeg(3);
# the bash completion completes commands and live series names from the registry.
. "$(dirname "$0")/lib.sh"
command -v groff >/dev/null || ir_skip "groff is not installed"
cd "$INFOREG_TOP" || ir_fail "no top"
for p in daemon/inforegd.8 cli/inforeg.1 shm/libinforeg.3; do
	w=$(groff -man -Tutf8 -ww -z "$p" 2>&1)
	[ -z "$w" ] || ir_fail "$p: $w"
done
page() { groff -man -Tutf8 -rLL=250n -rHY=0 -P-cbou "$1" 2>/dev/null | tr -s ' ' | sed 's/\xe2\x80\x90/-/g'; }
d8=$(page daemon/inforegd.8); c1=$(page cli/inforeg.1); l3=$(page shm/libinforeg.3)
for f in $("$IRD" --help | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
	grep -qF -- "$f" <<<"$d8" || ir_fail "inforegd(8) does not describe $f"
done
for c in $("$IRCLI" --help | awk 'NR > 1 && /^  [a-z]/ {print $1}'); do
	grep -qE "^ *$c( |$)" <<<"$c1" || ir_fail "inforeg(1) does not describe the command $c"
done
for o in $("$IRCLI" --help | grep -oE -- '--[a-z]+' | sort -u); do
	grep -qF -- "$o" <<<"$c1" || ir_fail "inforeg(1) does not describe $o"
done
for fn in $(grep -oE '\binforeg_[a-z_]+\(' include/inforeg.h | tr -d '(' | sort -u); do
	grep -qF "$fn" <<<"$l3" || ir_fail "libinforeg(3) does not describe $fn()"
done

ir_start_daemon --listen none
out=$(PATH=$INFOREG_BUILD/bin:$PATH bash -c '
	. cli/inforeg.bash-completion
	COMP_WORDS=(inforeg st); COMP_CWORD=1; _inforeg; echo "cmds: ${COMPREPLY[*]}"
	COMP_WORDS=(inforeg --shm "$1" get "cpu.us"); COMP_CWORD=4; _inforeg; echo "series: ${COMPREPLY[*]}"' _ "$IR_SHM")
grep -q "^cmds: status$" <<<"$out" || ir_fail "completion of 'st': $out"
grep -q "^series: .*cpu.usage" <<<"$out" || ir_fail "completion of series names: $out"
echo "ok: man pages render and cover every flag, command and function; completion works"
