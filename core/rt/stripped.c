/*
 * stripped.c - the runtime's globals in an executable with neither DWARF
 * nor a symbol table (`go build -ldflags='-s -w'`, `objcopy --strip-all`).
 *
 * What is left is the section headers, the pclntab (function names and
 * bounds) and the code.  Each global has its own finder:
 *
 *   runtime.firstmoduledata  the start of .go.module (Go 1.26+), else the
 *                            word in .noptrdata that points at the pclntab
 *                            (moduledata.pcHeader), checked against .text;
 *   runtime.mheap_           the address runtime.mallocinit passes to
 *                            (*mheap).init in the first argument register;
 *   runtime.allgs            the slice header runtime.allgadd appends to:
 *                            the X it reads or writes at X, X+8 and X+16;
 *   runtime.allp             likewise in runtime.procresize, the slice
 *                            whose elements are ps numbered 0, 1, ...;
 *   runtime.allm             the global runtime.mcommoninit touches that
 *                            points at an m whose g0 points back at it.
 *
 * Every candidate is validated against what the core holds before it is
 * returned.  Adding a global is a row in finders[] and a function that
 * usually needs scan_func() only.  The code is disassembled with capstone
 * (amd64, and arm64 with ADRP pairs); capstone types stay in this file.
 */
#include <string.h>

#include <capstone/capstone.h>

#include "rt_internal.h"

#define MAX_FUNC_CODE_BYTES (1u << 20)
#define SCAN_CHUNK_BYTES 65536
#define PCLN_MAGIC_GO120 0xfffffff1u
/* A call's argument is "just before" it: at most this many insns back. */
#define ARG_SETUP_WINDOW 4
/* moduledata.text/etext offsets 1.21-1.27 (runtime/symtab.go). */
#define MD_TEXT_OFFSET 0xb0
#define MD_ETEXT_OFFSET 0xb8
/* Bounds for a plausible runtime slice of pointers. */
#define MAX_SLICE_LEN (1ull << 32)

/* A data address or call target an instruction refers to. */
struct code_ref {
	uint64_t pc;		/* the instruction */
	uint64_t target;
	uint32_t insn;		/* its ordinal in the function */
	bool is_call;
	bool to_arg0;		/* the address lands in the first argument register */
};

GH_VEC(ref_vec, struct code_ref)

static struct gh_error *push_ref(struct ref_vec *refs, uint64_t pc,
				 uint64_t target, uint32_t insn, bool is_call,
				 bool to_arg0)
{
	struct code_ref r = {
		.pc = pc, .target = target, .insn = insn,
		.is_call = is_call, .to_arg0 = to_arg0,
	};
	return ref_vec_push(refs, r) ? NULL : &gh_enomem;
}

/*
 * amd64: RIP-relative memory operands (address = next insn + disp) and
 * direct calls.  ABIInternal passes the first argument in RAX.
 */
static struct gh_error *refs_amd64(const cs_insn *insn, uint32_t idx,
				   struct ref_vec *refs)
{
	const cs_x86 *x = &insn->detail->x86;
	struct gh_error *err;

	if (insn->id == X86_INS_CALL && x->op_count == 1 &&
	    x->operands[0].type == X86_OP_IMM)
		return push_ref(refs, insn->address,
				(uint64_t)x->operands[0].imm, idx, true, false);
	for (uint8_t i = 0; i < x->op_count; i++) {
		const cs_x86_op *op = &x->operands[i];

		if (op->type != X86_OP_MEM || op->mem.base != X86_REG_RIP ||
		    op->mem.index != X86_REG_INVALID)
			continue;
		uint64_t target = insn->address + insn->size +
				  (uint64_t)op->mem.disp;
		bool arg0 = insn->id == X86_INS_LEA && x->op_count == 2 &&
			    x->operands[0].type == X86_OP_REG &&
			    x->operands[0].reg == X86_REG_RAX;
		err = push_ref(refs, insn->address, target, idx, false, arg0);
		if (err)
			return err;
	}
	return NULL;
}

/*
 * arm64: Go materializes an address as ADRP rN, page followed at once by
 * ADD rD, rN, #lo12 (MOVD $sym, R) or a load/store off rN; an ADD result
 * may serve as the base of the next instruction (LDP (R27), ...).  Only
 * those adjacent pairs are followed, which is what the Go assembler
 * emits.  ABIInternal passes the first argument in X0.
 */
struct arm64_state {
	arm64_reg reg;		/* holds val, set by the previous insn */
	uint64_t val;
	bool valid;
};

static struct gh_error *refs_arm64(const cs_insn *insn, uint32_t idx,
				   struct arm64_state *st,
				   struct ref_vec *refs)
{
	const cs_arm64 *a = &insn->detail->arm64;
	struct arm64_state prev = *st;
	struct gh_error *err;

	st->valid = false;
	if (insn->id == ARM64_INS_BL && a->op_count == 1 &&
	    a->operands[0].type == ARM64_OP_IMM)
		return push_ref(refs, insn->address,
				(uint64_t)a->operands[0].imm, idx, true, false);
	if (insn->id == ARM64_INS_ADRP && a->op_count == 2 &&
	    a->operands[0].type == ARM64_OP_REG &&
	    a->operands[1].type == ARM64_OP_IMM) {
		*st = (struct arm64_state){
			.reg = a->operands[0].reg,
			.val = (uint64_t)a->operands[1].imm, .valid = true,
		};
		return NULL;
	}
	if (!prev.valid)
		return NULL;
	if (insn->id == ARM64_INS_ADD && a->op_count == 3 &&
	    a->operands[0].type == ARM64_OP_REG &&
	    a->operands[1].type == ARM64_OP_REG &&
	    a->operands[1].reg == prev.reg &&
	    a->operands[2].type == ARM64_OP_IMM) {
		uint64_t imm = (uint64_t)a->operands[2].imm;
		if (a->operands[2].shift.type == ARM64_SFT_LSL)
			imm <<= a->operands[2].shift.value;
		uint64_t target = prev.val + imm;
		*st = (struct arm64_state){
			.reg = a->operands[0].reg, .val = target, .valid = true,
		};
		return push_ref(refs, insn->address, target, idx, false,
				a->operands[0].reg == ARM64_REG_X0);
	}
	for (uint8_t i = 0; i < a->op_count; i++) {
		const cs_arm64_op *op = &a->operands[i];

		if (op->type != ARM64_OP_MEM || op->mem.base != prev.reg ||
		    op->mem.index != ARM64_REG_INVALID)
			continue;
		uint64_t target = prev.val + (uint64_t)(int64_t)op->mem.disp;
		err = push_ref(refs, insn->address, target, idx, false, false);
		/* A pair touches the next word too. */
		if (!err && (insn->id == ARM64_INS_LDP ||
			     insn->id == ARM64_INS_STP))
			err = push_ref(refs, insn->address, target + 8, idx,
				       false, false);
		if (err)
			return err;
	}
	return NULL;
}

/* Every data address and call target in the function called name. */
static struct gh_error *scan_func(struct gh_rt *rt, const char *name,
				  struct ref_vec *refs)
{
	struct gh_error *err;
	struct gh_rt_func f;
	enum gh_arch arch = gh_mem_arch(rt->mem);
	struct arm64_state st = { .valid = false };
	uint8_t *code = NULL;
	cs_insn *insn = NULL;
	csh h = 0;
	bool opened = false;

	err = gh_rt_find_func_by_name(rt, name, &f);
	if (err)
		return err;
	uint64_t n = f.end - f.entry;
	if (n > MAX_FUNC_CODE_BYTES)
		return gh_error_new(GH_ERR_CORRUPT, "%s claims %" PRIu64
				    " bytes of code", name, n);
	code = gh_malloc(n ? n : 1);
	if (!code)
		return &gh_enomem;
	err = gh_mem_read(rt->mem, f.entry, code, n);
	if (err) {
		err = gh_error_wrap(err, "reading the code of %s", name);
		goto out;
	}
	cs_err cerr = arch == GH_ARCH_ARM64 ?
		cs_open(CS_ARCH_ARM64, CS_MODE_ARM, &h) :
		cs_open(CS_ARCH_X86, CS_MODE_64, &h);
	if (cerr == CS_ERR_OK) {
		opened = true;
		cerr = cs_option(h, CS_OPT_DETAIL, CS_OPT_ON);
	}
	if (cerr != CS_ERR_OK) {
		err = gh_error_new(GH_ERR_UNSUPPORTED, "disassembling %s: %s",
				   name, cs_strerror(cerr));
		goto out;
	}
	insn = cs_malloc(h);
	if (!insn) {
		err = &gh_enomem;
		goto out;
	}
	const uint8_t *p = code;
	size_t left = (size_t)n;
	uint64_t pc = f.entry;
	size_t skip = arch == GH_ARCH_ARM64 ? 4 : 1;
	for (uint32_t idx = 0; left; idx++) {
		if (!cs_disasm_iter(h, &p, &left, &pc, insn)) {
			/* Not an instruction we know: step over it. */
			size_t k = left < skip ? left : skip;
			p += k, left -= k, pc += k;
			st.valid = false;
			continue;
		}
		if (arch == GH_ARCH_ARM64)
			err = refs_arm64(insn, idx, &st, refs);
		else
			err = refs_amd64(insn, idx, refs);
		if (err)
			goto out;
	}
out:
	if (insn)
		cs_free(insn, 1);
	if (opened)
		cs_close(&h);
	gh_free(code);
	return err;
}

/* [lo, hi) of a section; false if the executable has none by that name. */
static struct gh_error *section_range(struct gh_rt *rt, const char *name,
				      uint64_t *lo, uint64_t *hi, bool *found)
{
	struct gh_error *err;
	uint64_t bytes;

	*found = false;
	err = gh_mem_exe_section(rt->mem, name, lo, &bytes);
	if (err) {
		if (err->code != GH_ERR_NOT_FOUND)
			return err;
		gh_error_free(err);
		return NULL;
	}
	*hi = *lo + bytes;
	*found = true;
	return NULL;
}

/* True if [addr, addr + len) lies in one of the writable data sections. */
static struct gh_error *in_data(struct gh_rt *rt, uint64_t addr, uint64_t len,
				bool *ret)
{
	static const char *const names[] = {
		".noptrdata", ".data", ".bss", ".noptrbss", ".go.module",
	};
	struct gh_error *err;

	*ret = false;
	for (size_t i = 0; i < GH_ARRAY_SIZE(names); i++) {
		uint64_t lo, hi;
		bool found;

		err = section_range(rt, names[i], &lo, &hi, &found);
		if (err)
			return err;
		if (found && addr >= lo && addr < hi && len <= hi - addr) {
			*ret = true;
			return NULL;
		}
	}
	return NULL;
}

/*
 * A slice header of pointers at addr that a live runtime could hold:
 * 0 < len <= cap, and the backing array is in the core.
 */
static bool plausible_ptr_slice(struct gh_rt *rt, uint64_t addr)
{
	uint64_t w[3];
	struct gh_error *err = gh_mem_read(rt->mem, addr, w, sizeof(w));

	if (err) {
		gh_error_free(err);
		return false;
	}
	if (!w[0] || w[0] % 8 || !w[1] || w[1] > w[2] || w[2] > MAX_SLICE_LEN)
		return false;
	return gh_mem_readable(rt->mem, w[0], w[1] * 8);
}

/* moduledata field offset: DWARF if the executable has it, else fallback. */
static uint64_t md_offset(struct gh_rt *rt, const char *field,
			  uint64_t fallback)
{
	const struct gh_dwarf_field *f;
	struct gh_error *err;
	gh_dtype_id tid;

	if (!rt->dw)
		return fallback;
	err = gh_dwarf_find_type(rt->dw, "runtime.moduledata", &tid);
	if (!err)
		err = gh_dwarf_find_field(rt->dw, tid, field, &f);
	if (err) {
		gh_error_free(err);
		return fallback;
	}
	return f->offset;
}

/*
 * Is there a moduledata at md?  Its pcHeader must be the pclntab (or,
 * when the table's section is unknown, point at the pclntab magic) and
 * [text, etext) must lie within .text.
 */
static bool is_moduledata(struct gh_rt *rt, uint64_t md, uint64_t pcln,
			  uint64_t text_lo, uint64_t text_hi)
{
	uint64_t hdr, text, etext;
	uint32_t magic;
	struct gh_error *err;

	err = gh_mem_read_ptr(rt->mem, md, &hdr);
	if (!err && !pcln)
		err = gh_mem_read_u32(rt->mem, hdr, &magic);
	if (!err)
		err = gh_mem_read_ptr(rt->mem, md + md_offset(rt, "text",
							      MD_TEXT_OFFSET),
				      &text);
	if (!err)
		err = gh_mem_read_ptr(rt->mem, md + md_offset(rt, "etext",
							      MD_ETEXT_OFFSET),
				      &etext);
	if (err) {
		gh_error_free(err);
		return false;
	}
	if (pcln ? hdr != pcln : (hdr % 8 || magic != PCLN_MAGIC_GO120))
		return false;
	return text >= text_lo && text < etext && etext <= text_hi;
}

static struct gh_error *find_firstmoduledata(struct gh_rt *rt, uint64_t *ret)
{
	struct gh_error *err;
	uint64_t text_lo, text_hi, lo, hi, pcln = 0, pcln_end;
	bool found;
	uint64_t *buf;

	err = section_range(rt, ".text", &text_lo, &text_hi, &found);
	if (err)
		return err;
	if (!found)
		return gh_error_new(GH_ERR_NOT_FOUND, "the executable has no"
				    " .text section");
	err = section_range(rt, ".gopclntab", &pcln, &pcln_end, &found);
	if (!err && !found)
		/* internally linked PIE before Go 1.26 */
		err = section_range(rt, ".data.rel.ro.gopclntab", &pcln,
				    &pcln_end, &found);
	if (err)
		return err;
	if (!found)
		pcln = 0;	/* merged by an external linker: match magic */

	/* Go 1.26: the linker gives the module data its own section. */
	err = section_range(rt, ".go.module", &lo, &hi, &found);
	if (err)
		return err;
	if (found && is_moduledata(rt, lo, pcln, text_lo, text_hi)) {
		*ret = lo;
		return NULL;
	}

	/* Before: somewhere in .noptrdata (runtime/symtab.go). */
	err = section_range(rt, ".noptrdata", &lo, &hi, &found);
	if (err)
		return err;
	if (!found)
		return gh_error_new(GH_ERR_NOT_FOUND, "the executable has neither"
				    " .go.module nor .noptrdata");
	buf = gh_malloc(SCAN_CHUNK_BYTES);
	if (!buf)
		return &gh_enomem;
	lo = (lo + 7) & ~7ull;
	for (uint64_t at = lo; at < hi && hi - at >= 8;) {
		uint64_t n = hi - at < SCAN_CHUNK_BYTES ? hi - at :
			     SCAN_CHUNK_BYTES;
		n &= ~7ull;
		err = gh_mem_read(rt->mem, at, buf, n);
		if (err) {
			gh_free(buf);
			return gh_error_wrap(err, "scanning .noptrdata for the"
					     " module data");
		}
		for (uint64_t i = 0; i < n / 8; i++) {
			if (pcln ? buf[i] != pcln : !buf[i])
				continue;
			if (is_moduledata(rt, at + i * 8, pcln, text_lo,
					  text_hi)) {
				*ret = at + i * 8;
				gh_free(buf);
				return NULL;
			}
		}
		at += n;
	}
	gh_free(buf);
	return gh_error_new(GH_ERR_NOT_FOUND, "no module data in .noptrdata"
			    " points at the pclntab");
}

/*
 * runtime/malloc.go mallocinit: `mheap_.init()`, the one call of
 * (*mheap).init, loads &mheap_ into the receiver's register just before.
 * Confirmed by mheap_.allspans looking like a live slice.
 */
static struct gh_error *find_mheap(struct gh_rt *rt, uint64_t *ret)
{
	struct gh_error *err;
	struct gh_rt_func init;
	struct ref_vec refs = { 0 };
	const struct code_ref *arg0 = NULL;
	size_t n_candidates = 0;

	err = gh_rt_find_func_by_name(rt, "runtime.(*mheap).init", &init);
	if (!err)
		err = scan_func(rt, "runtime.mallocinit", &refs);
	if (err)
		goto out;
	for (size_t i = 0; i < refs.n; i++) {
		const struct code_ref *r = &refs.data[i];
		bool ok;

		if (r->to_arg0)
			arg0 = r;
		if (!r->is_call || r->target != init.entry || !arg0 ||
		    r->insn - arg0->insn > ARG_SETUP_WINDOW)
			continue;
		n_candidates++;
		err = in_data(rt, arg0->target, rt->l.mheap_allspans + 24, &ok);
		if (err)
			goto out;
		if (ok && plausible_ptr_slice(rt, arg0->target +
					      rt->l.mheap_allspans)) {
			*ret = arg0->target;
			goto out;
		}
	}
	err = gh_error_new(GH_ERR_NOT_FOUND, "runtime.mallocinit has %zu"
			   " candidate calls of (*mheap).init and none passes"
			   " an mheap whose allspans is a live slice",
			   n_candidates);
out:
	ref_vec_deinit(&refs);
	return err;
}

static bool has_target(const struct ref_vec *refs, uint64_t target)
{
	for (size_t i = 0; i < refs->n; i++) {
		if (!refs->data[i].is_call && refs->data[i].target == target)
			return true;
	}
	return false;
}

/*
 * runtime/proc.go allgadd: `allgs = append(allgs, gp)` reads and writes
 * the slice header's pointer, length and capacity: X, X+8, X+16.
 */
static struct gh_error *find_allgs(struct gh_rt *rt, uint64_t *ret)
{
	struct gh_error *err;
	struct ref_vec refs = { 0 };
	size_t n_candidates = 0;

	err = scan_func(rt, "runtime.allgadd", &refs);
	if (err)
		goto out;
	for (size_t i = 0; i < refs.n; i++) {
		uint64_t x = refs.data[i].target;
		bool ok;

		if (refs.data[i].is_call || !has_target(&refs, x + 8) ||
		    !has_target(&refs, x + 16))
			continue;
		n_candidates++;
		err = in_data(rt, x, 24, &ok);
		if (err)
			goto out;
		if (ok && plausible_ptr_slice(rt, x)) {
			*ret = x;
			goto out;
		}
	}
	err = gh_error_new(GH_ERR_NOT_FOUND, "runtime.allgadd refers to %zu"
			   " slice headers and none holds live goroutines",
			   n_candidates);
out:
	ref_vec_deinit(&refs);
	return err;
}

/*
 * allp: runtime/proc.go procresize reads and writes allp, idlepMask and
 * timerpMask (slice headers all three).  Only allp holds pointers to ps
 * that know their index: p.id (offset 0, 1.21-1.27) == i.
 */
static bool is_allp(struct gh_rt *rt, uint64_t x)
{
	uint64_t w[3];

	if (!plausible_ptr_slice(rt, x))
		return false;
	struct gh_error *err = gh_mem_read(rt->mem, x, w, sizeof(w));
	for (uint64_t i = 0; !err && i < w[1] && i < 8; i++) {
		uint64_t pp;
		uint32_t id;

		err = gh_mem_read_ptr(rt->mem, w[0] + i * 8, &pp);
		if (!err)
			err = gh_mem_read_u32(rt->mem, pp, &id);
		if (!err && id != i)
			return false;
	}
	gh_error_free(err);
	return !err;
}

static struct gh_error *find_allp(struct gh_rt *rt, uint64_t *ret)
{
	struct gh_error *err;
	struct ref_vec refs = { 0 };
	size_t n_candidates = 0;

	err = scan_func(rt, "runtime.procresize", &refs);
	if (err)
		goto out;
	for (size_t i = 0; i < refs.n; i++) {
		uint64_t x = refs.data[i].target;
		bool ok;

		if (refs.data[i].is_call || !has_target(&refs, x + 8) ||
		    !has_target(&refs, x + 16))
			continue;
		n_candidates++;
		err = in_data(rt, x, 24, &ok);
		if (err)
			goto out;
		if (ok && is_allp(rt, x)) {
			*ret = x;
			goto out;
		}
	}
	err = gh_error_new(GH_ERR_NOT_FOUND, "runtime.procresize refers to %zu"
			   " slice headers and none holds the ps", n_candidates);
out:
	ref_vec_deinit(&refs);
	return err;
}

/*
 * allm: runtime/proc.go mcommoninit links the new m in front of allm.
 * Of the globals it touches, allm is the one pointing at an m whose g0
 * points back at it: m.g0 is at offset 0 and g.m at 0x30 in 1.21-1.27.
 */
static bool is_allm(struct gh_rt *rt, uint64_t x)
{
	uint64_t m, g0, back;
	struct gh_error *err = gh_mem_read_ptr(rt->mem, x, &m);

	if (!err)
		err = gh_mem_read_ptr(rt->mem, m, &g0);
	if (!err)
		err = gh_mem_read_ptr(rt->mem, g0 + 0x30, &back);
	if (err) {
		gh_error_free(err);
		return false;
	}
	return m && back == m;
}

static struct gh_error *find_allm(struct gh_rt *rt, uint64_t *ret)
{
	struct gh_error *err;
	struct ref_vec refs = { 0 };

	err = scan_func(rt, "runtime.mcommoninit", &refs);
	if (err)
		goto out;
	for (size_t i = 0; i < refs.n; i++) {
		uint64_t x = refs.data[i].target;
		bool ok;

		if (refs.data[i].is_call)
			continue;
		err = in_data(rt, x, 8, &ok);
		if (err)
			goto out;
		if (ok && is_allm(rt, x)) {
			*ret = x;
			goto out;
		}
	}
	err = gh_error_new(GH_ERR_NOT_FOUND, "none of the %zu globals"
			   " runtime.mcommoninit refers to points at an m",
			   refs.n);
out:
	ref_vec_deinit(&refs);
	return err;
}

/*
 * One row per global.  A finder returns GH_ERR_NOT_FOUND when it cannot
 * locate the global; it validates its candidate against the core first.
 * Not yet here: runtime.sched (needs schedt field offsets per release).
 */
static const struct global_finder {
	const char *name;
	struct gh_error *(*find)(struct gh_rt *rt, uint64_t *ret);
} finders[] = {
	{ "runtime.firstmoduledata", find_firstmoduledata },
	{ "runtime.mheap_", find_mheap },
	{ "runtime.allgs", find_allgs },
	{ "runtime.allp", find_allp },
	{ "runtime.allm", find_allm },
};

struct gh_error *stripped_find_global(struct gh_rt *rt, const char *name,
				      uint64_t *ret)
{
	struct gh_error *err;

	for (size_t i = 0; i < GH_ARRAY_SIZE(finders); i++) {
		if (strcmp(finders[i].name, name))
			continue;
		err = finders[i].find(rt, ret);
		if (err)
			return gh_error_wrap(err, "locating %s without symbols",
					     name);
		return NULL;
	}
	return gh_error_new(GH_ERR_NOT_FOUND, "the executable has no symbol %s"
			    " and goheap cannot locate it without one", name);
}
