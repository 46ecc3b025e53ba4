/* test_prof_cxxname: the short C++ names a profile shows (libprof/cxxname.h),
 * on names as __cxa_demangle prints them for real symbols of libstdc++,
 * boost and test programs (each input is c++filt's output for a mangled
 * name, given in the comment where it helps), with the answer `go tool
 * pprof` prints for the same mangled name by default. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cxxname.h"

struct name_case {
  const char *full, *simple;
};

static void check_cases(const struct name_case *c, size_t n) {
  for (size_t i = 0; i < n; i++) {
    size_t len = strlen(c[i].full);
    /* exactly strlen + 1 bytes, so that an overrun shows under ASan */
    char *out = malloc(len + 1);
    assert_non_null(out);
    assert_ptr_equal(prof_cxx_simplify(c[i].full, out), out);
    if (strcmp(out, c[i].simple) != 0)
      fail_msg("simplify(\"%s\")\n  got  \"%s\"\n  want \"%s\"", c[i].full, out, c[i].simple);
    free(out);
  }
}

#define CHECK(cases) check_cases(cases, sizeof cases / sizeof cases[0])

/* The examples: containers of libstdc++ with nested templates, and
 * the return type a template function is printed with. */
static void test_std_containers(void **state) {
  static const struct name_case cases[] = {
      {/* _ZNSt8_Rb_treeIiSt4pairIKiNSt7__cxx1112basic_string...22_M_emplace_hint_unique... */
       "std::_Rb_tree_iterator<std::pair<int const, std::__cxx11::basic_string<char, "
       "std::char_traits<char>, std::allocator<char> > > > std::_Rb_tree<int, std::pair<int const, "
       "std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> > >, "
       "std::_Select1st<std::pair<int const, std::__cxx11::basic_string<char, "
       "std::char_traits<char>, std::allocator<char> > > >, std::less<int>, "
       "std::allocator<std::pair<int const, std::__cxx11::basic_string<char, "
       "std::char_traits<char>, std::allocator<char> > > > >::_M_emplace_hint_unique<"
       "std::piecewise_construct_t const&, std::tuple<int const&>, std::tuple<> >("
       "std::_Rb_tree_const_iterator<std::pair<int const, std::__cxx11::basic_string<char, "
       "std::char_traits<char>, std::allocator<char> > > >, std::piecewise_construct_t const&, "
       "std::tuple<int const&>&&, std::tuple<>&&)",
       "std::_Rb_tree::_M_emplace_hint_unique"},
      {"void std::vector<int, std::allocator<int> >::_M_realloc_insert<int const&>("
       "__gnu_cxx::__normal_iterator<int*, std::vector<int, std::allocator<int> > >, int const&)",
       "std::vector::_M_realloc_insert"},
      {"void std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> "
       ">::_M_construct<char const*>(char const*, char const*, std::forward_iterator_tag)",
       "std::__cxx11::basic_string::_M_construct"},
      {"__gnu_cxx::new_allocator<char>::allocate(unsigned long, void const*)",
       "__gnu_cxx::new_allocator::allocate"},
      {"std::ios_base::Init::Init()", "std::ios_base::Init::Init"},
      {"std::thread::_State_impl<std::thread::_Invoker<std::tuple<main::{lambda()#1}> > "
       ">::_M_run()",
       "std::thread::_State_impl::_M_run"},
  };
  CHECK(cases);
}

/* Function types and function pointers in template arguments, parameters
 * and return types: their parentheses are not the function's parameters. */
static void test_function_pointers(void **state) {
  static const struct name_case cases[] = {
      {"boost::detail::sp_counted_impl_p<boost::function1<void, void (*)(int)> >::dispose()",
       "boost::detail::sp_counted_impl_p::dispose"},
      {"std::function<void ()>::operator()() const", "std::function::operator()"},
      {"std::_Function_handler<void (int), main::{lambda(int)#1}>::_M_invoke(std::_Any_data "
       "const&, int&&)",
       "std::_Function_handler::_M_invoke"},
      {/* _ZNSt6vectorIPFviESaIS1_EE12emplace_backIJRS1_EEERS1_DpOT_: returns void (*&)(int) */
       "void (*&std::vector<void (*)(int), std::allocator<void (*)(int)> >::emplace_back<void "
       "(*&)(int)>(void (*&)(int)))(int)",
       "std::vector::emplace_back"},
      {"decltype (get({parm#1})) func<int>(int)", "func"},
      {"void apply<bool (*)(int, int)>(bool (*)(int, int))", "apply"},
  };
  CHECK(cases);
}

/* Operators whose names hold the brackets the rest takes apart. */
static void test_operators(void **state) {
  static const struct name_case cases[] = {
      {"std::basic_ostream<char, std::char_traits<char> >& std::operator<< "
       "<std::char_traits<char> >(std::basic_ostream<char, std::char_traits<char> >&, char const*)",
       "std::operator<<"},
      {"Foo::operator<(Foo const&)", "Foo::operator<"},
      {"bool operator< <int>(Box<int> const&, Box<int> const&)", "operator<"},
      {"Foo::operator>>=(int)", "Foo::operator>>="},
      {"Foo::operator<=>(Foo const&) const", "Foo::operator<=>"},
      {"Foo::operator->() const", "Foo::operator->"},
      {"Foo::operator->*(int Foo::*)", "Foo::operator->*"},
      {"std::less<int>::operator()(int const&, int const&) const", "std::less::operator()"},
      {"Foo::operator[](unsigned long)", "Foo::operator[]"},
      {"Foo::operator=(Foo&&)", "Foo::operator="},
      {"Foo::operator,(Foo const&)", "Foo::operator,"},
      {"operator new(unsigned long)", "operator new"},
      {"operator new[](unsigned long)", "operator new[]"},
      {"operator delete(void*, unsigned long)", "operator delete"},
      {"operator delete[](void*)", "operator delete[]"},
      {"operator\"\" _km(unsigned long long)", "operator\"\" _km"},
      {"Foo::operator bool()", "Foo::operator bool"},
      {"Foo::operator char const*() const", "Foo::operator char const*"},
      {"Foo::operator std::vector<int, std::allocator<int> >() const", "Foo::operator std::vector"},
      /* an identifier that merely starts with "operator" */
      {"ns::operator_table<int>::get(int)", "ns::operator_table::get"},
  };
  CHECK(cases);
}

/* Lambdas, local names and (anonymous namespace): parentheses and braces
 * that are part of the name. */
static void test_lambdas_and_local_names(void **state) {
  static const struct name_case cases[] = {
      {"main::{lambda(int)#1}::operator()(int) const", "main::{lambda(int)#1}::operator()"},
      {"main::{lambda(int)#1}::_FUN(int)", "main::{lambda(int)#1}::_FUN"},
      {"foo<int>()::{lambda()#1}::operator()() const", "foo::{lambda()#1}::operator()"},
      {"(anonymous namespace)::foo()", "(anonymous namespace)::foo"},
      {"(anonymous namespace)::Widget::grow()::{lambda(std::vector<int, std::allocator<int> > "
       "const&)#1}::operator()(std::vector<int, std::allocator<int> > const&) const",
       "(anonymous namespace)::Widget::grow::{lambda(std::vector const&)#1}::operator()"},
      {"Foo::bar() const::{lambda()#2}::operator()() const", "Foo::bar::{lambda()#2}::operator()"},
      {"ns::make()::{unnamed type#1}::run()", "ns::make::{unnamed type#1}::run"},
      {"(anonymous namespace)::Box<int> (anonymous namespace)::make<int>(int)",
       "(anonymous namespace)::make"},
  };
  CHECK(cases);
}

/* Qualifiers, ABI tags, clone suffixes and special names. */
static void test_suffixes_and_tags(void **state) {
  static const struct name_case cases[] = {
      {"foo[abi:cxx11]()", "foo[abi:cxx11]"},
      {"std::__cxx11::to_string[abi:cxx11](int)", "std::__cxx11::to_string[abi:cxx11]"},
      {"bar() [clone .cold]", "bar"},
      {"bar(int) [clone .isra.0]", "bar"},
      {"Foo::bar() [clone .part.0] [clone .cold]", "Foo::bar"},
      {"Foo::get() &&", "Foo::get"},
      {"Foo::get() const &", "Foo::get"},
      {"Foo::swap(Foo&) noexcept", "Foo::swap"},
      {"non-virtual thunk to Foo::bar()", "non-virtual thunk to Foo::bar"},
      {"virtual thunk to Base<int>::~Base()", "virtual thunk to Base::~Base"},
      {"guard variable for main::x", "guard variable for main::x"},
      {"typeinfo for std::codecvt<char, char, __mbstate_t>", "typeinfo for std::codecvt"},
      {"Foo<int>::~Foo()", "Foo::~Foo"},
  };
  CHECK(cases);
}

/* Names that are not demangled C++ come back as they are. */
static void test_c_names_untouched(void **state) {
  static const struct name_case cases[] = {
      {"main", "main"},
      {"make_a", "make_a"},
      {"main.cold", "main.cold"},
      {"deflate_slow.isra.0", "deflate_slow.isra.0"},
      {"__libc_start_main", "__libc_start_main"},
      {"operator", "operator"},
      {"", ""},
  };
  CHECK(cases);
  assert_false(prof_cxx_looks_demangled("main"));
  assert_false(prof_cxx_looks_demangled("main.(*T).Run"));
  assert_true(prof_cxx_looks_demangled("vector<int, std::allocator<int> >"));
  assert_true(prof_cxx_looks_demangled("ns::f"));
}

/* Whatever the input, the output fits in strlen + 1 (malloc'd to the byte:
 * an overrun shows under ASan), is terminated and is not empty unless the
 * input was. Includes unbalanced brackets and nesting past the limit. */
static void test_malformed(void **state) {
  static const char *const inputs[] = {
      "(",
      ")",
      "<",
      ">",
      "{",
      "}",
      "[",
      "]",
      "()",
      "<>",
      "f(",
      "f<",
      "f<int",
      "f(int",
      "f)(",
      "a::b<c>(d",
      "operator",
      "operator<",
      "operator<<<",
      "(anonymous namespace",
      " ",
      "   ",
      "a ",
      " [clone .cold]",
      "{lambda(",
      "x [abi:",
      "void (*",
      "void (*&",
      "decltype (",
      "operator\"\"",
      "a::operator new",
      "f() const::",
  };
  for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
    size_t len = strlen(inputs[i]);
    char *out = malloc(len + 1);
    assert_non_null(out);
    prof_cxx_simplify(inputs[i], out);
    assert_true(strlen(out) <= len);
    assert_true(len == 0 || out[0] != '\0');
    free(out);
  }
  /* 1000 nested template levels: kept whole rather than half taken apart */
  size_t depth = 1000, len = 1 + depth * 2 + 2;
  char *deep = malloc(len + 1), *out = malloc(len + 1);
  assert_non_null(deep);
  assert_non_null(out);
  char *p = deep;
  *p++ = 'f';
  for (size_t i = 0; i < depth; i++) *p++ = '<';
  for (size_t i = 0; i < depth; i++) *p++ = '>';
  memcpy(p, "()", 3);
  assert_string_equal(prof_cxx_simplify(deep, out), deep);
  /* 100 levels are within the limit */
  p = deep + 1;
  for (size_t i = 0; i < 100; i++) *p++ = '<';
  for (size_t i = 0; i < 100; i++) *p++ = '>';
  memcpy(p, "()", 3);
  assert_string_equal(prof_cxx_simplify(deep, out), "f");
  free(deep);
  free(out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_std_containers),    cmocka_unit_test(test_function_pointers),
      cmocka_unit_test(test_operators),         cmocka_unit_test(test_lambdas_and_local_names),
      cmocka_unit_test(test_suffixes_and_tags), cmocka_unit_test(test_c_names_untouched),
      cmocka_unit_test(test_malformed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
