#!/bin/sh
# SPDX-License-Identifier: MIT
# Install the Debian packages listed in scripts/debian-packages.txt that are missing.
# Idempotent and quiet when everything is present; runs `apt-get update` once when
# something has to be installed. Needs root (or sudo) only when something is missing.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
list="$here/debian-packages.txt"
missing=""
for p in $(sed -e 's/#.*//' "$list"); do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0
echo "install-deps: installing (apt-get, can take a few minutes):$missing"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	command -v sudo >/dev/null 2>&1 || { echo "install-deps: need root to install:$missing" >&2; exit 1; }
	SUDO=sudo
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q >/dev/null
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null
echo "install-deps: done"
