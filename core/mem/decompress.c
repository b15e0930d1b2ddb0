/*
 * decompress.c - cores compressed as systemd-coredump writes them (lz4
 * frame, zstd, xz), detected by magic, decompressed once into a cache file
 * and then read like any core.
 *
 * The cache file is named by a hash of the core's path, size, mtime and
 * inode, so a new core at the same path gets a new copy.  It is written
 * under a temporary name and renamed when complete, so a cache file that
 * exists is whole.  All-zero 64 KiB blocks are left as holes: gcore writes
 * Go's reserved address space as zeros, and those cores are mostly zeros.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lz4frame.h>
#include <lzma.h>
#include <zstd.h>

#include "mem_internal.h"

enum {
	IN_BYTES = 256 << 10,
	OUT_BYTES = 64 << 10,	/* also the hole granularity */
};

enum mem_codec mem_detect_codec(const uint8_t *m, size_t n)
{
	if (n >= 4 && !memcmp(m, "\x04\x22\x4d\x18", 4))
		return MEM_CODEC_LZ4;
	if (n >= 4 && !memcmp(m, "\x28\xb5\x2f\xfd", 4))
		return MEM_CODEC_ZSTD;
	if (n >= 6 && !memcmp(m, "\xfd" "7zXZ\0", 6))
		return MEM_CODEC_XZ;
	return MEM_CODEC_NONE;
}

const char *mem_codec_name(enum mem_codec codec)
{
	switch (codec) {
	case MEM_CODEC_LZ4: return "lz4";
	case MEM_CODEC_ZSTD: return "zstd";
	case MEM_CODEC_XZ: return "xz";
	case MEM_CODEC_NONE: break;
	}
	return "uncompressed";
}

/* --- the sparse writer ------------------------------------------------- */

struct writer {
	int fd;
	const char *path;
	uint8_t *buf;		/* OUT_BYTES */
	size_t fill;
	uint64_t total;
};

static bool all_zero(const uint8_t *p, size_t n)
{
	return !n || (!p[0] && !memcmp(p, p + 1, n - 1));
}

static struct gh_error *writer_flush(struct writer *w)
{
	size_t done = 0;

	if (all_zero(w->buf, w->fill)) {
		/* A hole: the final ftruncate() gives the file its size. */
		w->total += w->fill;
		w->fill = 0;
		return NULL;
	}
	while (done < w->fill) {
		ssize_t n = pwrite(w->fd, w->buf + done, w->fill - done,
				   (off_t)(w->total + done));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return gh_error_os(errno, w->path,
					   "writing decompressed core");
		}
		done += (size_t)n;
	}
	w->total += w->fill;
	w->fill = 0;
	return NULL;
}

static struct gh_error *writer_finish(struct writer *w)
{
	struct gh_error *err = writer_flush(w);

	if (err)
		return err;
	if (ftruncate(w->fd, (off_t)w->total))
		return gh_error_os(errno, w->path, "writing decompressed core");
	return NULL;
}

/* --- the input --------------------------------------------------------- */

struct input {
	int fd;
	const char *path;
	uint8_t *buf;		/* IN_BYTES */
	size_t pos, len;
	bool eof;
};

/* Refill when empty; sets eof at the end of the file. */
static struct gh_error *input_fill(struct input *in)
{
	if (in->pos < in->len || in->eof)
		return NULL;
	for (;;) {
		ssize_t n = read(in->fd, in->buf, IN_BYTES);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return gh_error_os(errno, in->path, "reading");
		}
		in->pos = 0;
		in->len = (size_t)n;
		in->eof = n == 0;
		return NULL;
	}
}

static struct gh_error *truncated(const struct input *in, const char *codec)
{
	return gh_error_new(GH_ERR_CORRUPT, "'%s' is a truncated %s stream",
			    in->path, codec);
}

static struct gh_error *bad_stream(const struct input *in, const char *codec,
				   const char *why)
{
	return gh_error_new(GH_ERR_CORRUPT, "'%s' is not a valid %s stream: %s",
			    in->path, codec, why);
}

/* --- the codecs -------------------------------------------------------- */

static struct gh_error *run_lz4(struct input *in, struct writer *w)
{
	LZ4F_dctx *dctx;
	struct gh_error *err = NULL;
	size_t hint = 1;	/* 0 once a frame is complete */

	if (LZ4F_isError(LZ4F_createDecompressionContext(&dctx, LZ4F_VERSION)))
		return &gh_enomem;
	for (;;) {
		if ((err = input_fill(in)))
			break;
		size_t dst = OUT_BYTES - w->fill, src = in->len - in->pos;
		size_t r = LZ4F_decompress(dctx, w->buf + w->fill, &dst,
					   in->buf + in->pos, &src, NULL);
		if (LZ4F_isError(r)) {
			err = bad_stream(in, "lz4", LZ4F_getErrorName(r));
			break;
		}
		/* At the end, a call that does nothing asks for a next
		 * frame: the call before it says whether the last ended. */
		if (in->eof && !src && !dst)
			break;
		hint = r;
		in->pos += src;
		w->fill += dst;
		if (w->fill == OUT_BYTES && (err = writer_flush(w)))
			break;
	}
	if (!err && hint)
		err = truncated(in, "lz4");
	LZ4F_freeDecompressionContext(dctx);
	return err;
}

static struct gh_error *run_zstd(struct input *in, struct writer *w)
{
	ZSTD_DStream *ds = ZSTD_createDStream();
	struct gh_error *err = NULL;
	size_t hint = 1;

	if (!ds)
		return &gh_enomem;
	ZSTD_initDStream(ds);
	for (;;) {
		if ((err = input_fill(in)))
			break;
		ZSTD_inBuffer ib = { in->buf, in->len, in->pos };
		ZSTD_outBuffer ob = { w->buf, OUT_BYTES, w->fill };
		size_t r = ZSTD_decompressStream(ds, &ob, &ib);
		if (ZSTD_isError(r)) {
			err = bad_stream(in, "zstd", ZSTD_getErrorName(r));
			break;
		}
		/* As for lz4: the last call that did something counts. */
		if (in->eof && ib.pos == in->pos && ob.pos == w->fill)
			break;
		hint = r;
		in->pos = ib.pos;
		w->fill = ob.pos;
		if (w->fill == OUT_BYTES && (err = writer_flush(w)))
			break;
	}
	if (!err && hint)
		err = truncated(in, "zstd");
	ZSTD_freeDStream(ds);
	return err;
}

static const char *lzma_why(lzma_ret r)
{
	switch (r) {
	case LZMA_MEM_ERROR: return "out of memory";
	case LZMA_FORMAT_ERROR: return "not in the xz format";
	case LZMA_OPTIONS_ERROR: return "unsupported options";
	case LZMA_DATA_ERROR: return "corrupt data";
	case LZMA_BUF_ERROR: return "unexpected end of input";
	default: return "decoder error";
	}
}

static struct gh_error *run_xz(struct input *in, struct writer *w)
{
	lzma_stream s = LZMA_STREAM_INIT;
	struct gh_error *err = NULL;
	lzma_ret r;

	if (lzma_stream_decoder(&s, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK)
		return &gh_enomem;
	for (;;) {
		if ((err = input_fill(in)))
			break;
		s.next_in = in->buf + in->pos;
		s.avail_in = in->len - in->pos;
		s.next_out = w->buf + w->fill;
		s.avail_out = OUT_BYTES - w->fill;
		r = lzma_code(&s, in->eof ? LZMA_FINISH : LZMA_RUN);
		in->pos = in->len - s.avail_in;
		w->fill = OUT_BYTES - s.avail_out;
		if (w->fill == OUT_BYTES && (err = writer_flush(w)))
			break;
		if (r == LZMA_STREAM_END)
			break;
		if (r == LZMA_BUF_ERROR && in->eof) {
			err = truncated(in, "xz");
			break;
		}
		if (r != LZMA_OK && r != LZMA_BUF_ERROR) {
			err = r == LZMA_MEM_ERROR ? &gh_enomem :
			      bad_stream(in, "xz", lzma_why(r));
			break;
		}
	}
	lzma_end(&s);
	return err;
}

/* --- the cache file ---------------------------------------------------- */

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static bool mkdir_p(const char *dir)
{
	char *p = gh_strdup(dir);
	bool ok = true;

	if (!p)
		return false;
	for (char *s = p + 1; ok; s++) {
		if (*s != '/' && *s)
			continue;
		char c = *s;
		*s = '\0';
		if (mkdir(p, 0700) && errno != EEXIST)
			ok = false;
		*s = c;
		if (!c)
			break;
	}
	gh_free(p);
	return ok;
}

/* Where cache files may go, best first: up to three candidates. */
static size_t cache_dirs(const char *core_path, const char *cache_dir,
			 char *dirs[3])
{
	size_t n = 0;

	if (cache_dir) {
		dirs[n] = gh_strdup(cache_dir);
		return dirs[n] ? 1 : 0;
	}
	char *copy = gh_strdup(core_path);
	if (copy) {
		char *d = dirname(copy);
		if (!access(d, W_OK))
			dirs[n] = gh_strdup(d);
		if (dirs[n])
			n++;
		gh_free(copy);
	}
	const char *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	if (xdg && xdg[0] == '/')
		dirs[n] = gh_asprintf("%s/goheap", xdg);
	else if (home && home[0] == '/')
		dirs[n] = gh_asprintf("%s/.cache/goheap", home);
	if (dirs[n])
		n++;
	return n;
}

static struct gh_error *decompress_into(const char *core_path, int fd,
					enum mem_codec codec, int out_fd,
					const char *out_path)
{
	struct input in = { .fd = fd, .path = core_path };
	struct writer w = { .fd = out_fd, .path = out_path };
	struct gh_error *err = NULL;

	if (lseek(fd, 0, SEEK_SET) < 0)
		return gh_error_os(errno, core_path, "reading");
	in.buf = gh_malloc(IN_BYTES);
	w.buf = gh_malloc(OUT_BYTES);
	if (!in.buf || !w.buf) {
		err = &gh_enomem;
		goto out;
	}
	switch (codec) {
	case MEM_CODEC_LZ4:
		err = run_lz4(&in, &w);
		break;
	case MEM_CODEC_ZSTD:
		err = run_zstd(&in, &w);
		break;
	case MEM_CODEC_XZ:
		err = run_xz(&in, &w);
		break;
	case MEM_CODEC_NONE:
		break;
	}
	if (!err)
		err = writer_finish(&w);
out:
	gh_free(w.buf);
	gh_free(in.buf);
	return err;
}

struct gh_error *mem_decompress(const char *core_path, int fd,
				enum mem_codec codec, const char *cache_dir,
				char **ret)
{
	struct gh_error *err = NULL;
	char *dirs[3] = {0}, *path = NULL;
	struct stat st;

	if (fstat(fd, &st))
		return gh_error_os(errno, core_path, "opening core");
	char *real = realpath(core_path, NULL);
	const char *key = real ? real : core_path;
	uint64_t h = 0xcbf29ce484222325ull;
	h = fnv1a(h, key, strlen(key) + 1);
	uint64_t k[6] = {
		(uint64_t)st.st_size, (uint64_t)st.st_mtim.tv_sec,
		(uint64_t)st.st_mtim.tv_nsec, (uint64_t)st.st_ino,
		(uint64_t)st.st_dev, (uint64_t)codec,
	};
	h = fnv1a(h, k, sizeof(k));
	free(real);

	size_t n_dirs = cache_dirs(core_path, cache_dir, dirs);
	if (!n_dirs) {
		err = cache_dir ? &gh_enomem :
		      gh_error_new(GH_ERR_USAGE, "no place for the decompressed"
				   " copy of '%s': its directory is not"
				   " writable and neither XDG_CACHE_HOME nor"
				   " HOME is set", core_path);
		goto out;
	}
	/* A complete copy anywhere will do. */
	for (size_t i = 0; i < n_dirs; i++) {
		path = gh_asprintf("%s/goheap-%016" PRIx64 ".core", dirs[i], h);
		if (!path) {
			err = &gh_enomem;
			goto out;
		}
		struct stat cs;
		if (!stat(path, &cs) && S_ISREG(cs.st_mode))
			goto out;
		gh_free(path);
		path = NULL;
	}
	for (size_t i = 0; i < n_dirs; i++) {
		bool last = i + 1 == n_dirs;
		gh_error_free(err);
		err = NULL;
		if (!mkdir_p(dirs[i]) && last) {
			err = gh_error_os(errno, dirs[i],
					  "creating cache directory");
			goto out;
		}
		path = gh_asprintf("%s/goheap-%016" PRIx64 ".core", dirs[i], h);
		char *tmp = gh_asprintf("%s.tmp-XXXXXX", path ? path : "");
		if (!path || !tmp) {
			gh_free(tmp);
			err = &gh_enomem;
			goto out;
		}
		int out_fd = mkostemp(tmp, O_CLOEXEC);
		if (out_fd < 0) {
			err = gh_error_os(errno, dirs[i], "creating a"
					  " decompressed copy of the core in");
			gh_free(tmp);
			gh_free(path);
			path = NULL;
			if (last)
				goto out;
			continue;
		}
		err = decompress_into(core_path, fd, codec, out_fd, tmp);
		if (close(out_fd) && !err)
			err = gh_error_os(errno, tmp, "writing decompressed core");
		if (!err && rename(tmp, path))
			err = gh_error_os(errno, path, "writing decompressed core");
		if (err) {
			unlink(tmp);
			gh_free(path);
			path = NULL;
		}
		gh_free(tmp);
		goto out;
	}
out:
	for (size_t i = 0; i < GH_ARRAY_SIZE(dirs); i++)
		gh_free(dirs[i]);
	if (err) {
		gh_free(path);
		return err;
	}
	*ret = path;
	return NULL;
}
