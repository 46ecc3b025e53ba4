/* flame.h: the pieces of `allocprof flame` (cmd_flame.c, the command and
 * the overview): the tree of stacks (flame_tree.c) and its SVG rendering
 * (flame_svg.c). */
#ifndef CLI_FLAME_H
#define CLI_FLAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Frames drawn above the root at most; deeper ones are summed into one
 * marker box per path (8192 pixels of height at 16 per frame). */
#define FLAME_MAX_DEPTH 512

typedef struct node {
  const char *name;             /* NUL-terminated inside the folded text (or static) */
  int64_t value, base;          /* cumulative: FILE's and BASE's */
  uint32_t parent, child, next; /* indices; 0 = none (node 0 is the root) */
  uint32_t depth;
  bool cut; /* the marker for frames beyond FLAME_MAX_DEPTH */
} node;

typedef struct tree {
  node *v;
  size_t n, cap;
  uint32_t *slots; /* (parent, name) -> node */
  size_t nslots;
  uint32_t max_depth;
  size_t deepest;    /* frames in the deepest stack seen, cut or not */
  size_t cut_stacks; /* stacks that were cut */
  size_t max_nodes;  /* refused beyond: FLAME_NODES_BASE + size / FLAME_BYTES_PER_NODE */
  int oom, too_big;
} tree;

/* Nodes allowed: a node costs about 56 bytes (with its hash slot), so this
 * keeps the tree within 14 MiB + 28 bytes per byte of the profiles. A real
 * profile spends 2 or more bytes per frame (location ids past 127 take two),
 * and its stacks share their roots, so it stays well below. */
#define FLAME_NODES_BASE ((size_t)1 << 18)
#define FLAME_BYTES_PER_NODE 2

/* Adds the folded text's stacks to t: values into FILE's column (is_base
 * false) or BASE's. The text is cut in place and must outlive the tree;
 * t->oom, t->too_big on failure. */
void flame_tree_add_folded(tree *t, char *text, bool is_base);

/* Relinks every node's children in name order. Returns -1 when out of
 * memory. */
int flame_tree_sort_children(tree *t);

void flame_tree_free(tree *t);

/* Writes t as a self-contained SVG flame graph (diff: coloured by the
 * change from BASE) image_w pixels wide to f. Returns -1 when out of
 * memory. */
int flame_write_svg(FILE *f, const tree *t, const char *title, const char *subtitle,
                    const char *unit, bool diff, double image_w);

#endif /* CLI_FLAME_H */
