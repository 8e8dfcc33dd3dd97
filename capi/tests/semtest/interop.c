/* semtest, across processes and libraries: blocking and waking between
 * processes, the glibc peer program, and glibc's own sem_* on this
 * library's pointers and back. Included by semtest.c (one translation
 * unit). */
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
