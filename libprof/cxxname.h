/* cxxname.h: the short form of a demangled C++ name that a profile shows as
 * a function's name, as `go tool pprof` prints one by default (its
 * demangler's NoParams and NoTemplateParams):
 *
 *   std::_Rb_tree<int, std::pair<...>, ...>::_M_emplace_hint_unique<...>(...)
 *     -> std::_Rb_tree::_M_emplace_hint_unique
 *
 * The full name stays in the Function's system_name (symbolize.h). Pure
 * string functions: no allocation, no state; used by the symbolizer at dump
 * time and by tests/unit/test_prof_cxxname.c.
 */
#ifndef PROF_CXXNAME_H
#define PROF_CXXNAME_H

/* Writes the short form of the demangled name `full` into out, which must
 * have room for strlen(full) + 1 bytes (the short form is never longer) and
 * must not overlap full, and returns out. Drops:
 *   - template arguments, at every level of the name and inside a lambda's
 *     parameter types ("{lambda(std::vector const&)#1}");
 *   - parameter lists, the function's and its enclosing function's in a local
 *     name ("f(int)::{lambda()#1}::operator()() const" -> "f::{lambda()#1}::
 *     operator()"), with what follows them: const, &, &&, noexcept;
 *   - the return type printed before a template function's name;
 *   - GCC's clone suffixes (" [clone .cold]", " [clone .isra.0]").
 * Keeps operator names whole (operator<, operator<<, operator(), operator
 * new[], operator"" _km, conversions "operator bool"), "(anonymous
 * namespace)", lambdas and unnamed types ("{lambda(int)#1}", "{unnamed
 * type#1}"), ABI tags ("[abi:cxx11]", as pprof does: they tell overloads
 * apart) and prefixes such as "non-virtual thunk to ".
 * A name with none of "<([{ " (a C name, "foo.cold" included) comes back as
 * it is; so does one nested too deeply to take apart, or one whose short
 * form would be empty. */
char *prof_cxx_simplify(const char *full, char *out);

/* Whether a name that did not demangle still reads as C++ (it has "::" or a
 * '<'), as pprof judges the names it cannot demangle: such a name (a DWARF
 * DW_AT_name like "vector<int, std::allocator<int> >") is simplified too; a
 * C name or a Go name such as "main.(*T).Run" is left alone. */
int prof_cxx_looks_demangled(const char *name);

#endif
