/* goroutines.c - the goroutines in runtime.allgs. */
#include <string.h>

#include "rt_internal.h"

/* allgs never shrinks; 2^24 goroutines' g structs alone take 7 GiB. */
#define MAX_GOROUTINES (1u << 26)

struct gh_error *gh_rt_load_goroutines(struct gh_rt *rt,
				       struct gh_rt_goroutine **ret,
				       size_t *n_ret)
{
	const struct rt_layout *l = &rt->l;
	struct gh_error *err;
	uint64_t base, n;

	err = rt_read_slice(rt, rt->allgs_addr, &base, &n);
	if (err)
		return gh_error_wrap(err, "reading runtime.allgs");
	if (n > MAX_GOROUTINES)
		return gh_error_new(GH_ERR_CORRUPT, "runtime.allgs claims %" PRIu64
				    " goroutines", n);
	struct gh_rt_goroutine *gs = gh_calloc(n ? n : 1, sizeof(*gs));
	if (!gs)
		return &gh_enomem;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t g;
		uint32_t status;
		uint8_t reason;

		err = gh_mem_read_ptr(rt->mem, base + i * 8, &g);
		if (!err)
			err = gh_mem_read_u32(rt->mem, g + l->g_atomicstatus, &status);
		if (!err)
			err = gh_mem_read_u64(rt->mem, g + l->g_goid, &gs[i].goid);
		if (!err)
			err = gh_mem_read_u8(rt->mem, g + l->g_waitreason, &reason);
		if (err) {
			gh_free(gs);
			return gh_error_wrap(err, "reading goroutine %" PRIu64
					     " of runtime.allgs", i);
		}
		gs[i].addr = g;
		gs[i].status = status & ~(uint32_t)l->g_scan;
		gs[i].wait_reason = reason;
	}
	*ret = gs;
	*n_ret = (size_t)n;
	return NULL;
}

bool gh_rt_goroutine_live(const struct gh_rt *rt, const struct gh_rt_goroutine *g)
{
	return g->status != (uint32_t)rt->l.g_dead &&
	       (rt->l.g_dead_extra < 0 || g->status != (uint32_t)rt->l.g_dead_extra);
}
