"""`Linker`: knowledge-base ids for recognised mentions, the way scispaCy's linker and the string baselines of
BioSyn's papers work, with no neural model.

For each mention: (1) its own name, normalised, looked up among every name of the type's vocabularies (and
variants: singular, inverted "X, Y"); (2) a short form the document defines ("... nephrotoxicity (CIN)") is
replaced by its long form; (3) otherwise the nearest name by character 3-gram TF-IDF cosine (scikit-learn's
`TfidfVectorizer(analyzer="char_wb")`, built on first use per type, a few seconds). A TF-IDF link scoring below the
type's threshold (chosen on devel) leaves the mention unlinked.
"""

from pathlib import Path

from .index import ENTITY_TYPES, TypeIndex, load_index
from .names import abbreviations, normalize, variants

MAX_MENTION_CHARACTERS = 300  # longer than any name in the vocabularies' (IUPAC names included) use


def unlinkable(mention: str) -> bool:
    """Junk no knowledge base names by itself: no letter (`1`, `2.5`), a single character (`e`), one character
    repeated (`xxx...`, `MM`), or longer than any real name. Such a mention is linked only through the long form its
    document defines for it ("multiple myeloma (MM)"), never by its own letters."""
    characters = [c for c in mention.lower() if c.isalnum()]
    return (
        not any(c.isalpha() for c in characters)
        or len(characters) < 2
        or len(set(characters)) == 1
        or len(mention) > MAX_MENTION_CHARACTERS
    )


class Linker:
    """`link(text, entities)`: each entity dict (`start`, `end`, `text`, `type`) gains `id` (None when unlinked),
    `ids` (all ids of the concept), `name` (its preferred name), `link_score` and `link_method`
    (exact, abbreviation, tfidf, or None)."""

    def __init__(self, indexes: dict[str, TypeIndex], fuzzy: bool = True):
        self.indexes = indexes
        self.fuzzy = fuzzy
        self._tfidf = {}

    @classmethod
    def load(cls, directory: str | Path | None = None, fuzzy: bool = True) -> "Linker":
        return cls(load_index(directory), fuzzy=fuzzy)

    def link(self, text: str, entities: list[dict]) -> list[dict]:
        short_forms = abbreviations(text)
        for entity in entities:
            entity.update(self.link_mention(entity["text"], entity["type"], short_forms))
        return entities

    def link_mention(
        self, mention: str, entity_type: str, short_forms: dict[str, str] | None = None, threshold: float | None = None
    ) -> dict:
        """One mention's link; `threshold` overrides the type's (0: always the top-1 candidate, as accuracy@1 asks)."""
        index = self.indexes.get(entity_type)
        unlinked = {"id": None, "ids": [], "name": None, "link_score": 0.0, "link_method": None}
        if index is None:
            return unlinked
        names = [] if unlinkable(mention) else [(mention, "exact")]
        long_form = (short_forms or {}).get(mention.strip())
        if long_form:
            names.insert(0, (long_form, "abbreviation"))
        if not names:
            return unlinked
        for name, method in names:
            for key in variants(name):
                concept = index.lookup(key)
                if concept is not None:
                    return self._result(index, concept, 1.0, method)
        if not self.fuzzy:
            return unlinked
        concept, score = self.nearest(index, names[0][0])
        if concept is None or score < (index.threshold if threshold is None else threshold):
            return {**unlinked, "link_score": round(score, 4)}
        return self._result(index, concept, score, "tfidf")

    def nearest(self, index: TypeIndex, name: str) -> tuple[int | None, float]:
        """The concept whose name is nearest to `name` by character 3-gram TF-IDF cosine, and that cosine."""
        key = normalize(name)
        if not key:
            return None, 0.0
        vectorizer, matrix, keys = self._tfidf_of(index)
        scores = (matrix @ vectorizer.transform([key]).T).toarray().ravel()
        best = int(scores.argmax())
        return index.lookup(keys[best]), float(scores[best])

    def _tfidf_of(self, index: TypeIndex):
        if index.entity_type not in self._tfidf:
            from sklearn.feature_extraction.text import TfidfVectorizer

            keys = list(index.names)
            import numpy

            vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 3), dtype=numpy.float32)
            self._tfidf[index.entity_type] = (vectorizer, vectorizer.fit_transform(keys).tocsr(), keys)
        return self._tfidf[index.entity_type]

    @staticmethod
    def _result(index: TypeIndex, concept: int, score: float, method: str) -> dict:
        ids, name = index.concepts[concept]
        return {"id": ids[0], "ids": list(ids), "name": name, "link_score": round(score, 4), "link_method": method}


__all__ = ["ENTITY_TYPES", "Linker"]
