/* main.c - goheap's entry point and command table. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

const char *gh_cli_prog = "goheap";

static const struct gh_cli_cmd commands[] = {
	{ "info", gh_cmd_info, "what the core is: Go release, heap and goroutine totals" },
	{ "histogram", gh_cmd_histogram, "heap objects and bytes by type" },
	{ "object", gh_cmd_object, "one heap object: size, type, its pointers" },
	{ "goroutines", gh_cmd_goroutines, "every goroutine: status, wait reason, stack" },
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: goheap <command> CORE [EXE] [options]\n"
		"\n"
		"goheap reads the core dump of a Go program (and the program's executable)\n"
		"and tells what holds its memory.\n"
		"\n"
		"commands:\n");
	for (size_t i = 0; i < GH_ARRAY_SIZE(commands); i++)
		fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
	fprintf(f,
		"\n"
		"CORE is an ELF core (plain, or compressed with lz4, zstd or xz as\n"
		"systemd-coredump stores it).  EXE defaults to the executable the core\n"
		"names.  'goheap <command> --help' describes a command.\n"
		"\n"
		"exit status: 0 success, 1 the input could not be analyzed, 2 usage error\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return GH_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
	    !strcmp(argv[1], "help")) {
		usage(stdout);
		return GH_EXIT_OK;
	}
	if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
		printf("goheap %s\n", PACKAGE_VERSION);
		return GH_EXIT_OK;
	}
	for (size_t i = 0; i < GH_ARRAY_SIZE(commands); i++)
		if (!strcmp(argv[1], commands[i].name))
			return commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "goheap: '%s' is not a goheap command; see 'goheap --help'\n",
		argv[1]);
	return GH_EXIT_USAGE;
}
