/* static_prog.c: whether the program `allocprof run` starts is statically
 * linked, which LD_PRELOAD cannot enter: the dynamic loader, which reads
 * LD_PRELOAD, runs only for an ELF file that names it (PT_INTERP). A static
 * or static-pie executable has none, and writes no profile, whatever its
 * rate; run says so instead of blaming the sampling. A script is judged by
 * its interpreter (one level: "#!/path"). Contract in static_prog.h. */
#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "static_prog.h"

/* Resolves prog as execvp does: a name with a slash as it is, else the
 * first executable regular file of that name on PATH. */
static int resolve(const char *prog, char *out, size_t len) {
  if (strchr(prog, '/')) {
    snprintf(out, len, "%s", prog);
    return 0;
  }
  const char *path = getenv("PATH");
  if (!path || !*path) path = "/usr/local/bin:/bin:/usr/bin";
  for (const char *p = path;; p++) {
    const char *end = strchr(p, ':');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    struct stat st;
    snprintf(out, len, "%.*s%s%s", (int)n, n ? p : ".", "/", prog);
    if (stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0) return 0;
    if (!end) return -1;
    p = end;
  }
}

/* Whether the ELF file's program headers (phnum of them at phoff, each
 * entsize bytes, PT_INTERP's p_type first in each) name an interpreter:
 * 1 yes, 0 no, -1 unreadable. */
static int has_interp(int fd, uint64_t phoff, unsigned phnum, unsigned entsize) {
  for (unsigned i = 0; i < phnum; i++) {
    uint32_t type;
    if (pread(fd, &type, sizeof type, (off_t)(phoff + (uint64_t)i * entsize)) != sizeof type)
      return -1;
    if (type == PT_INTERP) return 1;
  }
  return 0;
}

/* 1: an ELF executable (32- or 64-bit, this machine's byte order) without
 * PT_INTERP; 0: one with it; -1: not ELF, or unreadable (not judged). */
static int elf_is_static(int fd) {
  Elf64_Ehdr eh; /* the 32-bit header is shorter: read apart below */
  ssize_t n = pread(fd, &eh, sizeof eh, 0);
  if (n < (ssize_t)sizeof(Elf32_Ehdr) || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0) return -1;
  const unsigned char native =
      __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB : ELFDATA2MSB;
  if (eh.e_ident[EI_DATA] != native) return -1;
  int r = -1;
  if (eh.e_ident[EI_CLASS] == ELFCLASS64 && n == (ssize_t)sizeof eh &&
      eh.e_phentsize == sizeof(Elf64_Phdr) && eh.e_phnum <= 4096)
    r = has_interp(fd, eh.e_phoff, eh.e_phnum, eh.e_phentsize);
  if (eh.e_ident[EI_CLASS] == ELFCLASS32) {
    Elf32_Ehdr e32;
    memcpy(&e32, &eh, sizeof e32);
    if (e32.e_phentsize == sizeof(Elf32_Phdr) && e32.e_phnum <= 4096)
      r = has_interp(fd, e32.e_phoff, e32.e_phnum, e32.e_phentsize);
  }
  return r < 0 ? -1 : !r;
}

bool run_prog_is_static(const char *prog, char *shown, size_t len) {
  char path[PATH_MAX];
  if (resolve(prog, path, sizeof path) != 0) return false;
  for (int level = 0; level < 2; level++) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    char head[PATH_MAX + 2];
    ssize_t n = pread(fd, head, sizeof head - 1, 0);
    int st = elf_is_static(fd);
    close(fd);
    if (st >= 0) {
      if (st == 1) snprintf(shown, len, "%s", path);
      return st == 1;
    }
    if (level > 0 || n < 3 || head[0] != '#' || head[1] != '!') return false;
    /* a script: its interpreter, "#! /bin/sh -e" -> /bin/sh */
    head[n] = 0;
    char *s = head + 2;
    while (*s == ' ' || *s == '\t') s++;
    size_t k = strcspn(s, " \t\n");
    if (k == 0 || k >= sizeof path) return false;
    memcpy(path, s, k);
    path[k] = 0;
  }
  return false;
}
