/*
 * unwind.c - a goroutine's stack, frame by frame, as the runtime's own
 * traceback walks and prints it (runtime/traceback.go, unwinder; Go
 * 1.21-1.27).
 *
 * Where the walk starts (unwinder.initAt, traceback1):
 *   - a goroutine in a system call: g.syscallpc/g.syscallsp;
 *   - a parked goroutine: g.sched (gobuf pc, sp, lr);
 *   - a running goroutine: the registers of the thread whose M runs it
 *     (runtime.allm, m.curg == g, NT_PRSTATUS tid == m.procid), or
 *     m.vdsoPC/vdsoSP while it is inside the vDSO.  A thread that is in a
 *     signal handler (every thread of a GOTRACEBACK=crash core, sometimes
 *     two handlers deep) is walked up to runtime.sigtramp, whose caller is
 *     the kernel's rt_sigframe: the interrupted context is its ucontext.
 *     A context that is not on the goroutine's stack (its M is on g0 in
 *     systemstack or mcall) falls back to g.sched, which those saved; a
 *     running goroutine whose thread the core lacks is an error, as its
 *     g.sched is from when it last stopped.
 *
 * Each frame: fp = sp + pcsp(pc) (+ 8 on amd64, for the return address);
 * the caller's pc is at fp - 8 (amd64), or in LR / at sp (arm64); the
 * walk ends after a TOPFRAME function (runtime.goexit, mstart, sigtramp)
 * or at a function that writes SP (runtime.mcall, systemstack on g0).
 * File, line and inlined calls are looked up at pc - 1 (inside the CALL)
 * unless the frame was interrupted (a signal, or a call the runtime
 * injected: sigpanic, asyncPreempt, debugCallV2), as unwinder.symPC does.
 * Inlined calls come from FUNCDATA_InlTree, indexed by
 * PCDATA_InlTreeIndex, each giving the pc of its call site in the parent.
 *
 * A corrupt stack cannot loop: at most MAX_FRAMES frames, the stack
 * pointer never goes down (on amd64 it grows by 8 bytes at least), and a
 * return pc must be in Go text.  Such a stack is an error that names the
 * function whose return address is bad.
 */
#include <string.h>

#include "rt_internal.h"

#define MAX_FRAMES 100000
#define MAX_MS 100000		/* runtime.allm: one per thread ever made */
#define MAX_SIGNAL_DEPTH 8	/* signal handlers interrupted by signals */
#define MAX_INLINE_DEPTH 1000
#define INLINED_CALL_BYTES 16	/* runtime/symtabinl.go inlinedCall */
#define MAX_INLTREE_INDEX (1 << 24)

/*
 * Linux's ucontext: uc_mcontext is at 40 on amd64 (uc_flags, uc_link,
 * stack_t), where its gregs run r8..r15, rdi, rsi, rbp, rbx, rdx, rax,
 * rcx, rsp, rip (asm/sigcontext.h); on arm64 at 176 (after a 1024-bit
 * sigmask), holding fault_address, x0..x30, sp, pc (not validated on a
 * real arm64 core).
 */
enum {
	AMD64_UC_MCONTEXT = 40,
	AMD64_GREG_RBP = 10,
	AMD64_GREG_RSP = 15,
	AMD64_GREG_RIP = 16,
	ARM64_SIGINFO_BYTES = 128,
	ARM64_UC_REGS = 176 + 8,
	ARM64_UC_SP = ARM64_UC_REGS + 31 * 8,
	ARM64_UC_PC = ARM64_UC_SP + 8,
};

GH_VEC(frame_vec, struct gh_rt_frame)

struct regs {
	uint64_t pc, sp, bp, lr;
};

/* How a walk starts and what it does. */
enum {
	WALK_TRAP = 1,		/* innermost pc was interrupted, not a call */
	WALK_SYSCALL = 2,	/* from g.syscallpc/sp: SPWRITE does not stop */
	WALK_TO_SIGTRAMP = 4,	/* stop at runtime.sigtramp, give its context */
};

struct walk {
	struct gh_rt *rt;
	bool arm64;
	struct frame_vec frames;	/* WALK_TO_SIGTRAMP: unused */
	bool found_sigtramp;
	struct regs sig;		/* the context sigtramp interrupted */
};

static bool name_is(const struct gh_rt_func *f, const char *name)
{
	return !strcmp(f->name, name);
}

/* Calls the runtime injects into a goroutine (traceback.go isInjectedCall). */
static bool is_injected(const struct gh_rt_func *f)
{
	return name_is(f, "runtime.sigpanic") ||
	       name_is(f, "runtime.asyncPreempt") ||
	       name_is(f, "runtime.debugCallV2");
}

/* Frames whose pc is not a safe point: the GC scans them conservatively. */
static bool is_unsafe_point(const struct gh_rt_func *f)
{
	return name_is(f, "runtime.asyncPreempt") ||
	       name_is(f, "runtime.debugCallV2");
}

static bool is_sigtramp(const struct gh_rt_func *f)
{
	return name_is(f, "runtime.sigtramp") ||
	       name_is(f, "runtime.cgoSigtramp");
}

static struct gh_error *push_frame(struct walk *w, const struct gh_rt_frame *fr)
{
	if (w->frames.n >= MAX_FRAMES)
		return gh_error_new(GH_ERR_LIMIT, "more than %d frames",
				    MAX_FRAMES);
	return frame_vec_push(&w->frames, *fr) ? NULL : &gh_enomem;
}

static struct gh_error *line_of(struct gh_rt *rt, const struct gh_rt_func *f,
				uint64_t pc, const char **file, uint32_t *line)
{
	struct gh_error *err = gh_rt_func_line(rt, f, pc, file, line);

	if (err && err->code == GH_ERR_NOT_FOUND) {
		/* What the runtime prints then (funcline1). */
		gh_error_free(err);
		*file = "?";
		*line = 0;
		return NULL;
	}
	return err;
}

/*
 * The logical frames of one physical frame: the inlined calls at sympc,
 * innermost first, then f itself (inlineUnwinder).
 */
static struct gh_error *emit_frames(struct walk *w, const struct gh_rt_func *f,
				    const struct rt_func_info *fi,
				    const struct gh_rt_frame *phys,
				    uint64_t sympc)
{
	struct gh_error *err;
	struct gh_rt_frame fr = *phys;
	uint64_t tree, upc = sympc;
	int32_t ix = -1;

	err = pcln_funcdata(w->rt, f, fi, RT_FUNCDATA_INLTREE, &tree);
	if (!err && tree)
		err = pcln_pcdata(w->rt, f, fi, RT_PCDATA_INLTREEINDEX, upc, &ix);
	if (err)
		return err;
	for (int depth = 0; ix >= 0; depth++) {
		uint8_t call[INLINED_CALL_BYTES];
		int32_t name_off, parent_pc;

		if (depth >= MAX_INLINE_DEPTH || ix >= MAX_INLTREE_INDEX)
			return gh_error_new(GH_ERR_CORRUPT, "%s: inline tree"
					    " index %" PRId32 " at depth %d",
					    f->name, ix, depth);
		err = gh_mem_read(w->rt->mem, tree + (uint64_t)ix * sizeof(call),
				  call, sizeof(call));
		if (err)
			return gh_error_wrap(err, "reading %s's inline tree",
					     f->name);
		memcpy(&name_off, call + 4, 4);
		memcpy(&parent_pc, call + 8, 4);
		err = pcln_name(w->rt, name_off, &fr.func);
		if (!err)
			err = line_of(w->rt, f, upc, &fr.file, &fr.line);
		if (err)
			return err;
		fr.inlined = true;
		err = push_frame(w, &fr);
		if (err)
			return err;
		if (parent_pc < 0 || (uint64_t)parent_pc >= f->end - f->entry)
			return gh_error_new(GH_ERR_CORRUPT, "%s: inlined call"
					    " %" PRId32 " has its call site at"
					    " +0x%" PRIx32 ", outside the function",
					    f->name, ix, (uint32_t)parent_pc);
		upc = f->entry + (uint64_t)parent_pc;
		err = pcln_pcdata(w->rt, f, fi, RT_PCDATA_INLTREEINDEX, upc, &ix);
		if (err)
			return err;
	}
	fr.func = f->name;
	fr.inlined = false;
	err = line_of(w->rt, f, upc, &fr.file, &fr.line);
	if (err)
		return err;
	return push_frame(w, &fr);
}

/* The registers the kernel saved in the rt_sigframe above sigtramp. */
static struct gh_error *sigframe_regs(struct walk *w, uint64_t fp,
				      struct regs *ret)
{
	struct gh_error *err;
	struct regs r = {0};

	if (!w->arm64) {
		uint64_t gregs[AMD64_GREG_RIP + 1];

		/* fp is where sigtramp's return address (the restorer) ends. */
		err = gh_mem_read(w->rt->mem, fp + AMD64_UC_MCONTEXT, gregs,
				  sizeof(gregs));
		r.pc = gregs[AMD64_GREG_RIP];
		r.sp = gregs[AMD64_GREG_RSP];
		r.bp = gregs[AMD64_GREG_RBP];
	} else {
		uint64_t uc = fp + ARM64_SIGINFO_BYTES;

		err = gh_mem_read_u64(w->rt->mem, uc + ARM64_UC_PC, &r.pc);
		if (!err)
			err = gh_mem_read_u64(w->rt->mem, uc + ARM64_UC_SP, &r.sp);
		if (!err)
			err = gh_mem_read_u64(w->rt->mem, uc + ARM64_UC_REGS + 29 * 8,
					      &r.bp);
		if (!err)
			err = gh_mem_read_u64(w->rt->mem, uc + ARM64_UC_REGS + 30 * 8,
					      &r.lr);
	}
	if (err)
		return gh_error_wrap(err, "reading the signal frame at 0x%" PRIx64,
				     fp);
	*ret = r;
	return NULL;
}

/* One walk from r (unwinder.initAt, resolveInternal, next). */
static struct gh_error *walk_stack(struct walk *w, struct regs r, unsigned how)
{
	struct gh_error *err;
	struct gh_rt *rt = w->rt;
	uint64_t pc = r.pc, sp = r.sp, lr = w->arm64 ? r.lr : 0;
	bool innermost = true, trap = how & WALK_TRAP;
	const uint64_t ptr = 8;

	/* A nil function call: start in the caller's frame. */
	if (pc == 0) {
		err = gh_mem_read_ptr(rt->mem, sp, &pc);
		if (err)
			return gh_error_wrap(err, "reading the return address of"
					     " a call to nil");
		if (!w->arm64)
			sp += ptr;
		lr = 0;
	}
	for (int n = 0;; n++) {
		struct gh_rt_func f;
		struct rt_func_info fi;
		int32_t spdelta;
		uint64_t fp;

		if (n >= MAX_FRAMES)
			return gh_error_new(GH_ERR_LIMIT, "more than %d frames",
					    MAX_FRAMES);
		err = gh_rt_find_func(rt, pc, &f);
		if (err) {
			if (err->code == GH_ERR_NOT_FOUND)
				return gh_error_wrap(err, innermost ? "unknown pc" :
						     "unexpected return pc");
			return err;
		}
		err = pcln_func_info(rt, &f, &fi);
		if (err)
			return err;
		if (!fi.pcsp)	/* no frame information: not Go code */
			return NULL;
		uint8_t flag = fi.flag;
		if (innermost && (how & WALK_SYSCALL))
			flag &= (uint8_t)~RT_FUNCFLAG_SPWRITE;

		err = pcln_value(rt, &f, fi.pcsp, pc, &spdelta);
		if (err)
			return gh_error_wrap(err, "the frame size of %s at pc 0x%"
					     PRIx64, f.name, pc);
		if (spdelta < 0)
			return gh_error_new(GH_ERR_CORRUPT, "%s has a frame of %"
					    PRId32 " bytes at pc 0x%" PRIx64,
					    f.name, spdelta, pc);
		fp = sp + (uint64_t)spdelta + (w->arm64 ? 0 : ptr);
		if (fp < sp)
			return gh_error_new(GH_ERR_CORRUPT, "frame of %s at sp 0x%"
					    PRIx64 " wraps", f.name, sp);

		if ((how & WALK_TO_SIGTRAMP) && is_sigtramp(&f)) {
			err = sigframe_regs(w, fp, &w->sig);
			if (err)
				return err;
			w->found_sigtramp = true;
			return NULL;
		}

		if (flag & RT_FUNCFLAG_TOPFRAME) {
			lr = 0;
		} else if ((flag & RT_FUNCFLAG_SPWRITE) && !innermost) {
			/* Its SP is not in pcsp: the runtime stops here too. */
			lr = 0;
		} else if (!w->arm64) {
			err = gh_mem_read_ptr(rt->mem, fp - ptr, &lr);
		} else if ((innermost && sp < fp) || lr == 0) {
			err = gh_mem_read_ptr(rt->mem, sp, &lr);
		}
		if (err)
			return gh_error_wrap(err, "reading the return address"
					     " of %s", f.name);

		if (!(how & WALK_TO_SIGTRAMP)) {
			struct gh_rt_frame fr = {
				.pc = pc, .sp = sp, .fp = fp,
				.conservative = trap || is_unsafe_point(&f),
			};
			uint64_t sympc = !trap && pc > f.entry ? pc - 1 : pc;

			err = emit_frames(w, &f, &fi, &fr, sympc);
			if (err)
				return gh_error_wrap(err, "at pc 0x%" PRIx64, pc);
		}
		if (lr == 0)
			return NULL;

		struct gh_rt_func caller;
		err = gh_rt_find_func(rt, lr, &caller);
		if (err) {
			if (err->code == GH_ERR_NOT_FOUND)
				return gh_error_wrap(err, "unexpected return pc"
						     " for %s (read at 0x%" PRIx64 ")",
						     f.name, w->arm64 ? sp : fp - ptr);
			return err;
		}
		if (fp < sp || (fp == sp && lr == pc))
			return gh_error_new(GH_ERR_CORRUPT, "traceback stuck at"
					    " pc 0x%" PRIx64 " sp 0x%" PRIx64,
					    pc, sp);
		bool injected = is_injected(&f);
		trap = injected;
		pc = lr;
		lr = 0;
		sp = fp;
		innermost = false;
		/*
		 * arm64: the signal handler saved LR on the stack before
		 * faking the call (traceback.go next()).
		 */
		if (w->arm64 && injected) {
			struct rt_func_info ci;
			uint64_t x;
			int32_t d;

			err = gh_mem_read_ptr(rt->mem, sp, &x);
			if (!err)
				err = pcln_func_info(rt, &caller, &ci);
			if (!err)
				err = pcln_value(rt, &caller, ci.pcsp, pc, &d);
			if (err)
				return gh_error_wrap(err, "unwinding past %s", f.name);
			sp += 16;	/* alignUp(MinFrameSize, StackAlign) */
			if (d == 0)
				lr = x;
		}
	}
}

/* Fields of g and m the start of a walk needs. */
struct g_state {
	uint64_t sched_sp, sched_pc, sched_lr, sched_bp;
	uint64_t syscallsp, syscallpc;
	uint64_t m;
};

static struct gh_error *read_g_state(struct gh_rt *rt, uint64_t g,
				     struct g_state *ret)
{
	const struct rt_layout *l = &rt->l;
	struct {
		uint32_t off;
		uint64_t *val;
	} f[] = {
		{ l->g_sched_sp, &ret->sched_sp },
		{ l->g_sched_pc, &ret->sched_pc },
		{ l->g_sched_lr, &ret->sched_lr },
		{ l->g_sched_bp, &ret->sched_bp },
		{ l->g_syscallsp, &ret->syscallsp },
		{ l->g_syscallpc, &ret->syscallpc },
		{ l->g_m, &ret->m },
	};

	for (size_t i = 0; i < GH_ARRAY_SIZE(f); i++) {
		struct gh_error *err = gh_mem_read_u64(rt->mem, g + f[i].off,
						       f[i].val);
		if (err)
			return gh_error_wrap(err, "reading g 0x%" PRIx64, g);
	}
	return NULL;
}

/* The M whose curg is g, from runtime.allm; 0 if none. */
static struct gh_error *find_m(struct gh_rt *rt, uint64_t g, uint64_t *ret)
{
	struct gh_error *err;
	uint64_t allm, m;

	err = rt_find_global(rt, "runtime.allm", &allm);
	if (!err)
		err = gh_mem_read_ptr(rt->mem, allm, &m);
	if (err)
		return gh_error_wrap(err, "reading runtime.allm");
	for (int n = 0; m; n++) {
		uint64_t curg;

		if (n >= MAX_MS)
			return gh_error_new(GH_ERR_CORRUPT, "runtime.allm lists"
					    " more than %d Ms (a cycle?)", MAX_MS);
		err = gh_mem_read_ptr(rt->mem, m + rt->l.m_curg, &curg);
		if (err)
			return gh_error_wrap(err, "reading m 0x%" PRIx64, m);
		if (curg == g) {
			*ret = m;
			return NULL;
		}
		err = gh_mem_read_ptr(rt->mem, m + rt->l.m_alllink, &m);
		if (err)
			return gh_error_wrap(err, "reading m.alllink");
	}
	*ret = 0;
	return NULL;
}

static bool on_stack(const struct gh_rt_goroutine *g, uint64_t sp)
{
	return sp >= g->stack_lo && sp < g->stack_hi;
}

/* What the thread running a goroutine gave. */
enum run_state {
	RUN_NO_THREAD,		/* no M runs it, or the core lacks its thread */
	RUN_OFF_STACK,		/* its context is on another stack (g0) */
	RUN_DONE,		/* walked from the thread's context */
};

/*
 * A running goroutine: its thread's registers, through any signal
 * handlers, to the context on its own stack.
 */
static struct gh_error *walk_running(struct walk *w,
				     const struct gh_rt_goroutine *g,
				     uint64_t m, enum run_state *state)
{
	struct gh_error *err;
	uint64_t procid, vdso_sp = 0, vdso_pc = 0;
	const struct gh_mem_thread *t = NULL;

	*state = RUN_NO_THREAD;
	err = gh_mem_read_u64(w->rt->mem, m + w->rt->l.m_procid, &procid);
	if (!err && w->rt->l.m_vdso_sp != RT_ABSENT)
		err = gh_mem_read_u64(w->rt->mem, m + w->rt->l.m_vdso_sp, &vdso_sp);
	if (!err && vdso_sp)
		err = gh_mem_read_u64(w->rt->mem, m + w->rt->l.m_vdso_pc, &vdso_pc);
	if (err)
		return gh_error_wrap(err, "reading m 0x%" PRIx64, m);
	/* Inside the vDSO, which has no pclntab: where it was called from. */
	if (vdso_sp) {
		struct regs r = { .pc = vdso_pc, .sp = vdso_sp };
		*state = RUN_DONE;
		return walk_stack(w, r, 0);
	}
	for (size_t i = 0; i < gh_mem_n_threads(w->rt->mem); i++) {
		const struct gh_mem_thread *c = gh_mem_thread(w->rt->mem, i);
		if (c->tid >= 0 && (uint64_t)c->tid == procid)
			t = c;
	}
	if (!t)
		return NULL;
	*state = RUN_OFF_STACK;
	struct regs r = { .pc = t->pc, .sp = t->sp, .bp = t->fp, .lr = t->lr };
	for (int depth = 0; depth <= MAX_SIGNAL_DEPTH; depth++) {
		if (on_stack(g, r.sp)) {
			*state = RUN_DONE;
			return walk_stack(w, r, WALK_TRAP);
		}
		/* On the signal stack (or g0): look for sigtramp's frame. */
		w->found_sigtramp = false;
		err = walk_stack(w, r, WALK_TRAP | WALK_TO_SIGTRAMP);
		if (err && err->code == GH_ERR_NOMEM)
			return err;
		gh_error_free(err);
		if (!w->found_sigtramp)
			return NULL;
		r = w->sig;
	}
	return NULL;
}

struct gh_error *gh_rt_unwind(struct gh_rt *rt, const struct gh_rt_goroutine *g,
			      struct gh_rt_frame **ret, size_t *n_ret)
{
	struct gh_error *err;
	struct walk w = {
		.rt = rt,
		.arm64 = gh_mem_arch(rt->mem) == GH_ARCH_ARM64,
	};
	struct g_state s;
	enum run_state run = RUN_NO_THREAD;
	bool running = g->status == (uint32_t)rt->l.g_running;

	err = read_g_state(rt, g->addr, &s);
	if (!err && running) {
		uint64_t m = 0;

		err = find_m(rt, g->addr, &m);
		if (!err && m)
			err = walk_running(&w, g, m, &run);
	}
	if (err || run == RUN_DONE)
		goto out;
	if (s.syscallsp) {
		/* Also a running g in the last steps of exitsyscall. */
		struct regs r = { .pc = s.syscallpc, .sp = s.syscallsp };
		err = walk_stack(&w, r, WALK_SYSCALL);
	} else if (running && run == RUN_NO_THREAD) {
		/* g.sched is from when it last stopped: not where it is. */
		err = gh_error_new(GH_ERR_NOT_FOUND, "it is running, but no"
				   " thread in the core runs it");
	} else if (!s.sched_sp) {
		err = gh_error_new(GH_ERR_NOT_FOUND, "it has no saved registers"
				   " (g.sched is empty)");
	} else {
		/*
		 * Parked; or running with its M on g0, in systemstack or
		 * mcall, both of which saved g.sched.
		 */
		struct regs r = {
			.pc = s.sched_pc, .sp = s.sched_sp,
			.lr = s.sched_lr, .bp = s.sched_bp,
		};
		err = walk_stack(&w, r, 0);
	}
out:
	if (err) {
		frame_vec_deinit(&w.frames);
		return gh_error_wrap(err, "unwinding goroutine %" PRIu64, g->goid);
	}
	if (!w.frames.n) {
		frame_vec_deinit(&w.frames);
		return gh_error_new(GH_ERR_NOT_FOUND, "unwinding goroutine %"
				    PRIu64 ": no Go frames", g->goid);
	}
	*ret = w.frames.data;
	*n_ret = w.frames.n;
	return NULL;
}
