#!/bin/sh
# For each Go release and each kind of core, goheap's heap totals must equal
# what runtime.ReadMemStats said right before the dump, exactly.

test_description='goheap info on real cores: heap totals equal runtime.MemStats, goroutines equal the runtime dump'
. "$(dirname "$0")/../lib/test-lib.sh"

# gh_dump_user_goids DIR: goroutines of the dump that NumGoroutine counts:
# goroutine 1 (runtime.main) and those created by package main.  The others
# are the runtime's own (forcegc, bgsweep, bgscavenge, the finalizer
# goroutine, GC mark workers), which the dump lists with GOTRACEBACK=crash
# and NumGoroutine leaves out.
gh_dump_user_goids () {
	awk '
		/^goroutine [0-9]+ / { g = $2 + 0; if (g == 1) print g }
		/^created by main\./ { if (g > 0) print g }
	' "$1/crash" | sort -n -u
}

for rel in $(gh_go_releases)
do
	for mode in $(gh_modes)
	do
		t="go$rel $mode"
		test_unset_prereq CORE
		test_expect_success "$t: build heapbasic, run it, take its core" '
			gh_mkcore heapbasic "$rel" "$mode" &&
			D=$GH_CORE_DIR &&
			test_set_prereq CORE &&
			test_note "$t: $(gh_meta "$D" go_version), core by $(gh_meta "$D" how)," \
				"$(($(gh_meta "$D" core_bytes) / 1048576)) MiB" \
				"($(($(gh_meta "$D" core_disk_kib) / 1024)) MiB on disk)," \
				"coredump_filter $(gh_meta "$D" coredump_filter): $D"
		'

		# Checks of the harness itself: they need no goheap.
		test_expect_success CORE "$t: the ground truth is stable and the core complete" '
			objs=$(gh_truth "$D" heap_objects) &&
			bytes=$(gh_truth "$D" heap_alloc) &&
			test_note "$t: MemStats HeapObjects=$objs HeapAlloc=$bytes" \
				"NumGoroutine=$(gh_truth "$D" num_goroutine)" &&
			test_eq "HeapObjects read again" "$(gh_truth "$D" heap_objects2)" "$objs" &&
			test_eq "HeapAlloc read again" "$(gh_truth "$D" heap_alloc2)" "$bytes" &&
			test "$objs" -gt 15000 &&
			test "$bytes" -gt 4000000 &&
			test_eq NumGoroutine "$(gh_truth "$D" num_goroutine)" 13 &&
			grep "^SIGQUIT: quit" "$D/crash" &&
			gh_is_elf_core "$D/core" &&
			gh_core_complete "$D/core" &&
			case $mode in
			pie*) readelf -hW "$D/exe" | grep "Type: *DYN" &&
			      test -n "$(gh_truth "$D" pid)" ;;
			*) readelf -hW "$D/exe" | grep "Type: *EXEC" ;;
			esac &&
			if test $mode = pie0x3f
			then
				test_eq coredump_filter "$(gh_meta "$D" coredump_filter)" 0000003f
			fi &&
			if test $mode = gcore
			then
				# MemStats read again once gcore was done.
				test_eq "HeapObjects after gcore" \
					"$(gh_truth "$D" heap_objects GOHEAP_TRUTH_AFTER)" "$objs" &&
				test_eq "HeapAlloc after gcore" \
					"$(gh_truth "$D" heap_alloc GOHEAP_TRUTH_AFTER)" "$bytes"
			fi
		'

		# What "goroutines" means: the g structures in runtime.allgs
		# whose status is not _Gdead (nor, Go 1.26+, _Gdeadextra).  The
		# runtime's dump (traceback.go, tracebackothers) prints exactly
		# those when GOTRACEBACK=crash; gdb reads allgs from the core
		# independently to prove it for every core.  NumGoroutine is
		# smaller by the runtime's own goroutines.  gdb needs symbols:
		# a stripped build relies on the other modes having proved it.
		test "$mode" = stripped ||
		test_expect_success CORE "$t: the runtime dump lists exactly the goroutines of allgs that are not dead" '
			gh_core_allgs "$D" &&
			gh_allgs_live_goids "$D" >live &&
			gh_dump_goids "$D" >dumped &&
			test_cmp live dumped &&
			gh_dump_user_goids "$D" >user &&
			n_dead=$(awk "\$2 % 4096 == 6" "$D/allgs" | wc -l) &&
			test_note "$t: allgs holds $(wc -l <"$D/allgs") g: $(wc -l <live) not dead" \
				"(= goroutines in the dump; $(wc -l <user) counted by NumGoroutine," \
				"$(($(wc -l <live) - $(wc -l <user))) of the runtime), $n_dead dead" &&
			test_eq "user goroutines in the dump" "$(wc -l <user)" "$(gh_truth "$D" num_goroutine)" &&
			test "$n_dead" -ge 1
		'

		test_expect_success CORE,JQ "$t: goheap info: heap objects and bytes equal MemStats" '
			expect_exit 0 "$GOHEAP" info "$D/core" "$D/exe" --format json >info.json &&
			json_valid info.json &&
			test_json_eq info.json .heap.objects "$(gh_truth "$D" heap_objects)" &&
			test_json_eq info.json .heap.bytes "$(gh_truth "$D" heap_alloc)"
		'

		test_expect_success CORE,JQ "$t: goheap info: go_version" '
			test_json_eq info.json .go_version "$(gh_meta "$D" go_version)"
		'

		test_expect_success CORE,JQ "$t: goheap info: goroutines equal the runtime dump" '
			test_json_eq info.json .goroutines "$(gh_dump_goids "$D" | wc -l)"
		'

		test_expect_success CORE,JQ "$t: the lz4 copy of the core gives the same JSON" '
			gh_core_lz4 "$D" &&
			expect_exit 0 "$GOHEAP" info "$GH_CORE_LZ4" "$D/exe" --format json >lz4.json &&
			jq -S "del(.core)" info.json >expect &&
			jq -S "del(.core)" lz4.json >actual &&
			test_cmp expect actual
		'

		test_expect_success CORE,JQ "$t: the stripped executable gives the same totals" '
			gh_exe_stripped "$D" &&
			test_note "$t: $(grep "^exe.stripped:" "$D/notes")" &&
			expect_exit 0 "$GOHEAP" info "$D/core" "$GH_EXE_STRIPPED" --format json >stripped.json &&
			jq -S "{go_version, heap: {objects: .heap.objects, bytes: .heap.bytes}, goroutines}" \
				info.json >expect &&
			jq -S "{go_version, heap: {objects: .heap.objects, bytes: .heap.bytes}, goroutines}" \
				stripped.json >actual &&
			test_cmp expect actual
		'

		if test "$mode" = default
		then
			test_expect_success CORE,JQ "$t: the executable named by the core (no EXE argument)" '
				expect_exit 0 "$GOHEAP" info "$D/core" --format json >noexe.json &&
				test_json_eq noexe.json .heap.objects "$(gh_truth "$D" heap_objects)" &&
				test_json_eq noexe.json .heap.bytes "$(gh_truth "$D" heap_alloc)"
			'

			test_expect_success CORE,JQ "$t: goheap histogram: totals equal MemStats" '
				expect_exit 0 "$GOHEAP" histogram "$D/core" "$D/exe" --format json >hist.json &&
				json_valid hist.json &&
				test_json_eq hist.json .objects "$(gh_truth "$D" heap_objects)" &&
				test_json_eq hist.json .bytes "$(gh_truth "$D" heap_alloc)"
			'
		fi
	done
done

test_done
