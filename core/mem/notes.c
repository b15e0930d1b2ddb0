/*
 * notes.c - the core's notes: threads (NT_PRSTATUS), the process
 * (NT_PRPSINFO), the auxiliary vector (NT_AUXV) and file mappings (NT_FILE).
 *
 * Note bytes come from the file untrusted: every count and length is checked
 * against the bytes that hold it before use, through a cursor whose errors
 * say which note and where.  Layouts mirror the kernel's
 * include/uapi/linux/elfcore.h (struct elf_prstatus, elf_prpsinfo) and
 * fs/binfmt_elf.c (fill_files_note) for LP64 targets.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mem_internal.h"

enum {
	NT_PRSTATUS_ = 1,
	NT_PRPSINFO_ = 3,
	NT_AUXV_ = 6,
	NT_FILE_ = 0x46494c45,	/* "FILE" */
	AT_NULL_ = 0,
};

/*
 * struct elf_prstatus (LP64): pr_info (12 bytes), pr_cursig (short) at 12,
 * pr_sigpend, pr_sighold, then pr_pid at 32, pr_ppid, pr_pgrp, pr_sid, four
 * struct timevals, and pr_reg at 112.  pr_reg is user_regs_struct on
 * x86_64 (27 words: arch/x86/include/asm/user_64.h) and user_pt_regs on
 * arm64 (x0..x30, sp, pc, pstate: arch/arm64/include/uapi/asm/ptrace.h),
 * followed by pr_fpvalid: 336 and 392 bytes in all.
 */
enum {
	PRSTATUS_CURSIG = 12,
	PRSTATUS_PID = 32,
	PRSTATUS_REG = 112,
	AMD64_N_REGS = 27,
	ARM64_N_REGS = 34,
	/* struct elf_prpsinfo: 4 chars, pr_flag, pr_uid, pr_gid, pr_pid. */
	PRPSINFO_PID = 24,
};

/* x86_64 user_regs_struct indexes. */
enum {
	AMD64_R14 = 1,
	AMD64_RBP = 4,
	AMD64_RIP = 16,
	AMD64_RSP = 19,
};

/* arm64 user_pt_regs indexes. */
enum {
	ARM64_X28 = 28,
	ARM64_X29 = 29,
	ARM64_X30 = 30,
	ARM64_SP = 31,
	ARM64_PC = 32,
};

/* Bounds the notes we read into memory (a thread takes a few KiB). */
#define MAX_NOTES_BYTES (1ull << 30)

struct gh_error *mem_cursor_error(const struct mem_cursor *c,
				  const char *fmt, ...)
{
	char *msg;
	va_list ap;

	va_start(ap, fmt);
	int n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return &gh_enomem;
	struct gh_error *err = gh_error_new(GH_ERR_CORRUPT, "%s at offset 0x%"
					    PRIx64 ": %s", c->what,
					    c->file_off, msg);
	free(msg);
	return err;
}

static struct gh_error *cursor_short(const struct mem_cursor *c, size_t n)
{
	return mem_cursor_error(c, "truncated: needs %zu bytes at byte %zu,"
				" has %zu", n, (size_t)(c->pos - c->start),
				mem_cursor_left(c));
}

struct gh_error *mem_cursor_bytes(struct mem_cursor *c, size_t n,
				  const uint8_t **ret)
{
	if (n > mem_cursor_left(c))
		return cursor_short(c, n);
	*ret = c->pos;
	c->pos += n;
	return NULL;
}

struct gh_error *mem_cursor_u32(struct mem_cursor *c, uint32_t *ret)
{
	if (mem_cursor_left(c) < 4)
		return cursor_short(c, 4);
	*ret = mem_le32(c->pos);
	c->pos += 4;
	return NULL;
}

struct gh_error *mem_cursor_u64(struct mem_cursor *c, uint64_t *ret)
{
	if (mem_cursor_left(c) < 8)
		return cursor_short(c, 8);
	*ret = mem_le64(c->pos);
	c->pos += 8;
	return NULL;
}

static struct gh_error *parse_prstatus(struct gh_mem *mem,
				       struct mem_cursor *c)
{
	bool amd64 = mem->arch == GH_ARCH_AMD64;
	uint32_t n_regs = amd64 ? AMD64_N_REGS : ARM64_N_REGS;
	size_t need = PRSTATUS_REG + (size_t)n_regs * 8;
	struct gh_mem_thread t = {0};

	if (mem_cursor_left(c) < need)
		return mem_cursor_error(c, "%zu bytes, but an %s prstatus"
					" needs %zu", mem_cursor_left(c),
					amd64 ? "x86_64" : "aarch64", need);
	const uint8_t *p = c->pos;
	t.signal = (int16_t)mem_le16(p + PRSTATUS_CURSIG);
	t.tid = (int32_t)mem_le32(p + PRSTATUS_PID);
	t.n_regs = n_regs;
	for (uint32_t i = 0; i < n_regs; i++)
		t.regs[i] = mem_le64(p + PRSTATUS_REG + i * 8);
	if (amd64) {
		t.pc = t.regs[AMD64_RIP];
		t.sp = t.regs[AMD64_RSP];
		t.fp = t.regs[AMD64_RBP];
		t.g = t.regs[AMD64_R14];	/* Go ABIInternal: g in R14 */
	} else {
		t.pc = t.regs[ARM64_PC];
		t.sp = t.regs[ARM64_SP];
		t.fp = t.regs[ARM64_X29];
		t.lr = t.regs[ARM64_X30];
		t.g = t.regs[ARM64_X28];	/* Go on arm64: g in R28 */
	}
	if (!mem_thread_vec_push(&mem->threads, t))
		return &gh_enomem;
	return NULL;
}

static struct gh_error *parse_prpsinfo(struct gh_mem *mem,
				       struct mem_cursor *c)
{
	if (mem_cursor_left(c) < PRPSINFO_PID + 4)
		return mem_cursor_error(c, "%zu bytes, too short for a prpsinfo",
					mem_cursor_left(c));
	mem->pid = (int32_t)mem_le32(c->pos + PRPSINFO_PID);
	return NULL;
}

static struct gh_error *parse_auxv(struct gh_mem *mem, struct mem_cursor *c)
{
	struct gh_error *err;
	size_t n = mem_cursor_left(c);

	if (n % 16)
		return mem_cursor_error(c, "%zu bytes is not a whole number of"
					" 16-byte entries", n);
	while (mem_cursor_left(c)) {
		struct mem_auxv_entry e;
		if ((err = mem_cursor_u64(c, &e.type)) ||
		    (err = mem_cursor_u64(c, &e.val)))
			return err;
		if (e.type == AT_NULL_)
			break;
		if (!mem_auxv_vec_push(&mem->auxv, e))
			return &gh_enomem;
	}
	return NULL;
}

/*
 * NT_FILE (fs/binfmt_elf.c fill_files_note): count, page_size, then count
 * triples (start, end, file offset in pages), then count NUL-terminated
 * paths.
 */
static struct gh_error *parse_file(struct gh_mem *mem, struct mem_cursor *c)
{
	struct gh_error *err;
	uint64_t count, page_size;
	const uint8_t *table = NULL;

	if ((err = mem_cursor_u64(c, &count)) ||
	    (err = mem_cursor_u64(c, &page_size)))
		return err;
	if (count > mem_cursor_left(c) / 24)
		return mem_cursor_error(c, "claims %" PRIu64 " entries in %zu"
					" bytes", count,
					(size_t)(c->end - c->start));
	if (!page_size)
		return mem_cursor_error(c, "page size is 0");
	err = mem_cursor_bytes(c, (size_t)count * 24, &table);
	if (err)
		return err;
	if (!mem_mapping_vec_reserve(&mem->mappings,
				     mem->mappings.n + (size_t)count))
		return &gh_enomem;
	for (uint64_t i = 0; i < count; i++) {
		const uint8_t *e = table + i * 24;
		struct gh_mem_mapping m = {
			.start = mem_le64(e),
			.end = mem_le64(e + 8),
		};
		uint64_t pgoff = mem_le64(e + 16);
		if (m.end < m.start)
			return mem_cursor_error(c, "entry %" PRIu64 " ends"
						" (0x%" PRIx64 ") before it"
						" starts (0x%" PRIx64 ")", i,
						m.end, m.start);
		if (gh_mul_overflow_u64(pgoff, page_size, &m.file_off))
			return mem_cursor_error(c, "entry %" PRIu64 ": file"
						" offset of %" PRIu64 " pages"
						" overflows", i, pgoff);
		size_t left = mem_cursor_left(c);
		const uint8_t *nul = memchr(c->pos, '\0', left);
		if (!nul)
			return mem_cursor_error(c, "the path of entry %" PRIu64
						" is not NUL-terminated", i);
		m.path = gh_strndup((const char *)c->pos,
				    (size_t)(nul - c->pos));
		if (!m.path)
			return &gh_enomem;
		c->pos = nul + 1;
		mem->mappings.data[mem->mappings.n++] = m;
	}
	return NULL;
}

static const char *note_type_name(uint32_t type)
{
	switch (type) {
	case NT_PRSTATUS_: return "NT_PRSTATUS";
	case NT_PRPSINFO_: return "NT_PRPSINFO";
	case NT_AUXV_: return "NT_AUXV";
	case NT_FILE_: return "NT_FILE";
	}
	return NULL;
}

static bool name_is_core(const uint8_t *name, uint32_t namesz)
{
	/* "CORE" with its NUL; some writers leave the NUL out. */
	return (namesz == 5 && !memcmp(name, "CORE", 5)) ||
	       (namesz == 4 && !memcmp(name, "CORE", 4));
}

static struct gh_error *parse_note_bytes(struct gh_mem *mem,
					 const uint8_t *buf, size_t bytes,
					 uint64_t off)
{
	struct gh_error *err;
	size_t pos = 0;

	/* n_namesz, n_descsz and n_type are 4-byte words, 4-byte aligned. */
	while (pos < bytes) {
		uint64_t note_off = off + pos;
		size_t left = bytes - pos;
		if (left < 12)
			return gh_error_new(GH_ERR_CORRUPT, "core note at"
					    " offset 0x%" PRIx64 ": truncated"
					    " header (%zu bytes)", note_off,
					    left);
		uint32_t namesz = mem_le32(buf + pos);
		uint32_t descsz = mem_le32(buf + pos + 4);
		uint32_t type = mem_le32(buf + pos + 8);
		pos += 12;
		left -= 12;
		size_t name_pad = ((size_t)namesz + 3) & ~(size_t)3;
		if (name_pad > left)
			return gh_error_new(GH_ERR_CORRUPT, "core note at"
					    " offset 0x%" PRIx64 ": name of %"
					    PRIu32 " bytes runs past the end"
					    " of the notes", note_off, namesz);
		const uint8_t *name = buf + pos;
		pos += name_pad;
		left -= name_pad;
		if (descsz > left)
			return gh_error_new(GH_ERR_CORRUPT, "core note at"
					    " offset 0x%" PRIx64 ": %" PRIu32
					    " bytes of data run past the end"
					    " of the notes (%zu bytes left)",
					    note_off, descsz, left);
		const uint8_t *desc = buf + pos;
		size_t desc_pad = ((size_t)descsz + 3) & ~(size_t)3;
		pos += desc_pad < left ? desc_pad : left;

		const char *what = note_type_name(type);
		if (!what || !name_is_core(name, namesz))
			continue;
		char what_buf[32];
		snprintf(what_buf, sizeof(what_buf), "core note %s", what);
		struct mem_cursor c;
		mem_cursor_init(&c, desc, descsz, what_buf, note_off);
		switch (type) {
		case NT_PRSTATUS_:
			err = parse_prstatus(mem, &c);
			break;
		case NT_PRPSINFO_:
			err = parse_prpsinfo(mem, &c);
			break;
		case NT_AUXV_:
			err = parse_auxv(mem, &c);
			break;
		default:
			err = parse_file(mem, &c);
			break;
		}
		if (err)
			return err;
	}
	return NULL;
}

struct gh_error *mem_parse_notes(struct gh_mem *mem, uint64_t off,
				 uint64_t bytes)
{
	const struct mem_file *f = &mem->files[MEM_FILE_CORE];
	struct gh_error *err;
	size_t got;

	if (bytes > MAX_NOTES_BYTES)
		return gh_error_new(GH_ERR_LIMIT, "'%s': notes at offset 0x%"
				    PRIx64 " claim %" PRIu64 " bytes, more"
				    " than goheap reads (%llu)",
				    mem->core_path, off, bytes,
				    MAX_NOTES_BYTES);
	uint8_t *buf = gh_malloc((size_t)bytes);
	if (!buf)
		return &gh_enomem;
	err = mem_pread_all(f, off, buf, (size_t)bytes, &got);
	if (!err && got < bytes)
		err = gh_error_new(GH_ERR_CORRUPT, "'%s' is truncated: its"
				   " notes at offset 0x%" PRIx64 " end past"
				   " the end of the file", mem->core_path,
				   off);
	if (!err)
		err = parse_note_bytes(mem, buf, (size_t)bytes, off);
	gh_free(buf);
	return err;
}
