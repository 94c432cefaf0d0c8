#!/usr/bin/env bash
# Issue 35's measurements of the CPU-trained one-pass model (configs/cpu_one_pass_from_default.yaml -> runs/cpu-one-pass)
# beside the default model, on this machine: devel slices of the eight core corpora (the first LIMIT sentences),
# asked three ways, and BioRED's test abstracts (every type in one pass). Results in results/one-pass-cpu/.
#   LIMIT=100 scripts/eval_one_pass_cpu.sh
set -euo pipefail
cd "$(dirname "$0")/.."
LIMIT=${LIMIT:-100}
MODEL=${MODEL:-runs/cpu-one-pass/final}
OUT=results/one-pass-cpu
VANER=.venv/bin/vaner
mkdir -p "$OUT"
$VANER eval --model "$MODEL" --name "one-pass from default, CPU" --datasets BioRED --output "$OUT/documents.json" --resume
for request in dataset all-types; do
  $VANER eval --model "$MODEL" --name "one-pass from default, CPU ($request)" --split devel --limit "$LIMIT" \
    --request "$request" --output "$OUT/devel-$request.json" --resume
done
for request in dataset adaptive; do
  $VANER eval --name "default model ($request)" --split devel --limit "$LIMIT" --request "$request" \
    --output "$OUT/default-devel-$request.json" --resume
done
