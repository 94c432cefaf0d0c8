#!/usr/bin/env bash
# The default model on every document corpus's test split (full), each row scored with and without the mention
# boundary rule (`untidied`), then on the eight core CoNLL test sets the same way. One `vaner eval` per file, with
# --resume: stopped, it goes on from the first corpus not finished. Hours on a 2-core CPU; the small corpora
# (BioRED first) come before the two long ones (NLM-Chem, DrugProt).
#   scripts/eval_default_documents.sh
set -euo pipefail
cd "$(dirname "$0")/.."
VANER=${VANER:-.venv/bin/vaner}
NAME="VANER SmolLM2-135M, GPU 353 s (default model)"
$VANER eval --name "$NAME" --datasets BioRED,NLM-Gene,GNormPlus,S800-documents,NLM-Chem,DrugProt \
  --output results/leaderboard/documents.json --resume
$VANER eval --name "$NAME" --split test \
  --datasets NCBI-disease,BC5CDR-chem,BC5CDR-disease,BC2GM,JNLPBA,linnaeus,s800,BC4CHEMD \
  --output results/leaderboard/default-boundaries.json --resume
