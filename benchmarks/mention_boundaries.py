"""How often the corpora's own gold mentions break the mention boundary rule (`processing_vaner.tidy_span`: no
trailing punctuation, no bracket a mention leaves open): the most the rule can cost a corpus's strict F1. A mention
the rule trims can only match a gold mention that breaks the rule, so where no gold mention does, the rule cannot
turn a correct mention into a wrong one; each gold mention that does is at most one true positive lost.

    python benchmarks/mention_boundaries.py [--split test]

Reads the eight core CoNLL corpora and every known document corpus (../shared/data); writes
benchmarks/results/mention_boundaries.json. What the rule gains is measured by `vaner eval` (each row's `untidied`).
"""

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from modeling_vaner.corpora import CORE_CORPORA, get_corpus, read_split
from modeling_vaner.documents import KNOWN_DOCUMENT_CORPORA, document_corpus
from modeling_vaner.processing_vaner import decode_spans, split_words, tidy_span


def sentence_corpus(name: str, split: str) -> tuple[int, Counter]:
    """Gold mentions of a CoNLL corpus, and those the rule would change (by text)."""
    total, broken = 0, Counter()
    for words, tags in read_split(get_corpus(name), split):
        for first, end, _ in decode_spans(tags, [0.0] * len(tags)):
            total += 1
            if tidy_span(words, first, end) != (first, end):
                broken[" ".join(words[first:end])] += 1
    return total, broken


def document_corpus_mentions(name: str, split: str) -> tuple[int, Counter]:
    """Gold mentions of a document corpus, and those the rule would change (by type and text)."""
    total, broken = 0, Counter()
    data = document_corpus(name).read(split)
    for document in data.documents:
        for entity in document.entities:
            text = document.text[entity["start"] : entity["end"]]
            words = [text[start:end] for start, end in split_words(text)]
            total += 1
            if words and tidy_span(words, 0, len(words)) != (0, len(words)):
                broken[f"{entity['corpus_type']}: {text}"] += 1
    return total, broken


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", default="test")
    args = parser.parse_args()
    corpora = {}
    for names, count in ((CORE_CORPORA, sentence_corpus), (KNOWN_DOCUMENT_CORPORA, document_corpus_mentions)):
        for name in names:
            total, broken = count(name, args.split)
            corpora[name] = {
                "gold_mentions": total,
                "breaking_the_rule": sum(broken.values()),
                "most_strict_recall_lost_points": round(100 * sum(broken.values()) / total, 3) if total else 0.0,
                "examples": [f"{text} ({n})" for text, n in broken.most_common(8)],
            }
            print(name, corpora[name]["gold_mentions"], corpora[name]["breaking_the_rule"], flush=True)
    record = {"split": args.split, "command": f"python benchmarks/mention_boundaries.py --split {args.split}"}
    out = ROOT / "benchmarks" / "results" / "mention_boundaries.json"
    out.write_text(json.dumps({**record, "corpora": corpora}, indent=2, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
