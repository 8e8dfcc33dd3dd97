/* sem_unlink from C racing the drops of a Rust program's owners, for a
 * bounded time, with every core busy.
 *
 * The owners are processes of the crate's own test binary tests/name_races.rs
 * (OWNER names it; its role "race-owner"): each loops creating the semaphore
 * where the name is free (CreateNew), holding it a moment and dropping the
 * handle, which unlinks the name only if it is still theirs. This program
 * loops: sem_unlink the name, then sem_open(O_CREAT | O_EXCL) a semaphore K
 * of its own whose value tells it apart (1000 + the round); one round in
 * three only unlinks. Nothing but this program may change a name that
 * refers to K (an owner's create fails while it exists; a drop may only
 * remove its own semaphore), so K is looked at right after its creation and
 * again a moment later, and anything but K is an anomaly: the name missing
 * (a drop removed K's name), another semaphore (K's name lost to a
 * newcomer), an older K (a resurrection). At the end no file may be left.
 *
 * With libnamedsem (linked, LD_PRELOAD, static musl) every sem_unlink takes
 * the lock the owners' drops take: anomalies fail the run. With plain glibc
 * (EXPECT_IMPL=glibc, the reference), whose sem_unlink takes no lock, the
 * counts are only printed: that is the window a glibc peer leaves open (a
 * drop between its re-check and its unlink removes the newer semaphore, as a
 * sem_unlink right after its creation would).
 *
 *   OWNER=target/debug/deps/name_races-HASH race [SECONDS]
 * Prints one line per check and ends with "N passed, N failed, N skipped".
 */
#define _GNU_SOURCE
#ifdef USE_NAMEDSEM_H
#include "namedsem.h"
#else
#include <semaphore.h>
#endif
#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define OWNERS 2
#define FIRST_TAG 1000

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The value of the semaphore at `name`, or -1 if there is none. */
static int value_at(const char *name) {
  sem_t *s = sem_open(name, 0);
  if (s == SEM_FAILED) return -1;
  int v = -2;
  sem_getvalue(s, &v);
  sem_close(s);
  return v;
}

static pid_t spawn_owner(const char *owner, const char *args) {
  pid_t pid = fork();
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) dup2(null, 1); /* the test harness's own lines */
    setenv("NSEM_ROLE", "race-owner", 1);
    setenv("NSEM_ARGS", args, 1);
    execl(owner, owner, "child", "--exact", "--ignored", "--nocapture", "--test-threads=1", "-q",
          (char *)NULL);
    _exit(127);
  }
  return pid;
}

static pid_t spawn_hog(void) {
  pid_t pid = fork();
  if (pid == 0) {
    for (;;) __asm__ volatile("" ::: "memory");
  }
  return pid;
}

int main(int argc, char **argv) {
  atexit(cleanup);
  setvbuf(stdout, NULL, _IOLBF, 0);
  const char *owner = getenv("OWNER");
  const char *expect = getenv("EXPECT_IMPL");
  int reference = expect && strcmp(expect, "glibc") == 0;
  double seconds = argc > 1 ? atof(argv[1]) : 3.0;
  if (!owner) {
    skip("OWNER (the crate's tests/name_races.rs test binary) not set");
    return finish();
  }
  const char *name = new_name("race");
  const char *stop_name = new_name("race-stop");
  const char *created_name = new_name("race-created");
  const char *stale_name = new_name("race-stale");
  sem_t *stop = sem_open(stop_name, O_CREAT | O_EXCL, 0600, 0);
  sem_t *created = sem_open(created_name, O_CREAT | O_EXCL, 0600, 0);
  sem_t *stale = sem_open(stale_name, O_CREAT | O_EXCL, 0600, 0);
  CHECK(stop != SEM_FAILED && created != SEM_FAILED && stale != SEM_FAILED, "counters created");
  char args[1400];
  snprintf(args, sizeof args, "/dev/shm\x1f%s\x1f%s\x1f%s\x1f%s", name + 1, stop_name, created_name,
           stale_name);
  long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
  if (ncpu < 1) ncpu = 1;
  pid_t hogs[64], owners[OWNERS];
  int nhogs = ncpu < 64 ? (int)ncpu : 64;
  for (int i = 0; i < nhogs; i++) hogs[i] = spawn_hog();
  for (int i = 0; i < OWNERS; i++) owners[i] = spawn_owner(owner, args);

  long rounds = 0, unlinks = 0, taken = 0, fine = 0, missing = 0, lost = 0, resurrected = 0;
  double end = now() + seconds;
  while (now() < end) {
    rounds++;
    if (sem_unlink(name) == 0) unlinks++;
    else if (errno != ENOENT) { CHECK(0, "sem_unlink: %s", strerror(errno)); break; }
    if (rounds % 3 == 0) {
      sched_yield();
      continue;
    }
    unsigned tag = FIRST_TAG + (unsigned)rounds;
    sem_t *k = sem_open(name, O_CREAT | O_EXCL, 0600, tag);
    if (k == SEM_FAILED) {
      if (errno == EEXIST) { taken++; continue; } /* an owner created first */
      CHECK(0, "sem_open(O_CREAT | O_EXCL): %s", strerror(errno));
      break;
    }
    for (int look = 0; look < 2; look++) {
      int v = value_at(name);
      if (v == (int)tag) fine++;
      else if (v == -1) missing++;
      else if (v >= FIRST_TAG && v < (int)tag) resurrected++;
      else lost++;
      for (volatile int spin = 0; spin < 2000; spin++) {}
    }
    sem_close(k);
  }
  sem_post(stop);
  for (int i = 0; i < OWNERS; i++) {
    int st = -1;
    waitpid(owners[i], &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "owner %d exited cleanly (status %d)", i, st);
  }
  for (int i = 0; i < nhogs; i++) kill(hogs[i], SIGKILL);
  for (int i = 0; i < nhogs; i++) waitpid(hogs[i], NULL, 0);
  sem_unlink(name);
  char path[400];
  snprintf(path, sizeof path, "/dev/shm/sem.%s", name + 1);
  struct stat st;
  int left = lstat(path, &st) == 0;
  int made = -1, lost_races = -1;
  sem_getvalue(created, &made);
  sem_getvalue(stale, &lost_races);
  printf("race: %ld rounds (%ld sem_unlink that removed a semaphore, %ld creations that found an "
         "owner's), %d semaphores created by the owners, %d drops that lost the race (found their "
         "semaphore replaced), %ld looks that found K; anomalies: %ld lost newer names, %ld names "
         "missing while published, %ld resurrections, %d files left\n",
         rounds, unlinks, taken, made, lost_races, fine, lost, missing, resurrected, left);
  if (reference) {
    skip("plain glibc's sem_unlink takes no lock: anomalies only printed");
  } else {
    CHECK(lost == 0 && missing == 0 && resurrected == 0,
          "no lost newer name, no name missing while published, no resurrection");
  }
  CHECK(!left, "no file left at the name");
  CHECK(rounds > 100 && made > 0, "the race ran (%ld rounds, %d owners' creations)", rounds, made);
  CHECK(lost_races > 0, "owners' drops lost the race (%d)", lost_races);
  sem_close(stop);
  sem_close(created);
  sem_close(stale);
  return finish();
}
