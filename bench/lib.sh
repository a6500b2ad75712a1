# SPDX-License-Identifier: MIT
# bench/lib.sh - the result format (bench/benchlib.py) for shell benches, and the small
# things every shell bench needs. Source it: . "$(dirname "$0")/lib.sh"
#   bench_result BENCH METRIC UNIT [-b BASELINE_METRIC] VALUE...   one @result line
#       over the values (median, min, max; the median of an even count is the mean of
#       the two middle values, as benchlib.stats); no value or a non-number exits
#       the script (a bench that lost a figure must not look complete)
#   bench_note BENCH TEXT...                                      one @note line
#   bench_port                                                    a free loopback port
#   bench_wait_http URL                                           until it answers (10 s)
# QUICK is 1 in a quick (smoke) run of the harness.
QUICK=${QUICK:-}

bench_result() {
	local bench=$1 metric=$2 unit=$3 base=
	shift 3
	if [ "${1:-}" = -b ]; then
		base=$2
		shift 2
	fi
	[ $# -gt 0 ] || { echo "bench_result $bench $metric: no values" >&2; exit 1; }
	printf '%s\n' "$@" | sort -g | awk -v b="$bench" -v m="$metric" -v u="$unit" -v base="$base" '
		$1 !~ /^[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?$/ { bad = 1 }
		{ v[NR] = $1 + 0 }
		END {
			if (bad || NR == 0) { printf "bench_result %s %s: not numbers\n", b, m > "/dev/stderr"; exit 1 }
			med = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
			printf "@result %s %s %s %.6g %.6g %.6g%s\n", b, m, u, med, v[1], v[NR], base == "" ? "" : " " base
		}' || exit 1
}

bench_note() {
	local bench=$1
	shift
	echo "@note $bench $*"
}

bench_port() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

bench_wait_http() {
	for _ in $(seq 100); do
		curl -s -o /dev/null "$1" && return 0
		sleep 0.1
	done
	echo "no answer from $1" >&2
	return 1
}
