/*
 * gh_mem.h - the target's address space, as saved in an ELF core.
 *
 * Owns the core file (plain, or lz4/zstd/xz as systemd-coredump writes them,
 * detected by magic and decompressed once into a cache file), its PT_LOAD
 * segments, the executable's segments the core leaves out (text, rodata:
 * file-backed pages the kernel does not dump), NT_PRSTATUS threads, NT_FILE
 * mappings and NT_AUXV.  It also answers questions about the executable as
 * an ELF file: its sections and symbols, with the PIE load bias applied.
 *
 * All target reads go through gh_mem_read(); a byte not in the core (nor in
 * the executable's file-backed segments) is a GH_ERR_FAULT naming its
 * address.  The core is read with pread() through a small block cache, never
 * mapped whole, so memory use does not grow with the core's size.
 *
 * Knows nothing about Go, except that the build-identity check compares the
 * Go build ID note (".note.go.buildid") as well as the GNU one.
 *
 * May include: libc, libelf, lz4, zstd, lzma, core/base.
 * Used by: everything above.
 */
#ifndef GH_MEM_H
#define GH_MEM_H

#include "../base/gh_base.h"

enum gh_arch {
	GH_ARCH_AMD64,
	GH_ARCH_ARM64,
};

/* Where a segment's bytes come from. */
enum gh_mem_src {
	GH_MEM_SRC_CORE,	/* a PT_LOAD of the core */
	GH_MEM_SRC_EXE,		/* a PT_LOAD of the executable (biased) */
};

enum {
	GH_MEM_SEG_R = 4,
	GH_MEM_SEG_W = 2,
	GH_MEM_SEG_X = 1,
};

struct gh_mem_seg {
	uint64_t start;		/* target address */
	uint64_t mem_bytes;	/* p_memsz */
	uint64_t file_bytes;	/* p_filesz: bytes saved; the rest were not */
	uint64_t file_off;	/* offset in the (decompressed) core or exe */
	uint32_t flags;		/* GH_MEM_SEG_* */
	enum gh_mem_src src;
};

/*
 * One thread from NT_PRSTATUS.  The named registers are filled for both
 * architectures; regs[] holds the raw general registers in the kernel's
 * order (amd64: user_regs_struct, 27 words; arm64: x0..x30, sp, pc, pstate).
 */
struct gh_mem_thread {
	int32_t tid;
	int32_t signal;		/* pr_cursig */
	uint64_t pc, sp, fp;	/* rip/rsp/rbp or pc/sp/x29 */
	uint64_t lr;		/* arm64 x30; 0 on amd64 */
	uint64_t g;		/* the register Go keeps g in: r14 or x28 */
	uint32_t n_regs;
	uint64_t regs[34];
};

/* One NT_FILE entry. */
struct gh_mem_mapping {
	uint64_t start, end;
	uint64_t file_off;	/* in bytes (page_size already applied) */
	char *path;
};

struct gh_mem;

struct gh_mem_open_opts {
	/* Executable; NULL: the file NT_FILE names for the main program. */
	const char *exe_path;
	/* Directory for decompressed cores; NULL: beside the core if
	 * writable, else $XDG_CACHE_HOME/goheap or ~/.cache/goheap. */
	const char *cache_dir;
	/* Skip the build-identity check of core against executable. */
	bool no_build_id_check;
};

/*
 * Opens a core and its executable.  Errors: GH_ERR_OS (cannot open or read,
 * naming the path), GH_ERR_CORRUPT (not an ELF core, truncated headers or
 * notes), GH_ERR_UNSUPPORTED (an ELF core of another machine),
 * GH_ERR_NOT_FOUND (no executable given and none named by NT_FILE exists),
 * GH_ERR_MISMATCH (the executable is not the build the core ran).
 */
GH_MUST_CHECK struct gh_error *gh_mem_open(const char *core_path,
					   const struct gh_mem_open_opts *opts,
					   struct gh_mem **ret);
void gh_mem_close(struct gh_mem *mem);	/* NULL is fine */

/*
 * The one function that reads target memory.  Reads share one block cache:
 * a gh_mem is not to be read from two threads at once.
 */
GH_MUST_CHECK struct gh_error *gh_mem_read(struct gh_mem *mem, uint64_t addr,
					   void *buf, size_t len);
GH_MUST_CHECK struct gh_error *gh_mem_read_u8(struct gh_mem *mem, uint64_t addr, uint8_t *ret);
GH_MUST_CHECK struct gh_error *gh_mem_read_u16(struct gh_mem *mem, uint64_t addr, uint16_t *ret);
GH_MUST_CHECK struct gh_error *gh_mem_read_u32(struct gh_mem *mem, uint64_t addr, uint32_t *ret);
GH_MUST_CHECK struct gh_error *gh_mem_read_u64(struct gh_mem *mem, uint64_t addr, uint64_t *ret);
/* Pointer-sized little-endian read (both supported arches are LP64). */
GH_MUST_CHECK struct gh_error *gh_mem_read_ptr(struct gh_mem *mem, uint64_t addr, uint64_t *ret);
/* True if all of [addr, addr+len) can be read. */
bool gh_mem_readable(struct gh_mem *mem, uint64_t addr, uint64_t len);

enum gh_arch gh_mem_arch(const struct gh_mem *mem);
const char *gh_mem_core_path(const struct gh_mem *mem);
const char *gh_mem_exe_path(const struct gh_mem *mem);
/* Size of the (decompressed) core file in bytes. */
uint64_t gh_mem_core_bytes(const struct gh_mem *mem);
/*
 * True if the core file is shorter than its program headers say (cut short
 * while written or copied); *need_ret gets the size they call for.  The
 * missing bytes read as GH_ERR_FAULT saying the core is truncated; whether
 * to refuse such a core is the caller's choice.
 */
bool gh_mem_core_truncated(const struct gh_mem *mem, uint64_t *need_ret);

/* Runtime address minus link-time address of the executable (0 unless PIE). */
uint64_t gh_mem_load_bias(const struct gh_mem *mem);

size_t gh_mem_n_segs(const struct gh_mem *mem);
/* Sorted by start, non-overlapping; core segments win over exe ones. */
const struct gh_mem_seg *gh_mem_seg(const struct gh_mem *mem, size_t i);

size_t gh_mem_n_threads(const struct gh_mem *mem);
const struct gh_mem_thread *gh_mem_thread(const struct gh_mem *mem, size_t i);

size_t gh_mem_n_mappings(const struct gh_mem *mem);
const struct gh_mem_mapping *gh_mem_mapping(const struct gh_mem *mem, size_t i);

/* NT_AUXV lookup (AT_ENTRY, AT_PHDR, ...). */
bool gh_mem_auxv(const struct gh_mem *mem, uint64_t type, uint64_t *ret);

/* The pid of the dumped process (NT_PRPSINFO), or 0. */
int32_t gh_mem_pid(const struct gh_mem *mem);

/*
 * The executable's section by name (".gopclntab", ".go.buildinfo", ...):
 * its target address (bias applied) and size.  GH_ERR_NOT_FOUND if absent.
 */
GH_MUST_CHECK struct gh_error *gh_mem_exe_section(const struct gh_mem *mem,
						  const char *name,
						  uint64_t *addr_ret,
						  uint64_t *size_ret);

/*
 * The executable's symbol by name from .symtab (bias applied).
 * GH_ERR_NOT_FOUND if absent or if the executable has no symbol table.
 */
GH_MUST_CHECK struct gh_error *gh_mem_exe_symbol(const struct gh_mem *mem,
						 const char *name,
						 uint64_t *addr_ret,
						 uint64_t *size_ret);

/*
 * True if the build-identity check could compare the core's copy of the
 * executable's first page (the kernel saves it) with the executable; false
 * if the core did not save those bytes, so the check could not be made.
 */
bool gh_mem_build_id_checked(const struct gh_mem *mem);

/* Go build ID of the executable ("" if none), GNU build ID as hex ("" if none). */
const char *gh_mem_exe_go_build_id(const struct gh_mem *mem);
const char *gh_mem_exe_gnu_build_id(const struct gh_mem *mem);

#endif /* GH_MEM_H */
