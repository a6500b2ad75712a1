#!/bin/sh
# SPDX-License-Identifier: MIT
# Checks, without installing anything, that what `make` needs to build is present:
# the libraries through pkg-config, the compilers and tools on PATH. Names each
# missing piece with the Debian package that provides it and exits 1; silent and 0
# when everything is there. Plain `make` runs this; `make deps` (and `make run`,
# `make test`) install instead (scripts/install-deps.sh, root and apt).
set -u
missing=""
# pkg-config module : Debian package
for m in liburing:liburing-dev libbpf:libbpf-dev libelf:libelf-dev zlib:zlib1g-dev \
	libh2o-evloop:libh2o-evloop-dev jansson:libjansson-dev openssl:libssl-dev; do
	mod=${m%%:*} pkg=${m#*:}
	if ! command -v pkg-config >/dev/null 2>&1; then
		missing="$missing pkg-config(pkg-config)"
		break
	fi
	pkg-config --exists "$mod" || missing="$missing $mod($pkg)"
done
# tool : Debian package (the compiler make uses, clang for the eBPF programs)
for t in "${CC:-gcc}:gcc" clang:clang bpftool:bpftool; do
	tool=${t%%:*} pkg=${t#*:}
	command -v "$tool" >/dev/null 2>&1 || missing="$missing $tool($pkg)"
done
[ -z "$missing" ] && exit 0
echo "check-deps: missing:$missing" >&2
echo "check-deps: install them (Debian package in parentheses), or run 'make deps' as root" >&2
exit 1
