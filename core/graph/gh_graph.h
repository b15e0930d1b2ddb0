/*
 * gh_graph.h - the object graph: who points to whom, from which roots, and
 * what is reachable.
 *
 * Nodes are the heap's objects by dense id (gh_obj_id, address order).
 * Edges come from every pointer word of every object (its GC pointer
 * bitmap) that points into an allocated object, interior pointers resolved
 * to the object's base, stored as CSR (edge_first[n + 1], edge_dst[m]).
 * Roots are the GC's: data/bss words, finalizer and cleanup specials, the
 * finalizer queue, and goroutine stacks.  Reachability follows the GC: an
 * object with a finalizer is not made reachable by its special, but what
 * it points to is.  Everything is iterative: depth never follows the input.
 *
 * May include: core/base, core/mem, dwarf, core/rt.    Used by: analyzers, cli.
 */
#ifndef GH_GRAPH_H
#define GH_GRAPH_H

#include "../base/gh_base.h"
#include "../rt/gh_rt.h"

enum gh_graph_root_kind {
	GH_GRAPH_ROOT_RT,		/* a gh_rt_root (data, bss, specials, finq) */
	GH_GRAPH_ROOT_STACK,		/* a word on a goroutine's stack */
};

struct gh_graph_root {
	uint64_t slot;
	gh_obj_id obj;
	uint8_t kind;			/* enum gh_graph_root_kind */
	uint8_t rt_kind;		/* enum gh_rt_root_kind for GH_GRAPH_ROOT_RT */
	bool conservative;		/* found by conservative scanning */
	uint64_t goid;			/* GH_GRAPH_ROOT_STACK */
};

struct gh_graph {
	size_t n_objs;
	uint32_t *edge_first;		/* [n_objs + 1] */
	gh_obj_id *edge_dst;		/* [n_edges] */
	size_t n_edges;
	struct gh_graph_root *roots;
	size_t n_roots;
	uint64_t *reachable;		/* bitset over object ids */
	uint64_t reachable_objs, reachable_bytes;
	uint64_t garbage_objs, garbage_bytes;
	size_t n_roots_by_kind[2];
	bool stacks_conservative;	/* stacks scanned without stack maps */
};

GH_MUST_CHECK struct gh_error *gh_graph_build(struct gh_rt *rt,
					      struct gh_graph *ret);
void gh_graph_deinit(struct gh_graph *g);

static inline bool gh_graph_reachable(const struct gh_graph *g, gh_obj_id id)
{
	return g->reachable[id / 64] >> (id % 64) & 1;
}

#endif /* GH_GRAPH_H */
