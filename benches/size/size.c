/* libc's side of the size comparison: what src/lib.rs does with the crate. */
#include <fcntl.h>
#include <semaphore.h>

int nsem_demo(void) {
    sem_t *sem = sem_open("/nsem-size-demo", O_CREAT, 0600, 1);
    if (sem == SEM_FAILED)
        return 1;
    if (sem_wait(sem) != 0 || sem_post(sem) != 0 || sem_unlink("/nsem-size-demo") != 0)
        return 2;
    sem_close(sem);
    return 0;
}
