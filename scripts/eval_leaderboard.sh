#!/usr/bin/env bash
# Score the default VANER model and the two MiniLM baselines (scripts/train_baselines.sh) with the same harness,
# and write one leaderboard:
#   scripts/eval_leaderboard.sh            full test sets  -> results/leaderboard/
#   LIMIT=200 scripts/eval_leaderboard.sh  first 200 test sentences of each corpus -> results/leaderboard-first200/
# Every results JSON is rewritten after each corpus, so an interrupted run keeps what it finished;
#   RESUME=1 scripts/eval_leaderboard.sh   then scores only the corpora still missing (vaner eval --resume).
set -euo pipefail
cd "$(dirname "$0")/.."
VANER=${VANER:-.venv/bin/vaner}
CORE=NCBI-disease,s800,BC5CDR-chem,BC5CDR-disease,JNLPBA,BC2GM,linnaeus,BC4CHEMD  # smallest first
UNSEEN=CRAFT-chem,CRAFT-ggp,CRAFT-species
if [ -n "${LIMIT:-}" ]; then
  OUT=results/leaderboard-first${LIMIT}; EVAL_ARGS=(--limit "$LIMIT")
else
  OUT=results/leaderboard; EVAL_ARGS=()
fi
[ -n "${RESUME:-}" ] && EVAL_ARGS+=(--resume)
mkdir -p "$OUT"
WHICH=${WHICH:-minilm-per-corpus minilm-mixed vaner-default}

for row in $WHICH; do
  case $row in
    minilm-per-corpus)  # one encoder per corpus; CRAFT has no model of its own in this setup
      "$VANER" eval --model 'runs/minilm-per-corpus/{dataset}/final' --name "MiniLM-L6 fine-tuned per corpus" \
        --datasets "$CORE" --dtype bfloat16 --batch-size 32 --output "$OUT/minilm-per-corpus.json" "${EVAL_ARGS[@]}" ;;
    minilm-mixed)
      "$VANER" eval --model runs/minilm-mixed/final --name "MiniLM-L6 fine-tuned on the mix, typed labels" \
        --datasets "$CORE,$UNSEEN" --dtype bfloat16 --batch-size 32 --output "$OUT/minilm-mixed.json" \
        "${EVAL_ARGS[@]}" ;;
    vaner-default)
      "$VANER" eval --model modeling_vaner/default_model --name "VANER SmolLM2-135M LoRA r=32, GPU 353 s (default model)" \
        --datasets "$CORE,$UNSEEN" --dtype bfloat16 --output "$OUT/vaner-default.json" "${EVAL_ARGS[@]}" ;;
  esac
done
reports=()
# vaner-cpu-0.14epoch: the previous default (LoRA r=16, 85 min on 2 CPU cores), scored before it was replaced.
for row in vaner-default vaner-cpu-0.14epoch minilm-mixed minilm-per-corpus; do
  [ -f "$OUT/$row.json" ] && reports+=("$OUT/$row.json")
done
"$VANER" leaderboard "${reports[@]}" --output "$OUT/README.md"
