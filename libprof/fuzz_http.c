/* fuzz_http.c: the request parser of ALLOCPROF_HTTP (http_request.c) under
 * a fuzzer: any bytes a client sends end in a status, nothing is read
 * beyond them (the fuzzer's sanitizers see an overrun), and a head that
 * parses names a known route. Built and run by fuzz_http.cmake. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* the server never gives more than its buffer */
  if (size > PROF_HTTP_REQUEST_MAX) size = PROF_HTTP_REQUEST_MAX;
  char *copy = malloc(size + 1); /* exactly size bytes of input: an overrun is caught */
  if (copy == NULL) return 0;
  if (size) memcpy(copy, data, size);
  struct prof_http_request r;
  int st = prof_http_parse(copy, size, &r);
  if (st != 0 && st != 200 && st != 400 && st != 404 && st != 405 && st != 431 && st != 505)
    abort();
  if (st == 200 && (r.route > PROF_HTTP_METRICS || r.seconds > PROF_HTTP_MAX_SECONDS)) abort();
  if (st == 0 && size >= PROF_HTTP_REQUEST_MAX) abort();
  free(copy);
  return 0;
}
