"""Turn the benchmark JSON files into the markdown table of the main README (printed).

``python -m benchmarks.report [DIR]`` (default ``benchmarks/results/``). A benchmark without a JSON file is
reported as not run.
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.common import DEFAULT_OUTPUT, median_interval

ORDER = ("trainer_overhead", "pipeline_overhead", "workers", "queue", "distributed", "memory", "gpu")


def _met(result: dict) -> str:
    if "target_met" not in result:
        return "–"
    return "yes" if result["target_met"] else "**no**"


def _target(text: str, unit: str = "") -> str:
    return text.replace(">=", "≥").replace("<=", "≤") + unit


def _spread(entry: dict) -> str:
    return f"{entry['min']:,.0f}–{entry['max']:,.0f}"


def _trainer_rows(r: dict) -> list[list[str]]:
    rates = r["samples_per_second"]
    accounted = ""
    if "ratio_ours_over_plain_accounted" in r:
        accounted = (f"; accounted inside each run: {r['ratio_ours_over_plain_accounted']:.3f}, i.e."
                     f" {r['overhead_percent_accounted']:+.1f} % time outside forward/backward/step")
    pairs = r["ratio_per_pair"]
    low, high, coverage = median_interval(pairs["values"])
    cpu = r["samples_per_cpu_second"]
    cpu_pairs = sorted(ours / plain for ours, plain in zip(cpu["cotrainer"]["values"], cpu["plain"]["values"]))
    cpu_low, cpu_high, _ = median_interval(cpu_pairs)
    return [[
        "Co-trainer vs. hand-written PyTorch loop, same work (CPU, 1 thread): training samples/s, ours/plain",
        f"{pairs['median']:.2f}, {coverage:.0%} CI {low:.2f}–{high:.2f} (median and distribution-free interval of"
        f" the {len(pairs['values'])} paired runs' ratios, {pairs['min']:.2f}–{pairs['max']:.2f} in all;"
        f" {rates['cotrainer']['median']:,.0f} vs. {rates['plain']['median']:,.0f} samples/s; ranges"
        f" {_spread(rates['cotrainer'])} / {_spread(rates['plain'])}; by CPU time"
        f" {statistics.median(cpu_pairs):.2f}, CI {cpu_low:.2f}–{cpu_high:.2f}{accounted})",
        _target(r["target"]["ratio_ours_over_plain"]), _met_interval(low, high, r["target"]["ratio_ours_over_plain"]),
    ]]


def _met_interval(low: float, high: float, target: str) -> str:
    """Met only when the whole interval is at or above the target (``">= 0.97"``); not met when it is all below."""
    threshold = float(target.lstrip(">= "))
    if low >= threshold:
        return "yes"
    return "**no**" if high < threshold else "undecided (the interval spans the target)"


def _pipeline_rows(r: dict) -> list[list[str]]:
    populate, checkpoints = r["populate"], r["populate_checkpoints"]
    direct = r["wall_seconds"]["direct"]["median"]
    loop = r["checkpoint_save_loop"]
    rows = [[
        f"`populate()` of one job vs. calling its builders and trainer directly ({r['epochs']}-epoch demo"
        f" co-training job, {direct:.0f} s): extra wall time",
        f"{populate['extra_wall_percent_accounted']['median']:+.2f} % ({populate['extra_wall_seconds_accounted']:.2f}"
        f" s; difference of median wall times {populate['extra_wall_percent_median_difference']:+.1f} %, median of"
        f" {r['repeats']})",
        _target(r["target"]["extra_wall_percent"], " %"), _met(r),
    ], [
        "Database time per epoch (fetch, job reservation, heartbeats, result + per-epoch metric rows)",
        f"{1000 * populate['database_seconds_per_epoch']:.1f} ms per epoch ({populate['database_seconds_per_job']:.2f}"
        f" s per job, {populate['epoch_metric_rows']} metric rows)", "–", "–",
    ], [
        f"Checkpoint: `CheckpointStore.save` of the training state ({loop['state_mib']:.2f} MiB)",
        f"{1000 * loop['save_seconds']['median']:.0f} ms per checkpoint (serialising"
        f" {1000 * loop['serialize_seconds']['median']:.0f} ms); populate with a checkpoint every"
        f" {r['workload']['checkpoint_every (populate_checkpoints)']} epochs:"
        f" {checkpoints['extra_wall_percent_accounted']['median']:+.2f} % wall", "–", "–",
    ]]
    return rows


def _workers_rows(r: dict) -> list[list[str]]:
    one, two = r["jobs_per_minute"]["1_workers"], r["jobs_per_minute"]["2_workers"]
    others = [value for values in r.get("other_processes_cores", {}).values() for value in values if value is not None]
    busy = (f"; other processes, the database server included, used {min(others):.1f}–{max(others):.1f} cores"
            " meanwhile" if others else "")
    projection = r.get("projection_without_run_queue_wait")
    if projection:
        busy += f"; without waits for a core {projection['speedup_2_over_1']:.2f}× (projection)"
    return [[
        f"Workers: jobs per minute, 1 → 2 worker processes ({r['workload']['jobs']} jobs of"
        f" ~{r['seconds_per_job_1_worker']:.0f} s, 1 thread each)",
        f"{one['median']:.1f} → {two['median']:.1f} ({r['speedup_2_over_1']:.2f}×, median of {r['repeats']}{busy})",
        _target(r["target"]["speedup_2_over_1"], "×"), _met(r),
    ]]


def _queue_rows(r: dict) -> list[list[str]]:
    gap, parts = r["between_jobs_ms"], r["between_jobs_breakdown_ms"]
    once = "every job once" if r["every_job_once"] else "**not every job exactly once**"
    return [[
        f"Queue: {r['workload']['jobs']:,} trivial jobs, {r['workload']['workers']} long-lived worker processes:"
        " pipeline time between one job and the same worker's next",
        f"{once}, {r['errors']} errors, {r['jobs_per_second']:.0f} jobs/s; median {gap['median']:.0f} ms, p95"
        f" {gap['p95']:.0f} ms (waiting for a CPU: median {parts['waiting_for_a_cpu']['median']:.0f}, p95"
        f" {parts['waiting_for_a_cpu']['p95']:.0f} ms; without that wait: median"
        f" {parts['gap_without_cpu_wait']['median']:.0f}, p95 {parts['gap_without_cpu_wait']['p95']:.0f} ms)",
        _target(r["target"]["between_jobs_ms_p95"], " ms (p95)"), _met(r),
    ]]


def _distributed_rows(r: dict) -> list[list[str]]:
    parts = []
    for name, entry in r["workloads"].items():
        rates = entry["samples_per_second"]
        parts.append(f"{name} model {rates['world_size_2']['median']:,.0f} vs. {rates['world_size_1']['median']:,.0f}"
                     f" ({entry['speedup_2_over_1']:.2f}×)")
    return [["One job on 2 processes vs. 1 (CPU, gloo, 1 thread each): training samples/s",
             "; ".join(parts) + f", median of {r['repeats']}", "–", "–"]]


def _memory_rows(r: dict) -> list[list[str]]:
    demo = r["demo"]
    demo_text = (f"demo {demo['peak_rss_mib']:.0f} MiB ({demo['wall_seconds'] / 60:.1f} min)" if "peak_rss_mib" in demo
                 else f"demo skipped ({demo.get('skipped')})")
    return [[
        "Peak RSS (maxrss of a child process)",
        f"{demo_text}; one co-training job {r['one_job']['peak_rss_mib']:.0f} MiB; imports + connection only"
        f" {r['baseline']['peak_rss_mib']:.0f} MiB", "–", "–",
    ]]


def _gpu_rows(r: dict) -> list[list[str]]:
    if "skipped" in r:
        return [["GPU: co-trainer vs. plain loop, float32 and mixed precision", f"skipped ({r['skipped']})", "≥ 0.97",
                 "–"]]
    rows = []
    for label in ("float32", "mixed_precision"):
        entry = r[label]
        rates = entry["samples_per_second"]
        rows.append([
            f"GPU ({r['device_name']}), {label.replace('_', ' ')}: training samples/s, ours/plain",
            f"{entry['ratio_ours_over_plain']:.3f} ({rates['cotrainer']['median']:,.0f} vs."
            f" {rates['plain']['median']:,.0f} samples/s)",
            "≥ 0.97", "yes" if entry["ratio_ours_over_plain"] >= 0.97 else "**no**",
        ])
    rows.append(["GPU: mixed-precision speed-up of the co-trainer", f"{r['mixed_precision_speedup_cotrainer']:.2f}×",
                 "–", "–"])
    return rows


ROWS = {"trainer_overhead": _trainer_rows, "pipeline_overhead": _pipeline_rows, "workers": _workers_rows,
        "queue": _queue_rows, "distributed": _distributed_rows, "memory": _memory_rows, "gpu": _gpu_rows}


def load_results(folder: str | Path) -> dict[str, dict]:
    results = {}
    for name in ORDER:
        path = Path(folder) / f"{name}.json"
        if path.is_file():
            results[name] = json.loads(path.read_text())
    return results


def render(folder: str | Path = DEFAULT_OUTPUT) -> str:
    results = load_results(folder)
    lines = ["| Measurement | Result | Target | Met |", "|---|---|---|---|"]
    for name in ORDER:
        if name not in results:
            lines.append(f"| {name} | not run | – | – |")
            continue
        try:
            rows = ROWS[name](results[name])
        except (KeyError, TypeError, ValueError) as error:  # an older or partial file
            rows = [[name, f"unreadable result ({type(error).__name__}: {error})", "–", "–"]]
        lines.extend("| " + " | ".join(cells) + " |" for cells in rows)
    if results:
        machine = next(iter(results.values()))["machine"]
        dates = sorted(result["machine"]["date"][:10] for result in results.values())
        loads = [result["load_during_benchmark"]["other_processes_cores"] for result in results.values()
                 if "other_processes_cores" in result.get("load_during_benchmark", {})]
        note = (f"Measured {dates[0]}{'–' + dates[-1] if dates[-1] != dates[0] else ''} on {machine['cpu_model']}"
                f" ({machine['logical_cores']} cores), Python {machine['python']}, torch {machine['torch']}"
                f" (CPU benchmarks with 1 torch thread), commit {machine['git']}, MariaDB 10.11 on the same machine.")
        if loads and max(loads) < 0.1:
            note += " No other work ran meanwhile (other processes used < 0.1 cores)."
        elif loads:
            note += (f" The machine was shared: other processes used {min(loads):.1f}–{max(loads):.1f} cores on average"
                     " while the benchmarks ran.")
        if any(result.get("quick") for result in results.values()):
            note += " **Quick (smoke) run: tiny sizes, the figures mean nothing.**"
        lines += ["", note + " Reproduce: `python -m benchmarks` (see `benchmarks/README.md`)."]
    return "\n".join(lines)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    print(render(argv[0] if argv else DEFAULT_OUTPUT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
