/* symbolize_find.c: finding an object's ELF and debug files by path, build
 * ID and debuglink, each checked for its build ID. The order and the rule:
 * symbolize_find.h. */
#include "symbolize_find.h"

#include <elfutils/libdwelf.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Longest build ID kept, in hex (GNU build IDs are 20 bytes; some 32). */
#define ID_HEX 128

/* What a file is, for choosing it. */
typedef struct facts {
  char build_id[ID_HEX + 1]; /* "" when it has none */
  char debuglink[256];       /* its .gnu_debuglink, "" when none */
  bool debug_info;           /* it carries DWARF (.debug_info with contents) */
} facts;

/* Reads path's facts. Returns 0, or -1 when it is not a readable regular
 * ELF file. Every file symbolize reads passes here first. */
static int read_facts(const char *path, facts *f) {
  memset(f, 0, sizeof *f);
  /* A profile names the paths: a fifo or a device there must neither block
   * the command nor be read. */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  struct stat st;
  if (fd < 0) return -1;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return -1;
  }
  elf_version(EV_CURRENT);
  Elf *e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
  int rc = -1;
  if (e && elf_kind(e) == ELF_K_ELF) {
    const void *id = NULL;
    ssize_t n = dwelf_elf_gnu_build_id(e, &id);
    for (ssize_t i = 0; i < n && i * 2 < ID_HEX; i++)
      sprintf(f->build_id + 2 * i, "%02x", ((const unsigned char *)id)[i]);
    GElf_Word crc;
    const char *link = dwelf_elf_gnu_debuglink(e, &crc);
    if (link) snprintf(f->debuglink, sizeof f->debuglink, "%s", link);
    size_t shstrndx;
    if (elf_getshdrstrndx(e, &shstrndx) == 0)
      for (Elf_Scn *s = NULL; (s = elf_nextscn(e, s));) {
        GElf_Shdr sh;
        const char *name = gelf_getshdr(s, &sh) ? elf_strptr(e, shstrndx, sh.sh_name) : NULL;
        if (name && strcmp(name, ".debug_info") == 0 && sh.sh_type != SHT_NOBITS && sh.sh_size)
          f->debug_info = true;
      }
    rc = 0;
  }
  if (e) elf_end(e);
  close(fd);
  return rc;
}

/* path as the debug file of build id, if it is one: its own copy. */
static char *try_debug(const char *path, const char *id) {
  facts f;
  if (read_facts(path, &f) != 0 || strcmp(f.build_id, id) != 0) return NULL;
  return strdup(path);
}

/* a + b + c as the debug file of build id, if it is one. */
static char *try_join(const char *id, const char *a, const char *b, const char *c) {
  size_t n = strlen(a) + strlen(b) + strlen(c) + 1;
  char *path = malloc(n), *found = NULL;
  if (!path) return NULL;
  snprintf(path, n, "%s%s%s", a, b, c);
  found = try_debug(path, id);
  free(path);
  return found;
}

/* DIR/.build-id/xx/rest.debug, then the debuglinks, in each directory. */
static char *search_dirs(const symfind_cfg *c, const char *path, const char *id, const char *link) {
  char sub[ID_HEX + 32];
  snprintf(sub, sizeof sub, "/.build-id/%.2s/%s.debug", id, id + 2);
  char *found = NULL;
  for (size_t i = 0; !found && i < c->ndirs; i++) found = try_join(id, c->dirs[i], sub, "");
  if (!link[0]) return found;
  const char *slash = strrchr(path, '/');
  char *dir = strndup(path, slash ? (size_t)(slash - path) : 0); /* "" for a bare name */
  if (!dir) return found;
  for (size_t i = 0; !found && i < c->ndirs; i++) {
    char *in_dir = malloc(strlen(dir) + strlen(link) + 2);
    if (!in_dir) break;
    sprintf(in_dir, "%s/%s", dir, link);
    if (!(found = try_join(id, c->dirs[i], in_dir, "")))
      found = try_join(id, c->dirs[i], "/", link);
    free(in_dir);
  }
  if (!found && !(found = try_join(id, dir, "/", link)))
    found = try_join(id, dir, "/.debug/", link);
  free(dir);
  return found;
}

/* The servers' debug file for id, checked. */
static char *ask_servers(const symfind_cfg *c, const char *id) {
  char *path = NULL;
  if (!c->servers || dinfod_find(c->servers, id, &path) != 0) return NULL;
  facts f;
  char *ok = NULL;
  if (read_facts(path, &f) != 0)
    dinfod_bad_answer(c->servers, id, "not an ELF file");
  else if (strcmp(f.build_id, id) != 0)
    dinfod_bad_answer(c->servers, id, "of another build");
  else
    ok = path, path = NULL;
  free(path);
  return ok;
}

int symfind(const symfind_cfg *c, const char *path, const char *build_id, symfind_result *r) {
  memset(r, 0, sizeof *r);
  facts f;
  char id[ID_HEX + 1];
  snprintf(id, sizeof id, "%s", build_id);
  bool have = path[0] && read_facts(path, &f) == 0;
  if (have && (!id[0] || strcmp(f.build_id, id) == 0)) {
    r->unchecked = !id[0];
    if (!id[0]) snprintf(id, sizeof id, "%s", f.build_id); /* what its debug file must carry */
    if (!(r->elf_path = strdup(path))) return -1;
    if (f.debug_info) return 0;
  } else {
    have = false; /* another build's file: not even its debuglink */
  }
  if (id[0] && strlen(id) > 2) {
    r->debug_path = search_dirs(c, path, id, have ? f.debuglink : "");
    if (!r->debug_path) r->debug_path = ask_servers(c, id);
  }
  return r->elf_path || r->debug_path ? 0 : -1;
}

void symfind_result_free(symfind_result *r) {
  free(r->elf_path);
  free(r->debug_path);
  r->elf_path = r->debug_path = NULL;
}
