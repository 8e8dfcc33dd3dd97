#!/usr/bin/env python3
"""The documentation's shell blocks, extracted and run: the text a user
follows is the test, so the two cannot drift apart.

    python3 ci/doc-blocks.py list [ROOT]          every block and what is done with it
    python3 ci/doc-blocks.py run [--only TEXT]... [--logs DIR] [ROOT]

Run by ci/doc-blocks.sh, which sets up the scratch world the blocks run in
(a private /dev/shm, copy-on-write views of the checkout, $HOME and
/usr/local); run alone, the blocks act on the real machine.

Blocks are fenced code blocks of README.md, CONTRIBUTING.md and docs/*.md.
Those whose info string is sh, bash, shell, console or shell-session are
shell blocks; each is run unless an HTML comment on the nearest non-blank
line above its fence says otherwise:

    <!-- doc-test: skip reason="needs an ARM device" -->
    <!-- doc-test: skip reason="..." elsewhere="ci/bench.sh" -->
    <!-- doc-test: illustration reason="output of a run on another machine" -->
    <!-- doc-test: run vary="^nsem info" -->
    <!-- doc-test: file="prog.c" -->

`skip` needs a reason, printed in the summary; with `elsewhere=FILE[,FILE]`,
every command of the block must appear in one of those files as a whole
command (followed by nothing or a shell operator), so that a block skipped
because CI runs it elsewhere cannot drift from what CI runs. `illustration`
marks a block that is not meant to be run as it stands. `file=PATH` (on a
block of any language) writes the block's text to PATH, relative to the
checkout, when the run reaches it, for later blocks to use. `timeout=SECONDS`
bounds a block (default 900).

sh, bash and shell blocks run with `bash -e -o pipefail -v` in the
checkout's top directory, each in a fresh shell. console blocks are
transcripts: lines starting with `$ ` are commands (a line ending in `\\`
continues), the lines after one are its expected output (stdout and stderr,
compared exactly, trailing blanks aside), and `[exit N]` gives its exit
status (0 if absent). The commands run one after another in one shell; one
ending in `&` runs in the background and must have ended within 30 seconds
of the block's end. `vary=REGEX` names commands whose output is not
compared (their status still is).
"""

import difflib
import os
import re
import shlex
import subprocess
import sys
import time

SHELL = {"sh", "bash", "shell"}
CONSOLE = {"console", "shell-session"}
FIRST = [
    "README.md",
    "CONTRIBUTING.md",
    "docs/api.md",
    "docs/platforms.md",
    "docs/nsem.md",
    "docs/c-library.md",
    "docs/performance.md",
    "docs/reliability.md",
]
ACTIONS = {"run", "skip", "illustration"}
KEYS = {"reason", "elsewhere", "vary", "file", "timeout"}
MARKER = re.compile(r"^\s*<!--\s*doc-test:(.*?)-->\s*$")
FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})\s*([^\s`]*)")


class Block:
    def __init__(self, path, line, lang, text, marker):
        self.path, self.line, self.lang, self.text = path, line, lang, text
        self.action, self.attrs = marker

    @property
    def where(self):
        return f"{self.path}:{self.line}"

    @property
    def shell(self):
        return self.lang in SHELL or self.lang in CONSOLE


def fail(msg):
    print(f"doc-blocks: {msg}", file=sys.stderr)
    sys.exit(2)


def parse_marker(text, where):
    try:
        words = shlex.split(text)
    except ValueError as e:
        fail(f"{where}: bad doc-test marker ({e})")
    action, attrs = "run", {}
    for w in words:
        if "=" in w:
            k, v = w.split("=", 1)
            if k not in KEYS:
                fail(f"{where}: unknown doc-test key {k!r}")
            attrs[k] = v
        elif w in ACTIONS:
            action = w
        else:
            fail(f"{where}: unknown doc-test word {w!r}")
    if action == "skip" and not attrs.get("reason"):
        fail(f"{where}: a skipped block needs a reason")
    return action, attrs


def blocks_of(root, path):
    lines = open(os.path.join(root, path), encoding="utf-8").read().split("\n")
    out, i = [], 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        indent, fence, info = m.group(1), m.group(2), m.group(3)
        lang = info.split(",")[0].lower()
        start = i
        j = i + 1
        close = re.compile(r"^\s*" + re.escape(fence[0]) + "{%d,}\\s*$" % len(fence))
        while j < len(lines) and not close.match(lines[j]):
            j += 1
        body = [l[len(indent):] if l.startswith(indent) else l for l in lines[start + 1 : j]]
        k = start - 1
        while k >= 0 and not lines[k].strip():
            k -= 1
        marker = ("run", {})
        mm = MARKER.match(lines[k]) if k >= 0 else None
        where = f"{path}:{start + 1}"
        if mm:
            marker = parse_marker(mm.group(1), where)
        b = Block(path, start + 1, lang, "\n".join(body) + "\n", marker)
        if mm and not b.shell and "file" not in b.attrs:
            fail(f"{where}: a doc-test marker on a {lang or 'plain'} block that is not a file")
        if b.shell or "file" in b.attrs:
            out.append(b)
        i = j + 1
    return out


def all_blocks(root):
    docs = sorted("docs/" + f for f in os.listdir(os.path.join(root, "docs")) if f.endswith(".md"))
    files = FIRST + [f for f in docs if f not in FIRST]
    out = []
    for f in files:
        if os.path.exists(os.path.join(root, f)):
            out.extend(blocks_of(root, f))
    return out


def commands(text):
    """The commands of a shell block: continuation lines joined, comments
    and blank lines dropped, blanks collapsed."""
    out, cur = [], ""
    for line in text.split("\n"):
        cur += line
        if cur.endswith("\\"):
            cur = cur[:-1] + " "
            continue
        cmd = re.sub(r"(^|\s)#.*$", "", cur).strip()
        cur = ""
        if cmd.startswith("$ "):
            cmd = cmd[2:]
        if cmd:
            out.append(" ".join(cmd.split()))
    return out


def check_elsewhere(root, b):
    """Every command of the skipped block is a whole command in one of the
    named files; the missing ones."""
    texts = []
    for f in b.attrs["elsewhere"].split(","):
        p = os.path.join(root, f.strip())
        if not os.path.exists(p):
            return [f"(no file {f})"]
        texts.append("\n".join(commands(open(p, encoding="utf-8").read())))
    lines = b.text.split("\n")
    if b.lang in CONSOLE:
        lines = [l for l in lines if l.startswith("$ ")]
    missing = []
    for cmd in commands("\n".join(lines)):
        pat = re.compile(r"(^|[\s;&|(]|\$\()" + re.escape(cmd) + r"($|\s*(\||&|;|>|2>|\)))", re.M)
        if not any(pat.search(t) for t in texts):
            missing.append(cmd)
    return missing


def console_steps(text):
    """(command, expected output lines, expected status) for each `$ ` line."""
    steps, cur = [], None
    lines = text.rstrip("\n").split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("$ "):
            cmd = line[2:]
            while cmd.endswith("\\") and i + 1 < len(lines):
                i += 1
                cmd += "\n" + lines[i]
            cur = [cmd, [], 0]
            steps.append(cur)
        elif cur is None:
            fail(f"console block starts with output, not a `$ ` command: {line!r}")
        elif re.fullmatch(r"\[exit \d+\]", line.strip()):
            cur[2] = int(line.strip()[6:-1])
        else:
            cur[1].append(line.rstrip())
        i += 1
    return steps


def run_shell(root, b, log, timeout):
    script = log + ".sh"
    with open(script, "w") as f:
        f.write(b.text)
    with open(log + ".log", "wb") as out:
        p = subprocess.Popen(
            ["timeout", "--kill-after=10", str(timeout), "bash", "-e", "-o", "pipefail", "-v", script],
            cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        for chunk in iter(lambda: p.stdout.readline(), b""):
            sys.stdout.buffer.write(b"  | " + chunk)
            sys.stdout.flush()
            out.write(chunk)
        rc = p.wait()
    if rc == 124:
        return f"timed out after {timeout} s"
    return None if rc == 0 else f"exit status {rc}"


def run_console(root, b, log, timeout):
    steps = console_steps(b.text)
    vary = re.compile(b.attrs["vary"]) if "vary" in b.attrs else None
    d = log + ".d"
    os.makedirs(d, exist_ok=True)
    s = ["bg=()"]
    for n, (cmd, _, _) in enumerate(steps):
        if cmd.rstrip().endswith("&"):
            s.append(f"{{ {cmd.rstrip()[:-1]}\n}} >{d}/{n}.out 2>&1 </dev/null & bg+=($!)")
            s.append(f"echo bg >{d}/{n}.rc")
        else:
            s.append(f"{{ {cmd}\n}} >{d}/{n}.out 2>&1 </dev/null; echo $? >{d}/{n}.rc")
    # Background jobs must end by themselves; a stray one is killed and reported.
    s.append('for p in "${bg[@]}"; do for i in $(seq 300); do kill -0 "$p" 2>/dev/null || break; '
             'sleep 0.1; done; if kill -0 "$p" 2>/dev/null; then kill "$p"; '
             'echo "background job $p still running" >&2; exit 99; fi; done')
    with open(log + ".sh", "w") as f:
        f.write("\n".join(s) + "\n")
    p = subprocess.run(["timeout", "--kill-after=10", str(timeout), "bash", log + ".sh"],
                       cwd=root, stdin=subprocess.DEVNULL, capture_output=True)
    report = []
    for n, (cmd, want, status) in enumerate(steps):
        try:
            got = open(f"{d}/{n}.out", encoding="utf-8", errors="replace").read()
            rc = open(f"{d}/{n}.rc").read().strip()
        except FileNotFoundError:
            report.append(f"$ {cmd}: not run")
            break
        print(f"  $ {cmd}")
        for l in got.rstrip("\n").split("\n") if got else []:
            print(f"  | {l}")
        if rc == "bg":
            continue
        got_lines = [l.rstrip() for l in got.rstrip("\n").split("\n")] if got.strip() else []
        while want and not want[-1]:
            want.pop()
        if int(rc) != status:
            report.append(f"$ {cmd}: exit status {rc}, documented {status}")
        if (vary is None or not vary.search(cmd)) and got_lines != want:
            diff = "\n".join(difflib.unified_diff(want, got_lines, "documented", "actual", lineterm=""))
            report.append(f"$ {cmd}: output differs:\n{diff}")
        if report:
            break
    if p.returncode == 124:
        report.append(f"timed out after {timeout} s")
    elif p.returncode != 0:
        report.append(f"the block's shell ended with {p.returncode}: {p.stderr.decode(errors='replace')}")
    with open(log + ".log", "w") as f:
        f.write("\n".join(report) + "\n")
    return "\n".join(report) or None


def main():
    args = sys.argv[1:]
    if not args or args[0] not in ("list", "run"):
        fail(__doc__.split("\n\n")[1])
    mode, args = args[0], args[1:]
    only, logs = [], None
    while args and args[0].startswith("--"):
        if args[0] == "--only" and len(args) > 1:
            only, args = only + [args[1]], args[2:]
        elif args[0] == "--logs" and len(args) > 1:
            logs, args = args[1], args[2:]
        else:
            fail(f"unknown option {args[0]}")
    root = os.path.abspath(args[0] if args else ".")
    blocks = all_blocks(root)
    if mode == "list":
        for b in blocks:
            what = "file " + b.attrs["file"] if "file" in b.attrs else b.action
            print(f"{b.where:28} {b.lang:8} {what:13} {b.attrs.get('reason', '')}")
        return 0
    logs = os.path.abspath(logs or os.path.join(root, "target", "doc-blocks"))
    os.makedirs(logs, exist_ok=True)
    rows, failed = [], 0
    for n, b in enumerate(blocks):
        if only and not any(o in b.where for o in only):
            continue
        if "file" in b.attrs:
            with open(os.path.join(root, b.attrs["file"]), "w") as f:
                f.write(b.text)
            continue
        if b.action != "run":
            note = b.attrs.get("reason", "")
            if "elsewhere" in b.attrs:
                missing = check_elsewhere(root, b)
                if missing:
                    failed += 1
                    rows.append(("FAILED", b.where, 0, f"not in {b.attrs['elsewhere']}: {'; '.join(missing)}"))
                    continue
                note += f" [checked: in {b.attrs['elsewhere']}]"
            rows.append(("skipped" if b.action == "skip" else "illustration", b.where, 0, note))
            continue
        print(f"\n--> {b.where} ({b.lang})", flush=True)
        log = os.path.join(logs, f"{n:03d}")
        t0 = time.monotonic()
        timeout = int(b.attrs.get("timeout", 900))
        err = (run_console if b.lang in CONSOLE else run_shell)(root, b, log, timeout)
        took = time.monotonic() - t0
        if err:
            failed += 1
            print(f"FAILED {b.where}: {err}", flush=True)
            rows.append(("FAILED", b.where, took, err.split("\n")[0]))
        else:
            rows.append(("ran", b.where, took, ""))
    print("\n==> documentation blocks")
    for status, where, took, note in rows:
        t = f"{took:5.0f}s" if status in ("ran", "FAILED") and took else "      "
        print(f"{status:12} {where:28} {t}  {note}")
    count = lambda s: sum(1 for r in rows if r[0] == s)
    print(f"doc blocks: {count('ran')} ran, {failed} failed, {count('skipped')} skipped, "
          f"{count('illustration')} illustrations")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
