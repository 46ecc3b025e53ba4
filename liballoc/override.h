/* override.h: the entry points liballoc.so defines that no system header
 * declares (override.c, override_compat.c, override_cxx.c): glibc's
 * internal and obsolete names, C23's sized frees, jemalloc's and tcmalloc's
 * extensions, and C++'s operator new and delete under their mangled names.
 * Declared once here so every definition has its prototype
 * (-Wmissing-prototypes) and a wrong signature is a compile error. */
#ifndef ALLOC_OVERRIDE_H
#define ALLOC_OVERRIDE_H

#include <malloc.h>
#include <stddef.h>

/* ---- glibc (override.c) ---- */
void cfree(void *p);
void free_sized(void *p, size_t size);
void free_aligned_sized(void *p, size_t align, size_t size);
void *__libc_malloc(size_t size);
void __libc_free(void *p);
void *__libc_calloc(size_t n, size_t size);
void *__libc_realloc(void *p, size_t size);
void *__libc_memalign(size_t align, size_t size);
void *__libc_valloc(size_t size);
void *__libc_pvalloc(size_t size);
int __posix_memalign(void **out, size_t align, size_t size);

/* ---- jemalloc (override_compat.c) ---- */
void *mallocx(size_t size, int flags);
size_t nallocx(size_t size, int flags);
size_t sallocx(const void *p, int flags);
void dallocx(void *p, int flags);
void sdallocx(void *p, size_t size, int flags);
void *rallocx(void *p, size_t size, int flags);
size_t xallocx(void *p, size_t size, size_t extra, int flags);

/* ---- jemalloc's control and statistics (override_mallctl.c) ---- */
int mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);
int mallctlnametomib(const char *name, size_t *mibp, size_t *miblenp);
int mallctlbymib(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp, void *newp,
                 size_t newlen);
void malloc_stats_print(void (*write_cb)(void *, const char *), void *cbopaque, const char *opts);
extern void (*malloc_message)(void *cbopaque, const char *s);

/* ---- tcmalloc (override_tcmalloc.c) ---- */
void *tc_malloc(size_t size);
void *tc_malloc_skip_new_handler(size_t size);
void tc_free(void *p);
void tc_free_sized(void *p, size_t size);
void *tc_realloc(void *p, size_t size);
void *tc_calloc(size_t n, size_t size);
void tc_cfree(void *p);
void *tc_memalign(size_t align, size_t size);
int tc_posix_memalign(void **out, size_t align, size_t size);
void *tc_valloc(size_t size);
void *tc_pvalloc(size_t size);
size_t tc_malloc_size(void *p);
size_t tc_nallocx(size_t size, int flags);
int tc_mallopt(int cmd, int value);
struct mallinfo tc_mallinfo(void);
void tc_malloc_stats(void);
int tc_set_new_mode(int flag);
const char *tc_version(int *major, int *minor, const char **patch);
int MallocExtension_GetNumericProperty(const char *property, size_t *value);
void MallocExtension_ReleaseFreeMemory(void);
size_t MallocExtension_GetAllocatedSize(const void *p);
size_t MallocExtension_GetEstimatedAllocatedSize(size_t size);
int MallocExtension_GetOwnership(const void *p);
size_t malloc_size(void *p);
void __libc_cfree(void *p);
int MallocExtension_VerifyAllMemory(void);
int MallocExtension_VerifyNewMemory(const void *p);
int MallocExtension_VerifyArrayNewMemory(const void *p);
int MallocExtension_VerifyMallocMemory(const void *p);
int MallocExtension_MallocMemoryStats(int *blocks, size_t *total, int histogram[]);
int MallocExtension_SetNumericProperty(const char *property, size_t value);
void MallocExtension_MarkThreadIdle(void);
void MallocExtension_MarkThreadTemporarilyIdle(void);
void MallocExtension_MarkThreadBusy(void);
void MallocExtension_ReleaseToSystem(size_t num_bytes);
size_t MallocExtension_GetThreadCacheSize(void);
void MallocExtension_GetStats(char *buffer, int buffer_length);
void HeapProfilerStart(const char *prefix);
int IsHeapProfilerRunning(void);
void HeapProfilerStop(void);
void HeapProfilerDump(const char *reason);
char *GetHeapProfile(void);
int RunningOnValgrind(void);
int ProfilingIsEnabledForAllThreads(void);
const char *TCMallocGetenvSafe(const char *name);

/* ---- tcmalloc's names of the C++ operators (override_cxx.c) ---- */
void *tc_new(size_t n);
void *tc_newarray(size_t n);
void *tc_new_nothrow(size_t n, const void *t);
void *tc_newarray_nothrow(size_t n, const void *t);
void *tc_new_aligned(size_t n, size_t a);
void *tc_newarray_aligned(size_t n, size_t a);
void *tc_new_aligned_nothrow(size_t n, size_t a, const void *t);
void *tc_newarray_aligned_nothrow(size_t n, size_t a, const void *t);
void tc_delete(void *p);
void tc_deletearray(void *p);
void tc_delete_nothrow(void *p, const void *t);
void tc_deletearray_nothrow(void *p, const void *t);
void tc_delete_sized(void *p, size_t n);
void tc_deletearray_sized(void *p, size_t n);
void tc_delete_aligned(void *p, size_t a);
void tc_deletearray_aligned(void *p, size_t a);
void tc_delete_sized_aligned(void *p, size_t n, size_t a);
void tc_deletearray_sized_aligned(void *p, size_t n, size_t a);
void tc_delete_aligned_nothrow(void *p, size_t a, const void *t);
void tc_deletearray_aligned_nothrow(void *p, size_t a, const void *t);
int tc_query_new_mode(void);

/* ---- C++ (override_cxx.c): std::nothrow_t and std::align_val_t by value
 * or address, as the Itanium ABI passes them ---- */
void *_Znwm(size_t n);
void *_Znam(size_t n);
void *_ZnwmRKSt9nothrow_t(size_t n, const void *t);
void *_ZnamRKSt9nothrow_t(size_t n, const void *t);
void *_ZnwmSt11align_val_t(size_t n, size_t a);
void *_ZnamSt11align_val_t(size_t n, size_t a);
void *_ZnwmSt11align_val_tRKSt9nothrow_t(size_t n, size_t a, const void *t);
void *_ZnamSt11align_val_tRKSt9nothrow_t(size_t n, size_t a, const void *t);
void _ZdlPv(void *p);
void _ZdaPv(void *p);
void _ZdlPvRKSt9nothrow_t(void *p, const void *t);
void _ZdaPvRKSt9nothrow_t(void *p, const void *t);
void _ZdlPvm(void *p, size_t n);
void _ZdaPvm(void *p, size_t n);
void _ZdlPvSt11align_val_t(void *p, size_t a);
void _ZdaPvSt11align_val_t(void *p, size_t a);
void _ZdlPvmSt11align_val_t(void *p, size_t n, size_t a);
void _ZdaPvmSt11align_val_t(void *p, size_t n, size_t a);
void _ZdlPvSt11align_val_tRKSt9nothrow_t(void *p, size_t a, const void *t);
void _ZdaPvSt11align_val_tRKSt9nothrow_t(void *p, size_t a, const void *t);

#endif /* ALLOC_OVERRIDE_H */
