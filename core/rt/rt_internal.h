/* rt_internal.h - private to core/rt: layouts and the gh_rt struct. */
#ifndef GH_RT_INTERNAL_H
#define GH_RT_INTERNAL_H

#include "gh_rt.h"

#define RT_ABSENT UINT32_MAX	/* a field this release does not have */

/*
 * Offsets and constants of the runtime structures goheap reads.  Filled
 * from DWARF (layout_from_dwarf) or, for stripped executables, from the
 * per-release table (layout_from_table).
 */
struct rt_layout {
	/* runtime.mheap */
	uint32_t mheap_allspans;
	/* runtime.mspan */
	uint32_t span_bytes;
	uint32_t span_start_addr, span_npages;
	uint32_t span_freeindex, span_freeindex_bytes;
	uint32_t span_nelems, span_nelems_bytes;
	uint32_t span_alloc_bits, span_spanclass, span_state;
	uint32_t span_elemsize, span_large_type, span_user_arena;
	/* runtime.g */
	uint32_t g_atomicstatus, g_goid, g_waitreason;
	/* runtime.moduledata */
	uint32_t md_types, md_etypes, md_next;
	/* internal/abi.Type (runtime._type before 1.21) */
	uint32_t type_size, type_ptr_bytes, type_tflag, type_kind, type_str;
	/* constants */
	int64_t span_in_use;		/* runtime.mSpanInUse */
	int64_t g_dead, g_dead_extra;	/* _Gdead, 1.26+ _Gdeadextra (-1) */
	int64_t g_scan;			/* _Gscan */
	uint64_t min_size_for_malloc_header;	/* 0: no malloc headers */
	uint64_t page_bytes;
	int64_t kind_mask;		/* Kind_ & mask = kind */
	bool green_tea;			/* spanInlineMarkBits exists */
};

struct gh_rt {
	struct gh_mem *mem;
	struct gh_dwarf *dw;		/* NULL for stripped */
	uint64_t bias;
	char *version;
	int release;			/* 122 for go1.22 */
	const char *layout_source;
	struct rt_layout l;

	uint64_t mheap_addr, allgs_addr, firstmoduledata_addr;

	bool heap_loaded;
	struct gh_rt_heap heap;
	struct gh_u64_map type_ids;	/* abi.Type address -> gh_rtype_id */
	size_t types_cap;
	struct rt_module { uint64_t types, etypes; } *modules;
	size_t n_modules;
	bool modules_loaded;
	struct rt_pcln *pcln;		/* pclntab.c */
};

struct gh_error *rt_find_global(struct gh_rt *rt, const char *name,
				uint64_t *ret);
struct gh_error *rt_read_string(struct gh_rt *rt, uint64_t addr,
				size_t max_bytes, char **ret);
struct gh_error *rt_read_slice(struct gh_rt *rt, uint64_t addr,
			       uint64_t *base_ret, uint64_t *len_ret);

/* pclntab.c: state is created on first use; freed by pcln_deinit. */
struct rt_pcln;
void pcln_deinit(struct gh_rt *rt);

/*
 * stripped.c: the address of a runtime global ("runtime.mheap_",
 * "runtime.allgs", "runtime.firstmoduledata", ...) in an executable with
 * neither DWARF nor symbols, found from pclntab, section bounds and the
 * code that uses the global.  GH_ERR_NOT_FOUND if it cannot be located.
 */
struct gh_error *stripped_find_global(struct gh_rt *rt, const char *name,
				      uint64_t *ret);

struct gh_error *layout_from_dwarf(struct gh_rt *rt);
struct gh_error *layout_from_table(struct gh_rt *rt);

struct gh_error *rt_intern_type(struct gh_rt *rt, uint64_t type_addr,
				gh_rtype_id *ret);
void rt_types_deinit(struct gh_rt *rt);

#endif
