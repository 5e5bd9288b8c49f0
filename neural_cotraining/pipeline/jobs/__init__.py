"""The job machinery: what runs while a job trains, outside its final transaction.

- ``reservations``: reservations kept fresh while a worker lives; dead workers' jobs released;
- ``long_lived_worker``: a worker that takes one job at a time until idle or stopped;
- ``stopping``: SIGTERM/SIGINT end a job at an epoch boundary and hand it back, never as an error;
- ``callback``: the ``cb`` handed to a trainer (heartbeat, per-epoch metrics, checkpoints);
- ``checkpoints``: a running job's training state, so a crashed job resumes;
- ``live_progress``: a running job's per-epoch metrics, readable while it trains.
"""
