/* A program using every sem_* call that musl has (all but sem_clockwait),
 * for the C library's size comparison in run.sh: built static against
 * musl's own sem_* and against libnamedsem.a, the same source. */
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int main(void) {
    char name[64];
    snprintf(name, sizeof name, "/nsem-size-all-%d", (int)getpid());
    sem_t *named = sem_open(name, O_CREAT | O_EXCL, 0600, 1);
    if (named == SEM_FAILED)
        return 1;
    sem_t unnamed;
    struct timespec past = {0, 0};
    int value = -1;
    int bad = sem_init(&unnamed, 0, 1) != 0 || sem_wait(named) != 0 || sem_post(named) != 0 ||
              sem_trywait(&unnamed) != 0 || sem_timedwait(&unnamed, &past) == 0 ||
              sem_getvalue(named, &value) != 0 || value != 1 || sem_destroy(&unnamed) != 0;
    if (sem_close(named) != 0 || sem_unlink(name) != 0)
        bad = 1;
    return bad ? 2 : 0;
}
