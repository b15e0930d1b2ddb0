/*
 * test_dwarf.c - dwarf/ against Go executables built at test time.
 *
 * main() writes a small Go program to a temporary folder and builds it with
 * every toolchain it can get (the machine's go, and GOTOOLCHAIN=go1.22 ...
 * go1.27 releases): with DWARF, stripped (-s -w), and with uncompressed
 * DWARF for the corruption tests.  The program prints its ground truth: the
 * offsets unsafe.Offsetof gives for its own types, the runtime type words
 * of its interfaces, and runtime.mspan's field offsets as go/types computes
 * them from the toolchain's own runtime source.  `go tool nm` gives the
 * addresses of globals.  Each toolchain is one TCase; one that cannot be
 * had is reported as a TAP SKIP with its reason (a failure under
 * GOHEAP_TEST_STRICT=1).  GOHEAP_TEST_KEEP=1 keeps the folder.
 */
#include <check.h>
#include <stdarg.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dwarf/gh_dwarf.h"
#include "dwarf/dwarf_internal.h"

static const char fixture_go[] =
"package main\n"
"\n"
"import (\n"
"	\"fmt\"\n"
"	\"go/importer\"\n"
"	\"go/token\"\n"
"	\"go/types\"\n"
"	\"os\"\n"
"	\"runtime\"\n"
"	\"unsafe\"\n"
")\n"
"\n"
"type Item struct {\n"
"	ID   int64\n"
"	Name string\n"
"	Next *Item\n"
"	Tags []string\n"
"	Vals [3]uint16\n"
"	M    map[string]int\n"
"	Ch   chan *Item\n"
"}\n"
"\n"
"type Pair struct {\n"
"	A uint8\n"
"	B uint64\n"
"	C [0]int32\n"
"	D *Pair\n"
"}\n"
"\n"
"const Answer = -42\n"
"const Big int64 = 1 << 40\n"
"\n"
"var Global = &Item{ID: 1, Name: \"x\"}\n"
"var Table [4]Pair\n"
"var Counter uint64 = 7\n"
"\n"
"func eface(e any) uintptr { return (*[2]uintptr)(unsafe.Pointer(&e))[0] }\n"
"\n"
"// runtime.mspan as the toolchain's type checker lays it out.\n"
"func mspan() {\n"
"	pkg, err := importer.ForCompiler(token.NewFileSet(), \"source\", nil).Import(\"runtime\")\n"
"	if err != nil {\n"
"		fmt.Fprintln(os.Stderr, \"type-checking runtime:\", err)\n"
"		os.Exit(1)\n"
"	}\n"
"	st := pkg.Scope().Lookup(\"mspan\").Type().Underlying().(*types.Struct)\n"
"	sizes := types.SizesFor(\"gc\", runtime.GOARCH)\n"
"	var fs []*types.Var\n"
"	for i := 0; i < st.NumFields(); i++ {\n"
"		fs = append(fs, st.Field(i))\n"
"	}\n"
"	offs := sizes.Offsetsof(fs)\n"
"	for i, f := range fs {\n"
"		if f.Name() != \"_\" {\n"
"			fmt.Printf(\"offset runtime.mspan %s %d\\n\", f.Name(), offs[i])\n"
"		}\n"
"	}\n"
"	fmt.Printf(\"size runtime.mspan - %d\\n\", sizes.Sizeof(st))\n"
"}\n"
"\n"
"func main() {\n"
"	var it Item\n"
"	var p Pair\n"
"	Table[1].B = Counter\n"
"	fmt.Printf(\"offset main.Item ID %d\\n\", unsafe.Offsetof(it.ID))\n"
"	fmt.Printf(\"offset main.Item Name %d\\n\", unsafe.Offsetof(it.Name))\n"
"	fmt.Printf(\"offset main.Item Next %d\\n\", unsafe.Offsetof(it.Next))\n"
"	fmt.Printf(\"offset main.Item Tags %d\\n\", unsafe.Offsetof(it.Tags))\n"
"	fmt.Printf(\"offset main.Item Vals %d\\n\", unsafe.Offsetof(it.Vals))\n"
"	fmt.Printf(\"offset main.Item M %d\\n\", unsafe.Offsetof(it.M))\n"
"	fmt.Printf(\"offset main.Item Ch %d\\n\", unsafe.Offsetof(it.Ch))\n"
"	fmt.Printf(\"size main.Item - %d\\n\", unsafe.Sizeof(it))\n"
"	fmt.Printf(\"offset main.Pair A %d\\n\", unsafe.Offsetof(p.A))\n"
"	fmt.Printf(\"offset main.Pair B %d\\n\", unsafe.Offsetof(p.B))\n"
"	fmt.Printf(\"offset main.Pair C %d\\n\", unsafe.Offsetof(p.C))\n"
"	fmt.Printf(\"offset main.Pair D %d\\n\", unsafe.Offsetof(p.D))\n"
"	fmt.Printf(\"size main.Pair - %d\\n\", unsafe.Sizeof(p))\n"
"	fmt.Printf(\"rtype main.Item - %d\\n\", eface(it))\n"
"	fmt.Printf(\"rtype *main.Item - %d\\n\", eface(Global))\n"
"	fmt.Printf(\"rtype main.Pair - %d\\n\", eface(p))\n"
"	fmt.Printf(\"value main.Table - %d\\n\", Table[1].B+uint64(len(Global.Name)))\n"
"	mspan()\n"
"}\n";

/* Builds one toolchain's binaries; exit 3: that toolchain cannot be had. */
static const char build_sh[] =
"tc=$1; out=$PWD/$tc\n"
"mkdir -p \"$out\" || exit 1\n"
"if ! command -v go >/dev/null; then\n"
"	echo 'go is not in PATH' >&2; exit 3\n"
"fi\n"
"export GOTOOLCHAIN=$tc CGO_ENABLED=0 GOFLAGS= GOWORK=off\n"
"root=$(go env GOROOT) || exit 3\n"
"set -e\n"
"go version >\"$out/version\"\n"
"go build -o \"$out/exe\" .\n"
"go build -ldflags='-s -w' -o \"$out/stripped\" .\n"
"go build -ldflags=-compressdwarf=false -o \"$out/raw\" .\n"
"GOROOT=$root \"$out/exe\" >\"$out/facts\"\n"
"go tool nm \"$out/exe\" >\"$out/nm\"\n";

static const char *const toolchains[] = {
	"local", "go1.22.12", "go1.23.12", "go1.24.13", "go1.25.12", "go1.27.3",
};
enum { N_TC = GH_ARRAY_SIZE(toolchains) };

struct fact {
	char kind[16], type[64], field[64];
	uint64_t value;
};

struct fixture {
	bool ready;
	char why[600];		/* when not ready */
	char version[128];
	char exe[PATH_MAX], stripped[PATH_MAX], raw[PATH_MAX];
	struct fact facts[256];
	size_t n_facts;
	uint64_t nm_mheap, nm_global, nm_counter;
};

static char tmpdir[PATH_MAX];
static struct fixture fx[N_TC];
static bool strict;

/* snprintf that must fit (paths), and one that may cut (messages). */
GH_PRINTF(3, 4) static void xfmt(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size) {
		printf("Bail out! string too long: %s\n", buf);
		exit(EXIT_FAILURE);
	}
}

GH_PRINTF(3, 4) static void tfmt(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(buf, size, fmt, ap);
	va_end(ap);
}

/* --- setup, in the parent before any test forks ------------------------ */

static bool write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return false;
	bool ok = fputs(text, f) >= 0;
	return fclose(f) == 0 && ok;
}

static void read_first_lines(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;

	buf[0] = '\0';
	if (!f)
		return;
	n = fread(buf, 1, size - 1, f);
	buf[n] = '\0';
	fclose(f);
	for (char *p = buf; *p; p++)	/* one TAP line */
		if (*p == '\n' || *p == '#')
			*p = ' ';
}

static bool load_facts(struct fixture *f, const char *path)
{
	char line[256];
	FILE *in = fopen(path, "r");

	if (!in)
		return false;
	while (fgets(line, sizeof(line), in) && f->n_facts < GH_ARRAY_SIZE(f->facts)) {
		struct fact *x = &f->facts[f->n_facts];
		if (sscanf(line, "%15s %63s %63s %" SCNu64, x->kind, x->type,
			   x->field, &x->value) == 4)
			f->n_facts++;
	}
	fclose(in);
	return f->n_facts > 0;
}

static bool load_nm(struct fixture *f, const char *path)
{
	char line[512], name[400], kind;
	uint64_t addr;
	FILE *in = fopen(path, "r");

	if (!in)
		return false;
	while (fgets(line, sizeof(line), in)) {
		if (sscanf(line, "%" SCNx64 " %c %399s", &addr, &kind, name) != 3)
			continue;
		if (!strcmp(name, "runtime.mheap_"))
			f->nm_mheap = addr;
		else if (!strcmp(name, "main.Global"))
			f->nm_global = addr;
		else if (!strcmp(name, "main.Counter"))
			f->nm_counter = addr;
	}
	fclose(in);
	return f->nm_mheap && f->nm_global && f->nm_counter;
}

static void prepare(int i)
{
	struct fixture *f = &fx[i];
	const char *tc = toolchains[i];
	char path[PATH_MAX], status[16];
	int rc = -1;

	xfmt(path, sizeof(path), "%s/%s.status", tmpdir, tc);
	read_first_lines(path, status, sizeof(status));
	if (sscanf(status, "%d", &rc) != 1)
		rc = -1;
	xfmt(path, sizeof(path), "%s/%s.log", tmpdir, tc);
	if (rc) {
		char log[400];
		read_first_lines(path, log, sizeof(log));
		tfmt(f->why, sizeof(f->why), "%s %s: %s", rc == 3 ?
		     "toolchain not available" : "building the fixture failed",
		     tc, log);
		return;
	}
	xfmt(f->exe, sizeof(f->exe), "%s/%s/exe", tmpdir, tc);
	xfmt(f->stripped, sizeof(f->stripped), "%s/%s/stripped", tmpdir, tc);
	xfmt(f->raw, sizeof(f->raw), "%s/%s/raw", tmpdir, tc);
	xfmt(path, sizeof(path), "%s/%s/version", tmpdir, tc);
	read_first_lines(path, f->version, sizeof(f->version));
	char v[sizeof(f->version)];
	if (sscanf(f->version, "go version %127s", v) == 1)
		memcpy(f->version, v, sizeof(v));
	xfmt(path, sizeof(path), "%s/%s/facts", tmpdir, tc);
	if (!load_facts(f, path)) {
		tfmt(f->why, sizeof(f->why), "%s: the fixture printed nothing", tc);
		return;
	}
	xfmt(path, sizeof(path), "%s/%s/nm", tmpdir, tc);
	if (!load_nm(f, path)) {
		tfmt(f->why, sizeof(f->why), "%s: go tool nm lacks runtime.mheap_,"
			 " main.Global or main.Counter", tc);
		return;
	}
	f->ready = true;
}

static bool setup_all(void)
{
	const char *base = getenv("TMPDIR");
	char path[PATH_MAX];

	xfmt(tmpdir, sizeof(tmpdir), "%s/gh-test-dwarf-XXXXXX",
		 base && *base ? base : "/tmp");
	if (!mkdtemp(tmpdir))
		return false;
	xfmt(path, sizeof(path), "%s/main.go", tmpdir);
	if (!write_file(path, fixture_go))
		return false;
	xfmt(path, sizeof(path), "%s/go.mod", tmpdir);
	if (!write_file(path, "module example.com/ghdwarf\n\ngo 1.22\n"))
		return false;
	xfmt(path, sizeof(path), "%s/build.sh", tmpdir);
	if (!write_file(path, build_sh))
		return false;
	/* All toolchains at once: building is mostly waiting on the linker. */
	char cmd[PATH_MAX + 512];
	size_t len = 0;
	len += (size_t)snprintf(cmd, sizeof(cmd), "cd '%s' && for tc in", tmpdir);
	for (int i = 0; i < N_TC && len < sizeof(cmd); i++)
		len += (size_t)snprintf(cmd + len, sizeof(cmd) - len, " %s",
					toolchains[i]);
	xfmt(path, sizeof(path), "%s; do (sh build.sh $tc >$tc.log 2>&1;"
	     " echo $? >$tc.status) & done; wait", cmd);
	if (system(path) == -1)
		return false;
	for (int i = 0; i < N_TC; i++)
		prepare(i);
	return true;
}

static void cleanup_all(void)
{
	char cmd[PATH_MAX + 16];
	const char *keep = getenv("GOHEAP_TEST_KEEP");

	if (!tmpdir[0] || (keep && *keep && strcmp(keep, "0"))) {
		if (tmpdir[0])
			fprintf(stderr, "# kept %s\n", tmpdir);
		return;
	}
	xfmt(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "# could not remove %s\n", tmpdir);
}

/* --- helpers for tests -------------------------------------------------- */

/* NULL: this toolchain's tests are skipped (the TCase name says so). */
static const struct fixture *fixture(int i)
{
	const struct fixture *f = &fx[i];

	if (!f->ready && strict)
		ck_abort_msg("%s", f->why);
	return f->ready ? f : NULL;
}

static bool fact(const struct fixture *f, const char *kind, const char *type,
		 const char *field, uint64_t *ret)
{
	for (size_t i = 0; i < f->n_facts; i++) {
		const struct fact *x = &f->facts[i];
		if (!strcmp(x->kind, kind) && !strcmp(x->type, type) &&
		    !strcmp(x->field, field)) {
			*ret = x->value;
			return true;
		}
	}
	return false;
}

static uint64_t must_fact(const struct fixture *f, const char *kind,
			  const char *type, const char *field)
{
	uint64_t v = 0;
	ck_assert_msg(fact(f, kind, type, field, &v), "fixture printed no %s %s %s",
		      kind, type, field);
	return v;
}

static struct gh_dwarf *must_open(const char *path)
{
	struct gh_dwarf *dw = NULL;
	struct gh_error *err = gh_dwarf_open(path, &dw);

	ck_assert_msg(!err, "gh_dwarf_open(%s): %s", path, err ? err->msg : "");
	return dw;
}

static gh_dtype_id must_type(const struct gh_dwarf *dw, const char *name)
{
	gh_dtype_id id = GH_DTYPE_NONE;
	struct gh_error *err = gh_dwarf_find_type(dw, name, &id);

	ck_assert_msg(!err, "%s", err ? err->msg : "");
	ck_assert_str_eq(gh_dwarf_type(dw, id)->name, name);
	return id;
}

static const struct gh_dwarf_field *must_field(const struct gh_dwarf *dw,
					       gh_dtype_id type,
					       const char *name)
{
	const struct gh_dwarf_field *f = NULL;
	struct gh_error *err = gh_dwarf_find_field(dw, type, name, &f);

	ck_assert_msg(!err, "%s", err ? err->msg : "");
	ck_assert_str_eq(f->name, name);
	return f;
}

static const struct gh_dwarf_type *stripped_type(const struct gh_dwarf *dw,
						 gh_dtype_id id)
{
	gh_dtype_id real = GH_DTYPE_NONE;
	struct gh_error *err = gh_dwarf_strip_typedefs(dw, id, &real);

	ck_assert_msg(!err, "%s", err ? err->msg : "");
	return gh_dwarf_type(dw, real);
}

/* Every offset the fixture printed for type equals DWARF's. */
static void check_layout(const struct fixture *f, const struct gh_dwarf *dw,
			 const char *type)
{
	gh_dtype_id id = must_type(dw, type);
	const struct gh_dwarf_type *t = gh_dwarf_type(dw, id);
	size_t n = 0;

	ck_assert_int_eq(t->tag, GH_DWARF_STRUCT);
	ck_assert_uint_eq(t->go_kind, GH_GO_KIND_STRUCT);
	ck_assert_uint_eq(t->size, must_fact(f, "size", type, "-"));
	for (size_t i = 0; i < f->n_facts; i++) {
		const struct fact *x = &f->facts[i];
		if (strcmp(x->kind, "offset") || strcmp(x->type, type))
			continue;
		const struct gh_dwarf_field *fl = must_field(dw, id, x->field);
		ck_assert_msg(fl->offset == x->value, "%s.%s: DWARF says %" PRIu64
			      ", go says %" PRIu64, type, x->field, fl->offset,
			      x->value);
		n++;
	}
	ck_assert_msg(n >= 4, "only %zu offsets of %s", n, type);
}

/* --- tests against each toolchain's build -------------------------------- */

START_TEST(test_mspan_layout)
{
	const struct fixture *f = fixture(_i);
	if (!f)
		return;
	struct gh_dwarf *dw = must_open(f->exe);
	check_layout(f, dw, "runtime.mspan");
	gh_dtype_id span = must_type(dw, "runtime.mspan");
	static const char *const needed[] = {
		"startAddr", "npages", "allocBits", "elemsize",
	};
	for (size_t i = 0; i < GH_ARRAY_SIZE(needed); i++)
		ck_assert_uint_eq(must_field(dw, span, needed[i])->offset,
				  must_fact(f, "offset", "runtime.mspan", needed[i]));
	/* The field's type: *runtime.gcBits, a pointer. */
	const struct gh_dwarf_field *bits = must_field(dw, span, "allocBits");
	ck_assert_int_eq(stripped_type(dw, bits->type)->tag, GH_DWARF_POINTER);

	const struct gh_dwarf_field *fl;
	struct gh_error *err = gh_dwarf_find_field(dw, span, "noSuchField", &fl);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, GH_ERR_NOT_FOUND);
	ck_assert_str_eq(err->msg, "type 'runtime.mspan' has no field 'noSuchField'");
	gh_error_free(err);
	gh_dwarf_close(dw);
}
END_TEST

START_TEST(test_user_types)
{
	const struct fixture *f = fixture(_i);
	if (!f)
		return;
	struct gh_dwarf *dw = must_open(f->exe);
	check_layout(f, dw, "main.Item");
	check_layout(f, dw, "main.Pair");

	gh_dtype_id item = must_type(dw, "main.Item");
	const struct gh_dwarf_type *t;

	t = stripped_type(dw, must_field(dw, item, "Vals")->type);
	ck_assert_int_eq(t->tag, GH_DWARF_ARRAY);
	ck_assert_uint_eq(t->go_kind, GH_GO_KIND_ARRAY);
	ck_assert_uint_eq(t->count, 3);
	ck_assert_uint_eq(t->size, 6);
	ck_assert_str_eq(gh_dwarf_type(dw, t->elem)->name, "uint16");

	t = stripped_type(dw, must_field(dw, must_type(dw, "main.Pair"), "C")->type);
	ck_assert_int_eq(t->tag, GH_DWARF_ARRAY);
	ck_assert_uint_eq(t->count, 0);

	t = stripped_type(dw, must_field(dw, item, "Tags")->type);
	ck_assert_str_eq(t->name, "[]string");
	ck_assert_uint_eq(t->go_kind, GH_GO_KIND_SLICE);
	ck_assert_str_eq(gh_dwarf_type(dw, t->go_elem)->name, "string");

	/* Maps and channels are typedefs of pointers, with key/elem attached
	 * to the typedef (cmd/link/internal/ld/dwarf.go). */
	t = gh_dwarf_type(dw, must_field(dw, item, "M")->type);
	ck_assert_str_eq(t->name, "map[string]int");
	ck_assert_uint_eq(t->go_kind, GH_GO_KIND_MAP);
	ck_assert_str_eq(gh_dwarf_type(dw, t->go_key)->name, "string");
	ck_assert_str_eq(gh_dwarf_type(dw, t->go_elem)->name, "int");
	ck_assert_int_eq(stripped_type(dw, must_field(dw, item, "M")->type)->tag,
			 GH_DWARF_POINTER);

	t = gh_dwarf_type(dw, must_field(dw, item, "Ch")->type);
	ck_assert_str_eq(t->name, "chan *main.Item");
	ck_assert_uint_eq(t->go_kind, GH_GO_KIND_CHAN);
	ck_assert_str_eq(gh_dwarf_type(dw, t->go_elem)->name, "*main.Item");

	t = gh_dwarf_type(dw, must_field(dw, item, "Next")->type);
	ck_assert_int_eq(t->tag, GH_DWARF_POINTER);
	ck_assert_uint_eq(t->go_kind, GH_GO_KIND_PTR);
	gh_dtype_id next = GH_DTYPE_NONE;
	struct gh_error *err = gh_dwarf_strip_typedefs(dw, t->elem, &next);
	ck_assert_msg(!err, "%s", err ? err->msg : "");
	ck_assert_uint_eq(next, item);

	t = gh_dwarf_type(dw, must_type(dw, "string"));
	ck_assert_uint_eq(t->go_kind, GH_GO_KIND_STRING);
	ck_assert_uint_eq(t->size, 16);

	gh_dtype_id id;
	err = gh_dwarf_find_type(dw, "main.NoSuchType", &id);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, GH_ERR_NOT_FOUND);
	ck_assert_str_eq(err->msg, "type 'main.NoSuchType' not found in DWARF");
	gh_error_free(err);

	/* A field of a non-struct. */
	const struct gh_dwarf_field *fl;
	err = gh_dwarf_find_field(dw, must_type(dw, "uint16"), "x", &fl);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, GH_ERR_NOT_FOUND);
	ck_assert_str_eq(err->msg, "type 'uint16' is not a struct: no field 'x'");
	gh_error_free(err);
	gh_dwarf_close(dw);
}
END_TEST

START_TEST(test_constants)
{
	const struct fixture *f = fixture(_i);
	if (!f)
		return;
	struct gh_dwarf *dw = must_open(f->exe);
	static const struct {
		const char *name;
		int64_t value;
	} want[] = {
		{ "runtime.mSpanInUse", 1 },
		{ "runtime._Gwaiting", 4 },
		{ "runtime._Gscan", 0x1000 },
		{ "runtime.pageSize", 8192 },
		{ "main.Answer", -42 },
		{ "main.Big", INT64_C(1) << 40 },
	};
	for (size_t i = 0; i < GH_ARRAY_SIZE(want); i++) {
		int64_t v = 0;
		struct gh_error *err = gh_dwarf_find_constant(dw, want[i].name, &v);
		ck_assert_msg(!err, "%s", err ? err->msg : "");
		ck_assert_msg(v == want[i].value, "%s = %" PRId64 ", want %" PRId64,
			      want[i].name, v, want[i].value);
	}
	int64_t v;
	struct gh_error *err = gh_dwarf_find_constant(dw, "runtime.noSuchConst", &v);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, GH_ERR_NOT_FOUND);
	ck_assert_str_eq(err->msg, "constant 'runtime.noSuchConst' not found in DWARF");
	gh_error_free(err);
	gh_dwarf_close(dw);
}
END_TEST

START_TEST(test_globals)
{
	const struct fixture *f = fixture(_i);
	if (!f)
		return;
	struct gh_dwarf *dw = must_open(f->exe);
	const struct gh_dwarf_var *v = NULL;
	struct gh_error *err;

	err = gh_dwarf_find_global(dw, "runtime.mheap_", &v);
	ck_assert_msg(!err, "%s", err ? err->msg : "");
	ck_assert_uint_eq(v->addr, f->nm_mheap);
	ck_assert_str_eq(gh_dwarf_type(dw, v->type)->name, "runtime.mheap");

	err = gh_dwarf_find_global(dw, "main.Global", &v);
	ck_assert_msg(!err, "%s", err ? err->msg : "");
	ck_assert_uint_eq(v->addr, f->nm_global);
	ck_assert_str_eq(gh_dwarf_type(dw, v->type)->name, "*main.Item");

	err = gh_dwarf_find_global(dw, "main.Counter", &v);
	ck_assert_msg(!err, "%s", err ? err->msg : "");
	ck_assert_uint_eq(v->addr, f->nm_counter);

	err = gh_dwarf_find_global(dw, "main.Table", &v);
	ck_assert_msg(!err, "%s", err ? err->msg : "");
	const struct gh_dwarf_type *t = stripped_type(dw, v->type);
	ck_assert_int_eq(t->tag, GH_DWARF_ARRAY);
	ck_assert_uint_eq(t->count, 4);
	ck_assert_uint_eq(t->size, 4 * must_fact(f, "size", "main.Pair", "-"));

	size_t n = gh_dwarf_n_globals(dw);
	ck_assert_uint_gt(n, 100);
	for (size_t i = 1; i < n; i++)
		ck_assert_uint_le(gh_dwarf_global(dw, i - 1)->addr,
				  gh_dwarf_global(dw, i)->addr);
	ck_assert_ptr_null(gh_dwarf_global(dw, n));

	err = gh_dwarf_find_global(dw, "main.noSuchVar", &v);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, GH_ERR_NOT_FOUND);
	ck_assert_str_eq(err->msg, "global variable 'main.noSuchVar' not found in DWARF");
	gh_error_free(err);
	gh_dwarf_close(dw);
}
END_TEST

START_TEST(test_runtime_types)
{
	const struct fixture *f = fixture(_i);
	if (!f)
		return;
	struct gh_dwarf *dw = must_open(f->exe);
	static const char *const names[] = { "main.Item", "*main.Item", "main.Pair" };

	for (size_t i = 0; i < GH_ARRAY_SIZE(names); i++) {
		uint64_t addr = must_fact(f, "rtype", names[i], "-");
		const struct gh_dwarf_type *t = gh_dwarf_type(dw, must_type(dw, names[i]));
		ck_assert_msg(t->runtime_type == addr, "%s: DWARF says 0x%" PRIx64
			      ", the program 0x%" PRIx64, names[i],
			      t->runtime_type, addr);
		gh_dtype_id id = GH_DTYPE_NONE;
		struct gh_error *err = gh_dwarf_find_type_by_runtime(dw, addr, &id);
		ck_assert_msg(!err, "%s", err ? err->msg : "");
		ck_assert_str_eq(gh_dwarf_type(dw, id)->name, names[i]);
	}
	gh_dtype_id id;
	struct gh_error *err = gh_dwarf_find_type_by_runtime(dw, 0x10, &id);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, GH_ERR_NOT_FOUND);
	ck_assert_str_eq(err->msg, "no DWARF type has its runtime type descriptor at 0x10");
	gh_error_free(err);
	gh_dwarf_close(dw);
}
END_TEST

START_TEST(test_stripped)
{
	const struct fixture *f = fixture(_i);
	if (!f)
		return;
	struct gh_dwarf *dw = NULL;
	struct gh_error *err = gh_dwarf_open(f->stripped, &dw);
	char want[PATH_MAX + 64];

	ck_assert_ptr_nonnull(err);
	ck_assert_ptr_null(dw);
	ck_assert_int_eq(err->code, GH_ERR_NOT_FOUND);
	xfmt(want, sizeof(want),
		 "'%s' has no DWARF debug information (stripped)", f->stripped);
	ck_assert_str_eq(err->msg, want);
	gh_error_free(err);
}
END_TEST

/* Uncompressed DWARF agrees with the compressed one. */
START_TEST(test_uncompressed)
{
	const struct fixture *f = fixture(_i);
	if (!f)
		return;
	struct gh_dwarf *a = must_open(f->exe), *b = must_open(f->raw);
	ck_assert_uint_eq(gh_dwarf_n_types(a), gh_dwarf_n_types(b));
	ck_assert_uint_eq(gh_dwarf_n_fields(a), gh_dwarf_n_fields(b));
	ck_assert_uint_eq(gh_dwarf_n_globals(a), gh_dwarf_n_globals(b));
	check_layout(f, b, "runtime.mspan");
	gh_dwarf_close(a);
	gh_dwarf_close(b);
}
END_TEST

/* Whatever loaded must hang together: ids in range, fields in the table. */
static void check_consistent(const struct gh_dwarf *dw)
{
	size_t n = gh_dwarf_n_types(dw), m = gh_dwarf_n_fields(dw);

	for (size_t i = 0; i < n; i++) {
		const struct gh_dwarf_type *t = gh_dwarf_type(dw, (gh_dtype_id)i);
		gh_dtype_id real;
		ck_assert(t->elem == GH_DTYPE_NONE || t->elem < n);
		ck_assert(t->go_key == GH_DTYPE_NONE || t->go_key < n);
		ck_assert(t->go_elem == GH_DTYPE_NONE || t->go_elem < n);
		ck_assert_uint_le((uint64_t)t->first_field + t->n_fields, m);
		ck_assert_ptr_nonnull(t->name);
		struct gh_error *err = gh_dwarf_strip_typedefs(dw, (gh_dtype_id)i, &real);
		gh_error_free(err);
		if (t->n_fields) {
			const struct gh_dwarf_field *fl;
			err = gh_dwarf_find_field(dw, (gh_dtype_id)i,
						  gh_dwarf_field_at(dw, t->first_field)->name,
						  &fl);
			gh_error_free(err);
		}
	}
	for (uint32_t j = 0; j < m; j++) {
		const struct gh_dwarf_field *fl = gh_dwarf_field_at(dw, j);
		ck_assert(fl->type == GH_DTYPE_NONE || fl->type < n);
	}
	for (size_t i = 1; i < gh_dwarf_n_globals(dw); i++)
		ck_assert_uint_le(gh_dwarf_global(dw, i - 1)->addr,
				  gh_dwarf_global(dw, i)->addr);
}

static void check_open_survives(const char *path, int *n_ok)
{
	struct gh_dwarf *dw = NULL;
	struct gh_error *err = gh_dwarf_open(path, &dw);

	if (err) {
		ck_assert_msg(err->code == GH_ERR_CORRUPT ||
			      err->code == GH_ERR_NOT_FOUND ||
			      err->code == GH_ERR_LIMIT ||
			      err->code == GH_ERR_NOMEM,
			      "code %s: %s", gh_error_code_name(err->code), err->msg);
		ck_assert_ptr_nonnull(err->msg);
		ck_assert_ptr_null(dw);
		gh_error_free(err);
		return;
	}
	check_consistent(dw);
	gh_dwarf_close(dw);
	(*n_ok)++;
}

static uint8_t *slurp(const char *path, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(fstat(fd, &st), 0);
	uint8_t *buf = malloc(st.st_size);
	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(read(fd, buf, st.st_size), st.st_size);
	close(fd);
	*len = st.st_size;
	return buf;
}

static void spill(const char *path, const uint8_t *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

/* File offset and size of a section, through libelf. */
static void find_section(const uint8_t *buf, size_t len, const char *want,
			 uint64_t *off, uint64_t *size)
{
	Elf *elf;
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	ck_assert(elf_version(EV_CURRENT) != EV_NONE);
	elf = elf_memory((char *)buf, len);
	ck_assert_ptr_nonnull(elf);
	ck_assert_int_eq(elf_getshdrstrndx(elf, &shstrndx), 0);
	*size = 0;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		ck_assert_ptr_nonnull(gelf_getshdr(scn, &sh));
		const char *name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (name && !strcmp(name, want)) {
			*off = sh.sh_offset;
			*size = sh.sh_size;
		}
	}
	elf_end(elf);
	ck_assert_msg(*size, "no %s section", want);
}

static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Corrupt DWARF ends in an error or a consistent result, never a crash. */
START_TEST(test_corrupt)
{
	const struct fixture *f = fixture(_i);
	if (!f)
		return;
	char path[PATH_MAX + 32];
	size_t len;
	uint8_t *orig = slurp(f->raw, &len), *buf = malloc(len);
	uint64_t info_off, info_size, abbrev_off, abbrev_size, seed = 0x9e3779b9u + _i;
	int n_ok = 0, n_runs = 0;

	ck_assert_ptr_nonnull(buf);
	find_section(orig, len, ".debug_info", &info_off, &info_size);
	find_section(orig, len, ".debug_abbrev", &abbrev_off, &abbrev_size);
	ck_assert_uint_le(info_off + info_size, len);
	ck_assert_uint_le(abbrev_off + abbrev_size, len);
	xfmt(path, sizeof(path), "%s.corrupt", f->raw);

	for (int round = 0; round < 40; round++) {
		memcpy(buf, orig, len);
		int n_flips = 1 + (int)(rng_next(&seed) % 16);
		for (int k = 0; k < n_flips; k++) {
			uint64_t r = rng_next(&seed);
			/* Mostly DIEs; every fourth round, abbreviations too. */
			if (round % 4 == 3 && k == 0)
				buf[abbrev_off + r % abbrev_size] = (uint8_t)(r >> 32);
			else
				buf[info_off + r % info_size] = (uint8_t)(r >> 32);
		}
		spill(path, buf, len);
		check_open_survives(path, &n_ok);
		n_runs++;
	}
	/* Truncated: sections run past the end of the file. */
	const size_t cuts[] = { 0, 16, 64, 4096, len / 2, info_off + info_size / 2, len - 1 };
	for (size_t i = 0; i < GH_ARRAY_SIZE(cuts); i++) {
		spill(path, orig, cuts[i] < len ? cuts[i] : len);
		check_open_survives(path, &n_ok);
		n_runs++;
	}
	/* Typedef cycles: test_typedef_cycle, on a hand-made table. */
	unlink(path);
	free(buf);
	free(orig);
	ck_assert_int_eq(n_runs, 40 + (int)GH_ARRAY_SIZE(cuts));
	/* Both outcomes happen: some flips hit names or padding. */
	ck_assert_int_gt(n_ok, 0);
	ck_assert_int_lt(n_ok, n_runs);
}
END_TEST

/* --- tests that need no Go ----------------------------------------------- */

static char *scratch_file(const char *name, const char *text)
{
	static char path[PATH_MAX];

	xfmt(path, sizeof(path), "%s/%s", tmpdir, name);
	ck_assert(write_file(path, text));
	return path;
}

static void check_open_fails(const char *path, enum gh_err_code code,
			     const char *msg)
{
	struct gh_dwarf *dw = NULL;
	struct gh_error *err = gh_dwarf_open(path, &dw);

	ck_assert_ptr_nonnull(err);
	ck_assert_ptr_null(dw);
	ck_assert_msg(err->code == code, "code %s, want %s: %s",
		      gh_error_code_name(err->code), gh_error_code_name(code),
		      err->msg);
	ck_assert_str_eq(err->msg, msg);
	gh_error_free(err);
}

START_TEST(test_not_elf)
{
	char want[PATH_MAX + 64];
	const char *path = scratch_file("text", "this is not an executable\n");

	xfmt(want, sizeof(want), "'%s' is not an ELF file", path);
	check_open_fails(path, GH_ERR_CORRUPT, want);
	path = scratch_file("empty", "");
	xfmt(want, sizeof(want), "'%s' is not an ELF file", path);
	check_open_fails(path, GH_ERR_CORRUPT, want);
	path = scratch_file("elf-magic-only", "\177ELF");
	xfmt(want, sizeof(want), "'%s' is not an ELF file", path);
	check_open_fails(path, GH_ERR_CORRUPT, want);
	xfmt(want, sizeof(want), "'%s' is not a regular file", tmpdir);
	check_open_fails(tmpdir, GH_ERR_USAGE, want);
	check_open_fails("/nonexistent/exe", GH_ERR_OS,
			 "opening executable '/nonexistent/exe': No such file or directory");
}
END_TEST

/* This test program's own DWARF (gcc's, C): loads if built with -g. */
START_TEST(test_c_executable)
{
	struct gh_dwarf *dw = NULL;
	struct gh_error *err = gh_dwarf_open("/proc/self/exe", &dw);

	if (err) {
		ck_assert_msg(err->code == GH_ERR_NOT_FOUND, "%s", err->msg);
		ck_assert_str_eq(err->msg, "'/proc/self/exe' has no DWARF debug"
				 " information (stripped)");
		gh_error_free(err);
		return;
	}
	gh_dtype_id id = must_type(dw, "gh_dwarf_type");
	ck_assert_uint_eq(gh_dwarf_type(dw, id)->size, sizeof(struct gh_dwarf_type));
	ck_assert_uint_eq(must_field(dw, id, "n_fields")->offset,
			  offsetof(struct gh_dwarf_type, n_fields));
	ck_assert_uint_eq(must_field(dw, id, "runtime_type")->offset,
			  offsetof(struct gh_dwarf_type, runtime_type));
	const struct gh_dwarf_var *v;
	err = gh_dwarf_find_global(dw, "fx", &v);
	ck_assert_msg(!err, "%s", err ? err->msg : "");
	ck_assert_str_eq(gh_dwarf_type(dw, v->type)->name, "");	/* fixture[6] */
	ck_assert_uint_eq(stripped_type(dw, v->type)->count, N_TC);
	check_consistent(dw);
	gh_dwarf_close(dw);
}
END_TEST

/* Typedefs that point at each other end in an error, not a hang. */
START_TEST(test_typedef_cycle)
{
	struct gh_dwarf *dw = calloc(1, sizeof(*dw));
	struct gh_dwarf_type *t = calloc(3, sizeof(*t));
	const struct gh_dwarf_field *fl;
	gh_dtype_id id;

	ck_assert_ptr_nonnull(dw);
	ck_assert_ptr_nonnull(t);
	t[0] = (struct gh_dwarf_type){ .name = "main.A", .tag = GH_DWARF_TYPEDEF, .elem = 1 };
	t[1] = (struct gh_dwarf_type){ .name = "main.B", .tag = GH_DWARF_TYPEDEF, .elem = 0 };
	t[2] = (struct gh_dwarf_type){ .name = "main.C", .tag = GH_DWARF_TYPEDEF,
				       .elem = GH_DTYPE_NONE };
	dw->types = t;
	dw->n_types = 3;

	struct gh_error *err = gh_dwarf_find_field(dw, 0, "x", &fl);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, GH_ERR_CORRUPT);
	ck_assert_str_eq(err->msg, "typedef 'main.A' does not lead to a type"
			 " within 64 steps (a cycle?)");
	gh_error_free(err);

	err = gh_dwarf_strip_typedefs(dw, 2, &id);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, GH_ERR_CORRUPT);
	ck_assert_str_eq(err->msg, "typedef 'main.C' names no type");
	gh_error_free(err);

	err = gh_dwarf_strip_typedefs(dw, 7, &id);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, GH_ERR_NOT_FOUND);
	gh_error_free(err);
	ck_assert_ptr_null(gh_dwarf_type(dw, 3));
	ck_assert_ptr_null(gh_dwarf_field_at(dw, 0));
	gh_dwarf_close(dw);
}
END_TEST

int main(void)
{
	const char *s = getenv("GOHEAP_TEST_STRICT");
	strict = s && *s && strcmp(s, "0");

	if (!setup_all()) {
		printf("Bail out! cannot set up %s: %s\n", tmpdir, strerror(errno));
		return EXIT_FAILURE;
	}

	Suite *suite = suite_create("dwarf");
	TCase *tc = tcase_create("inputs");
	tcase_add_test(tc, test_not_elf);
	tcase_add_test(tc, test_c_executable);
	tcase_add_test(tc, test_typedef_cycle);
	suite_add_tcase(suite, tc);

	static char names[N_TC][sizeof(fx[0].why) + 64];	/* Check keeps them */
	for (int i = 0; i < N_TC; i++) {
		char *name = names[i];
		/* A TAP directive in the TCase name makes each of its
		 * results "ok N - file:tc # SKIP reason:test: Passed". */
		if (fx[i].ready)
			tfmt(name, sizeof(names[i]), "%s (%s)", toolchains[i],
			     fx[i].version);
		else if (strict)
			tfmt(name, sizeof(names[i]), "%s", toolchains[i]);
		else
			tfmt(name, sizeof(names[i]), "%s # SKIP %s",
				 toolchains[i], fx[i].why);
		tc = tcase_create(name);
		tcase_set_timeout(tc, 600);
		tcase_add_loop_test(tc, test_mspan_layout, i, i + 1);
		tcase_add_loop_test(tc, test_user_types, i, i + 1);
		tcase_add_loop_test(tc, test_constants, i, i + 1);
		tcase_add_loop_test(tc, test_globals, i, i + 1);
		tcase_add_loop_test(tc, test_runtime_types, i, i + 1);
		tcase_add_loop_test(tc, test_stripped, i, i + 1);
		tcase_add_loop_test(tc, test_uncompressed, i, i + 1);
		tcase_add_loop_test(tc, test_corrupt, i, i + 1);
		suite_add_tcase(suite, tc);
	}

	SRunner *sr = srunner_create(suite);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	cleanup_all();
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
