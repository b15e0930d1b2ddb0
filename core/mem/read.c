/*
 * read.c - gh_mem_read(): segment lookup and the block cache.
 *
 * Target reads are small (often 8 bytes) and come by the million, so the
 * common case is: the last segment hit covers the read, and the last block
 * used holds its bytes; then a read is two comparisons and a memcpy.
 * Otherwise a binary search finds the segment and a set-associative cache
 * of 64 KiB blocks, filled with pread(), finds the bytes.  The core is
 * never mapped, so memory use does not grow with its size.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "mem_internal.h"

struct gh_error *mem_pread_all(const struct mem_file *f, uint64_t off,
			       void *buf, size_t len, size_t *ret)
{
	uint8_t *p = buf;
	size_t done = 0;

	while (done < len) {
		if (off + done > (uint64_t)INT64_MAX)
			break;
		ssize_t n = pread(f->fd, p + done, len - done,
				  (off_t)(off + done));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return gh_error_os(errno, f->path, "reading");
		}
		if (n == 0)
			break;
		done += (size_t)n;
	}
	*ret = done;
	return NULL;
}

void mem_cache_deinit(struct gh_mem *mem)
{
	for (size_t s = 0; s < MEM_CACHE_SETS; s++) {
		for (size_t w = 0; w < MEM_CACHE_WAYS; w++) {
			gh_free(mem->cache[s][w].data);
			mem->cache[s][w] = (struct mem_block){0};
		}
	}
	mem->last_block = NULL;
}

static inline uint64_t block_tag(unsigned file, uint64_t block)
{
	return (block << 1 | file) + 1;
}

static struct gh_error *cache_get(struct gh_mem *mem, unsigned file,
				  uint64_t block, struct mem_block **ret)
{
	uint64_t tag = block_tag(file, block);
	size_t set = (size_t)((tag * 0x9e3779b97f4a7c15ull) >>
			      (64 - MEM_CACHE_SET_BITS));
	struct mem_block *ways = mem->cache[set], *victim = &ways[0];
	struct gh_error *err;
	size_t got;

	for (size_t w = 0; w < MEM_CACHE_WAYS; w++) {
		if (ways[w].tag == tag) {
			ways[w].stamp = ++mem->cache_clock;
			*ret = mem->last_block = &ways[w];
			return NULL;
		}
		if (ways[w].stamp < victim->stamp)
			victim = &ways[w];
	}
	if (!victim->data) {
		victim->data = gh_malloc(MEM_BLOCK_BYTES);
		if (!victim->data)
			return &gh_enomem;
	}
	victim->tag = 0;
	if (mem->last_block == victim)
		mem->last_block = NULL;
	err = mem_pread_all(&mem->files[file], block << MEM_BLOCK_SHIFT,
			    victim->data, MEM_BLOCK_BYTES, &got);
	if (err)
		return err;
	victim->tag = tag;
	victim->n_bytes = (uint32_t)got;
	victim->stamp = ++mem->cache_clock;
	*ret = mem->last_block = victim;
	return NULL;
}

/* Copy [off, off + len) of a file through the cache. */
static struct gh_error *read_file(struct gh_mem *mem, unsigned file,
				  uint64_t off, uint8_t *out, size_t len)
{
	struct gh_error *err;
	struct mem_block *b;

	while (len) {
		err = cache_get(mem, file, off >> MEM_BLOCK_SHIFT, &b);
		if (err)
			return err;
		size_t in = (size_t)(off & (MEM_BLOCK_BYTES - 1));
		if (in >= b->n_bytes) {
			/* Sizes were clamped to the file at open: it shrank. */
			const struct mem_file *f = &mem->files[file];
			return gh_error_new(GH_ERR_OS, "reading '%s': the file"
					    " ends before offset 0x%" PRIx64
					    " (it had %" PRIu64 " bytes when"
					    " opened; was it truncated?)",
					    f->path, off, f->bytes);
		}
		size_t n = b->n_bytes - in;
		if (n > len)
			n = len;
		memcpy(out, b->data + in, n);
		out += n;
		off += n;
		len -= n;
	}
	return NULL;
}

/* The segment holding addr, or NULL. */
static const struct mem_seg *find_seg(const struct gh_mem *mem, uint64_t addr)
{
	size_t lo = 0, hi = mem->n_segs;

	/* Find the last segment starting at or before addr. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (mem->segs[mid].pub.start <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return NULL;
	const struct mem_seg *s = &mem->segs[lo - 1];
	if (addr - s->pub.start >= s->pub.mem_bytes)
		return NULL;
	return s;
}

static struct gh_error *missing(const struct gh_mem *mem,
				const struct mem_seg *s, uint64_t addr)
{
	if (s->pub.src == GH_MEM_SRC_CORE && s->tail == MEM_TAIL_TRUNCATED)
		return gh_error_fault(addr, "address 0x%" PRIx64 " was not saved"
				      " in the core: '%s' is truncated (%"
				      PRIu64 " bytes)", addr, mem->core_path,
				      mem->files[MEM_FILE_CORE].bytes);
	return gh_error_fault(addr, "address 0x%" PRIx64 " was not saved in"
			      " the core (see coredump_filter)", addr);
}

static struct gh_error *read_slow(struct gh_mem *mem, uint64_t addr,
				  void *buf, size_t len, bool core_only)
{
	struct gh_error *err;
	uint8_t *out = buf;

	if (len && addr > UINT64_MAX - (len - 1))
		return gh_error_fault(addr, "reading %zu bytes at 0x%" PRIx64
				      " wraps past the end of the address"
				      " space", len, addr);
	while (len) {
		const struct mem_seg *s = find_seg(mem, addr);
		if (!s)
			return gh_error_fault(addr, "address 0x%" PRIx64
					      " is not mapped in the core",
					      addr);
		uint64_t rel = addr - s->pub.start;
		if (rel >= s->pub.file_bytes ||
		    (core_only && s->pub.src != GH_MEM_SRC_CORE))
			return missing(mem, s, addr);
		if (!core_only)
			mem->last_seg = s;
		uint64_t avail = s->pub.file_bytes - rel;
		size_t n = len < avail ? len : (size_t)avail;
		err = read_file(mem, s->pub.src, s->pub.file_off + rel, out, n);
		if (err)
			return err;
		out += n;
		addr += n;
		len -= n;
	}
	return NULL;
}

/* Same segment and same cached block as last time: no lookups at all. */
static inline bool read_fast(const struct gh_mem *mem, uint64_t addr,
			     void *buf, size_t len)
{
	const struct mem_seg *s = mem->last_seg;
	const struct mem_block *b = mem->last_block;

	if (!s || !b)
		return false;
	uint64_t rel = addr - s->pub.start;	/* huge if addr < start */
	if (rel >= s->pub.file_bytes || len > s->pub.file_bytes - rel)
		return false;
	uint64_t off = s->pub.file_off + rel;
	size_t in = (size_t)(off & (MEM_BLOCK_BYTES - 1));
	if (b->tag != block_tag(s->pub.src, off >> MEM_BLOCK_SHIFT) ||
	    in >= b->n_bytes || len > b->n_bytes - in)
		return false;
	memcpy(buf, b->data + in, len);
	return true;
}

struct gh_error *gh_mem_read(struct gh_mem *mem, uint64_t addr, void *buf,
			     size_t len)
{
	if (read_fast(mem, addr, buf, len))
		return NULL;
	return read_slow(mem, addr, buf, len, false);
}

struct gh_error *mem_read_core_only(struct gh_mem *mem, uint64_t addr,
				    void *buf, size_t len)
{
	return read_slow(mem, addr, buf, len, true);
}

struct gh_error *gh_mem_read_u8(struct gh_mem *mem, uint64_t addr,
				uint8_t *ret)
{
	return gh_mem_read(mem, addr, ret, 1);
}

/* The typed reads: the cached fast path, else the checked one. */
static struct gh_error *read_small(struct gh_mem *mem, uint64_t addr,
				   uint8_t *b, size_t len)
{
	if (read_fast(mem, addr, b, len))
		return NULL;
	return read_slow(mem, addr, b, len, false);
}

struct gh_error *gh_mem_read_u16(struct gh_mem *mem, uint64_t addr,
				 uint16_t *ret)
{
	uint8_t b[2];
	struct gh_error *err = read_small(mem, addr, b, sizeof(b));

	if (!err)
		*ret = mem_le16(b);
	return err;
}

struct gh_error *gh_mem_read_u32(struct gh_mem *mem, uint64_t addr,
				 uint32_t *ret)
{
	uint8_t b[4];
	struct gh_error *err = read_small(mem, addr, b, sizeof(b));

	if (!err)
		*ret = mem_le32(b);
	return err;
}

struct gh_error *gh_mem_read_u64(struct gh_mem *mem, uint64_t addr,
				 uint64_t *ret)
{
	uint8_t b[8];
	struct gh_error *err = read_small(mem, addr, b, sizeof(b));

	if (!err)
		*ret = mem_le64(b);
	return err;
}

struct gh_error *gh_mem_read_ptr(struct gh_mem *mem, uint64_t addr,
				 uint64_t *ret)
{
	return gh_mem_read_u64(mem, addr, ret);
}

bool gh_mem_readable(struct gh_mem *mem, uint64_t addr, uint64_t len)
{
	if (len && addr > UINT64_MAX - (len - 1))
		return false;
	while (len) {
		const struct mem_seg *s = find_seg(mem, addr);
		if (!s)
			return false;
		uint64_t rel = addr - s->pub.start;
		if (rel >= s->pub.file_bytes)
			return false;
		uint64_t n = s->pub.file_bytes - rel;
		if (n >= len)
			return true;
		addr += n;
		len -= n;
	}
	return true;
}
