#!/bin/sh
# The object graph's reachability against a fixture whose garbage is known
# by construction (tests/fixtures/graphbasic).

test_description='goheap info: reachable and garbage objects of the object graph'
. "$(dirname "$0")/../lib/test-lib.sh"

# gh_last_truth DIR KEY: KEY of the last MemStats reading.  In gcore mode the
# fixture reads MemStats again after the core was taken (GOHEAP_TRUTH_AFTER):
# blocking in read(0) may start an M, which allocates before the dump.
gh_last_truth () {
	awk -v k="$2" '/^GOHEAP_TRUTH/ { for (i = 2; i <= NF; i++) {
		split($i, kv, "="); if (kv[1] == k) v = kv[2] } } END { print v }' "$1/truth"
}

for rel in $(gh_go_releases)
do
	for mode in $(gh_modes)
	do
		t="go$rel $mode"
		test_unset_prereq CORE
		test_expect_success "$t: build graphbasic, run it, take its core" '
			gh_mkcore graphbasic "$rel" "$mode" &&
			D=$GH_CORE_DIR &&
			test_set_prereq CORE
		'

		test_expect_success CORE,JQ "$t: reachable + garbage = allocated, and allocated = MemStats" '
			expect_exit 0 "$GOHEAP" info "$D/core" "$D/exe" --format json >info.json &&
			test_json_eq info.json .heap.objects "$(gh_last_truth "$D" heap_objects)" &&
			test_json_eq info.json .heap.bytes "$(gh_last_truth "$D" heap_alloc)" &&
			r=$(jq .heap.reachable_objects info.json) &&
			g=$(jq .heap.garbage_objects info.json) &&
			test_eq "reachable + garbage" "$((r + g))" "$(jq .heap.objects info.json)" &&
			rb=$(jq .heap.reachable_bytes info.json) &&
			gb=$(jq .heap.garbage_bytes info.json) &&
			test_eq "reachable + garbage bytes" "$((rb + gb))" "$(jq .heap.bytes info.json)"
		'

		# 500 dropped 4 KiB objects and one unreferenced finalizer object
		# (its special is no reference), plus at most one 16-byte array:
		# the background scavenger can grow a P's timer heap after the
		# last GC, leaving the old backing array behind (see heapbasic).
		# Stacks are scanned conservatively until stack maps are read, so
		# a dead stack slot still holding a dropped object can keep it:
		# 0 to 4 were seen; the bound leaves room.
		test_expect_success CORE,JQ "$t: the garbage made after the last GC is found (within conservative stack scanning)" '
			want=$(gh_truth "$D" garbage_objects) &&
			g=$(jq .heap.garbage_objects info.json) &&
			test_note "$t: garbage $g objects, $(jq .heap.garbage_bytes info.json) bytes; built: $want, $(gh_truth "$D" garbage_bytes)" &&
			test "$g" -ge $((want - 10)) && test "$g" -le $((want + 1))
		'
		# Finalizer semantics (runtime/mgcmark.go markrootSpans): the
		# special is no reference to its object, but what the object
		# points to is live; a cycle through the object keeps it.  That
		# finobj itself is unreachable is not asserted yet: with stacks
		# scanned conservatively, a stale copy of its address on a stack
		# keeps it in some runs (seen on go1.22); precise stack maps will
		# let the test say finobj:false.
		for m in listhead:true stackonly:true cycleobj:true cyclechild:true \
			finchild:true
		do
			name=${m%:*} want=${m#*:}
			test_expect_success CORE,JQ "$t: $name is reachable: $want" '
				a=$(sed -n "s/^GOHEAP_MARKER name=$name addr=\\(0x[0-9a-f]*\\).*/\\1/p" "$D/truth") &&
				expect_exit 0 "$GOHEAP" object "$D/core" "$D/exe" "$a" --format json >obj.json &&
				test_json_eq obj.json .reachable "$want"
			'
		done
	done
done

test_done
