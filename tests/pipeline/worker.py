"""A worker process for the reliability tests: ``python -m tests.pipeline.worker SCHEMA [ORPHAN_TIMEOUT]``.

Populates every job of the schema with reserve_jobs=True after releasing dead workers' reservations, and prints
one JSON line with the result.
"""

import json
import logging
import sys

from neural_cotraining.registry import allow_builder_modules
from neural_cotraining.pipeline import activate
from neural_cotraining.pipeline.jobs.reservations import release_dead_reservations

if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, format="%(process)d %(name)s: %(message)s")
    # the tests read each job's start ("training {key}", a DEBUG detail) from the log
    logging.getLogger("neural_cotraining.pipeline.trained_model").setLevel(logging.DEBUG)
    allow_builder_modules("tests")
    tables = activate(sys.argv[1])
    orphan_timeout = float(sys.argv[2]) if len(sys.argv) > 2 else None
    trained = tables.TrainedModel()
    released = release_dead_reservations(trained, orphan_timeout=orphan_timeout)
    result = trained.populate(reserve_jobs=True, suppress_errors=True)
    print(json.dumps({"released": released, "success_count": result["success_count"],
                      "errors": [message for _, message in result["error_list"]]}), flush=True)
