/*
 * gh_reports.h - output formats: a streaming JSON writer and helpers for
 * terminal text (byte sizes, tables).
 *
 * Reports format what the model and analyzers computed; nothing here
 * computes.  JSON is UTF-8 with every string escaped; addresses are hex
 * strings ("0xc000123000") so that 64-bit values survive every parser.
 *
 * May include: libc, core/base.    Used by: cli.
 */
#ifndef GH_REPORTS_H
#define GH_REPORTS_H

#include <stdio.h>

#include "../core/base/gh_base.h"

#define GH_JSON_MAX_DEPTH 64

struct gh_json {
	FILE *out;
	bool pretty;
	int depth;
	bool first[GH_JSON_MAX_DEPTH];
};

void gh_json_init(struct gh_json *j, FILE *out, bool pretty);
/* key is NULL inside arrays and for the outermost value. */
void gh_json_begin_object(struct gh_json *j, const char *key);
void gh_json_end_object(struct gh_json *j);
void gh_json_begin_array(struct gh_json *j, const char *key);
void gh_json_end_array(struct gh_json *j);
void gh_json_string(struct gh_json *j, const char *key, const char *val);
void gh_json_uint(struct gh_json *j, const char *key, uint64_t val);
void gh_json_int(struct gh_json *j, const char *key, int64_t val);
void gh_json_double(struct gh_json *j, const char *key, double val);
void gh_json_bool(struct gh_json *j, const char *key, bool val);
void gh_json_null(struct gh_json *j, const char *key);
void gh_json_addr(struct gh_json *j, const char *key, uint64_t addr);
/* Ends the document with a newline. */
void gh_json_finish(struct gh_json *j);

/* "1.2 MiB", "512 B": human sizes, binary units. */
void gh_fmt_bytes(uint64_t bytes, char *buf, size_t len);
/* "1,234,567". */
void gh_fmt_count(uint64_t n, char *buf, size_t len);

#endif /* GH_REPORTS_H */
