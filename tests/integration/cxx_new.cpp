// cxx_new: the C++ operator new / delete families on top of liballoc.
//
// Run by run_compare.sh twice: once plainly and once with liballoc.so in
// LD_PRELOAD (and IT_EXPECT_LIBALLOC=1); both runs must succeed and print the
// same output. Checks:
//   - with IT_EXPECT_LIBALLOC set: every operator new / delete symbol resolves
//     into liballoc, and a new[] of 4 MiB shows in alloc_get_stats;
//   - plain, array, nothrow, sized and aligned new / delete, including
//     over-aligned types (alignas 64, 4096, 65536) alone, in arrays and in a
//     std::vector; the results are aligned and writable;
//   - new of an impossible size throws std::bad_alloc (after calling the
//     installed new_handler), never aborts; nothrow new of it returns nullptr;
//   - std::vector / std::string / std::map / std::list / std::shared_ptr
//     workloads, whose results are printed (the two runs must agree).
#include <dlfcn.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <list>
#include <map>
#include <memory>
#include <new>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "alloc.h"

static int failures = 0;
static bool strict = false;  // IT_EXPECT_LIBALLOC=1: the allocator is liballoc

#define CHECK(cond)                                                        \
  do {                                                                     \
    if (!(cond)) {                                                         \
      std::fprintf(stderr, "cxx_new: FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      failures++;                                                          \
    }                                                                      \
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

static bool aligned(const void *p, std::size_t a) { return (reinterpret_cast<std::uintptr_t>(p) & (a - 1)) == 0; }

// ---- identity -----------------------------------------------------------

static const char *symbol_file(const char *name) {
  void *sym = dlsym(RTLD_DEFAULT, name);
  Dl_info info;
  if (!sym || !dladdr(sym, &info) || !info.dli_fname) return nullptr;
  return info.dli_fname;
}

static void check_identity() {
  static const char *const names[] = {
      "_Znwm",                          // new(size_t)
      "_Znam",                          // new[](size_t)
      "_ZnwmRKSt9nothrow_t",            // new(size_t, nothrow)
      "_ZnamRKSt9nothrow_t",            // new[](size_t, nothrow)
      "_ZnwmSt11align_val_t",           // new(size_t, align)
      "_ZnamSt11align_val_t",           // new[](size_t, align)
      "_ZnwmSt11align_val_tRKSt9nothrow_t",
      "_ZdlPv",                         // delete(void*)
      "_ZdaPv",                         // delete[](void*)
      "_ZdlPvm",                        // delete(void*, size_t)
      "_ZdaPvm",                        // delete[](void*, size_t)
      "_ZdlPvSt11align_val_t",          // delete(void*, align)
      "_ZdlPvmSt11align_val_t",         // delete(void*, size_t, align)
      "_ZdaPvSt11align_val_t",          // delete[](void*, align)
      "_ZdaPvmSt11align_val_t",         // delete[](void*, size_t, align)
      "malloc",
      "free",
  };
  for (const char *name : names) {
    const char *f = symbol_file(name);
    if (!f || !std::strstr(f, "liballoc")) {
      std::fprintf(stderr, "cxx_new: FAIL: %s resolves to %s, not liballoc\n", name, f ? f : "(nothing)");
      failures++;
    }
  }
  using stats_fn = int (*)(alloc_stats *);
  auto get = reinterpret_cast<stats_fn>(dlsym(RTLD_DEFAULT, "alloc_get_stats"));
  CHECK(get != nullptr);
  if (!get) return;
  alloc_stats before, during;
  get(&before);
  std::size_t n = opaque(std::size_t(4) << 20);
  char *p = launder_ptr(new char[n]);
  std::memset(p, 1, n);
  get(&during);
  delete[] p;
  CHECK(during.in_use >= before.in_use + n);
}

// ---- plain, array, nothrow, sized -------------------------------------------

struct Tracked {
  static int live;
  std::uint64_t v[3];
  Tracked() : v{1, 2, 3} { live++; }
  ~Tracked() { live--; }
};
int Tracked::live = 0;

static void check_plain() {
  int *i = launder_ptr(new int(42));
  CHECK(*i == 42);
  delete i;

  std::string *s = launder_ptr(new std::string(1000, 'x'));
  CHECK(s->size() == 1000 && (*s)[999] == 'x');
  delete s;

  int *a = launder_ptr(new int[opaque(100000)]());
  CHECK(a[0] == 0 && a[99999] == 0);  // value-initialised
  a[99999] = 7;
  delete[] a;

  Tracked *t = launder_ptr(new Tracked[opaque(1000)]);  // array with a cookie
  CHECK(Tracked::live == 1000);
  CHECK(t[999].v[2] == 3);
  delete[] t;
  CHECK(Tracked::live == 0);

  char *nt = launder_ptr(new (std::nothrow) char[opaque(5000)]);
  CHECK(nt != nullptr);
  if (nt) std::memset(nt, 2, 5000);
  delete[] nt;
  int *ni = launder_ptr(new (std::nothrow) int(5));
  CHECK(ni && *ni == 5);
  delete ni;

  // operator new(0) gives distinct, non-null pointers
  void *z1 = ::operator new(opaque(0));
  void *z2 = ::operator new(opaque(0));
  CHECK(z1 && z2 && z1 != z2);
  ::operator delete(z1);
  ::operator delete(z2);

  // explicit sized deallocation, every size from tiny to large
  for (std::size_t n = 1; n <= (std::size_t(1) << 21); n = n * 3 + 1) {
    void *p = ::operator new(opaque(n));
    std::memset(p, 3, n);
    ::operator delete(p, n);
    void *q = ::operator new[](opaque(n));
    std::memset(q, 4, n);
    ::operator delete[](q, n);
  }
  delete launder_ptr<int>(nullptr);
  delete[] launder_ptr<int>(nullptr);
}

// ---- aligned ----------------------------------------------------------------------

struct alignas(64) Line {
  char c[64];
};
struct alignas(4096) Page {
  char c[100];
};
struct alignas(65536) Big {
  char c[10];
};

static void check_aligned() {
  Line *l = launder_ptr(new Line);
  CHECK(aligned(l, 64));
  std::memset(l, 1, sizeof *l);
  delete l;

  Line *la = launder_ptr(new Line[opaque(1000)]);
  CHECK(aligned(la, 64));
  std::memset(la, 1, sizeof(Line) * 1000);
  delete[] la;

  for (int i = 0; i < 50; i++) {
    Page *p = launder_ptr(new Page);
    CHECK(aligned(p, 4096));
    std::memset(p, 2, sizeof *p);
    delete p;
  }
  Page *pa = launder_ptr(new Page[opaque(3)]);
  CHECK(aligned(pa, 4096) && aligned(&pa[2], 4096));
  delete[] pa;

  Big *b = launder_ptr(new Big);
  CHECK(aligned(b, 65536));
  delete b;
  Big *bn = launder_ptr(new (std::nothrow) Big);
  CHECK(bn && aligned(bn, 65536));
  delete bn;

  std::vector<Line> v(opaque(5000));
  CHECK(aligned(v.data(), 64));
  v.resize(20000);
  CHECK(aligned(v.data(), 64));

  // the operator functions themselves, with sized aligned deletes
  for (std::size_t a = 1; a <= (std::size_t(1) << 20); a <<= 1) {
    for (std::size_t n : {std::size_t(1), a, a + 1, std::size_t(100000)}) {
      void *p = ::operator new(opaque(n), std::align_val_t(a));
      if (!aligned(p, a)) std::fprintf(stderr, "cxx_new: new(%zu, align_val_t(%zu)) = %p\n", n, a, p);
      CHECK(aligned(p, a));
      std::memset(p, 5, n);
      ::operator delete(p, n, std::align_val_t(a));
      void *q = ::operator new[](opaque(n), std::align_val_t(a));
      CHECK(aligned(q, a));
      std::memset(q, 6, n);
      ::operator delete[](q, std::align_val_t(a));
      void *r = ::operator new(opaque(n), std::align_val_t(a), std::nothrow);
      CHECK(r && aligned(r, a));
      ::operator delete(r, std::align_val_t(a));
    }
  }
}

// ---- impossible sizes --------------------------------------------------------------

static int handler_calls = 0;
static void new_handler_once() {
  handler_calls++;
  std::set_new_handler(nullptr);  // the next failure throws
}

static void check_huge() {
  const std::size_t sizes[] = {SIZE_MAX / 2, std::size_t(1) << 47, SIZE_MAX - 64, std::size_t(PTRDIFF_MAX) + 1};
  for (std::size_t huge : sizes) {
    bool thrown = false;
    try {
      char *p = launder_ptr(new char[opaque(huge)]);
      p[0] = 0;
      delete[] p;
    } catch (const std::bad_alloc &) {
      thrown = true;
    }
    CHECK(thrown);

    thrown = false;
    try {
      void *p = ::operator new(opaque(huge));
      ::operator delete(p);
    } catch (const std::bad_alloc &) {
      thrown = true;
    }
    CHECK(thrown);

    // libstdc++'s own aligned new rounds the size up without an overflow
    // check, so near SIZE_MAX it returns a small block: liballoc's must not.
    bool lax = !strict && huge > SIZE_MAX - 4096;

    thrown = lax;
    try {
      if (!lax) {
        void *p = ::operator new(opaque(huge), std::align_val_t(256));
        ::operator delete(p, std::align_val_t(256));
      }
    } catch (const std::bad_alloc &) {
      thrown = true;
    }
    CHECK(thrown);

    CHECK(launder_ptr(new (std::nothrow) char[opaque(huge)]) == nullptr);
    CHECK(::operator new(opaque(huge), std::nothrow) == nullptr);
    CHECK(::operator new[](opaque(huge), std::nothrow) == nullptr);
    if (!lax) CHECK(::operator new(opaque(huge), std::align_val_t(4096), std::nothrow) == nullptr);
  }

  // operator new calls the new_handler before it gives up
  handler_calls = 0;
  std::set_new_handler(new_handler_once);
  bool thrown = false;
  try {
    void *p = ::operator new(opaque(SIZE_MAX / 2));
    ::operator delete(p);
  } catch (const std::bad_alloc &) {
    thrown = true;
  }
  CHECK(thrown);
  CHECK(handler_calls == 1);
  std::set_new_handler(nullptr);

  // and the heap works afterwards
  std::vector<int> v(opaque(1000), 9);
  CHECK(v[999] == 9);
}

// ---- container workloads -------------------------------------------------------------

static std::uint64_t rnd(std::uint64_t &s) {
  s ^= s << 13;
  s ^= s >> 7;
  s ^= s << 17;
  return s;
}

static std::uint64_t fnv(const std::string &s, std::uint64_t h = 1469598103934665603ull) {
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

static void workloads() {
  std::uint64_t seed = 12345;

  // strings of every length, sorted, deduplicated
  std::vector<std::string> words;
  for (int i = 0; i < 200000; i++) {
    std::size_t len = 1 + rnd(seed) % (i % 100 == 0 ? 3000 : 40);
    std::string w;
    for (std::size_t k = 0; k < len; k++) w.push_back(static_cast<char>('a' + rnd(seed) % 26));
    words.push_back(std::move(w));
  }
  std::sort(words.begin(), words.end());
  words.erase(std::unique(words.begin(), words.end()), words.end());
  std::uint64_t h = 0;
  for (const auto &w : words) h = fnv(w, h ? h : 1469598103934665603ull);
  std::printf("strings: %zu unique, hash %016llx\n", words.size(), static_cast<unsigned long long>(h));

  // an ordered map of counts, then erased half
  std::map<std::string, long> counts;
  for (int i = 0; i < 300000; i++) counts[words[rnd(seed) % 5000].substr(0, 3)] += i % 7;
  long total = 0;
  for (auto it = counts.begin(); it != counts.end();) {
    total += it->second;
    it = (it->second % 2) ? counts.erase(it) : std::next(it);
  }
  std::printf("map: %zu keys left, total %ld\n", counts.size(), total);

  // unordered_map of vectors (summed, so the order does not matter)
  std::unordered_map<int, std::vector<int>> buckets;
  for (int i = 0; i < 200000; i++) buckets[static_cast<int>(rnd(seed) % 10007)].push_back(i);
  long long bsum = 0;
  std::size_t longest = 0;
  for (auto &kv : buckets) {
    for (int x : kv.second) bsum += x % 1000;
    longest = std::max(longest, kv.second.size());
  }
  std::printf("unordered_map: %zu buckets, sum %lld, longest %zu\n", buckets.size(), bsum, longest);

  // a list spliced around, and shared pointers passed along
  std::list<std::shared_ptr<std::string>> l;
  for (int i = 0; i < 50000; i++) l.push_back(std::make_shared<std::string>(std::to_string(i * 31)));
  std::list<std::shared_ptr<std::string>> other;
  for (int i = 0; i < 100; i++) {
    auto it = l.begin();
    std::advance(it, static_cast<long>(rnd(seed) % l.size()));
    other.splice(other.end(), l, it);
  }
  std::set<std::string> uniq;
  for (auto &p : other) uniq.insert(*p);
  std::uint64_t lh = 0;
  for (auto &s : uniq) lh = fnv(s, lh ? lh : 1469598103934665603ull);
  std::printf("list: %zu + %zu, hash %016llx\n", l.size(), other.size(), static_cast<unsigned long long>(lh));

  // a growing string
  std::string big;
  for (int i = 0; i < 100000; i++) big += std::to_string(i);
  std::printf("string: %zu bytes, hash %016llx\n", big.size(), static_cast<unsigned long long>(fnv(big)));
}

int main() {
  const char *expect = std::getenv("IT_EXPECT_LIBALLOC");
  strict = expect && *expect == '1';
  if (strict) check_identity();
  check_plain();
  check_aligned();
  check_huge();
  workloads();
  if (failures) {
    std::fprintf(stderr, "cxx_new: %d checks failed\n", failures);
    return 1;
  }
  std::printf("cxx_new: all checks passed\n");
  return 0;
}
