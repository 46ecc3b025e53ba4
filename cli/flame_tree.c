/* flame_tree.c: the tree of stacks of `allocprof flame` (flame.h): the
 * folded stacks merged into one node per distinct path, with a hash index
 * of (parent, name), bounded by the size of the profiles; siblings put in
 * name order once. Overview: cmd_flame.c. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "flame.h"
#include "satint.h"

#define CUT_NAME "[deeper frames cut]"

static uint64_t key_hash(uint32_t parent, const char *s, size_t len) {
  uint64_t h = 1469598103934665603ull ^ cli_hash_seed() ^ parent;
  for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
  return cli_hash_finish(h);
}

static int tree_rehash(tree *t) {
  size_t n = t->nslots ? t->nslots * 2 : 1024;
  uint32_t *s = calloc(n, sizeof *s);
  if (!s) return -1;
  for (size_t i = 1; i < t->n; i++) {
    size_t j = key_hash(t->v[i].parent, t->v[i].name, strlen(t->v[i].name)) & (n - 1);
    while (s[j]) j = (j + 1) & (n - 1);
    s[j] = (uint32_t)i;
  }
  free(t->slots);
  t->slots = s;
  t->nslots = n;
  return 0;
}

/* The child of parent called name[0..len), added when create is set (else 0
 * when there is none). */
static uint32_t tree_child(tree *t, uint32_t parent, const char *name, size_t len, bool create) {
  if ((t->n + 1) * 2 > t->nslots && tree_rehash(t) != 0) goto oom;
  size_t j = key_hash(parent, name, len) & (t->nslots - 1);
  for (; t->slots[j]; j = (j + 1) & (t->nslots - 1)) {
    const node *c = &t->v[t->slots[j]];
    if (c->parent == parent && strncmp(c->name, name, len) == 0 && c->name[len] == 0)
      return t->slots[j];
  }
  if (!create) return 0;
  if (t->n >= t->max_nodes) {
    t->too_big = 1;
    t->oom = 1;
    return 0;
  }
  if (t->n == t->cap) {
    size_t ncap = t->cap * 2;
    node *nv = realloc(t->v, ncap * sizeof *nv);
    if (!nv) goto oom;
    t->v = nv;
    t->cap = ncap;
  }
  uint32_t id = (uint32_t)t->n++;
  node *p = &t->v[parent];
  t->v[id] = (node){.name = name, .parent = parent, .next = p->child, .depth = p->depth + 1};
  p->child = id;
  if (t->v[id].depth > t->max_depth) t->max_depth = t->v[id].depth;
  t->slots[j] = id;
  return id;
oom:
  t->oom = 1;
  return 0;
}

/* Adds the folded text's stacks: values into FILE's (is_base false) or
 * BASE's column. Stacks with a value <= 0 are skipped (no width). Frames past
 * FLAME_MAX_DEPTH go into one CUT_NAME child of the last frame kept. The
 * text is cut in place (each ';' and the space before the value become NUL)
 * so that the nodes name their frames inside it: it must outlive the tree. */
void flame_tree_add_folded(tree *t, char *text, bool is_base) {
  char *line = text;
  while (*line && !t->oom) {
    char *eol = strchr(line, '\n');
    if (!eol) eol = line + strlen(line);
    char *sp = eol;
    while (sp > line && sp[-1] != ' ') sp--;
    int64_t v = sp > line ? strtoll(sp, NULL, 10) : 0;
    if (sp > line && v > 0) {
      char *end = sp - 1; /* the stack is line[0..end) */
      *end = 0;
      uint32_t at = 0;
      size_t frames = 0;
      if (is_base)
        t->v[0].base = sat_add(t->v[0].base, v);
      else
        t->v[0].value = sat_add(t->v[0].value, v);
      for (char *f = line; f < end && !t->oom;) {
        char *semi = memchr(f, ';', (size_t)(end - f));
        if (!semi) semi = end;
        *semi = 0;
        frames++;
        if (t->v[at].depth + 1 < FLAME_MAX_DEPTH ||
            (semi == end && t->v[at].depth + 1 == FLAME_MAX_DEPTH)) {
          at = tree_child(t, at, f, (size_t)(semi - f), true);
        } else if (!t->v[at].cut) {
          /* the marker; the rest of this stack only counts */
          at = tree_child(t, at, CUT_NAME, strlen(CUT_NAME), true);
          if (!t->oom) t->v[at].cut = true;
          t->cut_stacks++;
        } else {
          f = semi + 1;
          continue;
        }
        if (t->oom) break;
        if (is_base)
          t->v[at].base = sat_add(t->v[at].base, v);
        else
          t->v[at].value = sat_add(t->v[at].value, v);
        f = semi + 1;
      }
      if (frames > t->deepest) t->deepest = frames;
    }
    line = *eol ? eol + 1 : eol;
  }
}

void flame_tree_free(tree *t) {
  free(t->v);
  free(t->slots);
}

static const tree *sort_tree;

static int by_parent_name(const void *a, const void *b) {
  const node *x = &sort_tree->v[*(const uint32_t *)a], *y = &sort_tree->v[*(const uint32_t *)b];
  if (x->parent != y->parent) return x->parent < y->parent ? -1 : 1;
  return strcmp(x->name, y->name);
}

/* Relinks every node's children in name order, so the same profile draws
 * the same: one sort of all nodes by (parent, name), O(n log n). */
int flame_tree_sort_children(tree *t) {
  if (t->n < 2) return 0;
  uint32_t *order = malloc((t->n - 1) * sizeof *order);
  if (!order) return -1;
  for (size_t i = 1; i < t->n; i++) order[i - 1] = (uint32_t)i;
  sort_tree = t;
  qsort(order, t->n - 1, sizeof *order, by_parent_name);
  for (size_t i = 0; i < t->n; i++) t->v[i].child = 0;
  for (size_t i = t->n - 1; i-- > 0;) { /* last first: each becomes the head */
    node *nd = &t->v[order[i]];
    nd->next = t->v[nd->parent].child;
    t->v[nd->parent].child = order[i];
  }
  free(order);
  return 0;
}
