# test-lib.sh - the library every tests/core/tNNNN-area-detail.sh sources.
#
# Modelled on git's t/test-lib.sh: a script is a list of
#
#	test_expect_success [PREREQ,...] 'title' '
#		cmd1 &&
#		cmd2
#	'
#
# ending with test_done.  Output is TAP (the plan comes last), read by
# automake's tap-driver.sh under `make check`, or by a person.  A body is
# eval'd in the test script's shell, in the trash directory
# $GOHEAP_BUILDDIR/tests/trash/tNNNN-.../ (each test starts there), with its
# output kept in a file that is shown, as TAP comments, when the test fails.
# Bodies must be &&-chained: a broken chain is reported as a bug in the test.
#
#   test_expect_success [P] T B  B must succeed.
#   test_expect_failure [P] T B  a known bug: TAP "# TODO"; passing is news.
#   test_skip T REASON           a skip, said loudly (on stderr too).
#                                GOHEAP_TEST_STRICT=1 (CI) counts a skip, for
#                                whatever reason, as a failure.
#   test_set_prereq P, test_unset_prereq P, test_have_prereq P
#                                prerequisites; a test whose prerequisite is
#                                missing is skipped with its reason
#                                (test_set_prereq_reason P WHY says why).
#   skip_because WHY             inside a body: `skip_because "no gdb"` makes
#                                the test a skip (it returns 77; the body must
#                                stop there, e.g. `... || skip_because ...`
#                                as its last link or `{ skip_because x; return; }`)
#   expect_exit CODE CMD...      CMD must exit with CODE: death by a signal,
#                                127 (not found) or any other code fails.
#                                CMD's stdout passes through; its stderr is
#                                kept in ./stderr (for grep) and copied to the
#                                test's output.  CMD runs with stdin
#                                /dev/null, under `timeout`.
#   test_note MSG                a "# MSG" line in the TAP output, also from a
#                                body (whose own output is kept aside)
#   expect_message ERE [FILE]    FILE (./stderr) is one line "goheap: MSG"
#                                and MSG matches ERE (grep -E -i)
#   test_cmp A B, test_must_be_empty F, test_line_count OP N F, test_eq W A B
#   json_valid F                 F holds exactly one JSON object
#   json_get F FILTER            print jq's raw value; fails on null/missing
#   test_json_eq F FILTER VALUE  assert, saying what differed
#
# Environment (make check sets the first three through AM_TESTS_ENVIRONMENT):
#   GOHEAP            the binary under test
#   GOHEAP_SRCDIR     the source tree
#   GOHEAP_BUILDDIR   the build tree (cache and trash directories live here)
#   GOHEAP_TEST_CACHE where built fixtures and cores are kept
#                     (default $GOHEAP_BUILDDIR/tests/cache)
#   GOHEAP_TEST_STRICT=1  skips fail
#   GOHEAP_TEST_GO_RELEASES  Go releases to cover, e.g. "1.22 1.27"
#                     (toolchain.sh, which also reads GOHEAP_TEST_GO_SOURCES,
#                     GOHEAP_TEST_GOROOT_1_22, GOHEAP_TEST_GO_PATCH_1_22)
#   GOHEAP_TEST_MODES kinds of core, default "default pie pie0x3f stripped gcore"
#                     (mkcore.sh, which also reads GOHEAP_TEST_CORE_PATTERN)
#   GOHEAP_TEST_TIMEOUT   seconds one expect_exit command may take (600)
# Run by hand from a build tree: `sh /path/to/tests/core/t1000-*.sh -v`.
# Without GOHEAP_BUILDDIR the build tree is the current directory if it holds
# ./goheap, else the source tree's _build/ (bootstrap.sh), else the source
# tree, else the current directory.
# Options: -v (show each test's output on stderr), -d (keep the trash
# directory), -i (stop at the first failure), -x (trace bodies).

# --- where things are ------------------------------------------------------
gh_here_=$(cd "$(dirname "$0")" && pwd)
: "${GOHEAP_SRCDIR:=$(cd "$gh_here_/../.." && pwd)}"
if test -z "${GOHEAP_BUILDDIR:-}"
then
	if test -x ./goheap
	then
		GOHEAP_BUILDDIR=$(pwd)
	elif test -x "$GOHEAP_SRCDIR/_build/goheap"
	then
		GOHEAP_BUILDDIR=$GOHEAP_SRCDIR/_build
	elif test -x "$GOHEAP_SRCDIR/goheap"
	then
		GOHEAP_BUILDDIR=$GOHEAP_SRCDIR
	else
		GOHEAP_BUILDDIR=$(pwd)
	fi
fi
: "${GOHEAP:=$GOHEAP_BUILDDIR/goheap}"
: "${GOHEAP_TEST_CACHE:=$GOHEAP_BUILDDIR/tests/cache}"
# Tests run in the trash directory: make relative paths absolute.
case $GOHEAP_SRCDIR in /*) ;; *) GOHEAP_SRCDIR=$(pwd)/$GOHEAP_SRCDIR ;; esac
case $GOHEAP_BUILDDIR in /*) ;; *) GOHEAP_BUILDDIR=$(pwd)/$GOHEAP_BUILDDIR ;; esac
case $GOHEAP_TEST_CACHE in /*) ;; *) GOHEAP_TEST_CACHE=$(pwd)/$GOHEAP_TEST_CACHE ;; esac
case $GOHEAP in /*) ;; */*) GOHEAP=$(pwd)/$GOHEAP ;; esac
export GOHEAP GOHEAP_SRCDIR GOHEAP_BUILDDIR GOHEAP_TEST_CACHE
GH_LIB=$GOHEAP_SRCDIR/tests/lib
GH_FIXTURES=$GOHEAP_SRCDIR/tests/fixtures

# Sanitizer reports must be deaths by signal, not an exit status 1 that an
# `expect_exit 1` would take for a controlled failure.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}abort_on_error=1:disable_coredump=1"
UBSAN_OPTIONS="${UBSAN_OPTIONS:+$UBSAN_OPTIONS:}print_stacktrace=1:halt_on_error=1:abort_on_error=1"
export ASAN_OPTIONS UBSAN_OPTIONS
LC_ALL=C
export LC_ALL

# --- options ---------------------------------------------------------------
test_verbose=
test_debug=
test_immediate=
test_trace=
for gh_opt_
do
	case $gh_opt_ in
	-v|--verbose) test_verbose=t ;;
	-d|--debug) test_debug=t ;;
	-i|--immediate) test_immediate=t ;;
	-x) test_trace=t ;;
	-h|--help)
		echo "usage: $0 [-v] [-d] [-i] [-x]"
		exit 0 ;;
	*)
		echo "Bail out! $0: unknown option '$gh_opt_'"
		exit 99 ;;
	esac
done

this_test=$(basename "$0" .sh)
TEST_NAME=$this_test
TRASH_DIRECTORY=$GOHEAP_BUILDDIR/tests/trash/$this_test
test_count=0
test_fail=0
test_fixed=0
test_broken=0
test_skipped=0
test_skipped_list=
test_prereqs_=' '

BUG () {
	echo "Bail out! bug in the test script $this_test: $*"
	exit 99
}

rm -rf "$TRASH_DIRECTORY" && mkdir -p "$TRASH_DIRECTORY" ||
	BUG "cannot make the trash directory $TRASH_DIRECTORY"
cd "$TRASH_DIRECTORY" || BUG "cannot enter $TRASH_DIRECTORY"
echo "# $this_test: ${test_description:-}"
echo "# GOHEAP=$GOHEAP"
echo "# cache: $GOHEAP_TEST_CACHE"
if ! test -x "$GOHEAP"
then
	# Not a skip: the tests that run it fail, and say why.
	echo "# WARNING: $GOHEAP is not an executable: every test that runs goheap will fail (build it first)"
	echo "$this_test: warning: $GOHEAP is not an executable" >&2
fi

# --- prerequisites -------------------------------------------------------
test_set_prereq () {
	test_prereqs_="$test_prereqs_$1 "
}

test_unset_prereq () {
	test_prereqs_=$(echo "$test_prereqs_" | sed "s/ $1 / /g")
}

test_set_prereq_reason () {
	eval "test_prereq_why_$1=\$2"
}

test_have_prereq () {
	case $test_prereqs_ in
	*" $1 "*) return 0 ;;
	*) return 1 ;;
	esac
}

# test_missing_prereq_ P1,P2: prints the first missing one and why.
test_missing_prereq_ () {
	gh_ifs_=$IFS
	IFS=,
	set -- $1
	IFS=$gh_ifs_
	for gh_p_
	do
		if ! test_have_prereq "$gh_p_"
		then
			eval "gh_why_=\${test_prereq_why_$gh_p_:-}"
			echo "missing prerequisite $gh_p_${gh_why_:+: $gh_why_}"
			return 0
		fi
	done
	return 1
}

# --- reporting -------------------------------------------------------------
# Fd 5 is the TAP stream, also inside bodies (whose stdout is a file).
exec 5>&1

say_ () {
	echo "$*" >&5
}

# test_note MSG: a TAP comment, from anywhere (a body too).
test_note () {
	echo "# $*" >&5
}

test_ok_ () {
	say_ "ok $test_count - $1"
}

test_show_output_ () {
	if test -s "$test_out_"
	then
		tail -n 60 "$test_out_" | sed 's/^/#	/'
	fi
}

test_failure_ () {
	test_fail=$((test_fail + 1))
	say_ "not ok $test_count - $1"
	echo "$2" | sed 's/^/#	/'
	test_show_output_
	if test -n "$test_immediate"
	then
		say_ "Bail out! $this_test: stopping at the first failure (-i)"
		test_debug=t
		test_done
	fi
}

test_skip () {
	test_count=$((test_count + 1))
	test_skip_ "$@"
}

# test_skip_ TITLE REASON: report test $test_count as skipped.
test_skip_ () {
	test_skipped=$((test_skipped + 1))
	test_skipped_list="$test_skipped_list
#	$test_count: $1: $2"
	echo "$this_test: SKIP $test_count $1: $2" >&2
	if test "${GOHEAP_TEST_STRICT:-0}" = 1
	then
		test_fail=$((test_fail + 1))
		say_ "not ok $test_count - $1: skipped ($2), a failure under GOHEAP_TEST_STRICT=1"
	else
		say_ "ok $test_count # skip $1 ($2)"
	fi
}

# --- running bodies --------------------------------------------------------
skip_because () {
	gh_skip_reason_=$*
	return 77
}

# A body is properly &&-chained if `(exit 117) && BODY` does nothing but
# return 117 (git's test_chain_lint).  Run in a subshell: a broken chain
# does run the commands after the break.
test_chain_ok_ () {
	(eval "(exit 117) && $1") >/dev/null 2>&1 </dev/null
	test $? = 117
}

# test_run_ BODY: 0 passed, 77 skipped (gh_skip_reason_), else failed.
test_run_ () {
	test_out_=$TRASH_DIRECTORY/.out.$test_count
	gh_skip_reason_=
	if ! test_chain_ok_ "$1"
	then
		echo "bug in the test script: broken &&-chain (or a link that exits 117)" >"$test_out_"
		return 1
	fi
	cd "$TRASH_DIRECTORY" || BUG "lost the trash directory"
	if test -n "$test_trace"
	then
		set -x
	fi
	eval "$1" >"$test_out_" 2>&1 </dev/null
	gh_st_=$?
	{ set +x; } 2>/dev/null
	cd "$TRASH_DIRECTORY" || BUG "lost the trash directory"
	if test -n "$test_verbose" && test -s "$test_out_"
	then
		sed "s/^/[$test_count] /" "$test_out_" >&2
	fi
	if test $gh_st_ = 77 && test -n "$gh_skip_reason_"
	then
		return 77
	fi
	return $gh_st_
}

test_expect_success () {
	test $# = 3 && { gh_pre_=$1; shift; } || gh_pre_=
	test $# = 2 || BUG "test_expect_success takes [PREREQ] TITLE BODY"
	test_count=$((test_count + 1))
	if gh_miss_=$(test_missing_prereq_ "$gh_pre_")
	then
		test_skip_ "$1" "$gh_miss_"
		return 1
	fi
	test_run_ "$2"
	case $? in
	0) test_ok_ "$1"; return 0 ;;
	77) test_skip_ "$1" "$gh_skip_reason_"; return 1 ;;
	*) test_failure_ "$1" "$2"; return 1 ;;
	esac
}

test_expect_failure () {
	test $# = 3 && { gh_pre_=$1; shift; } || gh_pre_=
	test $# = 2 || BUG "test_expect_failure takes [PREREQ] TITLE BODY"
	test_count=$((test_count + 1))
	if gh_miss_=$(test_missing_prereq_ "$gh_pre_")
	then
		test_skip_ "$1" "$gh_miss_"
		return 1
	fi
	test_run_ "$2"
	case $? in
	0)
		test_fixed=$((test_fixed + 1))
		say_ "ok $test_count - $1 # TODO known breakage vanished" ;;
	77) test_skip_ "$1" "$gh_skip_reason_" ;;
	*)
		test_broken=$((test_broken + 1))
		say_ "not ok $test_count - $1 # TODO known breakage" ;;
	esac
	return 0
}

test_done () {
	say_ "1..$test_count"
	if test $test_skipped -gt 0
	then
		say_ "# $test_skipped test(s) SKIPPED:$test_skipped_list"
	fi
	if test $test_broken -gt 0
	then
		say_ "# still have $test_broken known breakage(s)"
	fi
	if test $test_fixed -gt 0
	then
		say_ "# $test_fixed known breakage(s) vanished; please update test(s)"
	fi
	if test $test_fail -gt 0
	then
		say_ "# failed $test_fail among $test_count test(s); trash kept in $TRASH_DIRECTORY"
		exit 1
	fi
	say_ "# passed all $test_count test(s)"
	cd "$GOHEAP_BUILDDIR" || exit 1
	if test -z "$test_debug"
	then
		rm -rf "$TRASH_DIRECTORY"
	fi
	exit 0
}

# --- helpers for bodies ----------------------------------------------------
expect_exit () {
	test $# -ge 2 || BUG "expect_exit takes CODE CMD..."
	gh_want_=$1
	shift
	gh_t_=
	case $(command -V "$1" 2>/dev/null) in
	*function*|*builtin*) ;;
	*) command -v timeout >/dev/null 2>&1 &&
		gh_t_="timeout -k 10 ${GOHEAP_TEST_TIMEOUT:-600}" ;;
	esac
	$gh_t_ "$@" 2>stderr </dev/null
	gh_got_=$?
	if test -s stderr
	then
		sed 's/^/stderr: /' stderr >&2
	fi
	if test -n "$gh_t_" && test $gh_got_ = 124
	then
		echo "expect_exit: '$*' ran longer than ${GOHEAP_TEST_TIMEOUT:-600} s" >&2
		return 1
	fi
	if test $gh_got_ -gt 128 && test $gh_got_ -le 192
	then
		echo "expect_exit: '$*' died by signal $((gh_got_ - 128)) (SIG$(kill -l $((gh_got_ - 128)) 2>/dev/null))" >&2
		return 1
	fi
	if test $gh_got_ = 127 && test "$gh_want_" != 127
	then
		echo "expect_exit: '$1' was not found or could not run (status 127)" >&2
		return 1
	fi
	if test "$gh_got_" != "$gh_want_"
	then
		echo "expect_exit: '$*' exited with status $gh_got_, expected $gh_want_" >&2
		return 1
	fi
	return 0
}

# expect_message ERE [FILE]: FILE (default ./stderr, where expect_exit
# leaves it) is one line that starts with "goheap: ", and the rest of it
# matches ERE (grep -E -i).
expect_message () {
	gh_f_=${2:-stderr}
	if ! test "$(wc -l <"$gh_f_")" -eq 1
	then
		echo "expect_message: $gh_f_ is not one line:" >&2
		cat "$gh_f_" >&2
		return 1
	fi
	if ! grep -q '^goheap: ' "$gh_f_"
	then
		echo "expect_message: the message does not start with 'goheap: '" >&2
		return 1
	fi
	if ! sed 's/^goheap: //' "$gh_f_" | grep -E -i -q "$1"
	then
		echo "expect_message: the message does not match /$1/" >&2
		return 1
	fi
}

test_cmp () {
	diff -u "$1" "$2"
}

test_must_be_empty () {
	if test -s "$1"
	then
		echo "'$1' is not empty:" >&2
		head -n 20 "$1" >&2
		return 1
	fi
}

# test_line_count = 3 FILE
test_line_count () {
	gh_n_=$(wc -l <"$3")
	test "$gh_n_" "$1" "$2" || {
		echo "test_line_count: $3 has $gh_n_ lines, expected $1 $2" >&2
		return 1
	}
}

# test_eq WHAT GOT WANT: exact string equality, saying what differed.
test_eq () {
	test "$2" = "$3" || {
		echo "$1: got '$2', expected '$3'" >&2
		return 1
	}
}

# --- JSON (jq) -------------------------------------------------------------
gh_need_jq_ () {
	command -v jq >/dev/null 2>&1 && return 0
	# bootstrap.sh installs Debian's jq; install it here too when we can.
	if test "$(id -u)" = 0 && command -v apt-get >/dev/null 2>&1
	then
		echo "# jq is missing: installing Debian's jq" >&2
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jq >/dev/null 2>&1 ||
		{ apt-get update -qq >/dev/null 2>&1 &&
		  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq jq >/dev/null 2>&1; }
	fi
	command -v jq >/dev/null 2>&1
}
if gh_need_jq_
then
	test_set_prereq JQ
else
	test_set_prereq_reason JQ "jq is not installed (Debian package jq)"
	echo "# WARNING: jq is missing and could not be installed: JSON tests will be skipped" >&2
fi

json_valid () {
	jq -e -s 'length == 1 and (.[0] | type) == "object"' "$1" >/dev/null || {
		echo "json_valid: $1 is not exactly one JSON object:" >&2
		head -c 2000 "$1" >&2
		return 1
	}
}

json_get () {
	gh_v_=$(jq -r "$2" "$1") || return 1
	if test "$gh_v_" = null || test -z "$gh_v_"
	then
		echo "json_get: $2 is missing in $1" >&2
		return 1
	fi
	echo "$gh_v_"
}

test_json_eq () {
	gh_v_=$(json_get "$1" "$2") || return 1
	test "$gh_v_" = "$3" || {
		echo "$1: $2 is $gh_v_, expected $3" >&2
		return 1
	}
}

. "$GH_LIB/toolchain.sh"
. "$GH_LIB/mkcore.sh"
