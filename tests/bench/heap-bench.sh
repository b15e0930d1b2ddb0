#!/bin/sh
# heap-bench.sh - time goheap on cores of large heaps.
#
#   sh tests/bench/heap-bench.sh GOHEAP [N ...]    (default N: 1000000 10000000)
#
# Builds tests/bench/heapgen with the machine's go, takes a kernel core of
# it for each N (cached in $GOHEAP_BENCH_DIR, default /tmp/goheap-bench),
# and prints, per command, wall seconds, peak RSS and bytes per heap object
# (GNU time's figures).  Not a test: machines here are noisy, so compare
# medians of several runs, never assert on time.
set -eu
goheap=$(cd "$(dirname "$1")" && pwd)/$(basename "$1"); shift
src=$(cd "$(dirname "$0")" && pwd)/heapgen
dir=${GOHEAP_BENCH_DIR:-/tmp/goheap-bench}
mkdir -p "$dir"
(cd "$src" && go build -o "$dir/heapgen" .)
[ $# -gt 0 ] || set -- 1000000 10000000
for n in "$@"; do
	d=$dir/n$n
	if [ ! -f "$d/core" ] || [ "$d/core" -ot "$dir/heapgen" ]; then
		rm -rf "$d"; mkdir -p "$d"
		(cd "$d" && ulimit -c unlimited &&
		 GOTRACEBACK=crash "$dir/heapgen" "$n" 2>/dev/null || true)
		[ -f "$d/core" ] || { echo "heap-bench: no core for N=$n (core_pattern?)" >&2; exit 1; }
	fi
	objs=$("$goheap" info "$d/core" "$dir/heapgen" --format json |
		sed -n 's/^ *"objects": \([0-9]*\).*/\1/p' | head -1)
	printf 'N=%s: %s heap objects, core %s MiB\n' "$n" "$objs" \
		$(( $(stat -c %s "$d/core") / 1048576 ))
	for cmd in info histogram; do
		for run in 1 2 3; do
			/usr/bin/time -f '%e %M' "$goheap" $cmd "$d/core" "$dir/heapgen" \
				>/dev/null 2>>"$d/time.$cmd.$$"
		done
		sort -n "$d/time.$cmd.$$" | sed -n 2p | while read -r wall kib; do
			printf '  %-10s median wall %s s, peak RSS %s MiB, %s B/object\n' \
				"$cmd" "$wall" $((kib / 1024)) $((kib * 1024 / objs))
		done
		rm -f "$d/time.$cmd.$$"
	done
done
