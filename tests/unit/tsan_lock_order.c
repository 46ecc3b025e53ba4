/* tsan_lock_order: a lock-order inversion that ThreadSanitizer's deadlock
 * detector must report. unit.tsan_lock_order runs it with the options every
 * unit test that does not fork gets, and passes only when ThreadSanitizer
 * reports the inversion and fails the program: proof that those tests run
 * with lock-order checking on. Built only with ALLOC_SANITIZE=thread. */
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t b = PTHREAD_MUTEX_INITIALIZER;

/* b then a, on a thread that ends before main takes them as a then b: no
 * real deadlock, only the inverted order the detector is there to see. */
static void *b_then_a(void *arg) {
  pthread_mutex_lock(&b);
  pthread_mutex_lock(&a);
  pthread_mutex_unlock(&a);
  pthread_mutex_unlock(&b);
  return arg;
}

int main(void) {
  pthread_t t;
  if (pthread_create(&t, NULL, b_then_a, NULL) != 0) return 2;
  pthread_join(t, NULL);
  pthread_mutex_lock(&a);
  pthread_mutex_lock(&b);
  pthread_mutex_unlock(&b);
  pthread_mutex_unlock(&a);
  puts("tsan_lock_order: done");
  return 0;
}
