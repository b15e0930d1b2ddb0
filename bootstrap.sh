#!/bin/sh
# bootstrap.sh - install what goheap needs on a Debian machine, then
# autoreconf, configure and build into _build/ (and _build-asan/ with
# --sanitizers).  Safe to run again: each step is skipped when done.
#
#   ./bootstrap.sh              build into _build
#   ./bootstrap.sh --sanitizers also build an ASan+UBSan tree in _build-asan
set -eu

top=$(cd "$(dirname "$0")" && pwd)
cd "$top"

# Debian packages: build tools, libraries, and what the tests use.
pkgs="build-essential autoconf automake pkg-config libelf-dev libdwarf-dev
libcapstone-dev liblz4-dev libzstd-dev liblzma-dev zlib1g-dev check
lz4 zstd xz-utils jq gdb binutils time qemu-user-static"
missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "bootstrap: installing:$missing" >&2
	sudo=
	[ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq $missing >/dev/null
fi
command -v go >/dev/null 2>&1 || [ -x /usr/local/go/bin/go ] || {
	echo "bootstrap: no Go toolchain found: the tests and the demo build Go" \
	     "programs (install Go, or Debian's golang-go)" >&2
	exit 1
}

[ -x configure ] && [ configure -nt configure.ac ] && [ Makefile.in -nt Makefile.am ] ||
	autoreconf -fi >/dev/null 2>&1 || autoreconf -fi

build() {
	dir=$1; shift
	mkdir -p "$dir"
	if [ ! -f "$dir/Makefile" ] || [ "$dir/config.status" -ot configure ]; then
		(cd "$dir" && ../configure -q "$@")
	fi
	make -s -C "$dir" -j"$(nproc)"
}

build _build
if [ "${1:-}" = --sanitizers ]; then
	build _build-asan --enable-sanitizers
fi
