/* symbolize.c: addresses -> functions, files and lines, cached (symbolize.h).
 *
 * libdwfl knows the process's objects (read from /proc/self/maps, or, when
 * /proc is not there, from the dynamic loader's list that mappings.c
 * collects), opens their files, and reads their symbol tables, DWARF DIEs
 * and line tables. Three things are done by the
 * symbolizer rather than left to it, each because a dump of many stacks in
 * a big program could not pay libdwfl's way, or should not take its risks:
 *
 *  - Symbol tables and DWARF functions are searched through sorted indexes
 *    built per module and per CU on first use (symbolize_elf.c).
 *  - The cache, here. Every answer, failures included, is stored in an arena
 *    with its strings interned, under a hash table keyed by the address, so
 *    a second lookup is a probe, and the pointers handed out stay valid
 *    until the symbolizer is freed, even after their object is unloaded.
 *  - Finding files: separate debug info on local disk only, by build ID
 *    and .gnu_debuglink under the debug directories, never through
 *    debuginfod; deleted objects through /proc/self/map_files
 *    (symbolize_files.c).
 *
 * Objects loaded later: a miss (an address in no known object) re-reads the
 * object list, but only when the loader's add/remove counters (dlpi_adds,
 * dlpi_subs of dl_iterate_phdr, read by mappings.c) moved since the last
 * reading, so a dump full of unknown addresses re-reads at most once per
 * dlopen. When objects
 * went away, addresses may have been reused: the cache is emptied then.
 * A miss is not enough to see an unload: an address cached while one
 * library was loaded may hit the cache when another sits there, so a dump
 * also asks first (prof_symbolizer_sync).
 *
 * Objects unloaded since their stacks were sampled are not in the process
 * any more, and their addresses may hold other code: a second symbolizer,
 * over files only (prof_symbolizer_new_files), reads each from its file,
 * if the file still carries the build ID the object had in memory, placed
 * at an address range of its own that the dump translates to (profile.c).
 *
 * C++ names are demangled with __cxa_demangle, found through a weak reference
 * (set when the program links libstdc++) or, failing that, in the global
 * scope (libstdc++ dlopen'ed with RTLD_GLOBAL); liballoc never links it. The
 * full demangled name is the system name; the function's name is its short
 * form (cxxname.h), as pprof would print it from the mangled one. */
#define _GNU_SOURCE
#include "symbolize.h"

#include <dlfcn.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cxxname.h"
#include "hashtab.h"
#include "mappings.h"
#include "symbolize_elf.h"
#include "symbolize_files.h"

extern char *__cxa_demangle(const char *mangled, char *buf, size_t *len, int *status)
    __attribute__((weak));

typedef char *demangle_fn(const char *, char *, size_t *, int *);

#define ARENA_BLOCK (64 * 1024)

/* ---- arena: the cache's records and strings, freed all at once ---- */

struct arena_block {
  struct arena_block *next;
  size_t used, cap;
  alignas(max_align_t) unsigned char data[];
};

static void *arena_alloc(struct arena_block **head, size_t size) {
  size = (size + 7) & ~(size_t)7;
  struct arena_block *b = *head;
  if (b == NULL || b->cap - b->used < size) {
    size_t cap = size > ARENA_BLOCK / 4 ? size : ARENA_BLOCK;
    struct arena_block *nb = malloc(sizeof *nb + cap);
    if (nb == NULL) return NULL;
    nb->used = 0;
    nb->cap = cap;
    if (b != NULL && size > ARENA_BLOCK / 4) {
      /* A big one gets its own block behind the current one, which stays
       * open for small allocations. */
      nb->next = b->next;
      b->next = nb;
    } else {
      nb->next = b;
      *head = nb;
    }
    b = nb;
  }
  void *p = b->data + b->used;
  b->used += size;
  return p;
}

static void arena_free(struct arena_block *b) {
  while (b != NULL) {
    struct arena_block *next = b->next;
    free(b);
    b = next;
  }
}

/* ---- interned strings: one copy of each name and path ----
 * The copies live in the arena; v lists them, indexed by hashtab.h as
 * every dump-side table is. */

struct strtab {
  const char **v;
  size_t n, cap;
  hashtab index; /* hash of the string -> position in v */
};

/* The interned copy of s (NULL = ""), or NULL when out of memory. */
static const char *intern(struct strtab *t, struct arena_block **arena, const char *s) {
  if (s == NULL || s[0] == '\0') return "";
  size_t len = strlen(s) + 1;
  uint64_t h = hash_bytes(s, len - 1);
  hashtab_probe pr;
  for (uint32_t i = hashtab_first(&t->index, h, &pr); i != HASHTAB_NONE; i = hashtab_next(&pr))
    if (strcmp(t->v[i], s) == 0) return t->v[i];
  if (t->n == t->cap) {
    size_t cap = t->cap ? 2 * t->cap : 1024;
    const char **v = realloc(t->v, cap * sizeof *v);
    if (v == NULL) return NULL;
    t->v = v;
    t->cap = cap;
  }
  char *copy = arena_alloc(arena, len);
  if (copy == NULL || hashtab_insert(&t->index, h, (uint32_t)t->n) != 0) return NULL;
  memcpy(copy, s, len);
  t->v[t->n++] = copy;
  return copy;
}

static void strtab_free(struct strtab *t) {
  free(t->v);
  hashtab_free(&t->index);
}

/* ---- the cache: address -> record ---- */

struct sym_record {
  const char *module;
  int status;   /* PROF_SYM_* */
  unsigned gen; /* object-list generation of a PROF_SYM_NO_MODULE answer */
  size_t nlines;
  struct prof_frame_line lines[];
};

struct cache_entry {
  uintptr_t addr;
  struct sym_record *record;
};

struct addr_cache {
  struct cache_entry *v;
  size_t n, cap;
  hashtab index; /* hash of the address -> position in v */
};

static struct cache_entry *cache_find(const struct addr_cache *c, uintptr_t addr) {
  hashtab_probe pr;
  for (uint32_t i = hashtab_first(&c->index, hash_mix(addr), &pr); i != HASHTAB_NONE;
       i = hashtab_next(&pr))
    if (c->v[i].addr == addr) return &c->v[i];
  return NULL;
}

static struct sym_record *cache_get(const struct addr_cache *c, uintptr_t addr) {
  struct cache_entry *e = cache_find(c, addr);
  return e != NULL ? e->record : NULL;
}

/* Inserts or replaces. */
static int cache_put(struct addr_cache *c, uintptr_t addr, struct sym_record *r) {
  struct cache_entry *e = cache_find(c, addr);
  if (e != NULL) {
    e->record = r;
    return 0;
  }
  if (c->n == c->cap) {
    size_t cap = c->cap ? 2 * c->cap : 4096;
    struct cache_entry *v = realloc(c->v, cap * sizeof *v);
    if (v == NULL) return -1;
    c->v = v;
    c->cap = cap;
  }
  if (hashtab_insert(&c->index, hash_mix(addr), (uint32_t)c->n) != 0) return -1;
  c->v[c->n++] = (struct cache_entry){addr, r};
  return 0;
}

/* Forgets every address (the records stay in the arena). */
static void cache_clear(struct addr_cache *c) {
  hashtab_free(&c->index);
  c->n = 0;
}

static void cache_free(struct addr_cache *c) {
  free(c->v);
  hashtab_free(&c->index);
}

/* ---- the symbolizer and the list of objects ---- */

struct prof_symbolizer {
  Dwfl *dwfl;               /* the session; NULL between dumps (prof_symbolizer_close_files) */
  Dwfl_Callbacks callbacks; /* libdwfl keeps a pointer to it */
  struct addr_cache cache;
  struct strtab strings;
  struct arena_block *arena;
  demangle_fn *demangle;
  unsigned gen;                  /* bumped when a reading of the objects may differ */
  int have_counts;               /* the loader gives dlpi_adds/dlpi_subs */
  unsigned long long adds, subs; /* their values at the last reading */
  int rereported_blind;          /* without counters: re-read once only */
  int files_only;                /* prof_symbolizer_new_files: never the process */
};

struct loader_counts {
  int known; /* the loader keeps the counters */
  unsigned long long adds, subs;
};

/* The loader's counts of objects loaded and unloaded, now (mappings.h). */
static struct loader_counts read_loader_counts(void) {
  struct loader_counts c = {0, 0, 0};
  c.known = prof_loader_counts(&c.adds, &c.subs);
  return c;
}

/* Fallback when /proc is not mounted: the loader's own list, as mappings.c
 * collects it (one entry per executable segment: an object with several
 * is reported once). The main program and the vDSO have no path to open. */
static void report_from_loader(Dwfl *dwfl) {
  struct prof_mapping *m = NULL;
  size_t n = 0;
  if (prof_mappings_collect(&m, &n) != 0) return;
  for (size_t i = 0; i < n; i++) {
    if (m[i].is_main || m[i].path[0] != '/') continue;
    if (i > 0 && m[i - 1].bias == m[i].bias && strcmp(m[i - 1].path, m[i].path) == 0) continue;
    dwfl_report_elf(dwfl, m[i].path, m[i].path, -1, m[i].bias, true);
  }
  prof_mappings_free(m);
}

/* Modules dropped by a new reading: their index points into them. Despite
 * the prototype, libdwfl passes the address of the module's userdata, as to
 * its other module callbacks. */
static int module_removed(Dwfl_Module *mod, void *userdata, const char *name, Dwarf_Addr base,
                          void *arg) {
  void **slot = userdata;
  sym_index_free(*slot);
  *slot = NULL;
  return 0;
}

static demangle_fn *find_demangler(void) {
  if (__cxa_demangle != NULL) return __cxa_demangle;
  demangle_fn *fn;
  void *sym = dlsym(RTLD_DEFAULT, "__cxa_demangle"); /* not fenced: loaderfence.h */
  memcpy(&fn, &sym, sizeof fn);                      /* object pointer -> function pointer */
  return fn;
}

/* (Re)reads the process's objects. Returns 0, or -1 if libdwfl failed. An
 * address cached as in no object stays so only while the loader's counts
 * say the objects are those of the reading that found it in none. */
static int report_objects(struct prof_symbolizer *s) {
  struct loader_counts c = read_loader_counts();
  if (!c.known || !s->have_counts || c.adds != s->adds || c.subs != s->subs) s->gen++;
  s->have_counts = c.known;
  s->adds = c.adds;
  s->subs = c.subs;

  dwfl_report_begin(s->dwfl);
  if (dwfl_linux_proc_report(s->dwfl, getpid()) != 0) report_from_loader(s->dwfl);
  int rc = dwfl_report_end(s->dwfl, module_removed, NULL);
  s->demangle = find_demangler(); /* libstdc++ may have come with a dlopen */
  return rc == 0 ? 0 : -1;
}

/* After a miss: re-reads the objects if the loader's list changed since the
 * last reading. Returns 1 if it re-read. */
static int maybe_rereport(struct prof_symbolizer *s) {
  if (s->files_only) return 0;
  struct loader_counts c = read_loader_counts();
  if (c.known && s->have_counts) {
    if (c.adds == s->adds && c.subs == s->subs) return 0;
    if (c.subs != s->subs) cache_clear(&s->cache); /* addresses may be reused */
  } else {
    if (s->rereported_blind) return 0;
    s->rereported_blind = 1;
  }
  report_objects(s);
  return 1;
}

/* ---- the session: libdwfl and the files it holds open ----
 * libdwfl keeps every file it reads open (one descriptor per object
 * searched, one more per separate debug file) and mapped until its Dwfl
 * ends. A symbolizer of the process ends it after each dump
 * (prof_symbolizer_close_files), keeping only its cache: a process keeps no
 * descriptor of ours between dumps, whatever the number of its libraries
 * (one near its RLIMIT_NOFILE would otherwise lose its exit profile). A
 * later lookup that misses the cache begins a session again, which reads
 * the object list and the files it needs anew, as the first dump did. */

/* Begins a session when there is none. Returns 0, or -1 when libdwfl
 * cannot start (out of memory). */
static int session_begin(struct prof_symbolizer *s) {
  if (s->dwfl != NULL) return 0;
  s->dwfl = dwfl_begin(&s->callbacks);
  if (s->dwfl == NULL) return -1;
  if (!s->files_only) report_objects(s); /* a failure leaves an empty list: every lookup misses */
  return 0;
}

static int free_module_index(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr base,
                             void *arg) {
  sym_index_free(*userdata);
  *userdata = NULL;
  return DWARF_CB_OK;
}

static void session_end(struct prof_symbolizer *s) {
  if (s->dwfl == NULL) return;
  dwfl_getmodules(s->dwfl, free_module_index, NULL, 0);
  dwfl_end(s->dwfl);
  s->dwfl = NULL;
}

void prof_symbolizer_close_files(struct prof_symbolizer *s) {
  if (s != NULL && !s->files_only) session_end(s);
}

static struct prof_symbolizer *symbolizer_begin(int files_only) {
  struct prof_symbolizer *s = calloc(1, sizeof *s);
  if (s == NULL) return NULL;
  elf_version(EV_CURRENT);
  s->files_only = files_only;
  s->callbacks.find_elf = sym_find_elf;
  s->callbacks.find_debuginfo = sym_find_debuginfo;
  if (session_begin(s) != 0) {
    free(s);
    return NULL;
  }
  return s;
}

int prof_symbolizer_sync(struct prof_symbolizer *s) {
  if (s == NULL || s->files_only || !s->have_counts) return 0;
  struct loader_counts c = read_loader_counts();
  if (!c.known || (c.adds == s->adds && c.subs == s->subs)) return 0;
  if (c.subs != s->subs) cache_clear(&s->cache); /* addresses may be reused */
  if (s->dwfl != NULL) {
    report_objects(s);
  } else { /* the next session reads the new list */
    s->gen++;
    s->adds = c.adds;
    s->subs = c.subs;
  }
  return 1;
}

struct prof_symbolizer *prof_symbolizer_new(void) {
  return symbolizer_begin(0);
}

/* ---- files of unloaded objects ----
 * An object closed since its stacks were sampled is read from its file, but
 * only if the file carries the build ID the object had in memory: a library
 * rebuilt or replaced at the same path would otherwise lend its names. The
 * build ID is checked on the descriptor libdwfl then reads, so a file
 * swapped between the check and the reading cannot slip in. */

struct prof_symbolizer *prof_symbolizer_new_files(void) {
  struct prof_symbolizer *s = symbolizer_begin(1);
  if (s != NULL) s->demangle = find_demangler();
  return s;
}

int prof_symbolizer_add_file(struct prof_symbolizer *s, const char *path, const char *build_id,
                             uintptr_t base) {
  if (s == NULL || !s->files_only || path == NULL || path[0] != '/' || build_id == NULL ||
      build_id[0] == '\0')
    return -1;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || !sym_file_has_build_id(fd, build_id)) {
    close(fd);
    return -1;
  }
  dwfl_report_begin_add(s->dwfl);
  Dwfl_Module *mod = dwfl_report_elf(s->dwfl, path, path, fd, base, false);
  dwfl_report_end(s->dwfl, NULL, NULL);
  if (mod == NULL) {
    close(fd); /* consumed only on success */
    return -1;
  }
  s->gen++; /* addresses cached as in no object may be in this one */
  return 0;
}

void prof_symbolizer_free(struct prof_symbolizer *s) {
  if (s == NULL) return;
  session_end(s);
  cache_free(&s->cache);
  strtab_free(&s->strings);
  arena_free(s->arena);
  free(s);
}

size_t prof_symbolizer_cached(const struct prof_symbolizer *s) { return s ? s->cache.n : 0; }

/* ---- resolving one address ---- */

/* The module holding addr. dwfl_addrmodule answers with the last module for
 * addresses past it, hence the range check. */
static Dwfl_Module *module_of(Dwfl *dwfl, uintptr_t addr) {
  Dwfl_Module *mod = dwfl_addrmodule(dwfl, addr);
  if (mod == NULL) return NULL;
  Dwarf_Addr start = 0, end = 0;
  dwfl_module_info(mod, NULL, &start, &end, NULL, NULL, NULL, NULL);
  return addr >= start && addr < end ? mod : NULL;
}

/* A name's two interned forms: system_name the full name (demangled when it
 * is a mangled C++ name and a demangler is loaded, else the raw one),
 * function its short form (cxxname.h), which pprof shows. A raw name that
 * reads as C++ (DWARF names some functions "vector<int, ...>" or
 * "operator()" without mangling) is shortened too. Returns 0, or -1 when out
 * of memory. */
static int set_names(struct prof_symbolizer *s, struct prof_frame_line *l, const char *raw) {
  char *demangled = NULL;
  const char *full = raw;
  if (s->demangle != NULL && raw != NULL && raw[0] == '_' && raw[1] == 'Z') {
    int status = -1;
    demangled = s->demangle(raw, NULL, NULL, &status);
    if (demangled != NULL && status == 0) full = demangled;
  }
  l->system_name = intern(&s->strings, &s->arena, full);
  l->function = l->system_name;
  if (l->system_name != NULL && (full == demangled || prof_cxx_looks_demangled(l->system_name))) {
    char *simple = malloc(strlen(l->system_name) + 1);
    l->function =
        simple ? intern(&s->strings, &s->arena, prof_cxx_simplify(l->system_name, simple)) : NULL;
    free(simple);
  }
  free(demangled);
  return l->system_name != NULL && l->function != NULL ? 0 : -1;
}

/* Fills lines[] for addr in mod; returns how many (0: nothing known), or -1
 * when out of memory. */
static int resolve(struct prof_symbolizer *s, Dwfl_Module *mod, uintptr_t addr,
                   struct prof_frame_line *lines) {
  struct mod_index *ix = sym_module_index(mod);
  if (ix == NULL) return -1;
  const struct msym *sym = sym_find_symbol(ix, addr);

  /* Line table: the innermost position. */
  const char *file = NULL;
  int line = 0;
  Dwfl_Line *dl = dwfl_module_getsrc(mod, addr);
  if (dl != NULL) file = dwfl_lineinfo(dl, NULL, &line, NULL, NULL, NULL);
  if (file == NULL) line = 0;

  /* The DWARF function and its inlined calls, outermost first. */
  Dwarf_Die chain[MAX_INLINE_DEPTH];
  int nchain = 0;
  Dwarf_Addr bias = 0;
  Dwarf_Die *cu = dwfl_module_addrdie(mod, addr, &bias);
  if (cu != NULL) {
    const Dwarf_Die *f = sym_find_function(ix, cu, addr - bias);
    if (f != NULL) nchain = sym_inline_chain(f, addr - bias, chain);
  }

  int n = 0;
  if (nchain == 0) {
    /* No DWARF function here: the symbol tables' name, with the line
     * table's position if it has one. */
    if (sym == NULL) return 0;
    struct prof_frame_line *l = &lines[n++];
    if (set_names(s, l, sym->name) != 0) return -1;
    l->file = intern(&s->strings, &s->arena, file);
    l->line = line;
    l->start_line = 0;
    return l->file ? n : -1;
  }
  int named = 0;
  for (int k = nchain - 1; k >= 0; k--) { /* innermost first */
    Dwarf_Die *die = &chain[k];
    struct prof_frame_line *l = &lines[n++];
    const char *raw = sym_die_raw_name(die);
    /* The outermost is the function the code belongs to: when DWARF has no
     * name for it, or only a plain one where the symbol table has the
     * mangled (qualified) name, as for C++ constructors, which carry no
     * linkage name in DWARF, the symbol table's name wins. */
    int raw_mangled = raw != NULL && raw[0] == '_' && raw[1] == 'Z';
    int sym_mangled = sym != NULL && sym->name[0] == '_' && sym->name[1] == 'Z';
    if (k == 0 && sym != NULL && (raw == NULL || (!raw_mangled && sym_mangled))) raw = sym->name;
    if (set_names(s, l, raw) != 0) return -1;
    named |= l->function[0] != '\0';
    const char *f = file;
    int ln = line;
    if (k < nchain - 1) sym_call_site(cu, &chain[k + 1], &f, &ln);
    l->file = intern(&s->strings, &s->arena, f);
    if (l->file == NULL) return -1;
    l->line = ln;
    int decl = 0;
    l->start_line = dwarf_decl_line(die, &decl) == 0 && decl > 0 ? decl : 0;
  }
  return named ? n : 0; /* nameless all the way (odd DWARF): say nothing */
}

static void fill_out(const struct sym_record *r, struct prof_frame_info *out) {
  out->module = r->module;
  out->nlines = r->nlines;
  out->lines = r->nlines ? r->lines : NULL;
  if (r->nlines) {
    out->function = r->lines[0].function;
    out->system_name = r->lines[0].system_name;
    out->file = r->lines[0].file;
    out->line = r->lines[0].line;
    out->start_line = r->lines[0].start_line;
  }
}

int prof_symbolize(struct prof_symbolizer *s, uintptr_t addr, struct prof_frame_info *out) {
  if (out == NULL) return PROF_SYM_INVALID;
  *out = (struct prof_frame_info){"", "", "", 0, 0, NULL, 0, ""};
  if (s == NULL) return PROF_SYM_INVALID;

  struct sym_record *r = cache_get(&s->cache, addr);
  if (r != NULL && (r->status != PROF_SYM_NO_MODULE || r->gen == s->gen)) {
    fill_out(r, out);
    return r->status;
  }

  if (session_begin(s) != 0) return PROF_SYM_NO_MEMORY;
  Dwfl_Module *mod = module_of(s->dwfl, addr);
  if (mod == NULL && maybe_rereport(s)) mod = module_of(s->dwfl, addr);

  struct prof_frame_line lines[MAX_INLINE_DEPTH];
  int n = 0, status = PROF_SYM_NO_MODULE;
  const char *module = "";
  if (mod != NULL) {
    const char *name = dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
    module = intern(&s->strings, &s->arena, name);
    n = module ? resolve(s, mod, addr, lines) : -1;
    if (n < 0) return PROF_SYM_NO_MEMORY;
    status = n > 0 ? PROF_SYM_OK : PROF_SYM_NO_SYMBOL;
  }

  r = arena_alloc(&s->arena, sizeof *r + (size_t)n * sizeof r->lines[0]);
  if (r == NULL) return PROF_SYM_NO_MEMORY;
  r->module = module;
  r->status = status;
  r->gen = s->gen;
  r->nlines = (size_t)n;
  memcpy(r->lines, lines, (size_t)n * sizeof lines[0]);
  if (cache_put(&s->cache, addr, r) != 0) return PROF_SYM_NO_MEMORY;
  fill_out(r, out);
  return status;
}
