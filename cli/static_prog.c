/* static_prog.c: whether the program `allocprof run` starts is statically
 * linked, which LD_PRELOAD cannot enter: the dynamic loader, which reads
 * LD_PRELOAD, runs only for an ELF file that names it (PT_INTERP). A static
 * or static-pie executable has none, and writes no profile, whatever its
 * rate; run says so instead of blaming the sampling. A script is judged by
 * its interpreter (one level: "#!/path"). Contract in static_prog.h. */
#include <elf.h>
#include <fcntl.h>
#include <limits.h>
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

/* 1: an ELF executable of this machine's class without PT_INTERP; 0: one
 * with it; -1: not ELF of our class, or unreadable (not judged). */
static int elf_is_static(int fd) {
  Elf64_Ehdr eh;
  if (pread(fd, &eh, sizeof eh, 0) != (ssize_t)sizeof eh) return -1;
  if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
      eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum == 0 || eh.e_phnum > 4096)
    return -1;
  for (unsigned i = 0; i < eh.e_phnum; i++) {
    Elf64_Phdr ph;
    if (pread(fd, &ph, sizeof ph, (off_t)(eh.e_phoff + i * sizeof ph)) != (ssize_t)sizeof ph)
      return -1;
    if (ph.p_type == PT_INTERP) return 0;
  }
  return 1;
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
