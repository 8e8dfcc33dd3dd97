/* C tests of the table of open named semaphores and of the limits: 10,000
 * semaphores open at once, 8 threads opening, closing and unlinking, a
 * sem_open that fails for want of memory and leaves nothing behind, and the
 * errno of over-long names.
 *
 * Built and run the same ways as semtest.c (see ci/capi.sh), with
 * EXPECT_IMPL=glibc for the reference run on plain glibc.
 * Prints one line per check and ends with "N passed, N failed, N skipped".
 */
#define _GNU_SOURCE
#ifdef USE_NAMEDSEM_H
#include "namedsem.h"
#else
#include <semaphore.h>
#endif
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <gnu/libc-version.h>
#endif

#include "harness.h"

#define MANY 10000

static int exists(const char *name) {
  char path[400];
  snprintf(path, sizeof path, "/dev/shm/sem.%s", name + 1);
  return access(path, F_OK) == 0;
}

/* How many files from /dev/shm this process has mapped, by
 * /proc/self/maps. (By directory, not by name: a mapping keeps the name its
 * file had when mapped, which for a new semaphore is a temporary one.) */
static int mappings(void) {
  char line[600];
  FILE *f = fopen("/proc/self/maps", "r");
  if (!f) return -1;
  int n = 0;
  while (fgets(line, sizeof line, f))
    if (strstr(line, " /dev/shm/")) n++;
  fclose(f);
  return n;
}

/* This process's id, in every name the tests make (children's too), so
 * that the build script finds anything left behind. */
static int main_pid;

static int expect_glibc(void) {
  const char *e = getenv("EXPECT_IMPL");
  return e && strcmp(e, "glibc") == 0;
}

/* ------------------------------------------------------------- many --- */
static sem_t *many[MANY];
static void many_name(char *buf, size_t size, int i) {
  snprintf(buf, size, "/nsem-capi-%d-many-%d", main_pid, i);
}
static void unlink_many(void) {
  char name[100];
  for (int i = 0; i < MANY; i++) {
    many_name(name, sizeof name, i);
    sem_unlink(name);
  }
}

static void t_many(void) {
  char name[100];
  int opened = 0;
  while (opened < MANY) {
    many_name(name, sizeof name, opened);
    many[opened] = sem_open(name, O_CREAT | O_EXCL, 0600, (unsigned)(opened % 7));
    if (many[opened] == SEM_FAILED) break;
    opened++;
  }
  CHECK(opened == MANY, "%d distinct named semaphores open at once (%d)", MANY, opened);
  int values = 1, same = 1;
  for (int i = 0; i < opened; i++) {
    int v = -1;
    values &= sem_getvalue(many[i], &v) == 0 && v == i % 7;
    many_name(name, sizeof name, i);
    same &= sem_open(name, 0) == many[i];
  }
  CHECK(values, "each reads its own initial value");
  CHECK(same, "sem_open of each open name returns its pointer");
  int mapped = mappings();
  CHECK(mapped == opened, "one mapping per semaphore (%d)", mapped);
  int closed = 1;
  for (int i = 0; i < opened; i++) closed &= sem_close(many[i]) == 0 && sem_close(many[i]) == 0;
  CHECK(closed, "two sem_close each");
  mapped = mappings();
  CHECK(mapped == 0, "all unmapped after the last sem_close (%d left)", mapped);
  int unlinked = 1;
  for (int i = 0; i < opened; i++) {
    many_name(name, sizeof name, i);
    unlinked &= sem_unlink(name) == 0;
  }
  CHECK(unlinked, "all %d unlinked", opened);
}

/* ---------------------------------------------------------- threads --- */
#define THREADS 8
#define ROUNDS 2000
#define SHARED 4
static const char *shared_names[SHARED];
static const char *held_name;
static sem_t *held;

/* Opens and closes the shared names at random, unlinking now and then, and
 * checks each step; returns a bit mask of the kinds of failure seen. */
static void *worker(void *arg) {
  unsigned seed = (unsigned)(uintptr_t)arg;
  uintptr_t bad = 0;
  for (int r = 0; r < ROUNDS; r++) {
    const char *n = shared_names[rand_r(&seed) % SHARED];
    sem_t *s = sem_open(n, O_CREAT, 0600, 1);
    if (s == SEM_FAILED) {
      bad |= 1;
      continue;
    }
    if (sem_open(held_name, 0) != held) bad |= 2;
    /* The post comes before the trywait, so a token is always there; a
     * semaphore unmapped under a thread would crash or misread here. */
    int v = -1;
    if (sem_post(s) != 0 || sem_trywait(s) != 0 || sem_getvalue(s, &v) != 0 || v < 1) bad |= 4;
    if (rand_r(&seed) % 8 == 0 && sem_unlink(n) != 0 && errno != ENOENT) bad |= 8;
    if (sem_close(held) != 0) bad |= 16;
    if (sem_close(s) != 0) bad |= 32;
  }
  return (void *)bad;
}

static void t_threads(void) {
  held_name = new_name("mt-held");
  for (int i = 0; i < SHARED; i++) {
    char tag[20];
    snprintf(tag, sizeof tag, "mt-%d", i);
    shared_names[i] = new_name(tag);
  }
  held = sem_open(held_name, O_CREAT | O_EXCL, 0600, 0);
  CHECK(held != SEM_FAILED, "create the semaphore held throughout");
  if (held == SEM_FAILED) return;
  pthread_t th[THREADS];
  for (int i = 0; i < THREADS; i++) pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)(i + 1));
  uintptr_t bad = 0;
  for (int i = 0; i < THREADS; i++) {
    void *r;
    pthread_join(th[i], &r);
    bad |= (uintptr_t)r;
  }
  CHECK(bad == 0, "%d threads x %d rounds of sem_open, sem_post, sem_trywait, sem_unlink, sem_close (failures 0x%x)",
        THREADS, ROUNDS, (unsigned)bad);
  int mapped = mappings();
  CHECK(mapped == 1, "afterwards only the held semaphore is mapped (%d)", mapped);
  CHECK(sem_close(held) == 0 && mappings() == 0, "its sem_close unmaps it");
  for (int i = 0; i < SHARED; i++) sem_unlink(shared_names[i]);
  sem_unlink(held_name);
}

/* ---------------------------------------------------------- failure --- */
/* Grows the stack's mapping by 256 KiB, so that later calls need no more. */
static void __attribute__((noinline)) grow_stack(void) {
  volatile char pad[256 * 1024];
  memset((char *)pad, 1, sizeof pad);
}

/* Lowers RLIMIT_AS to the address space in use plus EXTRA pages, so that
 * new mappings beyond that fail with ENOMEM; returns the old limit. */
static struct rlimit no_more_memory(long extra) {
  struct rlimit old, tight;
  /* Read with plain system calls: a stdio buffer freed afterwards would be
   * unmapped (musl) and leave room for a mapping. */
  char buf[64] = {0};
  int fd = open("/proc/self/statm", O_RDONLY);
  if (fd < 0 || read(fd, buf, sizeof buf - 1) <= 0) _exit(100);
  close(fd);
  long pages = strtol(buf, NULL, 10);
  getrlimit(RLIMIT_AS, &old);
  tight = old;
  tight.rlim_cur = (rlim_t)(pages + extra) * (rlim_t)sysconf(_SC_PAGESIZE);
  if (setrlimit(RLIMIT_AS, &tight) != 0) _exit(101);
  return old;
}

/* In a child: with SIZE semaphores open, under no_more_memory(), creating
 * fails with ENOMEM and leaves nothing; opening a semaphore not yet open
 * fails the same way; reopening an open one needs no memory. Exit status:
 * a bit mask of what went wrong. */
static int fail_with_open(int size) {
  static sem_t *open_ones[300];
  char name[100], fresh[100], closed[100];
  int bad = 0;
  snprintf(fresh, sizeof fresh, "/nsem-capi-%d-fail-fresh", main_pid);
  snprintf(closed, sizeof closed, "/nsem-capi-%d-fail-closed", main_pid);
  /* First, so that the table holds exactly SIZE entries below. */
  sem_t *c = sem_open(closed, O_CREAT | O_EXCL, 0600, 1);
  if (c == SEM_FAILED || sem_close(c) != 0) return 1;
  for (int i = 0; i < size; i++) {
    snprintf(name, sizeof name, "/nsem-capi-%d-fail-%d", main_pid, i);
    open_ones[i] = sem_open(name, O_CREAT | O_EXCL, 0600, 1);
    if (open_ones[i] == SEM_FAILED) return 1;
  }
  grow_stack();
  /* Room for the semaphore's own page and no more: creating may work, or
   * fail if anything else needs memory (the table's storage growing), but
   * a failure leaves nothing behind. First, before anything below lets
   * the table grow with memory to spare. */
  struct rlimit old = no_more_memory(1);
  sem_t *f = sem_open(fresh, O_CREAT | O_EXCL, 0600, 1);
  int err = errno;
  setrlimit(RLIMIT_AS, &old);
  if (f == SEM_FAILED && (err != ENOMEM || exists(fresh))) bad |= 2;
  if (f != SEM_FAILED && sem_close(f) != 0) bad |= 2;
  sem_unlink(fresh);
  old = no_more_memory(0);
  if (!OPEN_FAILS(sem_open(fresh, O_CREAT | O_EXCL, 0600, 1), ENOMEM)) bad |= 4;
  if (!OPEN_FAILS(sem_open(fresh, O_CREAT, 0600, 1), ENOMEM)) bad |= 8;
  if (!OPEN_FAILS(sem_open(closed, 0), ENOMEM)) bad |= 16;
  if (size > 0) {
    snprintf(name, sizeof name, "/nsem-capi-%d-fail-%d", main_pid, size - 1);
    sem_t *again = sem_open(name, 0);
    if (again != open_ones[size - 1] || sem_close(again) != 0) bad |= 32;
  }
  setrlimit(RLIMIT_AS, &old);
  if (exists(fresh)) bad |= 64;
  if (!exists(closed)) bad |= 128;
  /* With memory again, the same calls work: nothing was left half-done. */
  f = sem_open(fresh, O_CREAT | O_EXCL, 0600, 1);
  if (f == SEM_FAILED || sem_close(f) != 0) bad |= 2;
  sem_unlink(fresh);
  sem_unlink(closed);
  for (int i = 0; i < size; i++) {
    snprintf(name, sizeof name, "/nsem-capi-%d-fail-%d", main_pid, i);
    sem_close(open_ones[i]);
    sem_unlink(name);
  }
  return bad;
}

static void t_failure_leaves_nothing(void) {
  /* Table sizes around where its storage must grow: 4 KiB hold 128 entries
   * of 32 bytes (64-bit targets) or 170 of 24 (i686), then it doubles. */
  static const int sizes[] = {0, 1, 127, 128, 129, 170, 171, 255, 256, 257};
  for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) _exit(fail_with_open(sizes[i]));
    int st = -1;
    waitpid(pid, &st, 0);
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : 1000 + WTERMSIG(st);
    CHECK(code == 0,
          "%d open: with no memory for a mapping, sem_open fails with ENOMEM and creates nothing; "
          "reopening an open one still works (status %d)",
          sizes[i], code);
  }
}

/* ------------------------------------------------------------ names --- */
static const char *long_name(int len) {
  static char n[400];
  snprintf(n, sizeof n, "/nsem-capi-%d-", main_pid);
  size_t have = strlen(n) - 1; /* without the slash */
  memset(n + 1 + have, 'L', (size_t)len - have);
  n[1 + len] = 0;
  return n;
}

static void t_name_lengths(void) {
  for (int len = 252; len <= 255; len++)
    CHECK(FAILS(sem_unlink(long_name(len)), ENAMETOOLONG), "sem_unlink of a %d-byte name: ENAMETOOLONG", len);
  CHECK(FAILS(sem_unlink(long_name(256)), ENOENT), "sem_unlink of a 256-byte name: ENOENT");
  CHECK(FAILS(sem_unlink(long_name(300)), ENOENT), "sem_unlink of a 300-byte name: ENOENT");
  CHECK(OPEN_FAILS(sem_open(long_name(253), 0), ENAMETOOLONG), "sem_open of a 253-byte name: ENAMETOOLONG");
  int old_glibc = 0;
#ifdef __GLIBC__
  int major = 0, minor = 0;
  sscanf(gnu_get_libc_version(), "%d.%d", &major, &minor);
  old_glibc = expect_glibc() && (major < 2 || (major == 2 && minor < 38));
#endif
  int want = old_glibc ? EINVAL : ENAMETOOLONG;
  CHECK(OPEN_FAILS(sem_open(long_name(300), O_CREAT, 0600, 1), want), "sem_open of a 300-byte name: %s",
        old_glibc ? "EINVAL (glibc before 2.38)" : "ENAMETOOLONG");
}

/* glibc takes any bytes but '/' and NUL in a name, UTF-8 or not. */
static void t_bytes_names(void) {
  const char *name = new_name("bytes-\xff\xfe");
  sem_t *s = sem_open(name, O_CREAT | O_EXCL, 0600, 2);
  CHECK(s != SEM_FAILED, "sem_open of a name that is not UTF-8");
  if (s == SEM_FAILED)
    return;
  int value = -1;
  CHECK(sem_getvalue(s, &value) == 0 && value == 2, "its value is 2 (%d)", value);
  CHECK(exists(name), "its file is /dev/shm/sem.NAME, bytes as given");
  CHECK(sem_close(s) == 0, "sem_close");
  CHECK(sem_unlink(name) == 0, "sem_unlink of a name that is not UTF-8");
  CHECK(!exists(name), "the file is gone");
}

int main(void) {
  main_pid = (int)getpid();
  atexit(cleanup);
  atexit(unlink_many);
  setvbuf(stdout, NULL, _IOLBF, 0);
  t_name_lengths();
  t_bytes_names();
  t_failure_leaves_nothing();
  t_threads();
  t_many();
  return finish();
}
