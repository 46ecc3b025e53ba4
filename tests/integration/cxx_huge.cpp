// cxx_huge: operator new of a size the machine cannot back throws
// std::bad_alloc, as with glibc.
//
// Run by run_compare.sh plainly and with liballoc preloaded; both runs must
// pass and print the same. With IT_EXPECT_LIBALLOC set, operator new must
// resolve into liballoc.
//
// The kernel is the oracle: for each size that it will not give as one
// private writable mapping (what glibc's operator new ends up asking for),
// new[], operator new, aligned new and their nothrow forms must throw
// std::bad_alloc / return nullptr, and the heap must work afterwards. The
// process first caps its address space (RLIMIT_AS, 2 TiB above its size) so
// that an allocator that wrongly accepts such a request cannot take the
// host down with it.
#include <dlfcn.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <new>
#include <string>
#include <vector>

static int failures = 0;

#define CHECK(cond, size)                                                                     \
  do {                                                                                        \
    if (!(cond)) {                                                                            \
      std::fprintf(stderr, "cxx_huge: FAIL line %d, size %zu: %s\n", __LINE__, size, #cond); \
      failures++;                                                                             \
    }                                                                                         \
  } while (0)

static std::size_t opaque(std::size_t x) {
  __asm__ volatile("" : "+r"(x));
  return x;
}

template <class T>
static T *launder_ptr(T *p) {
  __asm__ volatile("" : "+r"(p));
  return p;
}

static bool kernel_commits(std::size_t n) {
  void *p = mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return false;
  munmap(p, n);
  return true;
}

static std::size_t mem_total() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  std::size_t kib = 0;
  while (in >> key >> kib)
    if (key == "MemTotal:") return kib << 10;
  return std::size_t(64) << 30;
}

static std::size_t vm_size() {
  std::ifstream in("/proc/self/statm");
  std::size_t pages = 0;
  in >> pages;
  return pages * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

template <class F>
static bool throws_bad_alloc(F f) {
  try {
    f();
  } catch (const std::bad_alloc &) {
    return true;
  }
  return false;
}

static void check_refused(std::size_t n) {
  CHECK(throws_bad_alloc([n] {
          char *p = launder_ptr(new char[opaque(n)]);
          p[0] = 1;
          delete[] p;
        }),
        n);
  CHECK(throws_bad_alloc([n] { ::operator delete(::operator new(opaque(n))); }), n);
  CHECK(throws_bad_alloc([n] {
          ::operator delete(::operator new(opaque(n), std::align_val_t(64)), std::align_val_t(64));
        }),
        n);
  CHECK(throws_bad_alloc([n] {
          ::operator delete[](::operator new[](opaque(n), std::align_val_t(1 << 20)), std::align_val_t(1 << 20));
        }),
        n);
  CHECK(launder_ptr(new (std::nothrow) char[opaque(n)]) == nullptr, n);
  CHECK(::operator new(opaque(n), std::nothrow) == nullptr, n);
  CHECK(::operator new(opaque(n), std::align_val_t(4096), std::nothrow) == nullptr, n);
}

int main() {
  if (std::getenv("IT_EXPECT_LIBALLOC")) {
    void *sym = dlsym(RTLD_DEFAULT, "_Znam");
    Dl_info info;
    if (!sym || !dladdr(sym, &info) || !info.dli_fname || !std::strstr(info.dli_fname, "liballoc")) {
      std::fprintf(stderr, "cxx_huge: FAIL: operator new[] is not liballoc's\n");
      return 1;
    }
  }
  std::size_t ram = mem_total();
  // (the pages of this vector are part of the baseline, before the cap)
  std::vector<std::size_t> sizes = {
      std::size_t(1) << 40, std::size_t(1) << 46, std::size_t(1) << 47, SIZE_MAX / 2, 2 * ram + (std::size_t(1) << 30),
  };
  rlim_t cap = vm_size() + (rlim_t(2) << 40);
  struct rlimit as = {cap, cap};
  if (setrlimit(RLIMIT_AS, &as) != 0) {
    std::perror("setrlimit");
    return 1;
  }
  int refused = 0;
  for (std::size_t n : sizes) {
    if (kernel_commits(n)) continue;
    check_refused(n);
    refused++;
  }
  std::printf("cxx_huge: sizes the kernel refuses: %d\n", refused);
  if (refused < 3) {
    std::fprintf(stderr, "cxx_huge: FAIL: only %d sizes refused: the test cannot judge\n", refused);
    failures++;
  }
  // and the heap works afterwards
  std::vector<int> v(opaque(100000), 7);
  CHECK(v[99999] == 7, v.size());
  std::printf("cxx_huge: %s\n", failures ? "FAILED" : "ok");
  return failures ? 1 : 0;
}
