/*
 * rt.c - opening the Go runtime model: which release, where its globals
 * are, and which layout to read its structures with.
 */
#include <stdlib.h>
#include <string.h>

#include "rt_internal.h"

/* No Go string goheap reads (type names, versions) is longer than this. */
#define MAX_STRING_BYTES (1u << 20)

struct gh_error *rt_find_global(struct gh_rt *rt, const char *name,
				uint64_t *ret)
{
	struct gh_error *err;
	uint64_t addr, size;

	if (rt->dw) {
		const struct gh_dwarf_var *v;
		err = gh_dwarf_find_global(rt->dw, name, &v);
		if (!err) {
			*ret = v->addr + rt->bias;
			return NULL;
		}
		if (err->code != GH_ERR_NOT_FOUND)
			return err;
		gh_error_free(err);
	}
	err = gh_mem_exe_symbol(rt->mem, name, &addr, &size);
	if (!err) {
		*ret = addr;
		return NULL;
	}
	if (err->code != GH_ERR_NOT_FOUND)
		return err;
	gh_error_free(err);
	return stripped_find_global(rt, name, ret);
}

struct gh_error *rt_read_slice(struct gh_rt *rt, uint64_t addr,
			       uint64_t *base_ret, uint64_t *len_ret)
{
	struct gh_error *err;
	uint64_t w[2];

	err = gh_mem_read(rt->mem, addr, w, sizeof(w));
	if (err)
		return err;
	*base_ret = w[0];
	*len_ret = w[1];
	return NULL;
}

struct gh_error *rt_read_string(struct gh_rt *rt, uint64_t addr,
				size_t max_bytes, char **ret)
{
	struct gh_error *err;
	uint64_t ptr, len;

	err = rt_read_slice(rt, addr, &ptr, &len);
	if (err)
		return err;
	if (len > max_bytes)
		return gh_error_new(GH_ERR_CORRUPT, "string at 0x%" PRIx64
				    " claims %" PRIu64 " bytes", addr, len);
	char *s = gh_malloc(len + 1);
	if (!s)
		return &gh_enomem;
	err = gh_mem_read(rt->mem, ptr, s, len);
	if (err) {
		gh_free(s);
		return err;
	}
	s[len] = '\0';
	*ret = s;
	return NULL;
}

/* "go1.22.12", "go1.25.0 X:greenteagc", "go1.26rc1" -> 122, 125, 126. */
static int parse_release(const char *v)
{
	char *end;

	if (strncmp(v, "go1.", 4))
		return 0;
	long minor = strtol(v + 4, &end, 10);
	if (end == v + 4 || minor < 0 || minor > 99)
		return 0;
	return 100 + (int)minor;
}

/*
 * The version string as .go.buildinfo holds it, for executables without
 * symbols: a 32-byte header ("\xff Go buildinf:", pointer size, flags),
 * then with flags & 2 the version as a uvarint-prefixed string.
 */
static struct gh_error *version_from_buildinfo(struct gh_rt *rt, char **ret)
{
	struct gh_error *err;
	uint64_t addr, size;
	uint8_t hdr[32];

	err = gh_mem_exe_section(rt->mem, ".go.buildinfo", &addr, &size);
	if (err)
		return err;
	if (size < sizeof(hdr))
		return gh_error_new(GH_ERR_CORRUPT, ".go.buildinfo is only %" PRIu64
				    " bytes", size);
	err = gh_mem_read(rt->mem, addr, hdr, sizeof(hdr));
	if (err)
		return err;
	if (memcmp(hdr, "\xff Go buildinf:", 14))
		return gh_error_new(GH_ERR_CORRUPT, ".go.buildinfo has no Go build info magic");
	if (!(hdr[15] & 2))
		return gh_error_new(GH_ERR_UNSUPPORTED,
				    "Go build info predates Go 1.18 (pointer format)");
	err = rt_read_varstring(rt, addr + 32, 256, ret);
	if (err)
		return gh_error_wrap(err, "reading the version in .go.buildinfo");
	return NULL;
}

static struct gh_error *load_version(struct gh_rt *rt)
{
	struct gh_error *err;
	uint64_t addr;

	err = rt_find_global(rt, "runtime.buildVersion", &addr);
	if (!err) {
		err = rt_read_string(rt, addr, 256, &rt->version);
		if (err)
			return gh_error_wrap(err, "reading runtime.buildVersion");
	} else {
		if (err->code != GH_ERR_NOT_FOUND)
			return err;
		gh_error_free(err);
		err = version_from_buildinfo(rt, &rt->version);
		if (err && err->code == GH_ERR_NOT_FOUND) {
			gh_error_free(err);
			return gh_error_new(GH_ERR_NOT_FOUND,
					    "'%s' is not a Go program: it has neither"
					    " runtime.buildVersion nor a .go.buildinfo section",
					    gh_mem_exe_path(rt->mem));
		}
		if (err)
			return gh_error_wrap(err, "reading the Go version");
	}
	rt->release = parse_release(rt->version);
	if (!rt->release)
		return gh_error_new(GH_ERR_UNSUPPORTED, "unrecognized Go version '%s'",
				    rt->version);
	if (rt->release < 121)
		return gh_error_new(GH_ERR_UNSUPPORTED,
				    "%s is older than the oldest release goheap reads (go1.21)",
				    rt->version);
	return NULL;
}

struct gh_error *gh_rt_create(struct gh_mem *mem, struct gh_dwarf *dw,
			      struct gh_rt **ret)
{
	struct gh_error *err;
	struct gh_rt *rt = gh_calloc(1, sizeof(*rt));

	if (!rt)
		return &gh_enomem;
	rt->mem = mem;
	rt->dw = dw;
	rt->bias = gh_mem_load_bias(mem);
	gh_u64_map_init(&rt->type_ids);

	err = load_version(rt);
	if (err)
		goto fail;
	if (dw) {
		rt->layout_source = "dwarf";
		err = layout_from_dwarf(rt);
	} else {
		rt->layout_source = "table";
		err = layout_from_table(rt);
	}
	if (err) {
		err = gh_error_wrap(err, "reading the %s runtime layout", rt->version);
		goto fail;
	}
	err = rt_find_global(rt, "runtime.mheap_", &rt->mheap_addr);
	if (!err)
		err = rt_find_global(rt, "runtime.allgs", &rt->allgs_addr);
	if (!err)
		err = rt_find_global(rt, "runtime.firstmoduledata",
				     &rt->firstmoduledata_addr);
	if (err) {
		if (err->code == GH_ERR_NOT_FOUND && !dw)
			err = gh_error_wrap(err, "the executable is stripped and"
					    " goheap could not locate the runtime's globals"
					    " from its code; try the unstripped build");
		goto fail;
	}
	*ret = rt;
	return NULL;
fail:
	gh_rt_destroy(rt);
	return err;
}

void gh_rt_destroy(struct gh_rt *rt)
{
	if (!rt)
		return;
	gh_free(rt->heap.spans);
	gh_free(rt->heap.obj_addr);
	gh_free(rt->heap.obj_span);
	gh_free(rt->heap.obj_type);
	gh_free(rt->heap.alloc_bits);
	gh_free(rt->heap.alloc_rank);
	gh_free(rt->heap.chunk_pages);
	gh_u64_map_deinit(&rt->heap.chunk_ids);
	rt_types_deinit(rt);
	pcln_deinit(rt);
	ptrbits_deinit(rt);
	goroutines_deinit(rt);
	gh_u64_map_deinit(&rt->type_ids);
	gh_free(rt->version);
	gh_free(rt);
}

struct gh_mem *gh_rt_mem(const struct gh_rt *rt)
{
	return rt->mem;
}

const char *gh_rt_go_version(const struct gh_rt *rt)
{
	return rt->version;
}

int gh_rt_go_release(const struct gh_rt *rt)
{
	return rt->release;
}

const char *gh_rt_layout_source(const struct gh_rt *rt)
{
	return rt->layout_source;
}
