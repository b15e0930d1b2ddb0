/*
 * pclntab.c - functions, names and line numbers from the executable's
 * pclntab (Go 1.20-1.27, magic 0xfffffff1).
 *
 * The table survives `-ldflags='-s -w'` and `objcopy --strip-all`, so it
 * is found by section, never by symbol: .gopclntab, or
 * .data.rel.ro.gopclntab in an internally linked PIE before Go 1.26, or,
 * when an external linker merged it into .data.rel.ro, through
 * runtime.firstmoduledata.pcHeader.
 *
 * Layout (runtime/symtab.go pcHeader, moduledata, _func; cmd/link
 * internal/ld/pcln.go): a 72-byte header, then funcnametab, cutab,
 * filetab, pctab and pclntable, each at the offset the header gives.
 * pclntable opens with the ftab, nfunc pairs {entryoff, funcoff} and the
 * end of text, sorted by entryoff; a _func record is at pclntable +
 * funcoff.  Every offset and count read from the table is checked against
 * the table's bounds: a damaged table is GH_ERR_CORRUPT, never a crash.
 *
 * Kept in memory: the ftab (nfunc x 8 bytes) and funcnametab, which the
 * returned names point into; filetab on the first line lookup; a sorted
 * name index on the first lookup by name.  Everything else is read
 * through a few small windows (a line lookup reads a _func record, the
 * pctab and the cutab: one window each).  Only the main executable's
 * module is read, with one text section (several text sections would
 * need moduledata.textsectmap).
 */
#include <stdlib.h>
#include <string.h>

#include "rt_internal.h"

#define PCLN_MAGIC_GO120 0xfffffff1u	/* Go 1.20-1.27 (runtime/symtab.go) */
#define PCLN_HEADER_BYTES 72
#define FUNC_RECORD_BYTES 44		/* _func up to nfuncdata, 1.20-1.27 */
#define WINDOW_BYTES 8192
#define N_WINDOWS 4
#define MAX_SAME_NAME 16		/* functions sharing a name we look at */
/* Bounds on what is loaded whole, far past any real executable's. */
#define MAX_TABLE_BYTES (1ull << 32)
/* Stripped moduledata.text offset, the same 1.21-1.27 (symtab.go). */
#define MD_TEXT_OFFSET 0xb0

/* pcHeader fields (runtime/symtab.go), offsets from the header. */
enum {
	HDR_MAGIC = 0,
	HDR_PAD1 = 4,
	HDR_PAD2 = 5,
	HDR_MIN_LC = 6,
	HDR_PTR_SIZE = 7,
	HDR_NFUNC = 8,
	HDR_NFILES = 16,
	HDR_TEXT_START = 24,
	HDR_FUNCNAME_OFF = 32,
	HDR_CU_OFF = 40,
	HDR_FILETAB_OFF = 48,
	HDR_PCTAB_OFF = 56,
	HDR_PCLN_OFF = 64,
};

/* _func fields (runtime/runtime2.go), 1.20-1.27. */
enum {
	FUNC_ENTRY_OFF = 0,
	FUNC_NAME_OFF = 4,
	FUNC_PCSP = 16,
	FUNC_PCFILE = 20,
	FUNC_PCLN = 24,
	FUNC_NPCDATA = 28,
	FUNC_CU_OFFSET = 32,
	FUNC_FUNCID = 40,
	FUNC_FLAG = 41,
	FUNC_NFUNCDATA = 43,
};

/* A part of the table: offset from the header and length. */
struct pcln_region {
	uint64_t off, bytes;
};

struct name_entry {
	const char *name;
	uint32_t func;
};

struct rt_pcln {
	uint64_t addr;			/* the pcHeader */
	uint64_t bytes;			/* how far the table may extend */
	uint64_t text;			/* entry offsets count from here */
	uint32_t quantum;		/* pcHeader.minLC: 1 amd64, 4 arm64 */
	uint32_t n_funcs;
	struct pcln_region names, cutab, files, pctab, funcs;
	uint32_t *ftab;			/* [2 * n_funcs + 1] */
	char *nametab;			/* funcnametab, NUL appended */
	char *filetab;			/* filetab, NUL appended; lazily */
	struct name_entry *by_name;	/* [n_funcs], sorted; lazily */
	struct pcln_window {
		uint64_t off;		/* over [off, off + bytes) */
		uint32_t bytes;
		uint32_t used;		/* clock of last use */
		uint8_t data[WINDOW_BYTES];
	} win[N_WINDOWS];
	uint32_t clock;
	uint64_t gofunc;		/* moduledata.gofunc; lazily */
	bool gofunc_loaded;
};

static uint32_t get_u32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));	/* little-endian targets only */
	return v;
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

/* Reads len bytes at table offset off, through the windows. */
static struct gh_error *pcln_read(struct gh_rt *rt, struct rt_pcln *p,
				  uint64_t off, void *buf, size_t len)
{
	struct gh_error *err;

	if (off > p->bytes || len > p->bytes - off)
		return gh_error_new(GH_ERR_CORRUPT, "pclntab read of %zu bytes"
				    " at offset 0x%" PRIx64 " runs past its end"
				    " (0x%" PRIx64 " bytes)", len, off, p->bytes);
	if (len > WINDOW_BYTES) {
		err = gh_mem_read(rt->mem, p->addr + off, buf, len);
		return err ? gh_error_wrap(err, "reading pclntab") : NULL;
	}
	struct pcln_window *w = NULL, *oldest = &p->win[0];
	for (size_t i = 0; i < N_WINDOWS; i++) {
		struct pcln_window *c = &p->win[i];
		if (off >= c->off && off + len <= c->off + c->bytes) {
			w = c;
			break;
		}
		if (c->used < oldest->used)
			oldest = c;
	}
	if (!w) {
		uint64_t n = p->bytes - off;
		if (n > WINDOW_BYTES)
			n = WINDOW_BYTES;
		w = oldest;
		w->bytes = 0;
		err = gh_mem_read(rt->mem, p->addr + off, w->data, n);
		if (err)
			return gh_error_wrap(err, "reading pclntab");
		w->off = off;
		w->bytes = (uint32_t)n;
	}
	w->used = ++p->clock;
	memcpy(buf, w->data + (off - w->off), len);
	return NULL;
}

/* Loads a region whole, with a NUL after it. */
static struct gh_error *load_region(struct gh_rt *rt, struct rt_pcln *p,
				    const struct pcln_region *r,
				    const char *what, char **ret)
{
	struct gh_error *err;
	char *buf;

	if (r->bytes > MAX_TABLE_BYTES)
		return gh_error_new(GH_ERR_LIMIT, "pclntab %s is %" PRIu64
				    " bytes", what, r->bytes);
	buf = gh_malloc((size_t)r->bytes + 1);
	if (!buf)
		return &gh_enomem;
	err = gh_mem_read(rt->mem, p->addr + r->off, buf, (size_t)r->bytes);
	if (err) {
		gh_free(buf);
		return gh_error_wrap(err, "reading pclntab %s", what);
	}
	buf[r->bytes] = '\0';
	*ret = buf;
	return NULL;
}

/* The section that holds the table, under either of its names. */
static struct gh_error *find_table(struct gh_rt *rt, uint64_t *addr_ret,
				   uint64_t *bytes_ret)
{
	static const char *const names[] = {
		".gopclntab",
		/* internally linked PIE before Go 1.26 */
		".data.rel.ro.gopclntab",
	};
	struct gh_error *err;
	uint64_t md, hdr;

	for (size_t i = 0; i < GH_ARRAY_SIZE(names); i++) {
		err = gh_mem_exe_section(rt->mem, names[i], addr_ret, bytes_ret);
		if (!err || err->code != GH_ERR_NOT_FOUND)
			return err;
		gh_error_free(err);
	}
	/*
	 * An external linker merges the table into .data.rel.ro; the
	 * module data points at it (moduledata.pcHeader, offset 0 in every
	 * release).  Bound it by the end of the memory segment holding it.
	 */
	err = rt_find_global(rt, "runtime.firstmoduledata", &md);
	if (err) {
		if (err->code != GH_ERR_NOT_FOUND)
			return err;
		gh_error_free(err);
		return gh_error_new(GH_ERR_NOT_FOUND, "the executable has no"
				    " .gopclntab section and its module data"
				    " cannot be found");
	}
	err = gh_mem_read_ptr(rt->mem, md, &hdr);
	if (err)
		return gh_error_wrap(err, "reading moduledata.pcHeader");
	size_t n = gh_mem_n_segs(rt->mem);
	for (size_t i = 0; i < n; i++) {
		const struct gh_mem_seg *s = gh_mem_seg(rt->mem, i);
		if (hdr < s->start || hdr - s->start >= s->mem_bytes)
			continue;
		/* ... and the segments that continue it without a gap */
		uint64_t end = s->start + s->mem_bytes;
		for (size_t j = i + 1; j < n; j++) {
			const struct gh_mem_seg *t = gh_mem_seg(rt->mem, j);
			if (t->start != end)
				break;
			end += t->mem_bytes;
		}
		*addr_ret = hdr;
		*bytes_ret = end - hdr;
		return NULL;
	}
	return gh_error_fault(hdr, "moduledata.pcHeader 0x%" PRIx64
			      " is not mapped in the core", hdr);
}

/* moduledata.text: where entry offsets count from when textStart is 0. */
static struct gh_error *moduledata_text(struct gh_rt *rt, uint64_t *ret)
{
	struct gh_error *err;
	uint64_t md = rt->firstmoduledata_addr;
	uint64_t off = MD_TEXT_OFFSET;

	if (!md) {
		err = rt_find_global(rt, "runtime.firstmoduledata", &md);
		if (err)
			return gh_error_wrap(err, "finding the module data");
	}
	if (rt->dw) {
		const struct gh_dwarf_field *f;
		gh_dtype_id tid;

		err = gh_dwarf_find_type(rt->dw, "runtime.moduledata", &tid);
		if (!err)
			err = gh_dwarf_find_field(rt->dw, tid, "text", &f);
		if (!err)
			off = f->offset;
		else if (err->code == GH_ERR_NOT_FOUND)
			gh_error_free(err);
		else
			return err;
	}
	err = gh_mem_read_ptr(rt->mem, md + off, ret);
	if (err)
		return gh_error_wrap(err, "reading moduledata.text");
	return NULL;
}

/*
 * The target address entry offsets count from.  pcHeader.textStart until
 * Go 1.25; Go 1.26 writes 0 there (so that the table needs no dynamic
 * relocation) and the runtime uses moduledata.text.  In a PIE whose
 * table page the core did not save, textStart is the link-time address:
 * add the load bias when that is what lands in .text.
 */
static struct gh_error *text_start(struct gh_rt *rt, uint64_t text_start,
				   uint64_t *ret)
{
	struct gh_error *err;
	uint64_t lo, bytes;

	if (!text_start)
		return moduledata_text(rt, ret);
	err = gh_mem_exe_section(rt->mem, ".text", &lo, &bytes);
	if (err) {
		if (err->code != GH_ERR_NOT_FOUND)
			return err;
		gh_error_free(err);
		*ret = text_start;
		return NULL;
	}
	if (text_start - lo < bytes) {
		*ret = text_start;
		return NULL;
	}
	if (text_start + rt->bias - lo < bytes) {
		*ret = text_start + rt->bias;
		return NULL;
	}
	return gh_error_new(GH_ERR_CORRUPT, "pcHeader.textStart 0x%" PRIx64
			    " is outside .text [0x%" PRIx64 ", 0x%" PRIx64 ")",
			    text_start, lo, lo + bytes);
}

/* A region starts at its offset and ends where the next one begins. */
static struct gh_error *set_region(const uint64_t *offs, size_t n, size_t i,
				   uint64_t table_bytes, const char *what,
				   struct pcln_region *r)
{
	uint64_t end = table_bytes;

	if (offs[i] < PCLN_HEADER_BYTES || offs[i] > table_bytes)
		return gh_error_new(GH_ERR_CORRUPT, "pclntab %s offset 0x%"
				    PRIx64 " is outside the table (0x%x to 0x%"
				    PRIx64 ")", what, offs[i], PCLN_HEADER_BYTES,
				    table_bytes);
	for (size_t j = 0; j < n; j++) {
		if (offs[j] > offs[i] && offs[j] < end)
			end = offs[j];
	}
	r->off = offs[i];
	r->bytes = end - offs[i];
	return NULL;
}

static struct gh_error *parse_header(struct gh_rt *rt, struct rt_pcln *p,
				     uint64_t *text_start_ret)
{
	struct gh_error *err;
	uint8_t h[PCLN_HEADER_BYTES];

	if (p->bytes < PCLN_HEADER_BYTES)
		return gh_error_new(GH_ERR_CORRUPT, "pclntab is only %" PRIu64
				    " bytes", p->bytes);
	err = pcln_read(rt, p, 0, h, sizeof(h));
	if (err)
		return err;
	uint32_t magic = get_u32(h + HDR_MAGIC);
	if (magic != PCLN_MAGIC_GO120)
		return gh_error_new(GH_ERR_UNSUPPORTED, "pclntab magic 0x%08x"
				    " is not Go 1.20-1.27's 0x%08x", magic,
				    PCLN_MAGIC_GO120);
	if (h[HDR_PAD1] || h[HDR_PAD2] || h[HDR_PTR_SIZE] != 8 ||
	    (h[HDR_MIN_LC] != 1 && h[HDR_MIN_LC] != 2 && h[HDR_MIN_LC] != 4))
		return gh_error_new(GH_ERR_CORRUPT, "pclntab header has pad %u,%u,"
				    " pc quantum %u and pointer size %u",
				    h[HDR_PAD1], h[HDR_PAD2], h[HDR_MIN_LC],
				    h[HDR_PTR_SIZE]);
	p->quantum = h[HDR_MIN_LC];

	const uint64_t offs[] = {
		get_u64(h + HDR_FUNCNAME_OFF), get_u64(h + HDR_CU_OFF),
		get_u64(h + HDR_FILETAB_OFF), get_u64(h + HDR_PCTAB_OFF),
		get_u64(h + HDR_PCLN_OFF),
	};
	const char *const what[] = {
		"funcnametab", "cutab", "filetab", "pctab", "pclntable",
	};
	struct pcln_region *regions[] = {
		&p->names, &p->cutab, &p->files, &p->pctab, &p->funcs,
	};
	for (size_t i = 0; i < GH_ARRAY_SIZE(offs); i++) {
		err = set_region(offs, GH_ARRAY_SIZE(offs), i, p->bytes,
				 what[i], regions[i]);
		if (err)
			return err;
	}

	uint64_t nfunc = get_u64(h + HDR_NFUNC);
	if (!nfunc || p->funcs.bytes < 4 || nfunc > (p->funcs.bytes - 4) / 8 ||
	    nfunc > UINT32_MAX / 2 - 1)
		return gh_error_new(GH_ERR_CORRUPT, "pclntab claims %" PRIu64
				    " functions but its pclntable is %" PRIu64
				    " bytes", nfunc, p->funcs.bytes);
	p->n_funcs = (uint32_t)nfunc;
	*text_start_ret = get_u64(h + HDR_TEXT_START);
	return NULL;
}

/* Reads the ftab and checks it: sorted, every _func inside the table. */
static struct gh_error *load_ftab(struct gh_rt *rt, struct rt_pcln *p)
{
	struct gh_error *err;
	size_t n = 2 * (size_t)p->n_funcs + 1;

	p->ftab = gh_malloc_array(n, sizeof(uint32_t));
	if (!p->ftab)
		return &gh_enomem;
	err = gh_mem_read(rt->mem, p->addr + p->funcs.off, p->ftab,
			  n * sizeof(uint32_t));
	if (err)
		return gh_error_wrap(err, "reading the pclntab function table");
	for (uint32_t i = 0; i < p->n_funcs; i++) {
		uint32_t entry = p->ftab[2 * i], next = p->ftab[2 * i + 2];
		uint32_t func_off = p->ftab[2 * i + 1];

		if (next < entry)
			return gh_error_new(GH_ERR_CORRUPT, "pclntab function"
					    " table is not sorted: entry %" PRIu32
					    " at +0x%" PRIx32 " is followed by"
					    " +0x%" PRIx32, i, entry, next);
		if (func_off > p->funcs.bytes ||
		    p->funcs.bytes - func_off < FUNC_RECORD_BYTES)
			return gh_error_new(GH_ERR_CORRUPT, "pclntab function %"
					    PRIu32 " has its record at offset 0x%"
					    PRIx32 ", outside pclntable (0x%"
					    PRIx64 " bytes)", i, func_off,
					    p->funcs.bytes);
	}
	return NULL;
}

static void pcln_destroy(struct rt_pcln *p)
{
	if (!p)
		return;
	gh_free(p->by_name);
	gh_free(p->filetab);
	gh_free(p->nametab);
	gh_free(p->ftab);
	gh_free(p);
}

static struct gh_error *pcln_create(struct gh_rt *rt, struct rt_pcln **ret)
{
	struct gh_error *err;
	uint64_t hdr_text = 0, addr;
	struct rt_pcln *p = gh_calloc(1, sizeof(*p));

	if (!p)
		return &gh_enomem;
	err = find_table(rt, &p->addr, &p->bytes);
	if (err)
		goto fail;
	if (p->bytes > MAX_TABLE_BYTES)
		p->bytes = MAX_TABLE_BYTES;
	err = parse_header(rt, p, &hdr_text);
	if (!err)
		err = text_start(rt, hdr_text, &p->text);
	if (!err)
		err = load_ftab(rt, p);
	if (!err)
		err = load_region(rt, p, &p->names, "funcnametab", &p->nametab);
	if (err)
		goto fail;
	*ret = p;
	return NULL;
fail:
	addr = p->addr;
	pcln_destroy(p);
	if (!addr)
		return err;
	return gh_error_wrap(err, "reading the pclntab at 0x%" PRIx64, addr);
}

static struct gh_error *get_pcln(struct gh_rt *rt, struct rt_pcln **ret)
{
	if (!rt->pcln) {
		struct gh_error *err = pcln_create(rt, &rt->pcln);
		if (err)
			return err;
	}
	*ret = rt->pcln;
	return NULL;
}

void pcln_deinit(struct gh_rt *rt)
{
	pcln_destroy(rt->pcln);
	rt->pcln = NULL;
}

/* Function i's _func record, FUNC_RECORD_BYTES long. */
static struct gh_error *read_func(struct gh_rt *rt, struct rt_pcln *p,
				  uint32_t func_off, uint8_t *buf)
{
	if (func_off > p->funcs.bytes ||
	    p->funcs.bytes - func_off < FUNC_RECORD_BYTES)
		return gh_error_new(GH_ERR_CORRUPT, "_func offset 0x%" PRIx32
				    " is outside pclntable", func_off);
	return pcln_read(rt, p, p->funcs.off + func_off, buf,
			 FUNC_RECORD_BYTES);
}

static struct gh_error *func_name(struct rt_pcln *p, const uint8_t *rec,
				  uint32_t func_off, const char **ret)
{
	uint32_t name_off = get_u32(rec + FUNC_NAME_OFF);

	if (name_off >= p->names.bytes)
		return gh_error_new(GH_ERR_CORRUPT, "_func at pclntable+0x%"
				    PRIx32 " has name offset 0x%" PRIx32
				    ", past funcnametab (0x%" PRIx64 " bytes)",
				    func_off, name_off, p->names.bytes);
	*ret = p->nametab + name_off;
	return NULL;
}

/* Fills ret for ftab entry i. */
static struct gh_error *make_func(struct gh_rt *rt, struct rt_pcln *p,
				  uint32_t i, struct gh_rt_func *ret)
{
	struct gh_error *err;
	uint8_t rec[FUNC_RECORD_BYTES];
	uint32_t func_off = p->ftab[2 * i + 1];
	const char *name = NULL;

	err = read_func(rt, p, func_off, rec);
	if (err)
		return err;
	if (get_u32(rec + FUNC_ENTRY_OFF) != p->ftab[2 * i])
		return gh_error_new(GH_ERR_CORRUPT, "_func at pclntable+0x%"
				    PRIx32 " says its entry is +0x%" PRIx32
				    ", the function table +0x%" PRIx32,
				    func_off, get_u32(rec + FUNC_ENTRY_OFF),
				    p->ftab[2 * i]);
	err = func_name(p, rec, func_off, &name);
	if (err)
		return err;
	ret->entry = p->text + p->ftab[2 * i];
	ret->end = p->text + p->ftab[2 * i + 2];
	ret->name = name;
	ret->func_off = func_off;
	return NULL;
}

struct gh_error *gh_rt_find_func(struct gh_rt *rt, uint64_t pc,
				 struct gh_rt_func *ret)
{
	struct gh_error *err;
	struct rt_pcln *p;

	err = get_pcln(rt, &p);
	if (err)
		return err;
	uint64_t off = pc - p->text;
	if (pc < p->text || off < p->ftab[0] || off >= p->ftab[2 * p->n_funcs])
		return gh_error_new(GH_ERR_NOT_FOUND, "pc 0x%" PRIx64
				    " is not in Go text [0x%" PRIx64 ", 0x%"
				    PRIx64 ")", pc, p->text + p->ftab[0],
				    p->text + p->ftab[2 * p->n_funcs]);
	/* The last entry whose start is <= off. */
	uint32_t lo = 0, hi = p->n_funcs;
	while (hi - lo > 1) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (p->ftab[2 * mid] <= off)
			lo = mid;
		else
			hi = mid;
	}
	return make_func(rt, p, lo, ret);
}

static int cmp_name_entry(const void *a, const void *b)
{
	const struct name_entry *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	return x->func < y->func ? -1 : x->func > y->func;
}

static struct gh_error *build_name_index(struct gh_rt *rt, struct rt_pcln *p)
{
	struct gh_error *err;
	struct name_entry *v = gh_malloc_array(p->n_funcs, sizeof(*v));

	if (!v)
		return &gh_enomem;
	for (uint32_t i = 0; i < p->n_funcs; i++) {
		uint8_t rec[FUNC_RECORD_BYTES];
		uint32_t func_off = p->ftab[2 * i + 1];

		err = read_func(rt, p, func_off, rec);
		if (!err)
			err = func_name(p, rec, func_off, &v[i].name);
		if (err) {
			gh_free(v);
			return gh_error_wrap(err, "indexing function names");
		}
		v[i].func = i;
	}
	qsort(v, p->n_funcs, sizeof(*v), cmp_name_entry);
	p->by_name = v;
	return NULL;
}

struct gh_error *gh_rt_find_func_by_name(struct gh_rt *rt, const char *name,
					 struct gh_rt_func *ret)
{
	struct gh_error *err;
	struct rt_pcln *p;

	err = get_pcln(rt, &p);
	if (err)
		return err;
	if (!p->by_name) {
		err = build_name_index(rt, p);
		if (err)
			return err;
	}
	/* The first entry whose name is >= name. */
	size_t lo = 0, hi = p->n_funcs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(p->by_name[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == p->n_funcs || strcmp(p->by_name[lo].name, name))
		return gh_error_new(GH_ERR_NOT_FOUND, "no function '%s' in the"
				    " pclntab", name);
	/*
	 * An ABI wrapper (nm's "name.abi0") carries the name of the
	 * function it wraps; its code is "<autogenerated>".  Prefer the
	 * function itself, else the first in address order.
	 */
	for (size_t i = lo; i < p->n_funcs && i < lo + MAX_SAME_NAME &&
	     !strcmp(p->by_name[i].name, name); i++) {
		struct gh_rt_func f;
		const char *file;
		uint32_t line;

		if (i == lo && (i + 1 == p->n_funcs ||
				strcmp(p->by_name[i + 1].name, name)))
			break;	/* the name is unique */
		err = make_func(rt, p, p->by_name[i].func, &f);
		if (err)
			return err;
		err = gh_rt_func_line(rt, &f, f.entry, &file, &line);
		if (err && err->code != GH_ERR_NOT_FOUND)
			return err;
		if (!err && strcmp(file, "<autogenerated>")) {
			*ret = f;
			return NULL;
		}
		gh_error_free(err);
	}
	return make_func(rt, p, p->by_name[lo].func, ret);
}

/* Reads a uvarint of at most 32 bits from the pctab at *pos. */
static struct gh_error *read_uvarint(struct gh_rt *rt, struct rt_pcln *p,
				     uint64_t *pos, uint32_t *ret)
{
	struct gh_error *err;
	uint32_t v = 0;

	for (unsigned shift = 0; shift < 35; shift += 7) {
		uint8_t b;

		if (*pos >= p->pctab.bytes)
			return gh_error_new(GH_ERR_CORRUPT, "pcvalue table runs"
					    " past the end of pctab");
		err = pcln_read(rt, p, p->pctab.off + *pos, &b, 1);
		if (err)
			return err;
		(*pos)++;
		v |= (uint32_t)(b & 0x7f) << shift;
		if (!(b & 0x80)) {
			*ret = v;
			return NULL;
		}
	}
	return gh_error_new(GH_ERR_CORRUPT, "pcvalue table has a varint"
			    " longer than 5 bytes");
}

/*
 * The value a pcvalue table gives pc (runtime/symtab.go pcvalue, step):
 * pairs of (zigzag value delta, pc delta in quanta) starting from -1 at
 * the entry; a zero value delta after the first pair ends the table.
 * GH_ERR_NOT_FOUND if pc is past the table's last range.
 */
static struct gh_error *pcvalue(struct gh_rt *rt, struct rt_pcln *p,
				const struct gh_rt_func *f, uint32_t table,
				uint64_t pc, int32_t *ret)
{
	struct gh_error *err;
	uint64_t pos = table, cur = f->entry;
	uint32_t val = (uint32_t)-1;

	if (!table)
		return gh_error_new(GH_ERR_NOT_FOUND, "%s has no pcvalue table",
				    f->name);
	if (table >= p->pctab.bytes)
		return gh_error_new(GH_ERR_CORRUPT, "%s's pcvalue table offset"
				    " 0x%" PRIx32 " is past pctab (0x%" PRIx64
				    " bytes)", f->name, table, p->pctab.bytes);
	for (bool first = true;; first = false) {
		uint32_t uv, pcdelta;

		err = read_uvarint(rt, p, &pos, &uv);
		if (!err && uv == 0 && !first)
			break;
		if (!err)
			err = read_uvarint(rt, p, &pos, &pcdelta);
		if (err)
			return gh_error_wrap(err, "%s's table at pctab+0x%"
					     PRIx32, f->name, table);
		val += -(uv & 1) ^ (uv >> 1);
		cur += (uint64_t)pcdelta * p->quantum;
		if (pc < cur) {
			*ret = (int32_t)val;
			return NULL;
		}
	}
	return gh_error_new(GH_ERR_NOT_FOUND, "pc 0x%" PRIx64 " is past the"
			    " end of %s's table at pctab+0x%" PRIx32, pc,
			    f->name, table);
}

struct gh_error *gh_rt_func_line(struct gh_rt *rt, const struct gh_rt_func *f,
				 uint64_t pc, const char **file_ret,
				 uint32_t *line_ret)
{
	struct gh_error *err;
	struct rt_pcln *p;
	uint8_t rec[FUNC_RECORD_BYTES];
	int32_t file_no, line;
	uint32_t file_off;

	err = get_pcln(rt, &p);
	if (err)
		return err;
	if (pc < f->entry || pc >= f->end)
		return gh_error_new(GH_ERR_NOT_FOUND, "pc 0x%" PRIx64 " is not"
				    " in %s [0x%" PRIx64 ", 0x%" PRIx64 ")",
				    pc, f->name, f->entry, f->end);
	err = read_func(rt, p, f->func_off, rec);
	if (err)
		return err;
	err = pcvalue(rt, p, f, get_u32(rec + FUNC_PCFILE), pc, &file_no);
	if (!err)
		err = pcvalue(rt, p, f, get_u32(rec + FUNC_PCLN), pc, &line);
	if (err)
		return gh_error_wrap(err, "finding the line of pc 0x%" PRIx64, pc);
	if (file_no < 0 || line < 0)
		return gh_error_new(GH_ERR_NOT_FOUND, "pc 0x%" PRIx64 " in %s"
				    " has no line information", pc, f->name);

	uint64_t cu = (uint64_t)get_u32(rec + FUNC_CU_OFFSET) + (uint32_t)file_no;
	if (cu >= p->cutab.bytes / 4)
		return gh_error_new(GH_ERR_CORRUPT, "%s: file %" PRId32 " of"
				    " compilation unit %" PRIu32 " is past cutab"
				    " (%" PRIu64 " entries)", f->name, file_no,
				    get_u32(rec + FUNC_CU_OFFSET),
				    p->cutab.bytes / 4);
	err = pcln_read(rt, p, p->cutab.off + cu * 4, &file_off, 4);
	if (err)
		return err;
	if (!p->filetab) {
		err = load_region(rt, p, &p->files, "filetab", &p->filetab);
		if (err)
			return err;
	}
	if (file_off == UINT32_MAX) {
		*file_ret = "?";	/* what the runtime prints (funcfile) */
	} else if (file_off >= p->files.bytes) {
		return gh_error_new(GH_ERR_CORRUPT, "%s: cutab entry %" PRIu64
				    " points at filetab+0x%" PRIx32 ", past its"
				    " end (0x%" PRIx64 " bytes)", f->name, cu,
				    file_off, p->files.bytes);
	} else {
		*file_ret = p->filetab + file_off;
	}
	*line_ret = (uint32_t)line;
	return NULL;
}

/*
 * Unwinding support (unwind.c): the rest of the _func record, PCDATA and
 * FUNCDATA (runtime/symtab.go pcdatastart, funcdata), names of inlined
 * functions.
 */
struct gh_error *pcln_func_info(struct gh_rt *rt, const struct gh_rt_func *f,
				struct rt_func_info *ret)
{
	struct gh_error *err;
	struct rt_pcln *p;
	uint8_t rec[FUNC_RECORD_BYTES];

	err = get_pcln(rt, &p);
	if (!err)
		err = read_func(rt, p, f->func_off, rec);
	if (err)
		return err;
	uint32_t npcdata = get_u32(rec + FUNC_NPCDATA);
	uint8_t nfuncdata = rec[FUNC_NFUNCDATA];
	/* The PCDATA and FUNCDATA words follow the record. */
	uint64_t tail = FUNC_RECORD_BYTES + 4 * ((uint64_t)npcdata + nfuncdata);
	if (tail > p->funcs.bytes - f->func_off)
		return gh_error_new(GH_ERR_CORRUPT, "_func of %s at pclntable+0x%"
				    PRIx32 " claims %" PRIu32 " PCDATA and %u"
				    " FUNCDATA entries, past pclntable", f->name,
				    f->func_off, npcdata, nfuncdata);
	ret->pcsp = get_u32(rec + FUNC_PCSP);
	ret->pcfile = get_u32(rec + FUNC_PCFILE);
	ret->pcln = get_u32(rec + FUNC_PCLN);
	ret->npcdata = npcdata;
	ret->func_id = rec[FUNC_FUNCID];
	ret->flag = rec[FUNC_FLAG];
	ret->nfuncdata = nfuncdata;
	return NULL;
}

struct gh_error *pcln_value(struct gh_rt *rt, const struct gh_rt_func *f,
			    uint32_t table, uint64_t pc, int32_t *ret)
{
	struct gh_error *err;
	struct rt_pcln *p;

	if (!table) {
		*ret = -1;
		return NULL;
	}
	err = get_pcln(rt, &p);
	if (err)
		return err;
	if (pc < f->entry || pc >= f->end)
		return gh_error_new(GH_ERR_NOT_FOUND, "pc 0x%" PRIx64 " is not"
				    " in %s [0x%" PRIx64 ", 0x%" PRIx64 ")",
				    pc, f->name, f->entry, f->end);
	return pcvalue(rt, p, f, table, pc, ret);
}

struct gh_error *pcln_pcdata(struct gh_rt *rt, const struct gh_rt_func *f,
			     const struct rt_func_info *fi, uint32_t index,
			     uint64_t pc, int32_t *ret)
{
	struct gh_error *err;
	struct rt_pcln *p;
	uint32_t table;

	if (index >= fi->npcdata) {
		*ret = -1;
		return NULL;
	}
	err = get_pcln(rt, &p);
	if (!err)
		err = pcln_read(rt, p, p->funcs.off + f->func_off +
				FUNC_RECORD_BYTES + 4 * (uint64_t)index,
				&table, sizeof(table));
	if (err)
		return err;
	return pcln_value(rt, f, table, pc, ret);
}

/* moduledata.gofunc, where FUNCDATA offsets count from. */
static struct gh_error *gofunc(struct gh_rt *rt, struct rt_pcln *p,
			       uint64_t *ret)
{
	struct gh_error *err;
	uint64_t md = rt->firstmoduledata_addr;

	if (!p->gofunc_loaded) {
		if (!md) {
			err = rt_find_global(rt, "runtime.firstmoduledata", &md);
			if (err)
				return gh_error_wrap(err, "finding the module data");
		}
		err = gh_mem_read_ptr(rt->mem, md + rt->l.md_gofunc, &p->gofunc);
		if (err)
			return gh_error_wrap(err, "reading moduledata.gofunc");
		p->gofunc_loaded = true;
	}
	*ret = p->gofunc;
	return NULL;
}

struct gh_error *pcln_funcdata(struct gh_rt *rt, const struct gh_rt_func *f,
			       const struct rt_func_info *fi, uint32_t index,
			       uint64_t *ret)
{
	struct gh_error *err;
	struct rt_pcln *p;
	uint32_t off;
	uint64_t base = 0;

	if (index >= fi->nfuncdata) {
		*ret = 0;
		return NULL;
	}
	err = get_pcln(rt, &p);
	if (!err)
		err = pcln_read(rt, p, p->funcs.off + f->func_off +
				FUNC_RECORD_BYTES +
				4 * ((uint64_t)fi->npcdata + index),
				&off, sizeof(off));
	if (err)
		return err;
	if (off == UINT32_MAX) {
		*ret = 0;
		return NULL;
	}
	err = gofunc(rt, p, &base);
	if (err)
		return err;
	*ret = base + off;
	return NULL;
}

struct gh_error *pcln_name(struct gh_rt *rt, int32_t name_off,
			   const char **ret)
{
	struct gh_error *err;
	struct rt_pcln *p;

	err = get_pcln(rt, &p);
	if (err)
		return err;
	if (name_off < 0 || (uint64_t)name_off >= p->names.bytes)
		return gh_error_new(GH_ERR_CORRUPT, "name offset 0x%" PRIx32
				    " is outside funcnametab (0x%" PRIx64
				    " bytes)", (uint32_t)name_off, p->names.bytes);
	*ret = p->nametab + name_off;
	return NULL;
}
