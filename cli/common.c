/* common.c - option parsing, loading a core, and error reporting. */
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

/* What to do about an error, when its kind says so. */
static const char *code_hint(const struct gh_error *err)
{
	switch (err->code) {
	case GH_ERR_FAULT:
		return "the core lacks memory goheap needs (was it cut short, or"
		       " taken with a coredump_filter that left pages out?)";
	case GH_ERR_MISMATCH:
		return "pass the executable that produced this core";
	default:
		return NULL;
	}
}

int gh_cli_fail(struct gh_error *err)
{
	const char *hint = code_hint(err);

	gh_cli_progress(NULL);
	/* One line: scripts grep it, terminals show it whole. */
	if (hint)
		fprintf(stderr, "goheap: %s; %s\n", err->msg, hint);
	else
		fprintf(stderr, "goheap: %s\n", err->msg);
	gh_error_free(err);
	return GH_EXIT_FAIL;
}

int gh_cli_usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;

	fputs("goheap: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: %s\n", usage);
	return GH_EXIT_USAGE;
}

void gh_cli_progress(const char *stage)
{
	static int shown = -1;
	static bool dirty;

	if (shown < 0)
		shown = isatty(STDERR_FILENO);
	if (!shown)
		return;
	if (stage) {
		fprintf(stderr, "\r\033[Kgoheap: %s...", stage);
		dirty = true;
	} else if (dirty) {
		fputs("\r\033[K", stderr);
		dirty = false;
	}
	fflush(stderr);
}

enum { OPT_CACHE_DIR = 256, OPT_NO_BUILD_ID_CHECK };

int gh_cli_parse(int argc, char **argv, const char *usage, const char *help,
		 bool takes_top, struct gh_cli_opts *opts)
{
	return gh_cli_parse_extra(argc, argv, usage, help, takes_top, 0, NULL,
				  NULL, opts);
}

int gh_cli_parse_extra(int argc, char **argv, const char *usage,
		       const char *help, bool takes_top, int n_extra,
		       const char *const *extra_names, const char **extra_ret,
		       struct gh_cli_opts *opts)
{
	static const struct option long_opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "top", required_argument, NULL, 'n' },
		{ "exe", required_argument, NULL, 'e' },
		{ "cache-dir", required_argument, NULL, OPT_CACHE_DIR },
		{ "no-build-id-check", no_argument, NULL, OPT_NO_BUILD_ID_CHECK },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	memset(opts, 0, sizeof(*opts));
	opts->top = takes_top ? 20 : 0;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "f:n:e:h", long_opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (!strcmp(optarg, "text"))
				opts->format = GH_FORMAT_TEXT;
			else if (!strcmp(optarg, "json"))
				opts->format = GH_FORMAT_JSON;
			else
				return gh_cli_usage_error(usage, "unknown format '%s'"
							  " (text or json)", optarg);
			break;
		case 'n': {
			char *end;
			if (!takes_top)
				return gh_cli_usage_error(usage, "--top does not apply here");
			opts->top = strtol(optarg, &end, 10);
			if (*end || end == optarg || opts->top < 0)
				return gh_cli_usage_error(usage, "--top takes a count, not '%s'",
							  optarg);
			break;
		}
		case 'e':
			opts->exe_path = optarg;
			break;
		case OPT_CACHE_DIR:
			opts->cache_dir = optarg;
			break;
		case OPT_NO_BUILD_ID_CHECK:
			opts->no_build_id_check = true;
			break;
		case 'h':
			printf("usage: %s\n\n%s", usage, help);
			return GH_EXIT_OK;
		default:
			if (optopt && optopt < 256)
				return gh_cli_usage_error(usage, "unknown option '-%c'", optopt);
			return gh_cli_usage_error(usage, "unknown option '%s'",
						  argv[optind - 1]);
		}
	}
	/*
	 * GNU getopt permutes, so options may also follow the operands:
	 * CORE [EXE] and then the command's n_extra operands.
	 */
	int n_pos = 0;
	const char *pos[2 + GH_CLI_MAX_EXTRA];
	if (n_extra < 0 || n_extra > GH_CLI_MAX_EXTRA)
		return gh_cli_usage_error(usage, "internal error: %d operands", n_extra);
	for (int i = optind; i < argc; i++) {
		if (n_pos == 2 + n_extra)
			return gh_cli_usage_error(usage, "too many arguments ('%s')", argv[i]);
		pos[n_pos++] = argv[i];
	}
	if (n_pos == 0)
		return gh_cli_usage_error(usage, "no core file given");
	if (n_pos < 1 + n_extra)
		return gh_cli_usage_error(usage, "no %s given", extra_names[n_pos - 1]);
	n_pos -= n_extra;
	for (int i = 0; i < n_extra; i++)
		extra_ret[i] = pos[n_pos + i];
	opts->core_path = pos[0];
	if (n_pos == 2) {
		if (opts->exe_path)
			return gh_cli_usage_error(usage, "the executable is given twice");
		opts->exe_path = pos[1];
	}
	return -1;
}

struct gh_error *gh_cli_target_open(const struct gh_cli_opts *opts,
				    struct gh_cli_target *ret)
{
	struct gh_error *err;
	struct gh_mem_open_opts mo = {
		.exe_path = opts->exe_path,
		.cache_dir = opts->cache_dir,
		.no_build_id_check = opts->no_build_id_check,
	};
	struct gh_cli_target t = {0};

	gh_cli_progress("reading the core");
	err = gh_mem_open(opts->core_path, &mo, &t.mem);
	if (err)
		return err;
	uint64_t need;
	if (gh_mem_core_truncated(t.mem, &need)) {
		/*
		 * Exact answers need the whole heap; a partial analysis with
		 * lower bounds is not done yet, so refuse rather than undercount.
		 */
		err = gh_error_new(GH_ERR_CORRUPT, "core '%s' is truncated: it has %"
				   PRIu64 " bytes but its headers describe %" PRIu64
				   " (was it cut short by ulimit -c or a full disk?)",
				   opts->core_path, gh_mem_core_bytes(t.mem), need);
		goto fail;
	}
	gh_cli_progress("reading DWARF");
	err = gh_dwarf_open(gh_mem_exe_path(t.mem), &t.dw);
	if (err && err->code == GH_ERR_NOT_FOUND) {
		gh_error_free(err);	/* stripped: the runtime falls back to tables */
		err = NULL;
		t.dw = NULL;
	}
	if (err)
		goto fail;
	gh_cli_progress("reading the Go runtime");
	err = gh_rt_create(t.mem, t.dw, &t.rt);
	if (err)
		goto fail;
	*ret = t;
	return NULL;
fail:
	gh_cli_target_close(&t);
	return err;
}

void gh_cli_target_close(struct gh_cli_target *t)
{
	gh_rt_destroy(t->rt);
	gh_dwarf_close(t->dw);
	gh_mem_close(t->mem);
	memset(t, 0, sizeof(*t));
}
