"""Session pickles: ``load_plain_pickle`` (pure-Python unpickler, dtypes rebuilt and checked) vs. ``pickle.load``.

A session-like file (responses of 2,000 neurons to 5,000 images over 4 time bins, float32, plus ids, unit names and
areas), protocol 2 as nnvision's files are, loaded alternately by both readers; wall seconds per load.

``python -m benchmarks.safe_pickle [--quick]``
"""

from __future__ import annotations

import pickle
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a file: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np

from benchmarks.common import LoadMonitor, interleaved_orders, parse_args, summary, write_result
from neural_cotraining.dataset.neural.safe_pickle import load_plain_pickle


def session(images: int, neurons: int) -> dict:
    generator = np.random.default_rng(0)
    return {
        "responses": generator.random((images, neurons, 4), dtype=np.float32),
        "image_ids": np.arange(images),
        "unit_names": [f"unit{i}" for i in range(neurons)],
        "areas": np.array(["V1"] * neurons),
    }


def main(argv=None) -> None:
    arguments = parse_args(__doc__.splitlines()[0], argv)
    images, neurons, repeats = (500, 200, 2) if arguments.quick else (5000, 2000, 5)
    load = LoadMonitor()
    readers = {"pickle.load": lambda path: pickle.loads(path.read_bytes()), "load_plain_pickle": load_plain_pickle}
    seconds: dict[str, list[float]] = {name: [] for name in readers}
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "session.pickle"
        path.write_bytes(pickle.dumps(session(images, neurons), protocol=2))
        size = path.stat().st_size
        for _, order in interleaved_orders(list(readers), repeats):
            for name in order:
                started = time.perf_counter()
                readers[name](path)
                seconds[name].append(time.perf_counter() - started)
    write_result("safe_pickle", {"file_megabytes": round(size / 1e6, 1), "protocol": 2,
                                 "seconds_per_load": {name: summary(values) for name, values in seconds.items()}},
                 arguments.output, arguments.quick, load)


if __name__ == "__main__":
    main()
