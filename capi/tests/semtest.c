/* C tests of libnamedsem: every function and error path, blocking and
 * waking across processes, and interop with glibc's own sem_* (a glibc peer
 * process, and glibc's functions called in this process on the same
 * objects).
 *
 * The same source is built several ways (see ci/capi.sh):
 *   -DUSE_NAMEDSEM_H, linked with -lnamedsem     EXPECT_IMPL=namedsem
 *   plain glibc, run with LD_PRELOAD=libnamedsem   EXPECT_IMPL=namedsem
 *   plain glibc, no library: the reference run   EXPECT_IMPL=glibc
 *   musl-gcc -static with libnamedsem.a          EXPECT_IMPL=static
 * The reference run shows that every expectation here is glibc's own
 * behaviour. PEER names the glibc peer program (peer.c).
 * Prints one line per check and ends with "N passed, N failed, N skipped".
 */
#define _GNU_SOURCE
#ifdef USE_NAMEDSEM_H
#include "namedsem.h"
#else
#include <semaphore.h>
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#if !defined(__GLIBC__) && !defined(USE_NAMEDSEM_H)
/* musl's <semaphore.h> does not declare it; libnamedsem defines it. */
int sem_clockwait(sem_t *, clockid_t, const struct timespec *);
#endif

/* sizeof(sem_t) in glibc's layout (musl's own sem_t is larger). */
#define GLIBC_SEM_SIZE (sizeof(void *) == 8 ? 32 : 16)

static int file_size(const char *name) {
  char path[400];
  struct stat st;
  snprintf(path, sizeof path, "/dev/shm/sem.%s", name + 1);
  return stat(path, &st) == 0 ? (int)st.st_size : -1;
}
static int value_of(sem_t *s) {
  int v = -12345;
  return sem_getvalue(s, &v) == 0 ? v : -12345;
}
static struct timespec after_ms(clockid_t clock, long ms) {
  struct timespec t;
  clock_gettime(clock, &t);
  t.tv_sec += ms / 1000;
  t.tv_nsec += (ms % 1000) * 1000000L;
  if (t.tv_nsec >= 1000000000L) { t.tv_sec++; t.tv_nsec -= 1000000000L; }
  return t;
}
static int not_before(clockid_t clock, struct timespec d) {
  struct timespec n;
  clock_gettime(clock, &n);
  return n.tv_sec > d.tv_sec || (n.tv_sec == d.tv_sec && n.tv_nsec >= d.tv_nsec);
}
static int within_s(clockid_t clock, struct timespec d, int s) {
  struct timespec n;
  clock_gettime(clock, &n);
  return n.tv_sec < d.tv_sec + s;
}
/* Waits for a child, at most 30 s; its exit status, or -1. */
static int reap(pid_t pid) {
  for (int i = 0; i < 3000; i++) {
    int st;
    pid_t r = waitpid(pid, &st, WNOHANG);
    if (r == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    usleep(10000);
  }
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  return -1;
}
static int still_running(pid_t pid) { return waitpid(pid, NULL, WNOHANG) == 0; }
static pid_t spawn_peer(const char *cmd, const char *name, const char *arg) {
  const char *peer = getenv("PEER");
  pid_t pid = fork();
  if (pid == 0) {
    execl(peer, peer, cmd, name, arg, (char *)NULL);
    _exit(127);
  }
  return pid;
}

static void t_implementation(void) {
  const char *expect = getenv("EXPECT_IMPL");
  if (!expect) { skip("EXPECT_IMPL not set: implementation not checked"); return; }
  if (strcmp(expect, "static") == 0) {
    skip("static program: implementation checked by nm in the build script");
    return;
  }
  void *f = dlsym(RTLD_DEFAULT, "sem_open");
  Dl_info info;
  int found = f && dladdr(f, &info) && info.dli_fname;
  const char *lib = found ? info.dli_fname : "?";
  if (strcmp(expect, "namedsem") == 0) {
    CHECK(found && strstr(lib, "libnamedsem"), "sem_open resolves to libnamedsem (%s)", lib);
    const char *(*version)(void) = (const char *(*)(void))dlsym(RTLD_DEFAULT, "namedsem_version");
    CHECK(version && strncmp(version(), "namedsem ", 9) == 0, "namedsem_version: %s",
          version ? version() : "(missing)");
  } else {
    CHECK(found && strstr(lib, "libc.so") && !dlsym(RTLD_DEFAULT, "namedsem_version"),
          "reference run: sem_open resolves to the C library (%s)", lib);
  }
}

static void t_open_close(void) {
  const char *name = new_name("basic");
  mode_t old = umask(0);
  sem_t *s = sem_open(name, O_CREAT | O_EXCL, 0640, 3);
  umask(old);
  CHECK(s != SEM_FAILED, "sem_open O_CREAT|O_EXCL creates");
  if (s == SEM_FAILED) return;
  char path[400];
  struct stat st;
  snprintf(path, sizeof path, "/dev/shm/sem.%s", name + 1);
  CHECK(stat(path, &st) == 0 && st.st_size == (off_t)GLIBC_SEM_SIZE && (st.st_mode & 0777) == 0640,
        "file /dev/shm/sem.NAME, sizeof(sem_t) = %d bytes, mode 0640", (int)GLIBC_SEM_SIZE);
  CHECK(value_of(s) == 3, "sem_getvalue: initial value 3");
  CHECK(sem_trywait(s) == 0 && sem_trywait(s) == 0 && sem_trywait(s) == 0, "sem_trywait x3");
  CHECK(FAILS(sem_trywait(s), EAGAIN), "sem_trywait at 0: EAGAIN");
  CHECK(sem_post(s) == 0 && value_of(s) == 1, "sem_post: value 1");
  sem_t *again = sem_open(name, 0);
  CHECK(again == s, "sem_open of an open name returns the same pointer");
  sem_t *third = sem_open(name, O_CREAT, 0600, 9);
  CHECK(third == s && value_of(s) == 1, "sem_open O_CREAT of an existing name: same pointer, value kept");
  CHECK(sem_close(s) == 0 && value_of(s) == 1, "sem_close counts references (still mapped)");
  CHECK(sem_close(s) == 0 && sem_close(s) == 0, "sem_close of the last references");
  CHECK(FAILS(sem_close(s), EINVAL), "sem_close of a closed pointer: EINVAL");
  sem_t *reopened = sem_open(name, 0);
  CHECK(reopened != SEM_FAILED && value_of(reopened) == 1, "reopen after close: value kept");
  if (reopened != SEM_FAILED) sem_close(reopened);
  CHECK(sem_unlink(name) == 0, "sem_unlink");
}

static void t_open_errors(void) {
  const char *name = new_name("errors");
  sem_t *s = sem_open(name, O_CREAT | O_EXCL, 0600, 0);
  CHECK(s != SEM_FAILED, "create for error tests");
  CHECK(OPEN_FAILS(sem_open(name, O_CREAT | O_EXCL, 0600, 0), EEXIST), "O_CREAT|O_EXCL existing: EEXIST");
  CHECK(sem_open(name, O_CREAT, 0600, (unsigned)SEM_VALUE_MAX + 1) == s,
        "O_CREAT existing with value > SEM_VALUE_MAX: opens (value unused)");
  sem_close(s);
  sem_close(s);
  const char *missing = new_name("missing");
  CHECK(OPEN_FAILS(sem_open(missing, 0), ENOENT), "open missing without O_CREAT: ENOENT");
  CHECK(OPEN_FAILS(sem_open(missing, O_CREAT, 0600, (unsigned)SEM_VALUE_MAX + 1), EINVAL),
        "O_CREAT new with value > SEM_VALUE_MAX: EINVAL");
  CHECK(OPEN_FAILS(sem_open(missing, O_CREAT | O_EXCL, 0600, 0x80000000u), EINVAL),
        "O_CREAT|O_EXCL with value 2^31: EINVAL");
  CHECK(file_size(missing) == -1, "nothing created by the failed creates");
  CHECK(OPEN_FAILS(sem_open("", O_CREAT, 0600, 1), EINVAL), "empty name: EINVAL");
  CHECK(OPEN_FAILS(sem_open("/", O_CREAT, 0600, 1), EINVAL), "name \"/\": EINVAL");
  CHECK(OPEN_FAILS(sem_open("/nsem-capi/x", O_CREAT, 0600, 1), EINVAL), "name with '/': EINVAL");
  char longname[300];
  snprintf(longname, sizeof longname, "/nsem-capi-%d-", (int)getpid());
  size_t len = strlen(longname);
  memset(longname + len, 'x', 252 - (len - 1));
  longname[253] = 0; /* "/" + 252 bytes */
  CHECK(OPEN_FAILS(sem_open(longname, O_CREAT, 0600, 1), ENAMETOOLONG), "252-byte name: ENAMETOOLONG");
  longname[252] = 0; /* 251 bytes: the longest that works */
  strcpy(names[nnames++], longname);
  sem_t *l = sem_open(longname, O_CREAT | O_EXCL, 0600, 1);
  CHECK(l != SEM_FAILED, "251-byte name works");
  if (l != SEM_FAILED) sem_close(l);
  CHECK(sem_unlink(longname) == 0, "sem_unlink of the 251-byte name");
}

static void t_bad_files(void) {
  sem_t unnamed;
  sem_init(&unnamed, 0, 0);
  CHECK(FAILS(sem_close(&unnamed), EINVAL), "sem_close of a semaphore sem_open did not return: EINVAL");
  sem_destroy(&unnamed);
  const char *expect = getenv("EXPECT_IMPL");
  if (expect && strcmp(expect, "glibc") == 0) {
    skip("empty semaphore file: glibc maps it and the first use raises SIGBUS");
    return;
  }
  const char *name = new_name("empty");
  char path[400];
  snprintf(path, sizeof path, "/dev/shm/sem.%s", name + 1);
  int fd = open(path, O_CREAT | O_EXCL | O_RDWR, 0600);
  CHECK(fd >= 0 && close(fd) == 0, "an empty file at a semaphore's name");
  CHECK(OPEN_FAILS(sem_open(name, 0), EINVAL), "sem_open of an empty file: EINVAL, not a mapping that crashes");
  CHECK(OPEN_FAILS(sem_open(name, O_CREAT, 0600, 1), EINVAL), "sem_open O_CREAT of an empty file: EINVAL");
  unlink(path);
  CHECK(mkdir(path, 0700) == 0, "a directory at a semaphore's name");
  CHECK(OPEN_FAILS(sem_open(name, 0), EISDIR), "sem_open of a directory: EISDIR");
  rmdir(path);
}

static void t_unlink(void) {
  const char *name = new_name("unlink");
  sem_t *s = sem_open(name, O_CREAT | O_EXCL, 0600, 0);
  CHECK(s != SEM_FAILED && sem_unlink(name) == 0, "sem_unlink of an existing name");
  CHECK(file_size(name) == -1, "the file is gone");
  CHECK(FAILS(sem_unlink(name), ENOENT), "sem_unlink again: ENOENT");
  CHECK(FAILS(sem_unlink("/a/b"), ENOENT), "sem_unlink of an invalid name: ENOENT");
  CHECK(FAILS(sem_unlink(""), ENOENT), "sem_unlink of an empty name: ENOENT");
  CHECK(sem_post(s) == 0 && value_of(s) == 1, "an unlinked semaphore still works");
  sem_t *fresh = sem_open(name, O_CREAT | O_EXCL, 0600, 7);
  CHECK(fresh != SEM_FAILED && fresh != s && value_of(fresh) == 7, "a new semaphore at the old name is a new one");
  if (fresh != SEM_FAILED) sem_close(fresh);
  sem_close(s);
  sem_unlink(name);
}

/* Another process holds flock on the semaphore's file for ever (any user
 * who can open the file can): sem_unlink still removes the name, after a
 * bounded wait (libnamedsem polls the lock it takes for at most 100 ms, then
 * unlinks the plain way; glibc takes no lock). */
static void t_unlink_held_lock(void) {
  const char *name = new_name("held-lock");
  sem_t *s = sem_open(name, O_CREAT | O_EXCL, 0600, 0);
  CHECK(s != SEM_FAILED, "create a semaphore to lock");
  char path[400];
  snprintf(path, sizeof path, "/dev/shm/sem.%s", name + 1);
  int ready[2];
  if (pipe(ready) != 0) { CHECK(0, "pipe"); return; }
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    char ok = fd >= 0 && flock(fd, LOCK_EX) == 0 ? 'y' : 'n';
    if (write(ready[1], &ok, 1) != 1) _exit(1);
    for (;;) pause();
  }
  char ok = 'n';
  CHECK(read(ready[0], &ok, 1) == 1 && ok == 'y', "another process holds flock on the file");
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  int r = sem_unlink(name);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double took = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  CHECK(r == 0 && file_size(name) == -1, "sem_unlink removes the name all the same");
  CHECK(took < 10.0, "sem_unlink does not hang on the lock (%.3f s)", took);
  const char *expect = getenv("EXPECT_IMPL");
  if (expect && strcmp(expect, "glibc") != 0)
    CHECK(took >= 0.1, "libnamedsem waited for the lock before the plain unlink (%.3f s)", took);
  kill(pid, SIGKILL);
  reap(pid);
  close(ready[0]);
  close(ready[1]);
  if (s != SEM_FAILED) sem_close(s);
}

static void t_eacces(void) {
  if (geteuid() != 0) { skip("EACCES test needs root (to make a file another user cannot use)"); return; }
  const char *name = new_name("eacces");
  sem_t *s = sem_open(name, O_CREAT | O_EXCL, 0600, 1);
  CHECK(s != SEM_FAILED, "create a 0600 semaphore as root");
  pid_t pid = fork();
  if (pid == 0) {
    if (setgid(65534) != 0 || setuid(65534) != 0) _exit(10);
    int r = 0;
    if (!OPEN_FAILS(sem_open(name, 0), EACCES)) r |= 1;
    if (!FAILS(sem_unlink(name), EACCES)) r |= 2; /* sticky /dev/shm: EPERM reported as EACCES */
    _exit(r);
  }
  int st = reap(pid);
  CHECK(st == 0, "another user: sem_open and sem_unlink fail with EACCES (child status %d)", st);
  CHECK(file_size(name) == (int)GLIBC_SEM_SIZE, "the file is still there");
  sem_close(s);
  sem_unlink(name);
}

static void t_init_post(void) {
  sem_t s;
  CHECK(FAILS(sem_init(&s, 0, (unsigned)SEM_VALUE_MAX + 1), EINVAL), "sem_init value > SEM_VALUE_MAX: EINVAL");
  CHECK(sem_init(&s, 0, SEM_VALUE_MAX) == 0 && value_of(&s) == SEM_VALUE_MAX, "sem_init at SEM_VALUE_MAX");
  CHECK(FAILS(sem_post(&s), EOVERFLOW) && value_of(&s) == SEM_VALUE_MAX, "sem_post at SEM_VALUE_MAX: EOVERFLOW, unchanged");
  CHECK(sem_destroy(&s) == 0, "sem_destroy");
  CHECK(sem_init(&s, 1, 2) == 0 && value_of(&s) == 2, "sem_init pshared 1");
  unsigned char bytes[GLIBC_SEM_SIZE];
  memcpy(bytes, &s, sizeof bytes);
  int image_ok;
  if (sizeof(void *) == 8) /* value 2 in the low word, private = 128 at offset 8 (glibc leaves the pad after it) */
    image_ok = bytes[0] == 2 && bytes[4] == 0 && bytes[8] == 128;
  else /* value << 1, private = 128 at offset 4, nwaiters 0 at offset 12 */
    image_ok = bytes[0] == 4 && bytes[4] == 128 && bytes[12] == 0;
  CHECK(image_ok, "sem_init writes glibc's process-shared image (%02x %02x %02x %02x ... %02x)", bytes[0], bytes[1],
        bytes[2], bytes[3], bytes[sizeof(void *) == 8 ? 8 : 4]);
  sem_destroy(&s);
}

static void *waiter(void *arg) {
  struct timespec t = after_ms(CLOCK_REALTIME, 20000);
  return (void *)(intptr_t)sem_timedwait((sem_t *)arg, &t);
}

static void t_threads(void) {
  sem_t s;
  sem_init(&s, 0, 0);
  pthread_t th[3];
  for (int i = 0; i < 3; i++) pthread_create(&th[i], NULL, waiter, &s);
  usleep(50000);
  for (int i = 0; i < 3; i++) sem_post(&s);
  int ok = 1;
  for (int i = 0; i < 3; i++) {
    void *r;
    pthread_join(th[i], &r);
    ok &= r == 0;
  }
  CHECK(ok && value_of(&s) == 0, "three threads blocked on a pshared=0 semaphore are woken by three posts");
  sem_destroy(&s);
}

static void t_timed(void) {
  sem_t s;
  sem_init(&s, 0, 1);
  struct timespec bad = after_ms(CLOCK_REALTIME, 1000);
  bad.tv_nsec = -1;
  CHECK(FAILS(sem_timedwait(&s, &bad), EINVAL) && value_of(&s) == 1, "sem_timedwait tv_nsec -1: EINVAL (token left)");
  bad.tv_nsec = 1000000000L;
  CHECK(FAILS(sem_timedwait(&s, &bad), EINVAL) && value_of(&s) == 1, "sem_timedwait tv_nsec 1e9: EINVAL");
  struct timespec past = {0, 0};
  CHECK(sem_timedwait(&s, &past) == 0 && value_of(&s) == 0, "sem_timedwait, past deadline, token available: 0");
  CHECK(FAILS(sem_timedwait(&s, &past), ETIMEDOUT), "sem_timedwait, past deadline, no token: ETIMEDOUT");
  struct timespec neg = {-5, 0};
  CHECK(FAILS(sem_timedwait(&s, &neg), ETIMEDOUT), "sem_timedwait, negative tv_sec: ETIMEDOUT");
  struct timespec d = after_ms(CLOCK_REALTIME, 50);
  CHECK(FAILS(sem_timedwait(&s, &d), ETIMEDOUT) && not_before(CLOCK_REALTIME, d) && within_s(CLOCK_REALTIME, d, 10),
        "sem_timedwait 50 ms: ETIMEDOUT, not before the deadline");

  CHECK(FAILS(sem_clockwait(&s, CLOCK_PROCESS_CPUTIME_ID, &past), EINVAL), "sem_clockwait, unsupported clock: EINVAL");
  CHECK(FAILS(sem_clockwait(&s, CLOCK_MONOTONIC, &bad), EINVAL), "sem_clockwait tv_nsec 1e9: EINVAL");
  CHECK(FAILS(sem_clockwait(&s, CLOCK_MONOTONIC, &past), ETIMEDOUT), "sem_clockwait MONOTONIC past: ETIMEDOUT");
  CHECK(FAILS(sem_clockwait(&s, CLOCK_REALTIME, &past), ETIMEDOUT), "sem_clockwait REALTIME past: ETIMEDOUT");
  d = after_ms(CLOCK_MONOTONIC, 50);
  CHECK(FAILS(sem_clockwait(&s, CLOCK_MONOTONIC, &d), ETIMEDOUT) && not_before(CLOCK_MONOTONIC, d) &&
            within_s(CLOCK_MONOTONIC, d, 10),
        "sem_clockwait MONOTONIC 50 ms: ETIMEDOUT, not before the deadline");
  sem_post(&s);
  d = after_ms(CLOCK_MONOTONIC, 5000);
  CHECK(sem_clockwait(&s, CLOCK_MONOTONIC, &d) == 0 && value_of(&s) == 0, "sem_clockwait with a token: 0");
  sem_destroy(&s);
}

static sem_t *signal_sem;
static volatile sig_atomic_t signals;
static void on_signal(int sig) {
  (void)sig;
  if (++signals == 3 && signal_sem) sem_post(signal_sem); /* async-signal-safe */
}
static void arm(int restart, long interval_ms) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sa.sa_flags = restart ? SA_RESTART : 0;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGALRM, &sa, NULL);
  struct itimerval it = {{0, interval_ms * 1000}, {0, 50000}};
  setitimer(ITIMER_REAL, &it, NULL);
}
static void disarm(void) {
  struct itimerval it = {{0, 0}, {0, 0}};
  setitimer(ITIMER_REAL, &it, NULL);
  signal(SIGALRM, SIG_IGN);
}

static void t_signals(void) {
  sem_t s;
  sem_init(&s, 0, 0);
  signals = 0;
  signal_sem = NULL;
  arm(0, 0);
  CHECK(FAILS(sem_wait(&s), EINTR) && signals == 1, "sem_wait, handler without SA_RESTART: EINTR");
  disarm();
  signals = 0;
  arm(0, 0);
  struct timespec d = after_ms(CLOCK_REALTIME, 20000);
  CHECK(FAILS(sem_timedwait(&s, &d), EINTR) && signals == 1, "sem_timedwait, handler: EINTR");
  disarm();
  signals = 0;
  arm(0, 0);
  d = after_ms(CLOCK_MONOTONIC, 20000);
  CHECK(FAILS(sem_clockwait(&s, CLOCK_MONOTONIC, &d), EINTR) && signals == 1, "sem_clockwait, handler: EINTR");
  disarm();
  signals = 0;
  signal_sem = &s;
  arm(1, 20); /* every 20 ms; the third signal posts */
  int r = sem_wait(&s);
  disarm();
  signal_sem = NULL;
  CHECK(r == 0 && signals >= 3, "sem_wait, SA_RESTART handler: the wait goes on until posted (%d signals)", (int)signals);
  sem_destroy(&s);
}

static void t_processes(void) {
  const char *name = new_name("procs");
  sem_t *s = sem_open(name, O_CREAT | O_EXCL, 0600, 0);
  CHECK(s != SEM_FAILED, "create for cross-process test");
  if (s == SEM_FAILED) return;
  pid_t pid = fork();
  if (pid == 0) {
    sem_t *c = sem_open(name, 0);
    struct timespec t = after_ms(CLOCK_REALTIME, 20000);
    _exit(c != SEM_FAILED && sem_timedwait(c, &t) == 0 ? 0 : 1);
  }
  usleep(100000);
  CHECK(still_running(pid), "a child process blocks in sem_timedwait on the named semaphore");
  CHECK(sem_post(s) == 0 && reap(pid) == 0, "sem_post wakes it");

  /* A child posts while this process sleeps in sem_wait. */
  pid = fork();
  if (pid == 0) {
    usleep(100000);
    sem_t *c = sem_open(name, 0);
    _exit(c != SEM_FAILED && sem_post(c) == 0 ? 0 : 1);
  }
  CHECK(sem_wait(s) == 0 && reap(pid) == 0, "sem_wait is woken by another process's sem_post");

  /* Unnamed, pshared 1, in a MAP_SHARED mapping. */
  sem_t *u = mmap(NULL, sizeof(sem_t), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  CHECK(u != MAP_FAILED && sem_init(u, 1, 0) == 0, "sem_init pshared 1 in shared memory");
  pid = fork();
  if (pid == 0) {
    struct timespec t = after_ms(CLOCK_REALTIME, 20000);
    _exit(sem_timedwait(u, &t) == 0 ? 0 : 1);
  }
  usleep(100000);
  CHECK(still_running(pid) && sem_post(u) == 0 && reap(pid) == 0, "unnamed shared semaphore: wait and wake across fork");
  sem_destroy(u);
  munmap(u, sizeof(sem_t));
  sem_close(s);
  sem_unlink(name);
}

static void t_glibc_peer(void) {
  if (!getenv("PEER")) { skip("PEER not set: no glibc peer process"); return; }
  const char *name = new_name("peer");
  sem_t *s = sem_open(name, O_CREAT | O_EXCL, 0600, 0);
  CHECK(s != SEM_FAILED, "create for glibc peer test");
  if (s == SEM_FAILED) return;
  pid_t pid = spawn_peer("wait", name, NULL);
  usleep(150000);
  CHECK(still_running(pid), "a glibc process blocks in sem_timedwait on our semaphore");
  CHECK(sem_post(s) == 0 && reap(pid) == 0, "our sem_post wakes the glibc waiter");
  pid = spawn_peer("post-after", name, "100");
  struct timespec t = after_ms(CLOCK_REALTIME, 20000);
  CHECK(sem_timedwait(s, &t) == 0 && reap(pid) == 0, "a glibc sem_post wakes our sem_timedwait");
  CHECK(sem_post(s) == 0 && sem_post(s) == 0 && reap(spawn_peer("expect", name, "2")) == 0,
        "glibc reads the value we posted (2)");
  sem_close(s);
  sem_unlink(name);

  const char *theirs = new_name("peer-made");
  CHECK(reap(spawn_peer("create", theirs, "5")) == 0, "a glibc process creates a semaphore with value 5");
  sem_t *g = sem_open(theirs, 0);
  CHECK(g != SEM_FAILED && value_of(g) == 5, "we open it and read 5");
  CHECK(sem_trywait(g) == 0 && reap(spawn_peer("expect", theirs, "4")) == 0, "our sem_trywait is seen by glibc (4)");
  if (g != SEM_FAILED) sem_close(g);
  CHECK(sem_unlink(theirs) == 0, "we unlink the glibc-made semaphore");
}

/* glibc's own sem_* in this process, next to this library's. */
typedef sem_t *(*open_fn)(const char *, int, ...);
typedef int (*sem_fn)(sem_t *);
typedef int (*getvalue_fn)(sem_t *, int *);
static sem_fn g_post;
static void *glibc_post_later(void *arg) {
  usleep(100000);
  return (void *)(intptr_t)g_post((sem_t *)arg);
}

static void t_mixed_pointers(void) {
  void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
  if (!libc) { skip("no glibc in this process (static program): in-process mixing not tested"); return; }
  open_fn g_open = (open_fn)dlsym(libc, "sem_open");
  g_post = (sem_fn)dlsym(libc, "sem_post");
  sem_fn g_trywait = (sem_fn)dlsym(libc, "sem_trywait");
  sem_fn g_close = (sem_fn)dlsym(libc, "sem_close");
  getvalue_fn g_getvalue = (getvalue_fn)dlsym(libc, "sem_getvalue");
  CHECK(g_open && g_post && g_trywait && g_close && g_getvalue, "glibc's own sem_* found with dlsym");
  if (!(g_open && g_post && g_trywait && g_close && g_getvalue)) return;
  const char *expect = getenv("EXPECT_IMPL");
  if (expect && strcmp(expect, "namedsem") == 0)
    CHECK((void *)g_post != dlsym(RTLD_DEFAULT, "sem_post"), "glibc's sem_post is not the one our calls use");
  const char *name = new_name("mixed");
  sem_t *p = sem_open(name, O_CREAT | O_EXCL, 0600, 0);
  CHECK(p != SEM_FAILED, "sem_open (this library)");
  if (p == SEM_FAILED) return;
  int v = -1;
  CHECK(g_post(p) == 0 && value_of(p) == 1, "glibc sem_post on our pointer; we read 1");
  CHECK(sem_post(p) == 0 && g_getvalue(p, &v) == 0 && v == 2, "our sem_post; glibc sem_getvalue reads 2");
  CHECK(g_trywait(p) == 0 && value_of(p) == 1, "glibc sem_trywait on our pointer");
  sem_t *q = g_open(name, 0);
  int ours = expect && strcmp(expect, "namedsem") == 0;
  CHECK(q != SEM_FAILED && (ours ? q != p : q == p), "glibc sem_open of the same name: %s",
        ours ? "glibc's own mapping" : "the same pointer (reference run)");
  if (q == SEM_FAILED) return;
  CHECK(sem_trywait(q) == 0 && value_of(p) == 0, "our sem_trywait on glibc's pointer; same object");
  pthread_t th;
  pthread_create(&th, NULL, glibc_post_later, q);
  struct timespec t = after_ms(CLOCK_REALTIME, 20000);
  CHECK(sem_timedwait(p, &t) == 0, "our sem_timedwait is woken by glibc's sem_post in another thread");
  void *r;
  pthread_join(th, &r);
  CHECK(r == 0 && g_close(q) == 0 && sem_close(p) == 0, "each library closes its own pointer");
  sem_unlink(name);
}

int main(void) {
  atexit(cleanup);
  setvbuf(stdout, NULL, _IOLBF, 0);
  t_implementation();
  t_open_close();
  t_open_errors();
  t_unlink();
  t_unlink_held_lock();
  t_bad_files();
  t_eacces();
  t_init_post();
  t_threads();
  t_timed();
  t_signals();
  t_processes();
  t_glibc_peer();
  t_mixed_pointers();
  return finish();
}
