#!/usr/bin/env bash
# Train the leaderboard's two encoder baselines (all-MiniLM-L6-v2, full fine-tuning), each in the wall time of the
# default VANER model's run (5,115 s on this machine's 2 cores):
#   - runs/minilm-mixed: one model, the eight core corpora mixed, typed labels (configs/minilm_baseline.yaml);
#   - runs/minilm-per-corpus/<corpus>: eight models, one per corpus, 639 s each (configs/minilm_per_corpus.yaml).
# The two run side by side, one thread each (VANER had both cores: a handicap for the baselines, stated wherever
# their rows appear). Re-running resumes each run from its last checkpoint.
set -euo pipefail
cd "$(dirname "$0")/.."
VANER=${VANER:-.venv/bin/vaner}
CORPORA=(BC4CHEMD BC5CDR-chem BC5CDR-disease NCBI-disease BC2GM JNLPBA linnaeus s800)
mkdir -p runs/minilm-per-corpus

OMP_NUM_THREADS=1 "$VANER" train --config configs/minilm_baseline.yaml > runs/minilm-mixed.log 2>&1 &
mixed=$!
for corpus in "${CORPORA[@]}"; do
  if [ ! -f "runs/minilm-per-corpus/$corpus/training_summary.json" ]; then
    OMP_NUM_THREADS=1 "$VANER" train --config configs/minilm_per_corpus.yaml --corpora "$corpus" \
      --output_dir "runs/minilm-per-corpus/$corpus" > "runs/minilm-per-corpus/$corpus.log" 2>&1
  fi
done
wait "$mixed"
