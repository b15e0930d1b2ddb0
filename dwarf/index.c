/*
 * index.c - the string arena and name hashing behind dwarf/'s lookups.
 *
 * A Go executable has some 10^4 type names and as many constant and
 * variable names; one malloc per name would cost more than the strings.
 */
#include <string.h>

#include "dwarf_internal.h"

enum { ARENA_BLOCK_BYTES = 64 * 1024 };

struct dw_arena_block {
	struct dw_arena_block *next;
	char data[];
};

static char *arena_alloc(struct dw_arena *a, size_t bytes)
{
	struct dw_arena_block *b;

	if (bytes <= a->left) {
		char *p = a->cur;
		a->cur += bytes;
		a->left -= bytes;
		return p;
	}
	/* A long string gets a block of its own; the current one stays open. */
	bool own = bytes > ARENA_BLOCK_BYTES / 4;
	size_t data_bytes = own ? bytes : ARENA_BLOCK_BYTES;
	if (data_bytes > SIZE_MAX - sizeof(*b))
		return NULL;
	b = gh_malloc(sizeof(*b) + data_bytes);
	if (!b)
		return NULL;
	b->next = a->head;
	a->head = b;
	if (own)
		return b->data;
	a->cur = b->data + bytes;
	a->left = data_bytes - bytes;
	return b->data;
}

const char *dw_arena_strdup(struct dw_arena *a, const char *s)
{
	size_t len = strlen(s);

	if (!len)
		return "";
	if (len == SIZE_MAX)
		return NULL;
	char *d = arena_alloc(a, len + 1);
	if (!d)
		return NULL;
	memcpy(d, s, len + 1);
	return d;
}

void dw_arena_deinit(struct dw_arena *a)
{
	struct dw_arena_block *b = a->head;

	while (b) {
		struct dw_arena_block *next = b->next;
		gh_free(b);
		b = next;
	}
	a->head = NULL;
	a->cur = NULL;
	a->left = 0;
}

/* FNV-1a; gh_u64_map mixes the bits again.  UINT64_MAX is reserved there. */
uint64_t dw_name_key(const char *name)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ull;
	}
	return h == UINT64_MAX ? h - 1 : h;
}
