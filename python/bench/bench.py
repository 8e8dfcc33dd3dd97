"""namedsem against named_semaphores (posix_ipc), side by side in one run.

    python bench/bench.py            the measurement (about a minute)
    python bench/bench.py --quick    a smoke run: every case runs, the figures mean little

Cases:
  1. uncontended acquire() + release() in one process;
  1r. the same with a robust namedsem handle (robust=True: each token taken
     is recorded, and comes back if the process dies), against the same
     plain named_semaphores case (it has no robust mode);
  2. ping-pong between two processes over two semaphores (A: release x,
     acquire y; B: acquire x, release y), each process on its own CPU;
  3. the same ping-pong with both processes on one CPU.

Each case runs alternately for each package, ROUNDS times; the table gives
the median time per operation pair (per round trip for the ping-pong) and
the ratio namedsem / named_semaphores (below 1 is faster).
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

PACKAGES = ["namedsem", "named_semaphores"]


def load(package):
    if package == "namedsem":
        from namedsem import NamedSemaphore
    else:
        from named_semaphores.semaphore import NamedSemaphore
    return NamedSemaphore


def pin(cpu):
    if cpu is not None:
        os.sched_setaffinity(0, {cpu})


def uncontended(package, name, n, robust=False):
    NS = load(package)
    extra = {"robust": True} if robust and package == "namedsem" else {}
    sem = NS(name, 1, NS.Flags.RAISE_IF_EXISTS, **extra)
    acquire, release = sem.acquire, sem.release
    start = time.perf_counter_ns()
    for _ in range(n):
        acquire()
        release()
    return (time.perf_counter_ns() - start) / n


def echo(package, x, y, n, cpu):
    """The other side of the ping-pong (run in a child process)."""
    pin(cpu)
    NS = load(package)
    sx, sy = NS(x), NS(y)
    print("ready", flush=True)
    for _ in range(n):
        sx.acquire()
        sy.release()


def ping_pong(package, name, n, cpus):
    NS = load(package)
    x = NS(name + "-x", 0, NS.Flags.RAISE_IF_EXISTS)
    y = NS(name + "-y", 0, NS.Flags.RAISE_IF_EXISTS)
    child = subprocess.Popen(
        [sys.executable, __file__, "--echo", package, x.name, y.name, str(n), str(cpus[1])],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert child.stdout.readline().strip() == "ready"
        previous = os.sched_getaffinity(0)
        pin(cpus[0])
        try:
            start = time.perf_counter_ns()
            for _ in range(n):
                x.release()
                y.acquire()
            elapsed = time.perf_counter_ns() - start
        finally:
            os.sched_setaffinity(0, previous)
        assert child.wait(60) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    return elapsed / n


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny counts: a smoke run")
    parser.add_argument("--echo", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.echo:
        package, x, y, n, cpu = args.echo
        echo(package, x, y, int(n), None if cpu == "None" else int(cpu))
        return
    rounds, n_fast, n_pong = (3, 20_000, 500) if args.quick else (7, 1_000_000, 20_000)
    cpus = sorted(os.sched_getaffinity(0))
    cases = [("uncontended acquire() + release()", lambda p, nm: uncontended(p, nm, n_fast)),
             ("uncontended acquire() + release(), namedsem robust=True",
              lambda p, nm: uncontended(p, nm, n_fast, robust=True))]
    if len(cpus) >= 2:
        cases.append(("ping-pong, two processes on two CPUs",
                      lambda p, nm: ping_pong(p, nm, n_pong, (cpus[0], cpus[1]))))
    cases.append(("ping-pong, two processes on one CPU",
                  lambda p, nm: ping_pong(p, nm, n_pong, (cpus[0], cpus[0]))))
    print(f"Python {sys.version.split()[0]}, {len(cpus)} CPUs, {rounds} rounds, median ns per operation")
    print()
    print("| case | namedsem | named_semaphores | namedsem / named_semaphores |")
    print("|---|---:|---:|---:|")
    for i, (title, run) in enumerate(cases):
        times = {p: [] for p in PACKAGES}
        for r in range(rounds):
            for p in PACKAGES:
                times[p].append(run(p, f"nsem-pybench-{os.getpid()}-{i}-{r}-{p}"))
        ours, theirs = (statistics.median(times[p]) for p in PACKAGES)
        print(f"| {title} | {ours:,.0f} | {theirs:,.0f} | {ours / theirs:.2f} |")


if __name__ == "__main__":
    main()
