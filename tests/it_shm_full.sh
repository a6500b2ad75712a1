#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_shm_full: a /dev/shm without room (a small tmpfs in a private mount and network
# namespace). Start-up exits 1 with "not enough space in /dev/shm: need N bytes" and
# leaves nothing behind (no SIGBUS, no NAME.new.PID, no lock). A SIGHUP whose series set
# needs a new object is refused as a whole: the old object, configuration and period
# stay, status says "refused", and every value stays under its own name (mem.total is
# checked exactly after a set that grew and one that shrank at the front). A new
# interface (a layout change inside the tick) that cannot get its object keeps the old
# one published, matched by name, and gets its object once there is room, continuing
# the sequence. Also: a lock file planted as a symlink is refused, its target untouched.
if [ -z "${IR_IN_NS:-}" ]; then
	[ "$(id -u)" = 0 ] || { echo "SKIP: needs root for a private mount namespace"; exit 77; }
	command -v unshare >/dev/null || { echo "SKIP: unshare (util-linux) not installed"; exit 77; }
	IR_IN_NS=1 exec unshare -m -n --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
command -v ip >/dev/null || ir_skip "ip (iproute2) not installed"
ip link set lo up
mount -t tmpfs -o size=256k tmpfs /dev/shm || ir_fail "cannot mount a tmpfs over /dev/shm"
PY=/usr/bin/python3

# ---- 1. start-up without room --------------------------------------------------------
timeout 20 "$IRD" --shm irt-full --listen none --no-ebpf >"$IR_TMP/start.log" 2>&1
rc=$?
[ "$rc" = 1 ] || ir_fail "start in a 256 KiB /dev/shm exited $rc (135 is SIGBUS), want 1: $(cat "$IR_TMP/start.log")"
grep -q "not enough space in /dev/shm: need [0-9]* bytes" "$IR_TMP/start.log" ||
	ir_fail "no 'not enough space' message: $(cat "$IR_TMP/start.log")"
left=$(ls -A /dev/shm)
[ -z "$left" ] || ir_fail "left behind in /dev/shm: $left"
echo "start: $(grep -o 'not enough space.*' "$IR_TMP/start.log"), nothing left behind"

# ---- 2. a reload that needs a new object, refused --------------------------------------
umount /dev/shm
mount -t tmpfs -o size=32m tmpfs /dev/shm || ir_fail "cannot mount a 32 MiB tmpfs"
IR_SHM=irt-full2
IR_LOG=$IR_TMP/daemon.log
cfg=$IR_TMP/inforeg.conf
printf 'period_ms = 100\ndisable = cpu\n' >"$cfg"
"$IRD" --shm "$IR_SHM" --listen none --no-ebpf --config "$cfg" >"$IR_LOG" 2>&1 &
IR_PID=$!
IR_PIDS+=("$IR_PID")
for _ in $(seq 100); do "$IRCLI" get --shm "$IR_SHM" mem.total >/dev/null 2>&1 && break; sleep 0.1; done
"$IRCLI" get --shm "$IR_SHM" mem.total >/dev/null || ir_fail "daemon did not start"

memtotal=$($PY -c 'print([int(l.split()[1]) * 1024 for l in open("/proc/meminfo") if l.startswith("MemTotal:")][0])')
status() { "$IRCLI" status --json --shm "$IR_SHM"; }
field() { status | $PY -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
check_names() { # mem.total must be exactly /proc/meminfo's, whatever moved around it
	local v
	v=$("$IRCLI" get --json --shm "$IR_SHM" mem.total | $PY -c 'import json,sys; print(int(json.load(sys.stdin)["mem.total"]))')
	[ "$v" = "$memtotal" ] || ir_fail "$1: mem.total reads $v, /proc/meminfo says $memtotal (values under the wrong names)"
}
head_now() { # the header's head word (offset 256, inforeg_layout.h), read directly
	$PY -c "import struct; f=open('/dev/shm/$IR_SHM','rb'); f.seek(256); print(struct.unpack('<Q', f.read(8))[0])"
}
fill() { dd if=/dev/zero of=/dev/shm/filler bs=64k >/dev/null 2>&1; true; }
ino() { stat -c %i "/dev/shm/$IR_SHM"; }
reload_count=0
hup_and_wait() { # waits for the next "reload" log line
	reload_count=$((reload_count + 1))
	kill -HUP "$IR_PID"
	for _ in $(seq 100); do
		[ "$(grep -c -E 'configuration reloaded|reload refused|reload failed' "$IR_LOG")" -ge "$reload_count" ] && return 0
		sleep 0.1
	done
	ir_fail "no reload result logged"
}

check_names "before any reload"
ino0=$(ino)
fill
printf 'period_ms = 50\n' >"$cfg" # cpu.* back at the front of the set: every index moves
hup_and_wait
grep -q "reload refused: not enough space in /dev/shm: need [0-9]* bytes" "$IR_LOG" ||
	ir_fail "refused reload not logged: $(tail -n 5 "$IR_LOG")"
kill -0 "$IR_PID" || ir_fail "the daemon died on a refused reload"
[ "$(field 'd["reload"]["result"]')" = refused ] || ir_fail "status does not say refused: $(status)"
field 'd["reload"]["error"]' | grep -q "not enough space" || ir_fail "status reload error: $(status)"
[ "$(field 'd["period_ms"]')" = 100 ] || ir_fail "a refused reload changed the period"
[ "$(ino)" = "$ino0" ] || ir_fail "the object was replaced"
h1=$(head_now); sleep 0.5; h2=$(head_now)
[ "$h2" -gt "$h1" ] || ir_fail "the old object stopped advancing ($h1 -> $h2)"
check_names "after a refused reload that grows the set"
"$IRCLI" get --shm "$IR_SHM" cpu.usage >/dev/null 2>&1 && ir_fail "cpu.usage published without its object"
ls /dev/shm | grep -q '\.new\.' && ir_fail "a NAME.new.PID object was left behind"
echo "refused reload (grow): kept object, period and names; status reload.result=refused"

# room again: the same reload now applies, and the sequence goes on
rm -f /dev/shm/filler
hb=$(head_now)
hup_and_wait
grep -q "configuration reloaded" "$IR_LOG" || ir_fail "reload with room not applied: $(tail -n 5 "$IR_LOG")"
[ "$(field 'd["reload"]["result"]')" = applied ] || ir_fail "status after the applied reload: $(status)"
"$IRCLI" get --shm "$IR_SHM" cpu.usage >/dev/null || ir_fail "cpu.usage missing after the applied reload"
ha=$(head_now)
[ "$ha" -ge "$hb" ] || ir_fail "the sequence restarted: head $hb before the new object, $ha after"
check_names "after the applied reload"

# shrink at the front, refused: the over-read / shifted-name case
fill
printf 'period_ms = 50\ndisable = cpu\n' >"$cfg"
hup_and_wait
[ "$(grep -c 'reload refused' "$IR_LOG")" = 2 ] || ir_fail "shrinking reload not refused"
check_names "after a refused reload that shrinks the set"
"$IRCLI" get --shm "$IR_SHM" cpu.usage >/dev/null || ir_fail "cpu.usage gone after a refused reload"
echo "refused reload (shrink): names kept"

# ---- 3. a layout change inside the tick (a new interface) without room ---------------
hf=$(head_now)
ip link add irv0 type veth peer name irv1 || ir_fail "cannot add a veth pair"
for _ in $(seq 50); do grep -q "publishing the new series set failed" "$IR_LOG" && break; sleep 0.1; done
grep -q "publishing the new series set failed (not enough space in /dev/shm" "$IR_LOG" ||
	ir_fail "the failed republish is not logged: $(tail -n 5 "$IR_LOG")"
field 'd["layout_pending"]["error"]' | grep -q "not enough space" || ir_fail "status has no layout_pending: $(status)"
"$IRCLI" list --shm "$IR_SHM" | grep -q irv0 && ir_fail "irv0 published without its object"
check_names "while the new interface waits for room"
h1=$(head_now); sleep 0.5; h2=$(head_now)
[ "$h2" -gt "$h1" ] || ir_fail "publishing stopped while the republish is pending"
rm -f /dev/shm/filler
for _ in $(seq 50); do "$IRCLI" list --shm "$IR_SHM" | grep -q irv0 && break; sleep 0.1; done
"$IRCLI" list --shm "$IR_SHM" | grep -q 'dev="irv0"' || ir_fail "irv0 never published once there was room"
hn=$(head_now)
[ "$hn" -ge "$hf" ] || ir_fail "the sequence restarted at the retried republish ($hf -> $hn)"
status | $PY -c 'import json,sys; sys.exit("layout_pending" in json.load(sys.stdin))' ||
	ir_fail "layout_pending still reported after the republish"
check_names "after the retried republish"
echo "tick-path republish: old object kept by name while full, new one on room, seq $hf -> $hn"
kill -TERM "$IR_PID"
wait "$IR_PID"
left=$(ls -A /dev/shm)
[ -z "$left" ] || ir_fail "left behind after a clean exit: $left"

# ---- 4. a lock file planted as a symlink ------------------------------------------------
echo precious >"$IR_TMP/target"
ln -s "$IR_TMP/target" /dev/shm/irt-lock.lock
"$IRD" --shm irt-lock --listen none --no-ebpf >"$IR_TMP/lock.log" 2>&1
rc=$?
[ "$rc" = 1 ] || ir_fail "a symlinked lock file: exit $rc, want 1"
grep -q "symbolic link" "$IR_TMP/lock.log" || ir_fail "no message about the symlink: $(cat "$IR_TMP/lock.log")"
[ "$(cat "$IR_TMP/target")" = precious ] || ir_fail "the symlink's target was written"
[ -e /dev/shm/irt-lock ] && ir_fail "an object was published without the lock"
echo "ok: full /dev/shm at start, refused reloads, pending republish, planted lock symlink"
