/* dumplib_ctor.c: a library whose constructor calls back into the program
 * that dlopen()s it, so that the program runs code inside dlopen, holding
 * the loader's lock (dumplib_load.c, mode ctorfork). DUMPLIB_CTOR_HOOK holds
 * the callback's address in hex; unset, the constructor does nothing. */
#include <stdint.h>
#include <stdlib.h>

__attribute__((constructor)) static void ctor_call_back(void) {
  const char *hook = getenv("DUMPLIB_CTOR_HOOK");
  if (hook == NULL) return;
  void (*fn)(void) = (void (*)(void))(uintptr_t)strtoull(hook, NULL, 16);
  if (fn != NULL) fn();
}
