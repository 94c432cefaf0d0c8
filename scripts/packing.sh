#!/usr/bin/env bash
# Does training on packed inputs keep accuracy? (issue: benchmarks.) Packing puts consecutive sentences of a corpus
# behind one instruction (VANER2's windows), so the ~20-token instruction is paid once per input, not per sentence;
# the shipped model, trained one sentence per input, loses 5-8 F1 points when asked packed (benchmarks/packing.py).
# Two continuations of the shipped model, equal wall time, same recipe and seed, differing only in packing:
#   unpacked  one sentence per input                    --pack-tokens 0   --per-device-batch-size 16
#   packed    inputs of up to 256 tokens                --pack-tokens 256 --per-device-batch-size 8 (similar tokens/step)
# Each is scored (with the shipped model) on the fixed 2,000-sentence NCBI-disease + BC2GM test slice, asked one
# sentence per input and packed, by benchmarks/packing.py -> results/packing/.
#   scripts/packing.sh          (MINUTES=22 per arm; trains what is missing, resumes an interrupted arm)
#   SEED=44 scripts/packing.sh  another seed of both arms (runs/packing-*-seed44, results/packing/*-seed44.md)
set -euo pipefail
cd "$(dirname "$0")/.."
VANER=${VANER:-.venv/bin/vaner}
MINUTES=${MINUTES:-22}
SEED=${SEED:-43}
SUFFIX=$([ "$SEED" = 43 ] || echo "-seed$SEED")
OUT=results/packing
mkdir -p "$OUT"
declare -A OPTIONS=([unpacked]="--pack-tokens 0 --max-length 192 --per-device-batch-size 16"
                    [packed]="--pack-tokens 256 --max-length 256 --per-device-batch-size 8")
for arm in packed unpacked; do
  run=runs/packing-$arm$SUFFIX
  if [ ! -d "$run/final" ]; then
    # shellcheck disable=SC2086
    "$VANER" train --config configs/default_smollm2.yaml --output-dir "$run" \
      --init-from modeling_vaner/default_model --learning-rate 1e-4 --warmup-steps 10 --max-steps 5000 \
      --time-budget-minutes "$MINUTES" --save-steps 50 --save-total-limit 2 --seed "$SEED" ${OPTIONS[$arm]}
  fi
done
for model in default "packing-unpacked$SUFFIX" "packing-packed$SUFFIX"; do
  [ -f "$OUT/$model.md" ] && continue
  path=runs/$model/final
  [ "$model" = default ] && path=modeling_vaner/default_model
  .venv/bin/python benchmarks/packing.py --model "$path" --budgets 0,256 > "$OUT/$model.md.tmp"
  mv "$OUT/$model.md.tmp" "$OUT/$model.md"
done
head -n 100 "$OUT"/*.md
