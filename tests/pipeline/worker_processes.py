"""Real ``neural-cotraining`` processes for the worker tests: started with the tests' builders allowed and one torch
thread; a poll for what they do, and their stderr read as it comes."""

import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def command_environment(**extra: str) -> dict:
    """The environment of a command under test: this checkout, the tests' builders, one torch thread."""
    return dict(os.environ, PYTHONPATH=str(ROOT), NEURAL_COTRAINING_BUILDER_MODULES="tests", OMP_NUM_THREADS="1",
                **extra)


def start_command(*arguments: str, env: dict | None = None, new_session: bool = False) -> subprocess.Popen:
    """``neural-cotraining ARGUMENTS`` as a process (text pipes); ``new_session``: a process group of its own, as a
    shell gives a foreground job (Ctrl-C then signals the whole group)."""
    return subprocess.Popen([sys.executable, "-m", "neural_cotraining.cli", *arguments], cwd=ROOT,
                            env=env or command_environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=new_session)


def start_worker(schema_name: str, *options: str, env: dict | None = None) -> subprocess.Popen:
    """``neural-cotraining worker --schema SCHEMA --poll 0.2 OPTIONS``."""
    return start_command("worker", "--schema", schema_name, "--poll", "0.2", *options, env=env)


def wait_for(condition, what: str, timeout: float = 120, every: float = 0.05):
    """``condition()``'s first true value, looked at every ``every`` seconds; AssertionError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"{what} did not happen within {timeout} s")


class StderrLines:
    """The lines a process writes to stderr, read by a thread as they come (the pipe never fills up)."""

    def __init__(self, process: subprocess.Popen):
        self.lines: list[str] = []
        self._thread = threading.Thread(target=lambda: self.lines.extend(process.stderr), daemon=True)
        self._thread.start()

    def wait_for(self, text: str, timeout: float = 120) -> None:
        wait_for(lambda: any(text in line for line in self.lines), f"{text!r} on stderr", timeout=timeout)

    def text(self) -> str:
        """Everything, once the process has ended."""
        self._thread.join(timeout=30)
        return "".join(self.lines)


def run_command(*arguments: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """``neural-cotraining ARGUMENTS`` to its end (a command that outlives ``timeout`` fails the test)."""
    process = start_command(*arguments, env=env)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    finally:
        if process.poll() is None:
            process.kill()
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)
