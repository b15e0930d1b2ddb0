# mkcore.sh - build a fixture with a Go release, run it, take its core.
#
# Sourced by test-lib.sh and demo.sh (needs toolchain.sh); POSIX sh.
#
#   gh_mkcore NAME RELEASE MODE
#	Builds tests/fixtures/NAME with Go RELEASE (e.g. 1.22), runs it and
#	takes a core.  Returns 0 and sets GH_CORE_DIR, or returns 77 with
#	gh_skip_reason_ set (a prerequisite is missing: no such Go release, no
#	gcore), or returns 1 with the reason on stderr.  MODE is
#	  default   plain build; kernel core (SIGQUIT + GOTRACEBACK=crash)
#	  pie       -buildmode=pie; kernel core
#	  pie0x3f   -buildmode=pie; run with /proc/self/coredump_filter 0x3f
#	            (set before exec, inherited): file-backed pages dumped too
#	  stripped  -ldflags=-s (no DWARF, no symbols); kernel core
#	  gcore     plain build; the fixture waits (GOHEAP_FIXTURE_WAIT=1)
#	            while `gcore PID` writes the core, then gets a byte on
#	            stdin (heapbasic answers with a GOHEAP_TRUTH_AFTER line:
#	            MemStats read again after the core was taken), then
#	            SIGQUIT so that the runtime still prints its goroutine dump
#	The fixture runs with GOTRACEBACK=crash, GOMAXPROCS=2 and
#	`ulimit -c unlimited`, in its cache directory.  If the kernel cannot
#	write a core there (core_pattern pipes to a program or names another
#	place, or RLIMIT_CORE's hard limit is too low), kernel modes use gcore
#	instead and say so (meta: how=gcore-fallback).  To try that path,
#	GOHEAP_TEST_CORE_PATTERN='|/bin/false' pretends such a core_pattern.
#	The result is cached in $GOHEAP_TEST_CACHE/NAME-go1.X.Y-MODE-HASH/
#	(HASH: the fixture's files and GH_MKCORE_FORMAT), holding
#	  exe     the executable (the core's NT_FILE names this very path)
#	  core    the core
#	  truth   the fixture's stdout (GOHEAP_TRUTH ... line, markers)
#	  crash   its stderr: the runtime's goroutine dump
#	  meta    key=value: go_version, goroot, mode, how, coredump_filter,
#	          pid, status, core_bytes, core_disk_kib, seconds
#	  log     what the build and run printed
#	Parallel test scripts share it: one builds while the others wait on a
#	lock.  Builds of older versions of the fixture are removed.
#   gh_core_lz4 DIR        makes DIR/core.lz4 (the lz4 tool's frame format,
#                          as systemd-coredump writes) once; sets GH_CORE_LZ4
#   gh_exe_stripped DIR    makes DIR/exe.stripped (objcopy --strip-all) once,
#                          and DIR/notes: which ELF notes exe and
#                          exe.stripped carry; sets GH_EXE_STRIPPED
#   gh_truth DIR KEY [L]   a value of the GOHEAP_TRUTH line (or line L)
#   gh_meta DIR KEY        a value of DIR/meta
#   gh_dump_goids DIR      goroutine ids (> 0, each once, sorted) that the
#                          runtime's dump in DIR/crash lists
#   gh_core_allgs DIR      makes DIR/allgs once: "goid status" for each g in
#                          runtime.allgs, read from the core by gdb (an
#                          independent reading of the core); 77 if no gdb
#   gh_core_complete CORE  the file holds every byte its program headers
#                          say it does (readelf)
#   gh_is_elf_core FILE    an ELF64 little-endian file of type ET_CORE
#   gh_mk_nongo_core       a kernel (or gcore) core of sleep(1), for the
#                          bad-input tests; sets GH_CORE_DIR

# Bump when what a cache entry holds, or how it is made, changes.
GH_MKCORE_FORMAT=1

GH_MODES_DEFAULT='default pie pie0x3f stripped gcore'

gh_modes () {
	for gh_m_ in ${GOHEAP_TEST_MODES:-$GH_MODES_DEFAULT}
	do
		echo "$gh_m_"
	done
}

# gh_fixture_hash_ DIR: a short hash of the fixture's files.
gh_fixture_hash_ () {
	(
		cd "$1" || exit 1
		echo "format $GH_MKCORE_FORMAT"
		find . -type f ! -name '*~' | LC_ALL=C sort | while read -r gh_f_
		do
			echo "$gh_f_ $(sha256sum <"$gh_f_")"
		done
	) | sha256sum | cut -c1-12
}

# gh_kernel_cores_: can the kernel write a core into the current
# directory?  Prints why not and returns 1 if not; else prints the file name
# pattern (with %p for the pid).
gh_kernel_cores_ () {
	# GOHEAP_TEST_CORE_PATTERN pretends another pattern (to try the
	# gcore fallback, e.g. '|/usr/lib/systemd/systemd-coredump ...').
	gh_pat_=${GOHEAP_TEST_CORE_PATTERN:-$(cat /proc/sys/kernel/core_pattern 2>/dev/null)} || {
		echo "cannot read /proc/sys/kernel/core_pattern"
		return 1
	}
	case $gh_pat_ in
	'|'*)
		echo "core_pattern pipes cores to a program ($gh_pat_)"
		return 1 ;;
	*/*)
		echo "core_pattern writes cores elsewhere ($gh_pat_)"
		return 1 ;;
	'')
		echo "core_pattern is empty"
		return 1 ;;
	esac
	# Only %p (and %%) can be told in advance.
	gh_rest_=$(echo "$gh_pat_" | sed 's/%%//g; s/%p//g')
	case $gh_rest_ in
	*%*)
		echo "core_pattern has specifiers the harness does not expand ($gh_pat_)"
		return 1 ;;
	esac
	gh_hard_=$(ulimit -H -c)
	if test "$gh_hard_" != unlimited
	then
		echo "RLIMIT_CORE's hard limit is $gh_hard_, not unlimited"
		return 1
	fi
	if test "$(cat /proc/sys/kernel/core_uses_pid 2>/dev/null)" = 1
	then
		case $gh_pat_ in
		*%p*) ;;
		*) gh_pat_="$gh_pat_.%p" ;;
		esac
	fi
	echo "$gh_pat_"
}

gh_go_env_ () {
	# A toolchain of another release must not see this machine's GOROOT;
	# the user's go env file must not add flags (GOENV=off).
	set -- env GOROOT="$1" GOTOOLCHAIN=local GOENV=off \
		GOFLAGS=-buildvcs=false GOWORK=off GO111MODULE=on CGO_ENABLED=0
	if ! test -w "${HOME:-/nonexistent}"
	then
		set -- "$@" GOCACHE="$GOHEAP_TEST_CACHE/go-build" \
			GOPATH="$GOHEAP_TEST_CACHE/gopath"
	fi
	echo "$*"
}

gh_mkcore () {
	gh_name_=$1
	gh_rel_=$2
	gh_mode_=$3
	gh_skip_reason_=
	case $gh_mode_ in
	default|pie|pie0x3f|stripped|gcore) ;;
	*) echo "gh_mkcore: unknown mode '$gh_mode_'" >&2; return 1 ;;
	esac
	gh_src_=$GH_FIXTURES/$gh_name_
	if ! test -f "$gh_src_/main.go"
	then
		echo "gh_mkcore: no fixture $gh_src_/main.go" >&2
		return 1
	fi
	# Each release is looked up once per test script (a miss can cost an
	# apt-get update).
	gh_rk_=$(echo "$gh_rel_" | tr -c '0-9a-zA-Z\n' _)
	eval "gh_root_=\${GH_GOROOT_$gh_rk_:-} gh_why_=\${GH_GOWHY_$gh_rk_:-}"
	if test -z "$gh_root_" && test -z "$gh_why_"
	then
		mkdir -p "$GOHEAP_TEST_CACHE" || return 1
		if gh_root_=$(gh_go_root "$gh_rel_" 2>"$GOHEAP_TEST_CACHE/.why.$$")
		then
			eval "GH_GOROOT_$gh_rk_=\$gh_root_"
		else
			gh_why_=$(cat "$GOHEAP_TEST_CACHE/.why.$$")
			test -n "$gh_why_" || gh_why_="no Go $gh_rel_ toolchain"
			eval "GH_GOWHY_$gh_rk_=\$gh_why_"
		fi
		rm -f "$GOHEAP_TEST_CACHE/.why.$$"
	fi
	if test -n "$gh_why_"
	then
		gh_skip_reason_=$gh_why_
		return 77
	fi
	gh_ver_=$(gh_go_version "$gh_root_") || return 1
	gh_hash_=$(gh_fixture_hash_ "$gh_src_") || return 1
	gh_key_=$gh_name_-$gh_ver_-$gh_mode_-$gh_hash_
	GH_CORE_DIR=$GOHEAP_TEST_CACHE/$gh_key_
	GH_GOROOT=$gh_root_
	GH_GO_VERSION=$gh_ver_
	if test -f "$GH_CORE_DIR/done"
	then
		return 0
	fi

	gh_how_=kernel
	if test "$gh_mode_" = gcore
	then
		gh_how_=gcore
	elif ! gh_why_=$(gh_kernel_cores_)
	then
		gh_how_=gcore-fallback
		echo "# NOTE: the kernel cannot write cores here: $gh_why_; taking $gh_key_ with gcore instead" >&2
	fi
	if test "$gh_how_" != kernel && ! command -v gcore >/dev/null 2>&1
	then
		gh_skip_reason_="gcore is not installed (Debian package gdb)"
		test "$gh_how_" = gcore-fallback &&
			gh_skip_reason_="the kernel cannot write cores here ($gh_why_) and $gh_skip_reason_"
		return 77
	fi
	for gh_t_ in flock sha256sum readelf
	do
		if ! command -v $gh_t_ >/dev/null 2>&1
		then
			gh_skip_reason_="$gh_t_ is not installed"
			return 77
		fi
	done

	mkdir -p "$GOHEAP_TEST_CACHE" || return 1
	(
		flock -w 3600 9 || { echo "gh_mkcore: waited an hour for $gh_key_'s lock" >&2; exit 1; }
		test -f "$GH_CORE_DIR/done" && exit 0
		rm -rf "$GH_CORE_DIR" "$GH_CORE_DIR.failed"
		mkdir -p "$GH_CORE_DIR" || exit 1
		rm -f "$GH_CORE_DIR.skip"
		gh_mkcore_locked_ >"$GH_CORE_DIR/log" 2>&1
		gh_st_=$?
		if test $gh_st_ = 77 && test -s "$GH_CORE_DIR.skip"
		then
			rm -rf "$GH_CORE_DIR"
			exit 77
		fi
		if test $gh_st_ = 0
		then
			touch "$GH_CORE_DIR/done"
			# Builds of older versions of this fixture.
			for gh_d_ in "$GOHEAP_TEST_CACHE/$gh_name_"-go*-*-*
			do
				case $gh_d_ in
				*-"$gh_hash_"|*-"$gh_hash_".failed) ;;
				*) rm -rf "$gh_d_" "$GOHEAP_TEST_CACHE/.lock-${gh_d_##*/}" ;;
				esac
			done
			exit 0
		fi
		mv "$GH_CORE_DIR" "$GH_CORE_DIR.failed"
		echo "gh_mkcore: making $gh_key_ failed; the end of $GH_CORE_DIR.failed/log:" >&2
		tail -n 25 "$GH_CORE_DIR.failed/log" >&2
		exit 1
	) 9>"$GOHEAP_TEST_CACHE/.lock-$gh_key_"
	gh_st_=$?
	if test $gh_st_ = 77
	then
		gh_skip_reason_=$(cat "$GH_CORE_DIR.skip")
		rm -f "$GH_CORE_DIR.skip"
	fi
	return $gh_st_
}

# Runs in $GH_CORE_DIR's subshell, output to its log.
gh_mkcore_locked_ () {
	cd "$GH_CORE_DIR" || return 1
	gh_t0_=$(date +%s)
	gh_bm_=
	case $gh_mode_ in
	pie|pie0x3f) gh_bm_=-buildmode=pie ;;
	stripped) gh_bm_=-ldflags=-s ;;
	esac
	gh_filter_=
	test "$gh_mode_" = pie0x3f && gh_filter_=0x3f
	echo "building $gh_name_ with $gh_ver_ ($gh_root_) $gh_bm_"
	(cd "$gh_src_" &&
	 $(gh_go_env_ "$gh_root_") "$gh_root_/bin/go" build $gh_bm_ \
		-o "$GH_CORE_DIR/exe" .) || return 1
	{
		echo "fixture=$gh_name_"
		echo "go_version=$gh_ver_"
		echo "goroot=$gh_root_"
		echo "mode=$gh_mode_"
		echo "how=$gh_how_"
	} >meta
	case $gh_how_ in
	kernel) gh_run_kernel_ "$gh_filter_" || return ;;
	*) gh_run_gcore_ "$gh_filter_" || return ;;
	esac
	if ! grep -q '^GOHEAP_TRUTH heap_objects=[0-9]' truth
	then
		echo "the fixture printed no ground truth"
		return 1
	fi
	if ! gh_is_elf_core core
	then
		echo "$GH_CORE_DIR/core is not an ELF core file"
		return 1
	fi
	# gcore writes Go's reserved arenas as zeros: make them holes again.
	if test "$gh_how_" != kernel && command -v fallocate >/dev/null 2>&1
	then
		fallocate --dig-holes core || true
	fi
	{
		echo "core_bytes=$(wc -c <core)"
		echo "core_disk_kib=$(du -k core | cut -f1)"
		echo "seconds=$(($(date +%s) - gh_t0_))"
	} >>meta
	cat meta
}

gh_fixture_env_ () {
	echo "GOTRACEBACK=crash GOMAXPROCS=2 GOHEAP_FIXTURE_WAIT=$1"
}

# gh_run_kernel_ FILTER: run ./exe, which sends itself SIGQUIT.
gh_run_kernel_ () {
	gh_pat_=$(gh_kernel_cores_) || return 1
	(
		exec 9>&-	# not the cache lock
		ulimit -c unlimited || exit 97
		if test -n "$1"
		then
			echo "$1" >/proc/self/coredump_filter || exit 98
		fi
		echo "coredump_filter=$(cat /proc/self/coredump_filter)" >>meta
		gh_to_=
		command -v timeout >/dev/null 2>&1 && gh_to_="timeout -s KILL 300"
		exec $gh_to_ env $(gh_fixture_env_ "") ./exe >truth 2>crash </dev/null
	)
	gh_st_=$?
	echo "status=$gh_st_" >>meta
	gh_pid_=$(gh_truth . pid)
	echo "pid=$gh_pid_" >>meta
	case $gh_st_ in
	97|98) echo "could not set up the fixture's process (status $gh_st_)"; return 1 ;;
	134) ;;
	*)
		echo "the fixture exited with status $gh_st_, expected 134 (SIGABRT after the runtime's crash dump)"
		tail -n 20 crash
		return 1 ;;
	esac
	gh_cf_=$(echo "$gh_pat_" | sed "s/%p/$gh_pid_/g; s/%%/%/g")
	if ! test -f "$gh_cf_"
	then
		echo "the kernel wrote no core named $gh_cf_ (core_pattern: $(cat /proc/sys/kernel/core_pattern))"
		ls -la
		return 1
	fi
	test "$gh_cf_" = core || mv "$gh_cf_" core
}

# gh_run_gcore_ FILTER: run ./exe waiting on a FIFO; gcore it; SIGQUIT it.
gh_run_gcore_ () {
	rm -f stdin
	mkfifo stdin || return 1
	(
		exec 9>&-	# not the cache lock
		ulimit -c 0	# the SIGQUIT below must not write a second core
		if test -n "$1"
		then
			echo "$1" >/proc/self/coredump_filter || exit 98
		fi
		echo "coredump_filter=$(cat /proc/self/coredump_filter)" >>meta
		exec env $(gh_fixture_env_ 1) ./exe <stdin >truth 2>crash
	) &
	gh_pid_=$!
	echo "pid=$gh_pid_" >>meta
	exec 8>stdin	# the fixture reads it: end of file would end it
	gh_i_=0
	until grep -q '^GOHEAP_TRUTH ' truth 2>/dev/null
	do
		if ! kill -0 "$gh_pid_" 2>/dev/null
		then
			wait "$gh_pid_"
			echo "the fixture ended (status $?) before printing its ground truth"
			tail -n 20 crash
			return 1
		fi
		gh_i_=$((gh_i_ + 1))
		if test $gh_i_ -gt 1200
		then
			kill -KILL "$gh_pid_"
			echo "the fixture printed no ground truth within 120 s"
			return 1
		fi
		sleep 0.1
	done
	echo "taking the core with gcore"
	gcore -o core.gcore "$gh_pid_" >gcore.log 2>&1
	gh_gst_=$?
	# Fixtures that answer a byte with a GOHEAP_TRUTH_AFTER line (a new
	# ReadMemStats) show whether anything allocated while gcore ran.
	(echo >&8) 2>/dev/null
	gh_i_=0
	until grep -q '^GOHEAP_TRUTH_AFTER ' truth 2>/dev/null || test $gh_i_ -ge 30
	do
		gh_i_=$((gh_i_ + 1))
		sleep 0.1
	done
	kill -QUIT "$gh_pid_"
	wait "$gh_pid_"
	gh_st_=$?
	exec 8>&-
	rm -f stdin
	echo "status=$gh_st_" >>meta
	if test $gh_gst_ != 0 || ! test -f "core.gcore.$gh_pid_"
	then
		echo "gcore failed (status $gh_gst_):"
		cat gcore.log
		if grep -q 'ptrace: Operation not permitted' gcore.log
		then
			echo "gdb may not attach to the fixture (ptrace: Operation not permitted; see /proc/sys/kernel/yama/ptrace_scope)" >"$GH_CORE_DIR.skip"
			return 77
		fi
		return 1
	fi
	mv "core.gcore.$gh_pid_" core
	if test $gh_st_ != 134
	then
		echo "after SIGQUIT the fixture exited with status $gh_st_, expected 134"
		return 1
	fi
}

# gh_truth DIR KEY [LINE]: KEY's value on the LINE (GOHEAP_TRUTH) line.
gh_truth () {
	sed -n "s/^${3:-GOHEAP_TRUTH} .* $2=\([^ ]*\).*/\1/p; s/^${3:-GOHEAP_TRUTH} $2=\([^ ]*\).*/\1/p" "$1/truth" | head -n 1
}

gh_meta () {
	sed -n "s/^$2=//p" "$1/meta" | tail -n 1
}

gh_dump_goids () {
	# "goroutine 7 [chan receive]:", and since Go 1.2x with
	# GOTRACEBACK=crash "goroutine 7 gp=0x... m=nil [chan receive]:".
	# Goroutine 0 is an M's g0 (a thread that was idle or in the
	# scheduler when the signal came), not a goroutine of allgs.  A
	# goroutine running on another thread is listed twice: by the
	# crashing thread, and by its own thread when the SIGQUIT is relayed.
	sed -n 's/^goroutine \([0-9][0-9]*\) [^[]*\[.*/\1/p' "$1/crash" |
	sort -n -u | sed '/^0$/d'
}

gh_is_elf_core () {
	# e_ident: \177ELF, class 2 (64-bit), data 1 (little-endian);
	# e_type (offset 16) 4, ET_CORE.
	gh_h_=$(od -An -tx1 -N18 "$1" 2>/dev/null | tr -d ' \n')
	case $gh_h_ in
	7f454c460201????????????????????0400) return 0 ;;
	*) return 1 ;;
	esac
}

gh_core_complete () {
	gh_size_=$(wc -c <"$1") || return 1
	# LOAD and NOTE lines: Type Offset VirtAddr PhysAddr FileSiz MemSiz ...
	gh_end_=$(readelf -lW "$1" 2>/dev/null | awk '
		function hex(s,   i, n, c) {
			n = 0
			s = tolower(substr(s, 3))
			for (i = 1; i <= length(s); i++) {
				c = index("0123456789abcdef", substr(s, i, 1)) - 1
				n = n * 16 + c
			}
			return n
		}
		$1 == "LOAD" || $1 == "NOTE" {
			e = hex($2) + hex($5)
			if (e > end) end = e
		}
		END { printf "%.0f\n", end }')
	test -n "$gh_end_" && test "$gh_end_" -gt 0 && test "$gh_end_" -le "$gh_size_" || {
		echo "$1: $gh_size_ bytes, but its program headers reach ${gh_end_:-nothing}" >&2
		return 1
	}
}

gh_core_lz4 () {
	GH_CORE_LZ4=$1/core.lz4
	test -f "$GH_CORE_LZ4" && return 0
	if ! command -v lz4 >/dev/null 2>&1
	then
		gh_skip_reason_="lz4 is not installed (Debian package lz4)"
		return 77
	fi
	(
		flock -w 3600 9 || exit 1
		test -f "$GH_CORE_LZ4" && exit 0
		lz4 -q -f "$1/core" "$GH_CORE_LZ4.tmp" &&
		mv "$GH_CORE_LZ4.tmp" "$GH_CORE_LZ4"
	) 9>"$1/.lock-lz4"
}

gh_exe_stripped () {
	GH_EXE_STRIPPED=$1/exe.stripped
	test -f "$GH_EXE_STRIPPED" && test -f "$1/notes" && return 0
	if ! command -v objcopy >/dev/null 2>&1
	then
		gh_skip_reason_="objcopy is not installed (Debian package binutils)"
		return 77
	fi
	(
		flock -w 3600 9 || exit 1
		test -f "$GH_EXE_STRIPPED" && test -f "$1/notes" && exit 0
		objcopy --strip-all "$1/exe" "$GH_EXE_STRIPPED.tmp" &&
		mv "$GH_EXE_STRIPPED.tmp" "$GH_EXE_STRIPPED" || exit 1
		for f in exe exe.stripped
		do
			n=$(readelf -nW "$1/$f" 2>/dev/null)
			go=no
			gnu=no
			echo "$n" | grep -q '^ *Go .*GO BUILDID\|^ *Go .*0x00000004' && go=yes
			echo "$n" | grep -q 'NT_GNU_BUILD_ID' && gnu=yes
			sec=no
			readelf -SW "$1/$f" | grep -q '\.note\.go\.buildid' && sec=yes
			dw=no
			readelf -SW "$1/$f" | grep -q '\.debug_info\|\.zdebug_info' && dw=yes
			echo "$f: go_buildid_note=$go go_buildid_section=$sec gnu_build_id=$gnu dwarf=$dw"
		done >"$1/notes"
	) 9>"$1/.lock-strip"
}

gh_core_allgs () {
	test -f "$1/allgs" && return 0
	if ! command -v gdb >/dev/null 2>&1
	then
		gh_skip_reason_="gdb is not installed"
		return 77
	fi
	(
		flock -w 3600 9 || exit 1
		test -f "$1/allgs" && exit 0
		# runtime.allgs is a []*g; g.atomicstatus is an atomic.Uint32
		# in every release the suite covers (Go 1.20+).
		cat >"$1/allgs.gdb" <<-'EOF'
		set $i = 0
		while $i < 'runtime.allglen'
		  set $g = 'runtime.allgs'.array[$i]
		  printf "G %d %d\n", (*$g).goid, (*$g).atomicstatus.value
		  set $i = $i + 1
		end
		EOF
		gdb -batch -nx -q -iex 'set auto-load off' -x "$1/allgs.gdb" \
			"$1/exe" "$1/core" >"$1/allgs.log" 2>&1
		sed -n 's/^G //p' "$1/allgs.log" >"$1/allgs.tmp"
		if ! test -s "$1/allgs.tmp"
		then
			echo "gdb read no runtime.allgs from $1/core:" >&2
			tail -n 5 "$1/allgs.log" >&2
			exit 1
		fi
		mv "$1/allgs.tmp" "$1/allgs"
	) 9>"$1/.lock-allgs"
}

# Goroutine ids of the gs in allgs that are not dead: status (without the
# _Gscan bit 0x1000) is neither _Gdead (6) nor, Go 1.26+, _Gdeadextra (11).
gh_allgs_live_goids () {
	awk '{ s = $2 % 4096; if (s != 6 && s != 11) print $1 }' "$1/allgs" | sort -n -u
}

gh_mk_nongo_core () {
	gh_skip_reason_=
	gh_sleep_=$(command -v sleep)
	GH_CORE_DIR=$GOHEAP_TEST_CACHE/nongo-sleep-$GH_MKCORE_FORMAT
	test -f "$GH_CORE_DIR/done" && return 0
	gh_how_=kernel
	if ! gh_why_=$(gh_kernel_cores_)
	then
		command -v gcore >/dev/null 2>&1 || {
			gh_skip_reason_="the kernel cannot write cores here ($gh_why_) and gcore is not installed"
			return 77
		}
		gh_how_=gcore
	fi
	mkdir -p "$GOHEAP_TEST_CACHE" || return 1
	(
		flock -w 3600 9 || exit 1
		test -f "$GH_CORE_DIR/done" && exit 0
		rm -rf "$GH_CORE_DIR" && mkdir -p "$GH_CORE_DIR" && cd "$GH_CORE_DIR" || exit 1
		echo "exe=$gh_sleep_" >meta
		if test $gh_how_ = kernel
		then
			gh_pat_=$(gh_kernel_cores_)
			(ulimit -c unlimited && exec "$gh_sleep_" 100) &
			gh_pid_=$!
			sleep 0.3
			# Not SIGQUIT: a non-interactive shell starts background
			# commands with SIGQUIT and SIGINT ignored.  SIGABRT also
			# dumps core.
			kill -ABRT $gh_pid_
			wait $gh_pid_
			gh_cf_=$(echo "$gh_pat_" | sed "s/%p/$gh_pid_/g; s/%%/%/g")
			test -f "$gh_cf_" || { echo "no core of $gh_sleep_ was written" >&2; exit 1; }
			test "$gh_cf_" = core || mv "$gh_cf_" core
		else
			"$gh_sleep_" 100 &
			gh_pid_=$!
			sleep 0.3
			gcore -o core.gcore $gh_pid_ >gcore.log 2>&1
			kill -KILL $gh_pid_
			mv core.gcore.$gh_pid_ core || exit 1
		fi
		gh_is_elf_core core && touch done
	) 9>"$GOHEAP_TEST_CACHE/.lock-nongo"
}
