/* symbolize_lines.c: prints every Line of every Location of a profile as
 * "FUNCTION FILE:LINE" (FILE's basename), innermost first, one location per
 * line of output with its lines separated by " < ": how symbolize.sh sees
 * that frames were named down to file and line. A reader of its own (the
 * formats library), so the test needs no go tool pprof. */
#include <stdio.h>
#include <string.h>

#include "profile_io.h"

static const char *str(const profile_pb *p, int64_t i) {
  return i > 0 && (uint64_t)i < p->n_string_table ? p->string_table[i] : "";
}

int main(int argc, char **argv) {
  char err[512];
  profile_pb *p = NULL;
  if (argc != 2 || profile_read_file(argv[1], &p, err, sizeof err) != 0) {
    fprintf(stderr, "symbolize_lines: %s\n", argc == 2 ? err : "usage: symbolize_lines PROFILE");
    return 2;
  }
  const profile_index *ix = profile_index_of(p);
  for (size_t i = 0; i < p->n_location; i++) {
    const Perftools__Profiles__Location *l = p->location[i];
    for (size_t j = 0; j < l->n_line; j++) {
      long fi = profile_index_function(ix, l->line[j]->function_id);
      const char *name = fi >= 0 ? str(p, p->function[fi]->name) : "?";
      const char *file = fi >= 0 ? str(p, p->function[fi]->filename) : "";
      const char *slash = strrchr(file, '/');
      printf("%s%s %s:%lld", j ? " < " : "", name, slash ? slash + 1 : file,
             (long long)l->line[j]->line);
    }
    printf("\n");
  }
  profile_free(p);
  return 0;
}
