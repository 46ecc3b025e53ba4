/* cxxname.c: demangled C++ name -> pprof's short form (cxxname.h).
 *
 * pprof gets its short form by printing the demangler's tree without the
 * parameters and template arguments. Here the input is already text (what
 * __cxa_demangle printed), so the same is done by walking the text with
 * the brackets matched, with three things taken care of on the way:
 *
 *  - '<' and '>' are brackets only in template argument lists: inside
 *    parentheses they may be comparisons, and in "operator<", "operator>>",
 *    "operator->" they are part of a name. Operator names are recognised
 *    first and copied as one token.
 *  - '(' opens a parameter list, except in "(anonymous namespace)" and in
 *    "decltype (...)" of a return type.
 *  - Spaces at the top level separate a template function's return type
 *    from its name ("void std::vector<int>::_M_realloc_insert<...>(...)"),
 *    but also belong to "operator new", conversion operators, clone
 *    suffixes and the "non-virtual thunk to " kind of prefix.
 */
#include "cxxname.h"

#include <string.h>

/* Deeper nesting than this is not taken apart (the name is kept whole). */
#define MAX_NEST 256

static int is_ident(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '$';
}

static int starts_with(const char *s, const char *prefix) {
  return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Length of the operator name starting at s ("operator<<", "operator new[]",
 * "operator"" _km" up to its suffix's start), or 0 when s is not one. For a
 * conversion operator ("operator bool", "operator std::vector<...>") only
 * "operator" is counted: the type that follows is an ordinary name. The
 * caller checks that s starts a token (no identifier character before it). */
static size_t operator_len(const char *s) {
  /* Longest first, so that "<<=" is not taken for "<<" then "=". */
  static const char *const symbols[] = {
      "<=>", "<<=", ">>=", "->*", "()", "[]", "<<", ">>", "<=", ">=", "->", "==", "!=",
      "&&",  "||",  "++",  "--",  "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<",
      ">",   "+",   "-",   "*",   "/",  "%",  "^",  "&",  "|",  "~",  "!",  "=",  ",",
  };
  static const char *const words[] = {" new[]",    " new",  " delete[]", " delete",
                                      " co_await", "\"\" ", "\"\""};
  if (!starts_with(s, "operator") || is_ident(s[8])) return 0;
  const char *p = s + 8;
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
    size_t n = strlen(words[i]);
    /* " new" but not " newline_type" (a conversion to a type so named) */
    if (strncmp(p, words[i], n) == 0 && !(is_ident(p[n - 1]) && is_ident(p[n]))) return 8 + n;
  }
  for (size_t i = 0; i < sizeof symbols / sizeof symbols[0]; i++) {
    size_t n = strlen(symbols[i]);
    if (strncmp(p, symbols[i], n) == 0) return 8 + n;
  }
  return p[0] == ' ' ? 8 : 0; /* conversion operator, or an identifier "operator" */
}

/* The operator name at s, if s starts a token (begin: start of the string). */
static size_t operator_at(const char *begin, const char *s) {
  if (*s != 'o' || (s > begin && is_ident(s[-1]))) return 0; /* called at every character */
  return operator_len(s);
}

static char closer_of(char open) {
  return open == '(' ? ')' : open == '[' ? ']' : open == '{' ? '}' : '>';
}

/* s points at an opening bracket. Returns the position just past its
 * matching closer (the end of the string when there is none), or NULL when
 * the nesting is deeper than MAX_NEST. '<' opens a group only where template
 * arguments can start: at s itself, or inside another '<' group. */
static const char *skip_group(const char *begin, const char *s) {
  char stack[MAX_NEST];
  int n = 0;
  stack[n++] = *s++;
  while (*s != '\0' && n > 0) {
    size_t op = operator_at(begin, s);
    if (op != 0) {
      s += op;
      continue;
    }
    char c = *s, top = stack[n - 1];
    if (c == '(' || c == '[' || c == '{' || (c == '<' && top == '<')) {
      if (n == MAX_NEST) return NULL;
      stack[n++] = c;
    } else if (c == closer_of(top)) {
      n--;
    }
    s++;
  }
  return s;
}

static int is_anonymous_namespace(const char *s) { return starts_with(s, "(anonymous namespace)"); }

/* GCC's " [clone .cold]" (tested first on its space: called at every
 * character). */
static int is_clone_suffix(const char *s) { return s[0] == ' ' && starts_with(s, " [clone "); }

/* Whether the '(' at s follows "decltype" (a return type's "decltype (...)"). */
static int after_decltype(const char *begin, const char *s) {
  if (s > begin && s[-1] == ' ') s--;
  return s - begin >= 8 && strncmp(s - 8, "decltype", 8) == 0 &&
         (s - 8 == begin || !is_ident(s[-9]));
}

/* Where the name starts in "RETURN-TYPE NAME(PARAMS)": after the last
 * top-level space before the name's first operator or parameter list.
 * NULL when the nesting is too deep. */
static const char *skip_return_type(const char *begin) {
  const char *start = begin, *s = begin;
  while (*s != '\0') {
    if (operator_at(begin, s) != 0 || is_clone_suffix(s)) break;
    if (*s == '(' && is_anonymous_namespace(s)) {
      s += strlen("(anonymous namespace)");
    } else if (*s == '<' || *s == '[' || *s == '{' || (*s == '(' && after_decltype(begin, s))) {
      s = skip_group(begin, s);
      if (s == NULL) return NULL;
    } else if (*s == '(') {
      break; /* the parameter list */
    } else {
      if (*s == ' ') start = s + 1;
      s++;
    }
  }
  return start;
}

/* After a parameter list: the next top-level "::" (a local name goes on:
 * "f(int)::{lambda()#1}"), or the end of the string. What lies between,
 * " const", " &&", " [clone .cold]", is dropped. NULL when too deep. */
static const char *after_params(const char *begin, const char *s) {
  while (*s != '\0' && !(s[0] == ':' && s[1] == ':')) {
    if (*s == '(' || *s == '[' || *s == '{' || *s == '<') {
      s = skip_group(begin, s);
      if (s == NULL) return NULL;
    } else {
      s++;
    }
  }
  return s;
}

/* Copies [s, end) to out without template argument lists: for a lambda's
 * parameter types, "{lambda(std::vector<int> const&)#1}". Returns the new
 * end of out, or NULL when too deep. */
static char *copy_without_targs(const char *begin, const char *s, const char *end, char *out) {
  while (s < end) {
    size_t op = operator_at(begin, s);
    if (op != 0) {
      memcpy(out, s, op);
      out += op;
      s += op;
    } else if (*s == '<' && s > begin && is_ident(s[-1])) {
      s = skip_group(begin, s);
      if (s == NULL) return NULL;
      if (s > end) s = end;
    } else {
      *out++ = *s++;
    }
  }
  return out;
}

/* Prefixes of special names, kept as they are before the name they name. */
static const char *const special_prefixes[] = {
    "non-virtual thunk to ",
    "virtual thunk to ",
    "covariant return thunk to ",
    "transaction clone for ",
    "TLS init function for ",
    "TLS wrapper function for ",
    "guard variable for ",
    "typeinfo name for ",
    "typeinfo for ",
    "vtable for ",
    "construction vtable for ",
    "VTT for ",
};

static size_t special_prefix_len(const char *s) {
  for (size_t i = 0; i < sizeof special_prefixes / sizeof special_prefixes[0]; i++)
    if (starts_with(s, special_prefixes[i])) return strlen(special_prefixes[i]);
  return 0;
}

/* The simplification proper; returns the end of what it wrote, or NULL when
 * the name nests too deeply. */
static char *simplify(const char *full, char *out) {
  const char *begin = full, *s = full;
  size_t n;
  while ((n = special_prefix_len(s)) != 0) { /* "transaction clone for non-virtual thunk to" */
    memcpy(out, s, n);
    out += n;
    s += n;
  }
  s = skip_return_type(s);
  if (s == NULL) return NULL;
  /* A template function returning a function pointer prints as
   * "void (*f<int>(int))(long)": the name is inside the declarator. */
  if (s[0] == '(' && (s[1] == '*' || s[1] == '&')) {
    s++;
    while (*s == '*' || *s == '&') s++;
  }

  while (*s != '\0') {
    size_t op = operator_at(begin, s);
    if (op != 0) {
      memcpy(out, s, op);
      out += op;
      s += op;
      if (s[0] == ' ' && s[1] == '<') s++; /* "operator<< <T>": the space goes with <T> */
    } else if (*s == '(' && is_anonymous_namespace(s)) {
      size_t len = strlen("(anonymous namespace)");
      memcpy(out, s, len);
      out += len;
      s += len;
    } else if (*s == '(') {
      s = skip_group(begin, s); /* the parameter list */
      if (s == NULL) return NULL;
      s = after_params(begin, s);
      if (s == NULL) return NULL;
    } else if (*s == '<') {
      s = skip_group(begin, s); /* template arguments */
      if (s == NULL) return NULL;
    } else if (is_clone_suffix(s)) {
      s = skip_group(begin, s + 1);
      if (s == NULL) return NULL;
    } else if (*s == '{' || *s == '[') {
      /* a lambda or an unnamed type; an ABI tag */
      const char *end = skip_group(begin, s);
      if (end == NULL) return NULL;
      out = copy_without_targs(begin, s, end, out);
      if (out == NULL) return NULL;
      s = end;
    } else {
      *out++ = *s++;
    }
  }
  return out;
}

char *prof_cxx_simplify(const char *full, char *out) {
  size_t len = strlen(full);
  if (strpbrk(full, "<([{ ") == NULL) {
    memcpy(out, full, len + 1);
    return out;
  }
  char *end = simplify(full, out);
  while (end != NULL && end > out && end[-1] == ' ') end--;
  if (end == NULL || end == out) {
    memcpy(out, full, len + 1); /* too deep, or nothing left: the full name */
    return out;
  }
  *end = '\0';
  return out;
}

int prof_cxx_looks_demangled(const char *name) {
  return strchr(name, '<') != NULL || strstr(name, "::") != NULL;
}
