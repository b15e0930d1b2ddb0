/* cmd_info.c - goheap info: what the core is, in totals. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "core/graph/gh_graph.h"

static const char usage[] = "goheap info CORE [EXE] [--format text|json]";
static const char help[] =
	"Shows the Go release, the executable, the threads, and the totals of\n"
	"the heap (allocated objects and bytes, as runtime.MemStats counts them)\n"
	"and of goroutines.\n"
	"\n"
	"options:\n"
	"  -f, --format text|json   output format (default text)\n"
	"  -e, --exe EXE            the executable (default: the one the core names)\n"
	"      --cache-dir DIR      where decompressed cores are kept\n"
	"      --no-build-id-check  accept an executable whose build ID differs\n"
	"  -h, --help               this help\n";

static const char *arch_name(enum gh_arch a)
{
	return a == GH_ARCH_ARM64 ? "arm64" : "amd64";
}

int gh_cmd_info(int argc, char **argv)
{
	struct gh_cli_opts opts;
	struct gh_cli_target t;
	struct gh_error *err;
	const struct gh_rt_heap *heap;
	struct gh_rt_goroutine *gs = NULL;
	struct gh_graph graph = {0};
	size_t n_gs = 0, n_live = 0;
	int rc = gh_cli_parse(argc, argv, usage, help, false, &opts);

	if (rc >= 0)
		return rc;
	err = gh_cli_target_open(&opts, &t);
	if (err)
		return gh_cli_fail(err);
	gh_cli_progress("reading the heap");
	err = gh_rt_load_heap(t.rt, &heap);
	if (!err) {
		gh_cli_progress("reading goroutines");
		err = gh_rt_load_goroutines(t.rt, &gs, &n_gs);
	}
	if (!err) {
		gh_cli_progress("building the object graph");
		err = gh_graph_build(t.rt, &graph);
	}
	if (err) {
		gh_free(gs);
		gh_cli_target_close(&t);
		return gh_cli_fail(err);
	}
	gh_cli_progress(NULL);
	for (size_t i = 0; i < n_gs; i++)
		n_live += gh_rt_goroutine_live(t.rt, &gs[i]);
	uint64_t typed_objs = 0, typed_bytes = 0;
	for (size_t i = 0; i < heap->n_objs; i++) {
		if (heap->obj_type[i] == GH_RTYPE_NONE)
			continue;
		typed_objs++;
		typed_bytes += heap->spans[heap->obj_span[i]].elem_bytes;
	}

	if (opts.format == GH_FORMAT_JSON) {
		struct gh_json j;
		gh_json_init(&j, stdout, true);
		gh_json_begin_object(&j, NULL);
		gh_json_string(&j, "core", gh_mem_core_path(t.mem));
		gh_json_string(&j, "executable", gh_mem_exe_path(t.mem));
		gh_json_bool(&j, "build_id_checked", gh_mem_build_id_checked(t.mem));
		gh_json_string(&j, "go_version", gh_rt_go_version(t.rt));
		gh_json_string(&j, "arch", arch_name(gh_mem_arch(t.mem)));
		gh_json_string(&j, "layouts_from", gh_rt_layout_source(t.rt));
		gh_json_uint(&j, "threads", gh_mem_n_threads(t.mem));
		gh_json_begin_object(&j, "heap");
		gh_json_uint(&j, "objects", heap->n_objs);
		gh_json_uint(&j, "bytes", heap->total_bytes);
		gh_json_uint(&j, "spans", heap->n_spans);
		gh_json_uint(&j, "typed_objects", typed_objs);
		gh_json_uint(&j, "typed_bytes", typed_bytes);
		gh_json_uint(&j, "reachable_objects", graph.reachable_objs);
		gh_json_uint(&j, "reachable_bytes", graph.reachable_bytes);
		gh_json_uint(&j, "garbage_objects", graph.garbage_objs);
		gh_json_uint(&j, "garbage_bytes", graph.garbage_bytes);
		gh_json_uint(&j, "edges", graph.n_edges);
		gh_json_end_object(&j);
		gh_json_begin_object(&j, "roots");
		gh_json_uint(&j, "runtime", graph.n_roots_by_kind[GH_GRAPH_ROOT_RT]);
		gh_json_uint(&j, "stack", graph.n_roots_by_kind[GH_GRAPH_ROOT_STACK]);
		gh_json_bool(&j, "stacks_conservative", graph.stacks_conservative);
		gh_json_end_object(&j);
		gh_json_uint(&j, "goroutines", n_live);
		gh_json_end_object(&j);
		gh_json_finish(&j);
	} else {
		char b1[32], b2[32], b3[32];
		gh_fmt_count(heap->n_objs, b1, sizeof(b1));
		gh_fmt_bytes(heap->total_bytes, b2, sizeof(b2));
		gh_fmt_count(heap->n_spans, b3, sizeof(b3));
		printf("core:        %s\n", gh_mem_core_path(t.mem));
		printf("executable:  %s%s\n", gh_mem_exe_path(t.mem),
		       gh_mem_build_id_checked(t.mem) ? "" :
		       " (build ID not checked: the core did not save it)");
		printf("go version:  %s (%s, layouts from %s)\n", gh_rt_go_version(t.rt),
		       arch_name(gh_mem_arch(t.mem)), gh_rt_layout_source(t.rt));
		printf("threads:     %zu\n", gh_mem_n_threads(t.mem));
		printf("heap:        %s objects, %s in %s spans\n", b1, b2, b3);
		if (heap->n_objs) {
			gh_fmt_bytes(typed_bytes, b2, sizeof(b2));
			printf("typed:       %.1f%% of bytes (%s) carry a runtime type\n",
			       heap->total_bytes ? 100.0 * typed_bytes / heap->total_bytes : 0.0,
			       b2);
		}
		gh_fmt_count(graph.reachable_objs, b1, sizeof(b1));
		gh_fmt_bytes(graph.reachable_bytes, b2, sizeof(b2));
		printf("reachable:   %s objects, %s\n", b1, b2);
		gh_fmt_count(graph.garbage_objs, b1, sizeof(b1));
		gh_fmt_bytes(graph.garbage_bytes, b2, sizeof(b2));
		printf("garbage:     %s objects, %s (unreachable: the next GC frees them)\n",
		       b1, b2);
		printf("roots:       %zu runtime (data, bss, specials), %zu on stacks%s\n",
		       graph.n_roots_by_kind[GH_GRAPH_ROOT_RT],
		       graph.n_roots_by_kind[GH_GRAPH_ROOT_STACK],
		       graph.stacks_conservative ? " (scanned conservatively)" : "");
		printf("goroutines:  %zu\n", n_live);
	}
	gh_free(gs);
	gh_graph_deinit(&graph);
	gh_cli_target_close(&t);
	if (fflush(stdout) || ferror(stdout))
		return gh_cli_fail(gh_error_os(errno, NULL, "writing output"));
	return GH_EXIT_OK;
}
