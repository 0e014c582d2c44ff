#!/bin/bash
# Grade a class on N Slurm nodes and merge the result:
#   deploy/slurm/grade-class.sh 01_nn_module /shared/submissions/01_nn_module /shared/grading/01_nn_module 4
set -euo pipefail
ASSIGNMENT=$1 SUBMISSIONS=$2 OUT=$3 N=${4:-4}
here=$(dirname "$0")
array=$(sbatch --parsable --array=0-$((N - 1)) "$here/autograde.sbatch" "$ASSIGNMENT" "$SUBMISSIONS" "$OUT")
merge=$(sbatch --parsable --dependency=afterok:"$array" "$here/merge.sbatch" "$OUT")
echo "array job $array grades $N shards; job $merge merges them into $OUT/merged"
