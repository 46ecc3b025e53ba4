/* prof_debugfile_check: prints what a heap profile says about the frames of
 * one object, for prof_debugfile.sh to compare with what the object's
 * debug file holds. For each sample whose stack starts in the object: its
 * first location's lines, innermost (inlined) call first, then its second
 * location's (the caller), as
 *
 *   leaf FUNCTION@FILE:LINE < FUNCTION@FILE:LINE ... | caller FUNCTION@FILE:LINE ... IN_USE_BYTES
 *
 * (FILE the base name, "" when unknown; LINE 0 when unknown), one line per
 * distinct stack; and the object's mapping with its flags:
 *
 *   mapping FILENAME functions=0|1 filenames=0|1 line_numbers=0|1
 *
 *   prof_debugfile_check FILE OBJECT   (OBJECT: the object's base name)
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "prof_check.h"

static const char *base_name(const char *path) {
  const char *slash = strrchr(path, '/');
  return slash ? slash + 1 : path;
}

/* Is location id in the mapping whose file's base name is object? */
static int in_object(const profile_pb *p, uint64_t id, const char *object) {
  const Perftools__Profiles__Location *l = pc_location(p, id);
  const Perftools__Profiles__Mapping *m = l ? pc_mapping(p, l->mapping_id) : NULL;
  return m != NULL && strcmp(base_name(pc_str(p, m->filename)), object) == 0;
}

/* The lines of location id, innermost first, joined with " < ". */
static void print_lines(const profile_pb *p, uint64_t id) {
  const Perftools__Profiles__Location *l = pc_location(p, id);
  if (l == NULL || l->n_line == 0) {
    printf(" (no lines)");
    return;
  }
  for (size_t k = 0; k < l->n_line; k++) {
    const Perftools__Profiles__Function *f = pc_function(p, l->line[k]->function_id);
    printf("%s%s@%s:%" PRId64, k ? " < " : " ", f ? pc_str(p, f->name) : "(none)",
           f ? base_name(pc_str(p, f->filename)) : "", l->line[k]->line);
  }
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: prof_debugfile_check FILE OBJECT\n");
    return 2;
  }
  profile_pb *p = pc_load(argv[1]);
  const char *object = argv[2];
  int found = 0;
  for (size_t i = 0; i < p->n_sample; i++) {
    const Perftools__Profiles__Sample *s = p->sample[i];
    if (s->n_location_id == 0 || !in_object(p, s->location_id[0], object)) continue;
    found++;
    printf("leaf");
    print_lines(p, s->location_id[0]);
    printf(" | caller");
    if (s->n_location_id > 1) print_lines(p, s->location_id[1]);
    printf(" %" PRId64 "\n", s->n_value > PC_INUSE_SPACE ? s->value[PC_INUSE_SPACE] : -1);
  }
  for (size_t i = 0; i < p->n_mapping; i++) {
    const Perftools__Profiles__Mapping *m = p->mapping[i];
    if (strcmp(base_name(pc_str(p, m->filename)), object) != 0) continue;
    printf("mapping %s functions=%d filenames=%d line_numbers=%d\n", pc_str(p, m->filename),
           (int)m->has_functions, (int)m->has_filenames, (int)m->has_line_numbers);
  }
  if (!found) fprintf(stderr, "prof_debugfile_check: no sample starts in %s\n", object);
  profile_free(p);
  return found ? 0 : 1;
}
