#!/bin/sh
# Inputs goheap cannot analyze: each must make it exit 1, by its own
# decision (no signal), with one line on stderr that starts with "goheap: "
# and says what is wrong, and nothing on stdout.

test_description='goheap refuses bad cores and executables with exit 1 and a one-line message'
. "$(dirname "$0")/../lib/test-lib.sh"

BAD=$GOHEAP_SRCDIR/tests/bad

# bad_input ERE ARGS...: `goheap ARGS...` exits 1, prints nothing on
# stdout, and one line "goheap: ..." matching ERE on stderr.
# The phrases are lenient where the wording is still open.
bad_input () {
	gh_ere_=$1
	shift
	expect_exit 1 "$GOHEAP" "$@" >out &&
	test_must_be_empty out &&
	expect_message "$gh_ere_"
}

TRUNC='truncat|short|end of (the )?file|past the end|beyond|EOF|incomplete|not saved'
NOFILE='no such file|not found|does not exist|cannot open|could not open'

test_expect_success 'a real core and its executable, from the first Go release that can be had' '
	for rel in $(gh_go_releases)
	do
		gh_mkcore heapbasic "$rel" default && break
	done &&
	test -f "$GH_CORE_DIR/done" &&
	REL=$rel &&
	D=$GH_CORE_DIR &&
	test_note "cores of heapbasic, go$REL: $D" &&
	mkdir -p "$D/bad" &&
	test_set_prereq CORE
'

test_expect_success 'an empty file as the core' '
	: >empty.core &&
	bad_input "empty|too small|$TRUNC|not an ELF|ELF header" info empty.core --format json
'

test_expect_success 'a text file as the core' '
	bad_input "not an ELF|ELF" info "$BAD/not-elf.txt" --format json
'

test_expect_success 'a core path that does not exist' '
	bad_input "nosuchcore.*($NOFILE)|($NOFILE).*nosuchcore" info nosuchcore --format json
'

test_expect_success 'a directory as the core' '
	mkdir adir &&
	bad_input "director|not a (regular )?file|read" info adir --format json
'

test_expect_success 'an ELF64 core header whose program headers are missing' '
	bad_input "$TRUNC|program header" info "$BAD/elf64-core-header-only.bin" --format json
'

test_expect_success 'a 32-bit ELF core' '
	bad_input "32-bit|ELFCLASS32|class|64-bit|unsupported|not supported" \
		info "$BAD/elf32-core-header.bin" --format json
'

for cut in 100 1024 half end-4096
do
	case $cut in
	100) what="100 bytes" ;;
	1024) what="1 KiB" ;;
	half) what="half its size" ;;
	end-4096) what="all but its last 4 KiB" ;;
	esac
	test_expect_success CORE "a core truncated to $what" '
		size=$(wc -c <"$D/core") &&
		case $cut in
		half) n=$((size / 2)) ;;
		end-4096) n=$((size - 4096)) ;;
		*) n=$cut ;;
		esac &&
		f=$D/bad/core.cut-$cut &&
		if ! test -f "$f"
		then
			cp --sparse=always "$D/core" "$f.tmp" &&
			truncate -s "$n" "$f.tmp" &&
			mv "$f.tmp" "$f"
		fi &&
		test "$(wc -c <"$f")" = "$n" &&
		bad_input "$TRUNC" info "$f" "$D/exe" --format json
	'
done

test_expect_success CORE 'goheap histogram refuses a truncated core too' '
	bad_input "$TRUNC" histogram "$D/bad/core.cut-half" "$D/exe" --format json
'

test_expect_success CORE 'the executable of another build of the same program (PIE)' '
	gh_mkcore heapbasic "$REL" pie &&
	bad_input "build.?id" info "$D/core" "$GH_CORE_DIR/exe" --format json
'

test_expect_success CORE 'the executable of another program (the demo)' '
	gh_mkcore demo "$REL" default &&
	bad_input "build.?id" info "$D/core" "$GH_CORE_DIR/exe" --format json
'

test_expect_success CORE 'an executable path that does not exist' '
	bad_input "nosuchexe.*($NOFILE)|($NOFILE).*nosuchexe" info "$D/core" nosuchexe --format json
'

test_expect_success CORE 'the executable given as the core, and the core as the executable' '
	bad_input "not a core|core file|ET_CORE|executable" info "$D/exe" "$D/core" --format json
'

test_expect_success 'the core of a program that is not Go (sleep)' '
	gh_mk_nongo_core &&
	N=$GH_CORE_DIR &&
	test_set_prereq NONGO &&
	bad_input "not a Go|no Go|Go runtime|runtime\.|pclntab|buildinfo|Go (program|executable)" \
		info "$N/core" "$(gh_meta "$N" exe)" --format json
'

test_expect_success NONGO 'the core of a program that is not Go, without EXE' '
	bad_input "not a Go|no Go|Go runtime|runtime\.|pclntab|buildinfo|Go (program|executable)" \
		info "$N/core" --format json
'

test_done
