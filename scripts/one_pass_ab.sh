#!/usr/bin/env bash
# The one-pass A/B (issue 25): configs/cpu_one_pass_ab.yaml trained with a shared head and with a head per type, side
# by side, one core each, for the same wall-clock budget; then both scored on the devel sets (the first LIMIT
# sentences of each) -> results/one-pass-ab/. Interrupted runs resume (vaner train and vaner eval --resume).
#   scripts/one_pass_ab.sh                    BUDGET=25 (minutes; the issue suggests 35) LIMIT=400 (devel sentences per corpus)
set -euo pipefail
cd "$(dirname "$0")/.."
VANER=${VANER:-.venv/bin/vaner}
BUDGET=${BUDGET:-25}
LIMIT=${LIMIT:-400}
DATASETS=NCBI-disease,BC5CDR-chem,BC5CDR-disease,BC2GM,s800
OUT=results/one-pass-ab
mkdir -p "$OUT"
core=0
for heads in shared per_type; do
  if [ ! -f "runs/ab-$heads/training_summary.json" ]; then
    OMP_NUM_THREADS=1 taskset -c $core "$VANER" train --config configs/cpu_one_pass_ab.yaml --heads "$heads" \
      --output_dir "runs/ab-$heads" --time_budget_minutes "$BUDGET" > "runs/ab-$heads.log" 2>&1 &
  fi
  core=$((core + 1))
done
wait
for heads in shared per_type; do
  "$VANER" eval --model "runs/ab-$heads/final" --name "A/B $heads heads, $BUDGET min on one core" \
    --datasets "$DATASETS" --split devel --limit "$LIMIT" --output "$OUT/$heads.json" --resume
done
"$VANER" leaderboard "$OUT/shared.json" "$OUT/per_type.json" --output "$OUT/README.md"
