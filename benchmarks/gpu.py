"""The trainer-overhead comparison on a CUDA GPU, in float32 and with mixed precision.

Same workload, variants and timing as ``trainer_overhead`` (co-trainer vs. the hand-written loop, interleaved
repeats, samples per second of training), once with ``mixed_precision=False`` and once with ``True`` (the
co-trainer's float16 autocast + GradScaler; the plain loop does the same by hand). Without a CUDA device it writes
``{"skipped": "no CUDA device"}`` and exits 0.

``python -m benchmarks.gpu [--quick]``
"""

from __future__ import annotations

import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch

from benchmarks.common import LoadMonitor, parse_args, write_result
from benchmarks.trainer_overhead import TARGET_RATIO, build_data, compare_throughput

NAME = "gpu"


def main(argv=None) -> int:
    arguments = parse_args(__doc__.splitlines()[0], argv)
    load = LoadMonitor()
    if not torch.cuda.is_available():
        write_result(NAME, {"skipped": "no CUDA device"}, arguments.output, arguments.quick)
        return 0
    epochs, repeats = (1, 2) if arguments.quick else (6, 7)
    dataloaders = build_data(arguments.quick)
    result = {"device_name": torch.cuda.get_device_name(0), "cuda": torch.version.cuda}
    for label, mixed_precision in (("float32", False), ("mixed_precision", True)):
        result[label] = compare_throughput("cuda", mixed_precision, epochs, repeats, dataloaders)
    ours = {label: result[label]["samples_per_second"]["cotrainer"]["median"]
            for label in ("float32", "mixed_precision")}
    result["mixed_precision_speedup_cotrainer"] = round(ours["mixed_precision"] / ours["float32"], 3)
    result["ratio_ours_over_plain"] = {label: result[label]["ratio_ours_over_plain"]
                                       for label in ("float32", "mixed_precision")}
    result["target"] = {"ratio_ours_over_plain": f">= {TARGET_RATIO} (each precision)"}
    result["target_met"] = all(ratio >= TARGET_RATIO for ratio in result["ratio_ours_over_plain"].values())
    write_result(NAME, result, arguments.output, arguments.quick, load)
    return 0


if __name__ == "__main__":
    sys.exit(main())
