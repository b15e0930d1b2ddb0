/* fields.c - DWARF lookups shared by the runtime readers. */
#include "rt_internal.h"

struct gh_error *rt_field_offset(struct gh_rt *rt, const char *type,
				 const char *field, uint32_t *ret)
{
	struct gh_error *err;
	const struct gh_dwarf_field *f;
	gh_dtype_id tid;

	if (!rt->dw)
		return gh_error_new(GH_ERR_NOT_FOUND, "no DWARF for %s.%s", type, field);
	err = gh_dwarf_find_type(rt->dw, type, &tid);
	if (!err)
		err = gh_dwarf_find_field(rt->dw, tid, field, &f);
	if (err)
		return err;
	if (f->offset > UINT32_MAX / 2)
		return gh_error_new(GH_ERR_CORRUPT, "DWARF puts %s.%s at offset %"
				    PRIu64, type, field, f->offset);
	*ret = (uint32_t)f->offset;
	return NULL;
}

bool rt_constant(struct gh_rt *rt, const char *name, int64_t *ret)
{
	struct gh_error *err;

	if (!rt->dw)
		return false;
	err = gh_dwarf_find_constant(rt->dw, name, ret);
	gh_error_free(err);
	return !err;
}

struct gh_error *rt_read_varstring(struct gh_rt *rt, uint64_t addr,
				   size_t max_bytes, char **ret)
{
	struct gh_error *err;
	uint8_t hdr[10];
	uint64_t len = 0;
	unsigned i, shift = 0;

	err = gh_mem_read(rt->mem, addr, hdr, sizeof(hdr));
	if (err)
		return err;
	for (i = 0;; i++) {
		if (i == sizeof(hdr))
			return gh_error_new(GH_ERR_CORRUPT, "bad string length at 0x%"
					    PRIx64, addr);
		len |= (uint64_t)(hdr[i] & 0x7f) << shift;
		shift += 7;
		if (!(hdr[i] & 0x80))
			break;
	}
	if (len > max_bytes)
		return gh_error_new(GH_ERR_CORRUPT, "string at 0x%" PRIx64 " claims %"
				    PRIu64 " bytes", addr, len);
	char *s = gh_malloc(len + 1);
	if (!s)
		return &gh_enomem;
	err = gh_mem_read(rt->mem, addr + i + 1, s, len);
	if (err) {
		gh_free(s);
		return err;
	}
	s[len] = '\0';
	*ret = s;
	return NULL;
}
