/* symbolize_files.c: finding the files the symbolizer reads
 * (symbolize_files.h).
 *
 * Separate debug info is looked for on local disk only, in the order gdb and
 * elfutils use: by build ID under each debug directory
 * (DIR/.build-id/xx/rest.debug, what Debian's -dbgsym packages install),
 * then by the object's .gnu_debuglink beside it, in .debug/ beside it and
 * under each debug directory with the object's own directory. Every file
 * found must carry the build ID of the object it stands for (or, for an
 * object without one, the CRC its debuglink names).
 *
 * No network, ever. libdwfl's standard search (dwfl_standard_find_debuginfo)
 * and its build-ID search for executables (dwfl_build_id_find_elf) end by
 * dlopen'ing libdebuginfod (with libcurl and a TLS stack) into the profiled
 * process, which may then download in the middle of a dump; in elfutils
 * 0.188 they are the only callers of its debuginfod client. Neither is used
 * here, and the searches are our own rather than
 * dwfl_build_id_find_debuginfo (which is local only in 0.188): they take
 * the debug directories of ALLOCPROF_DEBUG_DIR, check every candidate the
 * same way, and open only regular files, without blocking (libdwfl opens a
 * FIFO at a build-ID path and waits). The main files come from
 * dwfl_linux_proc_find_elf, local only too. integration.prof_debugfile
 * checks it with a listener at DEBUGINFOD_URLS and the process's own maps.
 *
 * Objects deleted since they were mapped are read through
 * /proc/self/map_files.
 */
#define _GNU_SOURCE
#include "symbolize_files.h"

#include <elfutils/libdwelf.h>
#include <fcntl.h>
#include <gelf.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "symbolize.h"

/* ---- finding the files ---- */

/* An object whose file was deleted or replaced since it was mapped (a
 * binary redeployed, a library upgraded under a running service) is still
 * readable through /proc/self/map_files, by the range of one of its
 * mappings. Returns an fd, or -1. */
static int open_deleted(const char *modname, char **file_name) {
  FILE *maps = fopen("/proc/self/maps", "re");
  if (maps == NULL) return -1;
  int fd = -1;
  char line[PATH_MAX + 256];
  while (fd < 0 && fgets(line, sizeof line, maps) != NULL) {
    unsigned long lo, hi;
    int pos = -1;
    if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %n", &lo, &hi, &pos) != 2 || pos < 0) continue;
    char *path = line + pos;
    path[strcspn(path, "\n")] = '\0';
    if (strcmp(path, modname) != 0) continue;
    char name[64];
    snprintf(name, sizeof name, "/proc/self/map_files/%lx-%lx", lo, hi);
    struct stat st;
    if (stat(name, &st) != 0 || !S_ISREG(st.st_mode)) break;
    fd = open(name, O_RDONLY | O_CLOEXEC);
    if (fd >= 0 && (*file_name = strdup(name)) == NULL) {
      close(fd);
      fd = -1;
    }
    break;
  }
  fclose(maps);
  return fd;
}

int sym_find_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                 char **file_name, Elf **elfp) {
  int fd = dwfl_linux_proc_find_elf(mod, userdata, modname, base, file_name, elfp);
  if (fd >= 0 || *elfp != NULL) return fd;
  static const char deleted[] = " (deleted)";
  size_t len = strlen(modname), dlen = sizeof deleted - 1;
  if (modname[0] != '/' || len <= dlen || strcmp(modname + len - dlen, deleted) != 0) return fd;
  return open_deleted(modname, file_name);
}

/* ---- where debug files are: the debug directories ---- */

/* The colon-separated list of absolute directories (symbolize.h). A static
 * buffer, not a copy on the heap: the dumping half sets it while it loads. */
static char debug_dirs[PATH_MAX] = "/usr/lib/debug";

int prof_symbolize_set_debug_dirs(const char *dirs) {
  if (dirs == NULL || dirs[0] == '\0') dirs = "/usr/lib/debug";
  size_t len = strlen(dirs);
  if (len >= sizeof debug_dirs || dirs[0] != '/' || dirs[len - 1] == ':') return -1;
  for (const char *c = strchr(dirs, ':'); c != NULL; c = strchr(c + 1, ':'))
    if (c[1] != '/') return -1; /* an empty or relative entry */
  memcpy(debug_dirs, dirs, len + 1);
  return 0;
}

const char *prof_symbolize_debug_dirs(void) { return debug_dirs; }

/* The next directory of the list at *at: its length, the pointer moved
 * past it; 0 at the end. */
static int next_dir(const char **at, const char **dir) {
  const char *p = *at;
  if (*p == ':') p++;
  int len = (int)strcspn(p, ":");
  *dir = p;
  *at = p + len;
  return len;
}

/* ---- checking a candidate ---- */

/* Opens path if it is a regular file. O_NONBLOCK: a FIFO put where a debug
 * file is looked for must not hold the dump up (libdwfl's own searches
 * open with a plain O_RDONLY, which waits for a writer). Returns an fd, or
 * -1. */
static int open_regular(const char *path) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return -1;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return -1;
  }
  return fd;
}

/* Does the ELF file open on fd carry build ID id[0..len)? */
static int fd_has_build_id(int fd, const unsigned char *id, int len) {
  Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
  if (elf == NULL) return 0;
  const void *got;
  ssize_t gotlen = dwelf_elf_gnu_build_id(elf, &got);
  int same = len > 0 && gotlen == len && memcmp(got, id, (size_t)len) == 0;
  elf_end(elf);
  return same;
}

/* The CRC-32 of the file open on fd, as .gnu_debuglink records it (zlib's
 * polynomial). Returns 0 and *crc, or -1 when it cannot be read. */
static int file_crc(int fd, uint32_t *crc) {
  unsigned char buf[16 * 1024]; /* the dumping thread's stack is not big */
  uLong c = crc32(0L, Z_NULL, 0);
  ssize_t n;
  off_t at = 0;
  while ((n = pread(fd, buf, sizeof buf, at)) > 0) {
    c = crc32(c, buf, (uInt)n);
    at += n;
  }
  if (n < 0) return -1;
  *crc = (uint32_t)c;
  return 0;
}

/* Opens path if it is a regular ELF file with build ID id[0..len), or, when
 * len is 0 (an object without a build ID), with the CRC crc. Returns an fd
 * with the path copied to *found, or -1. */
static int open_checked(const char *path, const unsigned char *id, int len, GElf_Word crc,
                        char **found) {
  int fd = open_regular(path);
  if (fd < 0) return -1;
  uint32_t got;
  int ok = len > 0 ? fd_has_build_id(fd, id, len) : file_crc(fd, &got) == 0 && got == crc;
  if (ok && (*found = strdup(path)) != NULL) return fd;
  close(fd);
  return -1;
}

/* ---- the two searches ---- */

/* By build ID: DIR/.build-id/xx/rest.debug in each debug directory. */
static int find_by_build_id(const unsigned char *id, int len, char **found) {
  if (len < 2 || len > 64) return -1;
  char hex[2 * 64 + 1];
  for (int i = 0; i < len; i++) snprintf(hex + 2 * i, 3, "%02x", id[i]);
  const char *dir;
  int dirlen;
  for (const char *at = debug_dirs; (dirlen = next_dir(&at, &dir)) > 0;) {
    char path[PATH_MAX];
    int n = snprintf(path, sizeof path, "%.*s/.build-id/%.2s/%s.debug", dirlen, dir, hex, hex + 2);
    if (n < 0 || (size_t)n >= sizeof path) continue;
    int fd = open_checked(path, id, len, 0, found);
    if (fd >= 0) return fd;
  }
  return -1;
}

/* By .gnu_debuglink: beside the file, in .debug/ beside it, then under each
 * debug directory with the file's directory (DIR/OBJDIR/LINK). */
static int find_by_debuglink(const char *file_name, const char *link, const unsigned char *id,
                             int len, GElf_Word crc, char **found) {
  if (file_name == NULL || link == NULL || link[0] == '\0' || strchr(link, '/') != NULL) return -1;
  const char *slash = strrchr(file_name, '/');
  if (slash == NULL) return -1;
  int objdirlen = (int)(slash - file_name);
  char path[PATH_MAX];
  for (int i = 0; i < 2; i++) {
    int n = snprintf(path, sizeof path, i == 0 ? "%.*s/%s" : "%.*s/.debug/%s", objdirlen, file_name,
                     link);
    if (n < 0 || (size_t)n >= sizeof path || strcmp(path, file_name) == 0) continue;
    int fd = open_checked(path, id, len, crc, found);
    if (fd >= 0) return fd;
  }
  const char *dir;
  int dirlen;
  for (const char *at = debug_dirs; (dirlen = next_dir(&at, &dir)) > 0;) {
    int n = snprintf(path, sizeof path, "%.*s%.*s/%s", dirlen, dir, objdirlen, file_name, link);
    if (n < 0 || (size_t)n >= sizeof path) continue;
    int fd = open_checked(path, id, len, crc, found);
    if (fd >= 0) return fd;
  }
  return -1;
}

/* ---- dwz files ----
 * Debug files made smaller by dwz share a file of common DWARF, named with
 * its build ID by their .gnu_debugaltlink section. libdwfl asks for it
 * through the same callback, with file_name the file whose DWARF names it
 * and the link its name, and no CRC (0): the request is for a dwz file
 * when file_name's .gnu_debugaltlink says so. */

/* Copies to id[64] the build ID that the .gnu_debugaltlink of the ELF file
 * at path gives for link. Returns its length, or 0 when path has no such
 * section or it names another file. */
static int altlink_build_id(const char *path, const char *link, unsigned char id[64]) {
  if (path == NULL || link == NULL) return 0;
  int fd = open_regular(path);
  if (fd < 0) return 0;
  int len = 0;
  Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
  size_t shstrndx;
  if (elf != NULL && elf_getshdrstrndx(elf, &shstrndx) == 0) {
    for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn)) != NULL;) {
      GElf_Shdr shdr;
      const char *name = gelf_getshdr(scn, &shdr) ? elf_strptr(elf, shstrndx, shdr.sh_name) : NULL;
      if (name == NULL || strcmp(name, ".gnu_debugaltlink") != 0) continue;
      Elf_Data *d = elf_getdata(scn, NULL);
      const char *buf = d ? d->d_buf : NULL;
      size_t namelen = buf ? strnlen(buf, d->d_size) : 0;
      if (buf != NULL && namelen + 1 < d->d_size && strcmp(buf, link) == 0 &&
          d->d_size - namelen - 1 <= 64) {
        len = (int)(d->d_size - namelen - 1);
        memcpy(id, buf + namelen + 1, (size_t)len);
      }
      break;
    }
  }
  elf_end(elf);
  close(fd);
  return len;
}

/* A dwz file: by its build ID, then by its name when that is absolute. */
static int find_dwz(const char *link, const unsigned char *id, int len, char **found) {
  int fd = find_by_build_id(id, len, found);
  if (fd < 0 && link[0] == '/') fd = open_checked(link, id, len, 0, found);
  return fd;
}

/* ---- the callback ---- */

int sym_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                       const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
                       char **debuginfo_file_name) {
  (void)userdata, (void)modname, (void)base;
  unsigned char alt[64];
  int altlen = debuglink_crc == 0 ? altlink_build_id(file_name, debuglink_file, alt) : 0;
  if (altlen > 0) return find_dwz(debuglink_file, alt, altlen, debuginfo_file_name);

  const unsigned char *id = NULL;
  GElf_Addr vaddr;
  int len = dwfl_module_build_id(mod, &id, &vaddr);
  if (len < 0) len = 0;
  int fd = len > 0 ? find_by_build_id(id, len, debuginfo_file_name) : -1;
  if (fd < 0)
    fd = find_by_debuglink(file_name, debuglink_file, id, len, debuglink_crc, debuginfo_file_name);
  return fd;
}

/* ---- the build ID of a file ---- */

/* Does the ELF file on fd carry build ID `want` (hex)? */
int sym_file_has_build_id(int fd, const char *want) {
  Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
  if (elf == NULL) return 0;
  const unsigned char *id = NULL;
  const void *raw = NULL;
  ssize_t len = dwelf_elf_gnu_build_id(elf, &raw);
  id = raw;
  int same = len > 0 && strlen(want) == 2 * (size_t)len;
  static const char digits[] = "0123456789abcdef";
  for (ssize_t i = 0; same && i < len; i++)
    same = want[2 * i] == digits[id[i] >> 4] && want[2 * i + 1] == digits[id[i] & 15];
  elf_end(elf);
  return same;
}
