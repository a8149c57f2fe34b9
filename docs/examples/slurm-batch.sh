#!/usr/bin/env bash
# One `instantid batch` spread over a Slurm array of 8 tasks, then one merged log.
# See docs/scale-out.md. Run from the repository root, on a shared filesystem:
#
#     bash docs/examples/slurm-batch.sh
#
# Outside a Slurm job this script submits itself as the array (below) plus a merge job
# that waits for the whole array. Inside an array task it runs that task's shard.
# Override the paths with environment variables, e.g. INPUT=/shared/faces bash ...
#
#SBATCH --job-name=instantid
#SBATCH --array=0-7
#SBATCH --gres=gpu:1
#SBATCH --cpus-per-task=8
#SBATCH --mem=32G
#SBATCH --time=12:00:00
#SBATCH --output=logs/slurm-%A_%a.out
set -euo pipefail

INSTANTID=${INSTANTID:-build/instantid}   # the binary, as built by `make build`
MODELS=${MODELS:-models}                  # filled by scripts/download-models.sh
INPUT=${INPUT:-sample_images}
OUTPUT=${OUTPUT:-generated_images}
SEED=${SEED:-1234}                        # fixed: every task must compute the same plan
SHARDS=${SHARDS:-8}                       # = the size of the --array above

if [ -z "${SLURM_ARRAY_TASK_ID:-}" ]; then
  # Submission: the array, then the merge. afterany (not afterok) so that a merged log
  # is written even if a task died; rerunning a task with the same options resumes it.
  mkdir -p logs "$OUTPUT"
  array_id=$(sbatch --parsable "$0")
  sbatch --dependency="afterany:$array_id" --job-name=instantid-merge \
    --output=logs/slurm-merge-%j.out \
    --wrap "$INSTANTID merge logs/shard-*.csv -o generation_log.csv"
  echo "submitted array job $array_id and its merge job"
  exit 0
fi

# One array task = one shard. instantid takes the shard from SLURM_ARRAY_TASK_ID (0..7)
# and the shard count from SLURM_ARRAY_TASK_COUNT (8), and runs the jobs whose
# job_id % 8 == SLURM_ARRAY_TASK_ID. The array must be numbered 0..N-1 (not 1-8, not
# with a step). When only some tasks are resubmitted (sbatch --array=3 ...), the task
# count no longer says N, so the shard is then given explicitly.
shard_args=()
if [ "${SLURM_ARRAY_TASK_COUNT:-}" != "$SHARDS" ]; then
  shard_args=(--shard "$SLURM_ARRAY_TASK_ID/$SHARDS")
fi
echo "shard $SLURM_ARRAY_TASK_ID of $SHARDS on $(hostname)"
exec "$INSTANTID" batch "${shard_args[@]}" \
  --models "$MODELS" \
  --input "$INPUT" \
  --output "$OUTPUT" \
  --seed "$SEED" \
  --resume \
  --log "logs/shard-$SLURM_ARRAY_TASK_ID.csv"
