"""The ``neural-cotraining`` command: database, experiments, training, results, plots, the demo."""

from __future__ import annotations

import argparse
import csv
import json
import logging
import multiprocessing
import os
import sys
import time
from pathlib import Path

from .cli_common import open_experiment, print_table
from .cli_errors import USER_ERRORS, CommandError, logs_to_stderr, one_line, report
from .cli_search import add_commands as add_search_commands
from .cli_workers import add_commands as add_worker_commands

__all__ = ["main", "build_parser"]

logger = logging.getLogger("neural_cotraining")


def _fail(message: str, hint: str | None = None) -> int:
    return report(CommandError(message, hint))


def _db(arguments: argparse.Namespace) -> int:
    from .pipeline import database_settings, ensure_server

    settings = database_settings()
    version = ensure_server(settings)
    print(f"database answers at {settings.describe()}: {version}")
    return 0


def _add(arguments: argparse.Namespace) -> int:
    from .pipeline.experiments import experiment_keys

    experiment, tables = open_experiment(arguments, adding=True)
    for job in experiment_keys(tables, experiment):
        print(json.dumps({**job["labels"], **job["key"]}))
    return 0


def _populate_worker(schema: str, experiment_path: str, reserve_jobs: bool, orphan_timeout: float | None,
                     threads: int | None = None) -> list:
    """One worker process: its own connection, populating the experiment's jobs with ``threads`` torch threads
    (None: torch's default); ``[(labels, message)]`` of the jobs that failed. As a process of its own it exits with
    status 2 when any failed."""
    from .configs import load_experiment
    from .pipeline import activate
    from .pipeline.experiments import experiment_keys

    logs_to_stderr()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(processName)s %(levelname)s %(name)s: %(message)s")
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    experiment = load_experiment(experiment_path)
    tables = activate(schema)
    jobs = experiment_keys(tables, experiment)
    trained = tables.TrainedModel()
    result = trained.populate([job["key"] for job in jobs], reserve_jobs=reserve_jobs, suppress_errors=True,
                              orphan_timeout=orphan_timeout if reserve_jobs else None,
                              display_progress=sys.stderr.isatty())  # a bar over jobs at a terminal
    failed = []
    for key, message in result["error_list"]:
        logger.error("job %s failed: %s", key, message)
        job = next((job for job in jobs if all(job["key"][name] == key[name] for name in job["key"])), None)
        failed.append((_labels({**job["labels"], "seed": key["seed"]}) if job else str(key), one_line(message)))
    logger.info("worker done: %d trained, %d failed", result["success_count"], len(result["error_list"]))
    if failed and multiprocessing.parent_process() is not None:
        sys.exit(2)
    return failed


def _populate(arguments: argparse.Namespace) -> int:
    experiment, tables = open_experiment(arguments, adding=arguments.add)
    schema = arguments.schema or experiment.schema
    reserve = arguments.reserve_jobs or arguments.workers > 1
    threads = arguments.threads
    if threads is None and arguments.workers > 1:  # the cores shared out, not every worker on all of them
        threads = max(1, (os.cpu_count() or 1) // arguments.workers)
    if arguments.workers == 1:
        failed = _populate_worker(schema, arguments.experiment, reserve, arguments.orphan_timeout, threads)
        if not reserve:  # with reserve_jobs the jobs table keeps the errors and the status lists them
            for labels, message in failed:
                print(f"  failed {labels}: {message}")
        status = _status(arguments, tables=tables, experiment=experiment)
        return 2 if failed else status
    else:
        context = multiprocessing.get_context("spawn")
        workers = [
            context.Process(
                target=_populate_worker,
                args=(schema, arguments.experiment, True, arguments.orphan_timeout, threads),
                name=f"worker-{index}",
            )
            for index in range(arguments.workers)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        status = _status(arguments, tables=tables, experiment=experiment)
        return 2 if any(worker.exitcode != 0 for worker in workers) else status


def _labels(job: dict) -> str:
    return f"{job['dataset']} / {job['model']} / {job['trainer']} / seed {job['seed']}"


def _status(arguments: argparse.Namespace, tables=None, experiment=None) -> int:
    from .pipeline.experiments import experiment_keys, job_status

    if tables is None:
        experiment, tables = open_experiment(arguments)
    status = job_status(tables, experiment_keys(tables, experiment))
    print(
        f"jobs: {status['total']} | done {status['done']} | pending {status['pending']} | "
        f"reserved {status['reserved']} | errors {status['error']} | not started {status['not_started']}"
    )
    for error in status["errors"]:
        print(f"  error in {_labels(error)}: {one_line(error['error'])}")
    for job in status["checkpointed"]:
        print(f"  checkpoint of {_labels(job)} at epoch {job['checkpoint_epoch']}")
    for job in status["live"]:
        best = "n/a" if job["best_score"] is None else f"{job['best_score']:.4g}"
        print(f"  {job['state']}: {_labels(job)}: epoch {job['epoch']}, best score {best}, "
              f"last heartbeat {job['heartbeat']}, worker {job['worker']}")
    return 0 if status["error"] == 0 else 2


def _results(arguments: argparse.Namespace) -> int:
    from .pipeline.experiments import experiment_keys, results_table

    experiment, tables = open_experiment(arguments)
    rows = results_table(tables, experiment_keys(tables, experiment))
    if not rows:
        print("no trained models yet")
        return 0
    columns = list(dict.fromkeys(c for row in rows for c in row))
    shown = [c for c in columns if not arguments.metrics or c in {"dataset", "model", "trainer", "seed", "score"}
             or any(m in c for m in arguments.metrics)]
    print_table(rows, shown)
    if arguments.csv:
        Path(arguments.csv).parent.mkdir(parents=True, exist_ok=True)
        with open(arguments.csv, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(rows)
    if arguments.json:
        Path(arguments.json).parent.mkdir(parents=True, exist_ok=True)
        Path(arguments.json).write_text(json.dumps(rows, indent=2))
    return 0


def _plot(arguments: argparse.Namespace) -> int:
    from .pipeline.experiments import epoch_table, experiment_keys, live_epoch_table
    from .plots import plot_epoch_curves

    experiment, tables = open_experiment(arguments)
    keys = experiment_keys(tables, experiment)
    paths = plot_epoch_curves(epoch_table(tables, keys) + live_epoch_table(tables, keys), arguments.output)
    for path in paths:
        print(path)
    return 0 if paths else _fail("no per-epoch results to plot yet")


def _affinity(arguments: argparse.Namespace) -> int:
    from .builders import allow_builder_modules
    from .configs.affinity_study import load_affinity_file
    from .pipeline import activate
    from .pipeline.affinity_runs import run_affinity_study

    experiment, study, output = load_affinity_file(arguments.experiment)
    allow_builder_modules(*experiment.builder_modules)
    schema = arguments.schema or experiment.schema
    if not schema:
        raise CommandError(f"{arguments.experiment} names no schema", hint="add 'schema:' to the file or pass --schema")
    output = arguments.output or output or "results/affinity"
    result = run_affinity_study(activate(schema), study, output, reserve_jobs=arguments.reserve_jobs)
    value = study.heatmap_value
    spread = value.replace("_mean", "_std")
    print_table(result.pairs, ["task", "partner", "metric", "split", "n_seeds", "single_mean", "grouped_mean", value,
                               spread])
    for path in result.files.values():
        print(path)
    if result.missing:
        print(f"{len(result.missing)} of {len(result.jobs)} jobs have no trained model (failed, or running elsewhere); "
              "errors are logged above", file=sys.stderr)
        return 2
    return 0


def _drop(arguments: argparse.Namespace) -> int:
    from .pipeline import drop_plan, drop_schema

    contents = drop_plan(arguments.schema)  # refuses system schemas and schemas that are not the pipeline's
    print(f"schema {arguments.schema} holds:")
    print_table([{"table": table, "rows": rows} for table, rows in contents], ["table", "rows"])
    if not arguments.yes:
        if not sys.stdin.isatty():
            return _fail(f"dropping {arguments.schema} needs --yes when not asked at a terminal")
        answer = input(f"Drop schema {arguments.schema!r} and everything above? [y/N] ")
        if answer.strip().lower() not in {"y", "yes"}:
            print("not dropped")
            return 1
    drop_schema(arguments.schema)
    print(f"dropped {arguments.schema}")
    return 0


def _demo(arguments: argparse.Namespace) -> int:
    """The demo end to end through the commands above, then its summary (``demo.write_summary``)."""
    from .configs import load_experiment
    from .demo import DEMO_EXPERIMENT, write_summary
    from .pipeline import activate, database_settings, ensure_server
    from .pipeline.experiments import add_experiment, experiment_keys, results_table

    started = time.monotonic()
    settings = database_settings()
    print(f"database: {settings.describe()} ({ensure_server(settings)})")
    path = str(arguments.experiment or DEMO_EXPERIMENT)
    experiment = load_experiment(path)
    tables = activate(arguments.schema)
    print(f"experiment {path}: {len(add_experiment(tables, experiment))} jobs in schema {arguments.schema}")
    common = [path, "--schema", arguments.schema]
    status = main(["populate", *common, "--workers", str(arguments.workers), "--threads", str(arguments.threads)])
    output = Path(arguments.output)
    main(["results", *common, "--csv", str(output / "results.csv"), "--json", str(output / "results.json"),
          "--metrics", "test/"])
    main(["plot", *common, "--output", str(output / "plots")])
    summary = write_summary(results_table(tables, experiment_keys(tables, experiment)), experiment, output)
    figure = ", robustness.png" if summary["robustness_figure"] else ""
    print(f"\nresults in {output}/ (results.csv, results.json, summary.json, plots/{figure}); "
          f"{time.monotonic() - started:.0f} s in all")
    return status


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="neural-cotraining", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    commands = parser.add_subparsers(dest="command", required=True)

    def experiment_command(name: str, handler, help_text: str) -> argparse.ArgumentParser:
        command = commands.add_parser(name, help=help_text)
        command.add_argument("experiment", help="experiment file (YAML)")
        command.add_argument("--schema", help="database schema (default: the file's 'schema')")
        command.set_defaults(handler=handler)
        return command

    commands.add_parser("db", help="make sure the database answers (start or install a local MariaDB)").set_defaults(
        handler=_db
    )
    experiment_command("add", _add, "insert an experiment file's entries and seeds; print the job keys")
    populate = experiment_command("populate", _populate, "train the experiment's missing models")
    populate.add_argument("--reserve-jobs", action="store_true", help="coordinate with other workers via the jobs table")
    populate.add_argument("--add", action="store_true", help="insert the file's entries first (as `add` does)")
    populate.add_argument("--workers", type=int, default=1, help="local worker processes (implies --reserve-jobs)")
    populate.add_argument("--threads", type=int, default=None,
                          help="torch threads per worker (default: the cores shared among the workers; one worker: "
                               "torch's default)")
    populate.add_argument("--orphan-timeout", type=float, default=None,
                          help="re-pend reservations not renewed for this many seconds (dead workers on other hosts)")
    experiment_command("status", _status, "jobs done / pending / reserved / failed, with error messages")
    results = experiment_command("results", _results, "scores and final metrics per trained model")
    results.add_argument("--csv", help="also write the table as CSV")
    results.add_argument("--json", help="also write the table as JSON")
    results.add_argument("--metrics", nargs="*", help="show only columns containing these words")
    plot = experiment_command("plot", _plot, "per-epoch curves per task and split (PNG), running jobs' too")
    plot.add_argument("--output", default="results/plots", help="folder for the PNGs")
    affinity = experiment_command("affinity", _affinity,
                                  "task-affinity study: train every single task and pair, summarise the gains")
    affinity.add_argument("--output", help="folder for the CSVs and heatmap (default: the file's affinity.output, "
                                           "else results/affinity)")
    affinity.add_argument("--reserve-jobs", action="store_true",
                          help="coordinate with other workers via the jobs table")
    add_worker_commands(commands)
    add_search_commands(commands)
    drop = commands.add_parser("drop", help="drop a schema and everything in it (asks first)")
    drop.add_argument("schema")
    drop.add_argument("--yes", action="store_true", help="do not ask")
    drop.set_defaults(handler=_drop)
    demo = commands.add_parser("demo", help="run the demo experiment end to end and print its results")
    demo.add_argument("--schema", default="neural_cotraining_demo", help="database schema to use")
    demo.add_argument("--experiment", help="an edited copy of the demo's experiment file (default: the packaged one)")
    demo.add_argument("--workers", type=int, default=2, help="local worker processes")
    demo.add_argument("--threads", type=int, default=1,
                      help="torch threads per worker (the figures depend on it; the README's are from 1)")
    demo.add_argument("--output", default="results/demo", help="folder for the results table and plots")
    demo.set_defaults(handler=_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    arguments = build_parser().parse_args(argv)
    if arguments.command in ("populate", "demo") and arguments.workers < 1:
        return _fail("--workers must be at least 1")
    if arguments.command in ("populate", "demo") and arguments.threads is not None and arguments.threads < 1:
        return _fail("--threads must be at least 1")
    logs_to_stderr()
    logging.basicConfig(
        level=logging.DEBUG if arguments.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        return arguments.handler(arguments)
    except USER_ERRORS as error:
        return report(error)


if __name__ == "__main__":
    sys.exit(main())
