# toolchain.sh - find a Go toolchain for each Go release the tests cover.
#
# Sourced by test-lib.sh (and demo.sh); POSIX sh.  Functions:
#
#   gh_go_releases        the releases the suite covers, one per line
#                         ($GOHEAP_TEST_GO_RELEASES, default below)
#   gh_go_root 1.22       prints that release's GOROOT; on failure prints
#                         why on stderr and returns 1 (the caller skips,
#                         loudly, with that reason)
#   gh_go_version GOROOT  prints the toolchain's version, e.g. go1.22.12
#
# Where a release comes from, first found wins (see
# shared/reference/go-toolchains.md):
#   1. $GOHEAP_TEST_GOROOT_1_22 (dots become underscores), if set;
#   2. the machine's own go (go on $PATH, else /usr/local/go/bin/go) when it
#      is that release;
#   3. `GOTOOLCHAIN=go1.22.12 go env GOROOT`: the go command fetches that
#      release as a module through the Go module proxy, once, into its module
#      cache; the patch release comes from gh_go_patch below;
#   4. Debian's golang-1.22-go: /usr/lib/go-1.22 if installed, else the .debs
#      fetched with `apt-get download` through a private sources list and
#      unpacked with `dpkg -x` into $GOHEAP_TEST_CACHE/toolchains/ (the
#      machine's own apt configuration is left alone).
# $GOHEAP_TEST_GO_SOURCES (default "local proxy debian") orders or limits
# steps 2-4, e.g. GOHEAP_TEST_GO_SOURCES=debian to try the fallback.

GH_GO_RELEASES_DEFAULT='1.22 1.23 1.24 1.25 1.26 1.27'

gh_go_releases () {
	for gh_r_ in ${GOHEAP_TEST_GO_RELEASES:-$GH_GO_RELEASES_DEFAULT}
	do
		echo "$gh_r_"
	done
}

# The patch release fetched through the module proxy for each release: ones
# known to download here (2026-11).  Override one with
# GOHEAP_TEST_GO_PATCH_1_22=go1.22.11.
gh_go_patch () {
	eval "gh_p_=\${GOHEAP_TEST_GO_PATCH_$(echo "$1" | tr . _):-}"
	if test -n "$gh_p_"
	then
		echo "$gh_p_"
		return 0
	fi
	case $1 in
	1.21) echo go1.21.13 ;;
	1.22) echo go1.22.12 ;;
	1.23) echo go1.23.12 ;;
	1.24) echo go1.24.13 ;;
	1.25) echo go1.25.12 ;;
	1.26) echo go1.26.8 ;;
	1.27) echo go1.27.3 ;;
	*) return 1 ;;
	esac
}

# The machine's go command, or nothing.
gh_go_host () {
	if command -v go >/dev/null 2>&1
	then
		command -v go
	elif test -x /usr/local/go/bin/go
	then
		echo /usr/local/go/bin/go
	else
		return 1
	fi
}

gh_go_version () {
	# The first line of $GOROOT/VERSION is the version (go1.22.12) in
	# every release the suite covers; ask the tool when it is missing.
	if test -r "$1/VERSION"
	then
		sed -n '1{s/[[:space:]]*$//;p;}' "$1/VERSION"
	else
		GOTOOLCHAIN=local GOROOT=$1 "$1/bin/go" env GOVERSION
	fi
}

# gh_go_check_ GOROOT RELEASE: is GOROOT a working toolchain of RELEASE?
gh_go_check_ () {
	test -x "$1/bin/go" || return 1
	gh_v_=$(gh_go_version "$1" 2>/dev/null) || return 1
	case $gh_v_ in
	go$2|go$2.*|go$2rc*) return 0 ;;
	*) return 1 ;;
	esac
}

gh_go_root () {
	gh_rel_=$1
	gh_why_=
	eval "gh_r_=\${GOHEAP_TEST_GOROOT_$(echo "$gh_rel_" | tr . _):-}"
	if test -n "$gh_r_"
	then
		if gh_go_check_ "$gh_r_" "$gh_rel_"
		then
			echo "$gh_r_"
			return 0
		fi
		echo "GOHEAP_TEST_GOROOT_$(echo "$gh_rel_" | tr . _)=$gh_r_ is not a Go $gh_rel_ toolchain" >&2
		return 1
	fi
	for gh_src_ in ${GOHEAP_TEST_GO_SOURCES:-local proxy debian}
	do
		case $gh_src_ in
		local) gh_go_root_local_ "$gh_rel_" ;;
		proxy) gh_go_root_proxy_ "$gh_rel_" ;;
		debian) gh_go_root_debian_ "$gh_rel_" ;;
		*) echo "GOHEAP_TEST_GO_SOURCES: unknown source '$gh_src_'" >&2
		   return 1 ;;
		esac && return 0
	done
	echo "no Go $gh_rel_ toolchain:${gh_why_%;}" >&2
	return 1
}

gh_go_root_local_ () {
	gh_go_=$(gh_go_host) || {
		gh_why_="$gh_why_ no go command on this machine;"
		return 1
	}
	gh_r_=$(cd / && GOTOOLCHAIN=local "$gh_go_" env GOROOT 2>/dev/null) &&
	gh_go_check_ "$gh_r_" "$1" || {
		gh_why_="$gh_why_ the machine's go is not $1;"
		return 1
	}
	echo "$gh_r_"
}

gh_go_root_proxy_ () {
	gh_go_=$(gh_go_host) || return 1
	gh_tc_=$(gh_go_patch "$1") || {
		gh_why_="$gh_why_ no patch release of $1 known to fetch (set GOHEAP_TEST_GO_PATCH_$(echo "$1" | tr . _));"
		return 1
	}
	# Run outside any module, so that no go.mod's toolchain line interferes.
	gh_e_=${TMPDIR:-/tmp}/gh-go-root.$$
	gh_r_=$(cd / && GOTOOLCHAIN=$gh_tc_ GOFLAGS= "$gh_go_" env GOROOT 2>"$gh_e_") &&
	gh_go_check_ "$gh_r_" "$1" || {
		gh_why_="$gh_why_ GOTOOLCHAIN=$gh_tc_ failed ($(tail -n 1 "$gh_e_" 2>/dev/null));"
		rm -f "$gh_e_"
		return 1
	}
	rm -f "$gh_e_"
	echo "$gh_r_"
}

# Debian suites that carry golang-1.X-go (go-toolchains.md); apt picks the
# candidate among them.
GH_DEBIAN_SUITES='bookworm-backports trixie trixie-backports sid'
GH_DEBIAN_MIRROR=${GOHEAP_TEST_DEBIAN_MIRROR:-http://deb.debian.org/debian}

gh_go_root_debian_ () {
	if gh_go_check_ "/usr/lib/go-$1" "$1"
	then
		echo "/usr/lib/go-$1"
		return 0
	fi
	gh_dir_=${GOHEAP_TEST_CACHE:?}/toolchains/debian-golang-$1
	gh_r_=$gh_dir_/root/usr/lib/go-$1
	if gh_go_check_ "$gh_r_" "$1"
	then
		echo "$gh_r_"
		return 0
	fi
	command -v apt-get >/dev/null 2>&1 && command -v dpkg >/dev/null 2>&1 || {
		gh_why_="$gh_why_ no apt-get/dpkg for Debian's golang-$1-go;"
		return 1
	}
	mkdir -p "$GOHEAP_TEST_CACHE/toolchains" || return 1
	# One download at a time, whichever test script asks first.
	gh_log_=$GOHEAP_TEST_CACHE/toolchains/debian-golang-$1.log
	(
		flock -w 1800 9 || exit 1
		gh_go_check_ "$gh_r_" "$1" && exit 0
		gh_debian_fetch_ "$1" "$gh_dir_"
		gh_st_=$?
		rm -rf "$gh_dir_/apt"	# lists and .debs: tens of MB
		exit $gh_st_
	) 9>"$GOHEAP_TEST_CACHE/toolchains/.lock" >"$gh_log_" 2>&1
	if gh_go_check_ "$gh_r_" "$1"
	then
		echo "$gh_r_"
		return 0
	fi
	gh_why_="$gh_why_ Debian's golang-$1-go could not be fetched (see $gh_log_: $(tail -n 1 "$gh_log_" 2>/dev/null));"
	return 1
}

# gh_debian_fetch_ RELEASE DIR: apt-get download golang-RELEASE-{go,src}
# with a private apt state under DIR/apt, unpack into DIR/root.
gh_debian_fetch_ () {
	gh_a_=$2/apt
	rm -rf "$2"
	mkdir -p "$gh_a_/lists/partial" "$gh_a_/cache/archives/partial" \
		"$gh_a_/parts" "$gh_a_/debs" "$2/root" || return 1
	gh_kr_=/usr/share/keyrings/debian-archive-keyring.gpg
	for gh_s_ in $GH_DEBIAN_SUITES
	do
		echo "deb [signed-by=$gh_kr_] $GH_DEBIAN_MIRROR $gh_s_ main"
	done >"$gh_a_/sources.list"
	set -- "$1" "$2" -o "Dir::Etc::SourceList=$gh_a_/sources.list" \
		-o "Dir::Etc::SourceParts=$gh_a_/parts" \
		-o "Dir::State::Lists=$gh_a_/lists" \
		-o "Dir::Cache=$gh_a_/cache" \
		-o "Dir::State::status=/var/lib/dpkg/status" \
		-o "APT::Get::List-Cleanup=0" -o "Debug::NoLocking=1" \
		-o "APT::Sandbox::User=root"
	gh_rel_d_=$1
	gh_dir_d_=$2
	shift 2
	echo "fetching Debian's golang-$gh_rel_d_-go with a private apt state in $gh_a_"
	apt-get -q "$@" update &&
	(cd "$gh_a_/debs" &&
	 apt-get -q "$@" download "golang-$gh_rel_d_-go" "golang-$gh_rel_d_-src") || return 1
	for gh_deb_ in "$gh_a_"/debs/*.deb
	do
		dpkg -x "$gh_deb_" "$gh_dir_d_/root" || return 1
	done
	# The packages link GOROOT's src (and more) to /usr/share/go-1.X with
	# absolute symbolic links: point them into our copy.
	for gh_l_ in "$gh_dir_d_/root/usr/lib/go-$gh_rel_d_"/*
	do
		test -h "$gh_l_" || continue
		gh_lt_=$(readlink "$gh_l_")
		case $gh_lt_ in
		/*) ln -sfn "$gh_dir_d_/root$gh_lt_" "$gh_l_" ;;
		esac
	done
	echo "unpacked into $gh_dir_d_/root"
}
