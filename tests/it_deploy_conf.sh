#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_deploy_conf: the sample configuration shipped in deploy/ is valid: the real daemon
# starts with it (on a private shm name and port) and serves.
. "$(dirname "$0")/lib.sh"
conf=$IR_TMP/inforegd.conf
cp "$INFOREG_TOP/deploy/inforegd.conf" "$conf"
ir_start_daemon --config "$conf"
"$IRCLI" status --json --shm "$IR_SHM" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["config"].endswith("inforegd.conf") and d["period_ms"] == 100, d' || ir_fail "status after deploy config"
echo "ok: deploy/inforegd.conf accepted"
