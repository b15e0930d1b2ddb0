/* json.c - a streaming JSON writer. */
#include <string.h>

#include "gh_reports.h"

void gh_json_init(struct gh_json *j, FILE *out, bool pretty)
{
	memset(j, 0, sizeof(*j));
	j->out = out;
	j->pretty = pretty;
	j->first[0] = true;
}

static void put_string(FILE *f, const char *s)
{
	putc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				fprintf(f, "\\u%04x", *p);
			else
				putc(*p, f);
		}
	}
	putc('"', f);
}

static void indent(struct gh_json *j)
{
	if (!j->pretty)
		return;
	putc('\n', j->out);
	for (int i = 0; i < j->depth; i++)
		fputs("  ", j->out);
}

static void before_value(struct gh_json *j, const char *key)
{
	if (!j->first[j->depth])
		putc(',', j->out);
	j->first[j->depth] = false;
	if (j->depth)
		indent(j);
	if (key) {
		put_string(j->out, key);
		fputs(j->pretty ? ": " : ":", j->out);
	}
}

static void open_(struct gh_json *j, const char *key, char c)
{
	before_value(j, key);
	putc(c, j->out);
	if (j->depth + 1 < GH_JSON_MAX_DEPTH)
		j->depth++;
	j->first[j->depth] = true;
}

static void close_(struct gh_json *j, char c)
{
	bool empty = j->first[j->depth];
	if (j->depth)
		j->depth--;
	if (!empty)
		indent(j);
	putc(c, j->out);
}

void gh_json_begin_object(struct gh_json *j, const char *key) { open_(j, key, '{'); }
void gh_json_end_object(struct gh_json *j) { close_(j, '}'); }
void gh_json_begin_array(struct gh_json *j, const char *key) { open_(j, key, '['); }
void gh_json_end_array(struct gh_json *j) { close_(j, ']'); }

void gh_json_string(struct gh_json *j, const char *key, const char *val)
{
	before_value(j, key);
	put_string(j->out, val ? val : "");
}

void gh_json_uint(struct gh_json *j, const char *key, uint64_t val)
{
	before_value(j, key);
	fprintf(j->out, "%" PRIu64, val);
}

void gh_json_int(struct gh_json *j, const char *key, int64_t val)
{
	before_value(j, key);
	fprintf(j->out, "%" PRId64, val);
}

void gh_json_double(struct gh_json *j, const char *key, double val)
{
	before_value(j, key);
	fprintf(j->out, "%.6g", val);
}

void gh_json_bool(struct gh_json *j, const char *key, bool val)
{
	before_value(j, key);
	fputs(val ? "true" : "false", j->out);
}

void gh_json_null(struct gh_json *j, const char *key)
{
	before_value(j, key);
	fputs("null", j->out);
}

void gh_json_addr(struct gh_json *j, const char *key, uint64_t addr)
{
	before_value(j, key);
	fprintf(j->out, "\"0x%" PRIx64 "\"", addr);
}

void gh_json_finish(struct gh_json *j)
{
	putc('\n', j->out);
}

void gh_fmt_bytes(uint64_t bytes, char *buf, size_t len)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };

	if (bytes < 1024) {
		snprintf(buf, len, "%" PRIu64 " B", bytes);
		return;
	}
	double v = (double)bytes / 1024;
	size_t u = 0;
	while (v >= 1024 && u + 1 < GH_ARRAY_SIZE(units)) {
		v /= 1024;
		u++;
	}
	snprintf(buf, len, v < 10 ? "%.2f %s" : v < 100 ? "%.1f %s" : "%.0f %s",
		 v, units[u]);
}

void gh_fmt_count(uint64_t n, char *buf, size_t len)
{
	char tmp[32];
	int k = snprintf(tmp, sizeof(tmp), "%" PRIu64, n);
	size_t o = 0;

	for (int i = 0; i < k && o + 1 < len; i++) {
		if (i && (k - i) % 3 == 0 && o + 2 < len)
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	buf[o < len ? o : len - 1] = '\0';
}
