/* namedsem.h: POSIX semaphores from libnamedsem, glibc-compatible.
 *
 * Declares what <semaphore.h> declares, with glibc's sem_t (32 bytes on
 * 64-bit targets, 16 on 32-bit ones), for C libraries that have no
 * semaphores of their own or an incompatible sem_t (Android's bionic,
 * libc-free images). It takes the place of <semaphore.h>: include one or
 * the other, not both. On glibc, <semaphore.h> itself is compatible and
 * can be used with this library unchanged.
 *
 * Link with -lnamedsem (before the C library; pkg-config --libs namedsem),
 * or inject libnamedsem.so with LD_PRELOAD. Compiles as C99, C11 and C++11
 * and later. Names are bytes, as glibc takes them: any but '/' after the
 * leading slashes, and NUL; UTF-8 or not. Not supported: thread
 * cancellation points in the waits.
 *
 * Unlike <semaphore.h>, this header includes <fcntl.h>, for O_CREAT and
 * O_EXCL: a program that moves to the system's <semaphore.h> must include
 * <fcntl.h> itself (as POSIX asks of sem_open's callers).
 */
#ifndef NAMEDSEM_H
#define NAMEDSEM_H

#if defined(_SEMAPHORE_H) || defined(_SEMAPHORE_H_)
#error "include either <semaphore.h> or <namedsem.h>, not both"
#endif
/* Make a later #include <semaphore.h> a no-op (glibc, musl: _SEMAPHORE_H;
 * bionic: _SEMAPHORE_H_). */
#define _SEMAPHORE_H 1
#define _SEMAPHORE_H_ 1

#include <fcntl.h>     /* O_CREAT, O_EXCL */
#include <limits.h>    /* SEM_VALUE_MAX, where the C library has it */
#include <sys/types.h> /* mode_t */
#include <time.h>      /* struct timespec, clockid_t */

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__SIZEOF_POINTER__) && __SIZEOF_POINTER__ == 8
#define NAMEDSEM_SIZEOF_SEM_T 32
#else
#define NAMEDSEM_SIZEOF_SEM_T 16
#endif

/* glibc's sem_t: the same size and alignment. */
typedef union {
  char __size[NAMEDSEM_SIZEOF_SEM_T];
  long int __align;
} sem_t;

/* Strict C99 (-std=c99 without a POSIX feature macro) leaves struct
 * timespec out of <time.h>: declare the tag here, at file scope, so that the
 * prototypes below name the same struct as the program's. */
struct timespec;

#define SEM_FAILED ((sem_t *) 0)
#ifndef SEM_VALUE_MAX
#define SEM_VALUE_MAX 0x7fffffff
#endif

/* The library's own version string, "namedsem X.Y.Z". */
const char *namedsem_version(void);

sem_t *sem_open(const char *name, int oflag, ...);
int sem_close(sem_t *sem);
int sem_unlink(const char *name);
int sem_init(sem_t *sem, int pshared, unsigned int value);
int sem_destroy(sem_t *sem);
int sem_wait(sem_t *sem);
int sem_trywait(sem_t *sem);
int sem_post(sem_t *sem);
int sem_getvalue(sem_t *sem, int *sval);

/* 32-bit programs with a 64-bit time_t call the 64-bit-time entry points,
 * as the C library's own <semaphore.h> would arrange: glibc under
 * _TIME_BITS=64, musl always. */
#if NAMEDSEM_SIZEOF_SEM_T == 16 && defined(__GLIBC__) && defined(__USE_TIME_BITS64)
int sem_timedwait(sem_t *sem, const struct timespec *abstime) __asm__("__sem_timedwait64");
int sem_clockwait(sem_t *sem, clockid_t clock, const struct timespec *abstime)
    __asm__("__sem_clockwait64");
#elif NAMEDSEM_SIZEOF_SEM_T == 16 && !defined(__GLIBC__) && !defined(__BIONIC__)
int sem_timedwait(sem_t *sem, const struct timespec *abstime) __asm__("__sem_timedwait_time64");
#else
int sem_timedwait(sem_t *sem, const struct timespec *abstime);
int sem_clockwait(sem_t *sem, clockid_t clock, const struct timespec *abstime);
#endif

/* The robust extension (this library only; not in <semaphore.h>).
 *
 * namedsem_open_robust opens or creates a named semaphore as sem_open does
 * (the same oflag, and mode_t mode, unsigned int value after it with
 * O_CREAT) and returns a robust handle: the tokens its sem_wait,
 * sem_trywait, sem_timedwait and sem_clockwait take are recorded in the
 * semaphore's file and come back if the process dies holding them
 * (SIGKILL, a crash, exec), exactly once, while glibc programs keep sharing
 * the semaphore. sem_post gives back a recorded token; sem_close gives back
 * what the handle still holds and ends it; sem_getvalue works. A blocked
 * sem_wait checks for dead holders before it sleeps and every 100 ms.
 * value is the limit when the call creates the semaphore or adds a record
 * to one made without it. Each call makes a new handle (124 at once per
 * semaphore). The handle is not the address of a sem_t: pass it only to
 * this library's functions, never dereference or copy it.
 *
 * Errors besides sem_open's: EINVAL without O_CREAT on a semaphore that
 * has no record yet, ENOSPC when every slot of the record is taken,
 * EUCLEAN for a corrupt record, EOPNOTSUPP (ENOTSUP) on a target without
 * 64-bit atomics.
 *
 * namedsem_recover gives back the tokens of the semaphore's dead holders
 * now and returns how many (-1 and EINVAL if sem is not a robust handle).
 */
sem_t *namedsem_open_robust(const char *name, int oflag, ...);
int namedsem_recover(sem_t *sem);

#ifdef __cplusplus
}
#endif

#endif /* NAMEDSEM_H */
