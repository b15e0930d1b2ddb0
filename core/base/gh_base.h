/*
 * gh_base.h - errors, allocation, vectors and checked arithmetic.
 *
 * Every fallible goheap call returns a struct gh_error * (NULL = success)
 * that carries its context, outermost first, up to the command line.
 * Allocation goes through gh_malloc() and friends so that the test build can
 * fail the Nth allocation (GOHEAP_FAIL_ALLOC_AT=N) and every out-of-memory
 * path gets exercised.
 *
 * May include: libc.    Used by: everything.
 */
#ifndef GH_BASE_H
#define GH_BASE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <inttypes.h>

#define GH_MUST_CHECK __attribute__((warn_unused_result))
#define GH_PRINTF(a, b) __attribute__((format(printf, a, b)))
#define GH_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

enum gh_err_code {
	GH_ERR_NOMEM,
	GH_ERR_OS,		/* a system call failed; errnum and path say which */
	GH_ERR_FAULT,		/* target memory not in the core; addr says where */
	GH_ERR_CORRUPT,		/* the core or executable holds nonsense */
	GH_ERR_UNSUPPORTED,	/* valid input we cannot read (yet) */
	GH_ERR_NOT_FOUND,
	GH_ERR_LIMIT,		/* a count past what goheap's structures hold */
	GH_ERR_USAGE,		/* the user asked for something impossible */
	GH_ERR_MISMATCH,	/* core and executable are not of one build */
};

struct gh_error {
	enum gh_err_code code;
	bool on_heap;
	bool has_addr;		/* GH_ERR_FAULT: addr is the first missing byte */
	uint64_t addr;
	int errnum;		/* GH_ERR_OS */
	char *msg;		/* outermost context first */
};

/* Static errors: need no allocation, gh_error_free() leaves them alone. */
extern struct gh_error gh_enomem;
extern struct gh_error gh_not_found;

GH_PRINTF(2, 3)
struct gh_error *gh_error_new(enum gh_err_code code, const char *fmt, ...);
GH_PRINTF(2, 3)
struct gh_error *gh_error_fault(uint64_t addr, const char *fmt, ...);
/* "what: path: strerror(errnum)"; path may be NULL. */
struct gh_error *gh_error_os(int errnum, const char *path, const char *what);
/* Prefix "context: " to err's message; keeps code and address. */
GH_PRINTF(2, 3)
struct gh_error *gh_error_wrap(struct gh_error *err, const char *fmt, ...);
void gh_error_free(struct gh_error *err);
const char *gh_error_code_name(enum gh_err_code code);

/*
 * Allocation.  These return NULL only when out of memory (or when the test
 * build is told to fail this call); sizes are overflow-checked.
 */
void *gh_malloc(size_t bytes);
void *gh_calloc(size_t n, size_t elem_bytes);
void *gh_malloc_array(size_t n, size_t elem_bytes);
void *gh_realloc_array(void *p, size_t n, size_t elem_bytes);
char *gh_strdup(const char *s);
char *gh_strndup(const char *s, size_t n);
GH_PRINTF(1, 2) char *gh_asprintf(const char *fmt, ...);
void gh_free(void *p);

/* Checked arithmetic on values read from a core: true on overflow. */
static inline bool gh_add_overflow_u64(uint64_t a, uint64_t b, uint64_t *ret)
{
	return __builtin_add_overflow(a, b, ret);
}

static inline bool gh_mul_overflow_u64(uint64_t a, uint64_t b, uint64_t *ret)
{
	return __builtin_mul_overflow(a, b, ret);
}

/*
 * GH_VEC(name, type) defines struct name { type *data; size_t n, cap; } with
 * name_push(), name_reserve() and name_deinit().  Growth returns false only
 * when out of memory; the caller turns that into &gh_enomem.
 */
#define GH_VEC(name, type)						\
struct name {								\
	type *data;							\
	size_t n, cap;							\
};									\
static inline GH_MUST_CHECK bool name##_reserve(struct name *v,	\
						 size_t want)		\
{									\
	if (want <= v->cap)						\
		return true;						\
	size_t cap = v->cap ? v->cap : 8;				\
	while (cap < want) {						\
		if (cap > SIZE_MAX / 2)					\
			return false;					\
		cap *= 2;						\
	}								\
	type *d = gh_realloc_array(v->data, cap, sizeof(type));	\
	if (!d)								\
		return false;						\
	v->data = d;							\
	v->cap = cap;							\
	return true;							\
}									\
static inline GH_MUST_CHECK bool name##_push(struct name *v, type x)	\
{									\
	if (v->n == v->cap && !name##_reserve(v, v->n + 1))		\
		return false;						\
	v->data[v->n++] = x;						\
	return true;							\
}									\
static inline void name##_deinit(struct name *v)			\
{									\
	gh_free(v->data);						\
	v->data = NULL;							\
	v->n = v->cap = 0;						\
}

GH_VEC(gh_u64_vec, uint64_t)
GH_VEC(gh_u32_vec, uint32_t)

/*
 * Open-addressing map from uint64_t keys to uint32_t values.  Key
 * UINT64_MAX is reserved.  Used for address -> id lookups.
 */
struct gh_u64_map {
	uint64_t *keys;
	uint32_t *vals;
	size_t n, cap;		/* cap is 0 or a power of two */
};
void gh_u64_map_init(struct gh_u64_map *m);
void gh_u64_map_deinit(struct gh_u64_map *m);
GH_MUST_CHECK bool gh_u64_map_put(struct gh_u64_map *m, uint64_t key, uint32_t val);
bool gh_u64_map_get(const struct gh_u64_map *m, uint64_t key, uint32_t *ret);

#endif /* GH_BASE_H */
