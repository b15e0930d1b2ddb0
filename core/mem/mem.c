/*
 * mem.c - opening a core: its ELF header and program headers, the segment
 * table built from the core's PT_LOADs and the executable's read-only
 * PT_LOADs, and the accessors of gh_mem.h.
 *
 * The core's headers are parsed by hand from pread() bytes, not with
 * libelf, so that every bad value gets its own message and nothing reads
 * more of the core than the headers.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mem_internal.h"

enum {
	EHDR_BYTES = 64,
	PHDR_BYTES = 56,
	SHDR_BYTES = 64,
	/* More program headers than vm.max_map_count allows, by far. */
	MAX_PHDRS = 1 << 22,
	ORIGIN_EXE = UINT32_MAX,
};

const char *mem_machine_name(uint16_t e_machine)
{
	switch (e_machine) {
	case EM_386: return "i386";
	case EM_X86_64: return "x86_64";
	case EM_ARM: return "arm";
	case EM_AARCH64: return "aarch64";
	case EM_PPC: return "ppc";
	case EM_PPC64: return "ppc64";
	case EM_S390: return "s390";
	case EM_MIPS: return "mips";
	case EM_RISCV: return "riscv";
	case EM_SPARCV9: return "sparc64";
	case 258: return "loongarch";	/* EM_LOONGARCH */
	}
	return NULL;
}

/* --- the segment table ------------------------------------------------ */

static int cmp_piece(const void *a, const void *b)
{
	const struct mem_piece *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return 0;
}

static bool push_slice(struct mem_piece_vec *v, const struct mem_piece *p,
		       uint64_t start, uint64_t end)
{
	struct mem_piece q = *p;

	q.file_off += start - p->start;
	q.start = start;
	q.end = end;
	return mem_piece_vec_push(v, q);
}

/*
 * Add the parts of layer's pieces that nothing in *out covers yet.  *out is
 * sorted and non-overlapping before and after; pieces of one layer that
 * overlap each other are cut so that the earlier one wins.
 */
bool mem_add_layer(struct mem_piece_vec *out, struct mem_piece *layer,
		   size_t n)
{
	size_t n_old = out->n;
	uint64_t layer_end = 0;

	if (n)
		qsort(layer, n, sizeof(*layer), cmp_piece);
	for (size_t k = 0; k < n; k++) {
		const struct mem_piece *p = &layer[k];
		uint64_t a = p->start > layer_end ? p->start : layer_end;
		uint64_t b = p->end;

		if (a >= b)
			continue;
		layer_end = b;
		/* First old piece ending after a (ends are sorted too). */
		size_t lo = 0, hi = n_old;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (out->data[mid].end <= a)
				lo = mid + 1;
			else
				hi = mid;
		}
		size_t i = lo;
		while (a < b) {
			if (i < n_old && out->data[i].start <= a) {
				a = out->data[i++].end;
				continue;
			}
			uint64_t gap_end = b;
			if (i < n_old && out->data[i].start < b)
				gap_end = out->data[i].start;
			if (!push_slice(out, p, a, gap_end))
				return false;
			a = gap_end;
		}
	}
	if (out->n)
		qsort(out->data, out->n, sizeof(*out->data), cmp_piece);
	return true;
}

/*
 * Turn sorted pieces into segments.  A core PT_LOAD's saved bytes and the
 * missing bytes right after them become one segment again (file_bytes <
 * mem_bytes), unless executable bytes came between.
 */
static struct gh_error *build_segs(struct gh_mem *mem,
				   const struct mem_piece_vec *pieces)
{
	mem->segs = gh_malloc_array(pieces->n, sizeof(*mem->segs));
	if (!mem->segs)
		return &gh_enomem;
	size_t n = 0;
	for (size_t i = 0; i < pieces->n; i++) {
		const struct mem_piece *p = &pieces->data[i];
		struct mem_seg *prev = n ? &mem->segs[n - 1] : NULL;
		uint64_t bytes = p->end - p->start;

		if (prev && p->tail != MEM_TAIL_NONE &&
		    p->src == GH_MEM_SRC_CORE &&
		    prev->pub.src == GH_MEM_SRC_CORE &&
		    prev->tail == MEM_TAIL_NONE &&
		    p->origin == pieces->data[i - 1].origin &&
		    prev->pub.start + prev->pub.mem_bytes == p->start) {
			prev->pub.mem_bytes += bytes;
			prev->tail = p->tail;
			continue;
		}
		mem->segs[n++] = (struct mem_seg){
			.pub = {
				.start = p->start,
				.mem_bytes = bytes,
				.file_bytes = p->tail == MEM_TAIL_NONE ? bytes : 0,
				.file_off = p->file_off,
				.flags = p->flags,
				.src = p->src,
			},
			.tail = p->tail,
		};
	}
	mem->n_segs = n;
	return NULL;
}

/* --- the core's ELF header -------------------------------------------- */

static struct gh_error *check_ehdr(struct gh_mem *mem, const uint8_t *e,
				   size_t n)
{
	const char *path = mem->core_path;

	if (n < SELFMAG || memcmp(e, ELFMAG, SELFMAG))
		return gh_error_new(GH_ERR_CORRUPT, "'%s' is not an ELF file",
				    path);
	/* Up to e_machine, both classes agree: say what the file is first. */
	if (n < 20)
		return gh_error_new(GH_ERR_CORRUPT, "'%s' is truncated: its"
				    " ELF header needs %d bytes, the file has"
				    " %zu", path, EHDR_BYTES, n);
	if (e[EI_DATA] != ELFDATA2LSB && e[EI_DATA] != ELFDATA2MSB)
		return gh_error_new(GH_ERR_CORRUPT, "'%s' is not an ELF file"
				    " (bad byte order %u)", path, e[EI_DATA]);
	uint16_t type = e[EI_DATA] == ELFDATA2LSB ? mem_le16(e + 16) :
			(uint16_t)(e[16] << 8 | e[17]);
	if (type != ET_CORE) {
		const char *what;
		switch (type) {
		case ET_EXEC:
		case ET_DYN:
			what = "an ELF executable";
			break;
		case ET_REL:
			what = "an ELF object file";
			break;
		default:
			what = "an ELF file";
			break;
		}
		return gh_error_new(GH_ERR_USAGE, "'%s' is %s, not a core dump"
				    " (the core comes first, then the"
				    " executable)", path, what);
	}
	if (e[EI_CLASS] != ELFCLASS64)
		return gh_error_new(GH_ERR_UNSUPPORTED, "'%s' is a 32-bit core;"
				    " goheap reads 64-bit cores only", path);
	if (e[EI_DATA] != ELFDATA2LSB)
		return gh_error_new(GH_ERR_UNSUPPORTED, "'%s' is a big-endian"
				    " core; goheap reads little-endian cores"
				    " only", path);
	if (n < EHDR_BYTES)
		return gh_error_new(GH_ERR_CORRUPT, "'%s' is truncated: its"
				    " ELF header needs %d bytes, the file has"
				    " %zu", path, EHDR_BYTES, n);
	mem->e_machine = mem_le16(e + 18);
	switch (mem->e_machine) {
	case EM_X86_64:
		mem->arch = GH_ARCH_AMD64;
		break;
	case EM_AARCH64:
		mem->arch = GH_ARCH_ARM64;
		break;
	default: {
		const char *name = mem_machine_name(mem->e_machine);
		if (name)
			return gh_error_new(GH_ERR_UNSUPPORTED, "'%s' is a core"
					    " of a %s machine; goheap reads"
					    " x86_64 and aarch64 cores", path,
					    name);
		return gh_error_new(GH_ERR_UNSUPPORTED, "'%s' is a core of"
				    " machine %u (ELF e_machine); goheap"
				    " reads x86_64 and aarch64 cores", path,
				    mem->e_machine);
	}
	}
	return NULL;
}

/* The number of program headers, looking in section 0 for PN_XNUM. */
static struct gh_error *count_phdrs(struct gh_mem *mem, const uint8_t *e,
				    uint64_t *ret)
{
	const struct mem_file *f = &mem->files[MEM_FILE_CORE];
	uint64_t n = mem_le16(e + 56);
	struct gh_error *err;
	uint8_t sh[SHDR_BYTES];
	size_t got;

	if (n != PN_XNUM) {
		*ret = n;
		return NULL;
	}
	uint64_t shoff = mem_le64(e + 40);
	if (!shoff)
		return gh_error_new(GH_ERR_CORRUPT, "'%s' claims more than"
				    " 65534 program headers but has no section"
				    " header to count them", mem->core_path);
	err = mem_pread_all(f, shoff, sh, sizeof(sh), &got);
	if (err)
		return err;
	if (got < sizeof(sh))
		return gh_error_new(GH_ERR_CORRUPT, "'%s' is truncated: its"
				    " section header at offset 0x%" PRIx64
				    " is past the end of the file",
				    mem->core_path, shoff);
	*ret = mem_le32(sh + 44);	/* sh_info */
	return NULL;
}

struct load {
	uint64_t off, vaddr, file_bytes, mem_bytes;
	uint32_t flags;
};

/* Turn one PT_LOAD into pieces: saved, cut off by truncation, not saved. */
static struct gh_error *load_pieces(struct gh_mem *mem, size_t idx,
				    const struct load *l,
				    struct mem_piece_vec *saved,
				    struct mem_piece_vec *lost)
{
	uint64_t file_size = mem->files[MEM_FILE_CORE].bytes;
	uint64_t end, file_end;

	if (!l->mem_bytes)
		return NULL;
	if (gh_add_overflow_u64(l->vaddr, l->mem_bytes, &end))
		return gh_error_new(GH_ERR_CORRUPT, "'%s': PT_LOAD %zu at 0x%"
				    PRIx64 " (%" PRIu64 " bytes) wraps past"
				    " the end of the address space",
				    mem->core_path, idx, l->vaddr,
				    l->mem_bytes);
	if (l->file_bytes > l->mem_bytes)
		return gh_error_new(GH_ERR_CORRUPT, "'%s': PT_LOAD %zu at 0x%"
				    PRIx64 " claims %" PRIu64 " bytes in the"
				    " file but only %" PRIu64 " in memory",
				    mem->core_path, idx, l->vaddr,
				    l->file_bytes, l->mem_bytes);
	if (gh_add_overflow_u64(l->off, l->file_bytes, &file_end))
		return gh_error_new(GH_ERR_CORRUPT, "'%s': PT_LOAD %zu at 0x%"
				    PRIx64 ": file offset 0x%" PRIx64
				    " overflows", mem->core_path, idx,
				    l->vaddr, l->off);
	/* A truncated core: only what the file holds was saved. */
	if (file_end > mem->core_need_bytes)
		mem->core_need_bytes = file_end;
	uint64_t have = l->file_bytes;
	if (file_end > file_size)
		have = l->off >= file_size ? 0 : file_size - l->off;

	struct mem_piece p = {
		.file_off = l->off,
		.flags = l->flags & (GH_MEM_SEG_R | GH_MEM_SEG_W |
				     GH_MEM_SEG_X),
		.src = GH_MEM_SRC_CORE,
		.origin = (uint32_t)idx,
	};
	if (have) {
		p.start = l->vaddr;
		p.end = l->vaddr + have;
		p.tail = MEM_TAIL_NONE;
		if (!mem_piece_vec_push(saved, p))
			return &gh_enomem;
	}
	if (have < l->file_bytes) {
		p.start = l->vaddr + have;
		p.end = l->vaddr + l->file_bytes;
		p.file_off = l->off + have;
		p.tail = MEM_TAIL_TRUNCATED;
		if (!mem_piece_vec_push(lost, p))
			return &gh_enomem;
	}
	if (l->file_bytes < l->mem_bytes) {
		p.start = l->vaddr + l->file_bytes;
		p.end = end;
		p.file_off = l->off + l->file_bytes;
		p.tail = MEM_TAIL_NOT_SAVED;
		if (!mem_piece_vec_push(lost, p))
			return &gh_enomem;
	}
	return NULL;
}

/* Read the program headers: notes now, loads into saved/lost pieces. */
static struct gh_error *read_phdrs(struct gh_mem *mem,
				   struct mem_piece_vec *saved,
				   struct mem_piece_vec *lost)
{
	const struct mem_file *f = &mem->files[MEM_FILE_CORE];
	uint8_t e[EHDR_BYTES];
	struct gh_error *err;
	uint64_t n_phdrs = 0, table_end;
	size_t got;

	err = mem_pread_all(f, 0, e, sizeof(e), &got);
	if (err)
		return err;
	err = check_ehdr(mem, e, got);
	if (err)
		return err;
	uint64_t phoff = mem_le64(e + 32);
	uint16_t phentsize = mem_le16(e + 54);
	err = count_phdrs(mem, e, &n_phdrs);
	if (err)
		return err;
	if (!n_phdrs)
		return gh_error_new(GH_ERR_CORRUPT, "'%s' has no program"
				    " headers, so no memory", mem->core_path);
	if (phentsize != PHDR_BYTES)
		return gh_error_new(GH_ERR_CORRUPT, "'%s': program headers are"
				    " %u bytes each, not %d", mem->core_path,
				    phentsize, PHDR_BYTES);
	if (n_phdrs > MAX_PHDRS)
		return gh_error_new(GH_ERR_LIMIT, "'%s' claims %" PRIu64
				    " program headers, more than goheap"
				    " reads (%d)", mem->core_path, n_phdrs,
				    MAX_PHDRS);
	size_t table_bytes = (size_t)n_phdrs * PHDR_BYTES;
	if (gh_add_overflow_u64(phoff, table_bytes, &table_end) ||
	    table_end > f->bytes)
		return gh_error_new(GH_ERR_CORRUPT, "'%s' is truncated: its %"
				    PRIu64 " program headers at offset 0x%"
				    PRIx64 " end past the end of the file (%"
				    PRIu64 " bytes)", mem->core_path,
				    n_phdrs, phoff, f->bytes);
	uint8_t *table = gh_malloc(table_bytes);
	if (!table)
		return &gh_enomem;
	err = mem_pread_all(f, phoff, table, table_bytes, &got);
	if (!err && got < table_bytes)
		err = gh_error_new(GH_ERR_CORRUPT, "'%s' is truncated in its"
				   " program headers", mem->core_path);
	for (size_t i = 0; !err && i < n_phdrs; i++) {
		const uint8_t *ph = table + i * PHDR_BYTES;
		uint32_t type = mem_le32(ph);
		struct load l = {
			.flags = mem_le32(ph + 4),
			.off = mem_le64(ph + 8),
			.vaddr = mem_le64(ph + 16),
			.file_bytes = mem_le64(ph + 32),
			.mem_bytes = mem_le64(ph + 40),
		};
		uint64_t end;

		if (type == PT_LOAD) {
			err = load_pieces(mem, i, &l, saved, lost);
		} else if (type == PT_NOTE) {
			if (gh_add_overflow_u64(l.off, l.file_bytes, &end) ||
			    end > f->bytes)
				err = gh_error_new(GH_ERR_CORRUPT, "'%s' is"
						   " truncated: its notes at"
						   " offset 0x%" PRIx64 " (%"
						   PRIu64 " bytes) end past"
						   " the end of the file (%"
						   PRIu64 " bytes)",
						   mem->core_path, l.off,
						   l.file_bytes, f->bytes);
			else
				err = mem_parse_notes(mem, l.off,
						      l.file_bytes);
		}
	}
	gh_free(table);
	return err;
}

/* --- opening ------------------------------------------------------------ */

static struct gh_error *open_file(struct mem_file *f, const char *path,
				  const char *what)
{
	struct stat st;

	f->path = path;
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0)
		return gh_error_os(errno, path, what);
	if (fstat(f->fd, &st))
		return gh_error_os(errno, path, what);
	if (S_ISDIR(st.st_mode))
		return gh_error_new(GH_ERR_USAGE, "'%s' is a directory", path);
	f->bytes = (uint64_t)st.st_size;
	return NULL;
}

/* Open the core; a compressed one is replaced by its decompressed copy. */
static struct gh_error *open_core(struct gh_mem *mem,
				  const struct gh_mem_open_opts *opts)
{
	struct mem_file *f = &mem->files[MEM_FILE_CORE];
	struct gh_error *err;
	uint8_t magic[6];
	size_t got;

	err = open_file(f, mem->core_path, "opening core");
	if (err)
		return err;
	if (!f->bytes)
		return gh_error_new(GH_ERR_CORRUPT, "'%s' is empty, not a core"
				    " dump", mem->core_path);
	err = mem_pread_all(f, 0, magic, sizeof(magic), &got);
	if (err)
		return err;
	enum mem_codec codec = mem_detect_codec(magic, got);
	if (codec == MEM_CODEC_NONE)
		return NULL;
	err = mem_decompress(mem->core_path, f->fd, codec, opts->cache_dir,
			     &mem->cache_path);
	if (err)
		return err;
	close(f->fd);
	f->fd = -1;
	err = open_file(f, mem->cache_path, "opening decompressed core");
	if (err)
		return err;
	/* Messages name the core the user gave, not the cache file. */
	f->path = mem->core_path;
	if (!f->bytes)
		return gh_error_new(GH_ERR_CORRUPT, "'%s' decompresses to"
				    " nothing, not a core dump",
				    mem->core_path);
	return NULL;
}

struct gh_error *gh_mem_open(const char *core_path,
			     const struct gh_mem_open_opts *opts,
			     struct gh_mem **ret)
{
	static const struct gh_mem_open_opts no_opts;
	struct mem_piece_vec pieces = {0}, saved = {0}, exe = {0}, lost = {0};
	struct gh_error *err;
	struct gh_mem *mem;
	char *exe_path = NULL;

	if (!opts)
		opts = &no_opts;
	mem = gh_calloc(1, sizeof(*mem));
	if (!mem)
		return &gh_enomem;
	for (size_t i = 0; i < MEM_N_FILES; i++)
		mem->files[i].fd = -1;
	mem->core_path = gh_strdup(core_path);
	if (!mem->core_path) {
		err = &gh_enomem;
		goto out;
	}
	err = open_core(mem, opts);
	if (err)
		goto out;
	err = read_phdrs(mem, &saved, &lost);
	if (err)
		goto out;

	if (opts->exe_path) {
		exe_path = gh_strdup(opts->exe_path);
		if (!exe_path)
			err = &gh_enomem;
	} else {
		err = mem_find_exe(mem, &exe_path);
	}
	if (err)
		goto out;
	mem->exe_path = exe_path;
	err = mem_open_exe(mem, mem->exe_path);
	if (err)
		goto out;

	/*
	 * The build-identity check reads the core alone, and comes before
	 * the executable's segments: the wrong executable gets a wrong load
	 * bias, and its segments may make no sense at all.
	 */
	if (!opts->no_build_id_check) {
		if (!mem_add_layer(&pieces, saved.data, saved.n) ||
		    !mem_add_layer(&pieces, lost.data, lost.n)) {
			err = &gh_enomem;
			goto out;
		}
		err = build_segs(mem, &pieces);
		if (!err)
			err = mem_check_build_id(mem);
		if (err)
			goto out;
		gh_free(mem->segs);
		mem->segs = NULL;
		mem->n_segs = 0;
		pieces.n = 0;
	}
	err = mem_exe_pieces(mem, &exe);
	if (err)
		goto out;
	/* Saved core bytes win, then the exe's read-only bytes. */
	if (!mem_add_layer(&pieces, saved.data, saved.n) ||
	    !mem_add_layer(&pieces, exe.data, exe.n) ||
	    !mem_add_layer(&pieces, lost.data, lost.n)) {
		err = &gh_enomem;
		goto out;
	}
	err = build_segs(mem, &pieces);
out:
	mem_piece_vec_deinit(&lost);
	mem_piece_vec_deinit(&exe);
	mem_piece_vec_deinit(&saved);
	mem_piece_vec_deinit(&pieces);
	if (err) {
		gh_mem_close(mem);
		return err;
	}
	*ret = mem;
	return NULL;
}

void gh_mem_close(struct gh_mem *mem)
{
	if (!mem)
		return;
	mem_close_exe(mem);
	mem_cache_deinit(mem);
	for (size_t i = 0; i < MEM_N_FILES; i++) {
		if (mem->files[i].fd >= 0)
			close(mem->files[i].fd);
	}
	for (size_t i = 0; i < mem->mappings.n; i++)
		gh_free(mem->mappings.data[i].path);
	mem_mapping_vec_deinit(&mem->mappings);
	mem_thread_vec_deinit(&mem->threads);
	mem_auxv_vec_deinit(&mem->auxv);
	gh_free(mem->segs);
	gh_free(mem->exe_path);
	gh_free(mem->cache_path);
	gh_free(mem->core_path);
	gh_free(mem);
}

/* --- accessors ---------------------------------------------------------- */

enum gh_arch gh_mem_arch(const struct gh_mem *mem)
{
	return mem->arch;
}

const char *gh_mem_core_path(const struct gh_mem *mem)
{
	return mem->core_path;
}

const char *gh_mem_exe_path(const struct gh_mem *mem)
{
	return mem->exe_path;
}

uint64_t gh_mem_core_bytes(const struct gh_mem *mem)
{
	return mem->files[MEM_FILE_CORE].bytes;
}

uint64_t gh_mem_load_bias(const struct gh_mem *mem)
{
	return mem->bias;
}

size_t gh_mem_n_segs(const struct gh_mem *mem)
{
	return mem->n_segs;
}

const struct gh_mem_seg *gh_mem_seg(const struct gh_mem *mem, size_t i)
{
	return i < mem->n_segs ? &mem->segs[i].pub : NULL;
}

size_t gh_mem_n_threads(const struct gh_mem *mem)
{
	return mem->threads.n;
}

const struct gh_mem_thread *gh_mem_thread(const struct gh_mem *mem, size_t i)
{
	return i < mem->threads.n ? &mem->threads.data[i] : NULL;
}

size_t gh_mem_n_mappings(const struct gh_mem *mem)
{
	return mem->mappings.n;
}

const struct gh_mem_mapping *gh_mem_mapping(const struct gh_mem *mem,
					    size_t i)
{
	return i < mem->mappings.n ? &mem->mappings.data[i] : NULL;
}

bool gh_mem_auxv(const struct gh_mem *mem, uint64_t type, uint64_t *ret)
{
	for (size_t i = 0; i < mem->auxv.n; i++) {
		if (mem->auxv.data[i].type == type) {
			*ret = mem->auxv.data[i].val;
			return true;
		}
	}
	return false;
}

bool gh_mem_core_truncated(const struct gh_mem *mem, uint64_t *need_ret)
{
	if (mem->core_need_bytes <= mem->files[MEM_FILE_CORE].bytes)
		return false;
	*need_ret = mem->core_need_bytes;
	return true;
}

int32_t gh_mem_pid(const struct gh_mem *mem)
{
	return mem->pid;
}

bool gh_mem_build_id_checked(const struct gh_mem *mem)
{
	return mem->build_id_checked;
}
