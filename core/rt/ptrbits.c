/*
 * ptrbits.c - which words of each heap object hold pointers, as the
 * garbage collector sees them.
 *
 * Go 1.22+ (runtime/mbitmap.go, typePointersOfUnchecked):
 *
 *   noscan span              no pointers;
 *   scan, elemsize <= 512    one heap bit per word of the span, at the end
 *                            of the span, before Green Tea's inline mark
 *                            bits where the span has them (1.25
 *                            greenteagc, 1.26+: spanHeapBitsRange);
 *   malloc header (>512 B)   the header's type's mask, tiled every Size_
 *                            bytes from slot+8 to the end of the slot
 *                            (typePointers.next stops at the slot's end,
 *                            not at the end of the data);
 *   large (size class 0)     mspan.largeType's mask tiled from the base
 *                            over the whole span.
 *
 * Go 1.21, and 1.22 built with GOEXPERIMENT=noallocheaders, keep one bit
 * per heap word in each arena's heapArena.bitmap instead.
 *
 * A type's mask is what GCData holds (internal/abi/type.go): a plain
 * bitmap of PtrBytes/8 bits; up to Go 1.23, with Kind_ & KindGCProg, a
 * GC program (runGCProg); from Go 1.24, with TFlagGCMaskOnDemand, the
 * address of a word that points at the bitmap once the runtime has built
 * it (getGCMaskOnDemand) and is nil until then: then the mask is built
 * here from the type's arrays and structs as buildGCMask does, with an
 * explicit stack.  Masks are cached by type address, so a heap of many
 * objects of few types reads each type once.
 */
#include <string.h>

#include "rt_internal.h"

enum {
	KIND_ARRAY = 17,	/* internal/abi.Array, every release */
	KIND_STRUCT = 25,	/* internal/abi.Struct */
	/* On-demand arrays and structs nested in each other while building. */
	MAX_TYPE_NEST = 256,
	/* A struct type with more fields than this is taken for damage. */
	MAX_STRUCT_FIELDS = 1 << 20,
	FIELD_CHUNK = 256,	/* struct fields read at a time */
	TYPE_READ_BYTES = 48,	/* sizeof(abi.Type), 1.21-1.27 */
};

struct type_mask {
	uint64_t size_words;	/* Size_ / 8 */
	uint64_t n_bits;	/* PtrBytes / 8; the words after hold no pointers */
	uint8_t *bits;		/* (n_bits + 7) / 8 bytes, NULL if n_bits is 0 */
};

struct rt_ptrbits {
	struct gh_u64_map ids;		/* abi.Type address -> index in masks */
	struct type_mask *masks;
	size_t n_masks, cap_masks;
	/* An object's bits are built here and copied out on success. */
	uint8_t *scratch;
	size_t scratch_bytes;
	/* The heap bits of the small span read last (index + 1; 0 none). */
	size_t hb_span;
	uint8_t *hb;
	size_t hb_bytes, hb_cap;
	/* What *GCData holds while another thread builds the mask. */
	bool sentinel_known;
	uint64_t in_progress;		/* &runtime.inProgress, or 0 */
	uint64_t noptrbss, noptrbss_end; /* where it lives, if no symbol */
};

/* The fields of an abi.Type this file reads. */
struct tdesc {
	uint64_t addr;
	uint64_t size, ptr_bytes, gcdata;
	uint8_t tflag, kind_raw, kind;
};

void ptrbits_deinit(struct gh_rt *rt)
{
	struct rt_ptrbits *pb = rt->ptrbits;

	if (!pb)
		return;
	for (size_t i = 0; i < pb->n_masks; i++)
		gh_free(pb->masks[i].bits);
	gh_free(pb->masks);
	gh_u64_map_deinit(&pb->ids);
	gh_free(pb->scratch);
	gh_free(pb->hb);
	gh_free(pb);
	rt->ptrbits = NULL;
}

static uint64_t get_u64(const uint8_t *buf, uint32_t off)
{
	uint64_t v;

	memcpy(&v, buf + off, 8);	/* little-endian targets only */
	return v;
}

/* ORs n bits of src (from bit 0) into dst from bit off. */
static void or_bits(uint8_t *dst, uint64_t off, const uint8_t *src, uint64_t n)
{
	uint8_t *d = dst + off / 8;
	unsigned sh = off % 8;
	uint64_t full = n / 8;
	unsigned rest = n % 8;

	for (uint64_t i = 0; i < full; i++) {
		d[i] |= (uint8_t)(src[i] << sh);
		uint8_t hi = sh ? (uint8_t)(src[i] >> (8 - sh)) : 0;
		if (hi)		/* set bits lie inside the region */
			d[i + 1] |= hi;
	}
	if (rest) {
		uint8_t v = src[full] & (uint8_t)((1u << rest) - 1);
		d[full] |= (uint8_t)(v << sh);
		uint8_t hi = sh ? (uint8_t)(v >> (8 - sh)) : 0;
		if (hi)
			d[full + 1] |= hi;
	}
}

static inline bool bit_at(const uint8_t *b, uint64_t i)
{
	return b[i / 8] >> (i % 8) & 1;
}

/*
 * Sets in out (zeroed, n_words bits) the mask m tiled every m->size_words
 * bits from bit start, cut at n_words.  Once eight elements (size_words
 * whole bytes) are in place the pattern repeats bytewise: copy bytes.
 */
static void tile_mask(uint8_t *out, uint64_t n_words, uint64_t start,
		      const struct type_mask *m)
{
	uint64_t period = m->size_words;	/* bytes per eight elements */
	uint64_t n_bytes = (n_words + 7) / 8;
	uint64_t first = (start + 7) / 8;	/* first byte wholly in the region */
	uint64_t copy_from = first + period;	/* bytes from here are copies */
	uint64_t e;

	if (!m->n_bits || start >= n_words)
		return;
	for (e = start; e < n_words && e < copy_from * 8; e += period) {
		uint64_t n = m->n_bits < n_words - e ? m->n_bits : n_words - e;
		or_bits(out, e, m->bits, n);
	}
	if (e >= n_words)
		return;
	for (uint64_t b = copy_from; b < n_bytes; b++)
		out[b] = out[b - period];
	if (n_words % 8)
		out[n_bytes - 1] &= (uint8_t)((1u << (n_words % 8)) - 1);
}

static struct rt_ptrbits *state(struct gh_rt *rt)
{
	if (!rt->ptrbits) {
		rt->ptrbits = gh_calloc(1, sizeof(*rt->ptrbits));
		if (rt->ptrbits)
			gh_u64_map_init(&rt->ptrbits->ids);
	}
	return rt->ptrbits;
}

static struct gh_error *read_tdesc(struct gh_rt *rt, uint64_t addr,
				   struct tdesc *t)
{
	const struct rt_layout *l = &rt->l;
	struct gh_error *err;
	uint8_t buf[TYPE_READ_BYTES];

	if (l->type_size > TYPE_READ_BYTES - 8 || l->type_ptr_bytes > TYPE_READ_BYTES - 8 ||
	    l->type_gcdata > TYPE_READ_BYTES - 8 || l->type_tflag >= TYPE_READ_BYTES ||
	    l->type_kind >= TYPE_READ_BYTES)
		return gh_error_new(GH_ERR_UNSUPPORTED, "abi.Type fields lie past"
				    " byte %d", TYPE_READ_BYTES);
	if (!addr || addr == UINT64_MAX)
		return gh_error_new(GH_ERR_CORRUPT, "type address 0x%" PRIx64, addr);
	err = gh_mem_read(rt->mem, addr, buf, sizeof(buf));
	if (err)
		return gh_error_wrap(err, "reading type 0x%" PRIx64, addr);
	memset(t, 0, sizeof(*t));
	t->addr = addr;
	t->size = get_u64(buf, l->type_size);
	t->ptr_bytes = get_u64(buf, l->type_ptr_bytes);
	t->gcdata = get_u64(buf, l->type_gcdata);
	t->tflag = buf[l->type_tflag];
	t->kind_raw = buf[l->type_kind];
	t->kind = t->kind_raw & (uint8_t)l->kind_mask;
	/* A type with pointers is pointer-aligned, and so is its size. */
	if (t->ptr_bytes > t->size || t->ptr_bytes % 8 ||
	    (t->ptr_bytes && t->size % 8))
		return gh_error_new(GH_ERR_CORRUPT, "type 0x%" PRIx64 " has %" PRIu64
				    " pointer bytes in %" PRIu64, addr,
				    t->ptr_bytes, t->size);
	return NULL;
}

static bool is_gc_prog(const struct gh_rt *rt, const struct tdesc *t)
{
	return rt->l.kind_gc_prog && (t->kind_raw & rt->l.kind_gc_prog);
}

static bool is_on_demand(const struct gh_rt *rt, const struct tdesc *t)
{
	return rt->l.tflag_gc_mask_on_demand &&
	       (t->tflag & rt->l.tflag_gc_mask_on_demand);
}

/* Adds a mask for type addr; takes ownership of bits (freed on failure). */
static struct gh_error *add_mask(struct rt_ptrbits *pb, uint64_t addr,
				 const struct tdesc *t, uint8_t *bits,
				 size_t *ret)
{
	if (pb->n_masks == UINT32_MAX) {
		gh_free(bits);
		return gh_error_new(GH_ERR_LIMIT, "more than 2^32 type masks");
	}
	if (pb->n_masks == pb->cap_masks) {
		size_t cap = pb->cap_masks ? pb->cap_masks * 2 : 64;
		struct type_mask *m = gh_realloc_array(pb->masks, cap, sizeof(*m));
		if (!m) {
			gh_free(bits);
			return &gh_enomem;
		}
		pb->masks = m;
		pb->cap_masks = cap;
	}
	struct type_mask *m = &pb->masks[pb->n_masks];
	m->size_words = t->size / 8;
	m->n_bits = t->ptr_bytes / 8;
	m->bits = bits;
	if (!gh_u64_map_put(&pb->ids, addr, (uint32_t)pb->n_masks)) {
		gh_free(bits);
		return &gh_enomem;
	}
	*ret = pb->n_masks++;
	return NULL;
}

static uint8_t *alloc_bits(uint64_t n_bits)
{
	/* One spare byte: or_bits may look one past a region's last byte. */
	return gh_calloc((size_t)(n_bits + 7) / 8 + 1, 1);
}

/*
 * Runs the GC program of type t (GCData: a 4-byte length, then the
 * program; runtime/mbitmap.go runGCProg) into bits (t->ptr_bytes/8 bits,
 * zeroed).  0nnnnnnn: n literal bits follow in (n+7)/8 bytes; 00000000:
 * end; 1nnnnnnn [n] c: repeat the last n bits c more times (n as a
 * uvarint when the 7 bits are 0).
 */
static struct gh_error *run_gc_prog(struct gh_rt *rt, const struct tdesc *t,
				    uint8_t *bits)
{
	struct gh_error *err;
	uint64_t max = t->ptr_bytes / 8;
	uint32_t len;
	uint8_t *prog;
	uint64_t pc = 0, n_out = 0;
	const char *bad = NULL;

	err = gh_mem_read_u32(rt->mem, t->gcdata, &len);
	if (err)
		return gh_error_wrap(err, "reading the GC program of type 0x%"
				     PRIx64, t->addr);
	/* Each bit costs at most two bytes (a 1-bit literal). */
	if (!len || len > 2 * max + 16)
		return gh_error_new(GH_ERR_CORRUPT, "type 0x%" PRIx64 ": a GC program"
				    " of %u bytes for %" PRIu64 " words", t->addr,
				    len, max);
	prog = gh_malloc(len);
	if (!prog)
		return &gh_enomem;
	err = gh_mem_read(rt->mem, t->gcdata + 4, prog, len);
	if (err) {
		err = gh_error_wrap(err, "reading the GC program of type 0x%"
				    PRIx64, t->addr);
		goto out;
	}
	while (!bad) {
		if (pc >= len) {
			bad = "runs past its end";
			break;
		}
		uint8_t op = prog[pc++];
		uint64_t n = op & 0x7f;
		if (!(op & 0x80)) {
			if (!n)
				break;		/* the end */
			if (n > max - n_out)
				bad = "writes past the type's pointer words";
			else if ((n + 7) / 8 > len - pc)
				bad = "runs past its end";
			if (bad)
				break;
			for (uint64_t i = 0; i < n; i++)
				if (prog[pc + i / 8] >> (i % 8) & 1)
					bits[(n_out + i) / 8] |= (uint8_t)(1u << ((n_out + i) % 8));
			pc += (n + 7) / 8;
			n_out += n;
			continue;
		}
		/* A repeat: [n as a uvarint if the 7 bits are 0] c as a uvarint. */
		uint64_t vals[2] = { n, 0 };
		for (int k = n ? 1 : 0; k < 2 && !bad; k++) {
			uint64_t v = 0;
			for (unsigned shift = 0;; shift += 7) {
				if (pc >= len || shift > 63) {
					bad = "has a bad varint";
					break;
				}
				uint8_t x = prog[pc++];
				v |= (uint64_t)(x & 0x7f) << shift;
				if (!(x & 0x80))
					break;
			}
			vals[k] = v;
		}
		if (bad)
			break;
		n = vals[0];
		uint64_t total;
		if (!n || n > n_out) {
			bad = "repeats bits it has not written";
			break;
		}
		if (gh_mul_overflow_u64(n, vals[1], &total) || total > max - n_out) {
			bad = "writes past the type's pointer words";
			break;
		}
		/* Bit by bit: the source may overlap what is being written. */
		for (uint64_t i = 0; i < total; i++, n_out++)
			if (bit_at(bits, n_out - n))
				bits[n_out / 8] |= (uint8_t)(1u << (n_out % 8));
	}
	if (bad)
		err = gh_error_new(GH_ERR_CORRUPT, "type 0x%" PRIx64 ": its GC program"
				   " %s (byte %" PRIu64 ")", t->addr, bad, pc);
out:
	gh_free(prog);
	return err;
}

/* Whether p is what *GCData holds while some thread builds the mask. */
static bool mask_in_progress(struct gh_rt *rt, struct rt_ptrbits *pb, uint64_t p)
{
	if (!pb->sentinel_known) {
		struct gh_error *err;
		uint64_t size;

		pb->sentinel_known = true;
		err = rt_find_global(rt, "runtime.inProgress", &pb->in_progress);
		if (err) {
			gh_error_free(err);
			pb->in_progress = 0;
			/* Without symbols: it is a byte in .noptrbss, and a
			 * built mask never is (persistentalloc). */
			err = gh_mem_exe_section(rt->mem, ".noptrbss", &pb->noptrbss, &size);
			if (err || gh_add_overflow_u64(pb->noptrbss, size, &pb->noptrbss_end))
				pb->noptrbss = pb->noptrbss_end = 0;
			gh_error_free(err);
		}
	}
	if (pb->in_progress)
		return p == pb->in_progress;
	return p >= pb->noptrbss && p < pb->noptrbss_end;
}

/*
 * The mask of a type that needs no other type's mask: no pointers, a
 * plain bitmap, a GC program, or an on-demand mask the runtime has built.
 * *done is false for an on-demand mask still to be built from the
 * type's structure.
 */
static struct gh_error *direct_mask(struct gh_rt *rt, struct rt_ptrbits *pb,
				    const struct tdesc *t, size_t *ret, bool *done)
{
	struct gh_error *err;
	uint64_t n_bits = t->ptr_bytes / 8, src = t->gcdata;
	uint8_t *bits;

	*done = true;
	if (!n_bits)
		return add_mask(pb, t->addr, t, NULL, ret);
	if (is_on_demand(rt, t)) {
		/* Go 1.24: GCData points at the word that will point at the mask. */
		err = gh_mem_read_ptr(rt->mem, t->gcdata, &src);
		if (err)
			return gh_error_wrap(err, "reading the GC mask slot of type 0x%"
					     PRIx64, t->addr);
		if (!src || mask_in_progress(rt, pb, src)) {
			*done = false;
			return NULL;
		}
	}
	bits = alloc_bits(n_bits);
	if (!bits)
		return &gh_enomem;
	if (is_gc_prog(rt, t))
		err = run_gc_prog(rt, t, bits);
	else if (!src)
		err = gh_error_new(GH_ERR_CORRUPT, "type 0x%" PRIx64 " has pointers"
				   " but no GCData", t->addr);
	else if ((err = gh_mem_read(rt->mem, src, bits, (size_t)(n_bits + 7) / 8)))
		err = gh_error_wrap(err, "reading the GC mask of type 0x%" PRIx64,
				    t->addr);
	if (err) {
		gh_free(bits);
		return err;
	}
	if (n_bits % 8)		/* the mask is padded: drop what follows */
		bits[n_bits / 8] &= (uint8_t)((1u << (n_bits % 8)) - 1);
	return add_mask(pb, t->addr, t, bits, ret);
}

/* One type on the stack of build_mask. */
struct build_item {
	struct tdesc t;
	uint64_t elem, len;		/* arrays: Elem, Len */
	uint64_t fields, n_fields;	/* structs: the Fields slice */
	uint64_t next;			/* struct fields already looked at */
};

struct field {
	uint64_t typ, offset;
};

static struct gh_error *read_fields(struct gh_rt *rt, const struct build_item *it,
				    uint64_t i, struct field *f, size_t n)
{
	const struct rt_layout *l = &rt->l;
	uint8_t buf[FIELD_CHUNK * 32];
	struct gh_error *err;

	if (l->sfield_bytes < 24 || l->sfield_bytes > 32 ||
	    l->sfield_typ > l->sfield_bytes - 8 || l->sfield_offset > l->sfield_bytes - 8)
		return gh_error_new(GH_ERR_UNSUPPORTED, "abi.StructField of %u bytes",
				    l->sfield_bytes);
	err = gh_mem_read(rt->mem, it->fields + i * l->sfield_bytes, buf,
			  n * l->sfield_bytes);
	if (err)
		return gh_error_wrap(err, "reading the fields of struct type 0x%"
				     PRIx64, it->t.addr);
	for (size_t k = 0; k < n; k++) {
		f[k].typ = get_u64(buf, (uint32_t)(k * l->sfield_bytes + l->sfield_typ));
		f[k].offset = get_u64(buf, (uint32_t)(k * l->sfield_bytes + l->sfield_offset));
	}
	return NULL;
}

/* Reads the array or struct part of an on-demand type. */
static struct gh_error *read_tail(struct gh_rt *rt, struct build_item *it)
{
	const struct rt_layout *l = &rt->l;
	struct gh_error *err = NULL;
	uint64_t a = it->t.addr;

	if (it->t.kind == KIND_ARRAY) {
		err = gh_mem_read_ptr(rt->mem, a + l->array_elem, &it->elem);
		if (!err)
			err = gh_mem_read_u64(rt->mem, a + l->array_len, &it->len);
	} else if (it->t.kind == KIND_STRUCT) {
		err = rt_read_slice(rt, a + l->struct_fields, &it->fields, &it->n_fields);
		if (!err && it->n_fields > MAX_STRUCT_FIELDS)
			return gh_error_new(GH_ERR_CORRUPT, "struct type 0x%" PRIx64
					    " claims %" PRIu64 " fields", a, it->n_fields);
	} else {
		return gh_error_new(GH_ERR_CORRUPT, "type 0x%" PRIx64 " of kind %u has"
				    " an on-demand GC mask (only arrays and structs do)",
				    a, it->t.kind);
	}
	if (err)
		return gh_error_wrap(err, "reading type 0x%" PRIx64, a);
	return NULL;
}

/*
 * Where the mask of a child type (array element, struct field) stands:
 * *idx_ret is its mask, or *push_ret the child to build first.
 */
static struct gh_error *child_mask(struct gh_rt *rt, struct rt_ptrbits *pb,
				   uint64_t addr, struct build_item *push,
				   bool *push_ret, size_t *idx_ret)
{
	struct gh_error *err;
	uint32_t idx;
	bool done;

	*push_ret = false;
	if (gh_u64_map_get(&pb->ids, addr, &idx)) {
		*idx_ret = idx;
		return NULL;
	}
	memset(push, 0, sizeof(*push));
	err = read_tdesc(rt, addr, &push->t);
	if (!err)
		err = direct_mask(rt, pb, &push->t, idx_ret, &done);
	if (err)
		return err;
	if (!done) {
		err = read_tail(rt, push);
		if (err)
			return err;
		*push_ret = true;
	}
	return NULL;
}

/* Composes the mask of array type it from its element's mask. */
static struct gh_error *compose_array(struct rt_ptrbits *pb,
				      const struct build_item *it, size_t elem,
				      size_t *ret)
{
	const struct type_mask *e = &pb->masks[elem];
	uint64_t n_bits = it->t.ptr_bytes / 8, total;
	uint8_t *bits;

	if (gh_mul_overflow_u64(e->size_words * 8, it->len, &total) ||
	    total > it->t.size || (e->n_bits && it->len &&
	    (it->len - 1) * e->size_words + e->n_bits > n_bits))
		return gh_error_new(GH_ERR_CORRUPT, "array type 0x%" PRIx64 " of %"
				    PRIu64 " elements of type 0x%" PRIx64
				    " does not fit its %" PRIu64 " bytes",
				    it->t.addr, it->len, it->elem, it->t.size);
	bits = alloc_bits(n_bits);
	if (!bits)
		return &gh_enomem;
	if (e->n_bits)
		for (uint64_t i = 0; i < it->len; i++)
			or_bits(bits, i * e->size_words, e->bits, e->n_bits);
	return add_mask(pb, it->t.addr, &it->t, bits, ret);
}

/* Composes the mask of struct type it from its fields' masks. */
static struct gh_error *compose_struct(struct gh_rt *rt, struct rt_ptrbits *pb,
				       const struct build_item *it, size_t *ret)
{
	struct gh_error *err;
	struct field f[FIELD_CHUNK];
	uint64_t n_bits = it->t.ptr_bytes / 8;
	uint8_t *bits = alloc_bits(n_bits);

	if (!bits)
		return &gh_enomem;
	for (uint64_t i = 0; i < it->n_fields; i += FIELD_CHUNK) {
		size_t n = it->n_fields - i < FIELD_CHUNK ? (size_t)(it->n_fields - i)
							  : FIELD_CHUNK;
		err = read_fields(rt, it, i, f, n);
		if (err)
			goto fail;
		for (size_t k = 0; k < n; k++) {
			uint32_t idx;
			if (!gh_u64_map_get(&pb->ids, f[k].typ, &idx)) {
				err = gh_error_new(GH_ERR_CORRUPT, "struct type 0x%"
						   PRIx64 " changed while read", it->t.addr);
				goto fail;
			}
			const struct type_mask *m = &pb->masks[idx];
			uint64_t end;
			if (!m->n_bits)
				continue;
			if (f[k].offset % 8 ||
			    gh_add_overflow_u64(f[k].offset, m->size_words * 8, &end) ||
			    end > it->t.size || f[k].offset / 8 + m->n_bits > n_bits) {
				err = gh_error_new(GH_ERR_CORRUPT, "struct type 0x%" PRIx64
						   ": field %" PRIu64 " (type 0x%" PRIx64
						   ") at offset %" PRIu64 " does not fit"
						   " its %" PRIu64 " bytes", it->t.addr,
						   i + k, f[k].typ, f[k].offset, it->t.size);
				goto fail;
			}
			or_bits(bits, f[k].offset / 8, m->bits, m->n_bits);
		}
	}
	return add_mask(pb, it->t.addr, &it->t, bits, ret);
fail:
	gh_free(bits);
	return err;
}

/*
 * Builds the mask of on-demand type root (runtime/type.go buildGCMask):
 * an array is its element's mask Len times, a struct its fields' masks at
 * their offsets.  Children are built first, on an explicit stack; every
 * type built is cached.
 */
static struct gh_error *build_mask(struct gh_rt *rt, struct rt_ptrbits *pb,
				   const struct build_item *root, size_t *ret)
{
	struct gh_error *err = NULL;
	struct build_item *stack = gh_malloc_array(MAX_TYPE_NEST, sizeof(*stack));
	struct build_item child;
	struct field f[FIELD_CHUNK];
	size_t depth = 1, idx = 0;
	bool push;

	if (!stack)
		return &gh_enomem;
	stack[0] = *root;
	while (depth) {
		struct build_item *it = &stack[depth - 1];
		uint32_t cached;

		if (gh_u64_map_get(&pb->ids, it->t.addr, &cached)) {
			idx = cached;	/* built on another path */
			depth--;
			continue;
		}
		push = false;
		if (it->t.kind == KIND_ARRAY) {
			err = child_mask(rt, pb, it->elem, &child, &push, &idx);
			if (!err && !push)
				err = compose_array(pb, it, idx, &idx);
		} else {
			while (!err && !push && it->next < it->n_fields) {
				size_t n = it->n_fields - it->next < FIELD_CHUNK ?
					   (size_t)(it->n_fields - it->next) : FIELD_CHUNK;
				err = read_fields(rt, it, it->next, f, n);
				for (size_t k = 0; !err && k < n; k++) {
					size_t unused;
					err = child_mask(rt, pb, f[k].typ, &child, &push, &unused);
					if (err || push)
						break;
					it->next++;
				}
			}
			if (!err && !push)
				err = compose_struct(rt, pb, it, &idx);
		}
		if (err)
			break;
		if (!push) {
			depth--;
			continue;
		}
		for (size_t k = 0; k < depth; k++) {
			if (stack[k].t.addr == child.t.addr) {
				err = gh_error_new(GH_ERR_CORRUPT, "type 0x%" PRIx64
						   " contains itself", child.t.addr);
				goto out;
			}
		}
		if (depth == MAX_TYPE_NEST) {
			err = gh_error_new(GH_ERR_LIMIT, "type 0x%" PRIx64 " nests arrays"
					   " and structs more than %d deep", root->t.addr,
					   MAX_TYPE_NEST);
			goto out;
		}
		stack[depth++] = child;
	}
out:
	gh_free(stack);
	if (err)
		return gh_error_wrap(err, "building the GC mask of type 0x%" PRIx64,
				     root->t.addr);
	*ret = idx;
	return NULL;
}

/* The cached mask of type addr, read or built on first use. */
static struct gh_error *type_mask(struct gh_rt *rt, struct rt_ptrbits *pb,
				  uint64_t addr, const struct type_mask **ret)
{
	struct gh_error *err;
	struct build_item root;
	uint32_t idx;
	size_t i;
	bool done;

	if (gh_u64_map_get(&pb->ids, addr, &idx)) {
		*ret = &pb->masks[idx];
		return NULL;
	}
	memset(&root, 0, sizeof(root));
	err = read_tdesc(rt, addr, &root.t);
	if (!err)
		err = direct_mask(rt, pb, &root.t, &i, &done);
	if (!err && !done) {
		err = read_tail(rt, &root);
		if (!err)
			err = build_mask(rt, pb, &root, &i);
	}
	if (err)
		return err;
	*ret = &pb->masks[i];
	return NULL;
}

/* Small scan spans: the span's heap bits, read once per span. */
static struct gh_error *span_heap_bits(struct gh_rt *rt, struct rt_ptrbits *pb,
				       const struct gh_rt_heap *h, size_t span_idx,
				       uint64_t *data_words_ret)
{
	const struct rt_layout *l = &rt->l;
	const struct gh_rt_span *s = &h->spans[span_idx];
	struct gh_error *err;
	uint64_t span_bytes = (uint64_t)s->npages * l->page_bytes;
	uint64_t hb_bytes = span_bytes / 8 / 8;
	uint64_t reserved = hb_bytes;

	/* Green Tea: spanInlineMarkBits take the span's last bytes. */
	if ((s->flags & GH_SPAN_INLINE_MARKS) && l->inline_mark_bytes)
		reserved += l->inline_mark_bytes;
	if (reserved >= span_bytes)
		return gh_error_new(GH_ERR_CORRUPT, "span 0x%" PRIx64 " of %" PRIu64
				    " bytes has no room for its heap bits",
				    s->base, span_bytes);
	*data_words_ret = (span_bytes - reserved) / 8;
	if (pb->hb_span == span_idx + 1)
		return NULL;
	if (hb_bytes + 1 > pb->hb_cap) {
		uint8_t *p = gh_realloc_array(pb->hb, (size_t)hb_bytes + 1, 1);
		if (!p)
			return &gh_enomem;
		pb->hb = p;
		pb->hb_cap = (size_t)hb_bytes + 1;
	}
	pb->hb_span = 0;
	err = gh_mem_read(rt->mem, s->base + span_bytes - reserved, pb->hb,
			  (size_t)hb_bytes);
	if (err)
		return gh_error_wrap(err, "reading the heap bits of span 0x%" PRIx64,
				     s->base);
	pb->hb_bytes = (size_t)hb_bytes;
	pb->hb_span = span_idx + 1;
	return NULL;
}

/*
 * Go 1.21 and 1.22 noallocheaders: heapArena.bitmap, one bit per word of
 * the arena (runtime/mbitmap.go of 1.21, heapBitsForAddr).  An object
 * may span arenas (large objects): read each arena's part.
 */
static struct gh_error *arena_bits(struct gh_rt *rt, uint64_t base,
				   uint64_t n_words, uint8_t *out)
{
	const struct rt_layout *l = &rt->l;
	struct gh_error *err;
	uint64_t l2, done = 0;
	uint8_t buf[4096];

	if (l->arena_l1_bits || !l->heap_arena_bytes || l->heap_arena_bytes % 4096)
		return gh_error_new(GH_ERR_UNSUPPORTED, "a two-level arena index"
				    " (arenaL1Bits %" PRId64 ")", l->arena_l1_bits);
	/* mheap_.arenas is [1]*[1 << arenaL2Bits]*heapArena. */
	err = gh_mem_read_ptr(rt->mem, rt->mheap_addr + l->mheap_arenas, &l2);
	if (err)
		return gh_error_wrap(err, "reading mheap_.arenas");
	while (done < n_words) {
		uint64_t addr = base + done * 8;
		uint64_t ai = (addr - l->arena_base_offset) / l->heap_arena_bytes;
		uint64_t w = (addr - l->arena_base_offset) % l->heap_arena_bytes / 8;
		uint64_t ha, n = n_words - done;
		uint64_t arena_words = l->heap_arena_bytes / 8;

		/* The L2 array covers the 48-bit address space. */
		if (ai >= (1ull << 48) / l->heap_arena_bytes)
			return gh_error_new(GH_ERR_CORRUPT, "heap address 0x%" PRIx64
					    " outside the arena index", addr);
		err = gh_mem_read_ptr(rt->mem, l2 + ai * 8, &ha);
		if (!err && !ha)
			err = gh_error_fault(addr, "no heap arena holds 0x%" PRIx64, addr);
		if (err)
			return gh_error_wrap(err, "finding the heap arena of 0x%" PRIx64, addr);
		if (n > arena_words - w)
			n = arena_words - w;
		/* Bits w .. w+n of the arena, a chunk of bytes at a time. */
		for (uint64_t i = 0; i < n;) {
			uint64_t bit = w + i, byte = bit / 8;
			uint64_t m = (sizeof(buf) - 1) * 8 - bit % 8;
			if (m > n - i)
				m = n - i;
			err = gh_mem_read(rt->mem, ha + l->heap_arena_bitmap + byte, buf,
					  (size_t)((bit % 8 + m + 7) / 8));
			if (err)
				return gh_error_wrap(err, "reading the heap bitmap of"
						     " arena 0x%" PRIx64, ha);
			for (uint64_t k = 0; k < m; k++)
				if (bit_at(buf, bit % 8 + k))
					out[(done + i + k) / 8] |= (uint8_t)(1u << ((done + i + k) % 8));
			i += m;
		}
		done += n;
	}
	return NULL;
}

struct gh_error *gh_rt_object_ptr_bits(struct gh_rt *rt, gh_obj_id id,
				       uint8_t *ret)
{
	struct gh_error *err;
	const struct gh_rt_heap *h;
	struct rt_ptrbits *pb;

	err = gh_rt_load_heap(rt, &h);
	if (err)
		return err;
	if (id >= h->n_objs)
		return gh_error_new(GH_ERR_NOT_FOUND, "no heap object %u", id);
	pb = state(rt);
	if (!pb)
		return &gh_enomem;

	size_t span_idx = h->obj_span[id];
	const struct gh_rt_span *s = &h->spans[span_idx];
	uint64_t base = h->obj_addr[id];
	uint64_t n_words = s->elem_bytes / 8;
	size_t n_bytes = (size_t)(n_words + 7) / 8;

	if (n_bytes + 1 > pb->scratch_bytes) {
		uint8_t *p = gh_realloc_array(pb->scratch, n_bytes + 1, 1);
		if (!p)
			return &gh_enomem;
		pb->scratch = p;
		pb->scratch_bytes = n_bytes + 1;
	}
	uint8_t *out = pb->scratch;
	memset(out, 0, n_bytes + 1);

	if (s->flags & GH_SPAN_NOSCAN) {
		/* no pointers */
	} else if (rt->l.heap_arena_bitmap != RT_ABSENT) {
		err = arena_bits(rt, base, n_words, out);
	} else if (!(s->flags & (GH_SPAN_HEADER | GH_SPAN_LARGE))) {
		uint64_t data_words = 0, o = (base - s->base) / 8;
		err = span_heap_bits(rt, pb, h, span_idx, &data_words);
		if (!err && (o > data_words || n_words > data_words - o))
			err = gh_error_new(GH_ERR_CORRUPT, "object 0x%" PRIx64
					   " overlaps its span's heap bits", base);
		for (uint64_t i = 0; !err && i < n_words; i++)
			if (bit_at(pb->hb, o + i))
				out[i / 8] |= (uint8_t)(1u << (i % 8));
	} else {
		const struct type_mask *m;
		uint64_t type_addr = s->large_type, start = 0;

		if (s->flags & GH_SPAN_HEADER) {
			err = gh_mem_read_ptr(rt->mem, base, &type_addr);
			if (err)
				return gh_error_wrap(err, "reading the malloc header"
						     " of 0x%" PRIx64, base);
			start = 1;
		}
		/* A nil type: not initialized yet (runtime/malloc.go). */
		if (type_addr) {
			err = type_mask(rt, pb, type_addr, &m);
			if (!err && (!m->size_words || m->size_words > n_words - start)) {
				if (m->n_bits)
					err = gh_error_new(GH_ERR_CORRUPT, "type 0x%" PRIx64
							   " of %" PRIu64 " bytes does"
							   " not fit object 0x%" PRIx64
							   " of %" PRIu64, type_addr,
							   m->size_words * 8, base,
							   s->elem_bytes);
				m = NULL;
			}
			if (!err && m)
				tile_mask(out, n_words, start, m);
		}
	}
	if (err)
		return gh_error_wrap(err, "pointer bits of object 0x%" PRIx64, base);
	memcpy(ret, out, n_bytes);
	return NULL;
}
