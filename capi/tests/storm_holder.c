/* A robust holder of the kill storm (tests/robust_storm.rs,
 * kill_storm_with_c_holders) written in C against libnamedsem: it takes,
 * holds and gives back tokens through namedsem_open_robust, sem_wait,
 * sem_trywait, sem_timedwait and sem_post until the storm stops, and is
 * killed at random moments by the storm.
 *
 *   storm_holder NAME STATE INDEX LIMIT
 *
 * STATE is the storm's shared file; its words (tests/robust_storm.rs,
 * `Shared`) are: held (2 bits per participant), stop, violations, most,
 * padding, entries, then entries per kind of holder (crate, C, glibc).
 * Exit status: 0 after the storm, 2 if the semaphore cannot be opened.
 */
#define _GNU_SOURCE
#include "namedsem.h"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

struct shared {
  _Atomic uint64_t held;
  _Atomic uint32_t stop;
  _Atomic uint32_t violations;
  _Atomic uint32_t most;
  _Atomic uint32_t pad;
  _Atomic uint64_t entries;
  _Atomic uint64_t kind_entries[3];
};
enum { KIND_C = 1 };

static struct shared *st;
static unsigned idx, limit;
static uint64_t rng;

static uint64_t next(uint64_t below) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng % below;
}

static unsigned total(uint64_t word) {
  unsigned t = 0;
  for (int i = 0; i < 32; i++) t += (unsigned)((word >> (2 * i)) & 3);
  return t;
}

/* One more token held by this participant (as Shared::enter). */
static void enter(void) {
  uint64_t one = (uint64_t)1 << (2 * idx);
  unsigned now = total(__atomic_add_fetch(&st->held, one, __ATOMIC_SEQ_CST));
  unsigned most = __atomic_load_n(&st->most, __ATOMIC_SEQ_CST);
  while (now > most && !__atomic_compare_exchange_n(&st->most, &most, now, 0, __ATOMIC_SEQ_CST,
                                                    __ATOMIC_SEQ_CST)) {}
  if (now > limit) __atomic_add_fetch(&st->violations, 1, __ATOMIC_SEQ_CST);
  __atomic_add_fetch(&st->entries, 1, __ATOMIC_SEQ_CST);
  __atomic_add_fetch(&st->kind_entries[KIND_C], 1, __ATOMIC_SEQ_CST);
}

static void leave(void) {
  __atomic_sub_fetch(&st->held, (uint64_t)1 << (2 * idx), __ATOMIC_SEQ_CST);
}

/* As the crate's holders spin (std::hint::spin_loop): the same hold times. */
static void spin(uint64_t n) {
  for (uint64_t i = 0; i < n; i++) {
#if defined(__x86_64__) || defined(__i386__)
    __asm__ volatile("pause");
#elif defined(__aarch64__) || defined(__arm__)
    __asm__ volatile("yield");
#else
    __asm__ volatile("" ::: "memory");
#endif
  }
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: storm_holder NAME STATE INDEX LIMIT\n");
    return 64;
  }
  idx = (unsigned)atoi(argv[3]);
  limit = (unsigned)atoi(argv[4]);
  int fd = open(argv[2], O_RDWR | O_CLOEXEC);
  if (fd < 0) return 3;
  st = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (st == MAP_FAILED) return 3;
  close(fd);
  sem_t *s = namedsem_open_robust(argv[1], 0);
  if (s == SEM_FAILED) {
    perror("namedsem_open_robust");
    return 2;
  }
  rng = ((uint64_t)getpid() * 0x9e3779b97f4a7c15ull) | 1;
  while (!__atomic_load_n(&st->stop, __ATOMIC_SEQ_CST)) {
    int got;
    switch (next(4)) {
    case 0:
      got = sem_trywait(s) == 0;
      break;
    case 1: {
      struct timespec t;
      clock_gettime(CLOCK_REALTIME, &t);
      t.tv_nsec += (long)next(20) * 1000000L;
      if (t.tv_nsec >= 1000000000L) { t.tv_sec++; t.tv_nsec -= 1000000000L; }
      got = sem_timedwait(s, &t) == 0;
      break;
    }
    default:
      got = sem_wait(s) == 0;
    }
    if (!got) continue;
    enter();
    /* Sometimes a second token, held through the same work. */
    int second = next(4) == 0 && sem_trywait(s) == 0;
    if (second) enter();
    spin(next(2000));
    if (second) {
      leave();
      if (sem_post(s) != 0) return 4;
    }
    leave();
    if (sem_post(s) != 0) return 4;
    if (next(8) == 0) sched_yield();
  }
  sem_close(s);
  return 0;
}
