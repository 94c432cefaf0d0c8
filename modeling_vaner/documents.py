"""Document corpora: whole abstracts (or passages) in PubTator, with character-offset mentions of several types.

The known ones live in `../shared/data/pubtator/` (`$VANER_PUBTATOR`): BioRED, NLM-Gene, GNormPlus, NLM-Chem,
DrugProt, S800 documents, BioID cell lines. A user's folder of PubTator files is a document corpus too. A split is
the file `train|dev|devel|test.pubtator` of its folder, in any case.

A corpus's type names become VANER's types through one table (`TYPE_NAMES`; a user may pass their own); names the
table does not map (NLM-Gene's FamilyName, NLM-Chem's OTHER, ...) are kept apart as not scored. Mentions whose
offsets do not hold their text (published files carry a few) are skipped and reported with file and line.

Two uses: the gold mentions the harness scores a tagger against (`harness.documents`), and training rows
(`sentence_tags`: the document split into words and sentences as the tagger splits it, BIO tags per type).
"""

import bisect
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from .errors import VanerError
from .formats import Document, read_documents, read_lines
from .processing_vaner import split_sentences, split_words


class DocumentCorpusError(VanerError, ValueError):
    """An unknown document corpus, a missing split or a bad type map, naming what and where."""


# Corpus type names -> VANER's entity types: one table for every corpus (BioRED's long names, the short ones of the
# others). A name not here is not scored.
TYPE_NAMES = {
    "GeneOrGeneProduct": "Gene",
    "DiseaseOrPhenotypicFeature": "Disease",
    "ChemicalEntity": "Chemical",
    "OrganismTaxon": "Species",
    "SequenceVariant": "Variant",
    "CellLine": "CellLine",
    "Gene": "Gene",
    "Chemical": "Chemical",
    "Disease": "Disease",
    "Species": "Species",
}

# The known document corpora: name -> folder under the PubTator data root.
KNOWN_DOCUMENT_CORPORA = {
    "BioRED": "BioRED",
    "NLM-Gene": "NLM-Gene",
    "GNormPlus": "GNormPlus",
    "NLM-Chem": "NLM-Chem",
    "DrugProt": "DrugProt",
    "S800-documents": "S800",
    "BioID-CellLine": "BioID-CellLine",
}
DOCUMENTS_GROUP = "documents"  # `--datasets documents`: every known document corpus
SPLIT_FILES = {"train": ("train",), "devel": ("dev", "devel"), "test": ("test",)}


def documents_root() -> Path:
    """The known document corpora: `$VANER_PUBTATOR`, else `../shared/data/pubtator` beside this checkout."""
    if "VANER_PUBTATOR" in os.environ:
        return Path(os.environ["VANER_PUBTATOR"])
    return Path(__file__).resolve().parents[2] / "shared" / "data" / "pubtator"


@dataclass
class DocumentCorpus:
    """A folder of PubTator splits and how its type names map to VANER's types."""

    name: str
    path: Path
    type_map: dict[str, str] = field(default_factory=lambda: dict(TYPE_NAMES))

    def split_file(self, split: str) -> Path | None:
        """The file of `split` (`train`, `devel` or `test`), whatever its case; None if the folder has none."""
        if split not in SPLIT_FILES:
            raise DocumentCorpusError(f"Unknown split {split!r}; use one of {', '.join(SPLIT_FILES)}.")
        wanted = {f"{stem}.pubtator" for stem in SPLIT_FILES[split]}
        found = sorted(p for p in self.path.iterdir() if p.is_file() and p.name.lower() in wanted)
        return found[0] if found else None

    def has_split(self, split: str) -> bool:
        return self.split_file(split) is not None

    def check_split(self, split: str) -> None:
        """A `DocumentCorpusError` naming the files looked for, unless `split` is there."""
        if not self.has_split(split):
            raise DocumentCorpusError(
                f"{self.path}: no {split} split (looked for {' or '.join(f'{s}.PubTator' for s in SPLIT_FILES[split])}"
                f", any case; corpus {self.name!r})"
            )

    def read(self, split: str) -> "DocumentSplit":
        """The documents of `split`, each mention typed by the map (`type` is VANER's; `corpus_type` as written)."""
        self.check_split(split)
        path = self.split_file(split)
        problems, not_scored = [], Counter()
        documents = list(read_documents(path, "pubtator", problems=problems))
        for document in documents:
            typed = []
            for entity in document.entities:
                mapped = self.type_map.get(entity["type"])
                if not mapped:  # not in the map, or mapped to no type
                    not_scored[entity["type"]] += 1
                else:
                    typed.append({**entity, "corpus_type": entity["type"], "type": mapped})
            document.entities = typed
        return DocumentSplit(self.name, split, path, documents, problems, not_scored)


@dataclass
class DocumentSplit:
    corpus: str
    split: str
    path: Path
    documents: list[Document]
    offset_problems: list[tuple[str, str]]  # (file:line, what), each mention skipped
    not_scored: Counter  # corpus type names without a VANER type: mentions

    def mention_counts(self) -> Counter:
        return Counter(entity["type"] for document in self.documents for entity in document.entities)


def is_document_corpus(spec: str) -> bool:
    """Whether a `--datasets` entry names a document corpus: a known one, or a folder of PubTator splits (with an
    optional `:Name=Type,...` map)."""
    folder = spec.split(":", 1)[0] if "=" in spec else spec
    if spec in KNOWN_DOCUMENT_CORPORA:
        return True
    path = Path(folder)
    return path.is_dir() and any(p.suffix.lower() == ".pubtator" for p in path.iterdir())


def document_corpus(spec: str, type_map: dict[str, str] | None = None) -> DocumentCorpus:
    """The document corpus a `--datasets` entry names: `BioRED` (known), `FOLDER`, or `FOLDER:Name=Type,...` (the
    user's map, over the default table). `type_map` (from a file) replaces the table for every corpus."""
    base = dict(type_map) if type_map is not None else dict(TYPE_NAMES)
    if spec in KNOWN_DOCUMENT_CORPORA:
        return DocumentCorpus(spec, documents_root() / KNOWN_DOCUMENT_CORPORA[spec], base)
    folder, _, mapping = spec.partition(":") if "=" in spec else (spec, "", "")
    if not Path(folder).is_dir():
        known = ", ".join(KNOWN_DOCUMENT_CORPORA)
        raise DocumentCorpusError(f"{spec}: not a known document corpus ({known}) nor a folder")
    return DocumentCorpus(os.path.normpath(spec), Path(folder), {**base, **parse_type_map(mapping, spec)})


def parse_type_map(text: str, where: str) -> dict[str, str]:
    """`Name=Type,Name=Type` (an empty Type: that name is not scored)."""
    mapping = {}
    for item in filter(None, (piece.strip() for piece in text.split(","))):
        name, equals, entity_type = item.partition("=")
        if not equals or not name.strip():
            raise DocumentCorpusError(f"{where}: expected Name=Type pairs separated by commas, got {item!r}")
        mapping[name.strip()] = entity_type.strip()
    return mapping


def read_type_map(path: str | Path) -> dict[str, str]:
    """A type map file: one `Name<TAB>Type` or `Name=Type` per line (`#` comments, blank lines skipped)."""

    mapping = {}
    for number, line in read_lines(path):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, _, entity_type = line.partition("\t") if "\t" in line else line.partition("=")
        if not name.strip() or not _:
            raise DocumentCorpusError(f"{path}:{number}: expected 'Name<TAB>Type' or 'Name=Type', got {line[:80]!r}")
        mapping[name.strip()] = entity_type.strip()
    return mapping


def scored_types(split: DocumentSplit, model_types: list[str]) -> tuple[list[str], dict[str, int]]:
    """The types to score (those the corpus annotates that the model knows, in the model's order) and the mentions
    left out, by the corpus's own type name (the map gives the name no type, or the model does not know its type)."""
    annotated = split.mention_counts()
    types = [t for t in model_types if t in annotated]
    left_out = Counter(split.not_scored)
    for document in split.documents:
        left_out.update(e["corpus_type"] for e in document.entities if e["type"] not in types)
    return types, dict(sorted(left_out.items()))


def sentence_tags(document: Document, types: list[str]) -> list[tuple[list[str], list[list[str]]]]:
    """The document's sentences as the tagger splits them: `(words, tags per type)`, BIO tags (`B`/`I`/`O`) of
    `types[k]` in `tags[k]`. A word that a mention covers in part is inside it (mention ends on a word's inside are
    where a document's offsets and our words disagree)."""
    words = split_words(document.text)
    starts = [start for start, _ in words]
    columns = {t: ["O"] * len(words) for t in types}
    for entity in document.entities:
        if entity["type"] not in columns:
            continue
        first = bisect.bisect_right(starts, entity["start"]) - 1
        first = max(first, 0)
        if words and words[first][1] <= entity["start"]:
            first += 1
        last = bisect.bisect_left(starts, entity["end"]) - 1
        if first > last or first >= len(words):
            continue
        column = columns[entity["type"]]
        if any(tag != "O" for tag in column[first : last + 1]):
            continue  # overlaps a mention of its type already placed: BIO holds one
        column[first] = "B"
        for i in range(first + 1, last + 1):
            column[i] = "I"
    return [
        ([document.text[s:e] for s, e in words[first:end]], [columns[t][first:end] for t in types])
        for first, end in split_sentences(document.text, words)
    ]
