#!/usr/bin/python3
"""Runs a shell command with a new pseudo-terminal as its controlling terminal and stdio (what an
engine's `-t`/`-it` needs from its caller), copies what it prints to stdout, and exits with its
status as soon as it exits. Unlike script(1), it does not wait for its own stdin to close.

usage: tty-run.py [--size ROWSxCOLS] [--input TEXT] [--timeout SECONDS] COMMAND-STRING
  --size     window size of the pty (default 24x80)
  --input    typed into the terminal after half a second (\\n for Enter)
"""
import argparse
import fcntl
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import time

ap = argparse.ArgumentParser()
ap.add_argument("--size", default="24x80")
ap.add_argument("--input", default=None)
ap.add_argument("--timeout", type=float, default=60)
ap.add_argument("command")
a = ap.parse_args()

rows, cols = (int(x) for x in a.size.split("x"))
master, slave = os.openpty()
fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))


def child_setup():
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


proc = subprocess.Popen(["/bin/sh", "-c", a.command], stdin=slave, stdout=slave, stderr=slave,
                        preexec_fn=child_setup, close_fds=True)
os.close(slave)
deadline = time.monotonic() + a.timeout
typed = a.input is None
start = time.monotonic()
out = sys.stdout.buffer
while True:
    if not typed and time.monotonic() - start > 0.5:
        os.write(master, a.input.encode().decode("unicode_escape").encode())
        typed = True
    r, _, _ = select.select([master], [], [], 0.1)
    if r:
        try:
            data = os.read(master, 4096)
        except OSError:          # EIO: every slave fd is closed
            data = b""
        if data:
            out.write(data)
            out.flush()
            continue
        if proc.poll() is not None:
            break
    if proc.poll() is not None:
        # drain what is left, then stop
        while select.select([master], [], [], 0.2)[0]:
            try:
                data = os.read(master, 4096)
            except OSError:
                break
            if not data:
                break
            out.write(data)
        break
    if time.monotonic() > deadline:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        print(f"\ntty-run: timed out after {a.timeout}s", file=sys.stderr)
        sys.exit(124)
sys.exit(proc.wait() if proc.returncode is None else proc.returncode)
