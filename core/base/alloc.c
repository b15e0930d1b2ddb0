/*
 * alloc.c - allocation wrappers.
 *
 * GOHEAP_FAIL_ALLOC_AT=N makes the Nth allocation fail (a build configured
 * with --enable-fail-alloc), so the suite can walk every out-of-memory path
 * the way SQLite's malloc tests do.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gh_base.h"

#ifdef GH_FAIL_ALLOC
static long fail_at = -1;
static long n_calls;

static bool should_fail(void)
{
	if (fail_at < 0) {
		const char *s = getenv("GOHEAP_FAIL_ALLOC_AT");
		fail_at = s ? strtol(s, NULL, 10) : 0;
	}
	return fail_at > 0 && ++n_calls == fail_at;
}
#else
static inline bool should_fail(void)
{
	return false;
}
#endif

void *gh_malloc(size_t bytes)
{
	if (should_fail())
		return NULL;
	return malloc(bytes ? bytes : 1);
}

void *gh_calloc(size_t n, size_t elem_bytes)
{
	if (should_fail())
		return NULL;
	if (!n || !elem_bytes)
		n = elem_bytes = 1;
	return calloc(n, elem_bytes);
}

void *gh_malloc_array(size_t n, size_t elem_bytes)
{
	size_t bytes;

	if (__builtin_mul_overflow(n, elem_bytes, &bytes))
		return NULL;
	return gh_malloc(bytes);
}

void *gh_realloc_array(void *p, size_t n, size_t elem_bytes)
{
	size_t bytes;

	if (__builtin_mul_overflow(n, elem_bytes, &bytes))
		return NULL;
	if (should_fail())
		return NULL;
	return realloc(p, bytes ? bytes : 1);
}

char *gh_strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *d = gh_malloc(len + 1);
	if (!d)
		return NULL;
	memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

char *gh_strdup(const char *s)
{
	return gh_strndup(s, strlen(s));
}

char *gh_asprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (should_fail())
		return NULL;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

void gh_free(void *p)
{
	free(p);
}
