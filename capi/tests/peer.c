/* A plain glibc program (built without libnamedsem): the other side of the
 * interop tests in semtest.c.
 *   peer wait NAME          glibc sem_timedwait (20 s limit); exit 0 on a token
 *   peer post-after NAME MS sleep MS milliseconds, then glibc sem_post
 *   peer create NAME VALUE  glibc sem_open(O_CREAT|O_EXCL) with VALUE
 *   peer expect NAME VALUE  exit 0 if glibc sem_getvalue reads VALUE
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  const char *cmd = argv[1], *name = argv[2];
  if (strcmp(cmd, "create") == 0 && argc == 4) {
    sem_t *s = sem_open(name, O_CREAT | O_EXCL, 0600, (unsigned)atoi(argv[3]));
    if (s == SEM_FAILED) { perror("peer: sem_open"); return 1; }
    return sem_close(s) == 0 ? 0 : 1;
  }
  sem_t *s = sem_open(name, 0);
  if (s == SEM_FAILED) { perror("peer: sem_open"); return 1; }
  if (strcmp(cmd, "wait") == 0) {
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += 20;
    int r;
    while ((r = sem_timedwait(s, &t)) == -1 && errno == EINTR) {}
    return r == 0 ? 0 : 1;
  }
  if (strcmp(cmd, "post-after") == 0 && argc == 4) {
    usleep((useconds_t)atoi(argv[3]) * 1000);
    return sem_post(s) == 0 ? 0 : 1;
  }
  if (strcmp(cmd, "expect") == 0 && argc == 4) {
    int v = -1;
    if (sem_getvalue(s, &v) != 0) return 1;
    if (v != atoi(argv[3])) { fprintf(stderr, "peer: value %d, expected %s\n", v, argv[3]); return 1; }
    return 0;
  }
  return 2;
}
