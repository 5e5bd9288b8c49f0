"""Shared helpers of the benchmark scripts: machine info, result files, statistics, throwaway schemas.

Every script writes ``<output>/<name>.json`` (default output: ``benchmarks/results/``, ignored by git) holding
``{"benchmark": name, "quick": bool, "machine": {...}, ...figures...}`` and prints the same JSON.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import datetime
import functools
import inspect
import json
import math
import os
import platform
import statistics
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUTPUT = REPO_ROOT / "benchmarks" / "results"

# The demo experiment's co-training entries (neural_cotraining/configs/demo.yaml), the workload of most benchmarks.
DEMO_NEURAL = {"format": "simulated", "n_sessions": 2, "n_neurons": 24, "n_train_images": 400, "simulation_seed": 7}
DEMO_MODEL = {"block_channels": [16, 32], "readout_layer": 1, "readout_type": "gaussian"}
DEMO_COTRAIN_TRAINER = {
    "max_epochs": 30,
    "patience": 8,
    "lr": 0.005,
    "loss_weighting": "likelihood",
    "monitor": {"validation/img_classification/accuracy": "max", "validation/neural/correlation": "max"},
}
DATASET_FN = "neural_cotraining.dataset.builders.cotraining_loaders"
MODEL_FN = "neural_cotraining.models.builders.multitask_model"
TRAINER_FN = "neural_cotraining.trainer.builders.cotrainer"


def parse_args(description: str, argv: Sequence[str] | None = None,
               extra: Callable | None = None) -> argparse.Namespace:
    """``--quick`` and ``--output``, plus what ``extra(parser)`` adds."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true",
                        help="a fast smoke run with tiny sizes (figures not meaningful)")
    parser.add_argument("--output", default=str(DEFAULT_OUTPUT), help="folder for the JSON file")
    if extra is not None:
        extra(parser)
    return parser.parse_args(argv)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def git_revision() -> str | None:
    """The checked-out commit, with ``+dirty`` when the working tree has uncommitted changes."""
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO_ROOT, capture_output=True,
                                text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{commit}+dirty" if commit and dirty else (commit or None)


def machine_info() -> dict:
    import torch

    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    info = {
        "cpu_model": cpu_model(),
        "logical_cores": os.cpu_count(),
        "usable_cores": usable,
        "load_average_1_5_15": [round(x, 2) for x in os.getloadavg()],
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "git": git_revision(),
    }
    return info


def write_result(name: str, result: dict, output: str | Path, quick: bool, load: LoadMonitor | None = None) -> Path:
    """Write ``<output>/<name>.json`` (machine info and, given a ``LoadMonitor``, the machine's load during the
    benchmark added) and print it."""
    document = {"benchmark": name, "quick": bool(quick), "machine": machine_info(), **result}
    if load is not None:
        document["load_during_benchmark"] = load.report()
    folder = Path(output)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    text = json.dumps(document, indent=2, sort_keys=False, default=float)
    path.write_text(text + "\n")
    print(text, flush=True)
    return path


def summary(values: Sequence[float], digits: int = 4) -> dict:
    """Median, min, max and relative spread ((max - min) / median) of repeated measurements."""
    values = [float(v) for v in values]
    median = statistics.median(values)
    return {
        "median": round(median, digits),
        "min": round(min(values), digits),
        "max": round(max(values), digits),
        "spread_percent": round(100 * (max(values) - min(values)) / median, 2) if median else None,
        "values": [round(v, digits) for v in values],
    }


def median_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """A distribution-free confidence interval for the median: (low, high, coverage) between the k-th smallest and
    the k-th largest value, with the largest k whose coverage 1 - 2 P(Binomial(n, 1/2) < k) still reaches
    ``confidence`` (n = 9: the 2nd and 8th value, 96.1 %). Needs no assumption about the values' distribution,
    which on a shared machine is skewed by load."""
    ordered = sorted(float(v) for v in values)
    n = len(ordered)
    below = 0.0  # P(Binomial(n, 1/2) < k)
    best = None
    for k in range(1, n // 2 + 1):
        below += math.comb(n, k - 1) / 2**n
        coverage = 1 - 2 * below
        if coverage < confidence:
            break
        best = (ordered[k - 1], ordered[n - k], coverage)
    if best is None:
        raise ValueError(f"{n} values are too few for a {confidence:.0%} interval of the median")
    return best


def interleaved_orders(variants: Sequence[str], repeats: int) -> Iterator[tuple[int, list[str]]]:
    """(repeat, variant order) with the order rotated every repeat, so a slow drift of the machine's load hits
    every variant alike."""
    variants = list(variants)
    for repeat in range(repeats):
        shift = repeat % len(variants)
        yield repeat, variants[shift:] + variants[:shift]


class Stopwatch:
    """Accumulates wall time, process CPU time and call counts per label; ``wrap(owner, attribute, label)`` times a
    function or method in place (restored by ``restore()``), so package code is measured without editing it."""

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self.cpu_seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}
        self._patched: list[tuple[object, str, object, bool]] = []

    def add(self, label: str, seconds: float, cpu_seconds: float = 0.0) -> None:
        self.seconds[label] = self.seconds.get(label, 0.0) + seconds
        self.cpu_seconds[label] = self.cpu_seconds.get(label, 0.0) + cpu_seconds
        self.calls[label] = self.calls.get(label, 0) + 1

    @contextlib.contextmanager
    def time(self, label: str):
        start, cpu_start = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.add(label, time.perf_counter() - start, time.process_time() - cpu_start)

    def timed(self, function, label: str):
        """``function``, adding its time to ``label`` at every call."""
        watch = self

        @functools.wraps(function)
        def timed(*args, **kwargs):
            start, cpu_start = time.perf_counter(), time.process_time()
            try:
                return function(*args, **kwargs)
            finally:
                watch.add(label, time.perf_counter() - start, time.process_time() - cpu_start)

        return timed

    def wrap(self, owner, attribute: str, label: str | None = None) -> None:
        label = label or attribute
        had_own = attribute in vars(owner)
        # the raw attribute, bypassing descriptors and metaclass look-ups (DataJoint's TableMeta instantiates the
        # table for some class attributes), so a method stays a method when the wrapper is set on the class
        raw = inspect.getattr_static(owner, attribute)
        static = isinstance(raw, staticmethod)
        if isinstance(raw, classmethod):
            raise TypeError(f"cannot time the classmethod {attribute!r}")
        timed = self.timed(raw.__func__ if static else raw, label)
        setattr(owner, attribute, staticmethod(timed) if static else timed)
        self._patched.append((owner, attribute, raw if had_own else None, had_own))

    def wrap_item(self, mapping: dict, key: str, label: str) -> None:
        """Time ``mapping[key]`` (a function held in a dict, e.g. a registry's) in place, restored by ``restore()``."""
        original = mapping[key]
        mapping[key] = self.timed(original, label)
        self._patched.append((mapping, key, original, None))

    def restore(self) -> None:
        for owner, attribute, raw, had_own in reversed(self._patched):
            if had_own is None:  # a mapping's item
                owner[attribute] = raw
            elif had_own:
                setattr(owner, attribute, raw)
            else:
                delattr(owner, attribute)
        self._patched.clear()

    def reset(self) -> None:
        self.seconds.clear()
        self.cpu_seconds.clear()
        self.calls.clear()


def system_cpu_seconds() -> tuple[float, float] | None:
    """(busy, total) CPU seconds of the whole machine since boot, all cores (from /proc/stat); None elsewhere.
    The difference of two readings tells how much CPU every process together used in between."""
    try:
        fields = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])  # guest time is already counted in user
    return (total - idle) / ticks, total / ticks


class LoadMonitor:
    """How busy the machine was while a benchmark ran: cores used by every process together, by this benchmark
    (this process and its waited-for children) and by everything else (other users' jobs, the database server)."""

    def __init__(self):
        self._system = system_cpu_seconds()
        self._own = self._own_cpu()
        self._wall = time.perf_counter()

    @staticmethod
    def _own_cpu() -> float:
        import resource

        total = 0.0
        for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
            usage = resource.getrusage(who)
            total += usage.ru_utime + usage.ru_stime
        return total

    def report(self) -> dict:
        wall = time.perf_counter() - self._wall
        system = system_cpu_seconds()
        own = self._own_cpu() - self._own
        report = {"wall_seconds": round(wall, 1), "this_benchmark_cores": round(own / wall, 2)}
        if self._system and system:
            busy = system[0] - self._system[0]
            report["machine_busy_cores"] = round(busy / wall, 2)
            report["other_processes_cores"] = round(max(0.0, busy - own) / wall, 2)
        return report


def throwaway_schema_name(tag: str) -> str:
    return f"bench_{tag}_{uuid.uuid4().hex[:10]}"


@contextlib.contextmanager
def throwaway_schema(tag: str) -> Iterator:
    """The pipeline's tables in a fresh schema, dropped afterwards (also on failure)."""
    from neural_cotraining.pipeline import activate

    tables = activate(throwaway_schema_name(tag))
    try:
        yield tables
    finally:
        tables.schema.drop(prompt=False)


def drop_schema(name: str) -> None:
    """Drop the pipeline schema ``name`` (used for cleanup of schemas that child processes filled)."""
    from neural_cotraining.pipeline import activate

    activate(name).schema.drop(prompt=False)


def add_entries(tables, dataset_config: dict, model_config: dict, trainer_config: dict, seeds: Sequence[int]) -> dict:
    """Insert one dataset, model and trainer entry (the package's builders) and the seeds; returns the key
    without the seed."""
    key = {}
    key.update(tables.Dataset().add_entry(DATASET_FN, dataset_config, comment="benchmark"))
    key.update(tables.Model().add_entry(MODEL_FN, model_config, comment="benchmark"))
    key.update(tables.Trainer().add_entry(TRAINER_FN, trainer_config, comment="benchmark"))
    tables.Seed().insert([{"seed": int(seed)} for seed in seeds], skip_duplicates=True)
    return key


def train_directly(dataset_config: dict, model_config: dict, trainer_config: dict, seed: int) -> tuple:
    """The package's dataset, model and trainer builders called directly, without the pipeline (through their
    modules, so that a :class:`Stopwatch` wrapped around them sees the calls): ``(score, output, model_state)``."""
    from neural_cotraining.dataset import builders as dataset_builders
    from neural_cotraining.models import builders as model_builders
    from neural_cotraining.trainer import builders as trainer_builders

    dataloaders = dataset_builders.cotraining_loaders(seed=seed, **dataset_config)
    model = model_builders.multitask_model(dataloaders, seed=seed, **model_config)
    return trainer_builders.cotrainer(model=model, dataloaders=dataloaders, seed=seed, uid=None, cb=None,
                                      **trainer_config)


def start_child(module: str, *arguments: str) -> subprocess.Popen:
    """``python -m module arguments`` as a benchmark child process (:func:`child_env`, one thread; text pipes)."""
    import sys

    return subprocess.Popen([sys.executable, "-m", module, *arguments], cwd=REPO_ROOT, env=child_env(1),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def child_env(threads: int = 1) -> dict:
    """Environment of a benchmark child process: the repository importable, one BLAS/OpenMP thread."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env["OMP_NUM_THREADS"] = str(threads)
    env["MKL_NUM_THREADS"] = str(threads)
    env["PYTHONUNBUFFERED"] = "1"
    return env


@dataclasses.dataclass
class WorkersInStep:
    """What :func:`run_workers_in_step` saw: each worker's last JSON line, the wall time of the go signal, and the
    system's CPU seconds at go and at the end (None where /proc/stat is missing)."""

    reports: list[dict]
    go: float
    cpu_at_go: tuple[float, float] | None
    cpu_at_end: tuple[float, float] | None


def run_workers_in_step(commands: Sequence[Sequence[str]], timeout: float) -> WorkersInStep:
    """Start one worker process per command (1 thread each), wait until every one prints "ready", send them all
    "go" at once and collect each one's last JSON line; a worker that fails to start or exits non-zero raises with
    the tail of its log."""
    logs = [tempfile.TemporaryFile(mode="w+") for _ in commands]
    processes = [
        subprocess.Popen(list(command), cwd=REPO_ROOT, env=child_env(threads=1), stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=log, text=True)
        for command, log in zip(commands, logs)
    ]
    try:
        for process, log in zip(processes, logs):
            line = None
            while line != "ready":  # DataJoint prints its connection message to stdout first
                text = process.stdout.readline()
                if not text:
                    log.seek(0)
                    raise RuntimeError(f"a worker failed to start: {log.read()[-2000:]}")
                line = text.strip()
        cpu_at_go = system_cpu_seconds()
        go = time.time()
        for process in processes:
            process.stdin.write("go\n")
            process.stdin.flush()
        reports = []
        for process, log in zip(processes, logs):
            stdout, _ = process.communicate(timeout=timeout)
            if process.returncode != 0:
                log.seek(0)
                raise RuntimeError(f"a worker exited with {process.returncode}: {log.read()[-2000:]}")
            reports.append(json.loads([line for line in stdout.splitlines() if line.startswith("{")][-1]))
        return WorkersInStep(reports, go, cpu_at_go, system_cpu_seconds())
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
        for log in logs:
            log.close()
