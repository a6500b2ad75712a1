#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# it_format: the C sources follow the committed .clang-format (make check-format).
. "$(dirname "$0")/lib.sh"
command -v clang-format >/dev/null || ir_skip "clang-format is not installed"
cd "$INFOREG_TOP" || ir_fail "no top"
out=$(make -s --no-print-directory check-format 2>&1) || ir_fail "not clang-formatted:
$(echo "$out" | grep 'error:' | head -20)"
echo "ok: clang-format clean"
