/* symbolize_files.c: finding the files the symbolizer reads
 * (symbolize_files.h).
 *
 * Separate debug info is looked for on local disk only: libdwfl's standard
 * search would otherwise load libdebuginfod (with libcurl and a TLS stack)
 * into the profiled process and might download in the middle of a dump.
 * Objects deleted since they were mapped are read through
 * /proc/self/map_files. Every file found must carry the build ID of the
 * object it stands for.
 */
#define _GNU_SOURCE
#include "symbolize_files.h"

#include <elfutils/libdwelf.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* ---- finding separate debug info, on local disk only ---- */

/* Does the ELF file open on fd carry the module's build ID? (Yes when the
 * module has none to compare.) */
static int same_build_id(Dwfl_Module *mod, int fd) {
  const unsigned char *bits;
  GElf_Addr vaddr;
  int len = dwfl_module_build_id(mod, &bits, &vaddr);
  if (len <= 0) return 1;
  Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
  if (elf == NULL) return 0;
  const void *id;
  ssize_t idlen = dwelf_elf_gnu_build_id(elf, &id);
  int same = idlen == len && memcmp(id, bits, (size_t)len) == 0;
  elf_end(elf);
  return same;
}

/* The .gnu_debuglink search: beside the file, in .debug/ beside it, and
 * under /usr/lib/debug with the file's directory. */
static int find_by_debuglink(Dwfl_Module *mod, const char *file_name, const char *link,
                             char **debuginfo_file_name) {
  if (file_name == NULL || link == NULL || link[0] == '\0' || strchr(link, '/') != NULL) return -1;
  const char *slash = strrchr(file_name, '/');
  if (slash == NULL) return -1;
  int dirlen = (int)(slash - file_name);
  static const char *const forms[] = {"%.*s/%s", "%.*s/.debug/%s", "/usr/lib/debug%.*s/%s"};
  for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
    char path[PATH_MAX];
    int len = snprintf(path, sizeof path, forms[i], dirlen, file_name, link);
    if (len < 0 || (size_t)len >= sizeof path || strcmp(path, file_name) == 0) continue;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    if (same_build_id(mod, fd)) {
      char *name = strdup(path);
      if (name != NULL) {
        *debuginfo_file_name = name;
        return fd;
      }
    }
    close(fd);
  }
  return -1;
}

/* libdwfl's standard search would, when no local file is found, load
 * libdebuginfod (and with it libcurl and a TLS stack) into the profiled
 * process and maybe download, in the middle of a dump. This one looks by
 * build ID under /usr/lib/debug/.build-id, then by .gnu_debuglink. */
int sym_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
                       const char *file_name, const char *debuglink_file, GElf_Word debuglink_crc,
                       char **debuginfo_file_name) {
  int fd = dwfl_build_id_find_debuginfo(mod, userdata, modname, base, file_name, debuglink_file,
                                        debuglink_crc, debuginfo_file_name);
  if (fd >= 0) return fd;
  return find_by_debuglink(mod, file_name, debuglink_file, debuginfo_file_name);
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
