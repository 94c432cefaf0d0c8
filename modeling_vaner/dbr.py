"""DBR (dense bioentity recognition): training items made of entity names, so the model learns which names are
Chemicals, Diseases, Genes and Species.

The dictionary holds the knowledge base's names (`kb/*.tsv`) and the training sets' own gold mentions. A DBR item
is a pseudo-sentence of sampled names separated by commas: up to `max_same` names of the instruction's type,
labelled `B`/`I`, and up to `max_other` of other types, labelled `O`. It uses the instruction without a dataset name.
"""

import csv
import random
from pathlib import Path

from .processing_vaner import decode_spans, split_words

# The knowledge base's type names, as VANER names them.
KB_TYPES = {"Chemical": "Chemical", "Disease": "Disease", "Gene/Protein": "Gene", "Species": "Species"}
SEPARATOR = ","


class EntityDictionary:
    """Names (already split into words) by entity type; a name listed under several types is never sampled as
    a negative for any of them."""

    def __init__(self, max_words: int = 8):
        self.max_words = max_words
        self.names: dict[str, list[tuple[str, ...]]] = {}
        self.types_of: dict[tuple[str, ...], set[str]] = {}

    def add(self, words, entity_type: str) -> None:
        words = tuple(words)
        if not words or len(words) > self.max_words:
            return
        types = self.types_of.setdefault(words, set())
        if entity_type not in types:
            types.add(entity_type)
            self.names.setdefault(entity_type, []).append(words)

    def add_kb_file(self, path: str | Path) -> None:
        with open(path, encoding="utf-8", newline="") as handle:
            for number, row in enumerate(csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE), start=1):
                if number == 1 and row[:2] == ["name", "type"]:
                    continue
                if len(row) < 2:
                    raise ValueError(f"{path}:{number}: expected 'name<TAB>type<TAB>source_id'")
                if row[1] in KB_TYPES:
                    self.add([row[0][s:e] for s, e in split_words(row[0])], KB_TYPES[row[1]])

    def add_gold_mentions(self, words: list[str], tags: list[str], entity_type: str) -> None:
        """The mentions of a gold B/I/O sentence, as names of `entity_type` (the tagger's own span decoder)."""
        for first, end, _ in decode_spans(tags, [0.0] * len(tags)):
            self.add(words[first:end], entity_type)

    def __len__(self) -> int:
        return len(self.types_of)

    def sample_item(
        self, rng: random.Random, entity_type: str, max_same: int = 10, max_other: int = 5
    ) -> tuple[list[str], list[str]]:
        """A DBR pseudo-sentence: `(words, tags)` with `B`/`I` on names of `entity_type`, `O` elsewhere."""
        same = self.names.get(entity_type, [])
        others = [t for t in self.names if t != entity_type and self.names[t]]
        chosen = [(name, True) for name in rng.sample(same, min(len(same), rng.randint(1, max_same)))]
        for _ in range(rng.randint(0, max_other) if others else 0):
            name = rng.choice(self.names[rng.choice(others)])
            if entity_type not in self.types_of[name]:
                chosen.append((name, False))
        rng.shuffle(chosen)
        words, tags = [], []
        for index, (name, positive) in enumerate(chosen):
            if index:
                words.append(SEPARATOR)
                tags.append("O")
            words.extend(name)
            tags.extend(["B"] + ["I"] * (len(name) - 1) if positive else ["O"] * len(name))
        return words, tags
