/* mprof_objects.h: the registry of the loaded objects that stacks have passed
 * through, so that a dump names a frame after the object that held it when
 * it was sampled, not after whatever is mapped at that address at dump
 * time. Part of the sampling half (mprof.h): entries are made under
 * prof_lock, in metadata memory, when a new bucket is made, and are never
 * freed. Why and how an object is told from another: objects.c.
 */
#ifndef PROF_OBJECTS_H
#define PROF_OBJECTS_H

#include <elf.h>
#include <link.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

ALLOC_HIDDEN_BEGIN

/* Longest build ID kept, in bytes; as PROF_BUILD_ID_MAX in mappings.h. */
#define PROF_OBJECT_BUILD_ID_MAX 64
/* Executable PT_LOAD segments kept per object (an object has one or two). */
#define PROF_OBJECT_MAX_SEGS 4

struct prof_object_seg {
  uintptr_t start, limit; /* in memory, as loaded */
  uintptr_t file_offset;  /* p_offset */
};

/* One load of one object at one address. Every field is written once,
 * before the entry is published, except `closed` (prof_lock). */
struct prof_object {
  struct prof_object *hash_next;                   /* chain of the entries with the same start */
  uint32_t id;                                     /* 1, 2, ... (0 means "no object") */
  uint32_t closed;                                 /* 1 once it is known to be unloaded */
  uintptr_t start, end;                            /* the loader's range for it (dlfo_map_*) */
  uintptr_t bias;                                  /* l_addr: memory address - ELF address */
  const char *path;                                /* the loader's name ("" for the main program) */
  char build_id[2 * PROF_OBJECT_BUILD_ID_MAX + 1]; /* lowercase hex, "" if none */
  uint8_t is_main;
  uint8_t nsegs;
  struct prof_object_seg segs[PROF_OBJECT_MAX_SEGS];
};

/* Fills ids[0..n) with the registry id of the object holding each frame
 * (return addresses: frames[k] - 1 is looked up), 0 for a frame in no
 * object or when memory is short. The frames must be of a live stack (the
 * objects cannot be unloaded meanwhile). Adds entries for objects seen for
 * the first time. Returns the number of entries newly found closed (a
 * different object now where they were): the caller retires the buckets
 * that name them. prof_lock held. */
int prof_objects_of_frames(const uintptr_t *frames, int n, uint32_t *ids);

/* Stacks share their sequences of objects far more than their addresses
 * (a hundred thousand stacks may run through the same three objects in a
 * handful of orders), so buckets keep an index into a table of interned
 * vectors rather than an id per frame. prof_objects_vec returns the index
 * of ids[0..n) (made if new; 0 when every id is 0 or memory is short);
 * prof_objects_vec_ids the vector of index vec (NULL for 0), whose contents
 * stay valid forever. prof_lock held. */
uint32_t prof_objects_vec(const uint32_t *ids, int n);
const uint32_t *prof_objects_vec_ids(uint32_t vec);

/* Whether entry id is closed (0 for id 0). prof_lock held. */
int prof_object_closed(uint32_t id);

/* Marks closed every open entry with id <= upto for which live() says 0.
 * Returns how many it closed. prof_lock held; live must not allocate. */
int prof_objects_sweep(int (*live)(const struct prof_object *o, void *arg), void *arg,
                       uint32_t upto);

/* Entries so far (the highest id). prof_lock held. */
uint32_t prof_objects_count(void);
/* Entry id (1 <= id <= count), or NULL. prof_lock held (the table of
 * entries moves as it grows); the entry itself stays where it is forever,
 * and all its fields but `closed` may then be read without the lock. */
const struct prof_object *prof_object_get(uint32_t id);

/* The GNU build ID of a loaded object, from its PT_NOTE segments as mapped,
 * in lowercase hex into hex (2 * PROF_OBJECT_BUILD_ID_MAX + 1 bytes).
 * A note that is not inside a PT_LOAD segment's file part, a truncated
 * note or an ID longer than the maximum give "". Returns 1 if found. */
ALLOC_FOR_DUMPER int mprof_elf_build_id(uintptr_t bias, const ElfW(Phdr) * phdr, size_t phnum,
                                        char *hex);

ALLOC_HIDDEN_END
#endif /* PROF_OBJECTS_H */
