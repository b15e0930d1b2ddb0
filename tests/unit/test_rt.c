/*
 * test_rt.c - core/rt on real Go programs: the pclntab reader, the
 * stripped-executable global finders and the stripped layout table.
 *
 * For each Go release on the machine (its own go, and GOTOOLCHAIN=go1.x.y
 * releases already in the module cache) a small program is built, run
 * with GOTRACEBACK=crash and sent SIGQUIT, so the kernel writes ./core.
 * The oracles are Go's own tools on the unstripped build: `go tool nm`
 * for addresses of globals and functions, `go tool addr2line` for names
 * and lines.  goheap reads the core with the `objcopy --strip-all` copy.
 *
 * Fixtures are built in main() before Check forks any test, cached in
 * $GOHEAP_BUILDDIR/tests/unit/rt-fixtures (or ./rt-fixtures).  A fixture
 * that cannot be made (no go, no toolchain, no core) becomes a test case
 * whose name carries "# SKIP <reason>", which the TAP driver reports as a
 * skip; with GOHEAP_TEST_STRICT=1 it fails instead.
 */
#include <check.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/rt/rt_internal.h"

/* The program every fixture runs: a known heap, then waits for SIGQUIT. */
static const char fixture_go[] =
	"package main\n"
	"\n"
	"import (\n"
	"\t\"fmt\"\n"
	"\t\"os\"\n"
	"\t\"time\"\n"
	")\n"
	"\n"
	"type node struct {\n"
	"\tnext *node\n"
	"\tval  [4]int\n"
	"}\n"
	"\n"
	"var keep []*node\n"
	"\n"
	"//go:noinline\n"
	"func build(n int) {\n"
	"\tfor i := 0; i < n; i++ {\n"
	"\t\tkeep = append(keep, &node{val: [4]int{i}})\n"
	"\t}\n"
	"}\n"
	"\n"
	"func main() {\n"
	"\tbuild(1000)\n"
	"\tfor i := 0; i < 4; i++ {\n"
	"\t\tgo func() { time.Sleep(time.Hour) }()\n"
	"\t}\n"
	"\tfmt.Fprintln(os.Stderr, \"ready\", len(keep))\n"
	"\ttime.Sleep(time.Hour)\n"
	"}\n";

static const char fixture_mod[] = "module fixture\n\ngo 1.21\n";

enum variant {
	V_DEFAULT,	/* CGO_ENABLED=0 */
	V_PIE,		/* -buildmode=pie, internal linking */
	V_EXTPIE,	/* PIE through the external linker (gcc) */
	V_GREENTEA,	/* GOEXPERIMENT=greenteagc, layout only */
	V_NOGREENTEA,	/* GOEXPERIMENT=nogreenteagc, layout only */
	V_NOALLOCHDR,	/* GOEXPERIMENT=noallocheaders, layout only */
	V_ARM64,	/* GOARCH=arm64, run under qemu-aarch64 when present */
};

static const char *const variant_names[] = {
	"default", "pie", "extpie", "greenteagc", "nogreenteagc",
	"noallocheaders", "arm64",
};

struct fixture {
	const char *toolchain;	/* "go1.22.12", or NULL for the machine's go */
	enum variant variant;
	bool core;		/* run it and keep a core */
	/* filled by prepare() */
	char dir[1024];
	char version[128];	/* what `go version` says of the executable */
	char skip[2048];		/* why the fixture could not be made */
};

static struct fixture fixtures[] = {
	{ "go1.21.13", V_DEFAULT, true },
	{ "go1.22.12", V_DEFAULT, true },
	{ "go1.23.12", V_DEFAULT, true },
	{ "go1.24.13", V_DEFAULT, true },
	{ "go1.25.12", V_DEFAULT, true },
	{ NULL, V_DEFAULT, true },
	{ "go1.27.3", V_DEFAULT, true },
	{ "go1.25.12", V_PIE, true },
	{ NULL, V_PIE, true },
	{ "go1.25.12", V_EXTPIE, true },
	{ NULL, V_EXTPIE, true },
	{ "go1.25.12", V_GREENTEA, false },
	{ NULL, V_NOGREENTEA, false },
	{ "go1.27.3", V_NOGREENTEA, false },
	{ "go1.22.12", V_NOALLOCHDR, false },
	{ "go1.21.13", V_ARM64, true },
	{ "go1.22.12", V_ARM64, true },
	{ "go1.23.12", V_ARM64, true },
	{ "go1.24.13", V_ARM64, true },
	{ "go1.25.12", V_ARM64, true },
	{ NULL, V_ARM64, true },
	{ "go1.27.3", V_ARM64, true },
};

static char go_path[PATH_MAX];
static char qemu_path[PATH_MAX];	/* qemu-aarch64 for arm64 fixtures */

static bool is_executable(const char *path)
{
	return access(path, X_OK) == 0;
}

/* Looks for an executable called name in $PATH. */
static bool in_path(const char *name, char *buf, size_t len)
{
	const char *path = getenv("PATH");

	while (path && *path) {
		const char *end = strchr(path, ':');
		size_t n = end ? (size_t)(end - path) : strlen(path);
		snprintf(buf, len, "%.*s/%s", (int)n, path, name);
		if (n && is_executable(buf))
			return true;
		path = end ? end + 1 : NULL;
	}
	return false;
}

static bool find_go(void)
{
	const char *env = getenv("GO");

	if (env && is_executable(env)) {
		snprintf(go_path, sizeof(go_path), "%s", env);
		return true;
	}
	if (in_path("go", go_path, sizeof(go_path)))
		return true;
	snprintf(go_path, sizeof(go_path), "/usr/local/go/bin/go");
	return is_executable(go_path);
}

static bool find_qemu(void)
{
	return in_path("qemu-aarch64-static", qemu_path, sizeof(qemu_path)) ||
	       in_path("qemu-aarch64", qemu_path, sizeof(qemu_path));
}

GH_PRINTF(1, 2) static int sh(const char *fmt, ...)
{
	char cmd[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int st = system(cmd);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static bool write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return false;
	bool ok = fputs(text, f) >= 0;
	return fclose(f) == 0 && ok;
}

/* Reads a small file whole; NULL if it does not exist. */
static char *read_file(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	for (size_t k; buf && (k = fread(buf + n, 1, cap - n - 1, f)) > 0;) {
		n += k;
		if (cap - n - 1 == 0)
			buf = realloc(buf, cap *= 2);
	}
	fclose(f);
	if (buf)
		buf[n] = '\0';
	return buf;
}

static bool file_has(const char *path, const char *text)
{
	char *s = read_file(path);
	bool ok = s && strstr(s, text);
	free(s);
	return ok;
}

static bool exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static void path_in(char *buf, size_t len, const struct fixture *fx,
		    const char *name)
{
	snprintf(buf, len, "%s/%s", fx->dir, name);
}

/* File offset and address of a section of an ELF file, by name. */
static bool elf_section(const char *path, const char *name, uint64_t *off,
			uint64_t *addr)
{
	char *data = NULL;
	size_t len = 0;
	FILE *f = fopen(path, "rb");
	bool ok = false;

	if (!f)
		return false;
	if (fseek(f, 0, SEEK_END) == 0) {
		len = (size_t)ftell(f);
		data = malloc(len);
		rewind(f);
		if (data && fread(data, 1, len, f) != len)
			len = 0;
	}
	fclose(f);
	if (!data || len < sizeof(Elf64_Ehdr))
		goto out;
	Elf64_Ehdr *eh = (Elf64_Ehdr *)data;
	if (eh->e_shoff + (uint64_t)eh->e_shnum * sizeof(Elf64_Shdr) > len ||
	    eh->e_shstrndx >= eh->e_shnum)
		goto out;
	Elf64_Shdr *sh = (Elf64_Shdr *)(data + eh->e_shoff);
	const char *strs = data + sh[eh->e_shstrndx].sh_offset;
	for (unsigned i = 0; i < eh->e_shnum; i++) {
		if (!strcmp(strs + sh[i].sh_name, name)) {
			*off = sh[i].sh_offset;
			*addr = sh[i].sh_addr;
			ok = true;
			break;
		}
	}
out:
	free(data);
	return ok;
}

/* Runs ./prog in fx->dir until it prints "ready", then SIGQUIT: ./core. */
static bool crash(struct fixture *fx)
{
	char errp[PATH_MAX], core[PATH_MAX];
	struct rlimit rl;

	if (getrlimit(RLIMIT_CORE, &rl) == 0 && rl.rlim_max == 0) {
		snprintf(fx->skip, sizeof(fx->skip), "RLIMIT_CORE's hard limit"
			 " is 0: no cores can be written");
		return false;
	}
	char *pattern = read_file("/proc/sys/kernel/core_pattern");
	if (pattern && pattern[0] == '|') {
		pattern[strcspn(pattern, "\n")] = '\0';
		snprintf(fx->skip, sizeof(fx->skip), "core_pattern pipes"
			 " cores to '%.200s'; set it to 'core'", pattern + 1);
		free(pattern);
		return false;
	}
	free(pattern);

	path_in(errp, sizeof(errp), fx, "stderr.txt");
	path_in(core, sizeof(core), fx, "core");
	unlink(core);
	pid_t pid = fork();
	if (pid < 0)
		return false;
	if (pid == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_CORE, &rl);
		if (chdir(fx->dir))
			_exit(127);
		int fd = open("stderr.txt", O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			_exit(127);
		dup2(fd, 1);
		dup2(fd, 2);
		setenv("GOTRACEBACK", "crash", 1);
		setenv("GOMAXPROCS", "2", 1);
		if (fx->variant == V_ARM64) {
			/*
			 * qemu writes the guest's core itself; keep the
			 * kernel's core of qemu down to its headers.
			 */
			int cf = open("/proc/self/coredump_filter", O_WRONLY);
			if (cf >= 0) {
				if (write(cf, "0", 1) < 0)
					_exit(127);
				close(cf);
			}
			execl(qemu_path, "qemu-aarch64", "./prog", (char *)NULL);
		}
		execl("./prog", "prog", (char *)NULL);
		_exit(127);
	}
	bool ready = false;
	for (int i = 0; i < 600 && !ready; i++) {
		struct timespec ts = { 0, 100 * 1000 * 1000 };
		ready = file_has(errp, "ready");
		if (!ready)
			nanosleep(&ts, NULL);
	}
	kill(pid, SIGQUIT);
	int st;
	if (waitpid(pid, &st, 0) != pid)
		return false;
	if (!ready) {
		snprintf(fx->skip, sizeof(fx->skip), "the fixture in %s never"
			 " said it was ready", fx->dir);
		return false;
	}
	char alt[PATH_MAX + 32];
	if (fx->variant == V_ARM64) {
		/* qemu names it qemu_prog_<time>_<pid>.core */
		unlink(core);
		snprintf(alt, sizeof(alt), "%s/qemu_prog_*_%d.core", fx->dir,
			 (int)pid);
		/* qemu writes zeros where the kernel leaves holes */
		sh("mv %s '%s' 2>/dev/null && { fallocate -d '%s' 2>/dev/null"
		   " || true; }", alt, core, core);
	} else {
		snprintf(alt, sizeof(alt), "%s.%d", core, (int)pid);
		if (!exists(core) && exists(alt))
			rename(alt, core);
		if (!WIFSIGNALED(st) || !WCOREDUMP(st))
			unlink(core);
	}
	if (!exists(core)) {
		snprintf(fx->skip, sizeof(fx->skip), "the fixture died without"
			 " a core in %s (check core_pattern and ulimit -c)",
			 fx->dir);
		return false;
	}
	return true;
}

/* Builds (and for core fixtures runs) one fixture, or says why not. */
static bool prepare(struct fixture *fx, const char *base)
{
	char p[PATH_MAX], done[PATH_MAX];
	const char *tc = fx->toolchain ? fx->toolchain : "local";

	snprintf(fx->dir, sizeof(fx->dir), "%s/%s-%s", base, tc,
		 variant_names[fx->variant]);
	if (fx->variant == V_ARM64 && !find_qemu())
		fx->core = false;	/* no qemu: layout only */
	path_in(done, sizeof(done), fx, "done");
	path_in(p, sizeof(p), fx, "core");
	bool have_core = !fx->core || exists(p);
	path_in(p, sizeof(p), fx, "main.go");
	if (exists(done) && have_core && file_has(p, fixture_go)) {
		char *v;
		path_in(p, sizeof(p), fx, "version.txt");
		v = read_file(p);
		if (v) {
			v[strcspn(v, "\n")] = '\0';
			snprintf(fx->version, sizeof(fx->version), "%s", v);
			free(v);
			return true;
		}
	}
	unlink(done);
	if (sh("mkdir -p '%s'", fx->dir))
		return false;
	if (!write_file(p, fixture_go))
		return false;
	path_in(p, sizeof(p), fx, "go.mod");
	if (!write_file(p, fixture_mod))
		return false;

	const char *env = "CGO_ENABLED=0", *flags = "";
	switch (fx->variant) {
	case V_DEFAULT:
		break;
	case V_PIE:
		flags = "-buildmode=pie";
		break;
	case V_EXTPIE:
		if (sh("command -v gcc >/dev/null 2>&1")) {
			snprintf(fx->skip, sizeof(fx->skip), "no gcc for"
				 " external linking");
			return false;
		}
		env = "CGO_ENABLED=1";
		flags = "-buildmode=pie -ldflags=-linkmode=external";
		break;
	case V_GREENTEA:
		env = "CGO_ENABLED=0 GOEXPERIMENT=greenteagc";
		break;
	case V_NOGREENTEA:
		env = "CGO_ENABLED=0 GOEXPERIMENT=nogreenteagc";
		break;
	case V_NOALLOCHDR:
		env = "CGO_ENABLED=0 GOEXPERIMENT=noallocheaders";
		break;
	case V_ARM64:
		env = "CGO_ENABLED=0 GOARCH=arm64";
		break;
	}
	if (sh("cd '%s' && GOTOOLCHAIN=%s GOFLAGS= %s '%s' build %s -o prog ."
	       " >build.log 2>&1", fx->dir, fx->toolchain ? fx->toolchain :
	       "local", env, go_path, flags)) {
		snprintf(fx->skip, sizeof(fx->skip), "%s could not build the"
			 " fixture (offline? see %s/build.log)", tc, fx->dir);
		return false;
	}
	if (sh("cd '%s' && '%s' version prog | sed 's/^prog: //' >version.txt",
	       fx->dir, go_path))
		return false;
	if (sh("cd '%s' && '%s' tool nm -size prog >nm.txt", fx->dir, go_path))
		return false;
	if (fx->core) {
		/*
		 * binutils' objcopy knows only the host's machine.
		 * llvm-objcopy garbles the section names of Go 1.21 arm64
		 * executables: check that .text is still there.
		 */
		uint64_t off, addr;
		path_in(p, sizeof(p), fx, "prog.stripped");
		if (sh("cd '%s' && { objcopy --strip-all prog prog.stripped ||"
		       " aarch64-linux-gnu-objcopy --strip-all prog prog.stripped"
		       " || llvm-objcopy --strip-all prog prog.stripped; }"
		       " >strip.log 2>&1", fx->dir) ||
		    !elf_section(p, ".text", &off, &addr)) {
			snprintf(fx->skip, sizeof(fx->skip), "no objcopy could"
				 " strip %s/prog (for arm64: install"
				 " binutils-aarch64-linux-gnu)", fx->dir);
			return false;
		}
		if (!crash(fx))
			return false;
	}
	if (!write_file(done, "ok\n"))
		return false;
	return prepare(fx, base);
}

/* --- oracles --------------------------------------------------------- */

struct nm_sym {
	uint64_t addr, size;
	char type;
	char *name;
};

static size_t n_syms;
static struct nm_sym *syms;

static void load_nm(const struct fixture *fx)
{
	char p[PATH_MAX], line[4096];

	path_in(p, sizeof(p), fx, "nm.txt");
	FILE *f = fopen(p, "r");
	ck_assert_msg(f, "cannot open %s", p);
	n_syms = 0;
	while (fgets(line, sizeof(line), f)) {
		struct nm_sym s;
		int off = 0;

		line[strcspn(line, "\n")] = '\0';
		if (sscanf(line, " %" SCNx64 " %" SCNu64 " %c %n", &s.addr,
			   &s.size, &s.type, &off) < 3 || !off)
			continue;
		s.name = strdup(line + off);
		syms = realloc(syms, (n_syms + 1) * sizeof(*syms));
		ck_assert(syms && s.name);
		syms[n_syms++] = s;
	}
	fclose(f);
}

/* The text symbol called name, or NULL. */
static const struct nm_sym *nm_find(const char *name)
{
	for (size_t i = 0; i < n_syms; i++) {
		if ((syms[i].type == 'T' || syms[i].type == 't') &&
		    !strcmp(syms[i].name, name))
			return &syms[i];
	}
	return NULL;
}

static uint64_t nm_addr(const char *name)
{
	for (size_t i = 0; i < n_syms; i++) {
		if (!strcmp(syms[i].name, name))
			return syms[i].addr;
	}
	ck_abort_msg("go tool nm does not list %s", name);
	return 0;
}

static struct fixture *cur;	/* the fixture of the running test */
static struct gh_mem *mem;
static struct gh_rt *rt;

static void assert_ok(struct gh_error *err, const char *what)
{
	if (err) {
		ck_abort_msg("%s: %s: %s", what, gh_error_code_name(err->code),
			     err->msg);
	}
}

/* Opens the fixture's core with its stripped executable, no DWARF. */
static void open_stripped(void)
{
	char core[PATH_MAX], exe[PATH_MAX];
	struct gh_mem_open_opts opts = { 0 };
	struct gh_dwarf *dw;

	path_in(core, sizeof(core), cur, "core");
	path_in(exe, sizeof(exe), cur, "prog.stripped");
	struct gh_error *err = gh_dwarf_open(exe, &dw);
	ck_assert_msg(err && err->code == GH_ERR_NOT_FOUND,
		      "%s has DWARF after objcopy --strip-all", exe);
	gh_error_free(err);
	opts.exe_path = exe;
	assert_ok(gh_mem_open(core, &opts, &mem), "opening the core");
	uint64_t a, s;
	err = gh_mem_exe_symbol(mem, "runtime.mheap_", &a, &s);
	ck_assert_msg(err && err->code == GH_ERR_NOT_FOUND,
		      "%s still has symbols", exe);
	gh_error_free(err);
	assert_ok(gh_rt_create(mem, NULL, &rt), "gh_rt_create");
}

static void close_all(void)
{
	gh_rt_destroy(rt);
	rt = NULL;
	gh_mem_close(mem);
	mem = NULL;
}

/* --- tests ----------------------------------------------------------- */

static struct fixture *core_fixtures[GH_ARRAY_SIZE(fixtures)];
static struct fixture *layout_fixtures[GH_ARRAY_SIZE(fixtures)];
static const char *skip_reasons[GH_ARRAY_SIZE(fixtures) + 1];

START_TEST(test_skipped)
{
	const char *strict = getenv("GOHEAP_TEST_STRICT");
	if (strict && !strcmp(strict, "1"))
		ck_abort_msg("skipped under GOHEAP_TEST_STRICT=1: %s",
			     skip_reasons[_i]);
}
END_TEST

/* The stripped finders land where the symbol table says. */
START_TEST(test_stripped_globals)
{
	cur = core_fixtures[_i];
	load_nm(cur);
	open_stripped();
	uint64_t bias = gh_mem_load_bias(mem);

	ck_assert_str_eq(gh_rt_layout_source(rt), "table");
	ck_assert_str_eq(gh_rt_go_version(rt), cur->version);
	ck_assert_uint_eq(rt->firstmoduledata_addr,
			  nm_addr("runtime.firstmoduledata") + bias);
	ck_assert_uint_eq(rt->mheap_addr, nm_addr("runtime.mheap_") + bias);
	ck_assert_uint_eq(rt->allgs_addr, nm_addr("runtime.allgs") + bias);

	/* Not needed by gh_rt_create yet, but found the same way. */
	uint64_t addr;
	assert_ok(stripped_find_global(rt, "runtime.allp", &addr), "allp");
	ck_assert_uint_eq(addr, nm_addr("runtime.allp") + bias);
	assert_ok(stripped_find_global(rt, "runtime.allm", &addr), "allm");
	ck_assert_uint_eq(addr, nm_addr("runtime.allm") + bias);

	struct gh_error *err = stripped_find_global(rt, "runtime.nosuchvar",
						    &addr);
	ck_assert_int_eq(err->code, GH_ERR_NOT_FOUND);
	ck_assert_str_eq(err->msg, "the executable has no symbol"
			 " runtime.nosuchvar and goheap cannot locate it"
			 " without one");
	gh_error_free(err);
	close_all();
}
END_TEST

/*
 * Every function nm lists, looked up by a pc inside it and by name,
 * against addr2line's name and file:line for that pc.
 */
START_TEST(test_pclntab_matches_addr2line)
{
	char in[PATH_MAX], out[PATH_MAX], exe[PATH_MAX];

	cur = core_fixtures[_i];
	load_nm(cur);
	open_stripped();
	uint64_t bias = gh_mem_load_bias(mem);

	path_in(in, sizeof(in), cur, "pcs.txt");
	path_in(out, sizeof(out), cur, "lines.txt");
	path_in(exe, sizeof(exe), cur, "prog");
	FILE *f = fopen(in, "w");
	ck_assert(f);
	size_t n_pcs = 0;
	uint64_t *pcs = malloc(n_syms * sizeof(*pcs));
	for (size_t i = 0; i < n_syms; i++) {
		if (syms[i].type != 'T' && syms[i].type != 't')
			continue;
		/* a pc inside: the middle, or the entry of an empty symbol */
		pcs[n_pcs] = syms[i].addr + syms[i].size / 2;
		fprintf(f, "0x%" PRIx64 "\n", pcs[n_pcs++]);
	}
	fclose(f);
	ck_assert_uint_gt(n_pcs, 1000);
	ck_assert_int_eq(sh("'%s' tool addr2line '%s' <'%s' >'%s'", go_path,
			    exe, in, out), 0);

	f = fopen(out, "r");
	ck_assert(f);
	size_t n_found = 0, n_lines = 0;
	for (size_t i = 0; i < n_pcs; i++) {
		char name[4096], pos[4096];
		struct gh_rt_func fn, by_name;
		const char *file;
		uint32_t line;

		ck_assert(fgets(name, sizeof(name), f));
		ck_assert(fgets(pos, sizeof(pos), f));
		name[strcspn(name, "\n")] = '\0';
		pos[strcspn(pos, "\n")] = '\0';
		struct gh_error *err = gh_rt_find_func(rt, pcs[i] + bias, &fn);
		if (!strcmp(name, "?")) {
			ck_assert_msg(err && err->code == GH_ERR_NOT_FOUND,
				      "pc 0x%" PRIx64 ": addr2line knows no"
				      " function, goheap says %s", pcs[i],
				      err ? err->msg : fn.name);
			gh_error_free(err);
			continue;
		}
		assert_ok(err, name);
		ck_assert_str_eq(fn.name, name);
		ck_assert(fn.entry <= pcs[i] + bias && pcs[i] + bias < fn.end);
		n_found++;

		/*
		 * By name: the function nm calls name, not its ABI wrapper
		 * (nm: "name.abi0"), which has the same name in the pclntab.
		 */
		assert_ok(gh_rt_find_func_by_name(rt, name, &by_name), name);
		ck_assert_str_eq(by_name.name, name);
		char abi0[4200];
		snprintf(abi0, sizeof(abi0), "%s.abi0", name);
		const struct nm_sym *want = nm_find(name);
		const struct nm_sym *wrap = nm_find(abi0);
		if (want && wrap) {
			/* Either way round, the one not "<autogenerated>". */
			ck_assert_msg(by_name.entry == want->addr + bias ||
				      by_name.entry == wrap->addr + bias,
				      "%s: by name at 0x%" PRIx64, name,
				      by_name.entry);
			assert_ok(gh_rt_func_line(rt, &by_name, by_name.entry,
						  &file, &line), name);
			ck_assert_str_ne(file, "<autogenerated>");
		} else if (want) {
			ck_assert_msg(by_name.entry == want->addr + bias,
				      "%s: by name at 0x%" PRIx64 ", nm says"
				      " 0x%" PRIx64, name, by_name.entry,
				      want->addr + bias);
		} else {
			ck_assert_msg(by_name.entry == fn.entry,
				      "%s: by name at 0x%" PRIx64 ", by pc at"
				      " 0x%" PRIx64, name, by_name.entry,
				      fn.entry);
		}

		err = gh_rt_func_line(rt, &fn, pcs[i] + bias, &file, &line);
		/* Markers (go:textfipsstart) have no table: ":-1". */
		if (!strcmp(pos, "?:0") || !strcmp(pos, ":-1")) {
			ck_assert_msg(err, "%s: addr2line has no line", name);
			gh_error_free(err);
			continue;
		}
		assert_ok(err, name);
		char mine[4200];
		snprintf(mine, sizeof(mine), "%s:%" PRIu32, file, line);
		ck_assert_str_eq(mine, pos);
		n_lines++;
	}
	fclose(f);
	free(pcs);
	ck_assert_uint_gt(n_found, 1000);
	ck_assert_uint_gt(n_lines, 1000);

	/* Known answers from the fixture's source. */
	struct gh_rt_func fn;
	const char *file;
	uint32_t line;
	assert_ok(gh_rt_find_func_by_name(rt, "main.build", &fn), "main.build");
	ck_assert_uint_eq(fn.entry, nm_addr("main.build") + bias);
	assert_ok(gh_rt_func_line(rt, &fn, fn.entry, &file, &line), "line");
	ck_assert_uint_eq(line, 17);	/* func build(n int) { */
	ck_assert_str_eq(file + strlen(file) - strlen("/main.go"), "/main.go");

	struct gh_error *err = gh_rt_find_func_by_name(rt, "main.nosuch", &fn);
	ck_assert_int_eq(err->code, GH_ERR_NOT_FOUND);
	ck_assert_str_eq(err->msg, "no function 'main.nosuch' in the pclntab");
	gh_error_free(err);
	err = gh_rt_find_func(rt, 0x10, &fn);
	ck_assert_int_eq(err->code, GH_ERR_NOT_FOUND);
	gh_error_free(err);
	close_all();
}
END_TEST

/* The stripped layout table gives what DWARF gives. */
START_TEST(test_layout_table_matches_dwarf)
{
	char exe[PATH_MAX];
	struct gh_dwarf *dw;
	struct gh_rt a = { 0 }, b = { 0 };

	cur = layout_fixtures[_i];
	path_in(exe, sizeof(exe), cur, "prog");
	assert_ok(gh_dwarf_open(exe, &dw), "reading DWARF");
	ck_assert_msg(!strncmp(cur->version, "go1.", 4), "version '%s'",
		      cur->version);
	a.dw = dw;
	a.version = cur->version;
	a.release = 100 + atoi(cur->version + 4);
	b = a;
	b.dw = NULL;
	assert_ok(layout_from_dwarf(&a), "layout_from_dwarf");
	assert_ok(layout_from_table(&b), "layout_from_table");

#define SAME(f) ck_assert_msg(a.l.f == b.l.f, "%s: " #f " is %" PRId64	\
			      " in DWARF, %" PRId64 " in the table",	\
			      cur->version, (int64_t)a.l.f, (int64_t)b.l.f)
	SAME(mheap_allspans);
	SAME(span_bytes);
	SAME(span_start_addr);
	SAME(span_npages);
	SAME(span_freeindex);
	SAME(span_freeindex_bytes);
	SAME(span_nelems);
	SAME(span_nelems_bytes);
	SAME(span_alloc_bits);
	SAME(span_spanclass);
	SAME(span_state);
	SAME(span_elemsize);
	SAME(span_large_type);
	SAME(span_user_arena);
	SAME(g_atomicstatus);
	SAME(g_goid);
	SAME(g_waitreason);
	SAME(md_types);
	SAME(md_etypes);
	SAME(md_next);
	SAME(type_size);
	SAME(type_ptr_bytes);
	SAME(type_tflag);
	SAME(type_kind);
	SAME(type_str);
	SAME(span_in_use);
	SAME(g_dead);
	SAME(g_dead_extra);
	SAME(g_scan);
	SAME(page_bytes);
	SAME(kind_mask);
	SAME(green_tea);
	/*
	 * GOEXPERIMENT=noallocheaders (1.22) has minSizeForMallocHeader =
	 * -1 in DWARF where the table says 0: both mean "no headers".
	 */
	if (a.l.min_size_for_malloc_header > INT64_MAX)
		a.l.min_size_for_malloc_header = 0;
	SAME(min_size_for_malloc_header);
#undef SAME
	gh_dwarf_close(dw);
}
END_TEST

/* --- corrupt pclntabs -------------------------------------------------- */

/* Copies the unstripped executable, patches len bytes at pclntab+at. */
static void patched_exe(const char *out, uint64_t at, const void *bytes,
			size_t len, uint64_t *pcln_addr)
{
	char exe[PATH_MAX];
	uint64_t off;

	path_in(exe, sizeof(exe), cur, "prog");
	ck_assert(elf_section(exe, ".gopclntab", &off, pcln_addr));
	ck_assert_int_eq(sh("cp '%s' '%s'", exe, out), 0);
	int fd = open(out, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(pwrite(fd, bytes, len, (off_t)(off + at)), (ssize_t)len);
	close(fd);
}

/* Opens the core with a patched copy (symbols kept: globals come easy). */
static struct gh_error *open_patched(const char *exe)
{
	char core[PATH_MAX];
	struct gh_mem_open_opts opts = { .exe_path = exe,
					 .no_build_id_check = true };

	path_in(core, sizeof(core), cur, "core");
	assert_ok(gh_mem_open(core, &opts, &mem), "opening the core");
	assert_ok(gh_rt_create(mem, NULL, &rt), "gh_rt_create");
	struct gh_rt_func fn;
	return gh_rt_find_func_by_name(rt, "main.main", &fn);
}

START_TEST(test_pclntab_bad_magic)
{
	char exe[PATH_MAX];
	uint64_t pcln;
	const uint8_t magic[4] = { 0xf0, 0xff, 0xff, 0xff };	/* Go 1.18 */

	cur = core_fixtures[_i];
	path_in(exe, sizeof(exe), cur, "prog.badmagic");
	patched_exe(exe, 0, magic, sizeof(magic), &pcln);
	struct gh_error *err = open_patched(exe);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, GH_ERR_UNSUPPORTED);
	char want[256];
	snprintf(want, sizeof(want), "reading the pclntab at 0x%" PRIx64
		 ": pclntab magic 0xfffffff0 is not Go 1.20-1.27's 0xfffffff1",
		 pcln);
	ck_assert_str_eq(err->msg, want);
	gh_error_free(err);
	close_all();
	unlink(exe);
}
END_TEST

START_TEST(test_pclntab_bad_nfunc)
{
	char exe[PATH_MAX];
	uint64_t pcln;
	const uint64_t nfunc = 1ull << 40;

	cur = core_fixtures[_i];
	path_in(exe, sizeof(exe), cur, "prog.badnfunc");
	patched_exe(exe, 8, &nfunc, sizeof(nfunc), &pcln);
	struct gh_error *err = open_patched(exe);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, GH_ERR_CORRUPT);
	ck_assert_msg(strstr(err->msg, "pclntab claims 1099511627776"
			     " functions but its pclntable is "),
		      "message: %s", err->msg);
	gh_error_free(err);
	close_all();
	unlink(exe);
}
END_TEST

START_TEST(test_pclntab_bad_offsets)
{
	char exe[PATH_MAX];
	uint64_t pcln;
	const uint64_t off = 1ull << 50;

	cur = core_fixtures[_i];
	path_in(exe, sizeof(exe), cur, "prog.badoff");
	patched_exe(exe, 56, &off, sizeof(off), &pcln);	/* pctabOffset */
	struct gh_error *err = open_patched(exe);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, GH_ERR_CORRUPT);
	ck_assert_msg(strstr(err->msg, ": pclntab pctab offset"
			     " 0x4000000000000 is outside the table (0x48 to 0x"),
		      "message: %s", err->msg);
	gh_error_free(err);
	close_all();
	unlink(exe);
}
END_TEST

/* Two ftab entries swapped: the binary search would go astray. */
START_TEST(test_pclntab_unsorted_ftab)
{
	char exe[PATH_MAX], orig[PATH_MAX];
	uint64_t pcln, off, addr;
	uint8_t hdr[72];
	uint32_t pair[4], swapped[4];

	cur = core_fixtures[_i];
	path_in(orig, sizeof(orig), cur, "prog");
	ck_assert(elf_section(orig, ".gopclntab", &off, &addr));
	FILE *f = fopen(orig, "rb");
	ck_assert(f);
	ck_assert_int_eq(fseek(f, (long)off, SEEK_SET), 0);
	ck_assert_uint_eq(fread(hdr, 1, sizeof(hdr), f), sizeof(hdr));
	uint64_t pcln_off;
	memcpy(&pcln_off, hdr + 64, 8);
	/* entries 10 and 11 */
	ck_assert_int_eq(fseek(f, (long)(off + pcln_off + 80), SEEK_SET), 0);
	ck_assert_uint_eq(fread(pair, 1, sizeof(pair), f), sizeof(pair));
	fclose(f);
	swapped[0] = pair[2], swapped[1] = pair[3];
	swapped[2] = pair[0], swapped[3] = pair[1];
	path_in(exe, sizeof(exe), cur, "prog.unsorted");
	patched_exe(exe, pcln_off + 80, swapped, sizeof(swapped), &pcln);
	struct gh_error *err = open_patched(exe);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, GH_ERR_CORRUPT);
	char want[256];
	snprintf(want, sizeof(want), "reading the pclntab at 0x%" PRIx64
		 ": pclntab function table is not sorted: entry 10 at +0x%"
		 PRIx32 " is followed by +0x%" PRIx32, pcln, pair[2], pair[0]);
	ck_assert_str_eq(err->msg, want);
	gh_error_free(err);
	close_all();
	unlink(exe);
}
END_TEST

START_TEST(test_layout_table_unknown_release)
{
	struct gh_rt r = { .release = 128, .version = "go1.28.0" };
	struct gh_error *err = layout_from_table(&r);

	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, GH_ERR_UNSUPPORTED);
	ck_assert_str_eq(err->msg, "no built-in runtime layout for go1.28.0"
			 " without DWARF (known: go1.21 to go1.27); use an"
			 " unstripped executable");
	gh_error_free(err);
}
END_TEST

static const char *fixture_name(const struct fixture *fx, char *buf,
				size_t len)
{
	snprintf(buf, len, "%s/%s", fx->toolchain ? fx->toolchain : "local",
		 variant_names[fx->variant]);
	return buf;
}

int main(void)
{
	char base[900];
	const char *bd = getenv("GOHEAP_BUILDDIR");
	Suite *s = suite_create("rt");
	size_t n_core = 0, n_layout = 0, n_skip = 0;
	bool have_go = find_go();
	bool corrupt_added = false;

	snprintf(base, sizeof(base), "%s/tests/unit/rt-fixtures",
		 bd ? bd : ".");
	TCase *tc = tcase_create("table");
	tcase_add_test(tc, test_layout_table_unknown_release);
	suite_add_tcase(s, tc);

	for (size_t i = 0; i < GH_ARRAY_SIZE(fixtures); i++) {
		struct fixture *fx = &fixtures[i];
		/* Check keeps the name pointer: one buffer per fixture. */
		static char names[GH_ARRAY_SIZE(fixtures)][2400];
		char *name = names[i], label[256];

		fixture_name(fx, label, sizeof(label));
		if (!have_go) {
			snprintf(fx->skip, sizeof(fx->skip), "no go command"
				 " (set GO or PATH)");
		} else if (!prepare(fx, base) && !fx->skip[0]) {
			snprintf(fx->skip, sizeof(fx->skip), "could not"
				 " prepare the fixture in %s", fx->dir);
		}
		if (fx->skip[0]) {
			/* The TAP driver reads "# SKIP reason" in the name. */
			snprintf(name, sizeof(names[i]), "%s # SKIP %s", label,
				 fx->skip);
			skip_reasons[n_skip] = fx->skip;
			tc = tcase_create(name);
			tcase_add_loop_test(tc, test_skipped, (int)n_skip,
					    (int)n_skip + 1);
			n_skip++;
			suite_add_tcase(s, tc);
			continue;
		}
		snprintf(name, sizeof(names[i]), "%s", label);
		tc = tcase_create(name);
		tcase_set_timeout(tc, 120);
		if (fx->core) {
			core_fixtures[n_core] = fx;
			tcase_add_loop_test(tc, test_stripped_globals,
					    (int)n_core, (int)n_core + 1);
			tcase_add_loop_test(tc, test_pclntab_matches_addr2line,
					    (int)n_core, (int)n_core + 1);
			/* Corrupt tables: one non-PIE build is enough. */
			if (fx->variant == V_DEFAULT && !corrupt_added) {
				tcase_add_loop_test(tc, test_pclntab_bad_magic,
						    (int)n_core, (int)n_core + 1);
				tcase_add_loop_test(tc, test_pclntab_bad_nfunc,
						    (int)n_core, (int)n_core + 1);
				tcase_add_loop_test(tc, test_pclntab_bad_offsets,
						    (int)n_core, (int)n_core + 1);
				tcase_add_loop_test(tc, test_pclntab_unsorted_ftab,
						    (int)n_core, (int)n_core + 1);
				corrupt_added = true;
			}
			n_core++;
		}
		if (fx->variant != V_PIE && fx->variant != V_EXTPIE) {
			layout_fixtures[n_layout] = fx;
			tcase_add_loop_test(tc, test_layout_table_matches_dwarf,
					    (int)n_layout, (int)n_layout + 1);
			n_layout++;
		}
		suite_add_tcase(s, tc);
	}

	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
