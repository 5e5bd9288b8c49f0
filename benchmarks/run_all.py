"""Run every benchmark, one child process each, then print the README table.

``python -m benchmarks [--quick] [--output DIR] [--only NAME ...] [--profile]`` (or ``python benchmarks/run_all.py``).
Each benchmark writes ``<output>/<name>.json``; the table comes from ``benchmarks.report``. Exit status 1 if any
benchmark failed (the others still run).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import DEFAULT_OUTPUT, REPO_ROOT, child_env

BENCHMARKS = ("trainer_overhead", "pipeline_overhead", "workers", "queue", "distributed", "memory", "gpu", "safe_pickle")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fast smoke run with tiny sizes (figures not meaningful)")
    parser.add_argument("--output", default=str(DEFAULT_OUTPUT), help="folder for the JSON files")
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, help="run only these benchmarks")
    parser.add_argument("--profile", action="store_true", help="trainer_overhead: also store a cProfile")
    arguments = parser.parse_args(argv)

    env = child_env(threads=1)
    failed = []
    for name in arguments.only or BENCHMARKS:
        command = [sys.executable, "-m", f"benchmarks.{name}", "--output", arguments.output]
        if arguments.quick:
            command.append("--quick")
        if arguments.profile and name == "trainer_overhead":
            command.append("--profile")
        print(f"== {name}: {' '.join(command[1:])}", file=sys.stderr, flush=True)
        start = time.perf_counter()
        status = subprocess.run(command, cwd=REPO_ROOT, env=env).returncode
        print(f"== {name}: exit {status} after {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
        if status != 0:
            failed.append(name)

    from benchmarks.report import render

    print(render(arguments.output))
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
