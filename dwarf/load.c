/*
 * load.c - one pass over every DIE of every compilation unit.
 *
 * The walk keeps its path from the CU DIE down in an explicit stack (no
 * recursion: the depth follows the input).  Each frame says what its
 * children are (enum walk_ctx), so visit() decides per (context, tag) what
 * to record and whether to descend.  Today it descends into CUs, structs
 * and arrays only; frame variables will add a CTX_FUNC for subprograms
 * (parameters, locals, lexical blocks) without touching the walk itself.
 *
 * DW_AT_type and friends are DIE offsets; they are kept as offsets while
 * walking and turned into type ids at the end, through a DIE offset -> id
 * map, so a reference may point forward or into another CU.
 *
 * attr.c reads the attributes of one DIE, Go's own included.
 */
#include <stdlib.h>
#include <string.h>

#include <libdwarf/dwarf.h>

#include "dwarf_internal.h"

#define NO_REF ((Dwarf_Off)-1)

/* What the children of a frame's DIE are. */
enum walk_ctx {
	CTX_SKIP,	/* do not descend */
	CTX_CU,		/* package level: types, constants, globals, functions */
	CTX_STRUCT,	/* members of the type `owner` */
	CTX_ARRAY,	/* subranges of the type `owner` */
};

struct frame {
	Dwarf_Die die;
	enum walk_ctx ctx;
	gh_dtype_id owner;
	uint32_t n_seen;	/* CTX_ARRAY: subranges seen so far */
};

/* Per type, what is known only as DIE offsets until the walk is over. */
struct type_refs {
	Dwarf_Off elem, key, go_elem;
	uint64_t runtime_off;
	bool has_runtime;
	uint8_t encoding;	/* DW_AT_encoding of base types */
};

struct field_rec {
	gh_dtype_id owner;
	const char *name;
	Dwarf_Off type;
	uint64_t offset;
};

struct const_rec {
	const char *name;
	uint64_t raw;
	uint8_t bytes;		/* DW_FORM_dataN width; 0: raw is the value */
	Dwarf_Off type;
};

struct var_rec {
	const char *name;
	uint64_t addr;
	Dwarf_Off type;
	uint32_t seq;		/* DIE order: ties in address sort stably */
};

GH_VEC(frame_vec, struct frame)
GH_VEC(type_vec, struct gh_dwarf_type)
GH_VEC(refs_vec, struct type_refs)
GH_VEC(field_rec_vec, struct field_rec)
GH_VEC(const_rec_vec, struct const_rec)
GH_VEC(var_rec_vec, struct var_rec)

struct loader {
	struct dw_reader rd;		/* dbg, the DIE being visited */
	struct gh_dwarf *dw;
	const struct dw_elf_facts *elf;

	struct frame_vec stack;
	struct type_vec types;
	struct refs_vec refs;
	struct field_rec_vec fields;
	struct const_rec_vec consts;
	struct var_rec_vec vars;
	struct gh_u64_map die_type;	/* type DIE offset -> id */
};

static struct gh_error *cu_error(struct loader *ld, Dwarf_Error derr,
				 uint64_t cu_off, const char *what)
{
	struct gh_error *err;

	err = gh_error_new(GH_ERR_CORRUPT, "CU at 0x%" PRIx64 ": %s: %s",
			   cu_off, what,
			   derr ? dwarf_errmsg(derr) : "unknown libdwarf error");
	dwarf_dealloc_error(ld->rd.dbg, derr);
	return err;
}

static bool type_tag(Dwarf_Half tag, enum gh_dwarf_tag *ret)
{
	switch (tag) {
	case DW_TAG_base_type:
	case DW_TAG_enumeration_type:
		*ret = GH_DWARF_BASE;
		return true;
	case DW_TAG_pointer_type:
	case DW_TAG_reference_type:
	case DW_TAG_rvalue_reference_type:
		*ret = GH_DWARF_POINTER;
		return true;
	case DW_TAG_structure_type:
	case DW_TAG_union_type:
	case DW_TAG_class_type:
		*ret = GH_DWARF_STRUCT;
		return true;
	case DW_TAG_array_type:
		*ret = GH_DWARF_ARRAY;
		return true;
	/* Qualifiers (C code linked in with cgo) alias their type like a
	 * typedef does, so lookups look through them too. */
	case DW_TAG_typedef:
	case DW_TAG_const_type:
	case DW_TAG_volatile_type:
	case DW_TAG_restrict_type:
	case DW_TAG_atomic_type:
		*ret = GH_DWARF_TYPEDEF;
		return true;
	case DW_TAG_subroutine_type:
		*ret = GH_DWARF_FUNC;
		return true;
	case DW_TAG_unspecified_type:
		*ret = GH_DWARF_OTHER;
		return true;
	default:
		return false;
	}
}

static struct gh_error *copy_name(struct loader *ld, const struct dw_die_attrs *a,
				  const char **ret)
{
	const char *s = "";

	if (a->have & DW_HAVE_NAME) {
		s = dw_arena_strdup(&ld->dw->strings, a->name);
		if (!s)
			return &gh_enomem;
	}
	*ret = s;
	return NULL;
}

static struct gh_error *add_type(struct loader *ld, Dwarf_Die die,
				 enum gh_dwarf_tag tag, struct frame *child)
{
	struct gh_error *err;
	struct dw_die_attrs a;
	const char *name;

	err = dw_read_attrs(&ld->rd, die, &a);
	if (err)
		return err;
	if (ld->types.n >= GH_DTYPE_NONE)
		return gh_error_new(GH_ERR_LIMIT, "more than %" PRIu32
				    " type DIEs", GH_DTYPE_NONE - 1);
	err = copy_name(ld, &a, &name);
	if (err)
		return err;

	gh_dtype_id id = (gh_dtype_id)ld->types.n;
	struct gh_dwarf_type t = {
		.name = name,
		.tag = tag,
		.go_kind = a.have & DW_HAVE_KIND ? a.kind : 0,
		.size = a.have & DW_HAVE_SIZE ? a.size : 0,
		.elem = GH_DTYPE_NONE,
		.go_key = GH_DTYPE_NONE,
		.go_elem = GH_DTYPE_NONE,
	};
	struct type_refs r = {
		.elem = a.have & DW_HAVE_TYPE ? a.type : NO_REF,
		.key = a.have & DW_HAVE_KEY ? a.key : NO_REF,
		.go_elem = a.have & DW_HAVE_ELEM ? a.elem : NO_REF,
		.runtime_off = a.rtype,
		.has_runtime = a.have & DW_HAVE_RTYPE,
		.encoding = a.have & DW_HAVE_ENCODING ? a.encoding : 0,
	};
	if (!type_vec_push(&ld->types, t) || !refs_vec_push(&ld->refs, r) ||
	    !gh_u64_map_put(&ld->die_type, ld->rd.die_off, id))
		return &gh_enomem;

	if (tag == GH_DWARF_STRUCT)
		child->ctx = CTX_STRUCT;
	else if (tag == GH_DWARF_ARRAY)
		child->ctx = CTX_ARRAY;
	child->owner = id;
	return NULL;
}

static struct gh_error *add_field(struct loader *ld, Dwarf_Die die,
				  gh_dtype_id owner)
{
	struct gh_error *err;
	struct dw_die_attrs a;
	struct field_rec f = { .owner = owner };

	err = dw_read_attrs(&ld->rd, die, &a);
	if (!err)
		err = copy_name(ld, &a, &f.name);
	if (err)
		return err;
	if (ld->fields.n >= UINT32_MAX)
		return gh_error_new(GH_ERR_LIMIT, "more than %" PRIu32
				    " struct members", UINT32_MAX - 1);
	f.type = a.have & DW_HAVE_TYPE ? a.type : NO_REF;
	/* No location: a union member, at offset 0. */
	f.offset = a.have & DW_HAVE_MEMBER_LOC ? a.member_loc : 0;
	return field_rec_vec_push(&ld->fields, f) ? NULL : &gh_enomem;
}

/* Go arrays have one subrange; for C's a[2][3] goheap keeps the first. */
static struct gh_error *add_subrange(struct loader *ld, Dwarf_Die die,
				     struct frame *parent)
{
	struct gh_error *err;
	struct dw_die_attrs a;

	if (parent->n_seen++)
		return NULL;
	err = dw_read_attrs(&ld->rd, die, &a);
	if (err)
		return err;
	if (a.have & DW_HAVE_COUNT)
		ld->types.data[parent->owner].count = a.count;
	return NULL;
}

static struct gh_error *add_constant(struct loader *ld, Dwarf_Die die)
{
	struct gh_error *err;
	struct dw_die_attrs a;
	struct const_rec c;

	err = dw_read_attrs(&ld->rd, die, &a);
	if (err)
		return err;
	if (!(a.have & DW_HAVE_NAME) || !(a.have & DW_HAVE_CONST))
		return NULL;
	err = copy_name(ld, &a, &c.name);
	if (err)
		return err;
	c.raw = a.const_raw;
	c.bytes = a.const_bytes;
	c.type = a.have & DW_HAVE_TYPE ? a.type : NO_REF;
	return const_rec_vec_push(&ld->consts, c) ? NULL : &gh_enomem;
}

static struct gh_error *add_global(struct loader *ld, Dwarf_Die die)
{
	struct gh_error *err;
	struct dw_die_attrs a;
	struct var_rec v;

	err = dw_read_attrs(&ld->rd, die, &a);
	if (err)
		return err;
	/* Declarations, TLS and optimized-out variables have no DW_OP_addr. */
	if (!(a.have & DW_HAVE_NAME) || !(a.have & DW_HAVE_ADDR))
		return NULL;
	if (ld->vars.n >= UINT32_MAX)
		return gh_error_new(GH_ERR_LIMIT, "more than %" PRIu32
				    " global variables", UINT32_MAX - 1);
	err = copy_name(ld, &a, &v.name);
	if (err)
		return err;
	v.addr = a.addr;
	v.type = a.have & DW_HAVE_TYPE ? a.type : NO_REF;
	v.seq = (uint32_t)ld->vars.n;
	return var_rec_vec_push(&ld->vars, v) ? NULL : &gh_enomem;
}

/*
 * Records what die says, given what its parent's children are, and sets
 * child->ctx (CTX_SKIP unless the walk should descend) and child->owner.
 */
static struct gh_error *visit(struct loader *ld, Dwarf_Die die,
			      struct frame *parent, struct frame *child)
{
	Dwarf_Error derr = NULL;
	enum gh_dwarf_tag tt;
	Dwarf_Half tag;

	if (dwarf_dieoffset(die, &ld->rd.die_off, &derr) != DW_DLV_OK)
		return dw_lib_error(&ld->rd, derr, "reading its offset");
	if (dwarf_tag(die, &tag, &derr) != DW_DLV_OK)
		return dw_lib_error(&ld->rd, derr, "reading its tag");

	if (type_tag(tag, &tt))
		return add_type(ld, die, tt, child);
	switch (parent->ctx) {
	case CTX_CU:
		if (tag == DW_TAG_constant)
			return add_constant(ld, die);
		if (tag == DW_TAG_variable)
			return add_global(ld, die);
		/* DW_TAG_subprogram: its children (parameters, locals,
		 * lexical blocks) are skipped until frame variables
		 * need them; they will get a CTX_FUNC here. */
		return NULL;
	case CTX_STRUCT:
		if (tag == DW_TAG_member)
			return add_field(ld, die, parent->owner);
		return NULL;
	case CTX_ARRAY:
		if (tag == DW_TAG_subrange_type)
			return add_subrange(ld, die, parent);
		return NULL;
	case CTX_SKIP:
		break;
	}
	return NULL;
}

/* For messages about a DIE other than the one visited last. */
static void note_die_off(struct loader *ld, Dwarf_Die die)
{
	Dwarf_Error derr = NULL;
	Dwarf_Off off;

	if (dwarf_dieoffset(die, &off, &derr) == DW_DLV_OK)
		ld->rd.die_off = off;
	else
		dwarf_dealloc_error(ld->rd.dbg, derr);
}

static void release_stack(struct loader *ld)
{
	while (ld->stack.n)
		dwarf_dealloc_die(ld->stack.data[--ld->stack.n].die);
}

/* Walks the DIEs below cu_die, which it takes over. */
static struct gh_error *walk_cu(struct loader *ld, Dwarf_Die cu_die)
{
	struct frame root = { .die = cu_die, .ctx = CTX_CU,
			      .owner = GH_DTYPE_NONE };
	Dwarf_Error derr = NULL;
	struct gh_error *err;
	Dwarf_Die die = NULL, next;
	int rc;

	if (!frame_vec_push(&ld->stack, root)) {
		dwarf_dealloc_die(cu_die);
		return &gh_enomem;
	}
	if (dwarf_dieoffset(cu_die, &ld->rd.die_off, &derr) != DW_DLV_OK) {
		err = dw_lib_error(&ld->rd, derr, "reading the CU DIE's offset");
		goto fail;
	}
	rc = dwarf_child(cu_die, &die, &derr);
	if (rc == DW_DLV_ERROR) {
		err = dw_lib_error(&ld->rd, derr, "reading the CU's first DIE");
		goto fail;
	}
	if (rc == DW_DLV_NO_ENTRY)
		die = NULL;

	while (die) {
		struct frame *top = &ld->stack.data[ld->stack.n - 1];
		struct frame child = { .die = die, .ctx = CTX_SKIP,
				       .owner = GH_DTYPE_NONE };

		err = visit(ld, die, top, &child);
		if (err)
			goto fail;
		if (child.ctx != CTX_SKIP) {
			rc = dwarf_child(die, &next, &derr);
			if (rc == DW_DLV_ERROR) {
				err = dw_lib_error(&ld->rd, derr, "reading its first child");
				goto fail;
			}
			if (rc == DW_DLV_OK) {
				if (!frame_vec_push(&ld->stack, child)) {
					dwarf_dealloc_die(next);
					err = &gh_enomem;
					goto fail;
				}
				die = next;
				continue;
			}
		}
		/* Next: die's sibling, else the nearest ancestor's. */
		for (;;) {
			rc = dwarf_siblingof_b(ld->rd.dbg, die, 1, &next, &derr);
			if (rc == DW_DLV_ERROR) {
				note_die_off(ld, die);
				err = dw_lib_error(&ld->rd, derr, "reading its sibling");
				goto fail;
			}
			dwarf_dealloc_die(die);
			die = NULL;
			if (rc == DW_DLV_OK) {
				die = next;
				break;
			}
			if (ld->stack.n == 1)
				break;	/* back at the CU DIE: done */
			die = ld->stack.data[--ld->stack.n].die;
		}
	}
	release_stack(ld);
	return NULL;

fail:
	if (die)
		dwarf_dealloc_die(die);
	release_stack(ld);
	return err;
}

static gh_dtype_id resolve(const struct loader *ld, Dwarf_Off off)
{
	uint32_t id;

	if (off == NO_REF || !gh_u64_map_get(&ld->die_type, off, &id))
		return GH_DTYPE_NONE;	/* dangling or not a type: no type */
	return id;
}

static bool type_complete(const struct gh_dwarf_type *t)
{
	return t->size || t->n_fields;
}

/* Types: resolve references, fields by owner, runtime addresses, names. */
static struct gh_error *finish_types(struct loader *ld)
{
	struct gh_dwarf *dw = ld->dw;
	size_t n = ld->types.n, m = ld->fields.n;

	dw->types = ld->types.data;
	dw->n_types = n;
	ld->types = (struct type_vec){ 0 };
	if (n) {	/* give back the vector's slack; keep it if that fails */
		struct gh_dwarf_type *shrunk = gh_realloc_array(dw->types, n,
							       sizeof(*dw->types));
		if (shrunk)
			dw->types = shrunk;
	}
	for (size_t i = 0; i < n; i++) {
		struct gh_dwarf_type *t = &dw->types[i];
		const struct type_refs *r = &ld->refs.data[i];
		uint64_t addr;

		t->elem = resolve(ld, r->elem);
		t->go_key = resolve(ld, r->key);
		t->go_elem = resolve(ld, r->go_elem);
		if (r->has_runtime && ld->elf->has_types_base &&
		    !gh_add_overflow_u64(ld->elf->types_base, r->runtime_off,
					 &addr))
			t->runtime_type = addr;
	}

	/* Fields grouped by owner: count, prefix sum, fill (stable). */
	dw->fields = gh_malloc_array(m, sizeof(*dw->fields));
	if (!dw->fields)
		return &gh_enomem;
	dw->n_fields = m;
	for (size_t j = 0; j < m; j++)
		dw->types[ld->fields.data[j].owner].n_fields++;
	uint32_t first = 0;
	for (size_t i = 0; i < n; i++) {
		dw->types[i].first_field = first;
		first += dw->types[i].n_fields;
		dw->types[i].n_fields = 0;
	}
	for (size_t j = 0; j < m; j++) {
		const struct field_rec *f = &ld->fields.data[j];
		struct gh_dwarf_type *t = &dw->types[f->owner];
		dw->fields[t->first_field + t->n_fields++] = (struct gh_dwarf_field){
			.name = f->name,
			.type = resolve(ld, f->type),
			.offset = f->offset,
		};
	}

	for (size_t i = 0; i < n; i++) {
		const struct gh_dwarf_type *t = &dw->types[i];
		uint32_t old;

		if (t->runtime_type && !gh_u64_map_get(&dw->by_runtime, t->runtime_type, &old) &&
		    !gh_u64_map_put(&dw->by_runtime, t->runtime_type, (uint32_t)i))
			return &gh_enomem;
		if (!*t->name)
			continue;
		uint64_t key = dw_name_key(t->name);
		if (gh_u64_map_get(&dw->type_names.map, key, &old)) {
			if (strcmp(dw->types[old].name, t->name)) {
				dw->type_names.collided = true;
				continue;
			}
			/* Keep the first complete DIE of a name. */
			if (type_complete(&dw->types[old]) || !type_complete(t))
				continue;
		}
		if (!gh_u64_map_put(&dw->type_names.map, key, (uint32_t)i))
			return &gh_enomem;
	}
	return NULL;
}

static bool type_is_signed(const struct loader *ld, gh_dtype_id id)
{
	for (int hops = 0; id != GH_DTYPE_NONE && hops < DW_MAX_TYPEDEF_HOPS; hops++) {
		const struct gh_dwarf_type *t = &ld->dw->types[id];
		if (t->tag != GH_DWARF_TYPEDEF) {
			uint8_t e = ld->refs.data[id].encoding;
			return t->tag == GH_DWARF_BASE &&
			       (e == DW_ATE_signed || e == DW_ATE_signed_char);
		}
		id = t->elem;
	}
	return false;
}

static struct gh_error *finish_consts(struct loader *ld)
{
	struct gh_dwarf *dw = ld->dw;
	size_t n = ld->consts.n;

	dw->consts = gh_malloc_array(n, sizeof(*dw->consts));
	if (!dw->consts)
		return &gh_enomem;
	for (size_t i = 0; i < n; i++) {
		const struct const_rec *c = &ld->consts.data[i];
		uint64_t v = c->raw;
		unsigned bits = c->bytes * 8u;

		/* DW_FORM_dataN has no sign: the constant's type says. */
		if (bits && bits < 64 && type_is_signed(ld, resolve(ld, c->type)) &&
		    (v >> (bits - 1)) & 1)
			v |= ~0ull << bits;
		dw->consts[dw->n_consts++] = (struct dw_const){
			.name = c->name,
			.value = (int64_t)v,
		};
	}
	for (size_t i = 0; i < n; i++) {
		uint64_t key = dw_name_key(dw->consts[i].name);
		uint32_t old;

		if (gh_u64_map_get(&dw->const_names.map, key, &old)) {
			if (strcmp(dw->consts[old].name, dw->consts[i].name))
				dw->const_names.collided = true;
			continue;
		}
		if (!gh_u64_map_put(&dw->const_names.map, key, (uint32_t)i))
			return &gh_enomem;
	}
	return NULL;
}

static int cmp_var(const void *pa, const void *pb)
{
	const struct var_rec *a = pa, *b = pb;

	if (a->addr != b->addr)
		return a->addr < b->addr ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static struct gh_error *finish_globals(struct loader *ld)
{
	struct gh_dwarf *dw = ld->dw;
	size_t n = ld->vars.n;

	if (n)
		qsort(ld->vars.data, n, sizeof(*ld->vars.data), cmp_var);
	dw->globals = gh_malloc_array(n, sizeof(*dw->globals));
	if (!dw->globals)
		return &gh_enomem;
	for (size_t i = 0; i < n; i++) {
		const struct var_rec *v = &ld->vars.data[i];
		dw->globals[dw->n_globals++] = (struct gh_dwarf_var){
			.name = v->name,
			.addr = v->addr,
			.type = resolve(ld, v->type),
		};
	}
	/* The first DIE of a name wins, not the lowest address. */
	for (size_t i = 0; i < n; i++) {
		const struct gh_dwarf_var *v = &dw->globals[i];
		uint64_t key = dw_name_key(v->name);
		uint32_t old;

		if (gh_u64_map_get(&dw->global_names.map, key, &old)) {
			const struct gh_dwarf_var *o = &dw->globals[old];
			if (strcmp(o->name, v->name))
				dw->global_names.collided = true;
			else if (ld->vars.data[old].seq > ld->vars.data[i].seq &&
				 !gh_u64_map_put(&dw->global_names.map, key, (uint32_t)i))
				return &gh_enomem;
			continue;
		}
		if (!gh_u64_map_put(&dw->global_names.map, key, (uint32_t)i))
			return &gh_enomem;
	}
	return NULL;
}

static struct gh_error *walk_all(struct loader *ld)
{
	struct gh_error *err = NULL;

	/*
	 * The CU cursor lives in dbg: the loop runs until DW_DLV_NO_ENTRY.
	 * An error ends it early, but then gh_dwarf_open() calls
	 * dwarf_finish() on dbg, so no later loop starts mid-way.
	 */
	uint64_t cu_off = 0;	/* where the next CU header starts */

	for (;;) {
		Dwarf_Unsigned hdr_len, abbrev_off, type_off, next_off;
		Dwarf_Half version, addr_bytes, off_bytes, ext_bytes, unit_type;
		Dwarf_Sig8 sig;
		Dwarf_Error derr = NULL;
		Dwarf_Die cu_die;
		int rc;

		rc = dwarf_next_cu_header_d(ld->rd.dbg, 1, &hdr_len, &version,
					    &abbrev_off, &addr_bytes, &off_bytes,
					    &ext_bytes, &sig, &type_off,
					    &next_off, &unit_type, &derr);
		if (rc == DW_DLV_NO_ENTRY)
			return NULL;
		if (rc != DW_DLV_OK)
			return cu_error(ld, derr, cu_off, "reading its header");
		ld->rd.addr_bytes = addr_bytes;
		rc = dwarf_siblingof_b(ld->rd.dbg, NULL, 1, &cu_die, &derr);
		if (rc == DW_DLV_ERROR)
			return cu_error(ld, derr, cu_off, "reading its first DIE");
		if (rc == DW_DLV_OK) {	/* else an empty CU */
			err = walk_cu(ld, cu_die);
			if (err)
				return err;
		}
		cu_off = next_off;
	}
}

static void loader_deinit(struct loader *ld)
{
	release_stack(ld);
	frame_vec_deinit(&ld->stack);
	type_vec_deinit(&ld->types);
	refs_vec_deinit(&ld->refs);
	field_rec_vec_deinit(&ld->fields);
	const_rec_vec_deinit(&ld->consts);
	var_rec_vec_deinit(&ld->vars);
	gh_u64_map_deinit(&ld->die_type);
}

struct gh_error *dw_load(struct gh_dwarf *dw, Dwarf_Debug dbg,
			 const struct dw_elf_facts *elf)
{
	struct loader ld = {
		.rd = { .dbg = dbg, .big_endian = elf->big_endian },
		.dw = dw,
		.elf = elf,
	};
	struct gh_error *err;

	gh_u64_map_init(&ld.die_type);
	err = walk_all(&ld);
	if (!err)
		err = finish_types(&ld);
	if (!err)
		err = finish_consts(&ld);
	if (!err)
		err = finish_globals(&ld);
	loader_deinit(&ld);
	return err;
}
