/* semtest's helpers: file sizes, values, deadlines, child processes and
 * the glibc peer. Included by semtest.c after the headers and harness.h. */
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
