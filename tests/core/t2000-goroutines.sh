#!/bin/sh
# goheap goroutines against the runtime's own goroutine dump.
#
# Every core the harness takes comes with the dump the runtime printed
# under GOTRACEBACK=crash (the cache directory's `crash`).  For each Go
# release and kind of core, goheap must list the same goroutines, with the
# same text in the header's brackets (status or wait reason, ", locked to
# thread"), and for each the same frames: function, file:line and the
# "+0x.." offset, inlined calls included, and the same "created by" line.
#
# How the dump is read (gh_norm_goroutines below): a header
# "goroutine N gp=... m=... mp=... [reason]:" (Go 1.22+ with crash), then
# "func(args)" / "\tfile:line +0xoff fp=... sp=... pc=..." pairs (no
# offset for inlined calls), then "created by F in goroutine P" and its
# file:line.  Goroutine 0 is an M's g0, not a goroutine of allgs.  A
# goroutine running on another thread is printed twice: "goroutine running
# on other thread; stack unavailable" by the crashing thread, then with its
# frames by its own thread when the SIGQUIT is relayed; the version with
# frames is the one compared.
#
# Kernel cores (default, pie, pie0x3f, stripped) match exactly, on every
# release.  Two things are worth knowing:
#   - the crashing goroutine (goroutine 1, [running] on m0) is shown by the
#     dump from the signal context, as goheap does: the thread's registers
#     in the core are those of runtime.raise inside the SIGABRT handler,
#     itself on top of the SIGQUIT handler; goheap walks both signal
#     frames to the interrupted context (unwind.c);
#   - in gcore mode the core is taken before the dump (the fixture waits in
#     read(0) while gcore runs, then prints one line and waits in the same
#     read again before the SIGQUIT): goroutine 1 is [syscall] at the same
#     pc both times.
# The one difference: in gcore mode the runtime's background goroutines
# may move between the core and the dump (seen on go1.27.3: the scavenger,
# goroutine 4, [sleep] in runtime.(*scavengerState).sleep in the core and
# [GC scavenge wait] in .park in the dump).  There, goroutines that differ
# must have been created by package runtime, and all others must match.
# arm64 cores come from qemu-user (gh_mk_arm64_core): the guest's signal
# frames are laid out as an arm64 kernel's, and they match exactly too.
# Not covered by these cores: a goroutine [running] on a thread other than
# the crashing one (heapbasic has none).

test_description='goheap goroutines: the goroutines, statuses and stacks of the runtime dump'
. "$(dirname "$0")/../lib/test-lib.sh"

# gh_norm_goroutines FILE: a dump, or goheap goroutines' text output, as
# "ID<TAB>line" lines, goroutines by id, each goroutine's lines in order:
# the bracket of its header, each frame's function (arguments dropped) and
# "file:line +0xoff" (fp/sp/pc dropped), and its "created by" lines.
gh_norm_goroutines () {
	awk '
		function flush() {
			if (id != "" && (!(id in n) || cnt > n[id])) {
				n[id] = cnt
				blk[id] = buf
			}
			id = ""
		}
		/^goroutine [0-9]+ / {
			flush()
			if ($2 == 0)
				next
			id = $2
			hdr = substr($0, index($0, " [") + 2)
			sub(/\]:$/, "", hdr)
			buf = id "\t[" hdr "]"
			cnt = 0
			next
		}
		id == "" { next }
		/^$/ { flush(); next }
		/^\tgoroutine running on other thread; stack unavailable$/ {
			cnt = -1
			next
		}
		/^\t/ {
			l = substr($0, 2)
			sub(/ fp=0x.*$/, "", l)
			buf = buf "\n" id "\t\t" l
			next
		}
		/^created by / { buf = buf "\n" id "\t" $0; next }
		{
			f = $0
			sub(/\([^()]*\)$/, "", f)
			buf = buf "\n" id "\t" f
			cnt++
		}
		END {
			flush()
			for (i in blk)
				print blk[i]
		}
	' "$1" | sort -t '	' -k1,1n -s
}

# gh_differing_goids A B: ids whose lines differ between two normalized
# lists (or that only one of them has).
gh_differing_goids () {
	awk -F '	' '
		FILENAME == ARGV[1] { a[$1] = a[$1] "\n" $0; next }
		{ b[$1] = b[$1] "\n" $0 }
		END {
			for (i in a)
				if (a[i] != b[i])
					print i
			for (i in b)
				if (!(i in a))
					print i
		}
	' "$1" "$2" | sort -n -u
}

# gh_without_goids IDS FILE: FILE's lines but those of goroutines IDS.
gh_without_goids () {
	awk -F "	" 'FILENAME == ARGV[1] { d[$1] = 1; next } !($1 in d)' "$1" "$2"
}

# gh_runtime_goids IDS FILE: fails, saying which, unless every goroutine
# of IDS was created by a function of package runtime in FILE.
gh_runtime_goids () {
	awk -F '	' '
		FILENAME == ARGV[1] { d[$1] = 1; next }
		$2 ~ /^created by runtime\./ { rt[$1] = 1 }
		END {
			for (i in d)
				if (!(i in rt)) {
					print "goroutine " i " differs, and the runtime did not create it"
					bad = 1
				}
			exit bad
		}
	' "$1" "$2"
}

# gh_mk_arm64_core RELEASE: heapbasic built for linux/arm64 with Go
# RELEASE and run under qemu-user (GOTRACEBACK=crash, GOMAXPROCS=2): qemu
# writes the guest's core itself (qemu_exe_<time>_<pid>.core, when
# RLIMIT_CORE allows), with the guest's threads, registers and memory as
# an arm64 kernel would.  The host's own core of qemu is kept to its
# headers (coredump_filter 0).  Cached like gh_mkcore's cores, in
# $GOHEAP_TEST_CACHE/heapbasic-go1.X.Y-arm64qemu-HASH; sets GH_CORE_DIR, or
# returns 77 with gh_skip_reason_.
gh_mk_arm64_core () {
	gh_skip_reason_=
	gh_qemu_=$(command -v qemu-aarch64-static || command -v qemu-aarch64) || {
		gh_skip_reason_="qemu-aarch64 is not installed (Debian package qemu-user-static)"
		return 77
	}
	mkdir -p "$GOHEAP_TEST_CACHE" || return 1
	gh_root_=$(gh_go_root "$1" 2>"$GOHEAP_TEST_CACHE/.why.$$") || {
		gh_skip_reason_=$(cat "$GOHEAP_TEST_CACHE/.why.$$")
		rm -f "$GOHEAP_TEST_CACHE/.why.$$"
		return 77
	}
	rm -f "$GOHEAP_TEST_CACHE/.why.$$"
	gh_ver_=$(gh_go_version "$gh_root_") &&
	gh_hash_=$(gh_fixture_hash_ "$GH_FIXTURES/heapbasic") || return 1
	GH_CORE_DIR=$GOHEAP_TEST_CACHE/heapbasic-$gh_ver_-arm64qemu-$gh_hash_
	test -f "$GH_CORE_DIR/done" && return 0
	(
		flock -w 3600 9 || exit 1
		test -f "$GH_CORE_DIR/done" && exit 0
		rm -rf "$GH_CORE_DIR" && mkdir -p "$GH_CORE_DIR" &&
		cd "$GH_CORE_DIR" || exit 1
		(cd "$GH_FIXTURES/heapbasic" &&
		 $(gh_go_env_ "$gh_root_") GOARCH=arm64 "$gh_root_/bin/go" build \
			-o "$GH_CORE_DIR/exe" .) >log 2>&1 || { cat log >&2; exit 1; }
		{
			echo "go_version=$gh_ver_"
			echo "how=qemu-user"
		} >meta
		(
			exec 9>&-
			ulimit -c unlimited || exit 97
			echo 0 >/proc/self/coredump_filter || exit 98
			exec timeout -s KILL 300 env $(gh_fixture_env_ "") \
				"$gh_qemu_" ./exe >truth 2>crash </dev/null
		)
		gh_st_=$?
		rm -f core core.[0-9]*
		case $gh_st_ in
		97) echo "RLIMIT_CORE cannot be raised" >"$GH_CORE_DIR.skip"; exit 77 ;;
		134) ;;
		*) echo "qemu ran the fixture to status $gh_st_, expected 134" >&2
		   tail -n 20 crash >&2
		   exit 1 ;;
		esac
		set -- qemu_*.core
		test -f "$1" || { echo "qemu wrote no core" >&2; exit 1; }
		mv "$1" core && touch done
	) 9>"$GOHEAP_TEST_CACHE/.lock-heapbasic-arm64qemu-$gh_ver_"
	gh_st_=$?
	if test $gh_st_ = 77
	then
		gh_skip_reason_=$(cat "$GH_CORE_DIR.skip")
		rm -rf "$GH_CORE_DIR" "$GH_CORE_DIR.skip"
	fi
	return $gh_st_
}

# gh_json_wait_reason FILE FUNC: the wait reasons of the goroutines with a
# frame in FUNC, each once.
gh_json_wait_reason () {
	jq -r --arg f "$2" '.goroutines[] |
		select(any(.frames[]; .function == $f)) | .wait_reason' "$1" |
	sort -u
}

# arm64 comes from qemu-user, in addition to the harness's modes (unless
# GOHEAP_TEST_MODES names the modes, when it must name arm64 too).
arm64=arm64
test -n "${GOHEAP_TEST_MODES:-}" && arm64=

for rel in $(gh_go_releases)
do
	for mode in $(gh_modes) $arm64
	do
		t="go$rel $mode"
		test_unset_prereq CORE
		test_expect_success "$t: build heapbasic, run it, take its core" '
			case $mode in
			arm64) gh_mk_arm64_core "$rel" ;;
			*) gh_mkcore heapbasic "$rel" "$mode" ;;
			esac &&
			D=$GH_CORE_DIR &&
			test_set_prereq CORE &&
			test_note "$t: $(gh_meta "$D" go_version), core by $(gh_meta "$D" how): $D"
		'

		test_expect_success CORE "$t: the goroutines, brackets, frames and creators of the dump" '
			expect_exit 0 "$GOHEAP" goroutines "$D/core" "$D/exe" >out.txt &&
			test_must_be_empty stderr &&
			gh_norm_goroutines "$D/crash" >expect &&
			gh_norm_goroutines out.txt >actual &&
			n_g=$(cut -f1 expect | sort -u | wc -l) &&
			n_f=$(awk -F "	" "\$2 == \"\"" expect | wc -l) &&
			test_note "$t: $n_g goroutines and $n_f frames compared" &&
			test "$n_g" -ge 17 &&
			gh_differing_goids expect actual >differ &&
			if test "$mode" = gcore
			then
				# The core is taken before the dump: background
				# goroutines of the runtime may move in between.
				moved=$(echo $(cat differ)) &&
				test_note "$t: goroutines that moved between core and dump:" \
					"${moved:-none}" &&
				gh_runtime_goids differ expect &&
				gh_runtime_goids differ actual &&
				gh_without_goids differ expect >expect.same &&
				gh_without_goids differ actual >actual.same &&
				test_cmp expect.same actual.same
			else
				test_cmp expect actual
			fi
		'

		test_expect_success CORE,JQ "$t: goheap goroutines --format json" '
			expect_exit 0 "$GOHEAP" goroutines "$D/core" "$D/exe" --format json >g.json &&
			json_valid g.json &&
			jq -r ".goroutines[].id" g.json | sort -n >ids &&
			gh_dump_goids "$D" >dumped &&
			test_cmp dumped ids &&
			# Each goroutine as many frames as the text shows.
			jq -r ".goroutines[] | \"\(.id) \(.frames | length)\"" g.json |
				sort -n >json-frames &&
			awk "/^goroutine / { if (g != \"\") print g, n; g = \$2; n = 0; next }
			     /^[^\t]/ && !/^created by / && NF { n++ }
			     END { print g, n }" out.txt | sort -n >text-frames &&
			test_cmp text-frames json-frames &&
			test_json_eq g.json "[.goroutines[].frames[] |
				select(.function == \"\" or .file == \"\" or .line == 0)] | length" 0 &&
			test_json_eq g.json "(.goroutines[] | select(.id == 1) | .created_by) == null" true &&
			test_json_eq g.json "[.goroutines[] | select(.id != 1 and .created_by == null)] | length" 0
		'

		# What each parked goroutine of the fixture waits on, known by
		# construction (tests/fixtures/heapbasic/main.go), and who made it.
		test_expect_success CORE,JQ "$t: wait reasons and creators of the fixture's goroutines" '
			case $rel in
			# Go 1.24 added waitReasonSyncWaitGroupWait (runtime2.go).
			1.22|1.23) wg=semacquire ;;
			*) wg=sync.WaitGroup.Wait ;;
			esac &&
			test_eq parkChan "$(gh_json_wait_reason g.json main.parkChan)" "chan receive" &&
			test_eq parkSelect "$(gh_json_wait_reason g.json main.parkSelect)" select &&
			test_eq parkMutex "$(gh_json_wait_reason g.json main.parkMutex)" sync.Mutex.Lock &&
			test_eq parkCond "$(gh_json_wait_reason g.json main.parkCond)" sync.Cond.Wait &&
			test_eq parkWaitGroup "$(gh_json_wait_reason g.json main.parkWaitGroup)" "$wg" &&
			test_eq parkSleep "$(gh_json_wait_reason g.json main.parkSleep)" sleep &&
			test_json_eq g.json "[.goroutines[] |
				select(any(.frames[]; .function | startswith(\"main.park\")))] | length" 12 &&
			test_json_eq g.json "[.goroutines[] |
				select(any(.frames[]; .function | startswith(\"main.park\"))) |
				select(.status == \"waiting\" and .created_by.function == \"main.startParkers\"
				       and .created_by.goroutine == 1)] | length" 12 &&
			case $mode in
			gcore) want=syscall ;;
			*) want=running ;;
			esac &&
			test_json_eq g.json ".goroutines[] | select(.id == 1) | .status" "$want" &&
			test_json_eq g.json ".goroutines[] | select(.id == 1) | .locked_to_thread" true &&
			test_json_eq g.json ".goroutines[] | select(.id == 1) | .frames[-1].function" runtime.goexit
		'

		if test "$mode" = default
		then
			test_expect_success CORE "$t: the executable stripped by objcopy gives the same stacks" '
				gh_exe_stripped "$D" &&
				expect_exit 0 "$GOHEAP" goroutines "$D/core" "$GH_EXE_STRIPPED" >stripped.txt &&
				test_must_be_empty stderr &&
				test_cmp out.txt stripped.txt
			'
		fi
	done
done

test_done
