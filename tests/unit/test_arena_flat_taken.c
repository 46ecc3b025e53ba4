/* The flat span map (liballoc/arena.h) when its fixed address is taken
 * before the heap starts: the allocator must not map over it (it belongs
 * to someone else), and every lookup must go through the arena map
 * instead, with the same answers. The mapping is made in main, before the
 * allocator's first use, as another library or a program's own fixed
 * mapping would be. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "alloc_entry.h"
#include "arena.h"

static unsigned char *squatter; /* the page someone else mapped at the flat map's address */

static void test_lookups_without_flat_map(void **state) {
  (void)state;
  assert_int_equal(squatter[0], 0x5a); /* still ours: not mapped over */
  assert_int_equal(__atomic_load_n(&arena_flat.pages, __ATOMIC_ACQUIRE), 0);
  void *objs[64];
  for (int i = 0; i < 64; i++) {
    objs[i] = alloc_malloc((size_t)(16 << (i % 12)));
    assert_non_null(objs[i]);
    struct mspan *s = span_of((uintptr_t)objs[i]);
    assert_non_null(s);
    assert_ptr_equal(s, arena_of((uintptr_t)objs[i])->spans[arena_page_index((uintptr_t)objs[i])]);
  }
  for (int i = 0; i < 64; i++) alloc_free(objs[i]);
  assert_null(span_of((uintptr_t)squatter));
  assert_int_equal(squatter[4095], 0xa5);
}

int main(void) {
  void *want = (void *)ARENA_FLAT_BASE;
  /* A hint, not MAP_FIXED_NOREPLACE, which ThreadSanitizer's mmap refuses. */
  squatter = mmap(want, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (squatter != want) {
    print_message("the flat map's address is not free here; nothing to test\n");
    if (squatter != MAP_FAILED) munmap(squatter, 4096);
    return 0;
  }
  squatter[0] = 0x5a;
  squatter[4095] = 0xa5;
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_lookups_without_flat_map),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
