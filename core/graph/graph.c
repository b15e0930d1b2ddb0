/*
 * graph.c - edges, roots and reachability.
 *
 * Edges: one pass over the objects in id order, so CSR is filled directly.
 * An object's words are read in windows of at most WINDOW_WORDS, and only
 * the words its pointer bitmap marks are looked up.
 *
 * Stacks: until frames are scanned with the runtime's stack maps, every
 * word of a live goroutine's stack in [sched.sp or stack.lo, stack.hi) that
 * points into an allocated object is a root, marked conservative.  That can
 * keep alive an object the GC would free (a dead slot), never the reverse.
 */
#include <string.h>

#include "gh_graph.h"

#define WINDOW_WORDS 8192

GH_VEC(dst_vec, gh_obj_id)
GH_VEC(groot_vec, struct gh_graph_root)

static struct gh_error *build_edges(struct gh_rt *rt, const struct gh_rt_heap *h,
				    struct gh_graph *g)
{
	struct gh_error *err = NULL;
	struct dst_vec dst = {0};
	uint8_t *bits = NULL;
	size_t bits_cap = 0;
	uint64_t *words = gh_malloc_array(WINDOW_WORDS, sizeof(*words));

	g->edge_first = gh_malloc_array(h->n_objs + 1, sizeof(*g->edge_first));
	if (!words || !g->edge_first) {
		err = &gh_enomem;
		goto out;
	}
	for (size_t id = 0; id < h->n_objs; id++) {
		const struct gh_rt_span *s = &h->spans[h->obj_span[id]];
		uint64_t n_words = s->elem_bytes / 8;

		if (dst.n > UINT32_MAX - 1) {
			err = gh_error_new(GH_ERR_LIMIT, "more than 2^32 pointer edges");
			goto out;
		}
		g->edge_first[id] = (uint32_t)dst.n;
		if (s->flags & GH_SPAN_NOSCAN)
			continue;
		size_t need = (size_t)(n_words + 7) / 8;
		if (need > bits_cap) {
			uint8_t *b = gh_realloc_array(bits, need, 1);
			if (!b) {
				err = &gh_enomem;
				goto out;
			}
			bits = b;
			bits_cap = need;
		}
		err = gh_rt_object_ptr_bits(rt, (gh_obj_id)id, bits);
		if (err) {
			err = gh_error_wrap(err, "pointer bitmap of object 0x%" PRIx64,
					    h->obj_addr[id]);
			goto out;
		}
		for (uint64_t w = 0; w < n_words; w += WINDOW_WORDS) {
			size_t m = n_words - w < WINDOW_WORDS ? (size_t)(n_words - w) : WINDOW_WORDS;
			bool any = false;
			for (size_t i = 0; i < m && !any; i += 8)
				any = bits[(w + i) / 8];
			if (!any)
				continue;
			err = gh_mem_read(gh_rt_mem(rt), h->obj_addr[id] + w * 8, words, m * 8);
			if (err) {
				err = gh_error_wrap(err, "reading object 0x%" PRIx64,
						    h->obj_addr[id]);
				goto out;
			}
			for (size_t i = 0; i < m; i++) {
				uint64_t k = w + i;
				if (!(bits[k / 8] >> (k % 8) & 1) || !words[i])
					continue;
				gh_obj_id t = gh_rt_find_object(h, words[i]);
				if (t == GH_OBJ_NONE)
					continue;
				/* Consecutive duplicates add nothing to reachability
				 * or dominators: keep the graph small. */
				if (dst.n > g->edge_first[id] && dst.data[dst.n - 1] == t)
					continue;
				if (!dst_vec_push(&dst, t)) {
					err = &gh_enomem;
					goto out;
				}
			}
		}
	}
	g->edge_first[h->n_objs] = (uint32_t)dst.n;
	g->edge_dst = dst.data;
	g->n_edges = dst.n;
	dst.data = NULL;
out:
	dst_vec_deinit(&dst);
	gh_free(words);
	gh_free(bits);
	return err;
}

static struct gh_error *stack_roots(struct gh_rt *rt, const struct gh_rt_heap *h,
				    struct groot_vec *roots)
{
	struct gh_error *err;
	struct gh_rt_goroutine *gs;
	size_t n;
	uint64_t *words = gh_malloc_array(WINDOW_WORDS, sizeof(*words));

	if (!words)
		return &gh_enomem;
	err = gh_rt_load_goroutines(rt, &gs, &n);
	if (err) {
		gh_free(words);
		return err;
	}
	for (size_t i = 0; i < n && !err; i++) {
		const struct gh_rt_goroutine *gr = &gs[i];
		if (!gh_rt_goroutine_live(rt, gr) || !gr->stack_hi)
			continue;
		uint64_t lo = gr->stack_lo, hi = gr->stack_hi;
		if (hi <= lo || hi - lo > (1ull << 30) || lo % 8) {
			err = gh_error_new(GH_ERR_CORRUPT, "goroutine %" PRIu64 " has stack"
					   " [0x%" PRIx64 ", 0x%" PRIx64 ")", gr->goid, lo, hi);
			break;
		}
		for (uint64_t a = lo; a < hi && !err; a += WINDOW_WORDS * 8) {
			size_t m = (hi - a) / 8 < WINDOW_WORDS ? (size_t)((hi - a) / 8) : WINDOW_WORDS;
			err = gh_mem_read(gh_rt_mem(rt), a, words, m * 8);
			if (err) {
				err = gh_error_wrap(err, "reading the stack of goroutine %"
						    PRIu64, gr->goid);
				break;
			}
			for (size_t k = 0; k < m; k++) {
				gh_obj_id t = words[k] ? gh_rt_find_object(h, words[k]) : GH_OBJ_NONE;
				if (t == GH_OBJ_NONE)
					continue;
				struct gh_graph_root r = {
					.slot = a + k * 8, .obj = t, .kind = GH_GRAPH_ROOT_STACK,
					.conservative = true, .goid = gr->goid,
				};
				if (!groot_vec_push(roots, r)) {
					err = &gh_enomem;
					break;
				}
			}
		}
	}
	gh_free(gs);
	gh_free(words);
	return err;
}

/* Marks from the roots with an explicit stack of object ids. */
static struct gh_error *mark(const struct gh_rt_heap *h, struct gh_graph *g)
{
	struct gh_u32_vec stack = {0};

	g->reachable = gh_calloc((h->n_objs + 63) / 64, sizeof(uint64_t));
	if (!g->reachable)
		return &gh_enomem;
	for (size_t i = 0; i < g->n_roots; i++) {
		const struct gh_graph_root *r = &g->roots[i];
		/*
		 * runtime/mgcmark.go markrootSpans: an object with a finalizer
		 * is scanned (what it points to is live) but not marked.
		 */
		if (r->kind == GH_GRAPH_ROOT_RT && r->rt_kind == GH_RT_ROOT_FINALIZER) {
			for (uint32_t e = g->edge_first[r->obj]; e < g->edge_first[r->obj + 1]; e++)
				if (!gh_u32_vec_push(&stack, g->edge_dst[e]))
					goto nomem;
			continue;
		}
		if (!gh_u32_vec_push(&stack, r->obj))
			goto nomem;
	}
	while (stack.n) {
		gh_obj_id id = stack.data[--stack.n];
		if (gh_graph_reachable(g, id))
			continue;
		g->reachable[id / 64] |= 1ull << (id % 64);
		for (uint32_t e = g->edge_first[id]; e < g->edge_first[id + 1]; e++) {
			gh_obj_id t = g->edge_dst[e];
			if (!gh_graph_reachable(g, t) && !gh_u32_vec_push(&stack, t))
				goto nomem;
		}
	}
	gh_u32_vec_deinit(&stack);
	for (size_t id = 0; id < h->n_objs; id++) {
		uint64_t bytes = h->spans[h->obj_span[id]].elem_bytes;
		if (gh_graph_reachable(g, (gh_obj_id)id)) {
			g->reachable_objs++;
			g->reachable_bytes += bytes;
		} else {
			g->garbage_objs++;
			g->garbage_bytes += bytes;
		}
	}
	return NULL;
nomem:
	gh_u32_vec_deinit(&stack);
	return &gh_enomem;
}

struct gh_error *gh_graph_build(struct gh_rt *rt, struct gh_graph *ret)
{
	struct gh_error *err;
	const struct gh_rt_heap *h;
	struct gh_rt_root *rts = NULL;
	size_t n_rts = 0;
	struct groot_vec roots = {0};
	struct gh_graph g = {0};

	err = gh_rt_load_heap(rt, &h);
	if (err)
		return err;
	g.n_objs = h->n_objs;
	err = build_edges(rt, h, &g);
	if (err)
		goto fail;
	err = gh_rt_load_roots(rt, &rts, &n_rts);
	if (err)
		goto fail;
	if (!groot_vec_reserve(&roots, n_rts)) {
		err = &gh_enomem;
		goto fail;
	}
	for (size_t i = 0; i < n_rts; i++) {
		struct gh_graph_root r = {
			.slot = rts[i].slot, .obj = rts[i].obj,
			.kind = GH_GRAPH_ROOT_RT, .rt_kind = rts[i].kind,
		};
		roots.data[roots.n++] = r;
	}
	g.n_roots_by_kind[GH_GRAPH_ROOT_RT] = n_rts;
	err = stack_roots(rt, h, &roots);
	if (err)
		goto fail;
	g.n_roots_by_kind[GH_GRAPH_ROOT_STACK] = roots.n - n_rts;
	g.stacks_conservative = true;
	g.roots = roots.data;
	g.n_roots = roots.n;
	roots.data = NULL;
	err = mark(h, &g);
	if (err)
		goto fail;
	gh_free(rts);
	*ret = g;
	return NULL;
fail:
	gh_free(rts);
	groot_vec_deinit(&roots);
	gh_graph_deinit(&g);
	return gh_error_wrap(err, "building the object graph");
}

void gh_graph_deinit(struct gh_graph *g)
{
	gh_free(g->edge_first);
	gh_free(g->edge_dst);
	gh_free(g->roots);
	gh_free(g->reachable);
	memset(g, 0, sizeof(*g));
}
