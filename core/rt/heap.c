/*
 * heap.c - every allocated heap object, from the spans' allocation bits.
 *
 * runtime/mbitmap.go (*mspan).isFree: slot i is allocated iff
 * i < freeindex or allocBits[i] is set.  allocBits is the state at the
 * last sweep; slots below freeindex were handed out since.  That is what
 * MemStats counts, so HeapObjects and HeapAlloc are reproduced exactly.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_internal.h"

#define SPAN_PTR_CHUNK 8192	/* pointers read from allspans at a time */
#define MAX_SPAN_BYTES 4096

GH_VEC(span_vec, struct gh_rt_span)

static uint64_t get_uint(const uint8_t *buf, uint32_t off, uint32_t bytes)
{
	uint64_t v = 0;
	memcpy(&v, buf + off, bytes);	/* little-endian targets only */
	return v;
}

/* Parses one mspan; *keep is false for spans that hold no heap objects. */
static struct gh_error *parse_span(struct gh_rt *rt, uint64_t addr,
				   const uint8_t *buf, struct gh_rt_span *s,
				   bool *keep)
{
	const struct rt_layout *l = &rt->l;
	uint64_t npages, nelems, elem, end, span_bytes;

	*keep = false;
	if (buf[l->span_state] != (uint8_t)l->span_in_use)
		return NULL;	/* dead, or manual (stacks): not heap objects */
	if (l->span_user_arena != RT_ABSENT && buf[l->span_user_arena])
		return NULL;	/* user arena chunks are not counted by MemStats */

	memset(s, 0, sizeof(*s));
	s->addr = addr;
	s->base = get_uint(buf, l->span_start_addr, 8);
	npages = get_uint(buf, l->span_npages, 8);
	nelems = get_uint(buf, l->span_nelems, l->span_nelems_bytes);
	elem = get_uint(buf, l->span_elemsize, 8);
	uint8_t spanclass = buf[l->span_spanclass];
	if (l->span_large_type != RT_ABSENT)
		s->large_type = get_uint(buf, l->span_large_type, 8);

	if (!npages || npages > (1ull << 31) ||
	    gh_mul_overflow_u64(npages, l->page_bytes, &span_bytes) ||
	    gh_add_overflow_u64(s->base, span_bytes, &end) ||
	    s->base % l->page_bytes)
		return gh_error_new(GH_ERR_CORRUPT, "mspan at 0x%" PRIx64
				    " has base 0x%" PRIx64 " and %" PRIu64 " pages",
				    addr, s->base, npages);
	if (!elem || nelems > span_bytes / elem)
		return gh_error_new(GH_ERR_CORRUPT, "mspan at 0x%" PRIx64
				    " claims %" PRIu64 " objects of %" PRIu64
				    " bytes in %" PRIu64 " pages",
				    addr, nelems, elem, npages);
	s->npages = (uint32_t)npages;
	s->nelems = (uint32_t)nelems;
	s->elem_bytes = elem;
	s->size_class = spanclass >> 1;
	if (spanclass & 1)
		s->flags |= GH_SPAN_NOSCAN;
	if (s->size_class == 0)
		s->flags |= GH_SPAN_LARGE;
	if (!(spanclass & 1) && s->size_class && l->min_size_for_malloc_header &&
	    elem > l->min_size_for_malloc_header)
		s->flags |= GH_SPAN_HEADER;
	/* Go 1.25 greenteagc: small spans end with spanInlineMarkBits. */
	if (l->green_tea && elem >= 16 && elem <= 512 && s->size_class)
		s->flags |= GH_SPAN_INLINE_MARKS;
	*keep = true;
	return NULL;
}

static int cmp_span(const void *a, const void *b)
{
	const struct gh_rt_span *x = a, *y = b;
	return x->base < y->base ? -1 : x->base > y->base;
}

static struct gh_error *load_spans(struct gh_rt *rt, struct span_vec *spans)
{
	const struct rt_layout *l = &rt->l;
	struct gh_error *err;
	uint64_t base, n, *ptrs = NULL;
	uint8_t buf[MAX_SPAN_BYTES];

	if (l->span_bytes > MAX_SPAN_BYTES)
		return gh_error_new(GH_ERR_UNSUPPORTED, "mspan of %u bytes", l->span_bytes);
	err = rt_read_slice(rt, rt->mheap_addr + l->mheap_allspans, &base, &n);
	if (err)
		return gh_error_wrap(err, "reading runtime.mheap_.allspans");
	/* Every span takes at least one page of the 48-bit address space. */
	if (n > (1ull << 35) / 8)
		return gh_error_new(GH_ERR_CORRUPT, "mheap_.allspans claims %" PRIu64
				    " spans, more than the address space holds", n);
	ptrs = gh_malloc_array(SPAN_PTR_CHUNK, sizeof(*ptrs));
	if (!ptrs)
		return &gh_enomem;
	for (uint64_t i = 0; i < n; i += SPAN_PTR_CHUNK) {
		size_t m = n - i < SPAN_PTR_CHUNK ? (size_t)(n - i) : SPAN_PTR_CHUNK;
		err = gh_mem_read(rt->mem, base + i * 8, ptrs, m * 8);
		if (err) {
			err = gh_error_wrap(err, "reading mheap_.allspans[%" PRIu64 "]", i);
			goto out;
		}
		for (size_t j = 0; j < m; j++) {
			struct gh_rt_span s;
			bool keep;

			if (!ptrs[j])
				continue;
			err = gh_mem_read(rt->mem, ptrs[j], buf, l->span_bytes);
			if (!err)
				err = parse_span(rt, ptrs[j], buf, &s, &keep);
			if (err) {
				err = gh_error_wrap(err, "span %" PRIu64 " at 0x%" PRIx64,
						    i + j, ptrs[j]);
				goto out;
			}
			if (keep && !span_vec_push(spans, s)) {
				err = &gh_enomem;
				goto out;
			}
		}
	}
	if (spans->n)
		qsort(spans->data, spans->n, sizeof(spans->data[0]), cmp_span);
	for (size_t i = 1; i < spans->n; i++) {
		const struct gh_rt_span *a = &spans->data[i - 1], *b = &spans->data[i];
		if (a->base + a->npages * l->page_bytes > b->base) {
			err = gh_error_new(GH_ERR_CORRUPT, "in-use spans at 0x%" PRIx64
					   " and 0x%" PRIx64 " overlap", a->base, b->base);
			goto out;
		}
	}
out:
	gh_free(ptrs);
	return err;
}

/* Reads the allocation bits of span s into bits[] and counts objects. */
static struct gh_error *span_alloc_bits(struct gh_rt *rt, struct gh_rt_span *s,
					uint8_t *bits)
{
	const struct rt_layout *l = &rt->l;
	struct gh_error *err;
	uint8_t buf[MAX_SPAN_BYTES];
	uint64_t bits_addr, freeindex;
	size_t nbytes = (s->nelems + 7) / 8;

	err = gh_mem_read(rt->mem, s->addr, buf, l->span_bytes);
	if (err)
		return err;
	bits_addr = get_uint(buf, l->span_alloc_bits, 8);
	freeindex = get_uint(buf, l->span_freeindex, l->span_freeindex_bytes);
	if (freeindex > s->nelems)
		return gh_error_new(GH_ERR_CORRUPT, "mspan at 0x%" PRIx64
				    " has freeindex %" PRIu64 " past nelems %u",
				    s->addr, freeindex, s->nelems);
	if (nbytes) {
		err = gh_mem_read(rt->mem, bits_addr, bits, nbytes);
		if (err)
			return gh_error_wrap(err, "reading mspan.allocBits");
	}
	/* Slots below freeindex were allocated since the last sweep. */
	for (uint64_t i = 0; i < freeindex; i++)
		bits[i / 8] |= 1u << (i % 8);
	if (s->nelems % 8)
		bits[nbytes - 1] &= (1u << (s->nelems % 8)) - 1;
	return NULL;
}

static struct gh_error *object_type(struct gh_rt *rt, const struct gh_rt_span *s,
				    uint64_t addr, gh_rtype_id *ret)
{
	struct gh_error *err;
	uint64_t type_addr = 0;

	*ret = GH_RTYPE_NONE;
	if (s->flags & GH_SPAN_NOSCAN)
		return NULL;
	if (s->flags & GH_SPAN_LARGE) {
		type_addr = s->large_type;
	} else if (s->flags & GH_SPAN_HEADER) {
		err = gh_mem_read_u64(rt->mem, addr, &type_addr);
		if (err)
			return gh_error_wrap(err, "reading the malloc header of 0x%"
					     PRIx64, addr);
	}
	if (!type_addr)
		return NULL;	/* not yet initialized, or pre-1.22 */
	return rt_intern_type(rt, type_addr, ret);
}

static struct gh_error *load_objects(struct gh_rt *rt, struct span_vec *spans)
{
	struct gh_rt_heap *h = &rt->heap;
	struct gh_error *err = NULL;
	uint8_t *bits = NULL;
	size_t cap = 0, n = 0;

	/* First pass: count, so that the object arrays are allocated once. */
	uint64_t max_nelems = 0;
	for (size_t i = 0; i < spans->n; i++)
		if (spans->data[i].nelems > max_nelems)
			max_nelems = spans->data[i].nelems;
	bits = gh_malloc((size_t)(max_nelems + 7) / 8 + 1);
	if (!bits)
		return &gh_enomem;
	for (size_t i = 0; i < spans->n; i++) {
		struct gh_rt_span *s = &spans->data[i];
		memset(bits, 0, (s->nelems + 7) / 8 + 1);
		err = span_alloc_bits(rt, s, bits);
		if (err) {
			err = gh_error_wrap(err, "span at 0x%" PRIx64, s->addr);
			goto out;
		}
		uint32_t count = 0;
		for (size_t b = 0; b < (s->nelems + 7) / 8; b++)
			count += (uint32_t)__builtin_popcount(bits[b]);
		s->n_objs = count;
		if (n + count > UINT32_MAX - 1) {
			err = gh_error_new(GH_ERR_LIMIT, "more than 2^32 heap objects");
			goto out;
		}
		n += count;
	}
	cap = n;
	uint64_t n_words = 0;
	for (size_t i = 0; i < spans->n; i++) {
		spans->data[i].bits_word = (uint32_t)n_words;
		n_words += (spans->data[i].nelems + 63) / 64;
		if (n_words > UINT32_MAX) {
			err = gh_error_new(GH_ERR_LIMIT, "more than 2^38 heap slots");
			goto out;
		}
	}
	h->alloc_bits = gh_calloc(n_words ? n_words : 1, sizeof(*h->alloc_bits));
	h->alloc_rank = gh_malloc_array(n_words ? n_words : 1, sizeof(*h->alloc_rank));
	h->obj_addr = gh_malloc_array(cap, sizeof(*h->obj_addr));
	h->obj_span = gh_malloc_array(cap, sizeof(*h->obj_span));
	h->obj_type = gh_malloc_array(cap, sizeof(*h->obj_type));
	if (!h->obj_addr || !h->obj_span || !h->obj_type || !h->alloc_bits ||
	    !h->alloc_rank) {
		err = &gh_enomem;
		goto out;
	}
	n = 0;
	for (size_t i = 0; i < spans->n; i++) {
		struct gh_rt_span *s = &spans->data[i];
		memset(bits, 0, (s->nelems + 7) / 8 + 1);
		err = span_alloc_bits(rt, s, bits);
		if (err)
			goto out;
		s->first_obj = (uint32_t)n;
		for (uint32_t k = 0; k < s->nelems; k++) {
			uint64_t *word = &h->alloc_bits[s->bits_word + k / 64];
			if (k % 64 == 0)
				h->alloc_rank[s->bits_word + k / 64] = (uint32_t)(n - s->first_obj);
			if (!(bits[k / 8] & (1u << (k % 8))))
				continue;
			*word |= 1ull << (k % 64);
			if (n == cap) {
				/* The bits changed between passes: impossible
				 * for a core, so the structures are damaged. */
				err = gh_error_new(GH_ERR_CORRUPT, "allocation bits of"
						   " span 0x%" PRIx64 " are unstable", s->addr);
				goto out;
			}
			uint64_t addr = s->base + (uint64_t)k * s->elem_bytes;
			err = object_type(rt, s, addr, &h->obj_type[n]);
			if (err)
				goto out;
			h->obj_addr[n] = addr;
			h->obj_span[n] = (uint32_t)i;
			h->total_bytes += s->elem_bytes;
			n++;
		}
	}
	h->n_objs = n;
out:
	gh_free(bits);
	return err;
}

/* Fills chunk_ids/chunk_pages: which span each heap page belongs to. */
static struct gh_error *index_pages(struct gh_rt *rt, struct gh_rt_heap *h)
{
	unsigned shift = (unsigned)__builtin_ctzll(rt->l.page_bytes);
	size_t per_chunk = (size_t)1 << (GH_RT_CHUNK_SHIFT - shift), n_chunks = 0;

	if (rt->l.page_bytes & (rt->l.page_bytes - 1) || shift >= GH_RT_CHUNK_SHIFT)
		return gh_error_new(GH_ERR_UNSUPPORTED, "page size %" PRIu64,
				    rt->l.page_bytes);
	h->page_shift = shift;
	gh_u64_map_init(&h->chunk_ids);
	for (size_t i = 0; i < h->n_spans; i++) {
		const struct gh_rt_span *s = &h->spans[i];
		uint64_t first = s->base >> GH_RT_CHUNK_SHIFT;
		uint64_t last = (s->base + ((uint64_t)s->npages << shift) - 1) >> GH_RT_CHUNK_SHIFT;
		for (uint64_t c = first; c <= last; c++) {
			uint32_t id;
			if (gh_u64_map_get(&h->chunk_ids, c, &id))
				continue;
			if (!gh_u64_map_put(&h->chunk_ids, c, (uint32_t)n_chunks))
				return &gh_enomem;
			uint32_t *t = gh_realloc_array(h->chunk_pages, (n_chunks + 1) * per_chunk,
						       sizeof(*t));
			if (!t)
				return &gh_enomem;
			memset(t + n_chunks * per_chunk, 0, per_chunk * sizeof(*t));
			h->chunk_pages = t;
			n_chunks++;
		}
		for (uint64_t p = 0; p < s->npages; p++) {
			uint64_t a = s->base + (p << shift);
			uint32_t c;
			(void)gh_u64_map_get(&h->chunk_ids, a >> GH_RT_CHUNK_SHIFT, &c);
			h->chunk_pages[(size_t)c * per_chunk +
				       ((a >> shift) & (per_chunk - 1))] = (uint32_t)i + 1;
		}
	}
	return NULL;
}

struct gh_error *gh_rt_load_heap(struct gh_rt *rt, const struct gh_rt_heap **ret)
{
	struct gh_error *err;
	struct span_vec spans = {0};

	if (rt->heap_loaded) {
		*ret = &rt->heap;
		return NULL;
	}
	err = load_spans(rt, &spans);
	if (!err)
		err = load_objects(rt, &spans);
	if (err) {
		span_vec_deinit(&spans);
		return gh_error_wrap(err, "loading the heap");
	}
	rt->heap.spans = spans.data;
	rt->heap.n_spans = spans.n;
	err = index_pages(rt, &rt->heap);
	if (err)
		return gh_error_wrap(err, "indexing the heap");
	rt->heap_loaded = true;
	*ret = &rt->heap;
	return NULL;
}

gh_obj_id gh_rt_find_object(const struct gh_rt_heap *h, uint64_t addr)
{
	uint32_t c;

	if (!gh_u64_map_get(&h->chunk_ids, addr >> GH_RT_CHUNK_SHIFT, &c))
		return GH_OBJ_NONE;
	size_t per_chunk = (size_t)1 << (GH_RT_CHUNK_SHIFT - h->page_shift);
	uint32_t si = h->chunk_pages[(size_t)c * per_chunk +
				     ((addr >> h->page_shift) & (per_chunk - 1))];
	if (!si)
		return GH_OBJ_NONE;
	const struct gh_rt_span *s = &h->spans[si - 1];
	uint64_t k = (addr - s->base) / s->elem_bytes;
	if (k >= s->nelems)
		return GH_OBJ_NONE;	/* the span's tail: heap bits, marks */
	size_t w = s->bits_word + (size_t)(k / 64);
	uint64_t word = h->alloc_bits[w], below = (1ull << (k % 64)) - 1;
	if (!(word >> (k % 64) & 1))
		return GH_OBJ_NONE;
	return s->first_obj + h->alloc_rank[w] +
	       (uint32_t)__builtin_popcountll(word & below);
}

void gh_rt_describe_untyped(const struct gh_rt_heap *h, gh_obj_id id,
			    char *buf, size_t len)
{
	const struct gh_rt_span *s = &h->spans[h->obj_span[id]];

	if (s->flags & GH_SPAN_LARGE)
		snprintf(buf, len, "unknown (large, %s)",
			 s->flags & GH_SPAN_NOSCAN ? "noscan" : "scan");
	else
		snprintf(buf, len, "unknown (size class %u, %" PRIu64 " B, %s)",
			 s->size_class, s->elem_bytes,
			 s->flags & GH_SPAN_NOSCAN ? "noscan" : "scan");
}
