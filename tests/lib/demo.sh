#!/bin/sh
# demo.sh - build the bundled demo program (tests/fixtures/demo: a small
# leaky service), run it until it dumps core, and print two lines: the path
# of the core, then the path of the executable.  What it did goes to stderr.
#
#   sh tests/lib/demo.sh [GO_RELEASE]      e.g. 1.22; default: the release
#                                          of the machine's go, else the
#                                          first of the suite's releases
#                                          that can be had
#   set -- $(sh tests/lib/demo.sh) && goheap info "$1" "$2"
#
# The core is a kernel core (GOTRACEBACK=crash, SIGQUIT, ulimit -c
# unlimited), taken in its own directory under $GOHEAP_TEST_CACHE (default
# $GOHEAP_BUILDDIR/tests/cache, $GOHEAP_BUILDDIR defaulting to the current
# directory) and kept there: a second run prints the same paths at once.
# If the kernel cannot write cores here (core_pattern pipes them away), the
# core is taken with gcore, and it says so.
set -u
gh_lib=$(cd "$(dirname "$0")" && pwd)
: "${GOHEAP_SRCDIR:=$(cd "$gh_lib/../.." && pwd)}"
: "${GOHEAP_BUILDDIR:=$(pwd)}"
: "${GOHEAP_TEST_CACHE:=$GOHEAP_BUILDDIR/tests/cache}"
GH_FIXTURES=$GOHEAP_SRCDIR/tests/fixtures
export GOHEAP_SRCDIR GOHEAP_BUILDDIR GOHEAP_TEST_CACHE
. "$gh_lib/toolchain.sh"
. "$gh_lib/mkcore.sh"

rel=${1:-${GOHEAP_DEMO_GO_RELEASE:-}}
if test -z "$rel" && gh_go=$(gh_go_host)
then
	# go1.26.8 -> 1.26
	rel=$(cd / && GOTOOLCHAIN=local "$gh_go" env GOVERSION 2>/dev/null |
		sed -n 's/^go\([0-9]*\.[0-9]*\).*/\1/p')
fi
for r in $rel $(gh_go_releases)
do
	gh_mkcore demo "$r" default
	case $? in
	0)
		D=$GH_CORE_DIR
		echo "demo: $(gh_meta "$D" go_version), core taken by $(gh_meta "$D" how) in $D" >&2
		echo "demo: the program said: HeapObjects=$(gh_truth "$D" heap_objects)" \
			"HeapAlloc=$(gh_truth "$D" heap_alloc)" \
			"NumGoroutine=$(gh_truth "$D" num_goroutine)" >&2
		echo "$D/core"
		echo "$D/exe"
		exit 0 ;;
	77)
		echo "demo: no core with Go $r: $gh_skip_reason_" >&2
		test -n "${1:-}" && exit 1 ;;
	*)
		exit 1 ;;
	esac
done
echo "demo: no Go release could build and dump the demo" >&2
exit 1
