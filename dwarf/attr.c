/*
 * attr.c - the attributes goheap reads from a DIE, whatever its tag.
 *
 * One dwarf_attrlist() per DIE, then a switch on the attribute: cheaper
 * than a dwarf_attr() per wanted attribute, each of which scans the
 * abbreviation again.  An attribute in a form goheap does not expect reads
 * as absent; a libdwarf error is GH_ERR_CORRUPT naming the DIE.
 *
 * Go's own attributes (cmd/internal/dwarf/dwarf.go): DW_AT_go_kind 0x2900
 * (reflect.Kind), DW_AT_go_key 0x2901 and DW_AT_go_elem 0x2902 (map and
 * channel key/element types, slice elements), DW_AT_go_runtime_type 0x2904
 * (see struct dw_elf_facts).
 */
#include <string.h>

#include <libdwarf/dwarf.h>

#include "dwarf_internal.h"

enum {
	AT_GO_KIND = 0x2900,
	AT_GO_KEY = 0x2901,
	AT_GO_ELEM = 0x2902,
	AT_GO_RUNTIME_TYPE = 0x2904,
};

/* Longest location expression goheap parses: DW_OP_addr + 8, or
 * DW_OP_plus_uconst + a 10-byte ULEB128. */
enum { EXPR_MAX = 16 };

struct gh_error *dw_lib_error(struct dw_reader *r, Dwarf_Error derr,
			      const char *what)
{
	struct gh_error *err;

	err = gh_error_new(GH_ERR_CORRUPT, "DIE 0x%" PRIx64 ": %s: %s",
			   (uint64_t)r->die_off, what,
			   derr ? dwarf_errmsg(derr) : "unknown libdwarf error");
	dwarf_dealloc_error(r->dbg, derr);
	return err;
}

/* Forms of the constant class; anything else reads as absent. */
static struct gh_error *attr_unsigned(struct dw_reader *r,
				      Dwarf_Attribute at, Dwarf_Half form,
				      bool *got, uint64_t *ret)
{
	Dwarf_Error derr = NULL;
	Dwarf_Unsigned u;
	Dwarf_Signed s;

	*got = false;
	switch (form) {
	case DW_FORM_data1:
	case DW_FORM_data2:
	case DW_FORM_data4:
	case DW_FORM_data8:
	case DW_FORM_udata:
		if (dwarf_formudata(at, &u, &derr) != DW_DLV_OK)
			return dw_lib_error(r, derr, "reading a constant");
		*ret = u;
		*got = true;
		return NULL;
	case DW_FORM_sdata:
	case DW_FORM_implicit_const:
		if (dwarf_formsdata(at, &s, &derr) != DW_DLV_OK)
			return dw_lib_error(r, derr, "reading a constant");
		if (s >= 0) {	/* negative sizes and counts are ignored */
			*ret = (uint64_t)s;
			*got = true;
		}
		return NULL;
	default:
		return NULL;
	}
}

static struct gh_error *attr_ref(struct dw_reader *r, Dwarf_Attribute at,
				 Dwarf_Half form, bool *got, Dwarf_Off *ret)
{
	Dwarf_Error derr = NULL;
	Dwarf_Off off;

	*got = false;
	switch (form) {
	case DW_FORM_ref_addr:
	case DW_FORM_ref1:
	case DW_FORM_ref2:
	case DW_FORM_ref4:
	case DW_FORM_ref8:
	case DW_FORM_ref_udata:
		if (dwarf_global_formref(at, &off, &derr) != DW_DLV_OK)
			return dw_lib_error(r, derr, "reading a reference");
		*ret = off;
		*got = true;
		return NULL;
	default:	/* type units (ref_sig8), supplementary files */
		return NULL;
	}
}

static struct gh_error *attr_string(struct dw_reader *r,
				    Dwarf_Attribute at, Dwarf_Half form,
				    const char **ret)
{
	Dwarf_Error derr = NULL;
	char *s;

	switch (form) {
	case DW_FORM_string:
	case DW_FORM_strp:
	case DW_FORM_line_strp:
	case DW_FORM_strx:
	case DW_FORM_strx1:
	case DW_FORM_strx2:
	case DW_FORM_strx3:
	case DW_FORM_strx4:
		if (dwarf_formstring(at, &s, &derr) != DW_DLV_OK)
			return dw_lib_error(r, derr, "reading a name");
		*ret = s;
		return NULL;
	default:
		return NULL;
	}
}

/* Copies up to EXPR_MAX bytes of a location expression; *len is its length. */
static struct gh_error *attr_expr(struct dw_reader *r, Dwarf_Attribute at,
				  Dwarf_Half form, uint8_t *buf, uint64_t *len,
				  bool *got)
{
	Dwarf_Error derr = NULL;
	Dwarf_Block *blk;
	Dwarf_Unsigned n;
	Dwarf_Ptr p;

	*got = false;
	switch (form) {
	case DW_FORM_block:
	case DW_FORM_block1:
	case DW_FORM_block2:
	case DW_FORM_block4:
		if (dwarf_formblock(at, &blk, &derr) != DW_DLV_OK)
			return dw_lib_error(r, derr, "reading a location");
		*len = blk->bl_len;
		if (blk->bl_data)
			memcpy(buf, blk->bl_data,
			       blk->bl_len < EXPR_MAX ? blk->bl_len : EXPR_MAX);
		*got = blk->bl_data != NULL;
		dwarf_dealloc(r->dbg, blk, DW_DLA_BLOCK);
		return NULL;
	case DW_FORM_exprloc:
		if (dwarf_formexprloc(at, &n, &p, &derr) != DW_DLV_OK)
			return dw_lib_error(r, derr, "reading a location");
		*len = n;
		if (p)
			memcpy(buf, p, n < EXPR_MAX ? n : EXPR_MAX);
		*got = p != NULL;
		return NULL;
	default:	/* location lists: not a global's fixed address */
		return NULL;
	}
}

static bool read_uleb(const uint8_t *p, uint64_t len, uint64_t *ret)
{
	uint64_t v = 0;
	unsigned shift = 0;

	for (uint64_t i = 0; i < len; i++) {
		uint64_t bits = p[i] & 0x7f;
		if (shift >= 64 || (shift == 63 && bits > 1))
			return false;
		v |= bits << shift;
		shift += 7;
		if (!(p[i] & 0x80)) {
			*ret = v;
			return i + 1 == len;
		}
	}
	return false;
}

/* A global's location is one DW_OP_addr and nothing else. */
static bool expr_addr(const struct dw_reader *r, const uint8_t *buf,
		      uint64_t len, uint64_t *ret)
{
	unsigned n = r->addr_bytes;
	uint64_t a = 0;

	if ((n != 4 && n != 8) || len != 1 + n || buf[0] != DW_OP_addr)
		return false;
	for (unsigned i = 0; i < n; i++) {
		unsigned b = r->big_endian ? i : n - 1 - i;
		a = a << 8 | buf[1 + b];
	}
	*ret = a;
	return true;
}

static struct gh_error *read_attr(struct dw_reader *r, Dwarf_Attribute at,
				  struct dw_die_attrs *a)
{
	Dwarf_Error derr = NULL;
	Dwarf_Half num, form;
	struct gh_error *err = NULL;
	uint8_t expr[EXPR_MAX];
	uint64_t u, len;
	bool got = false;

	if (dwarf_whatattr(at, &num, &derr) != DW_DLV_OK)
		return dw_lib_error(r, derr, "reading an attribute");
	if (dwarf_whatform(at, &form, &derr) != DW_DLV_OK)
		return dw_lib_error(r, derr, "reading an attribute's form");

	switch (num) {
	case DW_AT_name:
		err = attr_string(r, at, form, &a->name);
		if (!err && a->name)
			a->have |= DW_HAVE_NAME;
		return err;
	case DW_AT_byte_size:
		err = attr_unsigned(r, at, form, &got, &a->size);
		if (got)
			a->have |= DW_HAVE_SIZE;
		return err;
	case DW_AT_type:
		err = attr_ref(r, at, form, &got, &a->type);
		if (got)
			a->have |= DW_HAVE_TYPE;
		return err;
	case AT_GO_KIND:
		err = attr_unsigned(r, at, form, &got, &u);
		if (got && u <= UINT8_MAX) {
			a->kind = (uint8_t)u;
			a->have |= DW_HAVE_KIND;
		}
		return err;
	case AT_GO_KEY:
		err = attr_ref(r, at, form, &got, &a->key);
		if (got)
			a->have |= DW_HAVE_KEY;
		return err;
	case AT_GO_ELEM:
		err = attr_ref(r, at, form, &got, &a->elem);
		if (got)
			a->have |= DW_HAVE_ELEM;
		return err;
	case AT_GO_RUNTIME_TYPE:
		/* DW_FORM_addr holding a section offset, see dw_elf_facts. */
		if (form == DW_FORM_addr) {
			Dwarf_Addr addr;
			if (dwarf_formaddr(at, &addr, &derr) != DW_DLV_OK)
				return dw_lib_error(r, derr, "reading DW_AT_go_runtime_type");
			a->rtype = addr;
			got = true;
		} else {
			err = attr_unsigned(r, at, form, &got, &a->rtype);
		}
		if (got)
			a->have |= DW_HAVE_RTYPE;
		return err;
	case DW_AT_data_member_location:
		err = attr_unsigned(r, at, form, &got, &a->member_loc);
		if (err || got) {
			if (got)
				a->have |= DW_HAVE_MEMBER_LOC;
			return err;
		}
		/* DWARF 2 style: DW_OP_plus_uconst N. */
		err = attr_expr(r, at, form, expr, &len, &got);
		if (got && len >= 2 && len <= EXPR_MAX &&
		    expr[0] == DW_OP_plus_uconst &&
		    read_uleb(expr + 1, len - 1, &a->member_loc))
			a->have |= DW_HAVE_MEMBER_LOC;
		return err;
	case DW_AT_const_value:
		switch (form) {
		case DW_FORM_data1: a->const_bytes = 1; break;
		case DW_FORM_data2: a->const_bytes = 2; break;
		case DW_FORM_data4: a->const_bytes = 4; break;
		case DW_FORM_data8: a->const_bytes = 8; break;
		default: a->const_bytes = 0; break;
		}
		if (form == DW_FORM_sdata || form == DW_FORM_implicit_const) {
			Dwarf_Signed s;
			if (dwarf_formsdata(at, &s, &derr) != DW_DLV_OK)
				return dw_lib_error(r, derr, "reading DW_AT_const_value");
			a->const_raw = (uint64_t)s;
			a->have |= DW_HAVE_CONST;
			return NULL;
		}
		err = attr_unsigned(r, at, form, &got, &a->const_raw);
		if (got)	/* blocks and strings are not integer constants */
			a->have |= DW_HAVE_CONST;
		return err;
	case DW_AT_count:
		err = attr_unsigned(r, at, form, &got, &a->count);
		if (got)
			a->have |= DW_HAVE_COUNT;
		return err;
	case DW_AT_upper_bound:
		if (a->have & DW_HAVE_COUNT)
			return NULL;
		if (form == DW_FORM_sdata) {
			Dwarf_Signed s;
			if (dwarf_formsdata(at, &s, &derr) != DW_DLV_OK)
				return dw_lib_error(r, derr, "reading DW_AT_upper_bound");
			/* -1 is the upper bound of an empty array. */
			if (s >= -1) {
				a->count = (uint64_t)(s + 1);
				a->have |= DW_HAVE_COUNT;
			}
			return NULL;
		}
		err = attr_unsigned(r, at, form, &got, &u);
		if (got && u != UINT64_MAX) {
			a->count = u + 1;
			a->have |= DW_HAVE_COUNT;
		}
		return err;
	case DW_AT_location:
		err = attr_expr(r, at, form, expr, &len, &got);
		if (got && len <= EXPR_MAX && expr_addr(r, expr, len, &a->addr))
			a->have |= DW_HAVE_ADDR;
		return err;
	case DW_AT_encoding:
		err = attr_unsigned(r, at, form, &got, &u);
		if (got && u <= UINT8_MAX) {
			a->encoding = (uint8_t)u;
			a->have |= DW_HAVE_ENCODING;
		}
		return err;
	default:
		return NULL;
	}
}

struct gh_error *dw_read_attrs(struct dw_reader *r, Dwarf_Die die,
			       struct dw_die_attrs *a)
{
	Dwarf_Error derr = NULL;
	Dwarf_Attribute *list;
	Dwarf_Signed n;
	struct gh_error *err = NULL;

	memset(a, 0, sizeof(*a));
	int rc = dwarf_attrlist(die, &list, &n, &derr);
	if (rc == DW_DLV_NO_ENTRY)
		return NULL;
	if (rc != DW_DLV_OK)
		return dw_lib_error(r, derr, "reading its attributes");
	for (Dwarf_Signed i = 0; i < n; i++) {
		if (!err)
			err = read_attr(r, list[i], a);
		dwarf_dealloc_attribute(list[i]);
	}
	dwarf_dealloc(r->dbg, list, DW_DLA_LIST);
	return err;
}
