/* C tests of libnamedsem: every function and error path, blocking and
 * waking across processes, and interop with glibc's own sem_* (a glibc peer
 * process, and glibc's functions called in this process on the same
 * objects).
 *
 * The same source is built several ways (see ci/capi.sh):
 *   -DUSE_NAMEDSEM_H, linked with -lnamedsem     EXPECT_IMPL=namedsem
 *   plain glibc, run with LD_PRELOAD=libnamedsem   EXPECT_IMPL=namedsem
 *   plain glibc, no library: the reference run   EXPECT_IMPL=glibc
 *   musl-gcc -static with libnamedsem.a          EXPECT_IMPL=static
 * The reference run shows that every expectation here is glibc's own
 * behaviour. PEER names the glibc peer program (peer.c).
 * Prints one line per check and ends with "N passed, N failed, N skipped".
 *
 * One program, one translation unit (the harness's counters are static):
 * the tests are in semtest/, by concern, and included here.
 */
#define _GNU_SOURCE
#ifdef USE_NAMEDSEM_H
#include "namedsem.h"
#else
#include <semaphore.h>
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#include "semtest/helpers.h"

static void t_implementation(void) {
  const char *expect = getenv("EXPECT_IMPL");
  if (!expect) { skip("EXPECT_IMPL not set: implementation not checked"); return; }
  if (strcmp(expect, "static") == 0) {
    skip("static program: implementation checked by nm in the build script");
    return;
  }
  void *f = dlsym(RTLD_DEFAULT, "sem_open");
  Dl_info info;
  int found = f && dladdr(f, &info) && info.dli_fname;
  const char *lib = found ? info.dli_fname : "?";
  if (strcmp(expect, "namedsem") == 0) {
    CHECK(found && strstr(lib, "libnamedsem"), "sem_open resolves to libnamedsem (%s)", lib);
    const char *(*version)(void) = (const char *(*)(void))dlsym(RTLD_DEFAULT, "namedsem_version");
    CHECK(version && strncmp(version(), "namedsem ", 9) == 0, "namedsem_version: %s",
          version ? version() : "(missing)");
  } else {
    CHECK(found && strstr(lib, "libc.so") && !dlsym(RTLD_DEFAULT, "namedsem_version"),
          "reference run: sem_open resolves to the C library (%s)", lib);
  }
}

#include "semtest/named.c"
#include "semtest/waits.c"
#include "semtest/interop.c"

int main(void) {
  atexit(cleanup);
  setvbuf(stdout, NULL, _IOLBF, 0);
  t_implementation();
  t_open_close();
  t_open_errors();
  t_unlink();
  t_unlink_held_lock();
  t_bad_files();
  t_eacces();
  t_init_post();
  t_threads();
  t_timed();
  t_signals();
  t_processes();
  t_glibc_peer();
  t_mixed_pointers();
  return finish();
}
