/*
 * dwarf_internal.h - private to dwarf/: the loaded tables, the string arena,
 * the name indexes, and the loader's entry point.
 *
 * A gh_dwarf keeps no libdwarf state: gh_dwarf_open() walks every DIE once
 * (load.c), copies what it needs into the compact arrays below, and calls
 * dwarf_finish() before it returns.
 */
#ifndef GH_DWARF_INTERNAL_H
#define GH_DWARF_INTERNAL_H

#include <libdwarf/libdwarf.h>

#include "gh_dwarf.h"

/* Strings copied out of libdwarf, freed all at once by gh_dwarf_close(). */
struct dw_arena_block;
struct dw_arena {
	struct dw_arena_block *head;
	char *cur;
	size_t left;
};

/* NULL when out of memory; "" is not copied. */
const char *dw_arena_strdup(struct dw_arena *a, const char *s);
void dw_arena_deinit(struct dw_arena *a);

/*
 * Name -> id.  The map is keyed by a 64-bit hash of the name; the caller
 * compares the name of the id it gets back, and on the (rare) hash collision
 * between two different names, sets `collided` so that lookups that miss
 * fall back to a linear scan.
 */
struct dw_name_index {
	struct gh_u64_map map;
	bool collided;
};

uint64_t dw_name_key(const char *name);

struct dw_const {
	const char *name;
	int64_t value;
};

struct gh_dwarf {
	struct gh_dwarf_type *types;
	size_t n_types;
	struct gh_dwarf_field *fields;
	size_t n_fields;
	struct dw_const *consts;
	size_t n_consts;
	struct gh_dwarf_var *globals;	/* sorted by address */
	size_t n_globals;

	struct dw_name_index type_names;	/* first complete type of a name */
	struct dw_name_index const_names;
	struct dw_name_index global_names;
	struct gh_u64_map by_runtime;		/* runtime_type -> first type */

	struct dw_arena strings;
};

/*
 * Where DW_AT_go_runtime_type counts from.  The Go linker writes it as an
 * R_ADDROFF: the offset of the type descriptor from the start of the section
 * that holds the descriptors, which the symbol runtime.types marks
 * (cmd/internal/dwarf putattr, DW_CLS_GO_TYPEREF; cmd/link/internal/ld
 * data.go, R_ADDROFF), in every release goheap reads (1.22-1.27).
 */
struct dw_elf_facts {
	bool big_endian;
	bool has_types_base;
	uint64_t types_base;
};

/* What attr.c needs to read a DIE and to name it in errors. */
struct dw_reader {
	Dwarf_Debug dbg;
	Dwarf_Off die_off;	/* the DIE being read */
	Dwarf_Half addr_bytes;	/* of the current CU */
	bool big_endian;
};

/* The attributes goheap reads, from any DIE: `have` says which were. */
enum {
	DW_HAVE_NAME = 1u << 0,
	DW_HAVE_SIZE = 1u << 1,
	DW_HAVE_TYPE = 1u << 2,
	DW_HAVE_KIND = 1u << 3,
	DW_HAVE_RTYPE = 1u << 4,
	DW_HAVE_KEY = 1u << 5,
	DW_HAVE_ELEM = 1u << 6,
	DW_HAVE_MEMBER_LOC = 1u << 7,
	DW_HAVE_CONST = 1u << 8,
	DW_HAVE_COUNT = 1u << 9,
	DW_HAVE_ADDR = 1u << 10,
	DW_HAVE_ENCODING = 1u << 11,
};

struct dw_die_attrs {
	unsigned have;
	const char *name;	/* libdwarf's: copy it, never free it */
	uint64_t size;		/* DW_AT_byte_size */
	uint64_t rtype;		/* DW_AT_go_runtime_type, as written */
	uint64_t member_loc;	/* DW_AT_data_member_location */
	uint64_t count;		/* DW_AT_count, or DW_AT_upper_bound + 1 */
	uint64_t addr;		/* DW_AT_location that is one DW_OP_addr */
	Dwarf_Off type, key, elem;	/* DW_AT_type, _go_key, _go_elem */
	uint8_t kind, encoding;	/* DW_AT_go_kind, DW_AT_encoding */
	uint64_t const_raw;	/* DW_AT_const_value */
	uint8_t const_bytes;	/* its DW_FORM_dataN width, 0: exact */
};

/* attr.c.  Consumes derr; the message names r->die_off. */
struct gh_error *dw_lib_error(struct dw_reader *r, Dwarf_Error derr,
			      const char *what);
GH_MUST_CHECK struct gh_error *dw_read_attrs(struct dw_reader *r,
					     Dwarf_Die die,
					     struct dw_die_attrs *ret);

/* load.c: fills an empty dw from dbg.  Errors name the DIE offset. */
GH_MUST_CHECK struct gh_error *dw_load(struct gh_dwarf *dw, Dwarf_Debug dbg,
				       const struct dw_elf_facts *elf);

/* Most typedefs goheap will look through before calling it a cycle. */
enum { DW_MAX_TYPEDEF_HOPS = 64 };

#endif /* GH_DWARF_INTERNAL_H */
