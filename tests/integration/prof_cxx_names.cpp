// prof_cxx_names: a plain C++ program (it neither links liballoc nor calls
// the profiler) whose heap is made by templates, a lambda, operator<< and a
// function in an anonymous namespace, for prof_cxx_names.sh to profile
// under the preload and check the names of (see there). Prints one line,
// the same with or without the profiler.
#include <cstdio>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

namespace {

// Out of line: (anonymous namespace)::fill_map is a frame of its own.
__attribute__((noinline)) std::map<std::string, std::vector<int>> fill_map(int n) {
  std::map<std::string, std::vector<int>> m;
  for (int i = 0; i < n; i++) {
    std::vector<int> &v = m["key number " + std::to_string(i) + " long enough to leave SSO"];
    for (int k = 0; k < 50; k++) v.push_back(k);
  }
  return m;
}

}  // namespace

__attribute__((noinline)) static std::string render(const std::map<std::string, std::vector<int>> &m) {
  std::ostringstream out;
  for (const auto &kv : m) out << kv.first << '=' << kv.second.size() << '\n';
  return out.str();
}

int main() {
  auto m = fill_map(2000);
  std::vector<std::string> names;
  std::function<void(int)> add = [&names](int i) { names.push_back(std::string(200 + i % 7, 'n')); };
  for (int i = 0; i < 3000; i++) add(i);
  std::string text = render(m);
  std::printf("%zu %zu %zu\n", m.size(), names.size(), text.size());
  return 0;
}
