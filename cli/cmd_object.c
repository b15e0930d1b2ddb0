/* cmd_object.c - goheap object: one heap object, word by word. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/graph/gh_graph.h"

enum { READ_CHUNK_WORDS = 8192 };	/* object words read at a time */

static const char usage[] =
	"goheap object CORE [EXE] ADDRESS [--format text|json]";
static const char help[] =
	"Shows the heap object that holds ADDRESS (hex, as goheap prints it:\n"
	"0xc000123000; an address inside an object means that object): its\n"
	"base address, size and size class, whether the garbage collector scans\n"
	"it, its runtime type when the runtime records one, and which of its\n"
	"words hold pointers, as the garbage collector sees them.  For each\n"
	"pointer word it shows the pointer and the base of the heap object it\n"
	"points into, if any.  The contents of other words are not shown: core\n"
	"dumps hold secrets.\n"
	"\n"
	"options:\n"
	"  -f, --format text|json   output format (default text)\n"
	"  -e, --exe EXE            the executable (default: the one the core names)\n"
	"      --cache-dir DIR      where decompressed cores are kept\n"
	"      --no-build-id-check  accept an executable whose build ID differs\n"
	"  -h, --help               this help\n";

/* "0xc000123000", "C000123000": up to 16 hex digits. */
static bool parse_addr(const char *s, uint64_t *ret)
{
	uint64_t v = 0;
	size_t n = 0;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	for (; *s; s++, n++) {
		int d;
		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (*s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (*s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			return false;
		if (n == 16)
			return false;
		v = v << 4 | (uint64_t)d;
	}
	if (!n)
		return false;
	*ret = v;
	return true;
}

/* Why addr is in no allocated object: a free slot, or not the heap. */
static struct gh_error *not_found(const struct gh_rt_heap *h, uint64_t addr)
{
	size_t lo = 0, hi = h->n_spans;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (h->spans[mid].base <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo) {
		const struct gh_rt_span *s = &h->spans[lo - 1];
		uint64_t off = addr - s->base;
		if (off / s->elem_bytes < s->nelems)
			return gh_error_new(GH_ERR_NOT_FOUND, "address 0x%" PRIx64
					    " is in a free slot of the heap span at"
					    " 0x%" PRIx64 " (%" PRIu64 "-byte objects),"
					    " not in an allocated object", addr,
					    s->base, s->elem_bytes);
	}
	return gh_error_new(GH_ERR_NOT_FOUND, "address 0x%" PRIx64 " is not in an"
			    " allocated heap object", addr);
}

/* Words [first, end) hold no pointers: one line, without their contents. */
static void print_scalars(uint64_t first, uint64_t end)
{
	if (end <= first)
		return;
	if (end - first == 1)
		printf("  +0x%-8" PRIx64 " scalar\n", first * 8);
	else
		printf("  +0x%-8" PRIx64 " scalar (%" PRIu64 " words, to +0x%" PRIx64 ")\n",
		       first * 8, end - first, (end - 1) * 8);
}

int gh_cmd_object(int argc, char **argv)
{
	static const char *const extra_names[] = { "ADDRESS" };
	struct gh_cli_opts opts;
	struct gh_cli_target t;
	struct gh_graph graph = {0};
	struct gh_error *err;
	const struct gh_rt_heap *h;
	const char *addr_arg;
	uint64_t addr;
	uint8_t *bits = NULL;
	uint64_t *chunk = NULL;
	struct gh_u64_vec ptrs = {0};	/* word index, value, ... */
	int rc = gh_cli_parse_extra(argc, argv, usage, help, false, 1, extra_names,
				    &addr_arg, &opts);

	if (rc >= 0)
		return rc;
	if (!parse_addr(addr_arg, &addr))
		return gh_cli_usage_error(usage, "'%s' is not an address (hex, like"
					  " 0xc000123000)", addr_arg);
	err = gh_cli_target_open(&opts, &t);
	if (err)
		return gh_cli_fail(err);
	gh_cli_progress("reading the heap");
	err = gh_rt_load_heap(t.rt, &h);
	if (err)
		goto fail;
	gh_obj_id id = gh_rt_find_object(h, addr);
	if (id == GH_OBJ_NONE) {
		err = not_found(h, addr);
		goto fail;
	}
	const struct gh_rt_span *s = &h->spans[h->obj_span[id]];
	uint64_t base = h->obj_addr[id], n_words = s->elem_bytes / 8;
	bool noscan = s->flags & GH_SPAN_NOSCAN;
	const char *type = h->obj_type[id] == GH_RTYPE_NONE ? NULL :
			   h->types[h->obj_type[id]].name;

	bits = gh_malloc((size_t)(n_words + 7) / 8 + 1);
	chunk = gh_malloc_array(READ_CHUNK_WORDS, sizeof(*chunk));
	if (!bits || !chunk) {
		err = &gh_enomem;
		goto fail;
	}
	gh_cli_progress("reading the object's pointer bits");
	err = gh_rt_object_ptr_bits(t.rt, id, bits);
	if (err)
		goto fail;
	/* Whether the GC would keep it: the whole graph's reachability. */
	gh_cli_progress("building the object graph");
	err = gh_graph_build(t.rt, &graph);
	if (err)
		goto fail;
	bool reachable = gh_graph_reachable(&graph, id);
	gh_cli_progress(NULL);

	/*
	 * Read only the pointer words (never print the others), all of
	 * them before printing anything: a fault leaves no half output.
	 */
	for (uint64_t w0 = 0; w0 < n_words; w0 += READ_CHUNK_WORDS) {
		uint64_t n = n_words - w0 < READ_CHUNK_WORDS ? n_words - w0 : READ_CHUNK_WORDS;
		bool read = false;
		for (uint64_t k = 0; k < n; k++) {
			uint64_t w = w0 + k;
			if (!(bits[w / 8] >> (w % 8) & 1))
				continue;
			if (!read) {
				err = gh_mem_read(t.mem, base + w0 * 8, chunk, (size_t)n * 8);
				if (err) {
					err = gh_error_wrap(err, "reading object 0x%" PRIx64, base);
					goto fail;
				}
				read = true;
			}
			if (!gh_u64_vec_push(&ptrs, w) || !gh_u64_vec_push(&ptrs, chunk[k])) {
				err = &gh_enomem;
				goto fail;
			}
		}
	}

	if (opts.format == GH_FORMAT_JSON) {
		struct gh_json j;
		gh_json_init(&j, stdout, true);
		gh_json_begin_object(&j, NULL);
		gh_json_addr(&j, "address", base);
		gh_json_uint(&j, "size", s->elem_bytes);
		gh_json_uint(&j, "size_class", s->size_class);
		gh_json_bool(&j, "noscan", noscan);
		gh_json_bool(&j, "reachable", reachable);
		if (type)
			gh_json_string(&j, "type", type);
		else
			gh_json_null(&j, "type");
		gh_json_begin_array(&j, "pointers");
		for (size_t i = 0; i < ptrs.n; i += 2) {
			uint64_t v = ptrs.data[i + 1];
			gh_obj_id tid = v ? gh_rt_find_object(h, v) : GH_OBJ_NONE;
			gh_json_begin_object(&j, NULL);
			gh_json_uint(&j, "offset", ptrs.data[i] * 8);
			gh_json_addr(&j, "value", v);
			if (tid != GH_OBJ_NONE)
				gh_json_addr(&j, "target", h->obj_addr[tid]);
			else
				gh_json_null(&j, "target");
			gh_json_end_object(&j);
		}
		gh_json_end_array(&j);
		gh_json_end_object(&j);
		gh_json_finish(&j);
	} else {
		char untyped[96];
		if (!type) {
			gh_rt_describe_untyped(h, id, untyped, sizeof(untyped));
			type = untyped;
		}
		printf("address:     0x%" PRIx64, base);
		if (addr != base)
			printf(" (0x%" PRIx64 " is at +0x%" PRIx64 ")", addr, addr - base);
		printf("\nsize:        %" PRIu64 " B (%s)\n", s->elem_bytes,
		       s->flags & GH_SPAN_LARGE ? "large object" : "small object");
		if (!(s->flags & GH_SPAN_LARGE))
			printf("size class:  %u\n", s->size_class);
		printf("scan:        %s\n", noscan ? "no (noscan: holds no pointers)" : "yes");
		printf("type:        %s\n", type);
		printf("reachable:   %s\n", reachable ? "yes" :
		       "no (garbage: the next GC frees it, or queues its finalizer)");
		printf("pointers:    %zu of %" PRIu64 " words\n", ptrs.n / 2, n_words);
		uint64_t next = 0;	/* first word not yet printed */
		for (size_t i = 0; i <= ptrs.n; i += 2) {
			uint64_t w = i < ptrs.n ? ptrs.data[i] : n_words;
			if (next == 0 && w > 0 && (s->flags & GH_SPAN_HEADER)) {
				printf("  +0x%-8x malloc header (the type)\n", 0);
				next = 1;
			}
			print_scalars(next, w);
			if (i == ptrs.n)
				break;
			uint64_t v = ptrs.data[i + 1];
			if (!v) {	/* a run of nil pointers: one line */
				size_t k = i;
				while (k + 2 < ptrs.n && ptrs.data[k + 2] == ptrs.data[k] + 1 &&
				       !ptrs.data[k + 3])
					k += 2;
				if (k > i) {
					printf("  +0x%-8" PRIx64 " pointer nil (%zu words, to +0x%"
					       PRIx64 ")\n", w * 8, (k - i) / 2 + 1,
					       ptrs.data[k] * 8);
					next = ptrs.data[k] + 1;
					i = k;
					continue;
				}
			}
			gh_obj_id tid = v ? gh_rt_find_object(h, v) : GH_OBJ_NONE;
			if (v)
				printf("  +0x%-8" PRIx64 " pointer 0x%" PRIx64, w * 8, v);
			else
				printf("  +0x%-8" PRIx64 " pointer nil", w * 8);
			if (tid != GH_OBJ_NONE) {
				printf(" -> object 0x%" PRIx64, h->obj_addr[tid]);
				if (v != h->obj_addr[tid])
					printf(" +0x%" PRIx64, v - h->obj_addr[tid]);
			} else if (v) {
				printf(" (not a heap object)");
			}
			putchar('\n');
			next = w + 1;
		}
	}
	gh_u64_vec_deinit(&ptrs);
	gh_free(bits);
	gh_free(chunk);
	gh_graph_deinit(&graph);
	gh_cli_target_close(&t);
	if (fflush(stdout) || ferror(stdout))
		return gh_cli_fail(gh_error_os(errno, NULL, "writing output"));
	return GH_EXIT_OK;
fail:
	gh_u64_vec_deinit(&ptrs);
	gh_free(bits);
	gh_free(chunk);
	gh_graph_deinit(&graph);
	gh_cli_target_close(&t);
	return gh_cli_fail(err);
}
