"""Scoring entity linking: accuracy@1 given gold mentions (the normalisation measure), vocabulary coverage, and
end-to-end mention + id precision/recall/F1 of a tagger followed by a linker.

    vaner eval --linking --output results/linking/tfidf.json            # every linking corpus, test split
"""

import time
from datetime import UTC, datetime
from pathlib import Path

from harness.runner import package_versions
from modeling_vaner.corpora import data_root
from modeling_vaner.files import write_json_atomically
from modeling_vaner.linking.names import abbreviations
from modeling_vaner.linking.vocabularies import read_gold

from .metrics.bioner_f1.bioner_f1 import precision_recall_f1

# (corpus of ../shared/data/linking, entity type): the test sets scored by default.
LINKING_SETS = [
    ("NCBI-disease", "Disease"),
    ("BC5CDR", "Disease"),
    ("BC5CDR", "Chemical"),
    ("linnaeus", "Species"),
    ("s800", "Species"),
]


def linking_root() -> Path:
    return data_root().parent / "linking"


def is_correct(link: dict, gold_ids: list[str]) -> bool:
    """Right when the linked concept carries the gold id; a composite mention (several gold ids) needs every part,
    which one link cannot give: a known miss of this linker, counted wrong."""
    return len(gold_ids) == 1 and gold_ids[0] in link["ids"]


# What `accuracy_at_1` counts over a corpus's gold mentions of one type.
COUNTS = (
    "mentions",
    "correct",
    "composite",
    "in_vocabulary",
    "correct_in_vocabulary",
    "without_supplementary",
    "correct_without_supplementary",
    "linked_at_threshold",
    "correct_at_threshold",
)


def accuracy_at_1(linker, corpus: str, entity_type: str, split: str = "test", root: Path | None = None) -> dict:
    """Link every gold mention of `entity_type` (its document's abbreviations known) with no threshold (top-1 always);
    accuracy@1 over all of them, over those whose gold id the vocabulary holds, and over those without a MeSH
    supplementary (C...) id; plus the linked share and precision at the type's threshold."""

    index = linker.indexes[entity_type]
    # Coverage is the vocabularies' own: ids that only the training mentions brought in do not count.
    known_ids = {concept_id for ids, _ in index.concepts[: index.vocabulary_size] for concept_id in ids}
    counts = {**dict.fromkeys(COUNTS, 0), "by_method": {}}
    start = time.perf_counter()
    for _, text, mentions in read_gold(corpus, split, root or linking_root()):
        short_forms = abbreviations(text)
        for mention in mentions:
            if mention.entity_type != entity_type:
                continue
            link = linker.link_mention(mention.text, entity_type, short_forms, threshold=0.0)
            right = is_correct(link, mention.ids)
            counts["mentions"] += 1
            counts["correct"] += right
            counts["composite"] += len(mention.ids) > 1
            method = link["link_method"] or "none"
            counts["by_method"].setdefault(method, [0, 0])
            counts["by_method"][method][0] += 1
            counts["by_method"][method][1] += right
            if all(i in known_ids for i in mention.ids):
                counts["in_vocabulary"] += 1
                counts["correct_in_vocabulary"] += right
            if not any(i.startswith("MESH:C") for i in mention.ids):
                counts["without_supplementary"] += 1
                counts["correct_without_supplementary"] += right
            if link["id"] is not None and (link["link_method"] != "tfidf" or link["link_score"] >= index.threshold):
                counts["linked_at_threshold"] += 1
                counts["correct_at_threshold"] += right
    share = lambda a, b: counts[a] / counts[b] if counts[b] else None
    return {
        "corpus": corpus,
        "split": split,
        "entity_type": entity_type,
        **counts,
        "accuracy": share("correct", "mentions"),
        "coverage": share("in_vocabulary", "mentions"),
        "accuracy_in_vocabulary": share("correct_in_vocabulary", "in_vocabulary"),
        "accuracy_without_supplementary": share("correct_without_supplementary", "without_supplementary"),
        "threshold": index.threshold,
        "precision_at_threshold": share("correct_at_threshold", "linked_at_threshold"),
        "recall_at_threshold": share("correct_at_threshold", "mentions"),
        "seconds": round(time.perf_counter() - start, 2),
    }


def choose_threshold(linker, sets, split: str = "devel", root: Path | None = None) -> float:
    """The TF-IDF score below which a link is dropped, maximising the F1 of (correct links / links, correct links /
    mentions) on `split` of `sets` (devel: never test)."""

    scored = []  # (method, score, correct)
    for corpus, entity_type in sets:
        for _, text, mentions in read_gold(corpus, split, root or linking_root()):
            short_forms = abbreviations(text)
            for mention in mentions:
                if mention.entity_type == entity_type:
                    link = linker.link_mention(mention.text, entity_type, short_forms, threshold=0.0)
                    scored.append((link["link_method"], link["link_score"], is_correct(link, mention.ids)))
    best, best_f1 = 0.0, -1.0
    for threshold in [i / 100 for i in range(0, 100, 2)]:
        kept = [right for method, score, right in scored if method and (method != "tfidf" or score >= threshold)]
        f1 = precision_recall_f1(sum(kept), len(scored), len(kept))["f1"]
        if f1 > best_f1 + 1e-9:
            best, best_f1 = threshold, f1
    return best


def run_linking_eval(linker, name: str, output: str | Path, sets=None, split: str = "test") -> dict:
    """Accuracy@1 of `linker` on every linking set; the results JSON is rewritten after each set."""

    report = {
        "kind": "linking",
        "model": name,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "package_versions": package_versions(),
        "sources": {t: index.sources for t, index in linker.indexes.items()},
        "results": [],
    }
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    for corpus, entity_type in sets or LINKING_SETS:
        report["results"].append(accuracy_at_1(linker, corpus, entity_type, split))
        write_json_atomically(output, report)
    return report


def render_linking_markdown(reports: list[dict]) -> str:
    """One row per linker: accuracy@1 per set (BC5CDR chemicals also without supplementary ids; species with the
    vocabulary's coverage)."""
    columns = []
    for result in reports[0]["results"]:
        columns.append((result["corpus"], result["entity_type"], "accuracy"))
        if result["entity_type"] == "Chemical":
            columns.append((result["corpus"], result["entity_type"], "accuracy_without_supplementary"))
        if result["entity_type"] == "Species":
            columns.append((result["corpus"], result["entity_type"], "coverage"))
            columns.append((result["corpus"], result["entity_type"], "accuracy_in_vocabulary"))
    labels = {
        "accuracy": "acc@1",
        "accuracy_without_supplementary": "acc@1 w/o C-ids",
        "coverage": "taxonomy has the id",
        "accuracy_in_vocabulary": "acc@1 where it has",
    }
    header = "| linker | " + " | ".join(f"{c} {t} {labels[k]}" for c, t, k in columns) + " |"
    lines = [header, "|" + "---|" * (len(columns) + 1)]
    for report in reports:
        values = {(r["corpus"], r["entity_type"]): r for r in report["results"]}
        cells = []
        for corpus, entity_type, key in columns:
            value = values.get((corpus, entity_type), {}).get(key)
            cells.append("" if value is None else f"{100 * value:.2f}")
        lines.append(f"| {report['model']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def end_to_end(
    tagger,
    linker,
    corpus: str = "BC5CDR",
    split: str = "test",
    guidelines: dict[str, str] | None = None,
    batch_size: int = 16,
) -> dict:
    """Mention + id precision/recall/F1 of `tagger` followed by `linker` on whole documents: a prediction is right
    when its span (strict offsets), type and linked id equal a gold mention's (composite gold mentions, with several
    ids, cannot be matched by one link: counted as misses). `guidelines`: the corpus whose instruction each type gets
    (BC5CDR: its two views)."""

    guidelines = guidelines or {"Chemical": "BC5CDR-chem", "Disease": "BC5CDR-disease"}
    gold, predicted = set(), set()
    start = time.perf_counter()
    documents = list(read_gold(corpus, split, linking_root()))
    for document_id, text, mentions in documents:
        gold |= {(document_id, m.start, m.end, m.entity_type, m.ids[0]) for m in mentions if len(m.ids) == 1}
        gold |= {(document_id, m.start, m.end, m.entity_type, "|".join(m.ids)) for m in mentions if len(m.ids) > 1}
    for entity_type, dataset in guidelines.items():
        texts = [text for _, text, _ in documents]
        for (document_id, text, _), entities in zip(documents, tagger(texts, [entity_type], dataset, batch_size)):
            for entity in linker.link(text, entities):
                predicted.add((document_id, entity["start"], entity["end"], entity_type, entity["id"] or "-"))
    correct = len(gold & predicted)
    spans = {g[:4] for g in gold} & {p[:4] for p in predicted}
    return {
        "corpus": corpus,
        "split": split,
        "documents": len(documents),
        "gold": len(gold),
        "predicted": len(predicted),
        "correct": correct,
        **precision_recall_f1(correct, len(gold), len(predicted)),
        "mention_only_correct": len(spans),
        "seconds": round(time.perf_counter() - start, 1),
    }
