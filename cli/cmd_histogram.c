/* cmd_histogram.c - goheap histogram: objects and bytes by type. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
	"goheap histogram CORE [EXE] [--format text|json] [--top N]";
static const char help[] =
	"Counts allocated heap objects and bytes by runtime type.  Objects whose\n"
	"type the runtime does not record (pointer-free objects, and on Go 1.22+\n"
	"objects of 512 bytes or less) are grouped by size class.\n"
	"\n"
	"options:\n"
	"  -f, --format text|json   output format (default text)\n"
	"  -n, --top N              show the N largest rows (default 20, 0 = all)\n"
	"  -e, --exe EXE            the executable (default: the one the core names)\n"
	"      --cache-dir DIR      where decompressed cores are kept\n"
	"      --no-build-id-check  accept an executable whose build ID differs\n"
	"  -h, --help               this help\n";

struct row {
	uint64_t objects, bytes;
	uint64_t elem_bytes;	/* untyped small classes: the class's size */
	uint32_t key;		/* type id, or n_types + untyped class */
};

static int cmp_row(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	if (x->objects != y->objects)
		return x->objects > y->objects ? -1 : 1;
	return x->key < y->key ? -1 : x->key > y->key;
}

/* Untyped objects: by size class (0 = large) and scan/noscan. */
static uint32_t untyped_class(const struct gh_rt_span *s)
{
	return (uint32_t)s->size_class * 2 + !!(s->flags & GH_SPAN_NOSCAN);
}

int gh_cmd_histogram(int argc, char **argv)
{
	struct gh_cli_opts opts;
	struct gh_cli_target t;
	struct gh_error *err;
	const struct gh_rt_heap *h;
	int rc = gh_cli_parse(argc, argv, usage, help, true, &opts);

	if (rc >= 0)
		return rc;
	err = gh_cli_target_open(&opts, &t);
	if (err)
		return gh_cli_fail(err);
	gh_cli_progress("reading the heap");
	err = gh_rt_load_heap(t.rt, &h);
	if (err) {
		gh_cli_target_close(&t);
		return gh_cli_fail(err);
	}
	gh_cli_progress(NULL);

	size_t n_keys = h->n_types + 512;
	struct row *rows = gh_calloc(n_keys, sizeof(*rows));
	if (!rows) {
		gh_cli_target_close(&t);
		return gh_cli_fail(&gh_enomem);
	}
	for (size_t k = 0; k < n_keys; k++)
		rows[k].key = (uint32_t)k;
	for (size_t i = 0; i < h->n_objs; i++) {
		const struct gh_rt_span *s = &h->spans[h->obj_span[i]];
		size_t k = h->obj_type[i] != GH_RTYPE_NONE ? h->obj_type[i] :
			   h->n_types + untyped_class(s);
		rows[k].objects++;
		rows[k].bytes += s->elem_bytes;
		rows[k].elem_bytes = s->elem_bytes;
	}
	qsort(rows, n_keys, sizeof(*rows), cmp_row);
	size_t n_rows = 0;
	while (n_rows < n_keys && rows[n_rows].objects)
		n_rows++;
	size_t shown = opts.top && (size_t)opts.top < n_rows ? (size_t)opts.top : n_rows;

	char name[128];
	struct gh_json j;
	if (opts.format == GH_FORMAT_JSON) {
		gh_json_init(&j, stdout, true);
		gh_json_begin_object(&j, NULL);
		gh_json_uint(&j, "objects", h->n_objs);
		gh_json_uint(&j, "bytes", h->total_bytes);
		gh_json_uint(&j, "rows_total", n_rows);
		gh_json_begin_array(&j, "rows");
	} else {
		printf("%12s %12s  %s\n", "objects", "bytes", "type");
	}
	for (size_t r = 0; r < shown; r++) {
		const struct row *row = &rows[r];
		const char *type;
		if (row->key < h->n_types) {
			type = h->types[row->key].name;
		} else {
			uint32_t c = row->key - (uint32_t)h->n_types;
			if (c / 2 == 0)
				snprintf(name, sizeof(name), "unknown (large, %s)",
					 c % 2 ? "noscan" : "scan");
			else
				snprintf(name, sizeof(name), "unknown (size class %u:"
					 " %" PRIu64 " B, %s)", c / 2, row->elem_bytes,
					 c % 2 ? "noscan" : "scan");
			type = name;
		}
		if (opts.format == GH_FORMAT_JSON) {
			gh_json_begin_object(&j, NULL);
			gh_json_string(&j, "type", type);
			gh_json_bool(&j, "typed", row->key < h->n_types);
			gh_json_uint(&j, "objects", row->objects);
			gh_json_uint(&j, "bytes", row->bytes);
			gh_json_end_object(&j);
		} else {
			printf("%12" PRIu64 " %12" PRIu64 "  %s\n", row->objects,
			       row->bytes, type);
		}
	}
	if (opts.format == GH_FORMAT_JSON) {
		gh_json_end_array(&j);
		gh_json_end_object(&j);
		gh_json_finish(&j);
	} else {
		if (shown < n_rows)
			printf("%12s %12s  (%zu more rows; --top 0 shows all)\n", "", "",
			       n_rows - shown);
		printf("%12" PRIu64 " %12" PRIu64 "  total\n", (uint64_t)h->n_objs,
		       h->total_bytes);
	}
	gh_free(rows);
	gh_cli_target_close(&t);
	if (fflush(stdout) || ferror(stdout))
		return gh_cli_fail(gh_error_os(errno, NULL, "writing output"));
	return GH_EXIT_OK;
}
