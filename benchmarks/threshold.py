"""Strict F1 against the mention threshold (the least score a mention keeps: `VanerTagger(threshold=...)`,
`vaner predict --threshold`), per core corpus on devel: what a threshold trades, and the default it picks.

    python benchmarks/threshold.py [--model DIR] [--limit 200]

Tags each core corpus's devel split once, as `vaner eval` does (the corpus's instruction, the boundary rule), then
scores those tags with every mention below each threshold dropped (`processing_vaner.drop_unsure`). Writes
benchmarks/results/threshold.json after each corpus; run again, it goes on from the first corpus not there.
"""

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import evaluate

from harness.runner import METRIC_PATH, load_predictor, with_type
from modeling_vaner.corpora import CORE_CORPORA, get_corpus, load_corpus
from modeling_vaner.embedded import DEFAULT_MODEL_DIR
from modeling_vaner.files import write_json_atomically
from modeling_vaner.processing_vaner import VANER_LABELS, drop_unsure

THRESHOLDS = (0.0, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95)
OUTPUT = ROOT / "benchmarks" / "results" / "threshold.json"


def corpus_curve(predictor, metric, name: str, limit: int) -> dict:
    """Strict P/R/F1 of one corpus's devel slice at every threshold, from one tagging pass."""
    entity_type = get_corpus(name).entity_type
    data = load_corpus(name, "devel").select(range(limit))
    gold = [with_type([VANER_LABELS[t] for t in tags], entity_type) for tags in data["ner_tags"]]
    instruction = predictor.instruction(name, entity_type)
    tagged = predictor.tagger.tag_words(
        [(words, instruction) for words in data["tokens"]], predictor.batch_size, progress=True, entity_type=entity_type
    )
    curve = {}
    for threshold in THRESHOLDS:
        predicted = [with_type(drop_unsure(tags, scores, threshold), entity_type) for tags, scores in tagged]
        scores = metric.compute(predictions=predicted, references=gold)
        curve[f"{threshold:g}"] = {key: round(scores[key], 4) for key in ("precision", "recall", "f1")}
    return {"sentences": len(gold), "strict": curve}


def summary(corpora: dict) -> dict:
    """Mean strict F1 over the corpora at each threshold, and the threshold where it is highest."""
    means = {
        key: round(sum(row["strict"][key]["f1"] for row in corpora.values()) / len(corpora), 4)
        for key in (f"{threshold:g}" for threshold in THRESHOLDS)
    }
    return {"mean_f1": means, "best": max(means, key=lambda key: (means[key], -float(key)))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a VANER folder or Hub id (default: the default model)")
    parser.add_argument("--limit", type=int, default=200, help="devel sentences per corpus")
    args = parser.parse_args()
    report = json.loads(OUTPUT.read_text()) if OUTPUT.is_file() else {}
    model = args.model or "default model"
    if report.get("model") != model or report.get("limit") != args.limit:
        report = {"model": model, "limit": args.limit, "split": "devel", "corpora": {}}
    predictor, metric = load_predictor(args.model or str(DEFAULT_MODEL_DIR)), evaluate.load(str(METRIC_PATH))
    for name in CORE_CORPORA:
        if name not in report["corpora"]:
            report["corpora"][name] = corpus_curve(predictor, metric, name, args.limit)
            report.update(summary(report["corpora"]))
            write_json_atomically(OUTPUT, report)
            print(name, report["corpora"][name]["strict"], flush=True)
    print(json.dumps(report["mean_f1"]), "best:", report["best"])


if __name__ == "__main__":
    main()
