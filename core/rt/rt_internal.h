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
	/*
	 * goroutines.c and unwind.c.  g.stack is a struct stack {lo, hi};
	 * g.sched a gobuf {sp, pc, g, ctxt, [ret,] lr, bp}: offsets below
	 * are from the g, nested fields added up.
	 */
	uint32_t g_stack_lo, g_stack_hi, g_m;
	uint32_t g_sched_sp, g_sched_pc, g_sched_lr, g_sched_bp;
	uint32_t g_syscallsp, g_syscallpc, g_waitsince, g_lockedm;
	uint32_t g_parent_goid;		/* 1.21+; RT_ABSENT before */
	uint32_t g_gopc, g_startpc;
	/* runtime.m */
	uint32_t m_g0, m_procid, m_gsignal, m_curg, m_id, m_alllink;
	uint32_t m_vdso_sp, m_vdso_pc;
	/* runtime.moduledata.gofunc: base of FUNCDATA offsets */
	uint32_t md_gofunc;
	/* status constants; _Gleaked is 1.26+ (-1 before) */
	int64_t g_running, g_syscall, g_waiting, g_leaked;
	/*
	 * ptrbits.c: abi.Type.GCData and the array and struct tails
	 * (internal/abi/type.go); what GCData holds: a GC program when
	 * Kind_ & kind_gc_prog (<= 1.23), a pointer to an on-demand mask
	 * when TFlag & tflag_gc_mask_on_demand (1.24+), 0 = no such bit;
	 * sizeof(runtime.spanInlineMarkBits), 0 without Green Tea.
	 */
	uint32_t type_gcdata, array_elem, array_len, struct_fields;
	uint32_t sfield_typ, sfield_offset, sfield_bytes;
	uint32_t kind_gc_prog, tflag_gc_mask_on_demand;
	uint32_t inline_mark_bytes;
	/* <= 1.21, 1.22 noallocheaders: heapArena.bitmap (else RT_ABSENT) */
	uint32_t mheap_arenas, heap_arena_bitmap;
	uint64_t arena_base_offset, heap_arena_bytes;
	int64_t arena_l1_bits;
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
	/* goroutines.c: runtime.waitReasonStrings, read on first use */
	char **wait_reasons;
	size_t n_wait_reasons;
	bool wait_reasons_loaded;
	struct rt_ptrbits *ptrbits;	/* ptrbits.c: cached type masks */
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
 * What unwinding needs of a function's _func record (runtime/runtime2.go
 * _func, identical 1.20-1.27): its pcvalue tables, funcID, flags, and
 * how many PCDATA tables and FUNCDATA words follow it.
 */
struct rt_func_info {
	uint32_t pcsp, pcfile, pcln;	/* offsets into pctab; 0 = none */
	uint32_t npcdata;
	uint8_t func_id, flag, nfuncdata;
};
/* internal/abi/symtab.go: FuncFlag, PCDATA and FUNCDATA indices. */
enum {
	RT_FUNCFLAG_TOPFRAME = 1,
	RT_FUNCFLAG_SPWRITE = 2,
	RT_FUNCFLAG_ASM = 4,
};
enum { RT_PCDATA_INLTREEINDEX = 2 };
enum { RT_FUNCDATA_INLTREE = 3 };

struct gh_error *pcln_func_info(struct gh_rt *rt, const struct gh_rt_func *f,
				struct rt_func_info *ret);
/*
 * The value pcvalue table gives pc in f; -1 when table is 0 (the
 * runtime's convention).  GH_ERR_NOT_FOUND when pc is past its end.
 */
struct gh_error *pcln_value(struct gh_rt *rt, const struct gh_rt_func *f,
			    uint32_t table, uint64_t pc, int32_t *ret);
/* PCDATA table index at pc; -1 when f has no such table. */
struct gh_error *pcln_pcdata(struct gh_rt *rt, const struct gh_rt_func *f,
			     const struct rt_func_info *fi, uint32_t index,
			     uint64_t pc, int32_t *ret);
/* Target address of FUNCDATA index (moduledata.gofunc + off); 0 if none. */
struct gh_error *pcln_funcdata(struct gh_rt *rt, const struct gh_rt_func *f,
			       const struct rt_func_info *fi, uint32_t index,
			       uint64_t *ret);
/* A name in funcnametab (inlinedCall.nameOff); owned by the gh_rt. */
struct gh_error *pcln_name(struct gh_rt *rt, int32_t name_off,
			   const char **ret);

/* goroutines.c: frees what gh_rt_wait_reason_name() cached. */
void goroutines_deinit(struct gh_rt *rt);

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

/*
 * fields.c: a field's offset or a constant from DWARF by name; with no
 * DWARF (or no such field) GH_ERR_NOT_FOUND, and the caller uses its
 * per-release table value.
 */
struct gh_error *rt_field_offset(struct gh_rt *rt, const char *type,
				 const char *field, uint32_t *ret);
bool rt_constant(struct gh_rt *rt, const char *name, int64_t *ret);
/* A uvarint length and that many bytes (type names, build info). */
struct gh_error *rt_read_varstring(struct gh_rt *rt, uint64_t addr,
				   size_t max_bytes, char **ret);

/* ptrbits.c: frees the type masks gh_rt_object_ptr_bits() cached. */
void ptrbits_deinit(struct gh_rt *rt);

#endif
