#!/bin/bash
# A SLURM array of long-lived neural_cotraining workers sharing one database.
#
#   neural-cotraining add configs/paper.yaml         # once: the experiment's entries and seeds
#   sbatch --array=0-7 examples/slurm_worker.sh configs/paper.yaml
#
# Each array task is one worker: it reserves jobs in the database's jobs table (so no job is trained twice), trains
# them, waits for new ones while the queue is empty and exits after IDLE_EXIT idle seconds. When SLURM ends a task
# (time limit, scancel, preemption) it sends SIGTERM first (--signal below: 5 minutes before the limit); the worker
# then saves a checkpoint at the end of the epoch in progress, puts the job back into the queue and exits 130 (as for
# a signal), and the next free worker resumes the job from that checkpoint with the same result as an uninterrupted
# run. A task killed outright (SIGKILL, a dead node): a live worker renews its reservation every 10 s from a thread of
# its own, so any worker releases the dead one's job once that heartbeat is older than ORPHAN_TIMEOUT seconds (default
# 120; at once for a dead process on its own node), when it next looks at the queue; a job that killed 2 workers is
# recorded as failed instead.
#
# The database comes from DJ_HOST / DJ_USER / DJ_PASS (and DJ_PORT, DJ_BACKEND) in the environment, e.g. a
# ~/.neural_cotraining.env that this script sources if it exists; never put the password in this file.

#SBATCH --job-name=nct-worker
#SBATCH --cpus-per-task=4
#SBATCH --mem=16G
#SBATCH --time=24:00:00
#SBATCH --signal=TERM@300
#SBATCH --output=logs/nct-worker-%A_%a.out
# #SBATCH --gres=gpu:1        # one GPU per worker on a GPU partition

set -euo pipefail

EXPERIMENT="${1:?usage: sbatch --array=0-N examples/slurm_worker.sh EXPERIMENT.yaml}"
IDLE_EXIT="${IDLE_EXIT:-900}"   # seconds without a job before a worker gives its allocation back
ORPHAN_TIMEOUT="${ORPHAN_TIMEOUT:-120}"   # seconds of silence after which a reservation is a dead worker's

if [ -f "$HOME/.neural_cotraining.env" ]; then
    set -a; . "$HOME/.neural_cotraining.env"; set +a
fi
export OMP_NUM_THREADS="${SLURM_CPUS_PER_TASK:-1}"

# exec: the worker itself receives SLURM's SIGTERM (srun would forward it too)
exec neural-cotraining worker "$EXPERIMENT" --idle-exit "$IDLE_EXIT" --orphan-timeout "$ORPHAN_TIMEOUT"
