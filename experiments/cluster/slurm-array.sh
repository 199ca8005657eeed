#!/usr/bin/env bash
# Run a sessim experiment as a Slurm job array: one shard per array task, then one merge job.
#
#   bash experiments/cluster/slurm-array.sh EXPERIMENT.toml OUTDIR [SHARDS] [CPUS_PER_TASK]
#
# submits `sbatch --array=1-SHARDS` of this script (each task runs
# `sessim run EXPERIMENT --shard K/SHARDS --out OUTDIR/shard-K`) and a merge job that starts when
# every task succeeded (`sessim merge OUTDIR/shard-* --out OUTDIR/merged`). OUTDIR must be on a
# file system all nodes share. The merged files are byte-identical to an unsharded run's.
# A failed or pre-empted task can simply be resubmitted (`sbatch --array=K ...`): it resumes,
# skipping the runs it had finished. Set SESSIM to the sessim binary if it is not on PATH.
set -euo pipefail
SESSIM=${SESSIM:-sessim}

if [ -z "${SLURM_JOB_ID:-}" ]; then
  [ $# -ge 2 ] || { echo "usage: $0 EXPERIMENT.toml OUTDIR [SHARDS] [CPUS_PER_TASK]" >&2; exit 2; }
  exp=$1 out=$2 n=${3:-16} cpus=${4:-4}
  "$SESSIM" check "$exp"
  mkdir -p "$out"
  jid=$(sbatch --parsable --job-name=sessim-shard --array="1-$n" --cpus-per-task="$cpus" \
        --output="$out/slurm-%A_%a.out" "$0" run "$exp" "$out" "$n")
  mid=$(sbatch --parsable --job-name=sessim-merge --dependency="afterok:$jid" \
        --output="$out/slurm-merge-%j.out" "$0" merge "$exp" "$out" "$n")
  echo "submitted shard array $jid ($n tasks) and merge job $mid → $out/merged"
  exit 0
fi

mode=$1 exp=$2 out=$3 n=$4
case "$mode" in
  run)
    k=${SLURM_ARRAY_TASK_ID:?not an array task}
    exec "$SESSIM" run "$exp" --quiet --threads "${SLURM_CPUS_PER_TASK:-1}" --shard "$k/$n" --out "$out/shard-$k"
    ;;
  merge)
    dirs=()
    for k in $(seq 1 "$n"); do dirs+=("$out/shard-$k"); done
    exec "$SESSIM" merge "${dirs[@]}" --out "$out/merged"
    ;;
  *) echo "unknown mode $mode" >&2; exit 2 ;;
esac
