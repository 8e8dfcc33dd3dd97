/* The glibc side of the cross-target interop checks: the same commands as
 * the crate's `examples/peer.rs`, made with glibc's own sem_open, sem_post,
 * sem_timedwait, sem_getvalue and sem_unlink. Built with each target's cross
 * gcc, never musl-gcc: the point is glibc's format.
 *
 *   peer create NAME VALUE     sem_open(O_CREAT|O_EXCL, 0600, VALUE); exit 0
 *   peer wait NAME MILLIS      sem_timedwait; exit 0, or 3 on timeout
 *   peer post NAME             sem_post; exit 0
 *   peer value NAME            print sem_getvalue; exit 0
 *   peer unlink NAME           sem_unlink; exit 0
 *
 * Any error prints a message and exits 1; a bad command line exits 2. */
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char *slashed(const char *name) {
    static char buf[300];
    while (*name == '/')
        name++;
    snprintf(buf, sizeof buf, "/%s", name);
    return buf;
}

static sem_t *open_existing(const char *name) {
    sem_t *s = sem_open(slashed(name), 0);
    if (s == SEM_FAILED) {
        fprintf(stderr, "peer.c: sem_open(%s): %s\n", name, strerror(errno));
        exit(1);
    }
    return s;
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "create") == 0) {
        unsigned value = (unsigned)strtoul(argv[3], NULL, 10);
        sem_t *s = sem_open(slashed(argv[2]), O_CREAT | O_EXCL, 0600, value);
        if (s == SEM_FAILED) {
            fprintf(stderr, "peer.c: create %s: %s\n", argv[2], strerror(errno));
            return 1;
        }
        sem_close(s);
        return 0;
    }
    if (argc == 4 && strcmp(argv[1], "wait") == 0) {
        sem_t *s = open_existing(argv[2]);
        long ms = strtol(argv[3], NULL, 10);
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += ms / 1000;
        ts.tv_nsec += (ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_nsec -= 1000000000L;
            ts.tv_sec += 1;
        }
        for (;;) {
            if (sem_timedwait(s, &ts) == 0)
                return 0;
            if (errno == EINTR)
                continue;
            if (errno == ETIMEDOUT)
                return 3;
            fprintf(stderr, "peer.c: sem_timedwait: %s\n", strerror(errno));
            return 1;
        }
    }
    if (argc == 3 && strcmp(argv[1], "post") == 0) {
        sem_t *s = open_existing(argv[2]);
        if (sem_post(s) != 0) {
            fprintf(stderr, "peer.c: sem_post: %s\n", strerror(errno));
            return 1;
        }
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "value") == 0) {
        sem_t *s = open_existing(argv[2]);
        int v = -1;
        if (sem_getvalue(s, &v) != 0) {
            fprintf(stderr, "peer.c: sem_getvalue: %s\n", strerror(errno));
            return 1;
        }
        printf("%d\n", v);
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "unlink") == 0) {
        if (sem_unlink(slashed(argv[2])) != 0) {
            fprintf(stderr, "peer.c: sem_unlink: %s\n", strerror(errno));
            return 1;
        }
        return 0;
    }
    fprintf(stderr, "usage: peer create NAME VALUE | wait NAME MILLIS | post NAME"
                    " | value NAME | unlink NAME\n");
    return 2;
}
