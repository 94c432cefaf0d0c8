# Copyright 2026 The VANER authors. Licensed under the Apache License, Version 2.0.
"""BioNER F1: entity-level precision, recall and F1 over IOB2 tag sequences, in two matching modes.

Load it by path, never from the Hub: `evaluate.load("harness/metrics/bioner_f1")`.
"""

import datasets
import evaluate
from seqeval.metrics.sequence_labeling import get_entities
from seqeval.scheme import IOB2, Entities

_CITATION = """\
@inproceedings{ramshaw-marcus-1995-text,
  title = "Text Chunking using Transformation-Based Learning",
  author = "Ramshaw, Lance and Marcus, Mitch",
  booktitle = "Third Workshop on Very Large Corpora",
  year = "1995",
}
@misc{seqeval,
  title = {{seqeval}: A Python framework for sequence labeling evaluation},
  author = {Hiroki Nakayama},
  year = {2018},
  url = {https://github.com/chakki-works/seqeval},
}
"""

_DESCRIPTION = """\
Entity-level scores for biomedical NER. A predicted entity counts only if its boundaries and type both match a gold
entity. Two modes:

- `strict` (the headline): IOB2 read strictly; an entity must open with `B-`, so a prediction like `I-X I-X` is no
  entity at all.
- `default` (conlleval-style, seqeval's default, the mode the VANER paper used): an `I-X` after `O` or another type
  opens an entity, as conlleval does.

Tags without a type (`B`, `I`) are scored as one anonymous type. Tags may be strings or, as a `datasets` corpus
stores them (`ClassLabel`), integers with their `label_names`.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions (`list[list[str]]` or `list[list[int]]`): predicted IOB2 tags, one list per sentence.
    references (`list[list[str]]` or `list[list[int]]`): gold IOB2 tags, same shape.
    label_names (`list[str]`, *optional*): the tag of each integer id (a `ClassLabel`'s `.names`), needed when the
        tags are integers.
Returns:
    precision, recall, f1 (strict mode); default_precision, default_recall, default_f1 (conlleval-style);
    per_type: {type: {precision, recall, f1, gold, predicted}} (strict); gold_entities, predicted_entities (strict),
    default_predicted_entities.
Examples:
    >>> metric = evaluate.load("harness/metrics/bioner_f1")
    >>> metric.compute(predictions=[["B-Disease", "I-Disease", "O"]], references=[["B-Disease", "I-Disease", "O"]])["f1"]
    1.0
    >>> names = ["O", "B-Disease", "I-Disease"]  # e.g. dataset.features["ner_tags"].feature.names
    >>> metric.compute(predictions=[[1, 2, 0]], references=[[1, 2, 0]], label_names=names)["f1"]
    1.0
"""


def precision_recall_f1(true_positives: int, gold: int, predicted: int) -> dict:
    """Precision, recall and F1 of `predicted` answers of which `true_positives` are in the `gold` ones (0 where a
    count is 0): the one definition the harness's scores use."""
    precision = true_positives / predicted if predicted else 0.0
    recall = true_positives / gold if gold else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1}


def _named(sequences, label_names):
    """Tag sequences as strings: integer ids through `label_names`; strings as they are."""
    if not any(isinstance(tag, int) for sequence in sequences for tag in sequence):
        return sequences
    if label_names is None:
        raise ValueError("The tags are integers: pass label_names (a ClassLabel's .names) to read them.")
    try:
        return [[label_names[tag] for tag in sequence] for sequence in sequences]
    except IndexError:
        raise ValueError(f"A tag id is outside label_names ({len(label_names)} names).") from None


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class BioNERF1(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=[
                datasets.Features(
                    {
                        "predictions": datasets.Sequence(datasets.Value(kind)),
                        "references": datasets.Sequence(datasets.Value(kind)),
                    }
                )
                for kind in ("string", "int64")
            ],
            reference_urls=["https://github.com/chakki-works/seqeval"],
        )

    def _compute(self, predictions, references, label_names=None):
        predictions, references = _named(predictions, label_names), _named(references, label_names)
        if len(predictions) != len(references):
            raise ValueError(f"{len(predictions)} predicted sentences but {len(references)} gold ones.")
        for sentence, (predicted, gold) in enumerate(zip(predictions, references)):
            if len(predicted) != len(gold):
                raise ValueError(f"Sentence {sentence}: {len(predicted)} predicted tags for {len(gold)} gold ones.")

        # Entities as seqeval reads them: `(sentence, start, end, type)`, strict IOB2 and conlleval-style.
        def strict(sequences):
            return {(e.sent_id, e.start, e.end, e.tag) for s in Entities(sequences, IOB2).entities for e in s}

        gold_all, predicted_all = strict(references), strict(predictions)
        default_all = {
            (sentence, first, last + 1, kind)
            for sentence, sequence in enumerate(predictions)
            for kind, first, last in get_entities(list(sequence))
        }
        # Gold files are valid IOB2, so both modes read them alike.
        strict = precision_recall_f1(len(gold_all & predicted_all), len(gold_all), len(predicted_all))
        default = precision_recall_f1(len(gold_all & default_all), len(gold_all), len(default_all))
        per_type = {}
        for kind in sorted({entity[3] for entity in gold_all | predicted_all}):
            gold = {e for e in gold_all if e[3] == kind}
            predicted = {e for e in predicted_all if e[3] == kind}
            per_type[kind] = {
                **precision_recall_f1(len(gold & predicted), len(gold), len(predicted)),
                "gold": len(gold),
                "predicted": len(predicted),
            }
        return {
            **strict,
            **{f"default_{key}": value for key, value in default.items()},
            "per_type": per_type,
            "gold_entities": len(gold_all),
            "predicted_entities": len(predicted_all),
            "default_predicted_entities": len(default_all),
        }
