"""Scoring a VANER model on a document corpus (PubTator): the documents go through `vaner predict`'s tagging path
(sentences, windows, every requested type in one pass where the model has a head per type), and its mentions are
matched to the gold ones at the character level, per type: strict (both offsets equal) and relaxed (HunFlair2's
rule: each offset within one character)."""

import bisect
import copy
import os
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

from transformers.utils import logging

from modeling_vaner.bulk.job import tag_documents
from modeling_vaner.documents import document_corpus, scored_types
from modeling_vaner.errors import VanerError
from modeling_vaner.processing_vaner import tidy_span

from .metrics.bioner_f1.bioner_f1 import precision_recall_f1
from .results import NotScoredError

# F1 published for document corpora (not measured here), by corpus and type; `overall` is the authors' micro F1.
REPORTED_DOCUMENTS = [
    {
        "model": "AIONER (all corpora)",
        "source": "Luo et al. 2023, AIONER, Bioinformatics 39(5) btad310, Table 2 (BioRED test)",
        "f1": {
            "BioRED": {
                "Gene": 92.40,
                "Disease": 88.07,
                "Chemical": 90.98,
                "Species": 97.50,
                "Variant": 88.51,
                "CellLine": 90.53,
                "overall": 91.26,
            }
        },
    },
    {
        "model": "AIONER (BioRED only)",
        "source": "Luo et al. 2023, AIONER, Bioinformatics 39(5) btad310, Table 2 (BioRED test)",
        "f1": {
            "BioRED": {
                "Gene": 92.35,
                "Disease": 83.47,
                "Chemical": 88.55,
                "Species": 96.98,
                "Variant": 87.34,
                "CellLine": 90.53,
                "overall": 89.34,
            }
        },
    },
]


def match_mentions(gold: list[tuple], predicted: list[tuple], tolerance: int) -> int:
    """How many predicted mentions `(document, start, end, type)` match a gold one one-to-one: same document and
    type, each offset within `tolerance` characters (0: strict). Exact pairs are taken first."""
    unmatched = Counter(gold)
    matched, rest = 0, []
    for mention in predicted:
        if unmatched[mention] > 0:
            unmatched[mention] -= 1
            matched += 1
        else:
            rest.append(mention)
    if tolerance == 0:
        return matched
    by_place = {}
    for (document, start, end, entity_type), count in unmatched.items():
        by_place.setdefault((document, entity_type), []).extend([(start, end)] * count)
    for document, start, end, entity_type in rest:
        spans = by_place.get((document, entity_type), [])
        for i, (gold_start, gold_end) in enumerate(spans):
            if abs(gold_start - start) <= tolerance and abs(gold_end - end) <= tolerance:
                matched += 1
                del spans[i]
                break
    return matched


def score_mentions(gold: list[tuple], predicted: list[tuple], types: list[str]) -> dict:
    """Per type and over all `types` (micro), strict and relaxed P/R/F1 with counts; mentions are `(document, start,
    end, type)`."""
    scores = {"per_type": {}}
    totals = Counter()
    for entity_type in types:
        gold_t = [m for m in gold if m[3] == entity_type]
        predicted_t = [m for m in predicted if m[3] == entity_type]
        strict, relaxed = match_mentions(gold_t, predicted_t, 0), match_mentions(gold_t, predicted_t, 1)
        scores["per_type"][entity_type] = {
            "gold": len(gold_t),
            "predicted": len(predicted_t),
            "strict": precision_recall_f1(strict, len(gold_t), len(predicted_t)),
            "relaxed": precision_recall_f1(relaxed, len(gold_t), len(predicted_t)),
        }
        totals.update(gold=len(gold_t), predicted=len(predicted_t), strict=strict, relaxed=relaxed)
    scores["strict"] = precision_recall_f1(totals["strict"], totals["gold"], totals["predicted"])
    scores["relaxed"] = precision_recall_f1(totals["relaxed"], totals["gold"], totals["predicted"])
    scores["gold_entities"], scores["predicted_entities"] = totals["gold"], totals["predicted"]
    return scores


class DocumentEvalError(VanerError, ValueError):
    pass


@contextmanager
def as_tagged(tagger):
    """The tagger's mentions as the model drew them (`tidy_mentions` off), inside the block."""
    tidy, tagger.tidy_mentions = tagger.tidy_mentions, False
    try:
        yield tagger
    finally:
        tagger.tidy_mentions = tidy


def tidied(document, mentions: list[tuple]) -> list[tuple]:
    """`(index, start, end, type)` mentions of a tagged `document` with the tagger's boundary rule applied, as a
    tagger with `tidy_mentions` on draws them: word by word (`processing_vaner.tidy_span`); a mention with nothing
    left is dropped."""
    starts = [start for start, _ in document.words]
    words = [document.text[start:end] for start, end in document.words]
    kept = []
    for index, start, end, entity_type in mentions:
        first, last = bisect.bisect_left(starts, start), bisect.bisect_right(starts, end - 1)
        first, last = tidy_span(words, first, last)
        if first < last:
            kept.append((index, document.words[first][0], document.words[last - 1][1], entity_type))
    return kept


def mentions_before_tidying(gold: list[tuple], untidied: list[tuple], predicted: list[tuple], types: list[str]) -> dict:
    """The row's `tidy_mentions` and `untidied` fields: the mentions before the boundary rule, scored, and how many
    it trimmed or dropped (nothing when the rule was off)."""
    if untidied is predicted:
        return {}
    before = score_mentions(gold, untidied, types)
    changed = len(set(untidied) - set(predicted))
    return {
        "tidy_mentions": True,
        "untidied": {"strict": before["strict"], "relaxed": before["relaxed"], "changed_mentions": changed},
    }


def evaluate_documents(predictor, name: str, split: str = "test", limit: int | None = None, type_map=None) -> dict:
    """Score a VANER `predictor` on document corpus `name`'s `split` (the first `limit` documents): a results row
    with strict and relaxed P/R/F1 over the scored types and per type, the mentions not scored by type name, and
    the annotations skipped for offset errors (file and line)."""
    if getattr(predictor, "kind", None) != "vaner":
        raise DocumentEvalError(f"{name}: document corpora are scored through VANER's tagger; this model is not one.")
    data = document_corpus(name, type_map).read(split)
    documents = data.documents = data.documents[:limit] if limit is not None else data.documents
    types, left_out = scored_types(data, list(predictor.config.entity_types))
    if not types:
        counts = ", ".join(f"{t} {n}" for t, n in left_out.items()) or "no mentions"
        raise NotScoredError(
            f"the model knows none of its types ({counts} in {split}); map them to the model's types (`vaner eval --type-map`)"
        )
    gold = [
        (i, e["start"], e["end"], e["type"]) for i, d in enumerate(documents) for e in d.entities if e["type"] in types
    ]
    start = time.perf_counter()
    with as_tagged(predictor.tagger) as tagger:  # scored both ways: the boundary rule's effect is measured
        stream = tag_documents(tagger, copy.deepcopy(documents), types, None, predictor.batch_size)
        tagged = list(logging.tqdm(stream, total=len(documents), desc=f"{name} {split}", unit="doc"))
    seconds = time.perf_counter() - start
    drawn = [[(i, e["start"], e["end"], e["type"]) for e in d.entities] for i, d in enumerate(tagged)]
    untidied = [mention for mentions in drawn for mention in mentions]
    predicted = untidied
    if predictor.tagger.tidy_mentions:
        predicted = [mention for d, mentions in zip(tagged, drawn) for mention in tidied(d, mentions)]
    scores = score_mentions(gold, predicted, types)
    words = sum(len(d.words) for d in tagged)
    return {
        "dataset": name,
        "level": "document",
        "split": split,
        "entity_type": ",".join(types),
        "instruction": None,  # the adaptive instruction, as `vaner predict` asks
        "documents": len(documents),
        "sentences": sum(len(d.sentences) for d in tagged),
        "words": words,
        "limit": limit,
        "strict": scores["strict"],
        "relaxed": scores["relaxed"],
        "per_type": scores["per_type"],
        "not_scored": left_out,
        "offset_problems": [{"where": where, "problem": problem} for where, problem in data.offset_problems],
        "gold_entities": scores["gold_entities"],
        "predicted_entities": scores["predicted_entities"],
        **mentions_before_tidying(gold, untidied, predicted, types),
        "seconds": round(seconds, 2),
        "words_per_second": round(words / seconds, 1) if seconds else None,
    }


def cell(text: str) -> str:
    """`text` as one markdown table cell: no line break, `|` escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def corpus_label(name: str) -> str:
    """A corpus as a leaderboard names it: as it was given, except that a folder given by its absolute path is named
    from the working folder (`data/my-genes:Gene`) or the home folder (`~/data/my-genes:Gene`) when it lies there,
    not by the whole path of the machine it was scored on. Distinct folders keep distinct names."""
    folder, colon, rest = name.rpartition(":") if ":" in name else (name, "", "")
    if not os.path.isabs(folder):
        return name
    for base, shown in ((Path.cwd(), ""), (Path.home(), "~/")):
        if len(base.parts) > 1 and Path(folder).is_relative_to(base) and Path(folder) != base:  # never from "/"
            return f"{shown}{Path(folder).relative_to(base)}{colon}{rest}"
    return name


def render_documents_table(reports: list[dict], reported: list[dict] = REPORTED_DOCUMENTS) -> str:
    """Document corpora: per corpus and type, relaxed F1 (strict in brackets) of each measured model, and the
    published figures beside them where they exist (their own matching rule)."""
    rows = [(report, r) for report in reports for r in report["results"] if r.get("level") == "document"]
    if not rows:
        return ""
    caption = (
        "Document corpora (character offsets): F1 per type, relaxed (each offset within one character, HunFlair2's "
        "rule) with strict in brackets. *Reported* figures are the authors' own, not measured here."
    )
    lines = [
        caption,
        "",
        "| model | corpus | type | relaxed F1 (strict) | P | R | gold | predicted |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for report, result in rows:
        for entity_type, score in [*result["per_type"].items(), ("overall", result)]:
            relaxed, strict = score["relaxed"], score["strict"]
            gold = score.get("gold", score.get("gold_entities"))
            predicted = score.get("predicted", score.get("predicted_entities"))
            lines.append(
                f"| {cell(report['model'])} | {cell(corpus_label(result['dataset']))} ({result['split']}) | {entity_type} | "
                f"{100 * relaxed['f1']:.2f} ({100 * strict['f1']:.2f}) | {100 * relaxed['precision']:.2f} | "
                f"{100 * relaxed['recall']:.2f} | {gold} | {predicted} |"
            )
        if result["not_scored"]:
            left = ", ".join(f"{name} {count}" for name, count in result["not_scored"].items())
            lines.append(f"| | {cell(result['dataset'])} | not scored | {cell(left)} | | | | |")
    for row in reported:
        for corpus, figures in row["f1"].items():
            for entity_type, f1 in figures.items():
                lines.append(f"| {row['model']} | {corpus} (test) | {entity_type} | *{f1:.2f}* (reported) | | | | |")
    lines.append("")
    lines.extend(f"- {row['model']}: {row['source']}" for row in reported)
    return "\n".join(lines) + "\n"
