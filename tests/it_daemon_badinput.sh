#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_daemon_badinput: inforegd refuses bad input clearly: unknown flag, unreadable and
# malformed config (FILE:LINE:COLUMN, exit 2), a shm name held by a live daemon (exit
# 1, the live object untouched); --help and --version work.
. "$(dirname "$0")/lib.sh"

expect() { # want_rc want_stderr_regex args...
	local want=$1 re=$2; shift 2
	local out rc
	out=$("$IRD" "$@" 2>&1 >/dev/null); rc=$?
	[ "$rc" -eq "$want" ] || ir_fail "inforegd $*: exit $rc, wanted $want ($out)"
	[[ $out =~ $re ]] || ir_fail "inforegd $*: message '$out' does not match '$re'"
	echo "ok: inforegd $* -> $rc: $out"
}

expect 2 "unknown option '--bogus'" --bogus
expect 2 "--period: expected an integer from 1 to 60000, got 'fast'" --period fast
expect 2 "--listen: expected ADDR:PORT" --listen nowhere
expect 2 "/nonexistent/inforeg.conf: No such file or directory" --config /nonexistent/inforeg.conf

cfg=$IR_TMP/bad.conf
printf '# a comment\nperiod_ms = 100\n  colour = blue\n' > "$cfg"
expect 2 "^inforegd: $cfg:3:3: unknown key 'colour'" --config "$cfg"
printf 'period_ms = 100\nhistory_s = -4\n' > "$cfg"
expect 2 "^inforegd: $cfg:2:13: history_s: expected an integer" --config "$cfg"
printf 'period_ms 100\n' > "$cfg"
expect 2 "^inforegd: $cfg:1:11: expected '=' after 'period_ms'" --config "$cfg"
printf 'shm_mode = 0666\n' > "$cfg"
expect 2 "^inforegd: $cfg:1:12: shm_mode: expected an octal mode" --config "$cfg"
printf 'watch = job pid:notanumber\n' > "$cfg"
expect 2 "^inforegd: $cfg:1:13: watch:" --config "$cfg"
chmod 000 "$cfg"
if [ "$(id -u)" -ne 0 ]; then expect 2 "$cfg: Permission denied" --config "$cfg"; fi

"$IRD" --help | grep -q -- "--shm NAME" || ir_fail "--help does not document --shm"
"$IRD" --version | grep -Eq '^inforegd [0-9]+\.[0-9]+\.[0-9]+' || ir_fail "--version"

# a live daemon's name is refused and its object is left alone
ir_start_daemon --listen none
gen1=$("$IRCLI" status --json --shm "$IR_SHM" | python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"])')
out=$("$IRD" --shm "$IR_SHM" --listen none 2>&1); rc=$?
[ $rc -eq 1 ] || ir_fail "second daemon on $IR_SHM exited $rc: $out"
[[ $out == *"in use by a live inforegd (pid $IR_PID)"* ]] || ir_fail "message: $out"
kill -0 "$IR_PID" || ir_fail "the first daemon died"
sleep 0.3
gen2=$("$IRCLI" status --json --shm "$IR_SHM" | python3 -c 'import json,sys; print(json.load(sys.stdin)["generation"])')
[ "$gen1" = "$gen2" ] || ir_fail "the live registry was replaced ($gen1 -> $gen2)"
"$IRCLI" get --shm "$IR_SHM" cpu.usage >/dev/null || ir_fail "registry unreadable after the refused start"
perm=$(stat -c %a "/dev/shm/$IR_SHM")
[ "$perm" = 644 ] || ir_fail "registry mode $perm, wanted 644"
echo "ok: live name refused (generation $gen1 kept), mode $perm"

# mode and group are configurable; group/other write is never granted
grp=$(getent group nogroup >/dev/null && echo nogroup || echo "$(id -gn)")
printf 'shm_mode = 0640\nshm_group = %s\n' "$grp" > "$cfg"
chmod 644 "$cfg"
ir_start_daemon --listen none --config "$cfg"
st=$(stat -c '%a %G' "/dev/shm/$IR_SHM")
[ "$st" = "640 $grp" ] || ir_fail "registry with shm_mode 0640, shm_group $grp: $st"
echo "ok: mode and group applied ($st)"

# a REST address already taken: a clear message, exit 1, nothing left in /dev/shm
# (the holder binds port 0 and says which port it got: a port picked free beforehand can
# be in TIME_WAIT from a client connection on a busy machine, or taken in between)
/usr/bin/python3 -c 'import socket,sys,time
s=socket.socket(); s.bind(("127.0.0.1",0)); s.listen()
open(sys.argv[1],"w").write("%d\n" % s.getsockname()[1]); time.sleep(30)' "$IR_TMP/held-port" &
holder=$!
IR_PIDS+=("$holder")
for _ in $(seq 50); do [ -s "$IR_TMP/held-port" ] && break; sleep 0.1; done
port=$(cat "$IR_TMP/held-port")
shm=irt-busy-$$
out=$(timeout 20 "$IRD" --shm "$shm" --listen "127.0.0.1:$port" 2>&1); rc=$?
[ $rc -eq 1 ] || ir_fail "busy REST port: exit $rc ($out)"
[[ $out == *"127.0.0.1:$port: Address already in use"* ]] || ir_fail "busy REST port message: $out"
[ ! -e "/dev/shm/$shm" ] && [ ! -e "/dev/shm/$shm.lock" ] || ir_fail "busy REST port left /dev/shm/$shm behind"
kill "$holder"
echo "ok: busy REST address refused clearly"
