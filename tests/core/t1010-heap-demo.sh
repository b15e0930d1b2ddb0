#!/bin/sh
# The README's demo program (tests/fixtures/demo, a leaky service: a
# growing map, leaked goroutines, big buffers pinned by small subslices):
# tests/lib/demo.sh works, and goheap's totals equal the program's MemStats
# on every Go release.

test_description='the demo program: demo.sh, and goheap info on its cores'
. "$(dirname "$0")/../lib/test-lib.sh"

test_expect_success 'demo.sh prints the paths of a core and its executable' '
	sh "$GH_LIB/demo.sh" >paths 2>demo.err &&
	test_line_count = 2 paths &&
	core=$(sed -n 1p paths) &&
	exe=$(sed -n 2p paths) &&
	gh_is_elf_core "$core" &&
	test -x "$exe" &&
	grep "^demo: the program said: HeapObjects=" demo.err
'

for rel in $(gh_go_releases)
do
	test_unset_prereq CORE
	test_expect_success "go$rel: build the demo, run it, take its core" '
		gh_mkcore demo "$rel" default &&
		D=$GH_CORE_DIR &&
		test_set_prereq CORE &&
		test_eq "HeapObjects read again" "$(gh_truth "$D" heap_objects2)" \
			"$(gh_truth "$D" heap_objects)" &&
		test_eq "HeapAlloc read again" "$(gh_truth "$D" heap_alloc2)" \
			"$(gh_truth "$D" heap_alloc)" &&
		test_eq NumGoroutine "$(gh_truth "$D" num_goroutine)" 41
	'

	test_expect_success CORE,JQ "go$rel: goheap info on the demo equals MemStats and the dump" '
		expect_exit 0 "$GOHEAP" info "$D/core" "$D/exe" --format json >info.json &&
		test_json_eq info.json .heap.objects "$(gh_truth "$D" heap_objects)" &&
		test_json_eq info.json .heap.bytes "$(gh_truth "$D" heap_alloc)" &&
		test_json_eq info.json .goroutines "$(gh_dump_goids "$D" | wc -l)"
	'
done

test_done
