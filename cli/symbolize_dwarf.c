/* symbolize_dwarf.c: code at a file offset of one object -> function names,
 * files, lines and inlined calls, through libdwfl. Contract and the layout
 * of a debug file's offsets: symbolize_dwarf.h. */
#include "symbolize_dwarf.h"

#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* One PT_LOAD: its bytes at off..off+size in the ELF file are at vaddr. */
typedef struct seg {
  uint64_t off, size, vaddr;
} seg;

#define MAX_SEGS 64

struct symdw {
  Dwfl *dwfl;
  Dwfl_Module *mod;
  char *debug_path; /* for find_debug, or NULL */
  Dwarf_Addr bias;  /* the module's load bias (0: reported at its own addresses) */
  seg segs[MAX_SEGS];
  size_t nsegs;
};

/* ---- offsets ---- */

/* The file's PT_LOADs into o->segs. A debug file (rebuild) lost their file
 * offsets: lay them out again (symbolize_dwarf.h). Returns 0 or -1. */
static int read_segments(symdw *o, const char *path, int rebuild) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
  size_t n = 0;
  int rc = -1;
  if (e && elf_kind(e) == ELF_K_ELF && elf_getphdrnum(e, &n) == 0) {
    uint64_t end = 0;
    for (size_t i = 0; i < n && o->nsegs < MAX_SEGS; i++) {
      GElf_Phdr ph;
      if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_LOAD) continue;
      seg s = {ph.p_offset, ph.p_filesz, ph.p_vaddr};
      if (rebuild) {
        const uint64_t page = 0x1000;
        s.off = end + ((ph.p_vaddr - end) & (page - 1));
        s.size = ph.p_memsz;
        end = s.off + s.size;
      }
      o->segs[o->nsegs++] = s;
    }
    rc = o->nsegs > 0 ? 0 : -1;
  }
  if (e) elf_end(e);
  close(fd);
  return rc;
}

static int to_vaddr(const symdw *o, uint64_t off, uint64_t *va) {
  for (size_t i = 0; i < o->nsegs; i++)
    if (off >= o->segs[i].off && off - o->segs[i].off < o->segs[i].size) {
      *va = off - o->segs[i].off + o->segs[i].vaddr;
      return 0;
    }
  return -1;
}

/* ---- opening ---- */

/* Dwfl_Callbacks.find_debuginfo: the separate debug file chosen already
 * (symbolize_find.c checked its build ID), never a search of libdwfl's
 * own, which could reach debuginfod or files of other builds. */
static int find_debug(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                      const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
                      char **debuginfo_file_name) {
  (void)mod, (void)modname, (void)base, (void)file_name, (void)debuglink_file, (void)debuglink_crc;
  const symdw *o = *userdata;
  if (!o || !o->debug_path) return -1;
  int fd = open(o->debug_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  if (!(*debuginfo_file_name = strdup(o->debug_path))) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Dwfl_Callbacks.find_elf: never called for a module reported with its
 * file; there to keep libdwfl from searching (and reaching debuginfod). */
static int no_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                  char **file_name, Elf **elfp) {
  (void)mod, (void)userdata, (void)modname, (void)base, (void)file_name, (void)elfp;
  return -1;
}

static const Dwfl_Callbacks callbacks = {
    .find_elf = no_elf,
    .find_debuginfo = find_debug,
    .section_address = dwfl_offline_section_address,
};

symdw *symdw_open(const char *elf_path, const char *debug_path, char *err, size_t errlen) {
  const char *main_path = elf_path ? elf_path : debug_path;
  elf_version(EV_CURRENT);
  symdw *o = calloc(1, sizeof *o);
  if (!o) {
    snprintf(err, errlen, "out of memory");
    return NULL;
  }
  if (elf_path && debug_path && !(o->debug_path = strdup(debug_path))) goto fail;
  if (read_segments(o, main_path, elf_path == NULL) != 0) {
    snprintf(err, errlen, "%s: not an ELF file with loadable segments", main_path);
    goto fail;
  }
  if (!(o->dwfl = dwfl_begin(&callbacks))) goto fail_dwfl;
  dwfl_report_begin(o->dwfl);
  /* reported at its own addresses (bias 0 for a shared object) */
  o->mod = dwfl_report_elf(o->dwfl, "object", main_path, -1, 0, true);
  if (!o->mod) goto fail_dwfl;
  void **ud = NULL;
  dwfl_module_info(o->mod, &ud, NULL, NULL, NULL, NULL, NULL, NULL);
  if (ud) *ud = o;
  if (dwfl_report_end(o->dwfl, NULL, NULL) != 0) goto fail_dwfl;
  if (!dwfl_module_getelf(o->mod, &o->bias)) goto fail_dwfl;
  return o;
fail_dwfl:
  snprintf(err, errlen, "%s: %s", main_path, dwfl_errmsg(-1));
fail:
  if (!err[0]) snprintf(err, errlen, "out of memory");
  symdw_close(o);
  return NULL;
}

void symdw_close(symdw *o) {
  if (!o) return;
  if (o->dwfl) dwfl_end(o->dwfl);
  free(o->debug_path);
  free(o);
}

/* ---- lookups ---- */

static const char *attr_string(Dwarf_Die *die, unsigned name) {
  Dwarf_Attribute a;
  return dwarf_attr_integrate(die, name, &a) ? dwarf_formstring(&a) : NULL;
}

/* The call site an inlined-subroutine DIE records: where, in the function
 * it was inlined into, the call is. */
static void call_site(Dwarf_Die *cu, Dwarf_Die *inl, const char **file, int *line) {
  Dwarf_Attribute a;
  Dwarf_Word v;
  Dwarf_Files *files;
  size_t nfiles;
  *file = "";
  *line = 0;
  if (dwarf_formudata(dwarf_attr(inl, DW_AT_call_line, &a), &v) == 0 && v <= INT32_MAX)
    *line = (int)v;
  if (dwarf_formudata(dwarf_attr(inl, DW_AT_call_file, &a), &v) == 0 &&
      dwarf_getsrcfiles(cu, &files, &nfiles) == 0 && v < nfiles) {
    const char *f = dwarf_filesrc(files, v, NULL, NULL);
    if (f) *file = f;
  }
}

/* From the innermost inlined call at addr out to its subprogram. Returns
 * the frames found. */
static size_t dwarf_frames(symdw *o, Dwarf_Addr addr, symdw_frames *out) {
  Dwarf_Addr cubias;
  Dwarf_Die *cu = dwfl_module_addrdie(o->mod, addr, &cubias);
  if (!cu) return 0;
  Dwarf_Die *scopes = NULL;
  int ns = dwarf_getscopes(cu, addr - cubias, &scopes);
  /* Past an inlined call, dwarf_getscopes goes on with the scopes of its
   * abstract definition; the functions it was inlined into are the DIE's
   * own parents, which dwarf_getscopes_die gives. */
  for (int i = 0; i < ns; i++) {
    int tag = dwarf_tag(&scopes[i]);
    if (tag == DW_TAG_subprogram) break;
    if (tag == DW_TAG_inlined_subroutine) {
      Dwarf_Die *chain = NULL, inl = scopes[i];
      free(scopes);
      ns = dwarf_getscopes_die(&inl, &chain);
      scopes = chain;
      break;
    }
  }
  const char *file = "";
  int line = 0;
  Dwfl_Line *dl = dwfl_module_getsrc(o->mod, addr);
  if (dl) {
    const char *f = dwfl_lineinfo(dl, NULL, &line, NULL, NULL, NULL);
    if (f) file = f;
  }
  size_t n = 0;
  for (int i = 0; i < ns && n < SYMDW_MAX_LINES; i++) {
    int tag = dwarf_tag(&scopes[i]);
    if (tag != DW_TAG_subprogram && tag != DW_TAG_inlined_subroutine) continue;
    const char *name = attr_string(&scopes[i], DW_AT_name);
    const char *linkage = attr_string(&scopes[i], DW_AT_linkage_name);
    if (!linkage) linkage = attr_string(&scopes[i], DW_AT_MIPS_linkage_name);
    if (!name) name = linkage;
    if (!name) break; /* nameless: let the symbol table name it */
    const char *decl = dwarf_decl_file(&scopes[i]);
    int start = 0;
    dwarf_decl_line(&scopes[i], &start);
    out->v[n++] = (symdw_line){name, linkage ? linkage : name, decl ? decl : file, line, start};
    if (tag == DW_TAG_subprogram) break;
    call_site(cu, &scopes[i], &file, &line);
  }
  free(scopes);
  return n;
}

int symdw_lookup(symdw *o, uint64_t off, symdw_frames *out) {
  out->n = 0;
  out->dwarf = 0;
  uint64_t va;
  if (to_vaddr(o, off, &va) != 0) return -1;
  Dwarf_Addr addr = va + o->bias;
  if ((out->n = dwarf_frames(o, addr, out)) > 0) {
    out->dwarf = 1;
    return 0;
  }
  GElf_Sym sym;
  GElf_Off soff;
  const char *name = dwfl_module_addrinfo(o->mod, addr, &soff, &sym, NULL, NULL, NULL);
  /* only a symbol that covers addr: the nearest one before it, without a
   * size, may well be another function's label (as the profiler rules) */
  if (!name || !name[0] || sym.st_size == 0 || soff >= sym.st_size) return -1;
  out->v[0] = (symdw_line){name, name, "", 0, 0};
  out->n = 1;
  return 0;
}
