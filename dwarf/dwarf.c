/*
 * dwarf.c - opening an executable's DWARF, and the lookups on what
 * load.c copied out of it.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dwarf_internal.h"

/*
 * The byte order, and where DW_AT_go_runtime_type counts from: the symbol
 * runtime.types.  Without a symbol table, the section the Go linker puts
 * type descriptors in: .rodata, or .data.rel.ro in a PIE (where they need
 * relocating); both start with runtime.types in internal linking.
 */
static struct gh_error *read_elf_facts(int fd, const char *path,
				       struct dw_elf_facts *ret)
{
	struct dw_elf_facts f = { 0 };
	struct gh_error *err = NULL;
	uint64_t rodata = 0, relro = 0;
	bool has_rodata = false, has_relro = false;
	GElf_Ehdr ehdr;
	size_t shstrndx;
	Elf_Scn *scn = NULL;
	Elf *elf;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return gh_error_new(GH_ERR_UNSUPPORTED, "libelf: %s",
				    elf_errmsg(-1));
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf)
		return gh_error_new(GH_ERR_CORRUPT, "'%s' is not an ELF file: %s",
				    path, elf_errmsg(-1));
	if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &ehdr)) {
		err = gh_error_new(GH_ERR_CORRUPT, "'%s' is not an ELF file",
				   path);
		goto out;
	}
	f.big_endian = ehdr.e_ident[EI_DATA] == ELFDATA2MSB;
	if (elf_getshdrstrndx(elf, &shstrndx))
		goto out;	/* no section names: no base either */

	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;

		if (!gelf_getshdr(scn, &sh))
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (name && !strcmp(name, ".rodata")) {
			rodata = sh.sh_addr;
			has_rodata = true;
		} else if (name && !strcmp(name, ".data.rel.ro")) {
			relro = sh.sh_addr;
			has_relro = true;
		}
		if (sh.sh_type != SHT_SYMTAB || f.has_types_base ||
		    !sh.sh_entsize)
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		size_t n = data->d_size / sh.sh_entsize;
		for (size_t i = 0; i < n; i++) {
			GElf_Sym sym;
			if (!gelf_getsym(data, (int)i, &sym) || i > INT32_MAX)
				break;
			const char *s = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (s && s[0] == 'r' && !strcmp(s, "runtime.types")) {
				f.types_base = sym.st_value;
				f.has_types_base = true;
				break;
			}
		}
	}
	if (!f.has_types_base) {
		if (ehdr.e_type == ET_DYN && has_relro) {
			f.types_base = relro;
			f.has_types_base = true;
		} else if (has_rodata) {
			f.types_base = rodata;
			f.has_types_base = true;
		}
	}
out:
	elf_end(elf);
	if (!err)
		*ret = f;
	return err;
}

static struct gh_error *stripped(const char *path)
{
	return gh_error_new(GH_ERR_NOT_FOUND,
			    "'%s' has no DWARF debug information (stripped)",
			    path);
}

struct gh_error *gh_dwarf_open(const char *path, struct gh_dwarf **ret)
{
	struct dw_elf_facts facts;
	struct gh_error *err;
	struct gh_dwarf *dw = NULL;
	Dwarf_Debug dbg = NULL;
	Dwarf_Error derr = NULL;
	struct stat st;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return gh_error_os(errno, path, "opening executable");
	if (fstat(fd, &st)) {
		err = gh_error_os(errno, path, "opening executable");
		goto out_fd;
	}
	if (!S_ISREG(st.st_mode)) {
		err = gh_error_new(GH_ERR_USAGE, "'%s' is not a regular file",
				   path);
		goto out_fd;
	}
	err = read_elf_facts(fd, path, &facts);
	if (err)
		goto out_fd;

	rc = dwarf_init_b(fd, DW_DLC_READ, DW_GROUPNUMBER_ANY, NULL, NULL,
			  &dbg, &derr);
	if (rc == DW_DLV_NO_ENTRY) {
		err = stripped(path);
		goto out_fd;
	}
	if (rc != DW_DLV_OK) {
		err = gh_error_new(GH_ERR_CORRUPT, "reading DWARF of '%s': %s",
				   path, derr ? dwarf_errmsg(derr) : "unknown error");
		dwarf_dealloc_error(dbg, derr);
		goto out_fd;
	}

	dw = gh_calloc(1, sizeof(*dw));
	if (!dw)
		err = &gh_enomem;
	else
		err = dw_load(dw, dbg, &facts);
	/* Everything goheap keeps has been copied: libdwarf's memory goes. */
	if (dwarf_finish(dbg, &derr) != DW_DLV_OK)
		dwarf_dealloc_error(NULL, derr);
	if (err) {
		err = gh_error_wrap(err, "reading DWARF of '%s'", path);
		goto out_fd;
	}
	if (!dw->n_types && !dw->n_consts && !dw->n_globals) {
		err = stripped(path);	/* sections without units */
		goto out_fd;
	}
	*ret = dw;
	dw = NULL;
out_fd:
	gh_dwarf_close(dw);
	close(fd);
	return err;
}

void gh_dwarf_close(struct gh_dwarf *dw)
{
	if (!dw)
		return;
	gh_free(dw->types);
	gh_free(dw->fields);
	gh_free(dw->consts);
	gh_free(dw->globals);
	gh_u64_map_deinit(&dw->type_names.map);
	gh_u64_map_deinit(&dw->const_names.map);
	gh_u64_map_deinit(&dw->global_names.map);
	gh_u64_map_deinit(&dw->by_runtime);
	dw_arena_deinit(&dw->strings);
	gh_free(dw);
}

size_t gh_dwarf_n_types(const struct gh_dwarf *dw)
{
	return dw->n_types;
}

const struct gh_dwarf_type *gh_dwarf_type(const struct gh_dwarf *dw,
					  gh_dtype_id id)
{
	return id < dw->n_types ? &dw->types[id] : NULL;
}

size_t gh_dwarf_n_fields(const struct gh_dwarf *dw)
{
	return dw->n_fields;
}

const struct gh_dwarf_field *gh_dwarf_field_at(const struct gh_dwarf *dw,
					       uint32_t index)
{
	return index < dw->n_fields ? &dw->fields[index] : NULL;
}

static bool type_complete(const struct gh_dwarf_type *t)
{
	return t->size || t->n_fields;
}

struct gh_error *gh_dwarf_find_type(const struct gh_dwarf *dw,
				    const char *name, gh_dtype_id *ret)
{
	gh_dtype_id best = GH_DTYPE_NONE;
	uint32_t id;

	if (gh_u64_map_get(&dw->type_names.map, dw_name_key(name), &id) &&
	    id < dw->n_types && !strcmp(dw->types[id].name, name)) {
		*ret = id;
		return NULL;
	}
	/* Two names share a hash: only a scan finds the one left out. */
	for (size_t i = 0; dw->type_names.collided && i < dw->n_types; i++) {
		if (strcmp(dw->types[i].name, name))
			continue;
		if (type_complete(&dw->types[i])) {
			best = (gh_dtype_id)i;
			break;
		}
		if (best == GH_DTYPE_NONE)
			best = (gh_dtype_id)i;
	}
	if (best != GH_DTYPE_NONE && *name) {
		*ret = best;
		return NULL;
	}
	return gh_error_new(GH_ERR_NOT_FOUND, "type '%s' not found in DWARF",
			    name);
}

struct gh_error *gh_dwarf_find_type_by_runtime(const struct gh_dwarf *dw,
					       uint64_t addr, gh_dtype_id *ret)
{
	uint32_t id;

	if (!addr || !gh_u64_map_get(&dw->by_runtime, addr, &id))
		return gh_error_new(GH_ERR_NOT_FOUND, "no DWARF type has its"
				    " runtime type descriptor at 0x%" PRIx64,
				    addr);
	*ret = id;
	return NULL;
}

static const char *type_name_or_id(const struct gh_dwarf_type *t)
{
	return t && *t->name ? t->name : "(unnamed)";
}

struct gh_error *gh_dwarf_strip_typedefs(const struct gh_dwarf *dw,
					 gh_dtype_id id, gh_dtype_id *ret)
{
	gh_dtype_id start = id;

	for (int hops = 0; hops <= DW_MAX_TYPEDEF_HOPS; hops++) {
		const struct gh_dwarf_type *t = gh_dwarf_type(dw, id);
		if (!t)
			return gh_error_new(GH_ERR_NOT_FOUND, "type id %" PRIu32
					    " is not in the DWARF (%zu types)",
					    id, dw->n_types);
		if (t->tag != GH_DWARF_TYPEDEF) {
			*ret = id;
			return NULL;
		}
		if (t->elem == GH_DTYPE_NONE)
			return gh_error_new(GH_ERR_CORRUPT, "typedef '%s' names"
					    " no type", type_name_or_id(t));
		id = t->elem;
	}
	return gh_error_new(GH_ERR_CORRUPT, "typedef '%s' does not lead to a"
			    " type within %d steps (a cycle?)",
			    type_name_or_id(gh_dwarf_type(dw, start)),
			    DW_MAX_TYPEDEF_HOPS);
}

struct gh_error *gh_dwarf_find_field(const struct gh_dwarf *dw,
				     gh_dtype_id type, const char *name,
				     const struct gh_dwarf_field **ret)
{
	struct gh_error *err;
	gh_dtype_id id;

	err = gh_dwarf_strip_typedefs(dw, type, &id);
	if (err)
		return err;
	const struct gh_dwarf_type *t = &dw->types[id];
	if (t->tag != GH_DWARF_STRUCT)
		return gh_error_new(GH_ERR_NOT_FOUND, "type '%s' is not a struct:"
				    " no field '%s'", type_name_or_id(t), name);
	/* load.c built first_field + n_fields within n_fields. */
	for (uint32_t i = 0; i < t->n_fields; i++) {
		const struct gh_dwarf_field *f = &dw->fields[t->first_field + i];
		if (!strcmp(f->name, name)) {
			*ret = f;
			return NULL;
		}
	}
	return gh_error_new(GH_ERR_NOT_FOUND, "type '%s' has no field '%s'",
			    type_name_or_id(t), name);
}

struct gh_error *gh_dwarf_find_constant(const struct gh_dwarf *dw,
					const char *name, int64_t *ret)
{
	uint32_t id;

	if (gh_u64_map_get(&dw->const_names.map, dw_name_key(name), &id) &&
	    id < dw->n_consts && !strcmp(dw->consts[id].name, name)) {
		*ret = dw->consts[id].value;
		return NULL;
	}
	for (size_t i = 0; dw->const_names.collided && i < dw->n_consts; i++) {
		if (!strcmp(dw->consts[i].name, name)) {
			*ret = dw->consts[i].value;
			return NULL;
		}
	}
	return gh_error_new(GH_ERR_NOT_FOUND,
			    "constant '%s' not found in DWARF", name);
}

size_t gh_dwarf_n_globals(const struct gh_dwarf *dw)
{
	return dw->n_globals;
}

const struct gh_dwarf_var *gh_dwarf_global(const struct gh_dwarf *dw,
					   size_t i)
{
	return i < dw->n_globals ? &dw->globals[i] : NULL;
}

struct gh_error *gh_dwarf_find_global(const struct gh_dwarf *dw,
				      const char *name,
				      const struct gh_dwarf_var **ret)
{
	const struct gh_dwarf_var *best = NULL;
	uint32_t id;

	if (gh_u64_map_get(&dw->global_names.map, dw_name_key(name), &id) &&
	    id < dw->n_globals && !strcmp(dw->globals[id].name, name)) {
		*ret = &dw->globals[id];
		return NULL;
	}
	/* After a collision: the lowest address stands in for DIE order. */
	for (size_t i = 0; dw->global_names.collided && i < dw->n_globals; i++) {
		if (!strcmp(dw->globals[i].name, name)) {
			best = &dw->globals[i];
			break;
		}
	}
	if (best) {
		*ret = best;
		return NULL;
	}
	return gh_error_new(GH_ERR_NOT_FOUND,
			    "global variable '%s' not found in DWARF", name);
}
