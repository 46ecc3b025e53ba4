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
 * No network, ever: libdwfl's standard search (dwfl_standard_find_debuginfo)
 * and its build-ID search for executables (dwfl_build_id_find_elf) end by
 * dlopen'ing libdebuginfod (with libcurl and a TLS stack) into the profiled
 * process, which may then download in the middle of a dump. elfutils 0.188
 * reaches libdebuginfod from those two functions only
 * (libdwfl/debuginfod-client.c's callers); the two used here,
 * dwfl_build_id_find_debuginfo and dwfl_linux_proc_find_elf, open local
 * files and nothing else. integration.prof_debugfile checks it with a
 * listener at DEBUGINFOD_URLS and the process's own maps.
 *
 * Objects deleted since they were mapped are read through
 * /proc/self/map_files.
 */
#define _GNU_SOURCE
#include "symbolize_files.h"

#include <elfutils/libdwelf.h>
#include <fcntl.h>
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

/* libdwfl's build-ID search (dwfl_build_id_find_debuginfo) reads the list
 * through Dwfl_Callbacks.debuginfo_path, which it keeps a pointer to. */
static char *debug_dirs_ref = debug_dirs;
char **sym_debuginfo_path(void) { return &debug_dirs_ref; }

/* ---- checking a candidate ---- */

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

/* May the ELF file open on fd stand for the module's debug info? It must
 * carry the module's build ID; a module without one has only the CRC of its
 * debuglink to go by. */
static int debug_file_matches(Dwfl_Module *mod, int fd, GElf_Word crc) {
  const unsigned char *bits;
  GElf_Addr vaddr;
  int len = dwfl_module_build_id(mod, &bits, &vaddr);
  if (len <= 0) {
    uint32_t got;
    return file_crc(fd, &got) == 0 && got == crc;
  }
  Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
  if (elf == NULL) return 0;
  const void *id;
  ssize_t idlen = dwelf_elf_gnu_build_id(elf, &id);
  int same = idlen == len && memcmp(id, bits, (size_t)len) == 0;
  elf_end(elf);
  return same;
}

/* Opens path if it is a regular file (never blocks on a FIFO). Returns an
 * fd, or -1. */
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

/* ---- the .gnu_debuglink search ---- */

/* Tries path; returns an fd on the matching file (its name in *found), or
 * -1. */
static int try_debuglink(Dwfl_Module *mod, const char *path, const char *file_name,
                         GElf_Word crc, char **found) {
  if (strcmp(path, file_name) == 0) return -1; /* the object itself */
  int fd = open_regular(path);
  if (fd < 0) return -1;
  if (debug_file_matches(mod, fd, crc) && (*found = strdup(path)) != NULL) return fd;
  close(fd);
  return -1;
}

/* The .gnu_debuglink search: beside the file, in .debug/ beside it, then
 * under each debug directory with the file's directory. */
static int find_by_debuglink(Dwfl_Module *mod, const char *file_name, const char *link,
                             GElf_Word crc, char **debuginfo_file_name) {
  if (file_name == NULL || link == NULL || link[0] == '\0' || strchr(link, '/') != NULL) return -1;
  const char *slash = strrchr(file_name, '/');
  if (slash == NULL) return -1;
  int dirlen = (int)(slash - file_name);
  char path[PATH_MAX];
  static const char *const beside[] = {"%.*s/%s", "%.*s/.debug/%s"};
  for (size_t i = 0; i < sizeof beside / sizeof beside[0]; i++) {
    int len = snprintf(path, sizeof path, beside[i], dirlen, file_name, link);
    if (len < 0 || (size_t)len >= sizeof path) continue;
    int fd = try_debuglink(mod, path, file_name, crc, debuginfo_file_name);
    if (fd >= 0) return fd;
  }
  for (const char *dir = debug_dirs; *dir != '\0';) {
    int rootlen = (int)strcspn(dir, ":");
    int len = snprintf(path, sizeof path, "%.*s%.*s/%s", rootlen, dir, dirlen, file_name, link);
    if (len >= 0 && (size_t)len < sizeof path) {
      int fd = try_debuglink(mod, path, file_name, crc, debuginfo_file_name);
      if (fd >= 0) return fd;
    }
    dir += rootlen;
    if (*dir == ':') dir++;
  }
  return -1;
}

/* ---- finding separate debug info, on local disk only ---- */

/* By build ID first: dwfl_build_id_find_debuginfo looks under each debug
 * directory's .build-id (sym_debuginfo_path), checks the build ID of what
 * it finds, and serves the dwz files (.gnu_debugaltlink) the same way; it
 * touches nothing but local files (top of file). Then by .gnu_debuglink. */
int sym_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                       const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
                       char **debuginfo_file_name) {
  int fd = dwfl_build_id_find_debuginfo(mod, userdata, modname, base, file_name, debuglink_file,
                                        debuglink_crc, debuginfo_file_name);
  if (fd >= 0) return fd;
  return find_by_debuglink(mod, file_name, debuglink_file, debuglink_crc, debuginfo_file_name);
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
