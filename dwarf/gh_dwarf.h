/*
 * gh_dwarf.h - types, globals and constants from a Go executable's DWARF.
 *
 * Loads, with libdwarf, what goheap needs to read the Go runtime by name
 * instead of by hard-coded offset: struct layouts ("runtime.mspan" and its
 * fields), package-level constants ("runtime.mSpanInUse"), global variables
 * with their link-time addresses and types ("runtime.mheap_", "main.cache"),
 * and for every type its Go kind (DW_AT_go_kind) and the address of its
 * runtime type descriptor (DW_AT_go_runtime_type).
 *
 * Addresses are link-time: add gh_mem_load_bias() for a PIE.  Types get
 * dense ids (gh_dtype_id); strings belong to the gh_dwarf and live as long
 * as it does.  A stripped executable has no DWARF: gh_dwarf_open() returns
 * GH_ERR_NOT_FOUND, and callers fall back to per-release tables.
 *
 * May include: libc, libdwarf, libelf, core/base.    Used by: core/rt and up.
 */
#ifndef GH_DWARF_H
#define GH_DWARF_H

#include "../core/base/gh_base.h"

typedef uint32_t gh_dtype_id;
#define GH_DTYPE_NONE UINT32_MAX

/* What a DWARF type DIE is (its tag, simplified). */
enum gh_dwarf_tag {
	GH_DWARF_BASE,		/* DW_TAG_base_type: int, uint8, float64, ... */
	GH_DWARF_POINTER,	/* elem = pointee (GH_DTYPE_NONE: unsafe.Pointer) */
	GH_DWARF_STRUCT,	/* also Go strings, slices, interfaces */
	GH_DWARF_ARRAY,		/* elem, count */
	GH_DWARF_TYPEDEF,	/* elem = the aliased type */
	GH_DWARF_FUNC,		/* DW_TAG_subroutine_type */
	GH_DWARF_OTHER,		/* unspecified types, ... */
};

/* Go kinds as DW_AT_go_kind writes them (reflect.Kind numbering). */
enum gh_go_kind {
	GH_GO_KIND_NONE = 0,
	GH_GO_KIND_BOOL = 1,
	GH_GO_KIND_INT = 2,
	GH_GO_KIND_UINTPTR = 12,
	GH_GO_KIND_ARRAY = 17,
	GH_GO_KIND_CHAN = 18,
	GH_GO_KIND_FUNC = 19,
	GH_GO_KIND_INTERFACE = 20,
	GH_GO_KIND_MAP = 21,
	GH_GO_KIND_PTR = 22,
	GH_GO_KIND_SLICE = 23,
	GH_GO_KIND_STRING = 24,
	GH_GO_KIND_STRUCT = 25,
	GH_GO_KIND_UNSAFE_POINTER = 26,
};

struct gh_dwarf_type {
	const char *name;	/* "runtime.mspan", "*main.T", "[]uint8"; may be "" */
	enum gh_dwarf_tag tag;
	uint8_t go_kind;	/* enum gh_go_kind, 0 if not given */
	uint64_t size;		/* DW_AT_byte_size (0 if none) */
	uint64_t runtime_type;	/* DW_AT_go_runtime_type (link-time), 0 if none */
	gh_dtype_id elem;	/* pointer/array/typedef target (DW_AT_type) */
	gh_dtype_id go_key;	/* maps: DW_AT_go_key */
	gh_dtype_id go_elem;	/* maps, channels: DW_AT_go_elem */
	uint64_t count;		/* arrays: number of elements */
	uint32_t first_field;	/* structs: index into the field table */
	uint32_t n_fields;
};

struct gh_dwarf_field {
	const char *name;
	gh_dtype_id type;
	uint64_t offset;	/* DW_AT_data_member_location */
};

struct gh_dwarf_var {
	const char *name;	/* "main.cache" */
	uint64_t addr;		/* link-time */
	gh_dtype_id type;
};

struct gh_dwarf;

/*
 * Reads the DWARF of the ELF executable at path.  GH_ERR_NOT_FOUND: the
 * file has no DWARF (stripped).  GH_ERR_CORRUPT: libdwarf could not read it
 * (the message has libdwarf's words and the DIE offset).
 */
GH_MUST_CHECK struct gh_error *gh_dwarf_open(const char *path,
					     struct gh_dwarf **ret);
void gh_dwarf_close(struct gh_dwarf *dw);	/* NULL is fine */

size_t gh_dwarf_n_types(const struct gh_dwarf *dw);
const struct gh_dwarf_type *gh_dwarf_type(const struct gh_dwarf *dw,
					  gh_dtype_id id);
const struct gh_dwarf_field *gh_dwarf_field_at(const struct gh_dwarf *dw,
					       uint32_t index);
size_t gh_dwarf_n_fields(const struct gh_dwarf *dw);

/*
 * The type a typedef chain ends at (id itself if not a typedef).  Also
 * looks through C's const/volatile.  GH_ERR_CORRUPT: a chain that names
 * no type, or a cycle; GH_ERR_NOT_FOUND: id is not a type.
 */
GH_MUST_CHECK struct gh_error *gh_dwarf_strip_typedefs(const struct gh_dwarf *dw,
						       gh_dtype_id id,
						       gh_dtype_id *ret);

/* A named type; when several DIEs share a name, the first complete one. */
GH_MUST_CHECK struct gh_error *gh_dwarf_find_type(const struct gh_dwarf *dw,
						  const char *name,
						  gh_dtype_id *ret);
/* The type whose DW_AT_go_runtime_type is addr (link-time). */
GH_MUST_CHECK struct gh_error *gh_dwarf_find_type_by_runtime(
	const struct gh_dwarf *dw, uint64_t addr, gh_dtype_id *ret);
/* A field of a struct type, by name (typedefs are looked through). */
GH_MUST_CHECK struct gh_error *gh_dwarf_find_field(const struct gh_dwarf *dw,
						   gh_dtype_id type,
						   const char *name,
						   const struct gh_dwarf_field **ret);

/* A package-level constant ("runtime.mSpanInUse"). */
GH_MUST_CHECK struct gh_error *gh_dwarf_find_constant(const struct gh_dwarf *dw,
						      const char *name,
						      int64_t *ret);

/* Global variables, sorted by address. */
size_t gh_dwarf_n_globals(const struct gh_dwarf *dw);
const struct gh_dwarf_var *gh_dwarf_global(const struct gh_dwarf *dw, size_t i);
GH_MUST_CHECK struct gh_error *gh_dwarf_find_global(const struct gh_dwarf *dw,
						    const char *name,
						    const struct gh_dwarf_var **ret);

#endif /* GH_DWARF_H */
