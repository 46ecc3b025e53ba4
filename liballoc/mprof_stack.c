/* mprof_stack.c: stack capture for samples, into a fixed buffer (no allocation,
 * no lock of ours held while walking). The allocator's own frames are
 * dropped so a stack starts at the caller of malloc or new: they are the
 * frames inside the object that holds this code (liballoc.so). When the
 * allocator is linked statically into a program there is no such boundary,
 * and a fixed number of frames is dropped instead. Overview: mprof.h.
 *
 * The walker. Each frame is one lookup in a process-wide table from code
 * address to unwind rule (mprof_cfi.h: where the CFA is, whether rbp was
 * saved) and two loads from the stack, each checked: about 65 instructions
 * a frame (callgrind, bench_sample_cost). The allocator's own frames at the
 * top are stepped over, not stored, and the rest go straight into the
 * caller's array. A
 * miss finds the function's FDE in its object's .eh_frame_hdr (the object
 * from glibc's lock-free _dl_find_object; libgcc's _Unwind_Find_FDE only
 * for what that cannot find), runs its CFI program (mprof_cfi.c) and
 * publishes the rule; a program has a few thousand distinct return
 * addresses, so misses stop early in a process's life and, unlike
 * libunwind's per-thread caches, a new thread finds the table warm. Every
 * load is checked to lie between the stack pointer and the top of the
 * thread's stack, so a wrong rule (hand-written CFI, code unloaded and
 * another library loaded at its address) gives a wrong or short stack,
 * never a fault.
 *
 * Stacks the walker cannot follow (a signal frame, a CFA computed by a
 * DWARF expression, a stack whose top is unknown: fibres, sigaltstack) go to
 * a full unwinder, by the age of the thread. libunwind's unw_backtrace is
 * the fastest once warm (0.05 us for a short stack: it caches rules per
 * thread), but warming it in a new thread costs about 100 us (a per-thread
 * cache mapped in, unwind tables parsed under a lock that masks signals, a
 * syscall per step). libgcc's _Unwind_Backtrace keeps no per-thread state:
 * about 1 us per stack, from the first one. A thread's first LIBGCC_FIRST
 * such stacks use libgcc, later ones libunwind.
 *
 * libgcc's functions are looked up in libgcc_s.so.1 itself: libunwind
 * exports its own _Unwind_Backtrace, which would otherwise win the symbol
 * lookup and bring back libunwind's costs. liballoc does not link
 * libunwind (it needs nothing but libc): the dumping half, which does,
 * hands its unw_backtrace over with its hook (mprof.h). A process that
 * never loads the dumping half uses libgcc for every such stack, slower
 * in a long-lived thread but as complete. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <unwind.h>

#include "mprof_cfi.h"
#include "loaderfence.h"
#include "mprof.h"
#include "sys.h"

/* Found by the first sample of each thread that finds self_known 0 (two
 * threads may both look, and find the same): relaxed atomics, self_known
 * stored last with release and read with acquire, so that a thread that
 * sees it set sees the range too. */
static uintptr_t self_lo, self_hi; /* executable text of our object, if shared */
static int self_known;             /* 1 shared, -1 static (main program) */

struct find_self {
  uintptr_t addr;
  uintptr_t lo, hi;
  int is_main;
  int found;
};

static int find_self_cb(struct dl_phdr_info *info, size_t size, void *arg) {
  (void)size;
  struct find_self *f = arg;
  for (int i = 0; i < info->dlpi_phnum; i++) {
    const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
    if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X)) continue;
    uintptr_t lo = info->dlpi_addr + ph->p_vaddr, hi = lo + ph->p_memsz;
    if (f->addr >= lo && f->addr < hi) {
      f->lo = lo;
      f->hi = hi;
      f->is_main = info->dlpi_name == NULL || info->dlpi_name[0] == 0;
      f->found = 1;
      return 1;
    }
  }
  return 0;
}

static void find_self(void) {
  struct find_self f = {.addr = (uintptr_t)&prof_capture_stack};
  alloc_loader_enter();
  dl_iterate_phdr(find_self_cb, &f);
  alloc_loader_exit();
  if (f.found && !f.is_main) {
    STORE_RELAXED(&self_lo, f.lo);
    STORE_RELAXED(&self_hi, f.hi);
    __atomic_store_n(&self_known, 1, __ATOMIC_RELEASE);
  } else {
    __atomic_store_n(&self_known, -1, __ATOMIC_RELEASE);
  }
}

/* Frames of the allocator in a static link (tests only): prof_capture_stack
 * and prof_record_sample (malloc's fast path reaches it by tail calls, so
 * the entry point itself has no frame there). */
#define STACK_SKIP_STATIC 2

/* The allocator's own frames dropped from a stack's top at most: more than
 * its deepest call chain to prof_capture_stack (a stack with more is cut
 * there, and keeps the rest). */
#define STACK_DROP_MAX 16

/* Whether the frame at position i from the top (0: prof_capture_stack's
 * own), whose address is a, is one of the allocator's, to be dropped: by
 * the library's address range once known, else the first
 * STACK_SKIP_STATIC; never more than STACK_DROP_MAX. The walker and the
 * full unwinders' buffer drop the same frames by it. */
static inline int allocator_frame(uintptr_t a, int i) {
  if (i >= STACK_DROP_MAX) return 0;
  return LOAD_RELAXED(&self_known) > 0 ? a >= LOAD_RELAXED(&self_lo) && a < LOAD_RELAXED(&self_hi)
                                       : i < STACK_SKIP_STATIC;
}

/* Stacks a thread hands to libgcc's unwinder before libunwind's, when the
 * walker cannot take them: enough to amortize libunwind's warm-up. */
#define LIBGCC_FIRST 256

static __thread unsigned thread_full_unwinds __attribute__((tls_model("initial-exec")));

/* What libgcc's _Unwind_Find_FDE fills in besides the FDE (unwind-dw2-fde.h). */
struct dwarf_eh_bases {
  void *tbase, *dbase;
  void *func; /* start of the function the FDE covers */
};

typedef _Unwind_Reason_Code (*gcc_backtrace_fn)(_Unwind_Trace_Fn, void *);
typedef _Unwind_Ptr (*gcc_getip_fn)(struct _Unwind_Context *);
typedef const uint8_t *(*gcc_find_fde_fn)(void *pc, struct dwarf_eh_bases *bases);
static gcc_backtrace_fn gcc_backtrace; /* NULL: libunwind for everything */
static gcc_getip_fn gcc_getip;
static gcc_find_fde_fn gcc_find_fde; /* NULL: no walker, a full unwinder always */

/* libgcc_s is already loaded in most processes (C++, pthread_cancel);
 * otherwise this loads it, once, when sampling is first switched on: a
 * process that never samples does not pay for the dlopen at start. */
void prof_stack_init(void) {
  static int done;
  if (__atomic_exchange_n(&done, 1, __ATOMIC_ACQ_REL)) return;
  void *h = dlopen("libgcc_s.so.1", RTLD_NOW | RTLD_LOCAL); /* not fenced: loaderfence.h */
  if (h == NULL) return;
  gcc_getip_fn getip = (gcc_getip_fn)dlsym(h, "_Unwind_GetIP");
  gcc_backtrace_fn bt = (gcc_backtrace_fn)dlsym(h, "_Unwind_Backtrace");
  gcc_find_fde_fn find_fde = (gcc_find_fde_fn)dlsym(h, "_Unwind_Find_FDE");
  if (find_fde != NULL) __atomic_store_n(&gcc_find_fde, find_fde, __ATOMIC_RELEASE);
  if (getip == NULL || bt == NULL) return;
  __atomic_store_n(&gcc_getip, getip, __ATOMIC_RELEASE);
  __atomic_store_n(&gcc_backtrace, bt, __ATOMIC_RELEASE);
}

struct gcc_trace {
  void **buf;
  int n, max;
};

static _Unwind_Reason_Code gcc_trace_frame(struct _Unwind_Context *ctx, void *arg) {
  struct gcc_trace *t = arg;
  if (t->n >= t->max) return _URC_END_OF_STACK;
  uintptr_t ip = gcc_getip(ctx);
  if (ip == 0) return _URC_END_OF_STACK;
  t->buf[t->n++] = (void *)ip;
  return _URC_NO_REASON;
}

/* ---- The rule table ----------------------------------------------------------
 * Open addressing over (code address, rule) pairs, shared by every thread.
 * Readers take no lock: a slot's rule is stored before its address
 * (release) and slots are never overwritten, so a reader that finds the
 * address finds the rule. Writers take rule_writer, and only by trylock: a
 * thread that finds it taken (another writer, or a signal handler that
 * interrupted its own thread's insert) uses its rule without caching it.
 * A table that gets half full is copied into one twice its size; old
 * tables stay (a reader may still be in one): their total is less than the
 * newest one. */

struct rule_slot {
  uintptr_t pc;  /* 0: empty */
  uint64_t rule; /* a struct cfi_rule; kind CFI_NONE until written */
};

struct rule_table {
  size_t mask, count;
  struct rule_slot slots[];
};

#define RULE_TABLE_FIRST 128     /* slots: 2 KiB, grown as code is seen */
#define RULE_TABLE_MAX (1 << 20) /* 16 MiB; beyond it misses are not cached */

static struct rule_table *rule_table;
static int rule_writer;
static uint64_t rule_table_bytes; /* every table's size, old ones included */

static size_t rule_slot_of(uintptr_t pc, size_t mask) {
  return (size_t)((pc * 0x9e3779b97f4a7c15ull) >> 32) & mask;
}

static uint64_t rule_pack(struct cfi_rule r) {
  uint64_t w;
  memcpy(&w, &r, sizeof w);
  return w;
}

static struct cfi_rule rule_unpack(uint64_t w) {
  struct cfi_rule r;
  memcpy(&r, &w, sizeof r);
  return r;
}

_Static_assert(sizeof(struct cfi_rule) == sizeof(uint64_t), "a rule is published with one store");

/* The packed rule for pc, or 0 (kind CFI_NONE) if t does not have it. */
static inline uint64_t rule_find(const struct rule_table *t, uintptr_t pc) {
  size_t i = rule_slot_of(pc, t->mask);
  for (;;) {
    uintptr_t k = __atomic_load_n(&t->slots[i].pc, __ATOMIC_ACQUIRE);
    if (k == pc) return __atomic_load_n(&t->slots[i].rule, __ATOMIC_RELAXED);
    if (k == 0) return 0;
    i = (i + 1) & t->mask;
  }
}

static void rule_put(struct rule_table *t, uintptr_t pc, uint64_t w) {
  size_t i = rule_slot_of(pc, t->mask);
  while (t->slots[i].pc != 0) {
    if (t->slots[i].pc == pc) return;
    i = (i + 1) & t->mask;
  }
  __atomic_store_n(&t->slots[i].rule, w, __ATOMIC_RELAXED);
  __atomic_store_n(&t->slots[i].pc, pc, __ATOMIC_RELEASE);
  t->count++;
}

/* A copy of old (or an empty table) with twice the slots; NULL when memory
 * is short or the table is at its largest. rule_writer held. */
static struct rule_table *rule_table_grow(const struct rule_table *old) {
  size_t n = old != NULL ? (old->mask + 1) * 2 : RULE_TABLE_FIRST;
  if (n > RULE_TABLE_MAX) return NULL;
  size_t bytes = sizeof(struct rule_table) + n * sizeof(struct rule_slot);
  struct rule_table *t = sys_alloc(bytes); /* zeroed */
  if (t == NULL) return NULL;
  t->mask = n - 1;
  if (old != NULL) {
    for (size_t i = 0; i <= old->mask; i++)
      if (old->slots[i].pc != 0) rule_put(t, old->slots[i].pc, old->slots[i].rule);
  }
  __atomic_fetch_add(&rule_table_bytes, bytes, __ATOMIC_RELAXED);
  return t;
}

static void rule_insert(uintptr_t pc, uint64_t w) {
  if (__atomic_exchange_n(&rule_writer, 1, __ATOMIC_ACQUIRE) != 0) return;
  struct rule_table *t = rule_table;
  if (t == NULL || (t->count + 1) * 2 > t->mask + 1) {
    struct rule_table *bigger = rule_table_grow(t);
    if (bigger != NULL) __atomic_store_n(&rule_table, bigger, __ATOMIC_RELEASE);
    t = bigger != NULL ? bigger : t;
  }
  if (t != NULL && (t->count + 1) * 4 <= (t->mask + 1) * 3) rule_put(t, pc, w);
  __atomic_store_n(&rule_writer, 0, __ATOMIC_RELEASE);
}

/* The FDE of pc from its object's .eh_frame_hdr, the table of (function
 * start, FDE) pairs sorted by start that the linker writes for exactly this
 * search; the object is found with glibc's _dl_find_object, lock-free and
 * async-signal-safe, so this works from the first sample on, before libgcc
 * is loaded, in a signal handler and across fork. Handles the encodings
 * GNU ld and lld write (a 4-byte count, 4-byte entries relative to the
 * table); NULL for anything else, and for code outside every object (JIT
 * code registered with libgcc), which libgcc's lookup then gets. */
static const uint8_t *eh_frame_hdr_find(uintptr_t pc, uintptr_t *func) {
  struct dl_find_object o;
  if (_dl_find_object((void *)pc, &o) != 0 || o.dlfo_eh_frame == NULL) return NULL;
  const uint8_t *h = o.dlfo_eh_frame;
  enum { UDATA4 = 0x03, DATAREL_SDATA4 = 0x3b };
  if (h[0] != 1 || h[2] != UDATA4 || h[3] != DATAREL_SDATA4) return NULL;
  size_t off = 4;
  switch (h[1] & 0x0f) { /* eh_frame_ptr, not needed */
    case 0x03:
    case 0x0b: off += 4; break;
    case 0x00:
    case 0x04:
    case 0x0c: off += 8; break;
    default: return NULL;
  }
  uint32_t count;
  memcpy(&count, h + off, 4);
  const uint8_t *table = h + off + 4;
  if (count == 0) return NULL;
  /* the last entry whose start is at or before pc */
  size_t lo = 0, hi = count;
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    int32_t start;
    memcpy(&start, table + 8 * mid, 4);
    if ((uintptr_t)h + (intptr_t)start <= pc)
      lo = mid;
    else
      hi = mid;
  }
  int32_t start, fde;
  memcpy(&start, table + 8 * lo, 4);
  memcpy(&fde, table + 8 * lo + 4, 4);
  if ((uintptr_t)h + (intptr_t)start > pc) return NULL;
  *func = (uintptr_t)h + (intptr_t)start;
  return h + fde;
}

struct cfi_rule prof_stack_rule_at(uintptr_t pc) {
  uintptr_t func;
  const uint8_t *fde = eh_frame_hdr_find(pc, &func);
  if (fde != NULL) return cfi_rule_at(fde, func, pc);
  gcc_find_fde_fn find_fde = __atomic_load_n(&gcc_find_fde, __ATOMIC_ACQUIRE);
  if (find_fde == NULL) return (struct cfi_rule){.kind = CFI_UNSUPPORTED};
  struct dwarf_eh_bases bases;
  alloc_loader_enter();
  fde = find_fde((void *)pc, &bases);
  alloc_loader_exit();
  return fde != NULL ? cfi_rule_at(fde, (uintptr_t)bases.func, pc)
                     : (struct cfi_rule){.kind = CFI_OUTERMOST};
}

/* The rule at pc, computed from its FDE and cached. */
static struct cfi_rule rule_miss(uintptr_t pc) {
  struct cfi_rule r = prof_stack_rule_at(pc);
  rule_insert(pc, rule_pack(r));
  return r;
}

uint64_t prof_stack_metadata_bytes(void) {
  return __atomic_load_n(&rule_table_bytes, __ATOMIC_RELAXED);
}

void prof_stack_fork_prepare(void) {
  while (__atomic_exchange_n(&rule_writer, 1, __ATOMIC_ACQUIRE) != 0) sched_yield();
}

void prof_stack_fork_release(void) { __atomic_store_n(&rule_writer, 0, __ATOMIC_RELEASE); }

/* ---- The walker ------------------------------------------------------------------ */

/* Stacks deeper than this from their top are not taken for a thread's. */
#define STACK_SPAN_MAX ((uintptr_t)1 << 30)

extern void *__libc_stack_end; /* ld.so: the main thread's stack pointer at start */

/* The top of the stack sp is on, or 0 when unknown. glibc puts a thread's
 * descriptor (what pthread_self returns) at the top of the stack it
 * allocates; the main thread's frames are all below __libc_stack_end. A
 * stack elsewhere (a fibre, a signal stack, a stack the program provided)
 * has no known top. */
static uintptr_t stack_top(uintptr_t sp) {
  uintptr_t self = (uintptr_t)pthread_self();
  if (sp < self && self - sp < STACK_SPAN_MAX) return self;
  uintptr_t main_top = ((uintptr_t)__libc_stack_end | 4095) + 1; /* its page is mapped */
  if (sp < main_top && main_top - sp < STACK_SPAN_MAX) return main_top;
  return 0;
}

#if defined(__x86_64__)
/* The registers a walk carries from frame to frame, and the stack's bounds. */
struct walk_regs {
  uintptr_t sp, bp;
  uintptr_t lo, hi; /* every load must lie in [lo, hi) */
};

/* One step from the frame whose rule applies at pc to its caller: 1 with
 * the caller's return address in *ra, 0 at the outermost frame, -1 when a
 * full unwinder must take the stack. */
static inline __attribute__((always_inline)) int walk_step(const struct rule_table *t,
                                                           struct walk_regs *w, uintptr_t pc,
                                                           uintptr_t *ra) {
  uint64_t word = t != NULL ? rule_find(t, pc) : 0;
  struct cfi_rule r = word != 0 ? rule_unpack(word) : rule_miss(pc);
  if (r.kind != CFI_STEP) return r.kind == CFI_OUTERMOST ? 0 : -1;
  uintptr_t cfa = ((r.flags & CFI_CFA_RBP) ? w->bp : w->sp) + (uintptr_t)(intptr_t)r.cfa_offset;
  if (cfa < w->sp + 8 || cfa > w->hi || (cfa & 7) != 0) return -1;
  uintptr_t a = *(const uintptr_t *)(cfa - 8);
  if (r.flags & CFI_RBP_SAVED) {
    uintptr_t at = cfa + (uintptr_t)(intptr_t)r.rbp_offset;
    if (at < w->lo || at + 8 > w->hi || (at & 7) != 0) return -1;
    w->bp = *(const uintptr_t *)at;
  }
  w->sp = cfa;
  if (a == 0) return 0; /* the outermost frame by convention */
  *ra = a;
  return 1;
}

/* Walks the calling thread's stack into out: at most max return addresses,
 * from the first frame outside the allocator (prof_capture_stack's caller's
 * callers: see prof_capture_stack for which frames are dropped). Returns the
 * count, or -1 when a full unwinder must take this stack. The allocator's
 * frames are stepped over as they are met, so nothing is stored twice.
 * Inlined into prof_capture_stack so that the registers read here are its
 * own. */
static inline __attribute__((always_inline)) int walk_stack(uintptr_t *out, int max) {
  uintptr_t ip, sp, bp;
  __asm__ volatile("leaq 0(%%rip), %0\n\tmovq %%rsp, %1\n\tmovq %%rbp, %2"
                   : "=r"(ip), "=r"(sp), "=r"(bp));
  struct walk_regs w = {sp, bp, sp, stack_top(sp)};
  if (w.hi == 0) return -1;
  const struct rule_table *t = __atomic_load_n(&rule_table, __ATOMIC_ACQUIRE);
  /* a: the frame's address as reported (ip, then return addresses); pc:
   * the address whose rule applies (a return address - 1, inside the call) */
  uintptr_t a = ip, pc = ip;
  for (int dropped = 0; allocator_frame(a, dropped); dropped++) {
    int rc = walk_step(t, &w, pc, &a);
    if (rc <= 0) return rc; /* nothing but the allocator, or a full unwind */
    pc = a - 1;
  }
  int n = 0;
  if (max <= 0) return 0;
  out[n++] = a;
  while (n < max) {
    int rc = walk_step(t, &w, pc, &a);
    if (rc < 0) return -1;
    if (rc == 0) break;
    out[n++] = a;
    pc = a - 1;
  }
  return n;
}
#endif

/* ---- Capture ----------------------------------------------------------------------- */

/* Inlined, like walk_stack, so that the frames dropped in a static link are
 * the same on both paths. */
static inline __attribute__((always_inline)) int full_unwind(void **buf, int want) {
  gcc_backtrace_fn bt = __atomic_load_n(&gcc_backtrace, __ATOMIC_ACQUIRE);
  const struct mprof_dumper *d = mprof_dumper(0);
  int (*unw)(void **, int) = d != NULL ? d->full_backtrace : NULL;
  if (bt != NULL && (thread_full_unwinds < LIBGCC_FIRST || unw == NULL)) {
    thread_full_unwinds++;
    struct gcc_trace t = {buf, 0, want};
    alloc_loader_enter();
    bt(gcc_trace_frame, &t);
    alloc_loader_exit();
    return t.n;
  }
  if (unw == NULL) return 0; /* neither unwinder: no stack */
  alloc_loader_enter();
  int n = unw(buf, want);
  alloc_loader_exit();
  return n;
}

int prof_capture_stack(uintptr_t *frames, int max) {
  if (__atomic_load_n(&self_known, __ATOMIC_ACQUIRE) == 0) find_self();
#if defined(__x86_64__)
  int walked = walk_stack(frames, max); /* its FDEs come from .eh_frame_hdr (eh_frame_hdr_find) */
  if (walked >= 0) return walked;
#endif
  void *buf[PROF_FRAMES_LIMIT + 1 + STACK_DROP_MAX];
  int want = max + STACK_DROP_MAX;
  if (want > PROF_FRAMES_LIMIT + 1 + STACK_DROP_MAX) want = PROF_FRAMES_LIMIT + 1 + STACK_DROP_MAX;
  int n = full_unwind(buf, want);
  int i = 0;
  while (i < n && allocator_frame((uintptr_t)buf[i], i)) i++;
  int out = 0;
  for (; i < n && out < max; i++) frames[out++] = (uintptr_t)buf[i];
  return out;
}
