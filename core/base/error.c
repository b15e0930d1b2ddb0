/* error.c - error objects that carry context up to the user. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gh_base.h"

struct gh_error gh_enomem = {
	.code = GH_ERR_NOMEM,
	.msg = "out of memory",
};

struct gh_error gh_not_found = {
	.code = GH_ERR_NOT_FOUND,
	.msg = "not found",
};

static struct gh_error *error_vnew(enum gh_err_code code, const char *fmt,
				   va_list ap)
{
	struct gh_error *err = gh_malloc(sizeof(*err));
	if (!err)
		return &gh_enomem;
	*err = (struct gh_error){ .code = code, .on_heap = true };
	if (vasprintf(&err->msg, fmt, ap) < 0) {
		free(err);
		return &gh_enomem;
	}
	return err;
}

struct gh_error *gh_error_new(enum gh_err_code code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct gh_error *err = error_vnew(code, fmt, ap);
	va_end(ap);
	return err;
}

struct gh_error *gh_error_fault(uint64_t addr, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct gh_error *err = error_vnew(GH_ERR_FAULT, fmt, ap);
	va_end(ap);
	if (err->on_heap) {
		err->has_addr = true;
		err->addr = addr;
	}
	return err;
}

struct gh_error *gh_error_os(int errnum, const char *path, const char *what)
{
	struct gh_error *err;

	if (errnum == ENOMEM)
		return &gh_enomem;
	if (path)
		err = gh_error_new(GH_ERR_OS, "%s '%s': %s", what, path,
				   strerror(errnum));
	else
		err = gh_error_new(GH_ERR_OS, "%s: %s", what, strerror(errnum));
	if (err->on_heap)
		err->errnum = errnum;
	return err;
}

struct gh_error *gh_error_wrap(struct gh_error *err, const char *fmt, ...)
{
	char *prefix, *msg;
	va_list ap;

	if (!err || !err->on_heap)
		return err;
	va_start(ap, fmt);
	int n = vasprintf(&prefix, fmt, ap);
	va_end(ap);
	if (n < 0)
		return err;
	if (asprintf(&msg, "%s: %s", prefix, err->msg) < 0) {
		free(prefix);
		return err;
	}
	free(prefix);
	free(err->msg);
	err->msg = msg;
	return err;
}

void gh_error_free(struct gh_error *err)
{
	if (!err || !err->on_heap)
		return;
	free(err->msg);
	free(err);
}

const char *gh_error_code_name(enum gh_err_code code)
{
	switch (code) {
	case GH_ERR_NOMEM: return "nomem";
	case GH_ERR_OS: return "os";
	case GH_ERR_FAULT: return "fault";
	case GH_ERR_CORRUPT: return "corrupt";
	case GH_ERR_UNSUPPORTED: return "unsupported";
	case GH_ERR_NOT_FOUND: return "not_found";
	case GH_ERR_LIMIT: return "limit";
	case GH_ERR_USAGE: return "usage";
	case GH_ERR_MISMATCH: return "mismatch";
	}
	return "unknown";
}
