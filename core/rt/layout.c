/*
 * layout.c - where the runtime's fields are: from DWARF by name, or for a
 * stripped executable from the per-release table.
 *
 * Release differences are handled by asking whether a field or constant
 * exists (DWARF) rather than by comparing versions; only the table, which
 * has nothing else to go on, is keyed by release.
 */
#include <string.h>

#include "rt_internal.h"

struct field_req {
	const char *type, *field;
	uint32_t *off;
	uint32_t *bytes;	/* may be NULL */
	bool optional;		/* absent in some releases: RT_ABSENT */
};

static uint64_t type_bytes(const struct gh_dwarf *dw, gh_dtype_id id)
{
	/* Typedefs carry no size of their own: look through them. */
	for (int depth = 0; id != GH_DTYPE_NONE && depth < 16; depth++) {
		const struct gh_dwarf_type *t = gh_dwarf_type(dw, id);
		if (!t)
			return 0;
		if (t->size || t->tag != GH_DWARF_TYPEDEF)
			return t->size;
		id = t->elem;
	}
	return 0;
}

static struct gh_error *find_field(struct gh_rt *rt, const struct field_req *r)
{
	struct gh_error *err;
	const struct gh_dwarf_field *f;
	gh_dtype_id tid;

	err = gh_dwarf_find_type(rt->dw, r->type, &tid);
	if (!err)
		err = gh_dwarf_find_field(rt->dw, tid, r->field, &f);
	if (err) {
		if (err->code == GH_ERR_NOT_FOUND && r->optional) {
			gh_error_free(err);
			*r->off = RT_ABSENT;
			if (r->bytes)
				*r->bytes = 0;
			return NULL;
		}
		return gh_error_wrap(err, "looking up %s.%s in DWARF",
				     r->type, r->field);
	}
	if (f->offset > UINT32_MAX / 2)
		return gh_error_new(GH_ERR_CORRUPT, "DWARF puts %s.%s at offset %"
				    PRIu64, r->type, r->field, f->offset);
	*r->off = (uint32_t)f->offset;
	if (r->bytes)
		*r->bytes = (uint32_t)type_bytes(rt->dw, f->type);
	return NULL;
}

static bool constant(struct gh_rt *rt, const char *name, int64_t *ret)
{
	struct gh_error *err = gh_dwarf_find_constant(rt->dw, name, ret);
	if (err) {
		gh_error_free(err);
		return false;
	}
	return true;
}

static bool has_type(struct gh_rt *rt, const char *name)
{
	gh_dtype_id id;
	struct gh_error *err = gh_dwarf_find_type(rt->dw, name, &id);
	gh_error_free(err);
	return !err;
}

/* Defaults that every release 1.20-1.27 shares (go-runtime-internals.md). */
static void layout_defaults(struct rt_layout *l)
{
	l->span_in_use = 1;
	l->g_dead = 6;
	l->g_dead_extra = -1;
	l->g_scan = 0x1000;
	l->page_bytes = 8192;
	l->kind_mask = 0x1f;
	l->type_size = 0;
	l->type_ptr_bytes = 8;
	l->type_tflag = 0x14;
	l->type_kind = 0x17;
	l->type_str = 0x28;
}

struct gh_error *layout_from_dwarf(struct gh_rt *rt)
{
	struct rt_layout *l = &rt->l;
	struct gh_error *err;
	uint32_t span_addr_bytes;
	int64_t v;

	layout_defaults(l);
	/* The abi.Type descriptor was runtime._type before Go 1.21. */
	const char *abi_type = has_type(rt, "internal/abi.Type") ?
		"internal/abi.Type" : "runtime._type";
	const char *type_size = strcmp(abi_type, "runtime._type") ? "Size_" : "size";
	const char *type_ptr = strcmp(abi_type, "runtime._type") ? "PtrBytes" : "ptrdata";
	const char *type_tflag = strcmp(abi_type, "runtime._type") ? "TFlag" : "tflag";
	const char *type_kind = strcmp(abi_type, "runtime._type") ? "Kind_" : "kind";
	const char *type_str = strcmp(abi_type, "runtime._type") ? "Str" : "str";

	const struct field_req reqs[] = {
		{ "runtime.mheap", "allspans", &l->mheap_allspans },
		{ "runtime.mspan", "startAddr", &l->span_start_addr, &span_addr_bytes },
		{ "runtime.mspan", "npages", &l->span_npages },
		{ "runtime.mspan", "freeindex", &l->span_freeindex, &l->span_freeindex_bytes },
		{ "runtime.mspan", "nelems", &l->span_nelems, &l->span_nelems_bytes },
		{ "runtime.mspan", "allocBits", &l->span_alloc_bits },
		{ "runtime.mspan", "spanclass", &l->span_spanclass },
		{ "runtime.mspan", "state", &l->span_state },
		{ "runtime.mspan", "elemsize", &l->span_elemsize },
		/* Go 1.22: allocation headers; large objects keep their type here. */
		{ "runtime.mspan", "largeType", &l->span_large_type, NULL, true },
		{ "runtime.mspan", "isUserArenaChunk", &l->span_user_arena, NULL, true },
		{ "runtime.g", "atomicstatus", &l->g_atomicstatus },
		{ "runtime.g", "goid", &l->g_goid },
		{ "runtime.g", "waitreason", &l->g_waitreason },
		{ "runtime.moduledata", "types", &l->md_types },
		{ "runtime.moduledata", "etypes", &l->md_etypes },
		{ "runtime.moduledata", "next", &l->md_next },
		{ abi_type, type_size, &l->type_size },
		{ abi_type, type_ptr, &l->type_ptr_bytes },
		{ abi_type, type_tflag, &l->type_tflag },
		{ abi_type, type_kind, &l->type_kind },
		{ abi_type, type_str, &l->type_str },
	};
	for (size_t i = 0; i < GH_ARRAY_SIZE(reqs); i++) {
		err = find_field(rt, &reqs[i]);
		if (err)
			return err;
	}
	gh_dtype_id span_type;
	err = gh_dwarf_find_type(rt->dw, "runtime.mspan", &span_type);
	if (err)
		return err;
	l->span_bytes = (uint32_t)type_bytes(rt->dw, span_type);
	if (l->span_bytes < 64 || l->span_bytes > 4096)
		return gh_error_new(GH_ERR_CORRUPT, "DWARF says runtime.mspan is %u bytes",
				    l->span_bytes);
	if (l->span_freeindex_bytes != 2 && l->span_freeindex_bytes != 8)
		return gh_error_new(GH_ERR_UNSUPPORTED, "mspan.freeindex is %u bytes",
				    l->span_freeindex_bytes);
	if (l->span_nelems_bytes != 2 && l->span_nelems_bytes != 8)
		return gh_error_new(GH_ERR_UNSUPPORTED, "mspan.nelems is %u bytes",
				    l->span_nelems_bytes);

	if (constant(rt, "runtime.mSpanInUse", &v))
		l->span_in_use = v;
	if (constant(rt, "runtime._Gdead", &v))
		l->g_dead = v;
	/* Go 1.26: extra Ms' goroutines park in _Gdeadextra. */
	if (constant(rt, "runtime._Gdeadextra", &v))
		l->g_dead_extra = v;
	if (constant(rt, "runtime._Gscan", &v))
		l->g_scan = v;
	if (constant(rt, "runtime.pageSize", &v) && v > 0)
		l->page_bytes = (uint64_t)v;
	/*
	 * Go 1.22 added allocation headers; Go 1.25 moved the constant to
	 * internal/runtime/gc.
	 */
	if (constant(rt, "runtime.minSizeForMallocHeader", &v) ||
	    constant(rt, "internal/runtime/gc.MinSizeForMallocHeader", &v))
		l->min_size_for_malloc_header = (uint64_t)v;
	else if (l->span_large_type != RT_ABSENT)
		l->min_size_for_malloc_header = 512;
	/* Go 1.26: Kind_ holds the bare kind; DirectIface moved to TFlag. */
	if (constant(rt, "internal/abi.KindMask", &v))
		l->kind_mask = v;
	else if (rt->release >= 126)
		l->kind_mask = 0xff;
	/* Go 1.25 opt-in, 1.26 default: Green Tea's inline mark bits. */
	l->green_tea = has_type(rt, "runtime.spanInlineMarkBits");
	return NULL;
}

/*
 * Stripped executables: offsets measured from the DWARF of each release's
 * builds (linux/amd64 and linux/arm64 share them; go-runtime-internals.md).
 */
struct gh_error *layout_from_table(struct gh_rt *rt)
{
	struct rt_layout *l = &rt->l;
	int r = rt->release;

	layout_defaults(l);
	if (r < 121 || r > 127)
		return gh_error_new(GH_ERR_UNSUPPORTED,
				    "no built-in runtime layout for %s without DWARF"
				    " (known: go1.21 to go1.27); use an unstripped executable",
				    rt->version);
	l->mheap_allspans = 0x10148;
	l->span_start_addr = 0x18;
	l->span_npages = 0x20;
	if (r == 121) {
		l->span_bytes = 168;
		l->span_freeindex = 0x30, l->span_freeindex_bytes = 8;
		l->span_nelems = 0x38, l->span_nelems_bytes = 8;
		l->span_alloc_bits = 0x48;
		l->span_spanclass = 0x6a;
		l->span_state = 0x6b;
		l->span_user_arena = 0x6d;
		l->span_elemsize = 0x70;
		l->span_large_type = RT_ABSENT;
	} else {
		l->span_bytes = 160;
		l->span_freeindex = 0x30, l->span_freeindex_bytes = 2;
		l->span_nelems = 0x32, l->span_nelems_bytes = 2;
		l->span_alloc_bits = 0x40;
		l->span_spanclass = 0x62;
		l->span_state = 0x63;
		l->span_user_arena = 0x65;
		l->span_elemsize = 0x68;
		l->span_large_type = 0x98;
		/*
		 * Go 1.22 GOEXPERIMENT=noallocheaders keeps the 1.21 heap
		 * bitmap: no malloc headers (its DWARF says -1).
		 */
		l->min_size_for_malloc_header =
			r == 122 && strstr(rt->version, "noallocheaders") ? 0 : 512;
	}
	switch (r) {
	case 121: case 122:
		l->g_atomicstatus = 0x90, l->g_goid = 0x98, l->g_waitreason = 0xb0;
		break;
	case 123: case 124:
		l->g_atomicstatus = 0x98, l->g_goid = 0xa0, l->g_waitreason = 0xb8;
		break;
	default:
		l->g_atomicstatus = 0x90, l->g_goid = 0x98, l->g_waitreason = 0xb0;
		break;
	}
	l->md_types = 0x128;
	l->md_etypes = r >= 127 ? 0x138 : 0x130;
	l->md_next = r <= 122 ? 0x248 : r <= 125 ? 0x240 : r == 126 ? 0x248 : 0x230;
	if (r >= 126) {
		l->g_dead_extra = 11;
		l->kind_mask = 0xff;
	}
	l->green_tea = r >= 126 && !strstr(rt->version, "nogreenteagc");
	if (r == 125 && strstr(rt->version, "greenteagc"))
		l->green_tea = true;
	return NULL;
}
