/*
 * goroutines.c - the goroutines in runtime.allgs, their status and wait
 * reason as the runtime names them, and when they parked.
 *
 * Status names are the runtime's gStatusStrings (runtime/traceback.go),
 * fixed by the status numbering that every release shares.  Wait reasons
 * are renumbered from release to release (1.24, 1.25 and 1.26 inserted or
 * reordered some), so their names are read from the program itself:
 * runtime.waitReasonStrings, a [N]string, found through DWARF, the symbol
 * table, or in a stripped executable through the code of
 * runtime.waitReason.String, which indexes it.
 */
#include <string.h>

#include "rt_internal.h"

/* allgs never shrinks; 2^24 goroutines' g structs alone take 7 GiB. */
#define MAX_GOROUTINES (1u << 26)
/* waitReason is a uint8. */
#define MAX_WAIT_REASONS 256
#define MAX_WAIT_REASON_BYTES 256
/* runtime.waitReason.String is a handful of instructions. */
#define WAIT_REASON_STRING_CODE_BYTES 128

static struct gh_error *load_wait_reasons(struct gh_rt *rt);

/* The g fields read for each goroutine, as one block. */
static uint32_t g_read_bytes(const struct rt_layout *l)
{
	const uint32_t offs[] = {
		l->g_atomicstatus + 4, l->g_goid + 8, l->g_waitreason + 1,
		l->g_gopc + 8, l->g_startpc + 8, l->g_waitsince + 8,
		l->g_stack_lo + 8, l->g_stack_hi + 8, l->g_lockedm + 8,
		l->g_parent_goid == RT_ABSENT ? 0 : l->g_parent_goid + 8,
	};
	uint32_t n = 0;

	for (size_t i = 0; i < GH_ARRAY_SIZE(offs); i++)
		if (offs[i] > n)
			n = offs[i];
	return n;
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));	/* little-endian targets only */
	return v;
}

static uint32_t get_u32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

struct gh_error *gh_rt_load_goroutines(struct gh_rt *rt,
				       struct gh_rt_goroutine **ret,
				       size_t *n_ret)
{
	const struct rt_layout *l = &rt->l;
	struct gh_error *err;
	uint64_t base, n;
	uint8_t buf[1024];
	uint32_t g_bytes = g_read_bytes(l);

	if (g_bytes > sizeof(buf))
		return gh_error_new(GH_ERR_UNSUPPORTED, "runtime.g fields reach"
				    " offset %" PRIu32 ", past what goheap reads",
				    g_bytes);
	/* For gh_rt_wait_reason_name(), which cannot report running out of memory. */
	err = load_wait_reasons(rt);
	if (err)
		return err;
	err = rt_read_slice(rt, rt->allgs_addr, &base, &n);
	if (err)
		return gh_error_wrap(err, "reading runtime.allgs");
	if (n > MAX_GOROUTINES)
		return gh_error_new(GH_ERR_CORRUPT, "runtime.allgs claims %" PRIu64
				    " goroutines", n);
	struct gh_rt_goroutine *gs = gh_calloc(n ? n : 1, sizeof(*gs));
	if (!gs)
		return &gh_enomem;
	for (uint64_t i = 0; i < n; i++) {
		struct gh_rt_goroutine *g = &gs[i];

		err = gh_mem_read_ptr(rt->mem, base + i * 8, &g->addr);
		if (!err)
			err = gh_mem_read(rt->mem, g->addr, buf, g_bytes);
		if (err) {
			gh_free(gs);
			return gh_error_wrap(err, "reading goroutine %" PRIu64
					     " of runtime.allgs", i);
		}
		g->status = get_u32(buf + l->g_atomicstatus) & ~(uint32_t)l->g_scan;
		g->goid = get_u64(buf + l->g_goid);
		g->wait_reason = buf[l->g_waitreason];
		if (l->g_parent_goid != RT_ABSENT)
			g->parent_goid = get_u64(buf + l->g_parent_goid);
		g->gopc = get_u64(buf + l->g_gopc);
		g->startpc = get_u64(buf + l->g_startpc);
		g->wait_since = (int64_t)get_u64(buf + l->g_waitsince);
		g->stack_lo = get_u64(buf + l->g_stack_lo);
		g->stack_hi = get_u64(buf + l->g_stack_hi);
		g->locked_to_thread = get_u64(buf + l->g_lockedm) != 0;
	}
	*ret = gs;
	*n_ret = (size_t)n;
	return NULL;
}

bool gh_rt_goroutine_live(const struct gh_rt *rt, const struct gh_rt_goroutine *g)
{
	return g->status != (uint32_t)rt->l.g_dead &&
	       (rt->l.g_dead_extra < 0 || g->status != (uint32_t)rt->l.g_dead_extra);
}

/*
 * runtime/traceback.go gStatusStrings.  The numbering has not changed
 * since Go 1.0 added to it; 5 and 7 are unused (the runtime would print an
 * empty string), 10 and 11 came with Go 1.26.
 */
const char *gh_rt_status_name(const struct gh_rt *rt, uint32_t status)
{
	static const char *const names[] = {
		"idle", "runnable", "running", "syscall", "waiting", NULL,
		"dead", NULL, "copystack", "preempted", "leaked",
		/* Go 1.26: _Gdeadextra, an extra M's g waiting for C. */
		"waiting for cgo callback",
	};

	if (status == 10 && rt->l.g_leaked != 10)
		return "???";
	if (status == 11 && rt->l.g_dead_extra != 11)
		return "???";
	if (status >= GH_ARRAY_SIZE(names) || !names[status])
		return "???";
	return names[status];
}

/* Decodes a little-endian int32. */
static int32_t get_i32(const uint8_t *p)
{
	return (int32_t)get_u32(p);
}

/*
 * A stripped executable: runtime.waitReason.String (runtime2.go) is, on
 * amd64 (Go 1.21 to 1.27),
 *
 *	CMPB AL, $N; JB ok; LEAQ "unknown wait reason"(IP), AX; ...; RET
 *   ok: MOVZX AL, CX; SHLQ $4, CX; LEAQ runtime.waitReasonStrings(IP), DX; ...
 *
 * and on arm64 the same with CMPW $N, R2 and ADRP+ADD pairs.  N is the
 * length of the array; the table is the last address the code forms.
 */
static void scan_amd64(const uint8_t *code, size_t len, uint64_t pc,
		       uint64_t *n, uint64_t *table)
{
	for (size_t i = 0; i + 1 < len; i++) {
		/* CMP AL, imm8 (3C ib) or CMP r/m8, imm8 (80 F8 ib). */
		if (!*n && code[i] == 0x3c)
			*n = code[i + 1];
		else if (!*n && i + 2 < len && code[i] == 0x80 && code[i + 1] == 0xf8)
			*n = code[i + 2];
		/* LEA r64, [RIP + disp32]: REX.W(+R) 8D, ModRM mod 00 rm 101. */
		if (i + 7 <= len && (code[i] == 0x48 || code[i] == 0x4c) &&
		    code[i + 1] == 0x8d && (code[i + 2] & 0xc7) == 0x05)
			*table = pc + i + 7 + (int64_t)get_i32(code + i + 3);
	}
}

static void scan_arm64(const uint8_t *code, size_t len, uint64_t pc,
		       uint64_t *n, uint64_t *table)
{
	uint64_t page[32];
	bool has_page[32] = { false };

	for (size_t i = 0; i + 4 <= len; i += 4) {
		uint32_t insn = get_u32(code + i);
		uint32_t rd = insn & 0x1f, rn = (insn >> 5) & 0x1f;

		/* CMP Wn|Xn, #imm12 (SUBS ZR, Rn, #imm, no shift). */
		if (!*n && (insn & 0x7fc0001f) == 0x7100001f)
			*n = (insn >> 10) & 0xfff;
		/* ADRP Xd, label: the 4 KiB page of pc + imm21 << 12. */
		if ((insn & 0x9f000000) == 0x90000000) {
			uint64_t imm = ((insn >> 29) & 3) | ((insn >> 3) & 0x1ffffc);
			int64_t off = (int64_t)(imm << 43) >> 31;	/* sign, << 12 */
			page[rd] = ((pc + i) & ~(uint64_t)0xfff) + (uint64_t)off;
			has_page[rd] = true;
		}
		/* ADD Xd, Xn, #imm12 {, LSL #12} after an ADRP of Xn. */
		if ((insn & 0xff800000) == 0x91000000 && has_page[rn]) {
			uint64_t imm = (insn >> 10) & 0xfff;
			if (insn & (1u << 22))
				imm <<= 12;
			*table = page[rn] + imm;
		}
	}
}

static struct gh_error *wait_reasons_from_code(struct gh_rt *rt,
					       uint64_t *addr_ret,
					       uint64_t *n_ret)
{
	struct gh_error *err;
	struct gh_rt_func f;
	uint8_t code[WAIT_REASON_STRING_CODE_BYTES];
	uint64_t n = 0, table = 0;

	err = gh_rt_find_func_by_name(rt, "runtime.waitReason.String", &f);
	if (err)
		return err;
	size_t len = f.end - f.entry < sizeof(code) ?
		(size_t)(f.end - f.entry) : sizeof(code);
	err = gh_mem_read(rt->mem, f.entry, code, len);
	if (err)
		return gh_error_wrap(err, "reading the code of"
				     " runtime.waitReason.String");
	if (gh_mem_arch(rt->mem) == GH_ARCH_ARM64)
		scan_arm64(code, len, f.entry, &n, &table);
	else
		scan_amd64(code, len, f.entry, &n, &table);
	if (!n || !table)
		return gh_error_new(GH_ERR_NOT_FOUND, "runtime.waitReason.String"
				    " at 0x%" PRIx64 " does not index a table the"
				    " way goheap knows", f.entry);
	*addr_ret = table;
	*n_ret = n;
	return NULL;
}

/* Where runtime.waitReasonStrings is, and how many strings it holds. */
static struct gh_error *find_wait_reasons(struct gh_rt *rt, uint64_t *addr_ret,
					  uint64_t *n_ret)
{
	static const char name[] = "runtime.waitReasonStrings";
	struct gh_error *err;
	uint64_t addr, size;

	if (rt->dw) {
		const struct gh_dwarf_var *v;
		gh_dtype_id t;

		err = gh_dwarf_find_global(rt->dw, name, &v);
		if (!err)
			err = gh_dwarf_strip_typedefs(rt->dw, v->type, &t);
		if (!err) {
			const struct gh_dwarf_type *at = gh_dwarf_type(rt->dw, t);
			if (at && at->tag == GH_DWARF_ARRAY) {
				*addr_ret = v->addr + rt->bias;
				*n_ret = at->count;
				return NULL;
			}
			return gh_error_new(GH_ERR_CORRUPT, "DWARF says %s is"
					    " not an array", name);
		}
		if (err->code != GH_ERR_NOT_FOUND)
			return err;
		gh_error_free(err);
	}
	err = gh_mem_exe_symbol(rt->mem, name, &addr, &size);
	if (!err) {
		*addr_ret = addr;
		*n_ret = size / 16;
		return NULL;
	}
	if (err->code != GH_ERR_NOT_FOUND)
		return err;
	gh_error_free(err);
	return wait_reasons_from_code(rt, addr_ret, n_ret);
}

static struct gh_error *read_wait_reasons(struct gh_rt *rt)
{
	struct gh_error *err;
	uint64_t addr = 0, n = 0;

	err = find_wait_reasons(rt, &addr, &n);
	if (err)
		return err;
	if (n == 0 || n > MAX_WAIT_REASONS)
		return gh_error_new(GH_ERR_CORRUPT, "runtime.waitReasonStrings"
				    " at 0x%" PRIx64 " holds %" PRIu64 " strings;"
				    " a waitReason is a uint8", addr, n);
	char **names = gh_calloc((size_t)n, sizeof(*names));
	if (!names)
		return &gh_enomem;
	for (uint64_t i = 0; i < n; i++) {
		err = rt_read_string(rt, addr + 16 * i, MAX_WAIT_REASON_BYTES,
				     &names[i]);
		if (err) {
			err = gh_error_wrap(err, "reading runtime.waitReasonStrings[%"
					    PRIu64 "] at 0x%" PRIx64, i,
					    addr + 16 * i);
			for (uint64_t j = 0; j < i; j++)
				gh_free(names[j]);
			gh_free(names);
			return err;
		}
	}
	rt->wait_reasons = names;
	rt->n_wait_reasons = (size_t)n;
	return NULL;
}

/*
 * Reads the names once.  A program whose table cannot be found or read
 * has none (gh_rt_wait_reason_name says NULL); only running out of memory
 * is an error, and leaves the names to be read again.
 */
static struct gh_error *load_wait_reasons(struct gh_rt *rt)
{
	struct gh_error *err;

	if (rt->wait_reasons_loaded)
		return NULL;
	err = read_wait_reasons(rt);
	if (err && err->code == GH_ERR_NOMEM)
		return err;
	gh_error_free(err);
	rt->wait_reasons_loaded = true;
	return NULL;
}

const char *gh_rt_wait_reason_name(struct gh_rt *rt, uint8_t reason)
{
	gh_error_free(load_wait_reasons(rt));
	if (!rt->wait_reasons)
		return NULL;
	/* What waitReason.String says past the end of the table. */
	if (reason >= rt->n_wait_reasons)
		return "unknown wait reason";
	return rt->wait_reasons[reason];
}

void goroutines_deinit(struct gh_rt *rt)
{
	for (size_t i = 0; i < rt->n_wait_reasons; i++)
		gh_free(rt->wait_reasons[i]);
	gh_free(rt->wait_reasons);
	rt->wait_reasons = NULL;
	rt->n_wait_reasons = 0;
	rt->wait_reasons_loaded = false;
}

/*
 * A runtime global's int64 field, by DWARF name, into *max if larger.
 * A global or field this release lacks, or a page the core left out, is
 * no error: the estimate is a lower bound anyway.
 */
static struct gh_error *max_global_i64(struct gh_rt *rt, const char *var,
				       const char *type, const char *field,
				       int64_t *max)
{
	const struct gh_dwarf_var *v;
	const struct gh_dwarf_field *f;
	gh_dtype_id t;
	uint64_t val;
	struct gh_error *err;

	err = gh_dwarf_find_global(rt->dw, var, &v);
	if (!err)
		err = gh_dwarf_find_type(rt->dw, type, &t);
	if (!err)
		err = gh_dwarf_find_field(rt->dw, t, field, &f);
	if (!err)
		err = gh_mem_read_u64(rt->mem, v->addr + rt->bias + f->offset, &val);
	if (err && err->code == GH_ERR_NOMEM)
		return err;
	if (!err && (int64_t)val > *max)
		*max = (int64_t)val;
	gh_error_free(err);
	return NULL;
}

/*
 * The runtime has no clock in the core; take the latest nanotime() it
 * wrote down: when the last GC started (work.tstart, which is also what
 * a goroutine's waitsince is set from) and ended
 * (memstats.last_gc_nanotime), sysmon's and the scheduler's last poll
 * (sched.lastpoll), and the goroutines' waitsince.  Waits measured from it
 * are lower bounds; the runtime's own dump uses nanotime() itself.
 */
struct gh_error *gh_rt_nanotime(struct gh_rt *rt,
				const struct gh_rt_goroutine *gs, size_t n_gs,
				int64_t *ret)
{
	struct gh_error *err = NULL;
	int64_t now = 0;

	for (size_t i = 0; i < n_gs; i++)
		if (gs[i].wait_since > now)
			now = gs[i].wait_since;
	if (rt->dw) {
		err = max_global_i64(rt, "runtime.work", "runtime.workType",
				     "tstart", &now);
		if (!err)
			err = max_global_i64(rt, "runtime.memstats", "runtime.mstats",
					     "last_gc_nanotime", &now);
		if (!err)
			err = max_global_i64(rt, "runtime.sched", "runtime.schedt",
					     "lastpoll", &now);
		if (err)
			return err;
	}
	if (!now)
		return gh_error_new(GH_ERR_NOT_FOUND, "the core records no"
				    " time stamp to measure waits from");
	*ret = now;
	return NULL;
}
