/*
 * gh_rt.h - the Go runtime model: version, layouts, modules, spans and
 * every allocated heap object.
 *
 * Reads the runtime's own bookkeeping out of the core, the way the garbage
 * collector sees it: mheap_.allspans, each in-use span's allocation bits
 * (allocated(i) = i < freeindex || allocBits[i]), its size class, and the
 * runtime type the 1.22+ allocator records (malloc header for scan objects
 * over 512 bytes, mspan.largeType for large ones).  Struct layouts and
 * constants come from the executable's DWARF by name; a stripped
 * executable falls back to per-release tables (layout.c).
 *
 * Objects get dense ids in address order (gh_obj_id), stored as parallel
 * arrays: no allocation per object.
 *
 * May include: core/base, core/mem, dwarf.    Used by: core/graph and up.
 */
#ifndef GH_RT_H
#define GH_RT_H

#include "../base/gh_base.h"
#include "../mem/gh_mem.h"
#include "../../dwarf/gh_dwarf.h"

typedef uint32_t gh_obj_id;
#define GH_RT_CHUNK_SHIFT 26
#define GH_OBJ_NONE UINT32_MAX

/* Span flags. */
enum {
	GH_SPAN_NOSCAN = 1,	/* spanclass & 1: objects hold no pointers */
	GH_SPAN_LARGE = 2,	/* size class 0: one object of npages pages */
	GH_SPAN_HEADER = 4,	/* objects start with an 8-byte malloc header */
	GH_SPAN_INLINE_MARKS = 8, /* Green Tea: last 128 bytes hold mark bits */
};

struct gh_rt_span {
	uint64_t addr;		/* the mspan itself */
	uint64_t base;		/* startAddr */
	uint64_t elem_bytes;	/* elemsize */
	uint64_t large_type;	/* 1.22+ largeType (*abi.Type), or 0 */
	uint32_t npages;
	uint32_t nelems;
	uint32_t first_obj;	/* id of the span's first allocated object */
	uint32_t bits_word;	/* its allocation bits in gh_rt_heap.alloc_bits */
	uint32_t n_objs;	/* allocated objects */
	uint8_t size_class;
	uint8_t flags;
};

/* A runtime type descriptor (abi.Type) the heap refers to. */
struct gh_rt_type {
	uint64_t addr;
	uint64_t size;		/* Size_ */
	uint64_t ptr_bytes;	/* PtrBytes */
	uint8_t kind;		/* Kind_ without flag bits */
	uint8_t tflag;
	char *name;		/* "*main.T", "[]uint8", ... */
};

typedef uint32_t gh_rtype_id;
#define GH_RTYPE_NONE UINT32_MAX

struct gh_rt_heap {
	size_t n_spans;
	struct gh_rt_span *spans;	/* in-use heap spans, by base */
	size_t n_objs;
	uint64_t *obj_addr;		/* [n_objs], ascending */
	uint32_t *obj_span;		/* [n_objs], index into spans */
	gh_rtype_id *obj_type;		/* [n_objs], GH_RTYPE_NONE if unknown */
	size_t n_types;
	struct gh_rt_type *types;
	uint64_t total_bytes;		/* sum of elem_bytes of objects */
	size_t n_spans_manual;		/* stack spans etc., not heap */
	/*
	 * Address -> object in O(1) (heap.c): each 64 MiB chunk of the
	 * address space that holds spans has a table of its pages' spans;
	 * each span's allocation bits with, per 64-bit word, the count of
	 * allocated objects before it, turn a slot into a dense id.
	 */
	uint64_t *alloc_bits;
	uint32_t *alloc_rank;
	struct gh_u64_map chunk_ids;	/* addr >> GH_RT_CHUNK_SHIFT -> chunk */
	uint32_t *chunk_pages;		/* [chunk][page]: span index + 1, or 0 */
	unsigned page_shift;
};

struct gh_rt;

/*
 * Reads the runtime model from the core.  dw may be NULL (stripped
 * executable).  Errors: GH_ERR_NOT_FOUND when the program is not Go (no
 * runtime.buildVersion), GH_ERR_UNSUPPORTED for a release or layout we do
 * not know, GH_ERR_FAULT / GH_ERR_CORRUPT for damaged runtime structures.
 */
GH_MUST_CHECK struct gh_error *gh_rt_create(struct gh_mem *mem,
					    struct gh_dwarf *dw,
					    struct gh_rt **ret);
void gh_rt_destroy(struct gh_rt *rt);

/* The address space the model reads. */
struct gh_mem *gh_rt_mem(const struct gh_rt *rt);

/* "go1.22.12" (with any experiment suffix, as the linker wrote it). */
const char *gh_rt_go_version(const struct gh_rt *rt);
/* Major.minor as 122 for go1.22.x. */
int gh_rt_go_release(const struct gh_rt *rt);
/* Where layouts came from: "dwarf" or "table". */
const char *gh_rt_layout_source(const struct gh_rt *rt);

/* Enumerates every allocated heap object (first call does the work). */
GH_MUST_CHECK struct gh_error *gh_rt_load_heap(struct gh_rt *rt,
					       const struct gh_rt_heap **ret);

/* Goroutines in runtime.allgs. */
struct gh_rt_goroutine {
	uint64_t addr;		/* the g */
	uint64_t goid;
	uint32_t status;	/* atomicstatus without _Gscan */
	uint8_t wait_reason;
	/* Filled by goroutines.c as far as the release records them: */
	uint64_t parent_goid;	/* 0 if none or not recorded */
	uint64_t gopc;		/* pc of the go statement */
	uint64_t startpc;	/* the goroutine's function */
	int64_t wait_since;	/* nanotime when it parked, 0 if unknown */
	uint64_t stack_lo, stack_hi;
	bool locked_to_thread;	/* g.lockedm != 0 (runtime.LockOSThread) */
};
GH_MUST_CHECK struct gh_error *gh_rt_load_goroutines(struct gh_rt *rt,
						     struct gh_rt_goroutine **ret,
						     size_t *n_ret);
/* False for _Gdead (and 1.26+ _Gdeadextra): a g on the free list. */
bool gh_rt_goroutine_live(const struct gh_rt *rt,
			  const struct gh_rt_goroutine *g);

/* The runtime's name for a status ("running", "chan receive", ...). */
const char *gh_rt_status_name(const struct gh_rt *rt, uint32_t status);
/* NULL if runtime.waitReasonStrings cannot be read. */
const char *gh_rt_wait_reason_name(struct gh_rt *rt, uint8_t reason);
/*
 * An estimate of nanotime() when the core was taken, to measure waits by
 * (wait_since): the latest time stamp the runtime recorded, so waits come
 * out as lower bounds.  GH_ERR_NOT_FOUND if there is none.
 */
GH_MUST_CHECK struct gh_error *gh_rt_nanotime(struct gh_rt *rt,
					      const struct gh_rt_goroutine *gs,
					      size_t n_gs, int64_t *ret);

/* One frame of a goroutine's stack, innermost first. */
struct gh_rt_frame {
	uint64_t pc;		/* the return address, or the pc of the innermost */
	uint64_t sp, fp;
	const char *func;	/* owned by the gh_rt */
	const char *file;
	uint32_t line;
	bool inlined;		/* an inlined call inside the next frame's function */
	bool conservative;	/* not at a safe point: scan conservatively */
};
/*
 * Unwinds goroutine g (gobuf, syscall state, or the registers of the thread
 * running it) into *ret (gh_malloc'd, caller frees), innermost first, with
 * inlined calls expanded as the runtime's own traceback prints them.
 */
GH_MUST_CHECK struct gh_error *gh_rt_unwind(struct gh_rt *rt,
					    const struct gh_rt_goroutine *g,
					    struct gh_rt_frame **ret,
					    size_t *n_ret);

/*
 * The pointer bitmap of object id, as the GC sees it: bit i (LSB-first in
 * byte i/8) set means word i of the object, counted from its base (the
 * malloc header is word 0 when there is one), holds a pointer the GC would
 * follow.  ret holds (elem_bytes / 8 + 7) / 8 bytes.  Loads the heap if
 * that is not done yet; caches each runtime type's mask, so a heap of
 * many objects of few types reads each type once.  Errors: GH_ERR_CORRUPT
 * naming the type or object (a type that does not fit its object, a bad
 * GC program or struct), GH_ERR_FAULT, GH_ERR_LIMIT (types nested too
 * deep), GH_ERR_NOT_FOUND (no such id).
 */
GH_MUST_CHECK struct gh_error *gh_rt_object_ptr_bits(struct gh_rt *rt,
						     gh_obj_id id,
						     uint8_t *ret);

/*
 * Roots other than goroutine stacks, as the GC's markroot finds them
 * (runtime/mgcmark.go): pointer words of every module's data and bss
 * (moduledata.gcdatamask / gcbssmask), span specials, and the finalizer
 * queue.  Only words that point into an allocated heap object are listed.
 */
enum gh_rt_root_kind {
	GH_RT_ROOT_DATA,	/* slot: the word in .data */
	GH_RT_ROOT_BSS,		/* slot: the word in .bss */
	GH_RT_ROOT_FINALIZER,	/* obj has a finalizer: its referents are
				 * roots, obj itself is not (slot: special) */
	GH_RT_ROOT_FINALIZER_FN, /* the finalizer's funcval (slot: special) */
	GH_RT_ROOT_CLEANUP,	/* a cleanup's funcval or argument (1.24+) */
	GH_RT_ROOT_WEAK_HANDLE,	/* the 8-byte handle, not its target */
	GH_RT_ROOT_FINQ,	/* a queued finalizer's fn or object */
};

struct gh_rt_root {
	uint64_t slot;		/* where the pointer was found */
	uint64_t value;		/* the pointer */
	gh_obj_id obj;		/* the object it points into */
	uint8_t kind;		/* enum gh_rt_root_kind */
};

/* Loads the heap first if needed.  *ret is gh_malloc'd; the caller frees. */
GH_MUST_CHECK struct gh_error *gh_rt_load_roots(struct gh_rt *rt,
						struct gh_rt_root **ret,
						size_t *n_ret);
const char *gh_rt_root_kind_name(enum gh_rt_root_kind kind);

/* The object containing addr (interior pointers resolve to the base). */
gh_obj_id gh_rt_find_object(const struct gh_rt_heap *heap, uint64_t addr);

/* The size class's human name for objects of unknown type. */
void gh_rt_describe_untyped(const struct gh_rt_heap *heap, gh_obj_id id,
			    char *buf, size_t len);

/*
 * Functions, from the executable's pclntab (present even in stripped
 * builds).  Names and file names belong to the gh_rt.
 */
struct gh_rt_func {
	uint64_t entry;		/* target address of the first instruction */
	uint64_t end;		/* one past the last */
	const char *name;	/* "runtime.mallocgc", "main.(*T).Run" */
	uint32_t func_off;	/* offset of its _func record in pclntable */
};
/* The function containing pc; GH_ERR_NOT_FOUND outside Go text. */
GH_MUST_CHECK struct gh_error *gh_rt_find_func(struct gh_rt *rt, uint64_t pc,
					       struct gh_rt_func *ret);
GH_MUST_CHECK struct gh_error *gh_rt_find_func_by_name(struct gh_rt *rt,
						       const char *name,
						       struct gh_rt_func *ret);
/* File and line of pc within f (the outermost function; no inlining). */
GH_MUST_CHECK struct gh_error *gh_rt_func_line(struct gh_rt *rt,
					       const struct gh_rt_func *f,
					       uint64_t pc, const char **file_ret,
					       uint32_t *line_ret);

#endif /* GH_RT_H */
