"""Readers for the vocabularies and the gold-linked corpora: names with their concept ids, mentions with theirs.

Ids are written one way everywhere: `MESH:D012559`, `OMIM:181500`, `HGNC:1100`, `CHEBI:15365`, `NCBITaxon:9606`.
A malformed line raises `VocabularyError` naming the file and line.
"""

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import VanerError
from ..formats import InputError, read_documents, read_lines


class VocabularyError(VanerError, ValueError):
    """A malformed vocabulary or gold file, with the file and line."""


@dataclass
class Concept:
    """One concept: its ids (the first is the one a link reports), preferred name and other names."""

    ids: list[str]
    name: str
    synonyms: list[str] = field(default_factory=list)


def canonical_id(raw: str, default_prefix: str | None = None) -> str:
    """`D012559`, ` MESH:D012559`, `OMIM:181500`, `181500` (MEDIC's bare OMIM), `species:ncbi:9606` -> one spelling."""
    raw = raw.strip()
    if raw.startswith("species:ncbi:"):
        return "NCBITaxon:" + raw.split(":")[-1]
    if raw.upper().startswith("MESH:"):
        return "MESH:" + raw[5:]
    if re.fullmatch(r"[CD]\d+", raw):
        return "MESH:" + raw
    if raw.isdigit() and default_prefix:
        return f"{default_prefix}:{raw}"
    return raw


def _lines(path: Path) -> Iterator[tuple[int, str]]:
    """The package's one strict line reader (`formats.read_lines`), its errors as `VocabularyError`."""
    try:
        yield from read_lines(path)
    except InputError as error:
        raise VocabularyError(str(error)) from None


def read_medic(path: str | Path) -> Iterator[Concept]:
    """CTD MEDIC as BioSyn ships it: `ID[|altID...]||Preferred name|synonym|...` (bare numbers are OMIM)."""
    path = Path(path)
    for number, line in _lines(path):
        if not line.strip():
            continue
        ids, separator, names = line.partition("||")
        names = [name for name in names.split("|") if name.strip()]
        if not separator or not ids.strip() or not names:
            raise VocabularyError(f"{path}:{number}: expected 'ID[|altID]||name|synonym...', got {line[:80]!r}")
        yield Concept([canonical_id(i, "OMIM") for i in ids.split("|") if i.strip()], names[0], names[1:])


def read_mesh_terms(path: str | Path, trees: tuple[str, ...]) -> Iterator[Concept]:
    """MeSH descriptors whose tree numbers start with one of `trees` (`D` chemicals, `C` diseases), with every term:
    the derived `DescriptorUI, DescriptorName, TreeNumbers, TermName, ...` table."""
    path = Path(path)
    concepts: dict[str, Concept] = {}
    for number, line in _lines(path):
        if number == 1:
            if not line.startswith("DescriptorUI\tDescriptorName\tTreeNumbers\tTermName"):
                raise VocabularyError(
                    f"{path}:1: expected the header DescriptorUI, DescriptorName, TreeNumbers, "
                    f"TermName, got {line[:80]!r}"
                )
            continue
        fields = line.split("\t")
        if len(fields) < 4 or not fields[0].startswith("D"):
            raise VocabularyError(
                f"{path}:{number}: expected a descriptor row of 4+ tab-separated fields, got {line[:80]!r}"
            )
        uid, name, tree_numbers, term = fields[:4]
        if not any(tree.startswith(trees) for tree in tree_numbers.split(";")):
            continue
        concept = concepts.setdefault(uid, Concept([canonical_id(uid)], name))
        if term != name:
            concept.synonyms.append(term)
    yield from concepts.values()


def read_kb_tsv(path: str | Path) -> Iterator[Concept]:
    """`name<TAB>type<TAB>source_id` tables of `../shared/data/kb/` (HGNC, ChEBI, NCBI Taxonomy), grouped by id."""
    path = Path(path)
    concepts: dict[str, Concept] = {}
    for number, line in _lines(path):
        if number == 1 and line.startswith("name\t"):
            continue
        fields = line.split("\t")
        if len(fields) != 3 or not fields[0] or ":" not in fields[2]:
            raise VocabularyError(f"{path}:{number}: expected 'name<TAB>type<TAB>PREFIX:id', got {line[:80]!r}")
        concept_id = canonical_id(fields[2])
        if concept_id in concepts:
            concepts[concept_id].synonyms.append(fields[0])
        else:
            concepts[concept_id] = Concept([concept_id], fields[0])
    yield from concepts.values()


@dataclass
class GoldMention:
    """A mention with its gold ids (a composite mention: one id per part, all needed)."""

    document: str
    start: int
    end: int
    text: str
    entity_type: str
    ids: list[str]


def read_pubtator_gold(path: str | Path) -> Iterator[tuple[str, str, list[GoldMention]]]:
    """`(document id, text, mentions)` of a PubTator file with ids in the sixth column (BC5CDR, NCBI-disease).
    Mentions without an id (`-1`) are skipped; NCBI-disease's classes (SpecificDisease, Modifier, ...) read as
    Disease; composite ids `A|B` or `A+B` are split."""
    for document in read_documents(path, "pubtator"):
        mentions = []
        for entity in document.entities:
            raw = entity.get("id", "-1")
            if raw.strip() in ("-1", ""):
                continue
            kind = entity["type"] if entity["type"] in ("Chemical", "Disease") else "Disease"
            ids = [canonical_id(part) for part in re.split(r"[|+]", raw) if part.strip()]
            mentions.append(GoldMention(document.id, entity["start"], entity["end"], entity["text"], kind, ids))
        yield document.id, document.text, mentions


def read_species_gold(corpus_dir: str | Path, split: str) -> Iterator[tuple[str, str, list[GoldMention]]]:
    """LINNAEUS (`filtered_tags.tsv`, `txt/`) or S800 (`S800.tsv`, inclusive ends, `abstracts/`) documents of one
    split (`split/{train,devel,test}.txt`), with their species mentions."""
    corpus_dir = Path(corpus_dir)
    wanted = {line.strip() for _, line in _lines(corpus_dir / "split" / f"{split}.txt") if line.strip()}
    by_document: dict[str, list[tuple[int, int, str]]] = {}
    if (corpus_dir / "S800.tsv").is_file():  # S800: files are speciesNNN, splits name PMIDs
        pmid_of = {}
        for _, line in _lines(corpus_dir / "pubmedid.tsv"):
            fields = line.split("\t")
            if len(fields) >= 2:
                pmid_of[fields[0]] = fields[1].removeprefix("PMID:")
        for number, line in _lines(corpus_dir / "S800.tsv"):
            fields = line.split("\t")
            if len(fields) < 5:
                raise VocabularyError(f"{corpus_dir / 'S800.tsv'}:{number}: expected 5 fields, got {line[:80]!r}")
            name = fields[1].split(":")[0]
            by_document.setdefault(name, []).append((int(fields[2]), int(fields[3]) + 1, fields[0]))
        documents = {
            name: corpus_dir / "abstracts" / f"{name}.txt" for name in by_document if pmid_of.get(name) in wanted
        }
    else:  # LINNAEUS
        for number, line in _lines(corpus_dir / "filtered_tags.tsv"):
            if line.startswith("#") or not line.strip():
                continue
            fields = line.split("\t")
            if len(fields) < 5:
                raise VocabularyError(f"{corpus_dir / 'filtered_tags.tsv'}:{number}: expected 5+ fields")
            by_document.setdefault(fields[1], []).append((int(fields[2]), int(fields[3]), fields[0]))
        documents = {name: corpus_dir / "txt" / f"{name}.txt" for name in by_document if name in wanted}
    for name, path in sorted(documents.items()):
        text = path.read_text(encoding="utf-8")
        mentions = [
            GoldMention(name, start, end, text[start:end], "Species", [canonical_id(raw, "NCBITaxon")])
            for start, end, raw in by_document[name]
        ]
        yield name, text, mentions


def read_gold(corpus: str, split: str, root: Path) -> Iterator[tuple[str, str, list[GoldMention]]]:
    """The gold-linked documents of `corpus` (`NCBI-disease`, `BC5CDR`, `linnaeus`, `s800`) and split."""
    files = {
        "NCBI-disease": (
            "ncbi_disease",
            {
                "train": "NCBItrainset_corpus.txt",
                "devel": "NCBIdevelopset_corpus.txt",
                "test": "NCBItestset_corpus.txt",
            },
        ),
        "BC5CDR": (
            "bc5cdr",
            {
                "train": "CDR_TrainingSet.PubTator.txt",
                "devel": "CDR_DevelopmentSet.PubTator.txt",
                "test": "CDR_TestSet.PubTator.txt",
            },
        ),
    }
    try:
        if corpus in files:
            folder, names = files[corpus]
            yield from read_pubtator_gold(root / folder / names[split])
        elif corpus in ("linnaeus", "s800"):
            yield from read_species_gold(root / corpus, split)
        else:
            raise VocabularyError(f"No gold-linked corpus {corpus!r}; known: NCBI-disease, BC5CDR, linnaeus, s800.")
    except InputError as error:
        raise VocabularyError(str(error)) from None
