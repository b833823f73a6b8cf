#!/usr/bin/env python3
"""Drive an interactive program in a pseudo-terminal (stdlib only: pty, select).

Reads a JSON spec on stdin:
  {"argv": [...], "cwd": "...", "env": {...}, "cols": 120, "rows": 40, "timeout": 15,
   "steps": [{"expect": "regex"}, {"send": "text"}, {"sleep": 0.2}, ...]}

`expect` waits (up to `timeout` seconds, or the step's own) until the regex matches the
screen text produced since the previous match (ANSI escape sequences stripped), then moves
past the match. `send` writes keys (use \\u001b[B for arrow down, \\r for Enter, \\u0003 for
Ctrl-C). After the steps the program is awaited until it exits.

Writes a JSON report on stdout: {"ok", "failed" (the step that timed out), "exitCode",
"signal", "transcript" (whole screen text, ANSI stripped), "raw" (bytes as text)}.
"""
import errno
import fcntl
import json
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time

ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[()][A-Za-z0-9]|\x1b[=>78cDEHM]")


PARTIAL = re.compile(r"\x1b(?:\[[0-?]*[ -/]*|\][^\x07\x1b]*|[()])?$")


def strip(text):
    return ANSI.sub("", text).replace("\r", "")


def main():
    spec = json.load(sys.stdin)
    argv = spec["argv"]
    env = spec.get("env") or dict(os.environ)
    env.setdefault("TERM", "xterm-256color")
    cols, rows = spec.get("cols", 120), spec.get("rows", 40)
    default_timeout = spec.get("timeout", 15)

    pid, fd = pty.fork()
    if pid == 0:
        try:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
            if spec.get("cwd"):
                os.chdir(spec["cwd"])
            os.execvpe(argv[0], argv, env)
        finally:
            os._exit(127)

    raw = bytearray()
    closed = False

    def pump(wait):
        nonlocal closed
        if closed:
            time.sleep(wait)
            return
        r, _, _ = select.select([fd], [], [], wait)
        if not r:
            return
        try:
            data = os.read(fd, 65536)
        except OSError as e:
            if e.errno == errno.EIO:
                closed = True
                return
            raise
        if not data:
            closed = True
            return
        raw.extend(data)

    def screen():
        # An escape sequence or UTF-8 character cut by a read is left out until it completes,
        # so positions in the screen text stay stable between calls.
        text = raw.decode("utf-8", "ignore")
        return strip(PARTIAL.sub("", text))

    pos = 0
    failed = None
    for i, step in enumerate(spec.get("steps", [])):
        if "expect" in step:
            pattern = re.compile(step["expect"], re.S)
            deadline = time.time() + step.get("timeout", default_timeout)
            while True:
                m = pattern.search(screen(), pos)
                if m:
                    pos = m.end()
                    break
                if closed or time.time() > deadline:
                    failed = {"index": i, "step": step, "closed": closed}
                    break
                pump(0.05)
            if failed:
                break
            # Let the prompt finish attaching its key handler before keys are sent.
            t_end = time.time() + step.get("settle", 0.15)
            while time.time() < t_end:
                pump(0.02)
        elif "send" in step:
            os.write(fd, step["send"].encode("utf-8"))
        elif "sleep" in step:
            t_end = time.time() + step["sleep"]
            while time.time() < t_end:
                pump(0.02)

    # Wait for the program to end (or kill it when a step failed).
    status = None
    deadline = time.time() + (2 if failed else spec.get("exit_timeout", default_timeout))
    while time.time() < deadline:
        pump(0.05)
        wpid, st = os.waitpid(pid, os.WNOHANG)
        if wpid:
            status = st
            break
    if status is None:
        os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
    # Drain the rest of the output.
    for _ in range(20):
        if closed:
            break
        pump(0.02)
    try:
        os.close(fd)
    except OSError:
        pass

    report = {
        "ok": failed is None,
        "failed": failed,
        "exitCode": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        "transcript": screen(),
        "raw": raw.decode("utf-8", "replace"),
    }
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()
