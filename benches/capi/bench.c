/* The C library against glibc, one C source built twice (see run.sh): the
 * same loops call whichever sem_* the program was linked with.
 *
 *   bench CASE [ITERATIONS]   prints "CASE nanoseconds-per-iteration":
 *   reopen       sem_open(name, 0) + sem_close while the name stays open
 *   wait-post    sem_wait + sem_post, uncontended, on a named semaphore
 *                (10 x ITERATIONS)
 *   open         sem_open(name, 0) + sem_close of a semaphore not open
 *                otherwise: each open maps it, each close unmaps it
 *   create       sem_open(O_CREAT|O_EXCL) + sem_close + sem_unlink
 *                (ITERATIONS / 4)
 *   robust-wait-post  wait-post on a robust handle (namedsem_open_robust;
 *                the build for the library only, with -DNAMEDSEM_ROBUST)
 * The figure is the best of 25 batches of ITERATIONS / 5 (default 20000):
 * short batches, so that on a busy machine some run undisturbed.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static char name[100];
static sem_t *held;

#ifdef NAMEDSEM_ROBUST
/* The library's extension (namedsem.h declares it; this program includes
 * <semaphore.h> for both builds). */
sem_t *namedsem_open_robust(const char *name, int oflag, ...);

static sem_t *robust_held = SEM_FAILED;

static int robust_wait_post(long n) {
  for (long i = 0; i < n; i++)
    if (sem_wait(robust_held) != 0 || sem_post(robust_held) != 0) return -1;
  return 0;
}
#endif

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

static int open_close(long n) {
  char other[120];
  snprintf(other, sizeof other, "%s-other", name);
  sem_t *s = sem_open(other, O_CREAT | O_EXCL, 0600, 1);
  if (s == SEM_FAILED || sem_close(s) != 0) return -1;
  int bad = 0;
  for (long i = 0; i < n && !bad; i++) {
    s = sem_open(other, 0);
    bad = s == SEM_FAILED || sem_close(s) != 0;
  }
  sem_unlink(other);
  return bad ? -1 : 0;
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
  n = n / 5 + 1;
  for (int r = 0; r < 25; r++) {
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
  const char *which = argc > 1 ? argv[1] : "";
  long n = argc > 2 ? atol(argv[2]) : 20000;
  snprintf(name, sizeof name, "/nsem-bench-capi-%d", (int)getpid());
  held = sem_open(name, O_CREAT | O_EXCL, 0600, 1);
  if (held == SEM_FAILED) {
    perror("sem_open");
    return 1;
  }
  int bad;
  if (strcmp(which, "reopen") == 0)
    bad = run(which, reopen, n);
  else if (strcmp(which, "wait-post") == 0)
    bad = run(which, wait_post, n * 10);
  else if (strcmp(which, "open") == 0)
    bad = run(which, open_close, n);
  else if (strcmp(which, "create") == 0)
    bad = run(which, create, n / 4 + 1);
#ifdef NAMEDSEM_ROBUST
  else if (strcmp(which, "robust-wait-post") == 0) {
    char robust[120];
    snprintf(robust, sizeof robust, "%s-robust", name);
    robust_held = namedsem_open_robust(robust, O_CREAT | O_EXCL, 0600, 1);
    bad = robust_held == SEM_FAILED ? (perror("namedsem_open_robust"), 1)
                                    : run(which, robust_wait_post, n * 10);
    if (robust_held != SEM_FAILED) sem_close(robust_held);
  }
#endif
  else {
    fprintf(stderr, "usage: bench reopen|wait-post|open|create [ITERATIONS]\n");
    bad = 2;
  }
  sem_close(held);
  sem_unlink(name);
  /* What a failed case may have left (a clean run leaves nothing). */
  char left[120];
  snprintf(left, sizeof left, "%s-new", name);
  sem_unlink(left);
  snprintf(left, sizeof left, "%s-other", name);
  sem_unlink(left);
  snprintf(left, sizeof left, "%s-robust", name);
  sem_unlink(left);
  return bad;
}
