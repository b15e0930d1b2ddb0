#!/bin/sh
# goheap object on the objects of tests/fixtures/ptrshapes, for every Go
# release and kind of core: each object's base, size, type and exactly the
# words the garbage collector treats as pointers, on every path by which
# the runtime records them (heap bits at the end of the span, with and
# without Green Tea's inline mark bits; malloc headers; mspan.largeType;
# GC programs and on-demand masks, built by the runtime or not yet), and
# the command's errors.  Also Go 1.25 GOEXPERIMENT=greenteagc, 1.26
# nogreenteagc and 1.22 noallocheaders (the arenas' heap bitmap).

test_description='goheap object: every object'"'"'s pointer words, as the GC sees them'
. "$(dirname "$0")/../lib/test-lib.sh"

# The fixture's markers (tests/fixtures/ptrshapes/main.go, markAll).
MARKERS='arena s8 s16 s48 kinds s512 sl5 pairs5 pairs20 grown mid midpairs
midkinds midmax big bigptrs bigpairs hugeA hugeB ns48 bytes100 bytes1000
bigbytes tiny'
N_MARKERS=24

# marker_field DIR NAME KEY: KEY's value on NAME's GOHEAP_MARKER line.
marker_field () {
	awk -v n="name=$2" -v k="$3=" '
		$1 == "GOHEAP_MARKER" && $2 == n {
			for (i = 3; i <= NF; i++)
				if (index($i, k) == 1)
					print substr($i, length(k) + 1)
		}' "$1/truth"
}

# ptr_words JSON OFF: the pointer words of goheap object's JSON, counted
# from OFF bytes past the base, written as the fixture writes them:
# "0,2-5", or "-" for none.
ptr_words () {
	jq -r '.pointers[].offset' "$1" | awk -v off="$2" '
		function flush() {
			if (n)
				s = s (s == "" ? "" : ",") (lo == hi ? lo : lo "-" hi)
		}
		{
			w = ($1 - off) / 8
			if (n && w == hi + 1) {
				hi = w
				next
			}
			flush()
			lo = hi = w
			n = 1
		}
		END { flush(); print (s == "" ? "-" : s) }'
}

# clip_words LIST N: the words of LIST below N.
clip_words () {
	echo "$1" | awk -F, -v n="$2" '{
		for (i = 1; i <= NF; i++) {
			if ($i == "-")
				continue
			k = split($i, r, "-")
			lo = r[1] + 0
			hi = (k == 2 ? r[2] : r[1]) + 0
			if (lo >= n)
				continue
			if (hi >= n)
				hi = n - 1
			s = s (s == "" ? "" : ",") (lo == hi ? lo : lo "-" hi)
		}
		print (s == "" ? "-" : s)
	}'
}

# check_marker DIR NAME SCHEME UNROLLED: goheap object on NAME's address
# gives what the fixture says.  SCHEME "headers" (Go 1.22+) or "bitmap"
# (no malloc headers: the pointer words are those within the data, and
# no type is recorded).  UNROLLED "yes" where the runtime replaced a
# GC-program type by a nameless unrolled copy (Go 1.22-1.23).
check_marker () {
	addr=$(marker_field "$1" "$2" addr) &&
	if test -z "$addr"
	then
		echo "no marker $2 in $1/truth" >&2
		return 1
	fi &&
	off=$(marker_field "$1" "$2" off) &&
	size=$(marker_field "$1" "$2" size) &&
	path=$(marker_field "$1" "$2" path) &&
	data=$(marker_field "$1" "$2" data) &&
	ptrs=$(marker_field "$1" "$2" ptrs) &&
	type=$(marker_field "$1" "$2" type) &&
	bigmask=$(marker_field "$1" "$2" bigmask) &&
	if test "$3" = bitmap
	then
		ptrs=$(clip_words "$ptrs" "$data") &&
		type= &&
		if test "$path" = header
		then
			# No header word, and the size class of the data alone.
			off=0 &&
			size=
		fi
	fi &&
	expect_exit 0 "$GOHEAP" object "$1/core" "$1/exe" "$addr" --format json >obj.json &&
	json_valid obj.json &&
	base=$(json_get obj.json .address) &&
	test_eq "$2: base" "$base" "$(printf 0x%x $((addr - off)))" &&
	if test -n "$size"
	then
		test_json_eq obj.json .size "$size"
	fi &&
	test_eq "$2: pointer words" "$(ptr_words obj.json $((addr - base)))" "$ptrs" &&
	noscan=false &&
	case $path in noscan|tiny) noscan=true ;; esac &&
	test_eq "$2: noscan" "$(jq -r .noscan obj.json)" $noscan &&
	class=$(jq -r .size_class obj.json) &&
	if test "$(jq -r .size obj.json)" -gt 32768
	then
		test_eq "$2: size class" "$class" 0
	else
		test "$class" -gt 0
	fi &&
	got_type=$(jq -r '.type // "null"' obj.json) &&
	if test -z "$type"
	then
		test_eq "$2: type" "$got_type" null
	elif test "$bigmask" = 1 && test "$4" = yes
	then
		# runtime/mbitmap.go heapSetType: a copy with TFlagUnrolledBitmap
		# and no name stands in for a GC-program type.
		case $got_type in
		"unnamed type 0x"*) ;;
		*) echo "$2: type '$got_type', expected the runtime's nameless copy" >&2
		   false ;;
		esac
	else
		test_eq "$2: type" "$got_type" "$type"
	fi
}

# mkcore_exp EXPERIMENT NAME RELEASE MODE: gh_mkcore with GOEXPERIMENT set,
# cached apart from the default builds (the cache key does not hold it).
mkcore_exp () {
	gh_exp_cache_=$GOHEAP_TEST_CACHE
	GOHEAP_TEST_CACHE=$GOHEAP_TEST_CACHE/goexperiment-$1
	GOEXPERIMENT=$1
	export GOEXPERIMENT
	gh_mkcore "$2" "$3" "$4"
	gh_exp_st_=$?
	unset GOEXPERIMENT
	GOHEAP_TEST_CACHE=$gh_exp_cache_
	return $gh_exp_st_
}

# check_core TITLE SCHEME UNROLLED: the tests of one core ($D).
check_core () {
	scheme=$2
	test_expect_success CORE "$1: the ground truth is stable and complete" '
		test_eq "HeapObjects read again" "$(gh_truth "$D" heap_objects2)" \
			"$(gh_truth "$D" heap_objects)" &&
		test_eq "HeapAlloc read again" "$(gh_truth "$D" heap_alloc2)" \
			"$(gh_truth "$D" heap_alloc)" &&
		test_eq markers "$(grep -c "^GOHEAP_MARKER " "$D/truth")" $N_MARKERS &&
		gh_is_elf_core "$D/core"
	'

	for m in $MARKERS
	do
		test_expect_success CORE,JQ "$1: $m: base, size, type, pointer words" '
			check_marker "$D" '"$m $2 $3"'
		'
	done

	test_expect_success CORE,JQ "$1: interior addresses resolve to their object" '
		s48=$(marker_field "$D" s48 addr) &&
		expect_exit 0 "$GOHEAP" object "$D/core" "$D/exe" \
			"$(printf 0x%x $((s48 + 17)))" --format json >obj.json &&
		test_json_eq obj.json .address "$s48" &&
		hugeB=$(marker_field "$D" hugeB addr) &&
		expect_exit 0 "$GOHEAP" object "$D/core" "$D/exe" \
			"$(printf %X $((hugeB + 300000)))" --format json >obj.json &&
		test_json_eq obj.json .address "$hugeB" &&
		mid=$(marker_field "$D" mid addr) &&
		off=$(marker_field "$D" mid off) &&
		if test "$scheme" = bitmap
		then
			off=0
		fi &&
		expect_exit 0 "$GOHEAP" object "$D/core" "$D/exe" \
			"$(printf 0x%x $((mid - off)))" --format json >obj.json &&
		test_json_eq obj.json .address "$(printf 0x%x $((mid - off)))"
	'

	test_expect_success CORE,JQ "$1: pointers name the objects they point into" '
		s48=$(marker_field "$D" s48 addr) &&
		arena=$(marker_field "$D" arena addr) &&
		expect_exit 0 "$GOHEAP" object "$D/core" "$D/exe" "$s48" --format json >obj.json &&
		test_eq targets "$(jq -r "[.pointers[].target] | unique | join(\" \")" obj.json)" \
			"$arena" &&
		test_eq values "$(jq -r "[.pointers[].value] | join(\" \")" obj.json)" \
			"$(printf "0x%x 0x%x 0x%x" $((arena + 8)) $((arena + 16)) $((arena + 24)))" &&
		big=$(marker_field "$D" big addr) &&
		expect_exit 0 "$GOHEAP" object "$D/core" "$D/exe" "$big" --format json >obj.json &&
		test_eq "targets of big" "$(jq -r "[.pointers[] | select(.value != \"0x0\")
			| .target] | unique | join(\" \")" obj.json)" "$arena" &&
		test_eq "nil pointers of big" "$(jq -r "[.pointers[] | select(.value == \"0x0\")
			| .target] | unique | map(tostring) | join(\" \")" obj.json)" null
	'
}

for rel in $(gh_go_releases)
do
	unrolled=no
	case $rel in 1.22|1.23) unrolled=yes ;; esac
	for mode in $(gh_modes)
	do
		t="go$rel $mode"
		test_unset_prereq CORE
		test_expect_success "$t: build ptrshapes, run it, take its core" '
			gh_mkcore ptrshapes "$rel" "$mode" &&
			D=$GH_CORE_DIR &&
			test_set_prereq CORE &&
			test_note "$t: $(gh_meta "$D" go_version), core by $(gh_meta "$D" how): $D"
		'
		check_core "$t" headers $unrolled

		test "$mode" = default || continue

		test_expect_success CORE,JQ "$t: text output: pointers, never other words" '
			s48=$(marker_field "$D" s48 addr) &&
			expect_exit 0 "$GOHEAP" object "$D/core" "$D/exe" "$s48" >out &&
			grep "^address: *$s48\$" out &&
			grep "^size: *48 B" out &&
			grep "^  +0x[0-9a-f]* *pointer 0x" out >pointers.txt &&
			test_line_count = 3 pointers.txt &&
			expect_exit 0 "$GOHEAP" object "$D/core" "$D/exe" "$s48" --format json >obj.json &&
			# small48.b holds 0x5ec2e75ec2e7 = 104103484588775.
			! grep -i "5ec2e75ec2e7\|104103484588775" out obj.json
		'

		test_expect_success CORE "$t: an address in no heap object: exit 1" '
			expect_exit 1 "$GOHEAP" object "$D/core" "$D/exe" 0x10 >out &&
			test_must_be_empty out &&
			expect_message "address 0x10 is not in an allocated heap object"
		'

		test_expect_success CORE "$t: a malformed address: exit 2" '
			for a in 0xzz c000g 0x 12345678901234567 ""
			do
				expect_exit 2 "$GOHEAP" object "$D/core" "$D/exe" "$a" >out &&
				test_must_be_empty out &&
				grep "^goheap: " stderr &&
				grep "^usage: goheap object" stderr || return 1
			done
		'

		test_expect_success CORE "$t: no ADDRESS: exit 2" '
			expect_exit 2 "$GOHEAP" object "$D/core" >out &&
			test_must_be_empty out &&
			grep "^goheap: no ADDRESS given" stderr &&
			expect_exit 2 "$GOHEAP" object "$D/core" "$D/exe" 0x10 0x20 >out &&
			grep "^goheap: too many arguments" stderr
		'
	done
done

# GOEXPERIMENTs that move the pointer bits: Green Tea's inline mark bits
# shift the heap bits of small spans (1.25 opt-in, 1.26 opt-out); 1.22
# noallocheaders keeps 1.21's bitmap in each heap arena.
for exp in 1.25:greenteagc:headers 1.26:nogreenteagc:headers 1.22:noallocheaders:bitmap
do
	rel=${exp%%:*}
	rest=${exp#*:}
	x=${rest%%:*}
	scheme=${rest#*:}
	gh_go_releases | grep -qx "$rel" || continue
	unrolled=no
	case $rel in 1.22|1.23) unrolled=yes ;; esac
	t="go$rel GOEXPERIMENT=$x"
	test_unset_prereq CORE
	test_expect_success JQ "$t: build ptrshapes, run it, take its core" '
		mkcore_exp "$x" ptrshapes "$rel" default &&
		D=$GH_CORE_DIR &&
		expect_exit 0 "$GOHEAP" info "$D/core" "$D/exe" --format json >info.json &&
		v=$(json_get info.json .go_version) &&
		test_note "$t: $v: $D" &&
		case $v in
		*"$x"*) ;;
		*) echo "the runtime says $v: the experiment is missing" >&2; false ;;
		esac &&
		test_set_prereq CORE
	'
	check_core "$t" "$scheme" $unrolled
done

test_done
