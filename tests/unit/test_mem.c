/*
 * test_mem.c - core/mem on real cores and on synthetic ELF files.
 *
 * Real cores: this program runs itself with --crash (and --sleep for
 * gcore): the child fills gh_test_data with a pattern, starts a thread that
 * spins with a known value in the register Go keeps g in (r14 / x28) and
 * one that sleeps, then aborts.  main() makes those cores (and, when the
 * go command is there, cores of two Go builds) before the tests run; a
 * test whose core could not be made is skipped with the reason, or fails
 * when GOHEAP_TEST_STRICT is set.
 *
 * Synthetic cores and executables, written byte by byte below, cover what
 * a real core of this machine cannot: arm64 registers, other machines,
 * corrupt notes, PIE bias, Go build-ID notes, truncation at chosen points.
 */
#include <check.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/mem/gh_mem.h"

#define MAGIC_G 0x1122334455667788ull
#define DATA_BYTES 8192
#define ZERO_BYTES (4u << 20)

/* --- the crashing child ------------------------------------------------ */

__attribute__((used)) unsigned char gh_test_data[DATA_BYTES];
__attribute__((used)) const char gh_test_rodata[64] =
	"goheap test rodata: read from the executable";

static unsigned char pattern(size_t i)
{
	return (unsigned char)(i * 7 + 3);
}

/* Spins forever with MAGIC_G in the g register; sets *ready first. */
__attribute__((noinline, used)) void *gh_test_spin(void *ready)
{
#if defined(__x86_64__)
	__asm__ volatile("movabs $0x1122334455667788, %%r14\n\t"
			 "movl $1, (%0)\n"
			 "1:\tpause\n\t"
			 "jmp 1b"
			 : : "r"(ready) : "r14", "memory");
#elif defined(__aarch64__)
	__asm__ volatile("movz x28, #0x7788\n\t"
			 "movk x28, #0x5566, lsl #16\n\t"
			 "movk x28, #0x3344, lsl #32\n\t"
			 "movk x28, #0x1122, lsl #48\n\t"
			 "mov w9, #1\n\t"
			 "str w9, [%0]\n"
			 "1:\tyield\n\t"
			 "b 1b"
			 : : "r"(ready) : "x28", "x9", "memory");
#else
	*(volatile int *)ready = 1;
	for (;;)
		pause();
#endif
	return NULL;
}

static void *sleeper(void *arg)
{
	for (;;)
		pause();
	return arg;
}

static int child_main(const char *mode)
{
	static volatile int ready;
	pthread_t t1, t2;

	for (size_t i = 0; i < DATA_BYTES; i++)
		gh_test_data[i] = pattern(i);
	/* Written zeros: the core holds them, its compressed copies do not. */
	void *zeros = mmap(NULL, ZERO_BYTES, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (zeros == MAP_FAILED)
		return 1;
	memset(zeros, 0, ZERO_BYTES);
	pthread_create(&t1, NULL, sleeper, NULL);
	pthread_create(&t2, NULL, gh_test_spin, (void *)&ready);
	while (!ready)
		sched_yield();
	if (!strcmp(mode, "--sleep")) {
		if (write(STDOUT_FILENO, "r", 1) != 1)
			return 1;
		for (;;)
			pause();
	}
	abort();
}

/* --- fixtures ------------------------------------------------------------ */

static struct {
	char dir[PATH_MAX];
	char self[PATH_MAX];
	const char *skip_core;		/* why there is no real core */
	char core[PATH_MAX];
	pid_t core_pid;
	const char *skip_gone;
	char gone_core[PATH_MAX];
	char gone_exe[PATH_MAX];
	const char *skip_redeployed;	/* exe replaced while it ran */
	char redeployed_core[PATH_MAX];
	char redeployed_exe[PATH_MAX];
	const char *skip_go;
	char go_core[PATH_MAX];
	char go_exe[PATH_MAX], go_exe2[PATH_MAX];
	char go_id[256], go_id2[256];
} fx;

static void skip(const char *why)
{
	if (getenv("GOHEAP_TEST_STRICT"))
		ck_abort_msg("prerequisite missing: %s", why);
	fprintf(stderr, "# SKIP %s\n", why);
}

#define NEED(reason)				\
	do {					\
		if (reason) {			\
			skip(reason);		\
			return;			\
		}				\
	} while (0)

static char *path_in(const char *dir, const char *name)
{
	char *p;
	if (asprintf(&p, "%s/%s", dir, name) < 0)
		abort();
	return p;
}

static int run(const char *fmt, ...) GH_PRINTF(1, 2);
static int run(const char *fmt, ...)
{
	char *cmd;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&cmd, fmt, ap) < 0)
		abort();
	va_end(ap);
	int st = system(cmd);
	free(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static bool have_command(const char *name)
{
	return run("command -v %s >/dev/null 2>&1", name) == 0;
}

/* Run argv in dir with cores allowed; return the core's path. */
static const char *make_core(const char *dir, char *const argv[],
			     char *const envp_extra[], char *core_ret,
			     pid_t *pid_ret)
{
	static char why[PATH_MAX + 128];
	char pattern_buf[256] = "";
	int st;

	FILE *f = fopen("/proc/sys/kernel/core_pattern", "r");
	if (f) {
		if (!fgets(pattern_buf, sizeof(pattern_buf), f))
			pattern_buf[0] = '\0';
		fclose(f);
	}
	if (pattern_buf[0] == '|')
		return "core_pattern pipes cores to a program";
	pid_t pid = fork();
	if (pid < 0)
		return "fork failed";
	if (!pid) {
		struct rlimit rl;
		if (chdir(dir))
			_exit(127);
		getrlimit(RLIMIT_CORE, &rl);
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_CORE, &rl);
		for (size_t i = 0; envp_extra && envp_extra[i]; i++)
			putenv(envp_extra[i]);
		/* ASan turns cores off and would dump its shadow. */
		setenv("ASAN_OPTIONS", "disable_coredump=0:use_madv_dontdump=1"
		       ":detect_leaks=0", 1);
		int null = open("/dev/null", O_WRONLY);
		dup2(null, STDOUT_FILENO);
		dup2(null, STDERR_FILENO);
		execv(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) != pid)
		return "waitpid failed";
	if (!WIFSIGNALED(st) || !WCOREDUMP(st)) {
		snprintf(why, sizeof(why), "'%s' did not dump core (status 0x%x;"
			 " RLIMIT_CORE or core_pattern '%.*s')", argv[0], st,
			 (int)strcspn(pattern_buf, "\n"), pattern_buf);
		return why;
	}
	snprintf(core_ret, PATH_MAX, "%s/core", dir);
	if (access(core_ret, F_OK))
		snprintf(core_ret, PATH_MAX, "%s/core.%d", dir, (int)pid);
	if (access(core_ret, F_OK)) {
		snprintf(why, sizeof(why), "no core file in '%s' (core_pattern"
			 " '%.*s')", dir, (int)strcspn(pattern_buf, "\n"),
			 pattern_buf);
		return why;
	}
	*pid_ret = pid;
	return NULL;
}

static void copy_file(const char *src, const char *dst, off_t n)
{
	int in = open(src, O_RDONLY), out = open(dst, O_WRONLY | O_CREAT |
						  O_TRUNC, 0700);
	char buf[1 << 16];

	if (in < 0 || out < 0)
		abort();
	while (n) {
		ssize_t k = read(in, buf, n < (off_t)sizeof(buf) ?
				 (size_t)n : sizeof(buf));
		if (k <= 0)
			break;
		if (write(out, buf, (size_t)k) != k)
			abort();
		n -= k;
	}
	close(in);
	close(out);
}

static off_t file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) ? -1 : st.st_size;
}

static const char *go_command(void)
{
	static char go[PATH_MAX];
	FILE *p = popen("command -v go || ls /usr/local/go/bin/go 2>/dev/null",
			"r");

	if (!p)
		return NULL;
	if (!fgets(go, sizeof(go), p))
		go[0] = '\0';
	pclose(p);
	go[strcspn(go, "\n")] = '\0';
	return go[0] ? go : NULL;
}

static bool read_line_of(const char *cmd, char *buf, size_t n)
{
	FILE *p = popen(cmd, "r");
	bool ok;

	if (!p)
		return false;
	ok = fgets(buf, (int)n, p) != NULL;
	pclose(p);
	buf[strcspn(buf, "\n")] = '\0';
	return ok && buf[0];
}

static void make_go_cores(void)
{
	char *dir = path_in(fx.dir, "go");
	const char *go = go_command();

	mkdir(dir, 0700);
	if (!go) {
		fx.skip_go = "no go command";
		return;
	}
	const char *src =
		"package main\n"
		"var Global = [16]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,"
		" 13, 14, 15, %d}\n"
		"func main() { println(Global[0]); panic(\"goheap test\") }\n";
	for (int i = 0; i < 2; i++) {
		char *file = path_in(dir, i ? "b.go" : "a.go");
		FILE *f = fopen(file, "w");
		fprintf(f, src, 16 + i);
		fclose(f);
		char *exe = i ? fx.go_exe2 : fx.go_exe;
		snprintf(exe, PATH_MAX, "%s/%s", dir, i ? "prog2" : "prog");
		if (run("cd %s && GOTOOLCHAIN=local GOFLAGS= CGO_ENABLED=0 %s"
			" build -buildmode=pie -o %s %s >/dev/null 2>&1", dir,
			go, exe, file)) {
			fx.skip_go = "go build failed";
			free(file);
			return;
		}
		free(file);
		char cmd[PATH_MAX * 2 + 64];
		snprintf(cmd, sizeof(cmd), "%s tool buildid %s", go, exe);
		if (!read_line_of(cmd, i ? fx.go_id2 : fx.go_id, 256)) {
			fx.skip_go = "go tool buildid failed";
			return;
		}
	}
	char *argv[] = { fx.go_exe, NULL };
	char *env[] = { "GOTRACEBACK=crash", NULL };
	pid_t pid;
	fx.skip_go = make_core(dir, argv, env, fx.go_core, &pid);
	free(dir);
}

/* Start exe --sleep in dir with cores allowed; returns its pid. */
static pid_t start_sleeper(const char *dir, const char *exe)
{
	int fds[2];
	char c;

	if (pipe(fds))
		return -1;
	pid_t pid = fork();
	if (!pid) {
		struct rlimit rl;
		if (chdir(dir))
			_exit(127);
		getrlimit(RLIMIT_CORE, &rl);
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_CORE, &rl);
		setenv("ASAN_OPTIONS", "disable_coredump=0:use_madv_dontdump=1"
		       ":detect_leaks=0", 1);
		dup2(fds[1], STDOUT_FILENO);
		close(fds[0]);
		execl(exe, exe, "--sleep", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	if (pid < 0 || read(fds[0], &c, 1) != 1) {
		close(fds[0]);
		return -1;
	}
	close(fds[0]);
	return pid;
}

/* The executable is deleted and put back while it runs, then it dies. */
static void make_redeployed_core(void)
{
	char *dir = path_in(fx.dir, "redeployed");
	int st;

	mkdir(dir, 0700);
	snprintf(fx.redeployed_exe, PATH_MAX, "%s/prog", dir);
	copy_file(fx.self, fx.redeployed_exe, file_size(fx.self));
	pid_t pid = start_sleeper(dir, fx.redeployed_exe);
	if (pid < 0) {
		fx.skip_redeployed = "cannot start the sleeping child";
		return;
	}
	unlink(fx.redeployed_exe);
	copy_file(fx.self, fx.redeployed_exe, file_size(fx.self));
	kill(pid, SIGABRT);
	waitpid(pid, &st, 0);
	snprintf(fx.redeployed_core, PATH_MAX, "%s/core", dir);
	if (access(fx.redeployed_core, F_OK))
		snprintf(fx.redeployed_core, PATH_MAX, "%s/core.%d", dir,
			 (int)pid);
	if (!WIFSIGNALED(st) || !WCOREDUMP(st) ||
	    access(fx.redeployed_core, F_OK))
		fx.skip_redeployed = "the redeployed child dumped no core";
	free(dir);
}

static void make_fixtures(void)
{
	char *dir;
	pid_t pid;

	ssize_t n = readlink("/proc/self/exe", fx.self, sizeof(fx.self) - 1);
	if (n <= 0)
		abort();
	fx.self[n] = '\0';
	const char *tmp = getenv("TMPDIR");
	snprintf(fx.dir, sizeof(fx.dir), "%s/goheap-test-mem-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(fx.dir))
		abort();

	dir = path_in(fx.dir, "real");
	mkdir(dir, 0700);
	char *argv[] = { fx.self, "--crash", NULL };
	fx.skip_core = make_core(dir, argv, NULL, fx.core, &fx.core_pid);
	free(dir);

	/* A core whose executable is gone. */
	dir = path_in(fx.dir, "gone");
	mkdir(dir, 0700);
	snprintf(fx.gone_exe, sizeof(fx.gone_exe), "%s/prog", dir);
	copy_file(fx.self, fx.gone_exe, file_size(fx.self));
	char *argv2[] = { fx.gone_exe, "--crash", NULL };
	fx.skip_gone = make_core(dir, argv2, NULL, fx.gone_core, &pid);
	unlink(fx.gone_exe);
	free(dir);

	make_redeployed_core();
	make_go_cores();
}

/* --- helpers -------------------------------------------------------------- */

#define assert_err(err, want_code, ...)					\
	do {								\
		struct gh_error *e_ = (err);				\
		char *want_;						\
		ck_assert_msg(e_ != NULL, "expected an error");		\
		if (asprintf(&want_, __VA_ARGS__) < 0)			\
			abort();					\
		ck_assert_str_eq(e_->msg, want_);			\
		ck_assert_int_eq(e_->code, want_code);			\
		free(want_);						\
		gh_error_free(e_);					\
	} while (0)

#define assert_ok(err)							\
	do {								\
		struct gh_error *e_ = (err);				\
		ck_assert_msg(e_ == NULL, "unexpected error: %s",	\
			      e_ ? e_->msg : "");			\
	} while (0)

static struct gh_mem *open_ok(const char *core, const char *exe)
{
	struct gh_mem_open_opts o = { .exe_path = exe };
	struct gh_mem *mem = NULL;

	assert_ok(gh_mem_open(core, &o, &mem));
	return mem;
}

static struct gh_error *open_err(const char *core, const char *exe)
{
	struct gh_mem_open_opts o = { .exe_path = exe };
	struct gh_mem *mem = NULL;
	struct gh_error *err = gh_mem_open(core, &o, &mem);

	ck_assert_msg(err != NULL, "opening '%s' should fail", core);
	return err;
}

static const struct gh_mem_seg *seg_at(struct gh_mem *mem, uint64_t addr)
{
	for (size_t i = 0; i < gh_mem_n_segs(mem); i++) {
		const struct gh_mem_seg *s = gh_mem_seg(mem, i);
		if (addr >= s->start && addr - s->start < s->mem_bytes)
			return s;
	}
	return NULL;
}

static uint64_t symbol(struct gh_mem *mem, const char *name, uint64_t *size)
{
	uint64_t addr, sz;

	assert_ok(gh_mem_exe_symbol(mem, name, &addr, &sz));
	if (size)
		*size = sz;
	return addr;
}

static void check_data(struct gh_mem *mem)
{
	uint64_t size, addr = symbol(mem, "gh_test_data", &size);
	unsigned char *buf = malloc(DATA_BYTES);

	ck_assert_uint_eq(size, DATA_BYTES);
	assert_ok(gh_mem_read(mem, addr, buf, DATA_BYTES));
	for (size_t i = 0; i < DATA_BYTES; i++)
		ck_assert_uint_eq(buf[i], pattern(i));
	for (size_t i = 0; i + 8 <= DATA_BYTES; i += 8) {
		uint64_t v, want = 0;
		assert_ok(gh_mem_read_u64(mem, addr + i, &v));
		for (int k = 7; k >= 0; k--)
			want = want << 8 | pattern(i + (size_t)k);
		ck_assert_uint_eq(v, want);
	}
	free(buf);
	ck_assert(gh_mem_readable(mem, addr, DATA_BYTES));

	char ro[64];
	addr = symbol(mem, "gh_test_rodata", NULL);
	assert_ok(gh_mem_read(mem, addr, ro, sizeof(ro)));
	ck_assert_str_eq(ro, gh_test_rodata);
}

static void check_threads(struct gh_mem *mem, pid_t pid, bool abort_first)
{
	uint64_t spin_size, spin = symbol(mem, "gh_test_spin", &spin_size);
	size_t n_magic = 0;
	bool have_pid = false;

	ck_assert_uint_eq(gh_mem_n_threads(mem), 3);
	if (abort_first)
		ck_assert_int_eq(gh_mem_thread(mem, 0)->signal, SIGABRT);
	for (size_t i = 0; i < gh_mem_n_threads(mem); i++) {
		const struct gh_mem_thread *t = gh_mem_thread(mem, i);
		have_pid |= t->tid == pid;
		ck_assert_uint_eq(t->n_regs,
				  gh_mem_arch(mem) == GH_ARCH_AMD64 ? 27 : 34);
		ck_assert(gh_mem_readable(mem, t->sp, 8));
		if (t->g != MAGIC_G)
			continue;
		n_magic++;
		ck_assert_msg(t->pc >= spin && t->pc < spin + spin_size,
			      "pc 0x%" PRIx64 " outside gh_test_spin", t->pc);
	}
	ck_assert(have_pid);
#if defined(__x86_64__) || defined(__aarch64__)
	ck_assert_uint_eq(n_magic, 1);
#endif
}

/* --- real cores ---------------------------------------------------------- */

START_TEST(test_real_threads_and_data)
{
	NEED(fx.skip_core);
	struct gh_mem *mem = open_ok(fx.core, NULL);

#if defined(__x86_64__)
	ck_assert_int_eq(gh_mem_arch(mem), GH_ARCH_AMD64);
#endif
	ck_assert_str_eq(gh_mem_exe_path(mem), fx.self);
	ck_assert_str_eq(gh_mem_core_path(mem), fx.core);
	ck_assert_int_eq(gh_mem_pid(mem), fx.core_pid);
	ck_assert_uint_eq(gh_mem_core_bytes(mem), (uint64_t)file_size(fx.core));
	check_threads(mem, fx.core_pid, true);
	check_data(mem);
	gh_mem_close(mem);
}
END_TEST

START_TEST(test_real_segments)
{
	NEED(fx.skip_core);
	struct gh_mem *mem = open_ok(fx.core, fx.self);
	uint64_t prev_end = 0, core_bytes = gh_mem_core_bytes(mem);
	size_t n_exe = 0;

	ck_assert_uint_gt(gh_mem_n_segs(mem), 3);
	for (size_t i = 0; i < gh_mem_n_segs(mem); i++) {
		const struct gh_mem_seg *s = gh_mem_seg(mem, i);
		ck_assert_uint_ge(s->start, prev_end);
		ck_assert_uint_le(s->file_bytes, s->mem_bytes);
		ck_assert_uint_gt(s->mem_bytes, 0);
		if (s->src == GH_MEM_SRC_CORE)
			ck_assert_uint_le(s->file_off + s->file_bytes,
					  core_bytes);
		if (s->src == GH_MEM_SRC_EXE) {
			n_exe++;
			ck_assert(!(s->flags & GH_MEM_SEG_W));
		}
		prev_end = s->start + s->mem_bytes;
	}
	ck_assert_ptr_null(gh_mem_seg(mem, gh_mem_n_segs(mem)));
	/* The kernel leaves out text and rodata: the exe fills them in. */
	ck_assert_uint_gt(n_exe, 0);
	uint64_t ro = symbol(mem, "gh_test_rodata", NULL);
	ck_assert_int_eq(seg_at(mem, ro)->src, GH_MEM_SRC_EXE);
	uint64_t data = symbol(mem, "gh_test_data", NULL);
	ck_assert_int_eq(seg_at(mem, data)->src, GH_MEM_SRC_CORE);

	bool found = false;
	for (size_t i = 0; i < gh_mem_n_mappings(mem); i++)
		found |= !strcmp(gh_mem_mapping(mem, i)->path, fx.self);
	ck_assert(found);
	uint64_t entry;
	ck_assert(gh_mem_auxv(mem, AT_ENTRY, &entry));
	ck_assert(!gh_mem_auxv(mem, 0x7fffffff, &entry));
	gh_mem_close(mem);
}
END_TEST

START_TEST(test_real_faults)
{
	NEED(fx.skip_core);
	struct gh_mem *mem = open_ok(fx.core, NULL);
	struct gh_error *err;
	uint8_t buf[16];

	err = gh_mem_read(mem, 0x10, buf, 8);
	ck_assert(err && err->has_addr && err->addr == 0x10);
	assert_err(err, GH_ERR_FAULT, "address 0x10 is not mapped in the core");
	assert_err(gh_mem_read(mem, UINT64_MAX - 3, buf, 8), GH_ERR_FAULT,
		   "reading 8 bytes at 0xfffffffffffffffc wraps past the end"
		   " of the address space");
	ck_assert(!gh_mem_readable(mem, UINT64_MAX - 3, 8));
	ck_assert(!gh_mem_readable(mem, 0x10, 1));

	/* A mapping the kernel did not save (a library's text). */
	const struct gh_mem_seg *lost = NULL;
	for (size_t i = 0; i < gh_mem_n_segs(mem) && !lost; i++) {
		const struct gh_mem_seg *s = gh_mem_seg(mem, i);
		if (s->src == GH_MEM_SRC_CORE && s->file_bytes < s->mem_bytes &&
		    s->file_bytes)
			lost = s;
	}
	ck_assert_ptr_nonnull(lost);
	uint64_t a = lost->start + lost->file_bytes;
	err = gh_mem_read(mem, a - 1, buf, 2);	/* straddles the edge */
	ck_assert(err && err->addr == a);
	assert_err(err, GH_ERR_FAULT, "address 0x%" PRIx64 " was not saved in"
		   " the core (see coredump_filter)", a);
	assert_ok(gh_mem_read(mem, a - 1, buf, 1));
	ck_assert(gh_mem_readable(mem, a - 8, 8));
	ck_assert(!gh_mem_readable(mem, a - 8, 9));
	gh_mem_close(mem);
}
END_TEST

START_TEST(test_real_exe_info)
{
	NEED(fx.skip_core);
	struct gh_mem *mem = open_ok(fx.core, NULL);
	uint64_t addr, size;

	ck_assert(gh_mem_build_id_checked(mem));
	ck_assert_str_eq(gh_mem_exe_go_build_id(mem), "");
	ck_assert_uint_ge(strlen(gh_mem_exe_gnu_build_id(mem)), 16);
	assert_ok(gh_mem_exe_section(mem, ".text", &addr, &size));
	ck_assert_uint_gt(size, 0);
	ck_assert_int_eq(seg_at(mem, addr)->src, GH_MEM_SRC_EXE);
	uint64_t spin = symbol(mem, "gh_test_spin", NULL);
	ck_assert(spin >= addr && spin < addr + size);
	assert_err(gh_mem_exe_section(mem, ".nope", &addr, &size),
		   GH_ERR_NOT_FOUND, "executable '%s' has no section '.nope'",
		   fx.self);
	assert_err(gh_mem_exe_section(mem, ".comment", &addr, &size),
		   GH_ERR_NOT_FOUND, "section '.comment' of executable '%s'"
		   " is not loaded in memory", fx.self);
	assert_err(gh_mem_exe_symbol(mem, "gh_no_such_symbol", &addr, &size),
		   GH_ERR_NOT_FOUND, "executable '%s' has no symbol"
		   " 'gh_no_such_symbol'", fx.self);
	gh_mem_close(mem);
}
END_TEST

START_TEST(test_real_wrong_exe)
{
	NEED(fx.skip_core);
	const char *other = "/bin/sh";
	struct gh_mem_open_opts o = { .exe_path = other,
				      .no_build_id_check = true };
	struct gh_mem *mem;
	char core_id[128], other_id[128];

	if (access(other, R_OK)) {
		skip("no /bin/sh");
		return;
	}
	mem = open_ok(fx.core, NULL);
	snprintf(core_id, sizeof(core_id), "%s", gh_mem_exe_gnu_build_id(mem));
	gh_mem_close(mem);
	assert_ok(gh_mem_open(fx.core, &o, &mem));
	ck_assert(!gh_mem_build_id_checked(mem));
	snprintf(other_id, sizeof(other_id), "%s",
		 gh_mem_exe_gnu_build_id(mem));
	gh_mem_close(mem);
	if (!other_id[0]) {
		skip("/bin/sh has no GNU build ID");
		return;
	}
	assert_err(open_err(fx.core, other), GH_ERR_MISMATCH,
		   "core '%s' was not produced by executable '%s': GNU build"
		   " ID differs (core: %s, executable: %s)", fx.core, other,
		   core_id, other_id);
}
END_TEST

START_TEST(test_real_exe_gone)
{
	NEED(fx.skip_gone);
	assert_err(open_err(fx.gone_core, NULL), GH_ERR_NOT_FOUND,
		   "core '%s' names executable '%s', which does not exist:"
		   " pass the executable as the second argument",
		   fx.gone_core, fx.gone_exe);
	struct gh_mem *mem = open_ok(fx.gone_core, fx.self);
	check_data(mem);
	gh_mem_close(mem);
}
END_TEST

START_TEST(test_real_exe_redeployed)
{
	NEED(fx.skip_core);
	NEED(fx.skip_redeployed);
	struct gh_mem *mem = open_ok(fx.redeployed_core, NULL);
	char deleted[PATH_MAX + 16];
	bool found = false;

	ck_assert_str_eq(gh_mem_exe_path(mem), fx.redeployed_exe);
	snprintf(deleted, sizeof(deleted), "%s (deleted)", fx.redeployed_exe);
	for (size_t i = 0; i < gh_mem_n_mappings(mem); i++)
		found |= !strcmp(gh_mem_mapping(mem, i)->path, deleted);
	ck_assert(found);
	ck_assert(gh_mem_build_id_checked(mem));
	check_threads(mem, gh_mem_pid(mem), false);
	check_data(mem);
	gh_mem_close(mem);
}
END_TEST

START_TEST(test_real_not_cores)
{
	NEED(fx.skip_core);
	char *text = path_in(fx.dir, "text"), *empty = path_in(fx.dir, "empty");
	char *nope = path_in(fx.dir, "nope");
	FILE *f = fopen(text, "w");

	fputs("this is not a core\n", f);
	fclose(f);
	fclose(fopen(empty, "w"));
	assert_err(open_err(text, fx.self), GH_ERR_CORRUPT,
		   "'%s' is not an ELF file", text);
	assert_err(open_err(empty, fx.self), GH_ERR_CORRUPT,
		   "'%s' is empty, not a core dump", empty);
	assert_err(open_err(fx.self, NULL), GH_ERR_USAGE,
		   "'%s' is an ELF executable, not a core dump (the core comes"
		   " first, then the executable)", fx.self);
	assert_err(open_err(fx.dir, NULL), GH_ERR_USAGE, "'%s' is a directory",
		   fx.dir);
	struct gh_error *err = open_err(nope, NULL);
	ck_assert_int_eq(err->errnum, ENOENT);
	assert_err(err, GH_ERR_OS, "opening core '%s': No such file or"
		   " directory", nope);
	/* The executable slot, given a core or a text file. */
	assert_err(open_err(fx.core, fx.core), GH_ERR_USAGE, "'%s' is a core"
		   " dump, not an executable (the core comes first, then the"
		   " executable)", fx.core);
	assert_err(open_err(fx.core, text), GH_ERR_CORRUPT,
		   "'%s' is not an ELF file", text);
	assert_err(open_err(fx.core, nope), GH_ERR_OS,
		   "opening executable '%s': No such file or directory", nope);
	free(text);
	free(empty);
	free(nope);
}
END_TEST

/* The core's PT_NOTE offset and size, and its program header count. */
static void core_layout(const char *path, uint64_t *note_off,
			uint64_t *note_bytes, uint64_t *phnum)
{
	Elf64_Ehdr eh;
	Elf64_Phdr ph;
	int fd = open(path, O_RDONLY);

	ck_assert(pread(fd, &eh, sizeof(eh), 0) == sizeof(eh));
	*phnum = eh.e_phnum;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		ck_assert(pread(fd, &ph, sizeof(ph), (off_t)(eh.e_phoff +
			  i * sizeof(ph))) == sizeof(ph));
		if (ph.p_type == PT_NOTE) {
			*note_off = ph.p_offset;
			*note_bytes = ph.p_filesz;
		}
	}
	close(fd);
}

/* Every saved byte either reads as in the full core or faults. */
static void compare_with(struct gh_mem *full, struct gh_mem *cut,
			 bool must_equal)
{
	static uint8_t a[1 << 16], b[1 << 16];

	for (size_t i = 0; i < gh_mem_n_segs(full); i++) {
		const struct gh_mem_seg *s = gh_mem_seg(full, i);
		for (uint64_t off = 0; off < s->file_bytes; off += sizeof(a)) {
			size_t n = s->file_bytes - off < sizeof(a) ?
				   (size_t)(s->file_bytes - off) : sizeof(a);
			assert_ok(gh_mem_read(full, s->start + off, a, n));
			struct gh_error *err = gh_mem_read(cut, s->start + off,
							   b, n);
			if (err) {
				ck_assert(!must_equal);
				ck_assert_int_eq(err->code, GH_ERR_FAULT);
				gh_error_free(err);
				continue;
			}
			ck_assert(!memcmp(a, b, n));
		}
	}
}

START_TEST(test_real_truncated)
{
	NEED(fx.skip_core);
	struct gh_mem *full = open_ok(fx.core, fx.self);
	uint64_t note_off = 0, note_bytes = 0, phnum = 0;
	char *cut = path_in(fx.dir, "cut");
	off_t size = file_size(fx.core);

	core_layout(fx.core, &note_off, &note_bytes, &phnum);
	ck_assert_uint_gt(note_bytes, 0);

	/* Headers and notes must be whole. */
	copy_file(fx.core, cut, 3);
	assert_err(open_err(cut, fx.self), GH_ERR_CORRUPT,
		   "'%s' is not an ELF file", cut);
	copy_file(fx.core, cut, 10);
	assert_err(open_err(cut, fx.self), GH_ERR_CORRUPT, "'%s' is truncated:"
		   " its ELF header needs 64 bytes, the file has 10", cut);
	copy_file(fx.core, cut, 64 + 56);
	assert_err(open_err(cut, fx.self), GH_ERR_CORRUPT, "'%s' is truncated:"
		   " its %" PRIu64 " program headers at offset 0x40 end past"
		   " the end of the file (120 bytes)", cut, phnum);
	copy_file(fx.core, cut, (off_t)(note_off + note_bytes / 2));
	assert_err(open_err(cut, fx.self), GH_ERR_CORRUPT, "'%s' is truncated:"
		   " its notes at offset 0x%" PRIx64 " (%" PRIu64 " bytes) end"
		   " past the end of the file (%" PRIu64 " bytes)", cut,
		   note_off, note_bytes, note_off + note_bytes / 2);

	/* Cut in the middle of gh_test_data: the rest faults, never zeros. */
	uint64_t data = symbol(full, "gh_test_data", NULL);
	const struct gh_mem_seg *s = seg_at(full, data);
	uint64_t data_off = s->file_off + (data - s->start);
	copy_file(fx.core, cut, (off_t)(data_off + 100));
	struct gh_mem *mem = open_ok(cut, fx.self);
	uint8_t b;
	ck_assert_uint_eq(gh_mem_core_bytes(mem), data_off + 100);
	uint64_t need = 0;
	ck_assert(gh_mem_core_truncated(mem, &need));
	ck_assert_uint_eq(need, (uint64_t)size);
	ck_assert(!gh_mem_core_truncated(full, &need));
	assert_ok(gh_mem_read_u8(mem, data + 99, &b));
	ck_assert_uint_eq(b, pattern(99));
	assert_err(gh_mem_read_u8(mem, data + 100, &b), GH_ERR_FAULT,
		   "address 0x%" PRIx64 " was not saved in the core: '%s' is"
		   " truncated (%" PRIu64 " bytes)", data + 100, cut,
		   data_off + 100);
	ck_assert(!gh_mem_readable(mem, data, 101));
	compare_with(full, mem, false);
	gh_mem_close(mem);

	/* Many more cut points: none may crash or read wrong bytes. */
	uint64_t cuts[] = { note_off + note_bytes, note_off + note_bytes + 1,
			    (uint64_t)size / 10, (uint64_t)size / 3,
			    (uint64_t)size / 2, (uint64_t)size * 9 / 10,
			    (uint64_t)size - 1 };
	for (size_t i = 0; i < GH_ARRAY_SIZE(cuts); i++) {
		if (cuts[i] < note_off + note_bytes)
			continue;
		copy_file(fx.core, cut, (off_t)cuts[i]);
		mem = open_ok(cut, fx.self);
		compare_with(full, mem, false);
		gh_mem_close(mem);
	}
	gh_mem_close(full);
	free(cut);
}
END_TEST

static size_t cache_files(const char *dir, char *first, bool *tmp_left)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	*tmp_left = false;
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		if (strncmp(e->d_name, "goheap-", 7))
			continue;
		if (strstr(e->d_name, ".tmp-")) {
			*tmp_left = true;
			continue;
		}
		if (!n++)
			snprintf(first, PATH_MAX, "%s/%s", dir, e->d_name);
	}
	closedir(d);
	return n;
}

struct codec {
	const char *cmd, *ext, *name, *compress;
};

static const struct codec codecs[] = {
	{ "lz4", "lz4", "lz4", "lz4 -q -c %s > %s" },
	{ "zstd", "zst", "zstd", "zstd -q -c %s > %s" },
	{ "xz", "xz", "xz", "xz -1 -T1 -c %s > %s" },
};

START_TEST(test_real_compressed)
{
	const struct codec *c = &codecs[_i];
	NEED(fx.skip_core);
	if (!have_command(c->cmd)) {
		skip("compressor not installed");
		return;
	}
	char *name, *cache, *z;
	if (asprintf(&name, "core.%s", c->ext) < 0 ||
	    asprintf(&cache, "%s/cache-%s", fx.dir, c->ext) < 0)
		abort();
	z = path_in(fx.dir, name);
	ck_assert_int_eq(run(c->compress, fx.core, z), 0);

	struct gh_mem_open_opts o = { .exe_path = fx.self, .cache_dir = cache };
	struct gh_mem *full = open_ok(fx.core, fx.self), *mem;
	assert_ok(gh_mem_open(z, &o, &mem));
	ck_assert_str_eq(gh_mem_core_path(mem), z);
	ck_assert_uint_eq(gh_mem_core_bytes(mem), gh_mem_core_bytes(full));
	ck_assert_uint_eq(gh_mem_n_segs(mem), gh_mem_n_segs(full));
	ck_assert_uint_eq(gh_mem_n_threads(mem), 3);
	compare_with(full, mem, true);
	check_data(mem);
	gh_mem_close(mem);

	/* One complete, sparse cache file, reused by the next open. */
	char cached[PATH_MAX];
	bool tmp_left;
	struct stat st1, st2;
	ck_assert_uint_eq(cache_files(cache, cached, &tmp_left), 1);
	ck_assert(!tmp_left);
	ck_assert(!stat(cached, &st1));
	ck_assert_uint_eq((uint64_t)st1.st_size, gh_mem_core_bytes(full));
	ck_assert_msg((uint64_t)st1.st_blocks * 512 + ZERO_BYTES / 2 <
		      (uint64_t)st1.st_size, "cache file is not sparse: %lld"
		      " blocks for %lld bytes", (long long)st1.st_blocks,
		      (long long)st1.st_size);
	assert_ok(gh_mem_open(z, &o, &mem));
	gh_mem_close(mem);
	ck_assert(!stat(cached, &st2));
	ck_assert_uint_eq(st1.st_ino, st2.st_ino);
	ck_assert(st1.st_mtim.tv_sec == st2.st_mtim.tv_sec &&
		  st1.st_mtim.tv_nsec == st2.st_mtim.tv_nsec);

	/* Truncated stream: an error naming the file, and no cache left. */
	char *half = path_in(fx.dir, "half");
	free(cache);
	if (asprintf(&cache, "%s/cache-half-%s", fx.dir, c->ext) < 0)
		abort();
	o.cache_dir = cache;
	copy_file(z, half, file_size(z) / 2);
	struct gh_error *err = gh_mem_open(half, &o, &mem);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, GH_ERR_CORRUPT);
	char *want;
	if (asprintf(&want, "'%s' is a truncated %s stream", half, c->name) < 0)
		abort();
	ck_assert_str_eq(err->msg, want);
	free(want);
	gh_error_free(err);
	ck_assert_uint_eq(cache_files(cache, cached, &tmp_left), 0);
	ck_assert(!tmp_left);

	/* Garbage after the magic. */
	FILE *f = fopen(half, "w");
	fwrite(_i == 0 ? "\x04\x22\x4d\x18" : _i == 1 ? "\x28\xb5\x2f\xfd" :
	       "\xfd" "7zXZ\0", 1, _i == 2 ? 6 : 4, f);
	for (int k = 0; k < 4096; k++)
		fputc(k * 31 + 7, f);
	fclose(f);
	err = gh_mem_open(half, &o, &mem);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, GH_ERR_CORRUPT);
	if (asprintf(&want, "'%s' is not a valid %s stream: ", half,
		     c->name) < 0)
		abort();
	ck_assert_msg(!strncmp(err->msg, want, strlen(want)), "message: %s",
		      err->msg);
	free(want);
	gh_error_free(err);

	gh_mem_close(full);
	free(half);
	free(z);
	free(name);
	free(cache);
}
END_TEST

START_TEST(test_real_compressed_beside)
{
	NEED(fx.skip_core);
	if (!have_command("zstd")) {
		skip("zstd not installed");
		return;
	}
	char *dir = path_in(fx.dir, "beside"), *z, cached[PATH_MAX];
	bool tmp_left;

	mkdir(dir, 0700);
	z = path_in(dir, "core.zst");
	ck_assert_int_eq(run("zstd -q -c %s > %s", fx.core, z), 0);
	struct gh_mem *mem = open_ok(z, fx.self);
	check_data(mem);
	gh_mem_close(mem);
	ck_assert_uint_eq(cache_files(dir, cached, &tmp_left), 1);
	ck_assert(!tmp_left);
	free(z);
	free(dir);
}
END_TEST

/* gcc and clang define these for -fsanitize=address builds. */
#if defined(__SANITIZE_ADDRESS__)
#define GH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GH_ASAN 1
#endif
#endif

#ifndef GH_ASAN
START_TEST(test_gcore)
{
	NEED(fx.skip_core);
	if (!have_command("gcore")) {
		skip("gcore not installed");
		return;
	}
	char *dir = path_in(fx.dir, "gcore"), *prefix;

	mkdir(dir, 0700);
	prefix = path_in(dir, "gc");
	pid_t pid = start_sleeper(dir, fx.self);
	ck_assert_int_gt(pid, 0);
	int rc = run("gcore -o %s %d >/dev/null 2>&1", prefix, (int)pid);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	if (rc) {
		skip("gcore failed (ptrace not allowed?)");
		return;
	}
	char core[PATH_MAX + 32];
	snprintf(core, sizeof(core), "%s.%d", prefix, (int)pid);
	struct gh_mem *mem = open_ok(core, NULL);
	ck_assert_str_eq(gh_mem_exe_path(mem), fx.self);
	ck_assert_int_eq(gh_mem_pid(mem), pid);
	check_threads(mem, pid, false);
	check_data(mem);
	gh_mem_close(mem);
	unlink(core);
	free(prefix);
	free(dir);
}
END_TEST
#endif

START_TEST(test_go_core)
{
	NEED(fx.skip_go);
	struct gh_mem *mem = open_ok(fx.go_core, NULL);
	uint64_t size, addr;
	uint8_t g[16];

	ck_assert_str_eq(gh_mem_exe_path(mem), fx.go_exe);
	ck_assert(gh_mem_build_id_checked(mem));
	ck_assert_str_eq(gh_mem_exe_go_build_id(mem), fx.go_id);
	ck_assert_uint_ne(gh_mem_load_bias(mem), 0);	/* PIE */
	addr = symbol(mem, "main.Global", &size);
	ck_assert_uint_eq(size, 16);
	assert_ok(gh_mem_read(mem, addr, g, 16));
	for (int i = 0; i < 16; i++)
		ck_assert_uint_eq(g[i], i + 1);
	assert_ok(gh_mem_exe_section(mem, ".gopclntab", &addr, &size));
	ck_assert(gh_mem_readable(mem, addr, size));
	ck_assert_uint_ge(gh_mem_n_threads(mem), 1);
	gh_mem_close(mem);

	assert_err(open_err(fx.go_core, fx.go_exe2), GH_ERR_MISMATCH,
		   "core '%s' was not produced by executable '%s': Go build"
		   " ID differs (core: %s, executable: %s)", fx.go_core,
		   fx.go_exe2, fx.go_id, fx.go_id2);
}
END_TEST

/* --- synthetic ELF files -------------------------------------------------- */

struct sx_load {
	uint64_t vaddr, mem_bytes;
	uint32_t flags;
	const void *data;
	size_t n;
	bool set_file_bytes;	/* write file_bytes instead of n */
	uint64_t file_bytes;
	uint64_t off;		/* out: where sx_write put the bytes */
};

struct sx_sym {
	const char *name;
	uint64_t value, size;
};

struct sx {
	uint16_t type, machine;
	uint8_t cls, order;
	uint64_t entry;
	bool xnum;		/* e_phnum = PN_XNUM, count in section 0 */
	uint8_t notes[1 << 14];
	size_t notes_n;
	bool no_notes;
	struct sx_load loads[8];
	size_t n_loads;
	/* Executables only: a .text section over load 0, a Go build-ID
	 * note section at go_note_addr, and a symbol table. */
	const char *go_id;
	uint64_t go_note_addr;
	struct sx_sym syms[4];
	size_t n_syms;
	uint64_t note_off;	/* out: file offset of the notes */
};

static void sx_init(struct sx *x, uint16_t type, uint16_t machine)
{
	memset(x, 0, sizeof(*x));
	x->type = type;
	x->machine = machine;
	x->cls = ELFCLASS64;
	x->order = ELFDATA2LSB;
}

static void sx_note(struct sx *x, const char *name, uint32_t type,
		    const void *desc, size_t n)
{
	uint32_t namesz = (uint32_t)strlen(name) + 1, descsz = (uint32_t)n;
	uint8_t *p = x->notes + x->notes_n;

	memcpy(p, &namesz, 4);
	memcpy(p + 4, &descsz, 4);
	memcpy(p + 8, &type, 4);
	memset(p + 12, 0, ((namesz + 3) & ~3u) + ((n + 3) & ~3u));
	memcpy(p + 12, name, namesz);
	memcpy(p + 12 + ((namesz + 3) & ~3u), desc, n);
	x->notes_n += 12 + ((namesz + 3) & ~3u) + ((n + 3) & ~3u);
}

static void sx_load(struct sx *x, uint64_t vaddr, const void *data, size_t n,
		    uint64_t mem_bytes, uint32_t flags)
{
	x->loads[x->n_loads++] = (struct sx_load){
		.vaddr = vaddr, .data = data, .n = n,
		.mem_bytes = mem_bytes, .flags = flags,
	};
}

/* A Go build-ID note's bytes (name "Go\0\0", type 4). */
static size_t go_note(uint8_t *buf, const char *id)
{
	uint32_t h[3] = { 4, (uint32_t)strlen(id), 4 };
	size_t desc = (strlen(id) + 3) & ~(size_t)3;

	memcpy(buf, h, 12);
	memcpy(buf + 12, "Go\0\0", 4);
	memset(buf + 16, 0, desc);
	memcpy(buf + 16, id, strlen(id));
	return 16 + desc;
}

struct blob {
	uint8_t *p;
	size_t n;
};

static size_t blob_put(struct blob *b, const void *p, size_t n, size_t align)
{
	size_t off = (b->n + align - 1) & ~(align - 1);
	b->p = realloc(b->p, off + n);
	memset(b->p + b->n, 0, off - b->n);
	if (n)
		memcpy(b->p + off, p, n);
	b->n = off + n;
	return off;
}

static void sx_write(struct sx *x, const char *path)
{
	struct blob b = {0};
	Elf64_Ehdr eh = {0};
	size_t n_ph = x->n_loads + (x->no_notes ? 0 : 1);
	Elf64_Phdr ph[9] = {{0}};

	blob_put(&b, &eh, sizeof(eh), 1);
	size_t phoff = blob_put(&b, ph, n_ph * sizeof(Elf64_Phdr), 8);
	size_t k = 0;
	if (!x->no_notes) {
		x->note_off = blob_put(&b, x->notes, x->notes_n, 4);
		ph[k++] = (Elf64_Phdr){ .p_type = PT_NOTE,
			.p_offset = x->note_off, .p_filesz = x->notes_n,
			.p_align = 4 };
	}
	for (size_t i = 0; i < x->n_loads; i++) {
		const struct sx_load *l = &x->loads[i];
		size_t off = blob_put(&b, l->data, l->n, 16);
		x->loads[i].off = off;
		ph[k++] = (Elf64_Phdr){ .p_type = PT_LOAD,
			.p_flags = l->flags, .p_offset = off,
			.p_vaddr = l->vaddr,
			.p_filesz = l->set_file_bytes ? l->file_bytes : l->n,
			.p_memsz = l->mem_bytes, .p_align = 16 };
	}

	/* Sections: executables (and PN_XNUM cores, for section 0). */
	Elf64_Shdr sh[8] = {{0}};
	size_t n_sh = 0, shoff = 0;
	if (x->type != ET_CORE || x->xnum) {
		struct blob str = {0}, sym = {0}, shstr = {0};
		blob_put(&shstr, "", 1, 1);
		blob_put(&str, "", 1, 1);
		n_sh = 1;
		if (x->xnum)
			sh[0].sh_info = (uint32_t)n_ph;
		if (x->type != ET_CORE && x->n_loads) {
			const struct sx_load *l = &x->loads[0];
			sh[n_sh++] = (Elf64_Shdr){
				.sh_name = (uint32_t)blob_put(&shstr, ".text",
							      6, 1),
				.sh_type = SHT_PROGBITS,
				.sh_flags = SHF_ALLOC | SHF_EXECINSTR,
				.sh_addr = l->vaddr, .sh_offset = l->off,
				.sh_size = l->n, .sh_addralign = 16 };
		}
		if (x->go_id) {
			/* The note lies in load 0, as linkers put it. */
			uint8_t note[256];
			const struct sx_load *l = &x->loads[0];
			size_t n = go_note(note, x->go_id);
			sh[n_sh++] = (Elf64_Shdr){
				.sh_name = (uint32_t)blob_put(&shstr,
					".note.go.buildid", 17, 1),
				.sh_type = SHT_NOTE, .sh_flags = SHF_ALLOC,
				.sh_addr = x->go_note_addr,
				.sh_offset = l->off + (x->go_note_addr -
						       l->vaddr),
				.sh_size = n, .sh_addralign = 4 };
		}
		if (x->n_syms) {
			Elf64_Sym s0 = {0};
			blob_put(&sym, &s0, sizeof(s0), 1);
			for (size_t i = 0; i < x->n_syms; i++) {
				Elf64_Sym s = {
					.st_name = (uint32_t)blob_put(&str,
						x->syms[i].name,
						strlen(x->syms[i].name) + 1, 1),
					.st_info = ELF64_ST_INFO(STB_GLOBAL,
								 STT_OBJECT),
					.st_shndx = 1,
					.st_value = x->syms[i].value,
					.st_size = x->syms[i].size,
				};
				blob_put(&sym, &s, sizeof(s), 1);
			}
			size_t strndx = n_sh + 1;
			sh[n_sh++] = (Elf64_Shdr){
				.sh_name = (uint32_t)blob_put(&shstr, ".symtab",
							      8, 1),
				.sh_type = SHT_SYMTAB,
				.sh_offset = blob_put(&b, sym.p, sym.n, 8),
				.sh_size = sym.n, .sh_link = (uint32_t)strndx,
				.sh_info = 1, .sh_entsize = sizeof(Elf64_Sym),
				.sh_addralign = 8 };
			sh[n_sh++] = (Elf64_Shdr){
				.sh_name = (uint32_t)blob_put(&shstr, ".strtab",
							      8, 1),
				.sh_type = SHT_STRTAB,
				.sh_offset = blob_put(&b, str.p, str.n, 1),
				.sh_size = str.n, .sh_addralign = 1 };
		}
		size_t shstrndx = n_sh;
		sh[n_sh] = (Elf64_Shdr){
			.sh_name = (uint32_t)blob_put(&shstr, ".shstrtab", 10,
						      1),
			.sh_type = SHT_STRTAB, .sh_addralign = 1 };
		sh[n_sh].sh_offset = blob_put(&b, shstr.p, shstr.n, 1);
		sh[n_sh].sh_size = shstr.n;
		n_sh++;
		eh.e_shstrndx = x->type == ET_CORE ? 0 : (uint16_t)shstrndx;
		if (x->type == ET_CORE)
			n_sh = 1;
		shoff = blob_put(&b, sh, n_sh * sizeof(Elf64_Shdr), 8);
		free(str.p);
		free(sym.p);
		free(shstr.p);
	}

	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = x->cls;
	eh.e_ident[EI_DATA] = x->order;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_type = x->type;
	eh.e_machine = x->machine;
	eh.e_version = EV_CURRENT;
	eh.e_entry = x->entry;
	eh.e_phoff = phoff;
	eh.e_shoff = shoff;
	eh.e_ehsize = sizeof(eh);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = x->xnum ? PN_XNUM : (uint16_t)n_ph;
	eh.e_shentsize = sizeof(Elf64_Shdr);
	eh.e_shnum = (uint16_t)n_sh;
	if (x->order == ELFDATA2MSB) {
		eh.e_type = (uint16_t)(x->type << 8 | x->type >> 8);
	}
	memcpy(b.p, &eh, sizeof(eh));
	memcpy(b.p + phoff, ph, n_ph * sizeof(Elf64_Phdr));

	FILE *f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(b.p, 1, b.n, f), b.n);
	fclose(f);
	free(b.p);
}

static void sx_auxv(struct sx *x, uint64_t entry)
{
	uint64_t v[] = { AT_ENTRY, entry, AT_PAGESZ, 4096, AT_NULL, 0 };
	sx_note(x, "CORE", NT_AUXV, v, sizeof(v));
}

/* NT_FILE with one mapping of path over [start, end). */
static void sx_file(struct sx *x, uint64_t start, uint64_t end,
		    const char *path)
{
	uint8_t buf[1024];
	uint64_t h[5] = { 1, 4096, start, end, 0 };

	memcpy(buf, h, sizeof(h));
	strcpy((char *)buf + sizeof(h), path);
	sx_note(x, "CORE", NT_FILE, buf, sizeof(h) + strlen(path) + 1);
}

static void sx_prstatus(struct sx *x, size_t bytes, size_t n_regs,
			int32_t pid, int16_t sig)
{
	uint8_t buf[512] = {0};

	memcpy(buf + 12, &sig, 2);
	memcpy(buf + 32, &pid, 4);
	for (size_t i = 0; i < n_regs; i++) {
		uint64_t v = 0x1000 + i;
		memcpy(buf + 112 + i * 8, &v, 8);
	}
	sx_note(x, "CORE", NT_PRSTATUS, buf, bytes);
}

static char *sx_path(const char *name)
{
	return path_in(fx.dir, name);
}

static uint8_t text_bytes[4096];

/* A minimal executable: text at 0x400000 (or 0x1000 for a PIE). */
static char *sx_exe(const char *name, uint16_t machine, bool pie,
		    const char *go_id)
{
	struct sx x;
	char *path = sx_path(name);

	for (size_t i = 0; i < sizeof(text_bytes); i++)
		text_bytes[i] = (uint8_t)(i ^ 0x5a);
	sx_init(&x, pie ? ET_DYN : ET_EXEC, machine);
	x.no_notes = true;
	uint64_t base = pie ? 0x1000 : 0x400000;
	x.entry = base;
	sx_load(&x, base, text_bytes, sizeof(text_bytes), sizeof(text_bytes),
		PF_R | PF_X);
	x.syms[x.n_syms++] = (struct sx_sym){ "main.text", base + 16, 32 };
	if (go_id) {
		x.go_id = go_id;
		x.go_note_addr = base + 0x200;
		go_note(text_bytes + 0x200, go_id);
	}
	sx_write(&x, path);
	return path;
}

static uint8_t data_bytes[8192];

static void fill_data(void)
{
	for (size_t i = 0; i < sizeof(data_bytes); i++)
		data_bytes[i] = pattern(i + 1);
}

START_TEST(test_sx_arm64_threads)
{
	char *exe = sx_exe("arm64-exe", EM_AARCH64, false, NULL);
	char *core = sx_path("arm64-core");
	struct sx x;
	int32_t pid = 4242;
	uint8_t psinfo[136] = {0};

	fill_data();
	sx_init(&x, ET_CORE, EM_AARCH64);
	memcpy(psinfo + 24, &pid, 4);
	sx_note(&x, "CORE", NT_PRPSINFO, psinfo, sizeof(psinfo));
	sx_prstatus(&x, 392, 34, pid, SIGSEGV);
	sx_prstatus(&x, 392, 34, pid + 1, 0);
	sx_auxv(&x, 0x400000);
	sx_file(&x, 0x400000, 0x401000, exe);
	sx_load(&x, 0x400000, NULL, 0, 0x1000, PF_R | PF_X);
	sx_load(&x, 0x10000, data_bytes, sizeof(data_bytes),
		sizeof(data_bytes), PF_R | PF_W);
	sx_write(&x, core);

	struct gh_mem *mem = open_ok(core, NULL);
	ck_assert_int_eq(gh_mem_arch(mem), GH_ARCH_ARM64);
	ck_assert_str_eq(gh_mem_exe_path(mem), exe);
	ck_assert_int_eq(gh_mem_pid(mem), pid);
	ck_assert_uint_eq(gh_mem_n_threads(mem), 2);
	const struct gh_mem_thread *t = gh_mem_thread(mem, 0);
	ck_assert_int_eq(t->tid, pid);
	ck_assert_int_eq(t->signal, SIGSEGV);
	ck_assert_uint_eq(t->n_regs, 34);
	ck_assert_uint_eq(t->pc, 0x1000 + 32);
	ck_assert_uint_eq(t->sp, 0x1000 + 31);
	ck_assert_uint_eq(t->fp, 0x1000 + 29);
	ck_assert_uint_eq(t->lr, 0x1000 + 30);
	ck_assert_uint_eq(t->g, 0x1000 + 28);
	ck_assert_uint_eq(t->regs[0], 0x1000);
	ck_assert_uint_eq(t->regs[33], 0x1000 + 33);
	ck_assert_int_eq(gh_mem_thread(mem, 1)->tid, pid + 1);
	ck_assert_ptr_null(gh_mem_thread(mem, 2));
	ck_assert_uint_eq(gh_mem_n_mappings(mem), 1);
	ck_assert_uint_eq(gh_mem_mapping(mem, 0)->end, 0x401000);

	/* Text from the executable, data from the core. */
	uint8_t buf[sizeof(text_bytes)];
	assert_ok(gh_mem_read(mem, 0x400000, buf, sizeof(buf)));
	ck_assert(!memcmp(buf, text_bytes, sizeof(buf)));
	assert_err(gh_mem_read(mem, 0x400000 + sizeof(text_bytes), buf, 1),
		   GH_ERR_FAULT, "address 0x401000 is not mapped in the core");
	uint64_t addr = symbol(mem, "main.text", NULL);
	ck_assert_uint_eq(addr, 0x400010);
	uint16_t v16;
	uint32_t v32;
	assert_ok(gh_mem_read_u16(mem, 0x10000, &v16));
	ck_assert_uint_eq(v16, data_bytes[0] | data_bytes[1] << 8);
	assert_ok(gh_mem_read_u32(mem, 0x10000, &v32));
	ck_assert_uint_eq(v32, (uint32_t)data_bytes[0] | data_bytes[1] << 8 |
			  data_bytes[2] << 16 | (uint32_t)data_bytes[3] << 24);
	ck_assert(!gh_mem_build_id_checked(mem));
	gh_mem_close(mem);
	free(core);
	free(exe);
}
END_TEST

START_TEST(test_sx_amd64_regs_and_pie)
{
	char *exe = sx_exe("pie-exe", EM_X86_64, true, NULL);
	char *core = sx_path("pie-core");
	const uint64_t bias = 0x555500000000ull;
	struct sx x;

	fill_data();
	sx_init(&x, ET_CORE, EM_X86_64);
	sx_prstatus(&x, 336, 27, 77, SIGABRT);
	sx_auxv(&x, bias + 0x1000);
	sx_load(&x, 0x20000, data_bytes, sizeof(data_bytes),
		sizeof(data_bytes), PF_R | PF_W);
	sx_write(&x, core);

	struct gh_mem *mem = open_ok(core, exe);
	const struct gh_mem_thread *t = gh_mem_thread(mem, 0);
	ck_assert_int_eq(gh_mem_arch(mem), GH_ARCH_AMD64);
	ck_assert_uint_eq(t->n_regs, 27);
	ck_assert_uint_eq(t->pc, 0x1000 + 16);	/* rip */
	ck_assert_uint_eq(t->sp, 0x1000 + 19);	/* rsp */
	ck_assert_uint_eq(t->fp, 0x1000 + 4);	/* rbp */
	ck_assert_uint_eq(t->g, 0x1000 + 1);	/* r14 */
	ck_assert_uint_eq(t->lr, 0);
	ck_assert_int_eq(gh_mem_pid(mem), 0);	/* no NT_PRPSINFO */
	ck_assert_uint_eq(gh_mem_load_bias(mem), bias);
	ck_assert_uint_eq(symbol(mem, "main.text", NULL), bias + 0x1010);
	uint64_t addr, size;
	assert_ok(gh_mem_exe_section(mem, ".text", &addr, &size));
	ck_assert_uint_eq(addr, bias + 0x1000);
	ck_assert_uint_eq(size, sizeof(text_bytes));
	uint64_t v;
	assert_ok(gh_mem_read_u64(mem, bias + 0x1008, &v));
	ck_assert_uint_eq(v & 0xff, 8 ^ 0x5a);
	assert_ok(gh_mem_read_ptr(mem, 0x20000, &v));
	ck_assert_uint_eq(v & 0xff, data_bytes[0]);
	gh_mem_close(mem);
	free(core);
	free(exe);
}
END_TEST

START_TEST(test_sx_go_build_id)
{
	char *exe = sx_exe("go-exe", EM_X86_64, false, "exe/build/id");
	char *core = sx_path("go-core");
	struct sx x;
	uint8_t page[4096] = {0};

	/* The core saved the note's page, with another build's ID. */
	go_note(page + 0x200, "core/other/id");
	sx_init(&x, ET_CORE, EM_X86_64);
	sx_auxv(&x, 0x400000);
	sx_load(&x, 0x400000, page, sizeof(page), sizeof(page), PF_R | PF_X);
	sx_write(&x, core);
	assert_err(open_err(core, exe), GH_ERR_MISMATCH, "core '%s' was not"
		   " produced by executable '%s': Go build ID differs (core:"
		   " core/other/id, executable: exe/build/id)", core, exe);

	struct gh_mem_open_opts o = { .exe_path = exe,
				      .no_build_id_check = true };
	struct gh_mem *mem;
	assert_ok(gh_mem_open(core, &o, &mem));
	ck_assert(!gh_mem_build_id_checked(mem));
	ck_assert_str_eq(gh_mem_exe_go_build_id(mem), "exe/build/id");
	ck_assert_str_eq(gh_mem_exe_gnu_build_id(mem), "");
	gh_mem_close(mem);

	/* The same ID: checked, and it opens. */
	memset(page, 0, sizeof(page));
	go_note(page + 0x200, "exe/build/id");
	sx_write(&x, core);
	mem = open_ok(core, exe);
	ck_assert(gh_mem_build_id_checked(mem));
	gh_mem_close(mem);

	/* The core did not save the page: no check, but it opens. */
	sx_init(&x, ET_CORE, EM_X86_64);
	sx_auxv(&x, 0x400000);
	sx_load(&x, 0x400000, NULL, 0, sizeof(page), PF_R | PF_X);
	sx_write(&x, core);
	mem = open_ok(core, exe);
	ck_assert(!gh_mem_build_id_checked(mem));
	/* ...and the note's bytes come from the executable. */
	uint8_t name[4];
	assert_ok(gh_mem_read(mem, 0x400000 + 0x200 + 12, name, 4));
	ck_assert(!memcmp(name, "Go\0\0", 4));
	gh_mem_close(mem);
	free(core);
	free(exe);
}
END_TEST

/*
 * The wrong PIE: AT_ENTRY minus its entry point is a bias its segments
 * cannot load at.  The core's own program headers (at AT_PHDR, with
 * PT_PHDR and PT_NOTE) give the core's build ID, so the check names it.
 */
START_TEST(test_sx_wrong_pie)
{
	char *exe = sx_exe("wrong-pie-exe", EM_X86_64, true, "exe/id");
	char *core = sx_path("wrong-pie-core");
	const uint64_t base = 0x7000000, entry = 0xfffffffffffff800ull;
	uint8_t page[4096] = {0};
	Elf64_Phdr ph[2] = {
		{ .p_type = PT_PHDR, .p_vaddr = 0x40,
		  .p_filesz = sizeof(ph), .p_memsz = sizeof(ph) },
		{ .p_type = PT_NOTE, .p_vaddr = 0x200, .p_filesz = 24,
		  .p_memsz = 24 },
	};
	struct sx x;

	memcpy(page + 0x40, ph, sizeof(ph));
	go_note(page + 0x200, "core/id");
	sx_init(&x, ET_CORE, EM_X86_64);
	uint64_t v[] = { AT_PHDR, base + 0x40, AT_PHENT, sizeof(Elf64_Phdr),
			 AT_PHNUM, 2, AT_ENTRY, entry, AT_NULL, 0 };
	sx_note(&x, "CORE", NT_AUXV, v, sizeof(v));
	sx_load(&x, base, page, sizeof(page), sizeof(page), PF_R);
	sx_write(&x, core);
	assert_err(open_err(core, exe), GH_ERR_MISMATCH, "core '%s' was not"
		   " produced by executable '%s': Go build ID differs (core:"
		   " core/id, executable: exe/id)", core, exe);

	struct gh_mem_open_opts o = { .exe_path = exe,
				      .no_build_id_check = true };
	struct gh_mem *mem;
	assert_err(gh_mem_open(core, &o, &mem), GH_ERR_MISMATCH, "core '%s'"
		   " was not produced by executable '%s': its PT_LOAD 0 at"
		   " 0x1000 cannot load at bias 0x%" PRIx64, core, exe,
		   entry - 0x1000);
	free(core);
	free(exe);
}
END_TEST

START_TEST(test_sx_segments)
{
	char *exe = sx_exe("seg-exe", EM_X86_64, false, NULL);
	char *core = sx_path("seg-core");
	struct sx x;
	struct gh_mem *mem;
	uint8_t buf[64];

	fill_data();
	sx_init(&x, ET_CORE, EM_X86_64);
	/* Two adjacent loads, a partly saved one, and an overlap. */
	sx_load(&x, 0x10000, data_bytes, 4096, 4096, PF_R | PF_W);
	sx_load(&x, 0x11000, data_bytes + 4096, 4096, 4096, PF_R | PF_W);
	sx_load(&x, 0x20000, data_bytes, 100, 4096, PF_R);
	sx_load(&x, 0x11800, data_bytes, 4096, 4096, PF_R);
	/* Text: only the first 256 bytes saved; the exe gives the rest. */
	sx_load(&x, 0x400000, data_bytes, 256, 8192, PF_R | PF_X);
	sx_write(&x, core);
	mem = open_ok(core, exe);

	assert_ok(gh_mem_read(mem, 0x10ff0, buf, 32));
	ck_assert(!memcmp(buf, data_bytes + 4096 - 16, 32));
	assert_ok(gh_mem_read(mem, 0x11ff8, buf, 8));	/* the earlier wins */
	ck_assert(!memcmp(buf, data_bytes + 8192 - 8, 8));
	assert_ok(gh_mem_read(mem, 0x12000, buf, 8));	/* overlap's tail */
	ck_assert(!memcmp(buf, data_bytes + 0x800, 8));
	assert_ok(gh_mem_read(mem, 0x20000 + 92, buf, 8));
	ck_assert(!memcmp(buf, data_bytes + 92, 8));
	assert_err(gh_mem_read(mem, 0x20000 + 93, buf, 8), GH_ERR_FAULT,
		   "address 0x20064 was not saved in the core (see"
		   " coredump_filter)");
	assert_err(gh_mem_read(mem, 0x12800, buf, 1), GH_ERR_FAULT,
		   "address 0x12800 is not mapped in the core");

	/* Core bytes first, then the exe, then the unsaved rest. */
	assert_ok(gh_mem_read(mem, 0x400000, buf, 8));
	ck_assert(!memcmp(buf, data_bytes, 8));
	assert_ok(gh_mem_read(mem, 0x400000 + 256, buf, 8));
	ck_assert_uint_eq(buf[0], (uint8_t)(256 ^ 0x5a));
	ck_assert_int_eq(seg_at(mem, 0x400000 + 256)->src, GH_MEM_SRC_EXE);
	ck_assert_int_eq(seg_at(mem, 0x400000)->src, GH_MEM_SRC_CORE);
	assert_ok(gh_mem_read(mem, 0x400000 + 250, buf, 12));	/* straddles */
	ck_assert(!memcmp(buf, data_bytes + 250, 6));
	ck_assert_uint_eq(buf[6], (uint8_t)(256 ^ 0x5a));
	assert_err(gh_mem_read(mem, 0x401000, buf, 1), GH_ERR_FAULT,
		   "address 0x401000 was not saved in the core (see"
		   " coredump_filter)");
	const struct gh_mem_seg *s = seg_at(mem, 0x401000);
	ck_assert_int_eq(s->src, GH_MEM_SRC_CORE);
	ck_assert_uint_eq(s->start, 0x401000);
	ck_assert_uint_eq(s->start + s->mem_bytes, 0x402000);
	/* The partly saved load stays one segment. */
	s = seg_at(mem, 0x20000);
	ck_assert_uint_eq(s->file_bytes, 100);
	ck_assert_uint_eq(s->mem_bytes, 4096);
	assert_ok(gh_mem_read(mem, 0x20000, buf, 0));
	gh_mem_close(mem);

	/* The same core cut 100 bytes into its first load. */
	char *cut = sx_path("seg-core-cut");
	uint64_t at = x.loads[0].off + 100;
	copy_file(core, cut, (off_t)at);
	mem = open_ok(cut, exe);
	assert_ok(gh_mem_read(mem, 0x10000 + 96, buf, 4));
	ck_assert(!memcmp(buf, data_bytes + 96, 4));
	assert_err(gh_mem_read(mem, 0x10000 + 96, buf, 8), GH_ERR_FAULT,
		   "address 0x10064 was not saved in the core: '%s' is"
		   " truncated (%" PRIu64 " bytes)", cut, at);
	assert_err(gh_mem_read(mem, 0x20000, buf, 1), GH_ERR_FAULT,
		   "address 0x20000 was not saved in the core: '%s' is"
		   " truncated (%" PRIu64 " bytes)", cut, at);
	assert_err(gh_mem_read(mem, 0x20000 + 100, buf, 1), GH_ERR_FAULT,
		   "address 0x20064 was not saved in the core (see"
		   " coredump_filter)");
	/* The exe fills in the text the truncation took. */
	assert_ok(gh_mem_read(mem, 0x400000, buf, 8));
	ck_assert(!memcmp(buf, text_bytes, 8));
	gh_mem_close(mem);
	free(cut);
	free(core);
	free(exe);
}
END_TEST

START_TEST(test_sx_big_reads)
{
	char *exe = sx_exe("big-exe", EM_X86_64, false, NULL);
	char *core = sx_path("big-core");
	const size_t n = 12u << 20;	/* more than the cache holds */
	uint8_t *big = malloc(n), *buf = malloc(n);
	struct sx x;

	for (size_t i = 0; i < n; i++)
		big[i] = (uint8_t)(i * 2654435761u >> 13);
	sx_init(&x, ET_CORE, EM_X86_64);
	sx_load(&x, 0x7f0000000000ull, big, n, n, PF_R | PF_W);
	sx_write(&x, core);
	struct gh_mem *mem = open_ok(core, exe);
	assert_ok(gh_mem_read(mem, 0x7f0000000000ull, buf, n));
	ck_assert(!memcmp(buf, big, n));
	srand(1);
	for (int i = 0; i < 200000; i++) {
		size_t off = (size_t)rand() % (n - 16), len = 1 + rand() % 16;
		if (i % 1000 == 0)
			len = (size_t)rand() % (300 << 10);
		if (off + len > n)
			len = n - off;
		assert_ok(gh_mem_read(mem, 0x7f0000000000ull + off, buf, len));
		ck_assert(!memcmp(buf, big + off, len));
	}
	/* Sequential 8-byte reads: the fast path. */
	uint64_t sum = 0, want = 0, v;
	for (size_t off = 0; off < n; off += 8) {
		assert_ok(gh_mem_read_u64(mem, 0x7f0000000000ull + off, &v));
		sum += v;
		memcpy(&v, big + off, 8);
		want += v;
	}
	ck_assert_uint_eq(sum, want);
	gh_mem_close(mem);
	free(buf);
	free(big);
	free(core);
	free(exe);
}
END_TEST

START_TEST(test_sx_xnum)
{
	char *exe = sx_exe("xnum-exe", EM_X86_64, false, NULL);
	char *core = sx_path("xnum-core");
	struct sx x;
	uint8_t b;

	fill_data();
	sx_init(&x, ET_CORE, EM_X86_64);
	x.xnum = true;
	sx_load(&x, 0x10000, data_bytes, 16, 16, PF_R);
	sx_write(&x, core);
	struct gh_mem *mem = open_ok(core, exe);
	assert_ok(gh_mem_read_u8(mem, 0x1000f, &b));
	ck_assert_uint_eq(b, data_bytes[15]);
	gh_mem_close(mem);
	free(core);
	free(exe);
}
END_TEST

START_TEST(test_sx_bad_headers)
{
	char *exe = sx_exe("bad-exe", EM_X86_64, false, NULL);
	char *arm_exe = sx_exe("bad-arm-exe", EM_AARCH64, false, NULL);
	char *core = sx_path("bad-core");
	struct sx x;

	sx_init(&x, ET_CORE, EM_RISCV);
	sx_write(&x, core);
	assert_err(open_err(core, exe), GH_ERR_UNSUPPORTED, "'%s' is a core of"
		   " a riscv machine; goheap reads x86_64 and aarch64 cores",
		   core);
	sx_init(&x, ET_CORE, 0x1234);
	sx_write(&x, core);
	assert_err(open_err(core, exe), GH_ERR_UNSUPPORTED, "'%s' is a core of"
		   " machine 4660 (ELF e_machine); goheap reads x86_64 and"
		   " aarch64 cores", core);
	sx_init(&x, ET_CORE, EM_X86_64);
	x.cls = ELFCLASS32;
	sx_write(&x, core);
	assert_err(open_err(core, exe), GH_ERR_UNSUPPORTED, "'%s' is a 32-bit"
		   " core; goheap reads 64-bit cores only", core);
	/* An ELF32 header is 52 bytes: say 32-bit, not truncated. */
	char *cut = sx_path("bad-core-52");
	copy_file(core, cut, 52);
	assert_err(open_err(cut, exe), GH_ERR_UNSUPPORTED, "'%s' is a 32-bit"
		   " core; goheap reads 64-bit cores only", cut);
	copy_file(core, cut, 19);
	assert_err(open_err(cut, exe), GH_ERR_CORRUPT, "'%s' is truncated: its"
		   " ELF header needs 64 bytes, the file has 19", cut);
	free(cut);
	sx_init(&x, ET_CORE, EM_X86_64);
	x.order = ELFDATA2MSB;
	sx_write(&x, core);
	assert_err(open_err(core, exe), GH_ERR_UNSUPPORTED, "'%s' is a"
		   " big-endian core; goheap reads little-endian cores only",
		   core);
	assert_err(open_err(exe, exe), GH_ERR_USAGE, "'%s' is an ELF"
		   " executable, not a core dump (the core comes first, then"
		   " the executable)", exe);

	/* An aarch64 core with an x86_64 executable. */
	sx_init(&x, ET_CORE, EM_AARCH64);
	sx_load(&x, 0x10000, data_bytes, 16, 16, PF_R);
	sx_write(&x, core);
	assert_err(open_err(core, exe), GH_ERR_MISMATCH, "core '%s' was not"
		   " produced by executable '%s': the core is aarch64, the"
		   " executable x86_64", core, exe);
	struct gh_mem *mem = open_ok(core, arm_exe);
	gh_mem_close(mem);
	/* No executable given and no NT_FILE to name one. */
	assert_err(open_err(core, NULL), GH_ERR_NOT_FOUND, "core '%s' does not"
		   " name its executable (it has no NT_FILE note): pass the"
		   " executable as the second argument", core);

	/* Loads that make no sense. */
	sx_init(&x, ET_CORE, EM_X86_64);
	sx_load(&x, 0x10000, data_bytes, 64, 16, PF_R);
	sx_write(&x, core);
	assert_err(open_err(core, exe), GH_ERR_CORRUPT, "'%s': PT_LOAD 1 at"
		   " 0x10000 claims 64 bytes in the file but only 16 in"
		   " memory", core);
	sx_init(&x, ET_CORE, EM_X86_64);
	sx_load(&x, UINT64_MAX - 0xfff, NULL, 0, 0x2000, PF_R);
	sx_write(&x, core);
	assert_err(open_err(core, exe), GH_ERR_CORRUPT, "'%s': PT_LOAD 1 at"
		   " 0xfffffffffffff000 (8192 bytes) wraps past the end of the"
		   " address space", core);
	sx_init(&x, ET_CORE, EM_X86_64);
	x.no_notes = true;
	sx_write(&x, core);
	assert_err(open_err(core, exe), GH_ERR_CORRUPT, "'%s' has no program"
		   " headers, so no memory", core);
	free(core);
	free(arm_exe);
	free(exe);
}
END_TEST

START_TEST(test_sx_bad_notes)
{
	char *exe = sx_exe("notes-exe", EM_X86_64, false, NULL);
	char *core = sx_path("notes-core");
	struct sx x;
	uint8_t buf[256] = {0};
	uint64_t h[2];

	/* NT_FILE claiming far more entries than its bytes hold. */
	sx_init(&x, ET_CORE, EM_X86_64);
	h[0] = 1000000;
	h[1] = 4096;
	memcpy(buf, h, sizeof(h));
	sx_note(&x, "CORE", NT_FILE, buf, 200);
	sx_write(&x, core);
	assert_err(open_err(core, exe), GH_ERR_CORRUPT, "core note NT_FILE at"
		   " offset 0x%" PRIx64 ": claims 1000000 entries in 200 bytes",
		   x.note_off);

	/* NT_FILE whose path has no NUL. */
	sx_init(&x, ET_CORE, EM_X86_64);
	uint64_t one[5] = { 1, 4096, 0x1000, 0x2000, 0 };
	memcpy(buf, one, sizeof(one));
	memset(buf + sizeof(one), 'a', 8);
	sx_note(&x, "CORE", NT_FILE, buf, sizeof(one) + 8);
	sx_write(&x, core);
	assert_err(open_err(core, exe), GH_ERR_CORRUPT, "core note NT_FILE at"
		   " offset 0x%" PRIx64 ": the path of entry 0 is not"
		   " NUL-terminated", x.note_off);

	/* NT_FILE entry ending before it starts. */
	sx_init(&x, ET_CORE, EM_X86_64);
	uint64_t back[5] = { 1, 4096, 0x2000, 0x1000, 0 };
	memcpy(buf, back, sizeof(back));
	memcpy(buf + sizeof(back), "/x", 3);
	sx_note(&x, "CORE", NT_FILE, buf, sizeof(back) + 3);
	sx_write(&x, core);
	assert_err(open_err(core, exe), GH_ERR_CORRUPT, "core note NT_FILE at"
		   " offset 0x%" PRIx64 ": entry 0 ends (0x1000) before it"
		   " starts (0x2000)", x.note_off);

	/* NT_FILE too short for its own header. */
	sx_init(&x, ET_CORE, EM_X86_64);
	sx_note(&x, "CORE", NT_FILE, buf, 12);
	sx_write(&x, core);
	assert_err(open_err(core, exe), GH_ERR_CORRUPT, "core note NT_FILE at"
		   " offset 0x%" PRIx64 ": truncated: needs 8 bytes at byte 8,"
		   " has 4", x.note_off);

	/* A short prstatus. */
	sx_init(&x, ET_CORE, EM_X86_64);
	sx_prstatus(&x, 100, 0, 1, 0);
	sx_write(&x, core);
	assert_err(open_err(core, exe), GH_ERR_CORRUPT, "core note NT_PRSTATUS"
		   " at offset 0x%" PRIx64 ": 100 bytes, but an x86_64"
		   " prstatus needs 328", x.note_off);

	/* An auxv of a ragged size. */
	sx_init(&x, ET_CORE, EM_X86_64);
	sx_note(&x, "CORE", NT_AUXV, buf, 40);
	sx_write(&x, core);
	assert_err(open_err(core, exe), GH_ERR_CORRUPT, "core note NT_AUXV at"
		   " offset 0x%" PRIx64 ": 40 bytes is not a whole number of"
		   " 16-byte entries", x.note_off);

	/* A note whose data runs past the notes. */
	sx_init(&x, ET_CORE, EM_X86_64);
	sx_note(&x, "CORE", NT_AUXV, buf, 16);
	uint32_t big = 0x7fffffff;
	memcpy(x.notes + 4, &big, 4);
	sx_write(&x, core);
	assert_err(open_err(core, exe), GH_ERR_CORRUPT, "core note at offset"
		   " 0x%" PRIx64 ": 2147483647 bytes of data run past the end"
		   " of the notes (16 bytes left)", x.note_off);
	memcpy(x.notes, &big, 4);	/* now the name */
	sx_write(&x, core);
	assert_err(open_err(core, exe), GH_ERR_CORRUPT, "core note at offset"
		   " 0x%" PRIx64 ": name of 2147483647 bytes runs past the end"
		   " of the notes", x.note_off);
	x.notes_n = 7;
	sx_write(&x, core);
	assert_err(open_err(core, exe), GH_ERR_CORRUPT, "core note at offset"
		   " 0x%" PRIx64 ": truncated header (7 bytes)", x.note_off);

	/* Notes of other owners and types are skipped. */
	sx_init(&x, ET_CORE, EM_X86_64);
	sx_note(&x, "LINUX", NT_PRSTATUS, buf, 3);
	sx_note(&x, "CORE", 0x4242, buf, 5);
	sx_prstatus(&x, 336, 27, 9, 0);
	sx_write(&x, core);
	struct gh_mem *mem = open_ok(core, exe);
	ck_assert_uint_eq(gh_mem_n_threads(mem), 1);
	gh_mem_close(mem);

	/* The executable named by NT_FILE does not exist. */
	sx_init(&x, ET_CORE, EM_X86_64);
	sx_auxv(&x, 0x400100);
	sx_file(&x, 0x400000, 0x401000, "/nonexistent/goheap/prog");
	sx_write(&x, core);
	assert_err(open_err(core, NULL), GH_ERR_NOT_FOUND, "core '%s' names"
		   " executable '/nonexistent/goheap/prog', which does not"
		   " exist: pass the executable as the second argument", core);
	free(core);
	free(exe);
}
END_TEST

int main(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--crash") ||
			 !strcmp(argv[1], "--sleep")))
		return child_main(argv[1]);

	make_fixtures();

	Suite *s = suite_create("mem");
	TCase *real = tcase_create("real");
	tcase_set_timeout(real, 120);
	tcase_add_test(real, test_real_threads_and_data);
	tcase_add_test(real, test_real_segments);
	tcase_add_test(real, test_real_faults);
	tcase_add_test(real, test_real_exe_info);
	tcase_add_test(real, test_real_wrong_exe);
	tcase_add_test(real, test_real_exe_gone);
	tcase_add_test(real, test_real_exe_redeployed);
	tcase_add_test(real, test_real_not_cores);
	tcase_add_test(real, test_real_truncated);
	tcase_add_loop_test(real, test_real_compressed, 0,
			    (int)GH_ARRAY_SIZE(codecs));
	tcase_add_test(real, test_real_compressed_beside);
#ifndef GH_ASAN
	/* Under ASan, gdb would write the shadow memory: tens of GB. */
	tcase_add_test(real, test_gcore);
#endif
	tcase_add_test(real, test_go_core);
	suite_add_tcase(s, real);

	TCase *sx = tcase_create("synthetic");
	tcase_set_timeout(sx, 60);
	tcase_add_test(sx, test_sx_arm64_threads);
	tcase_add_test(sx, test_sx_amd64_regs_and_pie);
	tcase_add_test(sx, test_sx_go_build_id);
	tcase_add_test(sx, test_sx_wrong_pie);
	tcase_add_test(sx, test_sx_segments);
	tcase_add_test(sx, test_sx_big_reads);
	tcase_add_test(sx, test_sx_xnum);
	tcase_add_test(sx, test_sx_bad_headers);
	tcase_add_test(sx, test_sx_bad_notes);
	suite_add_tcase(s, sx);

	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	if (!failed && !getenv("GOHEAP_TEST_KEEP"))
		run("rm -rf '%s'", fx.dir);
	else
		fprintf(stderr, "# test files kept in %s\n", fx.dir);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
