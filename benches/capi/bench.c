/* The C library against glibc, one C source built twice (see run.sh): the
 * same loops call whichever sem_* the program was linked with.
 *
 *   bench [ITERATIONS]   prints "case nanoseconds-per-iteration" lines:
 *   reopen       sem_open(name, 0) + sem_close while the name stays open
 *   wait-post    sem_wait + sem_post, uncontended, on a named semaphore
 *   create       sem_open(O_CREAT|O_EXCL) + sem_close + sem_unlink
 * Each case reports the best of 5 runs of ITERATIONS (default 20000).
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static char name[100];
static sem_t *held;

static int reopen(long n) {
  for (long i = 0; i < n; i++) {
    sem_t *s = sem_open(name, 0);
    if (s == SEM_FAILED || sem_close(s) != 0) return -1;
  }
  return 0;
}

static int wait_post(long n) {
  for (long i = 0; i < n; i++)
    if (sem_wait(held) != 0 || sem_post(held) != 0) return -1;
  return 0;
}

static int create(long n) {
  char fresh[120];
  snprintf(fresh, sizeof fresh, "%s-new", name);
  for (long i = 0; i < n; i++) {
    sem_t *s = sem_open(fresh, O_CREAT | O_EXCL, 0600, 1);
    if (s == SEM_FAILED || sem_close(s) != 0 || sem_unlink(fresh) != 0) return -1;
  }
  return 0;
}

static int run(const char *label, int (*f)(long), long n) {
  double best = 1e300;
  for (int r = 0; r < 5; r++) {
    double t0 = now_ns();
    if (f(n) != 0) {
      fprintf(stderr, "%s failed\n", label);
      return 1;
    }
    double per = (now_ns() - t0) / (double)n;
    if (per < best) best = per;
  }
  printf("%s %.1f\n", label, best);
  return 0;
}

int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 20000;
  snprintf(name, sizeof name, "/nsem-bench-capi-%d", (int)getpid());
  held = sem_open(name, O_CREAT | O_EXCL, 0600, 1);
  if (held == SEM_FAILED) {
    perror("sem_open");
    return 1;
  }
  int bad = run("reopen", reopen, n) | run("wait-post", wait_post, n * 10) | run("create", create, n / 4 + 1);
  sem_close(held);
  sem_unlink(name);
  return bad;
}
