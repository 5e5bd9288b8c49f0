"""A real command run on a pseudo-terminal, and what a terminal would show of its output.

``run_on_terminal`` gives the command a pty (``os.openpty``) of a given width as stdin, stdout and stderr, so that
``isatty()`` is true in it, and returns every byte it wrote. ``screen`` replays those bytes as a terminal does, for
the few controls the job lines use (carriage return, newline, cursor up ``ESC[nA``, erase ``ESC[J`` / ``ESC[K``),
and returns the lines left on the screen (scrolled-off lines included).
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import subprocess
import termios
import time

_CONTROL = re.compile(r"\x1b\[(\d*)([A-Za-z])|\r|\n|[^\x1b\r\n]+", re.S)


def run_on_terminal(command: list[str], env: dict, columns: int = 200, timeout: float = 300) -> tuple[int, str]:
    """(exit status, everything the command wrote to its terminal)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    process = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
    os.close(slave)
    output = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 1.0)
            if not ready:
                if process.poll() is not None:
                    break
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the command and every process that held the terminal have ended
                break
            if not data:
                break
            output += data
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=60)
        os.close(master)
    return process.returncode, output.decode("utf-8", errors="replace")


def screen(text: str) -> list[str]:
    """The lines a terminal shows after receiving ``text``."""
    lines, row, column = [""], 0, 0
    for match in _CONTROL.finditer(text):
        token, (number, command) = match.group(0), match.groups()
        if token == "\r":
            column = 0
        elif token == "\n":
            row += 1
            if row == len(lines):
                lines.append("")
        elif command == "A":
            row = max(0, row - int(number or 1))
        elif command == "J":  # erase from the cursor to the end of the screen
            lines[row] = lines[row][:column]
            del lines[row + 1:]
        elif command == "K":  # erase the line (2K) or from the cursor to its end
            lines[row] = "" if number == "2" else lines[row][:column]
        elif command is None:
            line = lines[row].ljust(column)
            lines[row] = line[:column] + token + line[column + len(token):]
            column += len(token)
    return [line.rstrip() for line in lines]
