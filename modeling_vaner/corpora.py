"""BioNER corpora: a registry of the known ones and a strict CoNLL IOB2 reader into `datasets.Dataset`.

Shared by training and the evaluation harness. Each corpus is annotated for one VANER entity type; its tags are
reduced to type-free `B`/`I`/`O` (the instruction carries the type). Malformed files raise `CorpusError` naming the
file and line.
"""

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .configuration_vaner import DEFAULT_DATASETS, VANER_LABELS
from .errors import VanerError
from .formats import InputError, read_conll_sentences

TAGS = VANER_LABELS  # type-free IOB2, in the model's label order (one definition: the config's)
SPLITS = ("train", "devel", "test")


class CorpusError(VanerError, ValueError):
    """A malformed corpus file or an unknown corpus, with the file and line where it was found."""


@dataclass(frozen=True)
class Corpus:
    name: str
    path: Path
    entity_type: str
    # Tag labels (the `X` of `B-X`) kept as mentions; None keeps every label. Others become `O`.
    labels: tuple[str, ...] | None = None

    def split_path(self, split: str) -> Path:
        if split not in SPLITS:
            raise CorpusError(f"Unknown split {split!r}; use one of {', '.join(SPLITS)}.")
        return self.path / f"{split}.tsv"


def data_root() -> Path:
    """The BioNER corpora: `$VANER_DATA` (a folder holding one folder per corpus), else `../shared/data/bioner`
    beside this checkout."""
    if "VANER_DATA" in os.environ:
        return Path(os.environ["VANER_DATA"])
    return Path(__file__).resolve().parents[2] / "shared" / "data" / "bioner"


# The paper's eight corpora (train and evaluate) with their VANER types, as the model's config knows them; and
# CRAFT's single-type views (evaluate only: the paper's test of adaptation to a corpus never trained on).
CORE_CORPORA = DEFAULT_DATASETS
UNSEEN_CORPORA = {"CRAFT-chem": "Chemical", "CRAFT-ggp": "Gene", "CRAFT-species": "Species"}

_registry: dict[str, Corpus] = {}


def register_corpus(name: str, path: str | os.PathLike, entity_type: str, labels: tuple[str, ...] | None = None
                    ) -> Corpus:
    """Make a folder of `{train,devel,test}.tsv` in CoNLL IOB2 known under `name`, annotated for `entity_type`.
    A known corpus's name stays its own: it cannot be given to another folder."""
    known = {**CORE_CORPORA, **UNSEEN_CORPORA}
    if name in known and Path(path).resolve() != (data_root() / name).resolve():
        raise CorpusError(f"{name} is a known corpus ({data_root() / name}); register {path} under another name.")
    corpus = Corpus(name=name, path=Path(path), entity_type=entity_type, labels=labels)
    _registry[name] = corpus
    return corpus


def corpus_from_spec(spec: str) -> str:
    """The corpus name for a `--datasets` or `corpora` entry: a known name as it is, or `FOLDER:TYPE`, a user's
    folder of `{train,devel,test}.tsv` in CoNLL IOB2 annotated for TYPE.

    A corpus is its folder, not its name: a user's folder is registered under the spec itself (`my/data:Disease`),
    never under a known corpus's name, so two folders of one name stay apart; a spec naming a known corpus's own
    folder and type is that corpus."""
    if spec in _registry or spec in CORE_CORPORA or spec in UNSEEN_CORPORA or ":" not in spec:
        return spec
    folder, _, entity_type = spec.rpartition(":")
    if not Path(folder).is_dir():
        raise CorpusError(f"--datasets {spec}: {folder} is not a folder (expected FOLDER:TYPE, the folder holding "
                          "train.tsv, devel.tsv and/or test.tsv)")
    if not entity_type:
        raise CorpusError(f"--datasets {spec}: name the entity type after the colon, e.g. {folder}:Disease")
    resolved = Path(folder).resolve()
    for name, known_type in {**CORE_CORPORA, **UNSEEN_CORPORA}.items():
        if (data_root() / name).resolve() == resolved and known_type == entity_type:
            return name
    name = f"{os.path.normpath(folder)}:{entity_type}"
    for corpus in _registry.values():
        if corpus.path.resolve() == resolved and corpus.entity_type == entity_type and corpus.labels is None:
            return corpus.name
    register_corpus(name, resolved, entity_type)
    return name


def file_stem(name: str) -> str:
    """A file name for a corpus's outputs (prediction files): a known name as it is; a user's spec made safe, with
    a digest of the spec so that two specs never share a file."""
    import hashlib
    import re

    if re.fullmatch(r"[A-Za-z0-9._-]+", name):
        return name
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_")[-60:]
    return f"{safe}-{hashlib.sha1(name.encode()).hexdigest()[:8]}"


def get_corpus(name: str) -> Corpus:
    """The registered corpus `name` (a known corpus, a registered one, or a `FOLDER:TYPE` spec)."""
    if name not in _registry and name in {**CORE_CORPORA, **UNSEEN_CORPORA}:
        register_corpus(name, data_root() / name, {**CORE_CORPORA, **UNSEEN_CORPORA}[name])
    if name not in _registry and ":" in name:
        return get_corpus(corpus_from_spec(name))
    if name not in _registry:
        known = ", ".join([*CORE_CORPORA, *UNSEEN_CORPORA, *(n for n in _registry if n not in CORE_CORPORA)])
        raise CorpusError(f"Unknown corpus {name!r}; known: {known}, or FOLDER:TYPE for a folder of CoNLL files.")
    return _registry[name]


def read_conll(path: str | os.PathLike, labels: tuple[str, ...] | None = None
               ) -> list[tuple[list[str], list[str]]]:
    """Sentences of a CoNLL IOB2 file as `(words, tags)` with type-free tags `B`/`I`/`O`.

    Raises:
        CorpusError: missing file, a line without `word<TAB>tag`, a tag that is not `O`/`B-X`/`I-X`, an `I-X` that
            does not continue a mention of type X, or a file without sentences.
    """
    path = Path(path)
    if not path.is_file():
        raise CorpusError(f"{path}: no such file")
    sentences = []
    try:
        for lines in read_conll_sentences(path):
            words, tags, previous = [], [], "O"
            for number, columns in lines:
                if len(columns) != 2:
                    found = f"no tab in {columns[0][:60]!r}" if len(columns) < 2 else \
                        f"{len(columns)} columns ({chr(9).join(columns)[:60]!r}); keep only the word and the tag"
                    raise CorpusError(f"{path}:{number}: expected 'word<TAB>tag', found {found}")
                word, tag = columns
                if tag != "O" and not (len(tag) > 2 and tag[:2] in ("B-", "I-")):
                    raise CorpusError(f"{path}:{number}: unknown tag {tag!r}; expected O, B-<type> or I-<type>")
                if tag.startswith("I-") and previous[2:] != tag[2:]:
                    raise CorpusError(f"{path}:{number}: {tag} follows {previous}; a mention must open with B-")
                previous = tag
                if tag != "O" and labels is not None and tag[2:] not in labels:
                    tag = "O"
                words.append(word)
                tags.append(tag[0])
            sentences.append((words, tags))
    except InputError as error:  # bytes that are not UTF-8, named with file and line
        raise CorpusError(str(error)) from None
    if not sentences:
        raise CorpusError(f"{path}: no sentences (empty split)")
    return sentences


@lru_cache(maxsize=64)
def _load_cached(name: str, split: str, path: Path, mtime: int):
    import datasets

    corpus = get_corpus(name)
    sentences = read_conll(corpus.split_path(split), corpus.labels)
    features = datasets.Features(
        {
            "tokens": datasets.Sequence(datasets.Value("string")),
            "ner_tags": datasets.Sequence(datasets.ClassLabel(names=list(TAGS))),
            "dataset": datasets.Value("string"),
            "entity_type": datasets.Value("string"),
        }
    )
    index = {tag: i for i, tag in enumerate(TAGS)}
    return datasets.Dataset.from_dict(
        {
            "tokens": [words for words, _ in sentences],
            "ner_tags": [[index[t] for t in tags] for _, tags in sentences],
            "dataset": [name] * len(sentences),
            "entity_type": [corpus.entity_type] * len(sentences),
        },
        features=features,
    )


def load_corpus(name: str, split: str):
    """One split of a registered corpus as a `datasets.Dataset` with `tokens`, `ner_tags` (ClassLabel O/B/I),
    `dataset` and `entity_type`."""
    path = get_corpus(name).split_path(split)
    if not path.is_file():
        raise CorpusError(f"{path}: no such file (corpus {name!r}, split {split!r})")
    return _load_cached(name, split, path, path.stat().st_mtime_ns)


def count_mentions(ner_tags: list[list[int]]) -> int:
    """Mentions in type-free IOB2 tag ids: one per `B`."""
    begin = TAGS.index("B")
    return sum(tag == begin for tags in ner_tags for tag in tags)
