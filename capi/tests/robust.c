/* C tests of libnamedsem's robust extension (namedsem_open_robust,
 * namedsem_recover): the calls on a robust handle, their errors, and the
 * liveness cases with C holders: a SIGKILLed holder's token comes back to a
 * waiter (one that checks before it sleeps, and one already asleep), a
 * stopped holder's token is not taken, a forked child keeps its parent's
 * tokens held, and exec gives them back; and sem_post from a signal
 * handler that interrupts its own thread's sem_wait or sem_post.
 *
 * Built with -DUSE_NAMEDSEM_H and -lnamedsem only (ci/capi.sh): the
 * extension is this library's. Prints one line per check and ends with
 * "N passed, N failed, N skipped".
 */
#define _GNU_SOURCE
#include "namedsem.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

static int timed_wait_ms(sem_t *s, long ms) {
  struct timespec t = after_ms(CLOCK_REALTIME, ms);
  int r;
  while ((r = sem_timedwait(s, &t)) == -1 && errno == EINTR) {}
  return r;
}
static int file_size(const char *name) {
  char path[400];
  struct stat st;
  snprintf(path, sizeof path, "/dev/shm/sem.%s", name + 1);
  return stat(path, &st) == 0 ? (int)st.st_size : -1;
}
static void reap(pid_t pid) {
  while (waitpid(pid, NULL, 0) == -1 && errno == EINTR) {}
}

static void t_calls(void) {
  const char *n = new_name("calls");
  sem_t *s = namedsem_open_robust(n, O_CREAT | O_EXCL, 0600, 2);
  CHECK(s != SEM_FAILED, "robust: created");
  if (s == SEM_FAILED) return;
  CHECK(file_size(n) == 4096, "robust: the file holds the record (%d bytes)", file_size(n));
  CHECK(value_of(s) == 2, "robust: sem_getvalue");
  CHECK(sem_wait(s) == 0 && value_of(s) == 1, "robust: sem_wait takes");
  CHECK(sem_trywait(s) == 0 && value_of(s) == 0, "robust: sem_trywait takes");
  CHECK(FAILS(sem_trywait(s), EAGAIN), "robust: sem_trywait at 0 is EAGAIN");
  struct timespec past = {0, 0};
  CHECK(FAILS(sem_timedwait(s, &past), ETIMEDOUT), "robust: a past deadline is ETIMEDOUT");
  struct timespec bad = {0, 1000000000L};
  CHECK(FAILS(sem_timedwait(s, &bad), EINVAL), "robust: tv_nsec out of range is EINVAL");
  struct timespec mono;
  clock_gettime(CLOCK_MONOTONIC, &mono);
  CHECK(FAILS(sem_clockwait(s, CLOCK_MONOTONIC, &mono), ETIMEDOUT), "robust: sem_clockwait");
  CHECK(namedsem_recover(s) == 0, "robust: nothing to recover while the holder lives");
  CHECK(sem_post(s) == 0 && sem_post(s) == 0 && value_of(s) == 2, "robust: sem_post gives back");
  CHECK(FAILS(sem_destroy(s), EINVAL), "robust: sem_destroy of a handle is EINVAL");

  /* sem_close gives back what the handle holds. */
  CHECK(sem_wait(s) == 0 && value_of(s) == 1, "robust: one held before sem_close");
  sem_t *plain = sem_open(n, 0);
  CHECK(plain != SEM_FAILED, "robust: plain sem_open shares the semaphore");
  CHECK(sem_close(s) == 0, "robust: sem_close");
  CHECK(value_of(plain) == 2, "robust: sem_close gave the held token back (value %d)", value_of(plain));
  CHECK(FAILS(namedsem_recover(plain), EINVAL), "robust: namedsem_recover of a plain sem_t is EINVAL");
  CHECK(FAILS(namedsem_recover((sem_t *)((char *)plain + 1)), EINVAL),
        "robust: namedsem_recover of a misaligned pointer is EINVAL");
  CHECK(FAILS(sem_post((sem_t *)((char *)plain + 1)), EINVAL),
        "robust: sem_post of a misaligned pointer is still EINVAL");
  /* A second handle is a second holder with a slot of its own. */
  sem_t *a = namedsem_open_robust(n, 0), *b = namedsem_open_robust(n, O_CREAT, 0600, 2);
  CHECK(a != SEM_FAILED && b != SEM_FAILED && a != b, "robust: each open is a new handle");
  if (a != SEM_FAILED && b != SEM_FAILED) {
    CHECK(sem_wait(a) == 0 && sem_wait(b) == 0 && value_of(plain) == 0, "robust: two holders");
    CHECK(sem_post(a) == 0 && sem_close(a) == 0 && sem_close(b) == 0 && value_of(plain) == 2,
          "robust: both given back");
  }
  sem_close(plain);
}

static void t_errors(void) {
  const char *n = new_name("errors");
  CHECK(OPEN_FAILS(namedsem_open_robust(n, 0), ENOENT), "robust: missing without O_CREAT is ENOENT");
  CHECK(OPEN_FAILS(namedsem_open_robust(n, O_CREAT, 0600, 0x80000000u), EINVAL),
        "robust: value above SEM_VALUE_MAX is EINVAL");
  CHECK(OPEN_FAILS(namedsem_open_robust(NULL, O_CREAT, 0600, 1), EINVAL), "robust: a null name is EINVAL");
  CHECK(OPEN_FAILS(namedsem_open_robust("/a/b", O_CREAT, 0600, 1), EINVAL), "robust: a bad name is EINVAL");
  sem_t *plain = sem_open(n, O_CREAT | O_EXCL, 0600, 3);
  CHECK(plain != SEM_FAILED, "robust: a plain semaphore");
  CHECK(OPEN_FAILS(namedsem_open_robust(n, O_CREAT | O_EXCL, 0600, 3), EEXIST), "robust: O_EXCL is EEXIST");
  CHECK(OPEN_FAILS(namedsem_open_robust(n, 0), EINVAL), "robust: no record and no O_CREAT is EINVAL");
  CHECK(file_size(n) == (int)sizeof(sem_t), "robust: ... and the file is unchanged");
  sem_t *r = namedsem_open_robust(n, O_CREAT, 0600, 3);
  CHECK(r != SEM_FAILED && file_size(n) == 4096, "robust: O_CREAT adds the record");
  CHECK(sem_trywait(plain) == 0 && value_of(plain) == 2, "robust: the plain pointer still works");
  CHECK(sem_post(plain) == 0, "robust: plain post");
  /* The record's slots: 124 robust handles at once. */
  static sem_t *many[130];
  int opened = 0;
  if (r != SEM_FAILED) {
    opened = 1;
    many[0] = r;
    while (opened < 130 && (many[opened] = namedsem_open_robust(n, 0)) != SEM_FAILED) opened++;
    CHECK(opened == 124 && errno == ENOSPC, "robust: 124 handles, then ENOSPC (%d)", opened);
    for (int i = 0; i < opened; i++) sem_close(many[i]);
  }
  sem_close(plain);
}

/* A holder in a child: opens a robust handle, takes a token, says so on
 * the pipe, then does what `then` says. */
enum then { PAUSE, FORK, EXEC };
static pid_t holder(const char *name, enum then then, pid_t *grandchild) {
  int fds[2];
  if (pipe(fds) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    sem_t *s = namedsem_open_robust(name, 0);
    if (s == SEM_FAILED || sem_wait(s) != 0) _exit(2);
    pid_t g = 0;
    if (then == FORK && (g = fork()) == 0) {
      for (;;) pause(); /* keeps the inherited handle */
    }
    if (write(fds[1], &g, sizeof g) != sizeof g) _exit(3);
    if (then == EXEC) execl("/bin/sleep", "sleep", "30", (char *)NULL);
    for (;;) pause();
  }
  close(fds[1]);
  pid_t g = -1;
  ssize_t got;
  while ((got = read(fds[0], &g, sizeof g)) == -1 && errno == EINTR) {}
  close(fds[0]);
  if (got != sizeof g) {
    if (pid > 0) { kill(pid, SIGKILL); reap(pid); }
    return -1;
  }
  if (grandchild) *grandchild = g;
  return pid;
}

static void *kill_later(void *arg) {
  struct timespec d = {0, 200 * 1000000L};
  nanosleep(&d, NULL);
  kill(*(pid_t *)arg, SIGKILL);
  return NULL;
}

static void t_killed(void) {
  const char *n = new_name("killed");
  sem_t *s = namedsem_open_robust(n, O_CREAT | O_EXCL, 0600, 1);
  CHECK(s != SEM_FAILED, "killed: created");
  if (s == SEM_FAILED) return;
  pid_t pid = holder(n, PAUSE, NULL);
  CHECK(pid > 0 && value_of(s) == 0, "killed: a C holder took the token");
  if (pid <= 0) return;
  kill(pid, SIGKILL);
  reap(pid);
  CHECK(timed_wait_ms(s, 5000) == 0, "killed: the waiter got the dead holder's token");
  CHECK(namedsem_recover(s) == 0 && value_of(s) == 0, "killed: given back once");
  CHECK(sem_post(s) == 0 && value_of(s) == 1, "killed: value back to 1");

  /* A waiter already asleep when the holder dies wakes within its period. */
  pid = holder(n, PAUSE, NULL);
  CHECK(pid > 0 && value_of(s) == 0, "killed, asleep: a C holder took the token");
  if (pid <= 0) return;
  pthread_t t;
  pthread_create(&t, NULL, kill_later, &pid);
  CHECK(timed_wait_ms(s, 5000) == 0, "killed, asleep: the sleeping waiter got the token");
  pthread_join(t, NULL);
  reap(pid);
  CHECK(sem_post(s) == 0 && value_of(s) == 1, "killed, asleep: value back to 1");

  /* namedsem_recover reports what it gave back. */
  pid = holder(n, PAUSE, NULL);
  if (pid > 0) {
    kill(pid, SIGKILL);
    reap(pid);
    CHECK(namedsem_recover(s) == 1 && value_of(s) == 1, "killed: namedsem_recover returns 1");
  }
  sem_close(s);
}

static void t_alive(void) {
  const char *n = new_name("alive");
  sem_t *s = namedsem_open_robust(n, O_CREAT | O_EXCL, 0600, 1);
  CHECK(s != SEM_FAILED, "alive: created");
  if (s == SEM_FAILED) return;

  /* Stopped: alive. */
  pid_t pid = holder(n, PAUSE, NULL);
  if (pid > 0) {
    kill(pid, SIGSTOP);
    waitpid(pid, NULL, WUNTRACED);
    CHECK(FAILS(timed_wait_ms(s, 300), ETIMEDOUT), "stopped: the token is not taken");
    CHECK(namedsem_recover(s) == 0 && value_of(s) == 0, "stopped: nothing recovered");
    kill(pid, SIGKILL);
    kill(pid, SIGCONT);
    reap(pid);
    CHECK(timed_wait_ms(s, 5000) == 0, "stopped, then killed: the token comes back");
    sem_post(s);
  }

  /* A forked child keeps its parent's handle alive. */
  pid_t grandchild = 0;
  pid = holder(n, FORK, &grandchild);
  CHECK(pid > 0 && grandchild > 0, "fork: a holder with a forked child");
  if (pid > 0 && grandchild > 0) {
    kill(pid, SIGKILL);
    reap(pid);
    CHECK(FAILS(timed_wait_ms(s, 300), ETIMEDOUT), "fork: the child keeps the token held");
    CHECK(namedsem_recover(s) == 0, "fork: nothing recovered while the child lives");
    kill(grandchild, SIGKILL);
    reap(grandchild); /* ours: this process is a subreaper */
    CHECK(timed_wait_ms(s, 5000) == 0, "fork: back once the child is gone too");
    sem_post(s);
  }

  /* exec ends the holder: its token comes back while the program runs on. */
  pid = holder(n, EXEC, NULL);
  if (pid > 0) {
    CHECK(timed_wait_ms(s, 5000) == 0, "exec: the token came back");
    CHECK(kill(pid, 0) == 0, "exec: while the process still runs");
    kill(pid, SIGKILL);
    reap(pid);
    sem_post(s);
  }
  CHECK(value_of(s) == 1, "alive: value 1 at the end");
  sem_close(s);
}

/* sem_post is async-signal-safe: a handler's sem_post on a robust handle
 * that lands inside its own thread's sem_wait or sem_post (between the
 * exclusive lane's mark and its settlement, a few instructions) must not
 * wait for that thread, which cannot run until the handler returns. A
 * child loops sem_wait/sem_post under a 50 us interval timer whose handler
 * posts; the parent gives it 30 s. (Waiting for the lane without a bound
 * hung here within milliseconds.) */
static sem_t *signalled;
static void post_from_handler(int sig) {
  (void)sig;
  int saved = errno;
  sem_post(signalled);
  errno = saved;
}
static void t_signal_handler_post(void) {
  const char *n = new_name("sighandler");
  sem_t *s = namedsem_open_robust(n, O_CREAT | O_EXCL, 0600, 4);
  CHECK(s != SEM_FAILED, "signal: created");
  if (s == SEM_FAILED) return;
  pid_t pid = fork();
  if (pid == 0) {
    signalled = namedsem_open_robust(n, 0);
    if (signalled == SEM_FAILED) _exit(2);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = post_from_handler;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    struct itimerval it = {{0, 50}, {0, 50}};
    setitimer(ITIMER_REAL, &it, NULL);
    for (long i = 0; i < 300000; i++) {
      if (sem_wait(signalled) != 0 && errno != EINTR) _exit(3);
      sem_post(signalled);
    }
    struct itimerval off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &off, NULL);
    _exit(0);
  }
  int status = -1, done = 0;
  for (int t = 0; t < 3000 && pid > 0; t++) {
    if (waitpid(pid, &status, WNOHANG) == pid) { done = 1; break; }
    usleep(10000);
  }
  if (pid > 0 && !done) { kill(pid, SIGKILL); reap(pid); }
  CHECK(done && WIFEXITED(status) && WEXITSTATUS(status) == 0,
        "signal: sem_post from a handler inside its thread's sem_wait/sem_post returns (status %d)", status);
  namedsem_recover(s); /* the child's slot and beacon, if it was killed */
  sem_close(s);
}

int main(void) {
  atexit(cleanup);
  setvbuf(stdout, NULL, _IOLBF, 0);
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  t_calls();
  t_errors();
  t_killed();
  t_alive();
  t_signal_handler_post();
  return finish();
}
