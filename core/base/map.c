/* map.c - u64 -> u32 open-addressing hash map (linear probing). */
#include <string.h>

#include "gh_base.h"

#define EMPTY UINT64_MAX

static inline size_t slot_of(uint64_t key, size_t cap)
{
	/* Fibonacci hashing: addresses share low zero bits. */
	return (size_t)((key * 0x9e3779b97f4a7c15ull) >> 17) & (cap - 1);
}

void gh_u64_map_init(struct gh_u64_map *m)
{
	memset(m, 0, sizeof(*m));
}

void gh_u64_map_deinit(struct gh_u64_map *m)
{
	gh_free(m->keys);
	gh_free(m->vals);
	memset(m, 0, sizeof(*m));
}

static bool grow(struct gh_u64_map *m)
{
	size_t cap = m->cap ? m->cap * 2 : 64;
	uint64_t *keys = gh_malloc_array(cap, sizeof(*keys));
	uint32_t *vals = gh_malloc_array(cap, sizeof(*vals));

	if (!keys || !vals || cap < m->cap) {
		gh_free(keys);
		gh_free(vals);
		return false;
	}
	memset(keys, 0xff, cap * sizeof(*keys));
	for (size_t i = 0; i < m->cap; i++) {
		if (m->keys[i] == EMPTY)
			continue;
		size_t j = slot_of(m->keys[i], cap);
		while (keys[j] != EMPTY)
			j = (j + 1) & (cap - 1);
		keys[j] = m->keys[i];
		vals[j] = m->vals[i];
	}
	gh_free(m->keys);
	gh_free(m->vals);
	m->keys = keys;
	m->vals = vals;
	m->cap = cap;
	return true;
}

bool gh_u64_map_put(struct gh_u64_map *m, uint64_t key, uint32_t val)
{
	if (key == EMPTY)
		return false;
	if ((m->n + 1) * 4 > m->cap * 3 && !grow(m))
		return false;
	size_t j = slot_of(key, m->cap);
	while (m->keys[j] != EMPTY && m->keys[j] != key)
		j = (j + 1) & (m->cap - 1);
	if (m->keys[j] == EMPTY)
		m->n++;
	m->keys[j] = key;
	m->vals[j] = val;
	return true;
}

bool gh_u64_map_get(const struct gh_u64_map *m, uint64_t key, uint32_t *ret)
{
	if (!m->cap || key == EMPTY)
		return false;
	size_t j = slot_of(key, m->cap);
	while (m->keys[j] != EMPTY) {
		if (m->keys[j] == key) {
			*ret = m->vals[j];
			return true;
		}
		j = (j + 1) & (m->cap - 1);
	}
	return false;
}
