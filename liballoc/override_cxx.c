/* override_cxx.c: the C++ operator new and delete families (plain, array,
 * nothrow, sized, aligned), written in C with their mangled names so that
 * liballoc.so needs no C++ runtime. On failure, operator new behaves as the
 * standard says: it calls the new-handler while one is installed and
 * retries, then throws std::bad_alloc. Both are reached through weak
 * references to libstdc++, which is loaded in any process that uses
 * operator new; this file is built with -fexceptions so the exception can
 * unwind through it. Overview: malloc.c. */
#include <stddef.h>

#include "alloc_entry.h"
#include "internal.h"
#include "override.h"

#define EXPORT ALLOC_EXPORT

typedef void (*new_handler_fn)(void);
/* std::get_new_handler() and std::__throw_bad_alloc() */
extern new_handler_fn _ZSt15get_new_handlerv(void) __attribute__((weak));
extern void _ZSt17__throw_bad_allocv(void) __attribute__((weak, noreturn));

static void *cxx_alloc(size_t size, size_t align) {
  return align != 0 ? alloc_memalign(align, size) : alloc_malloc(size);
}

static __attribute__((noinline)) void *cxx_new_failed(size_t size, size_t align, int nothrow) {
  for (;;) {
    new_handler_fn h = _ZSt15get_new_handlerv != NULL ? _ZSt15get_new_handlerv() : NULL;
    if (h == NULL || nothrow) {
      /* nothrow forms return NULL rather than run a handler that may throw
       * through a noexcept function. */
      if (nothrow) return NULL;
      if (_ZSt17__throw_bad_allocv != NULL) _ZSt17__throw_bad_allocv();
      alloc_throw("operator new: out of memory and no C++ runtime to throw std::bad_alloc");
    }
    h();
    void *p = cxx_alloc(size, align);
    if (p != NULL) return p;
  }
}

static inline void *cxx_new(size_t size, size_t align, int nothrow) {
  void *p = cxx_alloc(size, align);
  if (likely(p != NULL)) return p;
  return cxx_new_failed(size, align, nothrow);
}

/* new */
EXPORT void *_Znwm(size_t n) { return cxx_new(n, 0, 0); }
EXPORT void *_Znam(size_t n) { return cxx_new(n, 0, 0); }
EXPORT void *_ZnwmRKSt9nothrow_t(size_t n, const void *t) {
  (void)t;
  return cxx_new(n, 0, 1);
}
EXPORT void *_ZnamRKSt9nothrow_t(size_t n, const void *t) {
  (void)t;
  return cxx_new(n, 0, 1);
}
EXPORT void *_ZnwmSt11align_val_t(size_t n, size_t a) { return cxx_new(n, a, 0); }
EXPORT void *_ZnamSt11align_val_t(size_t n, size_t a) { return cxx_new(n, a, 0); }
EXPORT void *_ZnwmSt11align_val_tRKSt9nothrow_t(size_t n, size_t a, const void *t) {
  (void)t;
  return cxx_new(n, a, 1);
}
EXPORT void *_ZnamSt11align_val_tRKSt9nothrow_t(size_t n, size_t a, const void *t) {
  (void)t;
  return cxx_new(n, a, 1);
}

/* delete: the size and alignment are known from the span. */
EXPORT void _ZdlPv(void *p) { alloc_free(p); }
EXPORT void _ZdaPv(void *p) { alloc_free(p); }
EXPORT void _ZdlPvRKSt9nothrow_t(void *p, const void *t) {
  (void)t;
  alloc_free(p);
}
EXPORT void _ZdaPvRKSt9nothrow_t(void *p, const void *t) {
  (void)t;
  alloc_free(p);
}
EXPORT void _ZdlPvm(void *p, size_t n) { alloc_free_sized(p, n); }
EXPORT void _ZdaPvm(void *p, size_t n) { alloc_free_sized(p, n); }
EXPORT void _ZdlPvSt11align_val_t(void *p, size_t a) {
  (void)a;
  alloc_free(p);
}
EXPORT void _ZdaPvSt11align_val_t(void *p, size_t a) {
  (void)a;
  alloc_free(p);
}
EXPORT void _ZdlPvmSt11align_val_t(void *p, size_t n, size_t a) {
  (void)a;
  alloc_free_sized(p, n);
}
EXPORT void _ZdaPvmSt11align_val_t(void *p, size_t n, size_t a) {
  (void)a;
  alloc_free_sized(p, n);
}
EXPORT void _ZdlPvSt11align_val_tRKSt9nothrow_t(void *p, size_t a, const void *t) {
  (void)a;
  (void)t;
  alloc_free(p);
}
EXPORT void _ZdaPvSt11align_val_tRKSt9nothrow_t(void *p, size_t a, const void *t) {
  (void)a;
  (void)t;
  alloc_free(p);
}

/* tcmalloc's C names of the same operators (gperftools/tcmalloc.h), which
 * a program built against tcmalloc may call directly. */
EXPORT void *tc_new(size_t n) __attribute__((alias("_Znwm")));
EXPORT void *tc_newarray(size_t n) __attribute__((alias("_Znam")));
EXPORT void *tc_new_nothrow(size_t n, const void *t) __attribute__((alias("_ZnwmRKSt9nothrow_t")));
EXPORT void *tc_newarray_nothrow(size_t n, const void *t)
    __attribute__((alias("_ZnamRKSt9nothrow_t")));
EXPORT void *tc_new_aligned(size_t n, size_t a) __attribute__((alias("_ZnwmSt11align_val_t")));
EXPORT void *tc_newarray_aligned(size_t n, size_t a) __attribute__((alias("_ZnamSt11align_val_t")));
EXPORT void *tc_new_aligned_nothrow(size_t n, size_t a, const void *t)
    __attribute__((alias("_ZnwmSt11align_val_tRKSt9nothrow_t")));
EXPORT void *tc_newarray_aligned_nothrow(size_t n, size_t a, const void *t)
    __attribute__((alias("_ZnamSt11align_val_tRKSt9nothrow_t")));
EXPORT void tc_delete(void *p) __attribute__((alias("_ZdlPv")));
EXPORT void tc_deletearray(void *p) __attribute__((alias("_ZdaPv")));
EXPORT void tc_delete_nothrow(void *p, const void *t)
    __attribute__((alias("_ZdlPvRKSt9nothrow_t")));
EXPORT void tc_deletearray_nothrow(void *p, const void *t)
    __attribute__((alias("_ZdaPvRKSt9nothrow_t")));
EXPORT void tc_delete_sized(void *p, size_t n) __attribute__((alias("_ZdlPvm")));
EXPORT void tc_deletearray_sized(void *p, size_t n) __attribute__((alias("_ZdaPvm")));
EXPORT void tc_delete_aligned(void *p, size_t a) __attribute__((alias("_ZdlPvSt11align_val_t")));
EXPORT void tc_deletearray_aligned(void *p, size_t a)
    __attribute__((alias("_ZdaPvSt11align_val_t")));
EXPORT void tc_delete_sized_aligned(void *p, size_t n, size_t a)
    __attribute__((alias("_ZdlPvmSt11align_val_t")));
EXPORT void tc_deletearray_sized_aligned(void *p, size_t n, size_t a)
    __attribute__((alias("_ZdaPvmSt11align_val_t")));
EXPORT void tc_delete_aligned_nothrow(void *p, size_t a, const void *t)
    __attribute__((alias("_ZdlPvSt11align_val_tRKSt9nothrow_t")));
EXPORT void tc_deletearray_aligned_nothrow(void *p, size_t a, const void *t)
    __attribute__((alias("_ZdaPvSt11align_val_tRKSt9nothrow_t")));
EXPORT int tc_query_new_mode(void) { return 0; /* malloc never runs the new-handler */ }
