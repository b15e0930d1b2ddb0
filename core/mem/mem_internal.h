/*
 * mem_internal.h - private to core/mem: the gh_mem struct, the segment
 * pieces the address space is built from, the block cache, the cursor that
 * parses untrusted note bytes, and the entry points of each file.
 *
 *   mem.c         gh_mem_open/close, the core's ELF header and program
 *                 headers, the segment table, accessors
 *   read.c        the block cache and gh_mem_read()
 *   notes.c       the cursor; NT_PRSTATUS, NT_PRPSINFO, NT_AUXV, NT_FILE
 *   exe.c         the executable: discovery, load bias, read-only segments,
 *                 sections, .symtab, build-identity check
 *   decompress.c  lz4 frame / zstd / xz cores into a sparse cache file
 */
#ifndef GH_MEM_INTERNAL_H
#define GH_MEM_INTERNAL_H

#include <libelf.h>

#include "gh_mem.h"

/* The two files target bytes come from; indexes match enum gh_mem_src. */
enum {
	MEM_FILE_CORE = GH_MEM_SRC_CORE,
	MEM_FILE_EXE = GH_MEM_SRC_EXE,
	MEM_N_FILES,
};

/*
 * Why the bytes of a segment past its file_bytes cannot be read: this picks
 * the fault message.
 */
enum mem_tail {
	MEM_TAIL_NONE,		/* file_bytes == mem_bytes */
	MEM_TAIL_NOT_SAVED,	/* p_filesz < p_memsz: coredump_filter */
	MEM_TAIL_TRUNCATED,	/* the core file ends before p_offset+p_filesz */
};

struct mem_seg {
	struct gh_mem_seg pub;	/* what gh_mem_seg() hands out */
	uint8_t tail;		/* enum mem_tail */
};

/*
 * A piece of the address space while the segment table is built: core
 * bytes, exe bytes, or bytes that are missing for a reason.  Pieces are
 * laid in layers (core saved, then exe read-only, then core missing); a
 * later layer only fills what earlier ones left open.
 */
struct mem_piece {
	uint64_t start, end;
	uint64_t file_off;
	uint32_t flags;		/* GH_MEM_SEG_* */
	uint8_t src;		/* enum gh_mem_src */
	uint8_t tail;		/* MEM_TAIL_NONE: readable bytes; else missing */
	uint32_t origin;	/* core PT_LOAD index, for merging pieces back */
};
GH_VEC(mem_piece_vec, struct mem_piece)

/*
 * Block cache: BLOCK_BYTES blocks of the core or exe file, CACHE_SETS sets
 * of CACHE_WAYS entries each, least recently used out.  8 MiB at most,
 * whatever the core's size.
 */
enum {
	MEM_BLOCK_SHIFT = 16,
	MEM_BLOCK_BYTES = 1 << MEM_BLOCK_SHIFT,
	MEM_CACHE_SET_BITS = 5,
	MEM_CACHE_SETS = 1 << MEM_CACHE_SET_BITS,
	MEM_CACHE_WAYS = 4,
};

struct mem_block {
	uint64_t tag;		/* 0: empty; else (block << 1 | file) + 1 */
	uint64_t stamp;		/* last use, for LRU */
	uint32_t n_bytes;	/* valid bytes: short for a file's last block */
	uint8_t *data;		/* MEM_BLOCK_BYTES, allocated on first use */
};

struct mem_file {
	int fd;			/* -1 if not open */
	uint64_t bytes;		/* size when opened */
	const char *path;	/* for messages; owned by gh_mem */
};

struct mem_sym {
	const char *name;	/* in the executable's string table (libelf) */
	uint64_t value, size;
	uint8_t global;		/* 1 if STB_GLOBAL/STB_WEAK: wins over locals */
};

GH_VEC(mem_thread_vec, struct gh_mem_thread)
GH_VEC(mem_mapping_vec, struct gh_mem_mapping)

struct mem_auxv_entry {
	uint64_t type, val;
};
GH_VEC(mem_auxv_vec, struct mem_auxv_entry)

/* Build IDs as found in one place (the executable, or the core's copy). */
struct mem_build_ids {
	char *go;		/* NULL if none */
	char *gnu;		/* lowercase hex; NULL if none */
	/* Where the notes are (link-time addresses). */
	uint64_t go_note_addr, gnu_note_addr;
};

struct gh_mem {
	char *core_path;	/* as the caller named it */
	char *exe_path;
	char *cache_path;	/* decompressed copy, or NULL */
	struct mem_file files[MEM_N_FILES];

	uint16_t e_machine;
	enum gh_arch arch;
	uint64_t core_need_bytes;	/* what the program headers claim */

	struct mem_seg *segs;	/* sorted by start, non-overlapping */
	size_t n_segs;
	const struct mem_seg *last_seg;	/* last hit of gh_mem_read */

	struct mem_block cache[MEM_CACHE_SETS][MEM_CACHE_WAYS];
	struct mem_block *last_block;
	uint64_t cache_clock;

	struct mem_thread_vec threads;
	struct mem_mapping_vec mappings;
	struct mem_auxv_vec auxv;
	int32_t pid;

	/* The executable. */
	Elf *elf;
	uint16_t exe_type;	/* ET_EXEC or ET_DYN */
	uint64_t exe_entry;
	uint64_t bias;
	struct mem_sym *syms;	/* sorted by name, globals first */
	size_t n_syms;
	struct mem_build_ids exe_ids;
	bool build_id_checked;
};

/*
 * A bounds-checked reader over untrusted bytes (notes).  Errors name what
 * is being parsed and its offset in the core file.
 */
struct mem_cursor {
	const uint8_t *start, *pos, *end;
	const char *what;	/* "core note NT_FILE" */
	uint64_t file_off;	/* offset of start in the core file */
};

static inline void mem_cursor_init(struct mem_cursor *c, const void *p,
				   size_t n, const char *what,
				   uint64_t file_off)
{
	c->start = c->pos = p;
	c->end = c->start + n;
	c->what = what;
	c->file_off = file_off;
}

static inline size_t mem_cursor_left(const struct mem_cursor *c)
{
	return (size_t)(c->end - c->pos);
}

/* "<what> at offset 0x<file_off>: <message>" */
GH_PRINTF(2, 3) GH_MUST_CHECK
struct gh_error *mem_cursor_error(const struct mem_cursor *c,
				  const char *fmt, ...);
GH_MUST_CHECK struct gh_error *mem_cursor_u32(struct mem_cursor *c,
					      uint32_t *ret);
GH_MUST_CHECK struct gh_error *mem_cursor_u64(struct mem_cursor *c,
					      uint64_t *ret);
GH_MUST_CHECK struct gh_error *mem_cursor_bytes(struct mem_cursor *c,
						size_t n, const uint8_t **ret);

/* Little-endian loads from bytes already bounds-checked by the caller. */
static inline uint16_t mem_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t mem_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t mem_le64(const uint8_t *p)
{
	return (uint64_t)mem_le32(p) | (uint64_t)mem_le32(p + 4) << 32;
}

/* notes.c: parse the core's PT_NOTE at [off, off + bytes). */
GH_MUST_CHECK struct gh_error *mem_parse_notes(struct gh_mem *mem,
					       uint64_t off, uint64_t bytes);

/* read.c */
GH_MUST_CHECK struct gh_error *mem_pread_all(const struct mem_file *f,
					     uint64_t off, void *buf,
					     size_t len, size_t *ret);
/* Read target memory from the core's saved bytes only (no exe fallback). */
GH_MUST_CHECK struct gh_error *mem_read_core_only(struct gh_mem *mem,
						  uint64_t addr, void *buf,
						  size_t len);
void mem_cache_deinit(struct gh_mem *mem);

/* mem.c: sort pieces into the segment table (layer by layer). */
GH_MUST_CHECK bool mem_add_layer(struct mem_piece_vec *out,
				 struct mem_piece *layer, size_t n);

/* exe.c */
GH_MUST_CHECK struct gh_error *mem_find_exe(struct gh_mem *mem,
					    char **ret);
GH_MUST_CHECK struct gh_error *mem_open_exe(struct gh_mem *mem,
					    const char *path);
/* Append the exe's read-only PT_LOADs (biased) as pieces. */
GH_MUST_CHECK struct gh_error *mem_exe_pieces(struct gh_mem *mem,
					      struct mem_piece_vec *ret);
GH_MUST_CHECK struct gh_error *mem_check_build_id(struct gh_mem *mem);
void mem_close_exe(struct gh_mem *mem);

/* decompress.c */
enum mem_codec {
	MEM_CODEC_NONE,
	MEM_CODEC_LZ4,
	MEM_CODEC_ZSTD,
	MEM_CODEC_XZ,
};
enum mem_codec mem_detect_codec(const uint8_t *magic, size_t n);
const char *mem_codec_name(enum mem_codec codec);
/*
 * Decompress core_path (open as fd) into the cache, or find it there.
 * Returns the cache file's path.
 */
GH_MUST_CHECK struct gh_error *mem_decompress(const char *core_path, int fd,
					      enum mem_codec codec,
					      const char *cache_dir,
					      char **ret);

const char *mem_machine_name(uint16_t e_machine);

#endif /* GH_MEM_INTERNAL_H */
