/* The test harness shared by the C test programs (semtest.c, limits.c,
 * race.c, robust.c): one line per check, a closing "N passed, N failed, N
 * skipped" line, semaphore names unique to the process that are unlinked at
 * exit, and two small helpers (a value, a deadline). Include it after
 * <semaphore.h> or "namedsem.h" and the C headers. */
#ifndef NSEM_HARNESS_H
#define NSEM_HARNESS_H

#include <time.h>

static int passed, failed, skipped;

static void check(int ok, int line, const char *fmt, ...) {
  int saved = errno;
  va_list ap;
  va_start(ap, fmt);
  printf("%s - ", ok ? "ok" : "not ok");
  vprintf(fmt, ap);
  va_end(ap);
  if (!ok) printf("  (line %d, errno %d %s)", line, saved, strerror(saved));
  printf("\n");
  fflush(stdout);
  if (ok) passed++; else failed++;
  errno = saved;
}
#define CHECK(cond, ...) check(!!(cond), __LINE__, __VA_ARGS__)
/* A call that must fail with -1 (or SEM_FAILED) and the given errno. */
#define FAILS(call, err) (errno = 0, (call) == -1 && errno == (err))
#define OPEN_FAILS(call, err) (errno = 0, (call) == SEM_FAILED && errno == (err))

static __attribute__((unused)) void skip(const char *what) {
  printf("skip - %s\n", what);
  skipped++;
}

/* Names: unique to this process; every one is unlinked at exit. */
static char names[64][300];
static int nnames;
static const char *new_name(const char *tag) {
  snprintf(names[nnames], sizeof names[0], "/nsem-capi-%d-%s", (int)getpid(), tag);
  return names[nnames++];
}
static void cleanup(void) {
  char path[400];
  for (int i = 0; i < nnames; i++) {
    snprintf(path, sizeof path, "/dev/shm/sem.%s", names[i] + 1);
    unlink(path);
  }
}
/* The value of a semaphore, or -12345 if sem_getvalue fails. */
static __attribute__((unused)) int value_of(sem_t *s) {
  int v = -12345;
  return sem_getvalue(s, &v) == 0 ? v : -12345;
}
/* The time ms milliseconds from now on clock. */
static __attribute__((unused)) struct timespec after_ms(clockid_t clock, long ms) {
  struct timespec t;
  clock_gettime(clock, &t);
  t.tv_sec += ms / 1000;
  t.tv_nsec += (ms % 1000) * 1000000L;
  if (t.tv_nsec >= 1000000000L) { t.tv_sec++; t.tv_nsec -= 1000000000L; }
  return t;
}
/* Prints the closing line; the program's exit status. */
static int finish(void) {
  printf("%d passed, %d failed, %d skipped\n", passed, failed, skipped);
  return failed ? 1 : 0;
}

#endif
