/*
 * exe.c - the executable: which file it is, where it was loaded (the PIE
 * bias), the read-only bytes the core leaves out, its sections and .symtab
 * symbols, and whether it is the build the core ran.
 *
 * The kernel does not dump file-backed read-only pages (text, rodata)
 * except the first page of each ELF file, which holds the ELF header,
 * program headers and, for Go and most C linkers, the build-ID notes.
 * Those come from the executable; its writable segments never do, as the
 * process changed them.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mem_internal.h"

enum {
	NT_GO_BUILDID = 4,	/* cmd/link: ELF_NOTE_GOBUILDID_TAG */
	NT_GNU_BUILD_ID_ = 3,
	/* Bounds for note bytes read from the core. */
	MAX_NOTE_BYTES = 1 << 16,
	MAX_PROGRAM_PHDRS = 1024,
};

static bool auxv(const struct gh_mem *mem, uint64_t type, uint64_t *ret)
{
	return gh_mem_auxv(mem, type, ret);
}

/* --- finding the executable -------------------------------------------- */

static const struct gh_mem_mapping *mapping_at(const struct gh_mem *mem,
					       uint64_t addr)
{
	for (size_t i = 0; i < mem->mappings.n; i++) {
		const struct gh_mem_mapping *m = &mem->mappings.data[i];
		if (addr >= m->start && addr < m->end)
			return m;
	}
	return NULL;
}

struct gh_error *mem_find_exe(struct gh_mem *mem, char **ret)
{
	const struct gh_mem_mapping *m = NULL;
	uint64_t addr;
	struct stat st;

	if (auxv(mem, AT_ENTRY, &addr))
		m = mapping_at(mem, addr);
	if (!m && auxv(mem, AT_PHDR, &addr))
		m = mapping_at(mem, addr);
	if (!m && !mem->mappings.n)
		return gh_error_new(GH_ERR_NOT_FOUND, "core '%s' does not name"
				    " its executable (it has no NT_FILE note):"
				    " pass the executable as the second"
				    " argument", mem->core_path);
	if (!m)
		return gh_error_new(GH_ERR_NOT_FOUND, "core '%s' does not say"
				    " which of its mapped files is the"
				    " executable: pass the executable as the"
				    " second argument", mem->core_path);
	/*
	 * A binary replaced while it ran is " (deleted)" (fs/d_path.c); the
	 * file now at its path may be the same build again, and the build-ID
	 * check will tell.
	 */
	const char *suffix = " (deleted)";
	size_t len = strlen(m->path), n_suffix = strlen(suffix);
	if (stat(m->path, &st) && len > n_suffix &&
	    !strcmp(m->path + len - n_suffix, suffix)) {
		char *path = gh_strndup(m->path, len - n_suffix);
		if (!path)
			return &gh_enomem;
		if (!stat(path, &st)) {
			*ret = path;
			return NULL;
		}
		gh_free(path);
	}
	if (stat(m->path, &st)) {
		if (errno == ENOENT || errno == ENOTDIR)
			return gh_error_new(GH_ERR_NOT_FOUND, "core '%s' names"
					    " executable '%s', which does not"
					    " exist: pass the executable as"
					    " the second argument",
					    mem->core_path, m->path);
		return gh_error_new(GH_ERR_NOT_FOUND, "core '%s' names"
				    " executable '%s', which cannot be"
				    " accessed (%s): pass the executable as"
				    " the second argument", mem->core_path,
				    m->path, strerror(errno));
	}
	char *path = gh_strdup(m->path);
	if (!path)
		return &gh_enomem;
	*ret = path;
	return NULL;
}

/* --- build IDs ----------------------------------------------------------- */

static char *hex_string(const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char *s = gh_malloc_array(2, n + 1);

	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		s[2 * i] = digits[p[i] >> 4];
		s[2 * i + 1] = digits[p[i] & 15];
	}
	s[2 * n] = '\0';
	return s;
}

/* The Go build ID is text; whatever the bytes, keep the message printable. */
static char *text_string(const uint8_t *p, size_t n)
{
	while (n && !p[n - 1])
		n--;
	char *s = gh_malloc(n + 1);

	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++)
		s[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
	s[n] = '\0';
	return s;
}

static bool note_name_is(const uint8_t *name, uint32_t namesz,
			 const char *want)
{
	size_t len = strlen(want);

	if (namesz < len || memcmp(name, want, len))
		return false;
	for (size_t i = len; i < namesz; i++) {
		if (name[i])
			return false;
	}
	return true;
}

static void build_ids_deinit(struct mem_build_ids *ids)
{
	gh_free(ids->go);
	gh_free(ids->gnu);
	*ids = (struct mem_build_ids){0};
}

/*
 * Pick the Go and GNU build-ID notes out of note bytes found at link-time
 * (or target) address addr.  Lenient: stops at the first malformed note.
 * Returns false only when out of memory.
 */
static bool scan_build_notes(const uint8_t *p, size_t n, uint64_t addr,
			     struct mem_build_ids *ids)
{
	size_t pos = 0;

	while (n - pos >= 12) {
		uint32_t namesz = mem_le32(p + pos);
		uint32_t descsz = mem_le32(p + pos + 4);
		uint32_t type = mem_le32(p + pos + 8);
		size_t start = pos, left = n - pos - 12;
		size_t name_pad = ((size_t)namesz + 3) & ~(size_t)3;
		size_t desc_pad = ((size_t)descsz + 3) & ~(size_t)3;

		if (name_pad > left || descsz > left - name_pad)
			break;
		const uint8_t *name = p + pos + 12;
		const uint8_t *desc = name + name_pad;
		size_t note_bytes = 12 + name_pad +
				    (desc_pad < left - name_pad ? desc_pad :
				     left - name_pad);
		pos += note_bytes;
		if (type == NT_GO_BUILDID && !ids->go &&
		    note_name_is(name, namesz, "Go")) {
			ids->go = text_string(desc, descsz);
			if (!ids->go)
				return false;
			ids->go_note_addr = addr + start;
		} else if (type == NT_GNU_BUILD_ID_ && !ids->gnu &&
			   note_name_is(name, namesz, "GNU")) {
			ids->gnu = hex_string(desc, descsz);
			if (!ids->gnu)
				return false;
			ids->gnu_note_addr = addr + start;
		}
	}
	return true;
}

/* The executable's build IDs, from its note sections or else PT_NOTEs. */
static struct gh_error *load_exe_ids(struct gh_mem *mem)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	bool any = false;

	while ((scn = elf_nextscn(mem->elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE ||
		    !(sh.sh_flags & SHF_ALLOC))
			continue;
		Elf_Data *d = elf_rawdata(scn, NULL);
		if (!d || !d->d_buf)
			continue;
		any = true;
		if (!scan_build_notes(d->d_buf, d->d_size, sh.sh_addr,
				      &mem->exe_ids))
			return &gh_enomem;
	}
	if (any)
		return NULL;
	size_t n;
	if (elf_getphdrnum(mem->elf, &n))
		return NULL;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(mem->elf, (int)i, &ph) ||
		    ph.p_type != PT_NOTE)
			continue;
		Elf_Data *d = elf_getdata_rawchunk(mem->elf, (int64_t)ph.p_offset,
						   ph.p_filesz, ELF_T_BYTE);
		if (!d || !d->d_buf)
			continue;
		if (!scan_build_notes(d->d_buf, d->d_size, ph.p_vaddr,
				      &mem->exe_ids))
			return &gh_enomem;
	}
	return NULL;
}

/*
 * The build IDs the core holds for its program, from the core's own copy
 * of the program headers (at AT_PHDR) and the notes they point at.
 */
static struct gh_error *core_ids_from_phdrs(struct gh_mem *mem,
					    struct mem_build_ids *ids)
{
	uint64_t phdr, phnum, phent;
	struct gh_error *err;

	if (!auxv(mem, AT_PHDR, &phdr) || !auxv(mem, AT_PHNUM, &phnum) ||
	    !auxv(mem, AT_PHENT, &phent) || phent != 56 || !phnum ||
	    phnum > MAX_PROGRAM_PHDRS)
		return NULL;
	size_t bytes = (size_t)phnum * 56;
	uint8_t *table = gh_malloc(bytes);
	if (!table)
		return &gh_enomem;
	err = mem_read_core_only(mem, phdr, table, bytes);
	if (err) {
		gh_error_free(err);
		gh_free(table);
		return NULL;
	}
	/* PT_PHDR says where the table is linked: that gives the bias. */
	bool have_bias = false;
	uint64_t bias = 0;
	for (size_t i = 0; i < phnum; i++) {
		const uint8_t *ph = table + i * 56;
		if (mem_le32(ph) == PT_PHDR) {
			bias = phdr - mem_le64(ph + 16);
			have_bias = true;
			break;
		}
	}
	for (size_t i = 0; have_bias && i < phnum; i++) {
		const uint8_t *ph = table + i * 56;
		uint64_t vaddr = mem_le64(ph + 16), size = mem_le64(ph + 32);
		if (mem_le32(ph) != PT_NOTE || !size || size > MAX_NOTE_BYTES)
			continue;
		uint8_t *buf = gh_malloc((size_t)size);
		if (!buf) {
			gh_free(table);
			return &gh_enomem;
		}
		err = mem_read_core_only(mem, vaddr + bias, buf, (size_t)size);
		bool ok = true;
		if (err)
			gh_error_free(err);
		else
			ok = scan_build_notes(buf, (size_t)size, vaddr, ids);
		gh_free(buf);
		if (!ok) {
			gh_free(table);
			return &gh_enomem;
		}
	}
	gh_free(table);
	return NULL;
}

/*
 * Read the note at the loaded address of one the executable has, from the
 * core.  Its size comes from the core's own note header: the core's build
 * ID may be longer than the executable's.
 */
static struct gh_error *core_note_at(struct gh_mem *mem, uint64_t addr,
				     struct mem_build_ids *ids)
{
	struct gh_error *err;
	uint8_t h[12];

	err = mem_read_core_only(mem, addr + mem->bias, h, sizeof(h));
	if (err) {
		gh_error_free(err);
		return NULL;
	}
	uint64_t bytes = 12 + (((uint64_t)mem_le32(h) + 3) & ~3ull) +
			 (((uint64_t)mem_le32(h + 4) + 3) & ~3ull);
	if (bytes > MAX_NOTE_BYTES)
		return NULL;
	uint8_t *buf = gh_malloc((size_t)bytes);
	if (!buf)
		return &gh_enomem;
	err = mem_read_core_only(mem, addr + mem->bias, buf, (size_t)bytes);
	bool ok = true;
	if (err)
		gh_error_free(err);
	else
		ok = scan_build_notes(buf, (size_t)bytes, addr, ids);
	gh_free(buf);
	return ok ? NULL : &gh_enomem;
}

static struct gh_error *mismatch(const struct gh_mem *mem, const char *what,
				 const char *core_id, const char *exe_id)
{
	return gh_error_new(GH_ERR_MISMATCH, "core '%s' was not produced by"
			    " executable '%s': %s build ID differs (core: %s,"
			    " executable: %s)", mem->core_path, mem->exe_path,
			    what, core_id, exe_id ? exe_id : "none");
}

struct gh_error *mem_check_build_id(struct gh_mem *mem)
{
	struct mem_build_ids core = {0}, at = {0};
	struct gh_error *err;

	err = core_ids_from_phdrs(mem, &core);
	if (!err && !core.go && mem->exe_ids.go)
		err = core_note_at(mem, mem->exe_ids.go_note_addr, &at);
	if (!err && !core.gnu && mem->exe_ids.gnu)
		err = core_note_at(mem, mem->exe_ids.gnu_note_addr, &at);
	if (err)
		goto out;
	if (!core.go) {
		core.go = at.go;
		at.go = NULL;
	}
	if (!core.gnu) {
		core.gnu = at.gnu;
		at.gnu = NULL;
	}
	if (core.go) {
		mem->build_id_checked = true;
		if (!mem->exe_ids.go || strcmp(core.go, mem->exe_ids.go)) {
			err = mismatch(mem, "Go", core.go, mem->exe_ids.go);
			goto out;
		}
	}
	if (core.gnu) {
		mem->build_id_checked = true;
		if (!mem->exe_ids.gnu || strcmp(core.gnu, mem->exe_ids.gnu))
			err = mismatch(mem, "GNU", core.gnu, mem->exe_ids.gnu);
	}
out:
	build_ids_deinit(&at);
	build_ids_deinit(&core);
	return err;
}

const char *gh_mem_exe_go_build_id(const struct gh_mem *mem)
{
	return mem->exe_ids.go ? mem->exe_ids.go : "";
}

const char *gh_mem_exe_gnu_build_id(const struct gh_mem *mem)
{
	return mem->exe_ids.gnu ? mem->exe_ids.gnu : "";
}

/* --- symbols ------------------------------------------------------------- */

static int cmp_sym(const void *a, const void *b)
{
	const struct mem_sym *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	if (x->global != y->global)
		return x->global ? -1 : 1;
	if (x->value != y->value)
		return x->value < y->value ? -1 : 1;
	return 0;
}

static struct gh_error *load_symtab(struct gh_mem *mem)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	while ((scn = elf_nextscn(mem->elf, scn))) {
		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_SYMTAB)
			break;
	}
	if (!scn)
		return NULL;	/* stripped: lookups say not found */
	Elf_Data *d = elf_getdata(scn, NULL);
	size_t sym_bytes = gelf_fsize(mem->elf, ELF_T_SYM, 1, EV_CURRENT);
	if (!d || !sym_bytes)
		return gh_error_new(GH_ERR_CORRUPT, "executable '%s': cannot"
				    " read .symtab: %s", mem->exe_path,
				    elf_errmsg(-1));
	size_t n = d->d_size / sym_bytes;
	mem->syms = gh_malloc_array(n ? n : 1, sizeof(*mem->syms));
	if (!mem->syms)
		return &gh_enomem;
	for (size_t i = 1; i < n; i++) {
		GElf_Sym s;
		if (!gelf_getsym(d, (int)i, &s) || s.st_shndx == SHN_UNDEF)
			continue;
		int type = GELF_ST_TYPE(s.st_info);
		if (type == STT_SECTION || type == STT_FILE)
			continue;
		const char *name = elf_strptr(mem->elf, sh.sh_link, s.st_name);
		if (!name || !*name)
			continue;
		mem->syms[mem->n_syms++] = (struct mem_sym){
			.name = name,
			.value = s.st_value +
				 (s.st_shndx == SHN_ABS ? 0 : mem->bias),
			.size = s.st_size,
			.global = GELF_ST_BIND(s.st_info) != STB_LOCAL,
		};
	}
	qsort(mem->syms, mem->n_syms, sizeof(*mem->syms), cmp_sym);
	return NULL;
}

struct gh_error *gh_mem_exe_symbol(const struct gh_mem *mem, const char *name,
				   uint64_t *addr_ret, uint64_t *size_ret)
{
	size_t lo = 0, hi = mem->n_syms;

	/* The first entry with this name: a global one if there is one. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(mem->syms[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == mem->n_syms || strcmp(mem->syms[lo].name, name)) {
		if (!mem->n_syms)
			return gh_error_new(GH_ERR_NOT_FOUND, "executable '%s'"
					    " has no symbol table, so no"
					    " symbol '%s'", mem->exe_path,
					    name);
		return gh_error_new(GH_ERR_NOT_FOUND, "executable '%s' has no"
				    " symbol '%s'", mem->exe_path, name);
	}
	*addr_ret = mem->syms[lo].value;
	*size_ret = mem->syms[lo].size;
	return NULL;
}

/* --- sections ------------------------------------------------------------ */

struct gh_error *gh_mem_exe_section(const struct gh_mem *mem,
				    const char *name, uint64_t *addr_ret,
				    uint64_t *size_ret)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;

	if (elf_getshdrstrndx(mem->elf, &shstrndx))
		return gh_error_new(GH_ERR_NOT_FOUND, "executable '%s' has no"
				    " section headers, so no section '%s'",
				    mem->exe_path, name);
	while ((scn = elf_nextscn(mem->elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			continue;
		const char *s = elf_strptr(mem->elf, shstrndx, sh.sh_name);
		if (!s || strcmp(s, name))
			continue;
		if (!(sh.sh_flags & SHF_ALLOC))
			return gh_error_new(GH_ERR_NOT_FOUND, "section '%s' of"
					    " executable '%s' is not loaded"
					    " in memory", name,
					    mem->exe_path);
		*addr_ret = sh.sh_addr + mem->bias;
		*size_ret = sh.sh_size;
		return NULL;
	}
	return gh_error_new(GH_ERR_NOT_FOUND, "executable '%s' has no section"
			    " '%s'", mem->exe_path, name);
}

/* --- opening ------------------------------------------------------------- */

/* The PIE bias from the core's NT_FILE when it has no AT_ENTRY. */
static bool bias_from_mappings(struct gh_mem *mem, uint64_t *ret)
{
	size_t n;
	uint64_t low = UINT64_MAX;

	if (elf_getphdrnum(mem->elf, &n))
		return false;
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(mem->elf, (int)i, &ph) &&
		    ph.p_type == PT_LOAD && ph.p_offset == 0 && ph.p_vaddr < low)
			low = ph.p_vaddr;
	}
	if (low == UINT64_MAX)
		return false;
	for (size_t i = 0; i < mem->mappings.n; i++) {
		const struct gh_mem_mapping *m = &mem->mappings.data[i];
		if (m->file_off == 0 && !strcmp(m->path, mem->exe_path)) {
			*ret = m->start - low;
			return true;
		}
	}
	return false;
}

struct gh_error *mem_open_exe(struct gh_mem *mem, const char *path)
{
	struct mem_file *f = &mem->files[MEM_FILE_EXE];
	struct gh_error *err;
	struct stat st;
	GElf_Ehdr eh;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return gh_error_new(GH_ERR_UNSUPPORTED, "libelf: %s",
				    elf_errmsg(-1));
	f->path = path;
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0)
		return gh_error_os(errno, path, "opening executable");
	if (fstat(f->fd, &st))
		return gh_error_os(errno, path, "opening executable");
	if (S_ISDIR(st.st_mode))
		return gh_error_new(GH_ERR_USAGE, "'%s' is a directory, not an"
				    " executable", path);
	f->bytes = (uint64_t)st.st_size;
	mem->elf = elf_begin(f->fd, ELF_C_READ, NULL);
	if (!mem->elf || elf_kind(mem->elf) != ELF_K_ELF ||
	    !gelf_getehdr(mem->elf, &eh))
		return gh_error_new(GH_ERR_CORRUPT, "'%s' is not an ELF file",
				    path);
	if (eh.e_type == ET_CORE)
		return gh_error_new(GH_ERR_USAGE, "'%s' is a core dump, not an"
				    " executable (the core comes first, then"
				    " the executable)", path);
	if (eh.e_type != ET_EXEC && eh.e_type != ET_DYN)
		return gh_error_new(GH_ERR_USAGE, "'%s' is not an executable"
				    " (ELF type %u)", path, eh.e_type);
	if (eh.e_machine != mem->e_machine ||
	    gelf_getclass(mem->elf) != ELFCLASS64) {
		const char *name = mem_machine_name(eh.e_machine);
		return gh_error_new(GH_ERR_MISMATCH, "core '%s' was not"
				    " produced by executable '%s': the core"
				    " is %s, the executable %s%s",
				    mem->core_path, path,
				    mem_machine_name(mem->e_machine),
				    name ? name : "of another machine",
				    gelf_getclass(mem->elf) == ELFCLASS64 ?
				    "" : " (32-bit)");
	}
	mem->exe_type = eh.e_type;
	mem->exe_entry = eh.e_entry;

	/* A PIE is loaded where AT_ENTRY says its entry point landed. */
	uint64_t entry, bias = 0;
	if (eh.e_type == ET_DYN) {
		if (auxv(mem, AT_ENTRY, &entry))
			bias = entry - eh.e_entry;
		else if (!bias_from_mappings(mem, &bias))
			bias = 0;
	}
	mem->bias = bias;

	err = load_symtab(mem);
	if (err)
		return err;
	return load_exe_ids(mem);
}

struct gh_error *mem_exe_pieces(struct gh_mem *mem, struct mem_piece_vec *ret)
{
	const struct mem_file *f = &mem->files[MEM_FILE_EXE];
	size_t n;

	if (elf_getphdrnum(mem->elf, &n))
		return gh_error_new(GH_ERR_CORRUPT, "executable '%s': cannot"
				    " read its program headers: %s",
				    mem->exe_path, elf_errmsg(-1));
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr ph;
		uint64_t start, end, bytes;

		if (!gelf_getphdr(mem->elf, (int)i, &ph))
			return gh_error_new(GH_ERR_CORRUPT, "executable '%s':"
					    " cannot read program header %zu:"
					    " %s", mem->exe_path, i,
					    elf_errmsg(-1));
		/* Writable segments changed at run time: the core or nothing. */
		if (ph.p_type != PT_LOAD || (ph.p_flags & PF_W) ||
		    !ph.p_filesz)
			continue;
		bytes = ph.p_filesz;
		if (ph.p_offset >= f->bytes)
			continue;
		if (bytes > f->bytes - ph.p_offset)
			bytes = f->bytes - ph.p_offset;
		/* Only an executable the core did not run can get here. */
		if (gh_add_overflow_u64(ph.p_vaddr, mem->bias, &start) ||
		    gh_add_overflow_u64(start, bytes, &end))
			return gh_error_new(GH_ERR_MISMATCH, "core '%s' was not"
					    " produced by executable '%s': its"
					    " PT_LOAD %zu at 0x%" PRIx64
					    " cannot load at bias 0x%" PRIx64,
					    mem->core_path, mem->exe_path, i,
					    ph.p_vaddr, mem->bias);
		struct mem_piece p = {
			.start = start,
			.end = end,
			.file_off = ph.p_offset,
			.flags = ph.p_flags & (GH_MEM_SEG_R | GH_MEM_SEG_W |
					       GH_MEM_SEG_X),
			.src = GH_MEM_SRC_EXE,
			.tail = MEM_TAIL_NONE,
			.origin = UINT32_MAX,
		};
		if (!mem_piece_vec_push(ret, p))
			return &gh_enomem;
	}
	return NULL;
}

void mem_close_exe(struct gh_mem *mem)
{
	build_ids_deinit(&mem->exe_ids);
	gh_free(mem->syms);
	mem->syms = NULL;
	mem->n_syms = 0;
	if (mem->elf)
		elf_end(mem->elf);
	mem->elf = NULL;
}
