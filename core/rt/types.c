/*
 * types.c - runtime type descriptors (internal/abi.Type) the heap refers
 * to, and their names.
 *
 * A type's name is a NameOff from the start of its module's types
 * section (runtime/type.go resolveNameOff): find the module whose
 * [types, etypes) holds the descriptor, then read the name record there:
 * a flags byte, a uvarint length, the bytes.
 */
#include <string.h>

#include "rt_internal.h"

#define MAX_MODULES 4096
#define MAX_NAME_BYTES 4096
#define TFLAG_EXTRA_STAR 0x02	/* the name has a '*' to strip */

static struct gh_error *load_modules(struct gh_rt *rt)
{
	const struct rt_layout *l = &rt->l;
	struct gh_error *err;
	uint64_t md = rt->firstmoduledata_addr;

	rt->modules_loaded = true;
	for (size_t i = 0; md; i++) {
		uint64_t types, etypes, next;

		if (i == MAX_MODULES)
			return gh_error_new(GH_ERR_CORRUPT, "the module list has more than"
					    " %d entries (a cycle?)", MAX_MODULES);
		err = gh_mem_read_u64(rt->mem, md + l->md_types, &types);
		if (!err)
			err = gh_mem_read_u64(rt->mem, md + l->md_etypes, &etypes);
		if (!err)
			err = gh_mem_read_u64(rt->mem, md + l->md_next, &next);
		if (err)
			return gh_error_wrap(err, "reading moduledata at 0x%" PRIx64, md);
		struct rt_module *m = gh_realloc_array(rt->modules, i + 1, sizeof(*m));
		if (!m)
			return &gh_enomem;
		rt->modules = m;
		m[i].types = types;
		m[i].etypes = etypes;
		rt->n_modules = i + 1;
		md = next;
	}
	return NULL;
}

static struct gh_error *read_type(struct gh_rt *rt, uint64_t addr,
				  struct gh_rt_type *t)
{
	const struct rt_layout *l = &rt->l;
	struct gh_error *err;
	uint8_t buf[64];
	int32_t str;

	memset(t, 0, sizeof(*t));
	t->addr = addr;
	err = gh_mem_read(rt->mem, addr, buf, 48);
	if (err)
		return err;
	memcpy(&t->size, buf + l->type_size, 8);
	memcpy(&t->ptr_bytes, buf + l->type_ptr_bytes, 8);
	t->tflag = buf[l->type_tflag];
	t->kind = buf[l->type_kind] & (uint8_t)l->kind_mask;
	memcpy(&str, buf + l->type_str, 4);
	if (t->ptr_bytes > t->size)
		return gh_error_new(GH_ERR_CORRUPT, "type at 0x%" PRIx64 " has %" PRIu64
				    " pointer bytes in %" PRIu64, addr, t->ptr_bytes, t->size);

	if (!rt->modules_loaded) {
		err = load_modules(rt);
		if (err)
			return err;
	}
	for (size_t i = 0; i < rt->n_modules; i++) {
		const struct rt_module *m = &rt->modules[i];
		if (addr < m->types || addr >= m->etypes)
			continue;
		if (str < 0 || (uint64_t)str >= m->etypes - m->types)
			break;
		err = rt_read_varstring(rt, m->types + (uint64_t)str + 1,
					 MAX_NAME_BYTES, &t->name);
		if (err)
			return gh_error_wrap(err, "reading the name of type 0x%" PRIx64, addr);
		if ((t->tflag & TFLAG_EXTRA_STAR) && t->name[0] == '*')
			memmove(t->name, t->name + 1, strlen(t->name));
		return NULL;
	}
	/* Types made at run time by reflect live outside every module. */
	t->name = gh_asprintf("unnamed type 0x%" PRIx64, addr);
	return t->name ? NULL : &gh_enomem;
}

struct gh_error *rt_intern_type(struct gh_rt *rt, uint64_t type_addr,
				gh_rtype_id *ret)
{
	struct gh_rt_heap *h = &rt->heap;
	struct gh_error *err;
	uint32_t id;

	if (gh_u64_map_get(&rt->type_ids, type_addr, &id)) {
		*ret = id;
		return NULL;
	}
	if (h->n_types == rt->types_cap) {
		size_t cap = rt->types_cap ? rt->types_cap * 2 : 256;
		struct gh_rt_type *t = gh_realloc_array(h->types, cap, sizeof(*t));
		if (!t)
			return &gh_enomem;
		h->types = t;
		rt->types_cap = cap;
	}
	err = read_type(rt, type_addr, &h->types[h->n_types]);
	if (err) {
		gh_free(h->types[h->n_types].name);
		return gh_error_wrap(err, "reading runtime type 0x%" PRIx64, type_addr);
	}
	id = (uint32_t)h->n_types;
	if (!gh_u64_map_put(&rt->type_ids, type_addr, id)) {
		gh_free(h->types[id].name);
		return &gh_enomem;
	}
	h->n_types++;
	*ret = id;
	return NULL;
}

void rt_types_deinit(struct gh_rt *rt)
{
	for (size_t i = 0; i < rt->heap.n_types; i++)
		gh_free(rt->heap.types[i].name);
	gh_free(rt->heap.types);
	gh_free(rt->modules);
}
