//! The help texts: `nsem help`, and each command's (`nsem help run`,
//! `nsem run --help`, `nsem run -h`).

/// `nsem help`, `nsem --help`.
pub const GENERAL: &str = "\
nsem: POSIX named semaphores (glibc's sem_open objects in /dev/shm)

Usage: nsem [--dir DIR] COMMAND [OPTIONS] [ARGS]

Commands:
  list     Every semaphore (or those matching a PATTERN): name, value,
           waiters, mode, owner, status
  info     One semaphore in detail, and the processes using it
  create   Create a semaphore
  post     Give back tokens (sem_post)
  wait     Take a token (sem_wait)
  unlink   Remove names (sem_unlink)
  run      Run a command while holding a token
  recover  Give back the tokens of a robust semaphore's dead holders
  help     This help, or a command's: nsem help COMMAND

Options:
  --dir DIR      Look in DIR instead of /dev/shm (a tmpfs). Any position.
  -h, --help     Help (after a command: that command's help)
  -V, --version  The version

NAME is a semaphore name as sem_open takes it: \"jobs\" and \"/jobs\" are the same.

Exit status:
  0      success
  1      busy or timed out (--try, --timeout)
  2      error: no such semaphore, invalid name, permission denied, ...
  64     usage error
  128+N  wait or run ended by signal N before it took a token
  run: the command's status, 128+N if a signal N killed it,
       126 if it could not be started, 127 if it was not found.
";

/// The help of `command`.
pub fn of(command: &str) -> &'static str {
    match command {
        "list" => LIST,
        "info" => INFO,
        "create" => CREATE,
        "post" => POST,
        "wait" => WAIT,
        "unlink" => UNLINK,
        "recover" => RECOVER,
        _ => RUN,
    }
}

const LIST: &str = "\
Usage: nsem list [PATTERN...] [--json] [--watch [SECONDS] [--count N]]

Lists every semaphore file in the directory, or those whose names match a
PATTERN: name, value, waiters, mode, owner and status (ok, wrong-size,
bad-header, other-layout, not-regular-file, unreadable; \"temporary\" marks a
creator's temporary file). other-layout is a semaphore made by a process of
the other word size (32-bit beside 64-bit): its value is shown, but it
cannot be opened from here.

PATTERN is a shell wildcard on the name, quoted against the shell: * any
characters, ? one, [a-z] one of a set, [!a-z] one outside it, \\ before a
literal; \"/jobs-*\" and \"jobs-*\" are the same.

Options:
  --json             One JSON object per semaphore, in an array (not
                     with --watch)
  --watch [SECONDS]  Redraw the table every SECONDS (default 2, at least
                     0.1) until interrupted; a number right after --watch
                     is taken as SECONDS
  --count N          With --watch: stop after N draws (N >= 1)
";

const INFO: &str = "\
Usage: nsem info NAME [--json]

One semaphore in detail: path, value, waiters, mode, owner, group, type,
size, status; then the processes that have it mapped (pid, user, command)
and which of their threads are blocked on it right now. Processes and
threads that cannot be read (other users' when not root) are counted.

For a robust semaphore, also its record: the limit, the tokens recovered
so far and those reported uncertain, and each holder (pid, tokens held)
with its state: alive, dead (nsem recover gives its tokens back), or
unknown (its liveness cannot be told: never recovered); \"uncertain\"
marks tokens a dead holder was moving as it died.
It only reports: nothing is changed.

Options:
  --json  One JSON object
";

const CREATE: &str = "\
Usage: nsem create NAME [--value N] [--mode MODE] [--exist-ok] [--robust]

Creates a semaphore, as sem_open with O_CREAT | O_EXCL.

Options:
  --value N    Initial tokens, 0 to 2147483647 (default 1)
  --mode MODE  Octal permissions (default 0600), less the umask
  --exist-ok   An existing semaphore is fine: left as it is (with
               --robust, one without a record gets one, whose limit is N:
               --value is then required, the value it was created with)
  --robust     With a record of its holders (robust mode): the tokens of a
               robust holder that dies come back (nsem run --robust, the
               library's robust handles). N is also its limit. glibc
               programs share it unchanged.
";

const POST: &str = "\
Usage: nsem post NAME [N]

Gives back N tokens (default 1), as N sem_post calls. A value that would
pass 2147483647 is an error, and nothing is changed.
";

const WAIT: &str = "\
Usage: nsem wait NAME [--timeout SECONDS | --try]

Takes a token, as sem_wait, and keeps it (give it back with nsem post).

Options:
  --timeout SECONDS  Give up after SECONDS (decimals allowed; 0: only if a
                     token is free now); exit 1
  --try              Only if a token is free now, else exit 1
";

const UNLINK: &str = "\
Usage: nsem unlink NAME...

Removes the names, as sem_unlink. Processes that have a semaphore open keep
using it; a new one of the same name is a different semaphore. Each name
that cannot be removed is reported; the others are still removed.
";

const RECOVER: &str = "\
Usage: nsem recover NAME [--json]

Gives back the tokens of the dead holders of a robust semaphore (made with
nsem create --robust, or the library's robust mode), and says what it did:
tokens given back, dead holders cleared, tokens uncertain (a holder killed
while moving a token: not given back, so that none is given back twice),
holders undecided (liveness cannot be told: left alone), corrupt slots
(claiming more than the limit: left alone), beacon files of holders
killed while opening that it removed, and the value after it.
Robust handles do this by themselves when they would block; this is for
the shell. nsem does not become a holder to do it. A semaphore without a
record is an error (exit 2).

Options:
  --json  One JSON object
";

const RUN: &str = "\
Usage: nsem run NAME [--timeout SECONDS | --try] [--robust] [--] COMMAND [ARGS...]

Takes a token, runs COMMAND, gives the token back when it ends (also if it
fails or is killed), and exits with its status: a counting lock around a
command, like flock(1) for semaphores.

Options:
  --timeout SECONDS  Give up after SECONDS without running COMMAND; exit 1
                     (0: only if a token is free now, as --try)
  --try              Run only if a token is free now, else exit 1
  --robust           Hold the token as a recorded holder of a robust
                     semaphore: if nsem itself is killed (SIGKILL), the
                     token comes back (nsem recover, or any robust waiter)

SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2 and SIGALRM sent to nsem
are passed on to the command (not those the terminal already sent it); nsem
still gives the token back. The first word after NAME that is not an option
of nsem's starts COMMAND; use -- if COMMAND starts with a dash.
";
