/* semtest, the named calls: sem_open and sem_close, their errors, files
 * that are not semaphores, sem_unlink (also against a held lock) and
 * permissions. Included by semtest.c (one translation unit). */
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
