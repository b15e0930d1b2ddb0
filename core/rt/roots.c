/*
 * roots.c - the GC's roots outside goroutine stacks (runtime/mgcmark.go
 * markroot): data and bss words marked in moduledata.gcdatamask and
 * gcbssmask, span specials (finalizers, cleanups, weak handles) and the
 * queue of finalizers due to run (runtime.allfin).
 *
 * Field offsets come from DWARF by name; the numbers below are the
 * per-release table for stripped executables (go-runtime-internals.md,
 * sections 4 and 7).
 */
#include <string.h>

#include "rt_internal.h"

#define CHUNK_WORDS 8192
#define MAX_SPECIALS_PER_SPAN 65536
#define MAX_FINBLOCKS (1u << 20)

GH_VEC(root_vec, struct gh_rt_root)

struct roots_layout {
	uint32_t md_data, md_edata, md_bss, md_ebss, md_gcdatamask, md_gcbssmask;
	uint32_t bv_n, bv_bytedata;
	uint32_t span_specials;
	uint32_t sp_next, sp_offset, sp_offset_bytes, sp_kind;
	uint32_t fin_fn;
	uint32_t cleanup_fn, cleanup_arg;	/* RT_ABSENT before 1.24 / arg before 1.26 */
	uint32_t weak_handle;			/* RT_ABSENT before 1.23 */
	int64_t kind_finalizer, kind_cleanup, kind_weak;	/* -1: none */
	uint32_t fb_alllink, fb_cnt, fb_fin, fin_bytes, fin_fn_off, fin_arg_off;
};

/* DWARF's offset if it has the field, else the table's. */
static uint32_t off(struct gh_rt *rt, const char *type, const char *field,
		    uint32_t fallback)
{
	uint32_t v;
	struct gh_error *err = rt_field_offset(rt, type, field, &v);
	if (err) {
		gh_error_free(err);
		return fallback;
	}
	return v;
}

static void roots_layout(struct gh_rt *rt, struct roots_layout *l)
{
	int r = rt->release;
	int64_t v;

	l->md_data = off(rt, "runtime.moduledata", "data", 0xd0);
	l->md_edata = off(rt, "runtime.moduledata", "edata", 0xd8);
	l->md_bss = off(rt, "runtime.moduledata", "bss", 0xe0);
	l->md_ebss = off(rt, "runtime.moduledata", "ebss", 0xe8);
	uint32_t dm = r <= 125 ? 0x218 : r == 126 ? 0x220 : 0x208;
	l->md_gcdatamask = off(rt, "runtime.moduledata", "gcdatamask", dm);
	l->md_gcbssmask = off(rt, "runtime.moduledata", "gcbssmask", dm + 0x10);
	l->bv_n = off(rt, "runtime.bitvector", "n", 0);
	l->bv_bytedata = off(rt, "runtime.bitvector", "bytedata", 8);
	l->span_specials = off(rt, "runtime.mspan", "specials", r <= 121 ? 0x88 : 0x80);

	/* Go 1.24: special.offset grew from uint16 to uintptr. */
	l->sp_next = off(rt, "runtime.special", "next", 0);
	l->sp_offset = off(rt, "runtime.special", "offset", 8);
	l->sp_kind = off(rt, "runtime.special", "kind", r <= 123 ? 0xa : 0x10);
	l->sp_offset_bytes = l->sp_kind - l->sp_offset >= 8 ? 8 : 2;
	l->fin_fn = off(rt, "runtime.specialfinalizer", "fn", r <= 123 ? 0x10 : 0x18);

	/*
	 * Go 1.24 added cleanups (specialCleanup.fn); Go 1.26 made the record
	 * a cleanupFn{call, fn, arg}.
	 */
	l->cleanup_fn = l->cleanup_arg = RT_ABSENT;
	uint32_t c;
	if (!rt->dw) {
		if (r >= 126)
			l->cleanup_fn = 0x20, l->cleanup_arg = 0x28;
		else if (r >= 124)
			l->cleanup_fn = 0x18;
	} else if ((c = off(rt, "runtime.specialCleanup", "cleanup", RT_ABSENT)) != RT_ABSENT) {
		l->cleanup_fn = c + off(rt, "runtime.cleanupFn", "fn", 8);
		l->cleanup_arg = c + off(rt, "runtime.cleanupFn", "arg", 16);
	} else {
		l->cleanup_fn = off(rt, "runtime.specialCleanup", "fn", RT_ABSENT);
	}
	l->weak_handle = rt->dw ? off(rt, "runtime.specialWeakHandle", "handle", RT_ABSENT) :
			 r >= 124 ? 0x18 : r == 123 ? 0x10 : RT_ABSENT;

	/* Special kinds were renumbered in 1.23 and 1.25: read them by name. */
	l->kind_finalizer = r <= 124 ? 1 : 2;
	l->kind_weak = r <= 122 ? -1 : r <= 124 ? 2 : 3;
	l->kind_cleanup = r <= 123 ? -1 : r == 124 ? 6 : 7;
	if (rt_constant(rt, "runtime._KindSpecialFinalizer", &v))
		l->kind_finalizer = v;
	if (rt_constant(rt, "runtime._KindSpecialWeakHandle", &v))
		l->kind_weak = v;
	if (rt_constant(rt, "runtime._KindSpecialCleanup", &v))
		l->kind_cleanup = v;

	/* Go 1.25 renamed finblock to finBlock. */
	const char *fb = rt->dw && off(rt, "runtime.finBlock", "cnt", RT_ABSENT) != RT_ABSENT ?
			 "runtime.finBlock" : "runtime.finblock";
	l->fb_alllink = off(rt, fb, "alllink", 0);
	l->fb_cnt = off(rt, fb, "cnt", 0x10);
	l->fb_fin = off(rt, fb, "fin", 0x18);
	l->fin_fn_off = off(rt, "runtime.finalizer", "fn", 0);
	l->fin_arg_off = off(rt, "runtime.finalizer", "arg", 8);
	l->fin_bytes = 40;
}

static struct gh_error *add_root(struct gh_rt *rt, struct root_vec *roots,
				 uint64_t slot, uint64_t value, uint8_t kind)
{
	gh_obj_id obj = gh_rt_find_object(&rt->heap, value);

	if (obj == GH_OBJ_NONE)
		return NULL;
	struct gh_rt_root r = { .slot = slot, .value = value, .obj = obj, .kind = kind };
	return root_vec_push(roots, r) ? NULL : &gh_enomem;
}

/* The words of [start, end) whose bit is set in the bitvector at bv. */
static struct gh_error *scan_section(struct gh_rt *rt, const struct roots_layout *l,
				     uint64_t start, uint64_t end, uint64_t bv,
				     uint8_t kind, struct root_vec *roots)
{
	struct gh_error *err;
	uint32_t nbits;
	uint64_t bytedata, words[CHUNK_WORDS];
	uint8_t mask[CHUNK_WORDS / 8];

	if (end < start || (end - start) / 8 > (1ull << 32))
		return gh_error_new(GH_ERR_CORRUPT, "module section [0x%" PRIx64
				    ", 0x%" PRIx64 ") is not a range", start, end);
	err = gh_mem_read_u32(rt->mem, bv + l->bv_n, &nbits);
	if (!err)
		err = gh_mem_read_ptr(rt->mem, bv + l->bv_bytedata, &bytedata);
	if (err)
		return gh_error_wrap(err, "reading the pointer mask");
	uint64_t n_words = (end - start) / 8;
	if (nbits < n_words)	/* the mask may be padded, never short */
		return gh_error_new(GH_ERR_CORRUPT, "pointer mask of %u bits for a"
				    " section of %" PRIu64 " words", nbits, n_words);
	for (uint64_t w = 0; w < n_words; w += CHUNK_WORDS) {
		size_t m = n_words - w < CHUNK_WORDS ? (size_t)(n_words - w) : CHUNK_WORDS;
		err = gh_mem_read(rt->mem, bytedata + w / 8, mask, (m + 7) / 8);
		if (err)
			return gh_error_wrap(err, "reading the pointer mask");
		bool any = false;
		for (size_t i = 0; i < (m + 7) / 8 && !any; i++)
			any = mask[i];
		if (!any)
			continue;
		err = gh_mem_read(rt->mem, start + w * 8, words, m * 8);
		if (err)
			return gh_error_wrap(err, "reading data at 0x%" PRIx64, start + w * 8);
		for (size_t i = 0; i < m; i++) {
			if (!(mask[i / 8] & (1u << (i % 8))) || !words[i])
				continue;
			err = add_root(rt, roots, start + (w + i) * 8, words[i], kind);
			if (err)
				return err;
		}
	}
	return NULL;
}

static struct gh_error *module_roots(struct gh_rt *rt, const struct roots_layout *l,
				     struct root_vec *roots)
{
	struct gh_error *err;
	uint64_t md = rt->firstmoduledata_addr;

	for (unsigned i = 0; md; i++) {
		uint64_t data, edata, bss, ebss, next;
		if (i == 4096)
			return gh_error_new(GH_ERR_CORRUPT, "the module list does not end");
		err = gh_mem_read_ptr(rt->mem, md + l->md_data, &data);
		if (!err)
			err = gh_mem_read_ptr(rt->mem, md + l->md_edata, &edata);
		if (!err)
			err = gh_mem_read_ptr(rt->mem, md + l->md_bss, &bss);
		if (!err)
			err = gh_mem_read_ptr(rt->mem, md + l->md_ebss, &ebss);
		if (!err)
			err = gh_mem_read_ptr(rt->mem, md + rt->l.md_next, &next);
		if (!err)
			err = scan_section(rt, l, data, edata, md + l->md_gcdatamask,
					   GH_RT_ROOT_DATA, roots);
		if (!err)
			err = scan_section(rt, l, bss, ebss, md + l->md_gcbssmask,
					   GH_RT_ROOT_BSS, roots);
		if (err)
			return gh_error_wrap(err, "module at 0x%" PRIx64, md);
		md = next;
	}
	return NULL;
}

static struct gh_error *special_roots(struct gh_rt *rt, const struct roots_layout *l,
				      const struct gh_rt_span *s, struct root_vec *roots)
{
	struct gh_error *err;
	uint64_t sp, v;

	err = gh_mem_read_ptr(rt->mem, s->addr + l->span_specials, &sp);
	for (unsigned n = 0; !err && sp; n++) {
		uint64_t offset = 0, next;
		uint8_t kind;

		if (n == MAX_SPECIALS_PER_SPAN)
			return gh_error_new(GH_ERR_CORRUPT, "the specials list of span 0x%"
					    PRIx64 " does not end", s->addr);
		err = gh_mem_read(rt->mem, sp + l->sp_offset, &offset, l->sp_offset_bytes);
		if (!err)
			err = gh_mem_read_u8(rt->mem, sp + l->sp_kind, &kind);
		if (!err)
			err = gh_mem_read_ptr(rt->mem, sp + l->sp_next, &next);
		if (err)
			break;
		uint64_t obj = s->base + offset / s->elem_bytes * s->elem_bytes;
		if (kind == l->kind_finalizer) {
			err = add_root(rt, roots, sp, obj, GH_RT_ROOT_FINALIZER);
			if (!err)
				err = gh_mem_read_ptr(rt->mem, sp + l->fin_fn, &v);
			if (!err)
				err = add_root(rt, roots, sp + l->fin_fn, v, GH_RT_ROOT_FINALIZER_FN);
		} else if (kind == l->kind_cleanup && l->cleanup_fn != RT_ABSENT) {
			err = gh_mem_read_ptr(rt->mem, sp + l->cleanup_fn, &v);
			if (!err)
				err = add_root(rt, roots, sp + l->cleanup_fn, v, GH_RT_ROOT_CLEANUP);
			if (!err && l->cleanup_arg != RT_ABSENT) {
				err = gh_mem_read_ptr(rt->mem, sp + l->cleanup_arg, &v);
				if (!err)
					err = add_root(rt, roots, sp + l->cleanup_arg, v,
						       GH_RT_ROOT_CLEANUP);
			}
		} else if (kind == l->kind_weak && l->weak_handle != RT_ABSENT) {
			err = gh_mem_read_ptr(rt->mem, sp + l->weak_handle, &v);
			if (!err)
				err = add_root(rt, roots, sp + l->weak_handle, v,
					       GH_RT_ROOT_WEAK_HANDLE);
		}
		sp = next;
	}
	if (err)
		return gh_error_wrap(err, "reading the specials of span 0x%" PRIx64, s->addr);
	return NULL;
}

/* Finalizers queued to run: their functions and objects are live. */
static struct gh_error *finq_roots(struct gh_rt *rt, const struct roots_layout *l,
				   struct root_vec *roots)
{
	struct gh_error *err;
	uint64_t fb, allfin;

	err = rt_find_global(rt, "runtime.allfin", &allfin);
	if (err) {
		/* The linker drops it from programs that never set one. */
		if (err->code == GH_ERR_NOT_FOUND) {
			gh_error_free(err);
			return NULL;
		}
		return err;
	}
	err = gh_mem_read_ptr(rt->mem, allfin, &fb);
	for (unsigned n = 0; !err && fb; n++) {
		uint32_t cnt;
		if (n == MAX_FINBLOCKS)
			return gh_error_new(GH_ERR_CORRUPT, "runtime.allfin does not end");
		err = gh_mem_read_u32(rt->mem, fb + l->fb_cnt, &cnt);
		if (!err && cnt > 4096 / l->fin_bytes)
			err = gh_error_new(GH_ERR_CORRUPT, "finalizer block 0x%" PRIx64
					   " claims %u entries", fb, cnt);
		for (uint32_t i = 0; !err && i < cnt; i++) {
			uint64_t f = fb + l->fb_fin + (uint64_t)i * l->fin_bytes, v;
			err = gh_mem_read_ptr(rt->mem, f + l->fin_fn_off, &v);
			if (!err)
				err = add_root(rt, roots, f + l->fin_fn_off, v, GH_RT_ROOT_FINQ);
			if (!err)
				err = gh_mem_read_ptr(rt->mem, f + l->fin_arg_off, &v);
			if (!err)
				err = add_root(rt, roots, f + l->fin_arg_off, v, GH_RT_ROOT_FINQ);
		}
		if (!err)
			err = gh_mem_read_ptr(rt->mem, fb + l->fb_alllink, &fb);
	}
	if (err)
		return gh_error_wrap(err, "reading the finalizer queue");
	return NULL;
}

struct gh_error *gh_rt_load_roots(struct gh_rt *rt, struct gh_rt_root **ret,
				  size_t *n_ret)
{
	struct gh_error *err;
	const struct gh_rt_heap *h;
	struct roots_layout l;
	struct root_vec roots = {0};

	err = gh_rt_load_heap(rt, &h);
	if (err)
		return err;
	roots_layout(rt, &l);
	err = module_roots(rt, &l, &roots);
	for (size_t i = 0; !err && i < h->n_spans; i++)
		err = special_roots(rt, &l, &h->spans[i], &roots);
	if (!err)
		err = finq_roots(rt, &l, &roots);
	if (err) {
		root_vec_deinit(&roots);
		return gh_error_wrap(err, "loading the GC roots");
	}
	*ret = roots.data;
	*n_ret = roots.n;
	return NULL;
}

const char *gh_rt_root_kind_name(enum gh_rt_root_kind kind)
{
	switch (kind) {
	case GH_RT_ROOT_DATA: return "data";
	case GH_RT_ROOT_BSS: return "bss";
	case GH_RT_ROOT_FINALIZER: return "finalizer";
	case GH_RT_ROOT_FINALIZER_FN: return "finalizer function";
	case GH_RT_ROOT_CLEANUP: return "cleanup";
	case GH_RT_ROOT_WEAK_HANDLE: return "weak handle";
	case GH_RT_ROOT_FINQ: return "queued finalizer";
	}
	return "unknown";
}
