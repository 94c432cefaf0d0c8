#!/usr/bin/env bash
# Issue 35's measurements of a CPU-trained one-pass model beside the default model, on this machine: devel slices of
# the eight core corpora (the first LIMIT sentences), asked three ways, and BioRED's test abstracts (every type in one
# pass). The first recipe (configs/cpu_one_pass_from_default.yaml -> runs/cpu-one-pass -> results/one-pass-cpu):
#   LIMIT=50 scripts/eval_one_pass_cpu.sh
# the second (configs/cpu_one_pass_all_types.yaml), or one of its checkpoints:
#   LIMIT=50 MODEL=runs/cpu-one-pass-all-types/final OUT=results/one-pass-cpu-all-types \
#     NAME="one-pass, all-type rows, CPU" scripts/eval_one_pass_cpu.sh
set -euo pipefail
cd "$(dirname "$0")/.."
LIMIT=${LIMIT:-100}
MODEL=${MODEL:-runs/cpu-one-pass/final}
OUT=${OUT:-results/one-pass-cpu}
NAME=${NAME:-one-pass from default, CPU}
VANER=${VANER:-.venv/bin/vaner}
mkdir -p "$OUT"
$VANER eval --model "$MODEL" --name "$NAME" --datasets BioRED --output "$OUT/documents.json" --resume
for request in dataset all-types; do
  $VANER eval --model "$MODEL" --name "$NAME ($request)" --split devel --limit "$LIMIT" \
    --request "$request" --output "$OUT/devel-$request.json" --resume
done
for request in dataset adaptive; do
  $VANER eval --name "default model ($request)" --split devel --limit "$LIMIT" --request "$request" \
    --output "results/one-pass-cpu/default-devel-$request.json" --resume
done
