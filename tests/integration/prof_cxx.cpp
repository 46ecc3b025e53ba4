// prof_cxx: a C++ program profiled at rate 1 (run with ALLOCPROF_RATE=1):
// objects made with new, std containers growing, a std::map; the profile it
// dumps must carry demangled names (Widget::Widget, std::...) in Function.name
// with the full demangled name in system_name, stacks that start at the caller of
// operator new, and exact counts for what the program knows it allocated.
//
//   prof_cxx [DIR]   writes DIR/cxx.pb.gz (kept); without DIR, a temporary one
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "allocprof.h"
#include "it_common.h"
#include "prof_check.h"

namespace {

constexpr int kWidgets = 100;
constexpr int kInts = 1000;  // each Widget reserves 1000 ints: 4000 bytes

class Widget {
 public:
  // Out of line, so that Widget::Widget is a symbol of its own (what an
  // inlined constructor is called comes from DWARF alone).
  __attribute__((noinline)) explicit Widget(int id) : id_(id) {
    data_.reserve(kInts);
    name_ = "widget number " + std::to_string(id) + " with a name too long for SSO";
  }
  int id() const { return id_; }
  size_t size() const { return data_.capacity() + name_.size(); }

 private:
  int id_;
  std::vector<int> data_;
  std::string name_;
};

}  // namespace

__attribute__((noinline)) static std::vector<std::unique_ptr<Widget>> make_widgets() {
  std::vector<std::unique_ptr<Widget>> v;
  for (int i = 0; i < kWidgets; i++) v.emplace_back(new Widget(i));
  return v;
}

__attribute__((noinline)) static std::map<int, std::string> make_map() {
  std::map<int, std::string> m;
  for (int i = 0; i < 500; i++) m[i] = std::string(100 + i % 7, 'x');
  return m;
}

static bool has_function(const profile_pb *p, const char *part, const char **system_name) {
  for (size_t i = 0; i < p->n_function; i++) {
    const char *name = pc_str(p, p->function[i]->name);
    if (strstr(name, part) != nullptr) {
      if (system_name) *system_name = pc_str(p, p->function[i]->system_name);
      return true;
    }
  }
  return false;
}

// Whether some line of location id is in a function whose name contains part.
static bool location_in(const profile_pb *p, uint64_t id, const char *part) {
  const Perftools__Profiles__Location *l = pc_location(p, id);
  for (size_t k = 0; l != nullptr && k < l->n_line; k++)
    if (strstr(pc_line_function(p, id, k), part) != nullptr) return true;
  return false;
}

int main(int argc, char **argv) {
  it_require_liballoc("prof_cxx");
  if (allocprof_get_rate() != 1) {
    fprintf(stderr, "prof_cxx: run with ALLOCPROF_RATE=1\n");
    return 1;
  }
  const char *dir = pc_tmpdir(argc, argv, 1);
  auto widgets = make_widgets();
  auto m = make_map();
  size_t total = 0;
  for (auto &w : widgets) total += w->size();

  char path[sizeof pc_dir + 64];
  snprintf(path, sizeof path, "%s/cxx.pb.gz", dir);
  if (allocprof_dump(path) != 0) pc_die("allocprof_dump %s: %s", path, strerror(errno));
  profile_pb *p = pc_load(path);
  pc_check_header(p, 1);

  const char *sys = "";
  PC_CHECK(has_function(p, "Widget::Widget", &sys), "no function named Widget::Widget");
  PC_CHECK(strstr(sys, "Widget::Widget(int)") != nullptr, "Widget::Widget's system name is '%s'",
           sys);
  PC_CHECK(has_function(p, "std::", nullptr), "no std:: function");
  PC_CHECK(has_function(p, "make_widgets", nullptr), "no make_widgets");

  // new Widget: 100 objects of sizeof(Widget), the stack starting in
  // make_widgets (operator new dropped); the reserve: 100 x 4000 bytes
  // with Widget::Widget on the first location (inlined or not)
  int64_t widgets_n = 0, reserve_n = 0;
  for (size_t i = 0; i < p->n_sample; i++) {
    const Perftools__Profiles__Sample *s = p->sample[i];
    if (s->n_location_id == 0) continue;
    int64_t bytes = pc_bytes_label(p, s);
    if (bytes == (int64_t)sizeof(Widget) && location_in(p, s->location_id[0], "make_widgets"))
      widgets_n += s->value[PC_INUSE_OBJECTS];
    if (bytes == (int64_t)(kInts * sizeof(int))) {
      bool in_ctor = false;
      for (size_t k = 0; k < s->n_location_id && k < 8 && !in_ctor; k++)
        in_ctor = location_in(p, s->location_id[k], "Widget::Widget");
      if (in_ctor) reserve_n += s->value[PC_INUSE_OBJECTS];
    }
  }
  PC_CHECK(widgets_n == kWidgets, "%lld Widgets from make_widgets, want %d", (long long)widgets_n,
           kWidgets);
  PC_CHECK(reserve_n == kWidgets, "%lld reserves under Widget::Widget, want %d",
           (long long)reserve_n, kWidgets);
  profile_free(p);

  pc_tmpdir_cleanup();
  if (pc_failures) {
    fprintf(stderr, "prof_cxx: %d checks failed (%zu)\n", pc_failures, total + m.size());
    return 1;
  }
  printf("prof_cxx: ok\n");
  return 0;
}
