#!/usr/bin/env bash
# The paper's ablations on the default recipe (configs/default_smollm2.yaml), at equal steps. Each variant is the
# default run's first 200 steps, on the same 800-step schedule and seed (`stop_after_steps`), changing one thing, so
# the reference is the default run's own checkpoint-200 (runs/default-smollm2, from `vaner train --config
# configs/default_smollm2.yaml`):
#   dbr-off   no DBR items                         --dbr-probability 0
#   adaptive  VANER_adapt: no dataset name         --instruction adaptive
#   causal    the decoder's causal mask kept       --causal true   (the control for the bidirectional change)
#   full-ft   full fine-tuning instead of LoRA     --lora false --learning-rate 1e-4 (one guess, not tuned; a step
#             costs about the same as a LoRA step here, benchmarks/throughput.py, so equal steps ~ equal wall time)
#   seed-43   the default recipe itself, another seed --seed 43 (the spread to read the others against)
# Every model is scored on the first 200 test sentences of the eight core corpora and of CRAFT (never trained on).
#   scripts/ablations.sh                   train what is missing, score what is missing -> results/ablations/
#   VARIANTS="causal" scripts/ablations.sh   (default: causal adaptive dbr-off full-ft seed-43)
set -euo pipefail
cd "$(dirname "$0")/.."
VANER=${VANER:-.venv/bin/vaner}
STEPS=${STEPS:-200}
DATASETS=NCBI-disease,s800,BC5CDR-chem,BC5CDR-disease,JNLPBA,BC2GM,linnaeus,BC4CHEMD,CRAFT-chem,CRAFT-ggp,CRAFT-species
OUT=results/ablations
mkdir -p "$OUT"
REFERENCE=runs/default-smollm2/checkpoint-$STEPS
[ -d "$REFERENCE" ] || { echo "The reference $REFERENCE is missing: run vaner train --config configs/default_smollm2.yaml" >&2; exit 1; }

"$VANER" eval --model "$REFERENCE" --name "VANER $STEPS steps (the default recipe)" \
  --datasets "$DATASETS" --limit 200 --dtype bfloat16 --output "$OUT/reference.json" --resume
declare -A OPTIONS=([dbr-off]="--dbr-probability 0" [adaptive]="--instruction adaptive" [causal]="--causal true"
                   [full-ft]="--lora false --learning-rate 1e-4" [seed-43]="--seed 43")
for variant in ${VARIANTS:-causal adaptive dbr-off full-ft seed-43}; do
  run=runs/ablation-$variant
  if [ ! -d "$run/final" ]; then  # resumes from its last checkpoint if interrupted
    # shellcheck disable=SC2086
    "$VANER" train --config configs/default_smollm2.yaml --output-dir "$run" --stop-after-steps "$STEPS" \
      --save-steps "$STEPS" ${OPTIONS[$variant]}
  fi
  "$VANER" eval --model "$run/checkpoint-$STEPS" --name "VANER $STEPS steps, $variant" --datasets "$DATASETS" \
    --limit 200 --dtype bfloat16 --output "$OUT/$variant.json" --resume
done
reports=("$OUT/reference.json")
for variant in seed-43 dbr-off adaptive causal full-ft; do
  if [ -f "$OUT/$variant.json" ]; then reports+=("$OUT/$variant.json"); fi
done
"$VANER" leaderboard "${reports[@]}" --output "$OUT/README.md"
