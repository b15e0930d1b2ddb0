/* cmd_goroutines.c - goheap goroutines: every goroutine and its stack. */
#include <errno.h>
#include <string.h>

#include "cli.h"

static const char usage[] = "goheap goroutines CORE [EXE] [--format text|json]";
static const char help[] =
	"Lists the goroutines that are not dead, as the runtime's own dump\n"
	"(GOTRACEBACK=crash) prints them: status or wait reason, how long it\n"
	"has waited, each frame's function and file:line (inlined calls\n"
	"expanded), and the go statement that created it.  Arguments are not\n"
	"shown.  Wait times are lower bounds: the core records no clock, so\n"
	"they count up to the latest time stamp the runtime wrote down; the\n"
	"runtime notes when a goroutine blocked at the first GC after, so\n"
	"wait_minutes is null in JSON until then.  A stack that cannot be\n"
	"read is said so in place (JSON: \"error\"), with a warning.\n"
	"\n"
	"options:\n"
	"  -f, --format text|json   output format (default text)\n"
	"  -e, --exe EXE            the executable (default: the one the core names)\n"
	"      --cache-dir DIR      where decompressed cores are kept\n"
	"      --no-build-id-check  accept an executable whose build ID differs\n"
	"  -h, --help               this help\n";

/* What the runtime prints for a status (traceback.go goroutineheader). */
struct g_header {
	const char *status;	/* status name, or the wait reason */
	const char *wait_reason;	/* NULL unless waiting with a reason */
	bool leaked;
	int64_t wait_minutes;	/* -1: not waiting, or unknown */
};

static void g_header(struct gh_rt *rt, const struct gh_rt_goroutine *g,
		     bool have_now, int64_t now, struct g_header *h)
{
	const char *status = gh_rt_status_name(rt, g->status);
	bool leaked = !strcmp(status, "leaked");
	bool waiting = leaked || !strcmp(status, "waiting");

	h->status = status;
	h->wait_reason = NULL;
	h->leaked = leaked;
	h->wait_minutes = -1;
	if (waiting && g->wait_reason) {
		const char *r = gh_rt_wait_reason_name(rt, g->wait_reason);
		if (r) {
			h->status = r;
			h->wait_reason = r;
		}
	}
	if ((!strcmp(status, "waiting") || !strcmp(status, "syscall")) &&
	    g->wait_since && have_now && now >= g->wait_since)
		h->wait_minutes = (now - g->wait_since) / 60000000000;
}

/*
 * runtime.printFuncName: a generic function's shape arguments print as
 * "[...]", and runtime.gopanic as "panic".
 */
static void print_func_name(FILE *out, const char *name)
{
	const char *lb = strchr(name, '['), *rb = strrchr(name, ']');

	if (!strcmp(name, "runtime.gopanic"))
		fputs("panic", out);
	else if (lb && rb && rb > lb)
		fprintf(out, "%.*s[...]%s", (int)(lb - name), name, rb + 1);
	else
		fputs(name, out);
}

/* "created by": the function of the go statement and its line. */
struct created_by {
	bool known;
	const char *func, *file;
	uint32_t line;
	uint64_t off;		/* gopc - entry */
};

/* Only running out of memory is an error; else ret->known says. */
static struct gh_error *created_by(struct gh_rt *rt, struct gh_mem *mem,
				   const struct gh_rt_goroutine *g,
				   struct created_by *ret)
{
	struct gh_rt_func f;
	struct gh_error *err;
	/* sys.PCQuantum: back up into the CALL of newproc. */
	uint64_t quantum = gh_mem_arch(mem) == GH_ARCH_ARM64 ? 4 : 1;

	ret->known = false;
	/* The runtime leaves out goroutine 1's creator (printcreatedby). */
	if (g->goid == 1 || !g->gopc)
		return NULL;
	err = gh_rt_find_func(rt, g->gopc, &f);
	if (err) {
		if (err->code == GH_ERR_NOMEM)
			return err;
		gh_error_free(err);
		return NULL;
	}
	uint64_t pc = g->gopc > f.entry ? g->gopc - quantum : g->gopc;
	err = gh_rt_func_line(rt, &f, pc, &ret->file, &ret->line);
	if (err) {
		if (err->code == GH_ERR_NOMEM)
			return err;
		gh_error_free(err);
		ret->file = "?";
		ret->line = 0;
	}
	ret->known = true;
	ret->func = f.name;
	ret->off = g->gopc - f.entry;
	return NULL;
}

/* Everything shown of one goroutine. */
struct g_view {
	struct g_header h;
	struct gh_rt_frame *frames;
	uint64_t *offs;		/* pc - entry of each frame, the "+0x.." */
	size_t n_frames;
	struct gh_error *unwind_err;	/* the stack could not be read */
	struct created_by cb;
};

static void g_view_deinit(struct g_view *v)
{
	gh_free(v->frames);
	gh_free(v->offs);
	gh_error_free(v->unwind_err);
	memset(v, 0, sizeof(*v));
}

/* Only running out of memory is an error. */
static struct gh_error *g_view_init(struct gh_cli_target *t,
				    const struct gh_rt_goroutine *g,
				    bool have_now, int64_t now,
				    struct g_view *v)
{
	struct gh_error *err;

	memset(v, 0, sizeof(*v));
	g_header(t->rt, g, have_now, now, &v->h);
	err = gh_rt_unwind(t->rt, g, &v->frames, &v->n_frames);
	if (err) {
		if (err->code == GH_ERR_NOMEM)
			return err;
		v->unwind_err = err;
	}
	v->offs = gh_calloc(v->n_frames ? v->n_frames : 1, sizeof(*v->offs));
	if (!v->offs)
		return &gh_enomem;
	for (size_t i = 0; i < v->n_frames; i++) {
		struct gh_rt_func f;

		err = gh_rt_find_func(t->rt, v->frames[i].pc, &f);
		if (err && err->code == GH_ERR_NOMEM)
			return err;
		if (!err)
			v->offs[i] = v->frames[i].pc - f.entry;
		gh_error_free(err);
	}
	return created_by(t->rt, t->mem, g, &v->cb);
}

static void print_text(const struct gh_rt_goroutine *g, const struct g_view *v)
{
	printf("goroutine %" PRIu64 " [%s", g->goid, v->h.status);
	if (v->h.leaked)
		printf(" (leaked)");
	if (v->h.wait_minutes >= 1)
		printf(", %" PRId64 " minutes", v->h.wait_minutes);
	if (g->locked_to_thread)
		printf(", locked to thread");
	printf("]:\n");
	if (v->unwind_err)
		printf("\tstack unavailable: %s\n", v->unwind_err->msg);
	for (size_t i = 0; i < v->n_frames; i++) {
		const struct gh_rt_frame *fr = &v->frames[i];

		print_func_name(stdout, fr->func);
		printf("(...)\n\t%s:%" PRIu32, fr->file, fr->line);
		if (!fr->inlined && v->offs[i])
			printf(" +0x%" PRIx64, v->offs[i]);
		putchar('\n');
	}
	if (v->cb.known) {
		printf("created by ");
		print_func_name(stdout, v->cb.func);
		if (g->parent_goid)
			printf(" in goroutine %" PRIu64, g->parent_goid);
		printf("\n\t%s:%" PRIu32, v->cb.file, v->cb.line);
		if (v->cb.off)
			printf(" +0x%" PRIx64, v->cb.off);
		putchar('\n');
	}
	putchar('\n');
}

static void print_json(struct gh_json *j, struct gh_rt *rt,
		       const struct gh_rt_goroutine *g, const struct g_view *v)
{
	gh_json_begin_object(j, NULL);
	gh_json_uint(j, "id", g->goid);
	gh_json_addr(j, "address", g->addr);
	gh_json_string(j, "status", gh_rt_status_name(rt, g->status));
	if (v->h.wait_reason)
		gh_json_string(j, "wait_reason", v->h.wait_reason);
	else
		gh_json_null(j, "wait_reason");
	if (v->h.wait_minutes >= 0)
		gh_json_int(j, "wait_minutes", v->h.wait_minutes);
	else
		gh_json_null(j, "wait_minutes");
	gh_json_bool(j, "locked_to_thread", g->locked_to_thread);
	gh_json_addr(j, "start_pc", g->startpc);
	if (v->unwind_err)
		gh_json_string(j, "error", v->unwind_err->msg);
	gh_json_begin_array(j, "frames");
	for (size_t i = 0; i < v->n_frames; i++) {
		const struct gh_rt_frame *fr = &v->frames[i];

		gh_json_begin_object(j, NULL);
		gh_json_string(j, "function", fr->func);
		gh_json_string(j, "file", fr->file);
		gh_json_uint(j, "line", fr->line);
		gh_json_bool(j, "inlined", fr->inlined);
		gh_json_addr(j, "pc", fr->pc);
		gh_json_addr(j, "sp", fr->sp);
		gh_json_end_object(j);
	}
	gh_json_end_array(j);
	if (v->cb.known) {
		gh_json_begin_object(j, "created_by");
		gh_json_string(j, "function", v->cb.func);
		gh_json_string(j, "file", v->cb.file);
		gh_json_uint(j, "line", v->cb.line);
		if (g->parent_goid)
			gh_json_uint(j, "goroutine", g->parent_goid);
		else
			gh_json_null(j, "goroutine");
		gh_json_end_object(j);
	} else {
		gh_json_null(j, "created_by");
	}
	gh_json_end_object(j);
}

int gh_cmd_goroutines(int argc, char **argv)
{
	struct gh_cli_opts opts;
	struct gh_cli_target t;
	struct gh_error *err;
	struct gh_rt_goroutine *gs = NULL;
	struct g_view *views = NULL;
	size_t n_gs = 0, n_failed = 0;
	struct gh_json j;
	int64_t now = 0;
	bool have_now;
	int rc = gh_cli_parse(argc, argv, usage, help, false, &opts);

	if (rc >= 0)
		return rc;
	err = gh_cli_target_open(&opts, &t);
	if (err)
		return gh_cli_fail(err);
	gh_cli_progress("reading goroutines");
	err = gh_rt_load_goroutines(t.rt, &gs, &n_gs);
	if (err) {
		gh_cli_target_close(&t);
		return gh_cli_fail(err);
	}
	err = gh_rt_nanotime(t.rt, gs, n_gs, &now);
	if (err && err->code == GH_ERR_NOMEM)
		goto fail;
	have_now = !err;
	gh_error_free(err);

	/* All stacks first: running out of memory must not cut output short. */
	views = gh_calloc(n_gs ? n_gs : 1, sizeof(*views));
	if (!views) {
		err = &gh_enomem;
		goto fail;
	}
	gh_cli_progress("unwinding stacks");
	for (size_t i = 0; i < n_gs; i++) {
		if (!gh_rt_goroutine_live(t.rt, &gs[i]))
			continue;
		err = g_view_init(&t, &gs[i], have_now, now, &views[i]);
		if (err)
			goto fail;
		n_failed += views[i].unwind_err != NULL;
	}
	gh_cli_progress(NULL);

	if (opts.format == GH_FORMAT_JSON) {
		gh_json_init(&j, stdout, true);
		gh_json_begin_object(&j, NULL);
		gh_json_begin_array(&j, "goroutines");
	}
	for (size_t i = 0; i < n_gs; i++) {
		if (!gh_rt_goroutine_live(t.rt, &gs[i]))
			continue;
		if (opts.format == GH_FORMAT_JSON)
			print_json(&j, t.rt, &gs[i], &views[i]);
		else
			print_text(&gs[i], &views[i]);
	}
	if (opts.format == GH_FORMAT_JSON) {
		gh_json_end_array(&j);
		gh_json_end_object(&j);
		gh_json_finish(&j);
	}
	if (n_failed)
		fprintf(stderr, "goheap: warning: the stacks of %zu goroutines"
			" could not be unwound (see their entries)\n", n_failed);
	for (size_t i = 0; views && i < n_gs; i++)
		g_view_deinit(&views[i]);
	gh_free(views);
	gh_free(gs);
	gh_cli_target_close(&t);
	if (fflush(stdout) || ferror(stdout))
		return gh_cli_fail(gh_error_os(errno, NULL, "writing output"));
	return GH_EXIT_OK;
fail:
	for (size_t i = 0; views && i < n_gs; i++)
		g_view_deinit(&views[i]);
	gh_free(views);
	gh_free(gs);
	gh_cli_target_close(&t);
	return gh_cli_fail(err);
}
