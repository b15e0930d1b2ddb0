/*
 * cli.h - the command-line front end: the command table, shared option
 * parsing, loading a core for a command, and exit codes.
 *
 * Only cli/ prints or exits.  Results go to stdout, diagnostics and
 * progress to stderr (progress only when stderr is a terminal).
 *
 * May include: everything below.
 */
#ifndef GH_CLI_H
#define GH_CLI_H

#include <stdio.h>

#include "core/base/gh_base.h"
#include "core/mem/gh_mem.h"
#include "core/rt/gh_rt.h"
#include "dwarf/gh_dwarf.h"
#include "reports/gh_reports.h"

enum gh_exit {
	GH_EXIT_OK = 0,
	GH_EXIT_FAIL = 1,	/* bad input, or the analysis failed */
	GH_EXIT_USAGE = 2,	/* the command line was wrong */
};

enum gh_format { GH_FORMAT_TEXT, GH_FORMAT_JSON };

/* What every command that reads a core shares. */
struct gh_cli_opts {
	const char *core_path;
	const char *exe_path;	/* NULL: the one the core names */
	enum gh_format format;
	bool no_build_id_check;
	const char *cache_dir;
	long top;		/* --top N, 0 = all */
};

/* A loaded core: address space, DWARF (NULL if stripped), runtime. */
struct gh_cli_target {
	struct gh_mem *mem;
	struct gh_dwarf *dw;
	struct gh_rt *rt;
};

struct gh_cli_cmd {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *summary;
};

extern const char *gh_cli_prog;

/* Prints "goheap: <msg>" (and a hint for some codes), frees err, returns 1. */
int gh_cli_fail(struct gh_error *err);
/* Prints "goheap <cmd>: <msg>" and the usage hint, returns 2. */
GH_PRINTF(2, 3) int gh_cli_usage_error(const char *usage, const char *fmt, ...);
/* Shows progress on stderr when it is a terminal; NULL clears the line. */
void gh_cli_progress(const char *stage);

/*
 * Parses the options every core command takes (--format, --top, --exe,
 * --cache-dir, --no-build-id-check, -h) plus CORE [EXE].  Returns -1 when
 * parsing succeeded, else the exit code to return (0 after --help).
 */
int gh_cli_parse(int argc, char **argv, const char *usage, const char *help,
		 bool takes_top, struct gh_cli_opts *opts);
/*
 * The same for a command that takes n_extra more operands after CORE
 * [EXE] (at most GH_CLI_MAX_EXTRA): they go to extra_ret[]; a missing one
 * is a usage error naming it (extra_names[i], e.g. "ADDRESS").
 */
#define GH_CLI_MAX_EXTRA 4
int gh_cli_parse_extra(int argc, char **argv, const char *usage,
		       const char *help, bool takes_top, int n_extra,
		       const char *const *extra_names, const char **extra_ret,
		       struct gh_cli_opts *opts);

GH_MUST_CHECK struct gh_error *gh_cli_target_open(const struct gh_cli_opts *opts,
						  struct gh_cli_target *ret);
void gh_cli_target_close(struct gh_cli_target *t);

int gh_cmd_info(int argc, char **argv);
int gh_cmd_histogram(int argc, char **argv);
int gh_cmd_object(int argc, char **argv);
int gh_cmd_goroutines(int argc, char **argv);

#endif /* GH_CLI_H */
