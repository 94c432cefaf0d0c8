#!/usr/bin/env bash
# Entity linking, measured (results/linking/): the shipped index rebuilt from ../shared/data, accuracy@1 given the
# gold mentions of the test splits for our linker and the exact-match baseline, one table; END_TO_END=1 also tags
# BC5CDR's 500 test documents with the default model and scores mention + id F1 (about 10 minutes on 2 CPU cores).
set -euo pipefail
cd "$(dirname "$0")/.."
VANER=${VANER:-.venv/bin/vaner}
OUT=results/linking
mkdir -p "$OUT"
"$VANER" link-index | tee "$OUT/index_build.txt"
"$VANER" eval --linking --name "VANER linker: exact, abbreviations, char 3-gram TF-IDF" --output "$OUT/tfidf.json"
"$VANER" eval --linking --exact-only --name "exact match only (normalised names, abbreviations): baseline" \
  --output "$OUT/exact.json"
.venv/bin/python -c "
import json, sys
from harness.linking import render_linking_markdown
reports = [json.load(open(f'$OUT/{name}.json')) for name in ('tfidf', 'exact')]
open('$OUT/README.md', 'w').write(render_linking_markdown(reports))"
if [ -n "${END_TO_END:-}" ]; then
  "$VANER" eval --linking --end-to-end --dtype bfloat16 --output "$OUT/end-to-end-bc5cdr.json"
fi
cat "$OUT/README.md"
