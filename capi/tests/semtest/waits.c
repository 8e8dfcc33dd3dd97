/* semtest, waiting and posting in one process: sem_init and sem_post,
 * threads, the timed waits and signals. Included by semtest.c (one
 * translation unit). */
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
