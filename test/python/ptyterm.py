"""A program on a pseudo-terminal, driven like a user at a keyboard (a small pexpect)."""

import fcntl
import os
import pty
import re
import select
import signal
import subprocess
import termios
import time


def _controlling_terminal():
    # A session of its own whose controlling terminal is the pty (stdin), so Ctrl-C typed on
    # it sends SIGINT to the program, as a real terminal does.
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


class Terminal:
    def __init__(self, argv, env=None, cwd=None):
        self.master, slave = pty.openpty()
        full_env = dict(os.environ, TERM="xterm", **(env or {}))
        self.proc = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=full_env,
                                     cwd=cwd, preexec_fn=_controlling_terminal, close_fds=True)
        os.close(slave)
        self.output = ""

    def send(self, text):
        os.write(self.master, text.encode())

    def line(self, text):
        self.send(text + "\r")

    def expect(self, pattern, timeout=20.0):
        """Waits until `pattern` (a regex) appears in the output after what expect() consumed
        before; returns the match."""
        regex = re.compile(pattern)
        end = time.monotonic() + timeout
        while True:
            m = regex.search(self.output)
            if m:
                self.output = self.output[m.end():]
                return m
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError(f"timed out waiting for {pattern!r}; output so far:\n"
                                     f"{self.output[-3000:]}")
            r, _, _ = select.select([self.master], [], [], left)
            if r:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"the program ended waiting for {pattern!r}; output:\n"
                                         f"{self.output[-3000:]}")
                self.output += chunk.decode(errors="replace").replace("\r", "")

    def interrupt(self):
        """Ctrl-C, as the terminal sends it (to the foreground process group)."""
        self.send("\x03")

    def close(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)
        os.close(self.master)
