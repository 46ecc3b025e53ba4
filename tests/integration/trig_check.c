/* trig_check.c: reads what the profiler wrote, for the trigger tests
 * (trig_tests.sh), with the formats library (not under LD_PRELOAD).
 *
 *   trig_check profile FILE...  each FILE must read and validate as a whole
 *                               profile; prints "FILE samples=N inuse=B"
 *   trig_check inuse FILE       prints the sum of FILE's inuse_space values
 *   trig_check comments FILE    prints FILE's comments, one a line
 *   trig_check stream FILE      every complete frame of the snapshot stream
 *                               must decode and validate; prints
 *                               "frames=N bad=B truncated=T"
 *
 * Exit status 0 when all is well, 1 with a line on stderr otherwise. */
#include <stdio.h>
#include <string.h>

#include "profile_io.h"
#include "stream.h"

/* Sum of the values of sample type "inuse_space", or -1 without it. */
static long long inuse_space(const profile_pb *p) {
  for (size_t t = 0; t < p->n_sample_type; t++) {
    int64_t k = p->sample_type[t]->type;
    if (k < 0 || (size_t)k >= p->n_string_table || strcmp(p->string_table[k], "inuse_space") != 0)
      continue;
    long long sum = 0;
    for (size_t i = 0; i < p->n_sample; i++)
      if (t < p->sample[i]->n_value) sum += p->sample[i]->value[t];
    return sum;
  }
  return -1;
}

static int check_frame(void *ctx, size_t index, uint64_t offset, const uint8_t *pb, size_t len) {
  char name[64], err[512];
  snprintf(name, sizeof name, "frame %zu at %llu", index, (unsigned long long)offset);
  profile_pb *p = NULL;
  if (profile_decode(pb, len, name, &p, err, sizeof err) != 0) {
    fprintf(stderr, "trig_check: %s\n", err);
    return 1;
  }
  if (inuse_space(p) < 0) {
    fprintf(stderr, "trig_check: %s has no inuse_space\n", name);
    profile_free(p);
    return 1;
  }
  profile_free(p);
  (*(size_t *)ctx)++;
  return 0;
}

int main(int argc, char **argv) {
  char err[512];
  if (argc >= 3 && strcmp(argv[1], "profile") == 0) {
    int bad = 0;
    for (int i = 2; i < argc; i++) {
      profile_pb *p = NULL;
      if (profile_read_file(argv[i], &p, err, sizeof err) != 0) {
        fprintf(stderr, "trig_check: %s\n", err);
        bad = 1;
        continue;
      }
      long long in = inuse_space(p);
      if (in < 0) {
        fprintf(stderr, "trig_check: %s has no inuse_space sample type\n", argv[i]);
        bad = 1;
      }
      printf("%s samples=%zu inuse=%lld\n", argv[i], p->n_sample, in);
      profile_free(p);
    }
    return bad;
  }
  if (argc == 3 && strcmp(argv[1], "inuse") == 0) {
    profile_pb *p = NULL;
    if (profile_read_file(argv[2], &p, err, sizeof err) != 0) {
      fprintf(stderr, "trig_check: %s\n", err);
      return 1;
    }
    printf("%lld\n", inuse_space(p));
    profile_free(p);
    return 0;
  }
  if (argc == 3 && strcmp(argv[1], "comments") == 0) {
    profile_pb *p = NULL;
    if (profile_read_file(argv[2], &p, err, sizeof err) != 0) {
      fprintf(stderr, "trig_check: %s\n", err);
      return 1;
    }
    for (size_t i = 0; i < p->n_comment; i++) printf("%s\n", p->string_table[p->comment[i]]);
    profile_free(p);
    return 0;
  }
  if (argc == 3 && strcmp(argv[1], "stream") == 0) {
    size_t good = 0;
    stream_report rep;
    int rc = stream_read_file(argv[2], check_frame, &good, &rep, err, sizeof err);
    if (rc < 0) {
      fprintf(stderr, "trig_check: %s\n", err);
      return 1;
    }
    printf("frames=%zu bad=%zu truncated=%d\n", good, rep.bad_frames + rep.skipped_bytes,
           rep.truncated);
    if (rc != 0) return 1;
    if (rep.bad_frames != 0 || rep.skipped_bytes != 0) {
      fprintf(stderr, "trig_check: %s: %s\n", argv[2], rep.message);
      return 1;
    }
    return 0;
  }
  fprintf(stderr, "usage: trig_check profile FILE... | inuse FILE | comments FILE | stream FILE\n");
  return 2;
}
