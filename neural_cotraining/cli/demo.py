"""``neural-cotraining demo``: the demo experiment (or ``--study controls``) end to end through the other commands,
then its summary."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import yaml

from .common import add_command
from .experiments import STOPPED, populate_command
from .results import plot_command, results_command

__all__ = ["add_commands"]

DEFAULT_SCHEMA = "neural_cotraining_demo"


def _experiment_file(arguments: argparse.Namespace, default_path: Path) -> tuple[str, dict, Path]:
    """``(path, raw file, output folder)``; with ``--seeds N`` the file with seeds 1..N, written beside the results
    (the workers read the experiment from a file)."""
    from ..configs.experiment import read_yaml_file

    path = str(arguments.experiment or default_path)
    raw = read_yaml_file(path)
    output = Path(arguments.output or f"results/{arguments.study}")
    if arguments.seeds is not None and isinstance(raw, dict):
        raw["seeds"] = list(range(1, arguments.seeds + 1))
        output.mkdir(parents=True, exist_ok=True)
        path = str(output / "experiment.yaml")
        Path(path).write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path, raw, output


def _demo(arguments: argparse.Namespace) -> int:
    """The demo (or ``--study``) end to end through ``populate``, ``results`` and ``plot``, then its summary
    (``demo.write_summary``). Models that a condition's data is made from (MTL-Oracle's predictor, a teacher) are
    added and trained first, the conditions made from them after."""
    from ..configs import experiment_from_dict
    from ..demo.report import STUDIES, write_summary
    from ..pipeline import activate, database_settings, ensure_server
    from ..pipeline.experiments import add_experiment, experiment_keys
    from ..pipeline.reports.results import results_table

    started = time.monotonic()
    settings = database_settings()
    print(f"database: {settings.describe_with_origin()}: {ensure_server(settings)}")
    default_path, comparisons = STUDIES[arguments.study]
    path, raw, output = _experiment_file(arguments, default_path)
    experiment = experiment_from_dict(raw, source=path)
    schema = arguments.schema or experiment.schema or DEFAULT_SCHEMA
    tables = activate(schema)
    command = dict(experiment=path, schema=schema)
    stages = [experiment.without_trained_model_inputs(), experiment] \
        if experiment.dataset_labels_on_trained_models() else [experiment]
    status = 0
    for stage in stages:
        print(f"experiment {path}: {len(add_experiment(tables, stage))} jobs in schema {schema}")
        status = max(status, populate_command(argparse.Namespace(
            **command, add=False, reserve_jobs=True, workers=arguments.workers, threads=arguments.threads,
            orphan_timeout=None)))
        if status == STOPPED:  # interrupted: the jobs are back in the queue, and the results are not complete
            return status
    results_command(argparse.Namespace(**command, csv=str(output / "results.csv"), json=str(output / "results.json"),
                                       metrics=["test/"], all=False))
    plot_command(argparse.Namespace(**command, output=str(output / "plots")))
    summary = write_summary(results_table(tables, experiment_keys(tables, experiment)), experiment, output,
                            comparisons=comparisons)
    figure = ", robustness.png" if summary["robustness_figure"] else ""
    print(f"\nresults in {output}/ (results.csv, results.json, summary.json, plots/{figure}); "
          f"{time.monotonic() - started:.0f} s in all")
    return status


def add_commands(commands) -> None:
    """``demo``."""
    demo = add_command(commands, "demo", _demo, "run the demo experiment (or a study beside it) end to end and print "
                                                "its results", example="neural-cotraining demo --study controls --seeds 5")
    demo.add_argument("--study", choices=["demo", "controls"], default="demo",
                      help="controls: the demo's conditions plus a positive control (teacher units) and MTL-Oracle, "
                           "each with its shuffled control (configs/controls.yaml)")
    demo.add_argument("--seeds", type=int, help="train seeds 1..N instead of the file's")
    demo.add_argument("--schema", help=f"database schema to use (default: the file's; else {DEFAULT_SCHEMA})")
    demo.add_argument("--experiment", help="an edited copy of the study's experiment file (default: the packaged one)")
    demo.add_argument("--workers", type=int, default=2, help="local worker processes")
    demo.add_argument("--threads", type=int, default=1,
                      help="torch threads per worker (the figures depend on it; the README's are from 1)")
    demo.add_argument("--output", help="folder for the results table and plots (default: results/<study>)")
