"""BioNER corpora: a registry of the known ones and a strict CoNLL IOB2 reader into `datasets.Dataset`.

Shared by training and the evaluation harness. Each corpus is annotated for one VANER entity type; its tags are
reduced to type-free `B`/`I`/`O` (the instruction carries the type). Malformed files raise `CorpusError` naming the
file and line.

A user's corpus is a folder: CoNLL IOB2 (`{train,devel,test}.tsv`) or a `datasets` corpus written by
`DatasetDict.save_to_disk` (`tokens`, and `ner_tags` as a `ClassLabel` of typed IOB2 names; splits train,
validation or devel, test). `FOLDER:TYPE` is one corpus of TYPE; `FOLDER` alone is one corpus per type its tags name.
"""

import os
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from .documents import KNOWN_DOCUMENT_CORPORA, document_corpus, is_document_corpus, sentence_tags
from .errors import VanerError
from .formats import InputError, read_conll_sentences
from .processing_vaner import CORE_CORPORA, LABEL_IDS, VANER_LABELS

SPLITS = ("train", "devel", "test")
# What a `datasets` corpus may call each split (its first match is read).
SPLIT_NAMES = {"train": ("train",), "devel": ("devel", "validation", "dev"), "test": ("test",)}


class CorpusError(VanerError, ValueError):
    """A malformed corpus file or an unknown corpus, with the file and line where it was found."""


@dataclass(frozen=True)
class Corpus:
    name: str
    path: Path
    entity_type: str
    # Tag labels (the `X` of `B-X`) kept as mentions; None keeps every label. Others become `O`.
    labels: tuple[str, ...] | None = None
    # "conll"; "datasets": a folder written by `save_to_disk`; "pubtator": one type of a document corpus
    file_format: str = "conll"
    dataset: str | None = None  # the name its instruction gives it (a document corpus's one-type views: the corpus's)

    @property
    def guidelines(self) -> str:
        """The dataset name an instruction with this corpus's guidelines names."""
        return self.dataset or self.name

    def split_path(self, split: str) -> Path:
        """The file a split is read from (a `datasets` corpus: its folder, whatever the split)."""
        if split not in SPLITS:
            raise CorpusError(f"Unknown split {split!r}; use one of {', '.join(SPLITS)}.")
        if self.file_format == "pubtator":
            return self.documents().split_file(split) or self.path / f"{split}.PubTator"
        return self.path if self.file_format == "datasets" else self.path / f"{split}.tsv"

    def has_split(self, split: str) -> bool:
        if self.file_format == "datasets":
            return arrow_split_name(self.path, split) is not None
        return self.split_path(split).is_file()

    def check_split(self, split: str) -> None:
        """A `CorpusError` naming where `split` was looked for, unless it is there."""
        if not self.has_split(split):
            raise CorpusError(
                f"{self.split_path(split)}: no such file (corpus {self.name!r}, split {split!r})"
                if self.file_format == "conll"
                else f"{self.path}: no {split} split (corpus {self.name!r})"
            )

    def documents(self):
        """The document corpus a `pubtator` corpus is one type of."""
        return document_corpus(self.name.rpartition(":")[0])


def data_root() -> Path:
    """The BioNER corpora: `$VANER_DATA` (a folder holding one folder per corpus), else `../shared/data/bioner`
    beside this checkout."""
    if "VANER_DATA" in os.environ:
        return Path(os.environ["VANER_DATA"])
    return Path(__file__).resolve().parents[2] / "shared" / "data" / "bioner"


# The paper's eight corpora (train and evaluate) with their VANER types, as the model's config knows them; and
# CRAFT's single-type views (evaluate only: the paper's test of adaptation to a corpus never trained on).
UNSEEN_CORPORA = {"CRAFT-chem": "Chemical", "CRAFT-ggp": "Gene", "CRAFT-species": "Species"}
# The paper's table: the eight, then CRAFT's views (the leaderboard's columns, the corpora the Hub dataset carries).
PAPER_CORPORA = [*CORE_CORPORA, *UNSEEN_CORPORA]
# Corpora of a type no model here knows (evaluate a model trained on them; others list them as not scored).
OTHER_TYPE_CORPORA = {"AnatEM": "Anatomy"}
# Every CoNLL corpus known by name under `data_root()`, with its entity type.
KNOWN_CORPORA = {**CORE_CORPORA, **UNSEEN_CORPORA, **OTHER_TYPE_CORPORA}

_registry: dict[str, Corpus] = {}


def register_corpus(
    name: str,
    path: str | os.PathLike,
    entity_type: str,
    labels: tuple[str, ...] | None = None,
    file_format: str = "conll",
) -> Corpus:
    """Make a folder of `{train,devel,test}.tsv` in CoNLL IOB2 known under `name`, annotated for `entity_type`.
    A known corpus's name stays its own: it cannot be given to another folder."""
    if name in KNOWN_CORPORA and Path(path).resolve() != (data_root() / name).resolve():
        raise CorpusError(f"{name} is a known corpus ({data_root() / name}); register {path} under another name.")
    corpus = Corpus(name=name, path=Path(path), entity_type=entity_type, labels=labels, file_format=file_format)
    _registry[name] = corpus
    return corpus


def corpus_names(spec: str) -> list[str]:
    """The corpora a `--datasets` entry names: a known name; `FOLDER:TYPE`; or `FOLDER`, one corpus per entity type
    its tags name (`FOLDER:Chemical`, `FOLDER:Disease`, ...), each keeping only its type's mentions."""
    if spec in KNOWN_CORPORA or is_registered_whole(spec) or not Path(spec).is_dir():
        return [corpus_from_spec(spec)]
    counts = typed_mentions(Path(spec))
    if not counts:
        raise CorpusError(f"{spec}: its tags name no entity type (no B-<type> tag in any split)")
    folder, names = os.path.normpath(spec), []
    for entity_type in sorted(counts):
        name = known_corpus(Path(spec).resolve(), entity_type) if len(counts) == 1 else None
        if name is None:
            name = f"{folder}:{entity_type}"
            register_corpus(
                name,
                Path(spec).resolve(),
                entity_type,
                labels=(entity_type,),
                file_format=corpus_file_format(Path(spec)),
            )
        names.append(name)
    return names


def known_corpus(folder: Path, entity_type: str) -> str | None:
    """The known corpus that is `folder` annotated for `entity_type`, if one is."""
    return next(
        (
            name
            for name, known_type in KNOWN_CORPORA.items()
            if known_type == entity_type and (data_root() / name).resolve() == folder.resolve()
        ),
        None,
    )


def corpus_from_spec(spec: str) -> str:
    """The corpus name for a `--datasets` or `corpora` entry: a known name as it is, or `FOLDER:TYPE`, a user's
    folder annotated for TYPE (CoNLL IOB2 or a `datasets` corpus; module docstring).

    A corpus is its folder, not its name: a user's folder is registered under the spec itself (`my/data:Disease`),
    never under a known corpus's name, so two folders of one name stay apart; a spec naming a known corpus's own
    folder and type is that corpus. A folder whose tags name other types than TYPE is refused with their counts:
    read as TYPE, every mention would count as TYPE (the one-type views `corpus_names` makes of such a folder are
    reached by their registered names, not through here)."""
    if spec in KNOWN_CORPORA or ":" not in spec or is_registered_whole(spec):
        return spec
    folder, _, entity_type = spec.rpartition(":")
    if not Path(folder).is_dir():
        raise CorpusError(
            f"{spec}: {folder} is not a folder (expected FOLDER:TYPE, the folder holding "
            "train.tsv, devel.tsv and/or test.tsv, or a datasets corpus)"
        )
    if not entity_type:
        raise CorpusError(f"{spec}: name the entity type after the colon, e.g. {folder}:Disease")
    resolved = Path(folder).resolve()
    if known_corpus(resolved, entity_type):
        return known_corpus(resolved, entity_type)
    name = f"{os.path.normpath(folder)}:{entity_type}"
    for corpus in _registry.values():
        if corpus.path.resolve() == resolved and corpus.entity_type == entity_type and corpus.labels is None:
            return corpus.name
    counts = typed_mentions(resolved)
    if set(counts) - {entity_type}:
        found = ", ".join(f"{kind} ({count} mentions)" for kind, count in sorted(counts.items()))
        raise CorpusError(
            f"{spec}: the tags of {folder} name {found}; read as {entity_type}, every one "
            f"would count as {entity_type}. Give {folder} alone for one row per type."
        )
    register_corpus(name, resolved, entity_type, file_format=corpus_file_format(resolved))
    return name


def is_registered_whole(name: str) -> bool:
    """Whether `name` is registered as a whole folder (not a one-type view of a folder of several types)."""
    return name in _registry and _registry[name].labels is None


def corpus_file_format(folder: Path) -> str:
    """`datasets` for a folder written by `save_to_disk`, else `conll`."""
    return (
        "datasets" if (folder / "dataset_dict.json").is_file() or (folder / "dataset_info.json").is_file() else "conll"
    )


def typed_mentions(folder: Path) -> Counter:
    """How many mentions of each entity type (`B-<type>` tags) a user's folder holds, over all its splits."""
    counts = Counter()
    for split in SPLITS:
        for _, tags in typed_sentences(folder, split):
            counts.update(tag[2:] for tag in tags if tag.startswith("B-"))
    return counts


def typed_sentences(folder: Path, split: str):
    """`(words, typed IOB2 tags)` of one split of a user's folder, as its file says (nothing if it has no such
    split); CoNLL lines must be `word<TAB>tag` (`read_conll`'s checks come when the corpus is read)."""
    if corpus_file_format(folder) == "datasets":
        yield from arrow_sentences(folder, split)
        return
    path = folder / f"{split}.tsv"
    if not path.is_file():
        return
    try:
        for lines in read_conll_sentences(path):
            yield [columns[0] for _, columns in lines], [columns[-1] for _, columns in lines]
    except InputError as error:
        raise CorpusError(str(error)) from None


def arrow_split_name(folder: Path, split: str) -> str | None:
    """The name a `datasets` corpus gives `split` (`devel` may be `validation`), or None."""
    import datasets

    loaded = load_arrow(folder)
    if isinstance(loaded, datasets.Dataset):
        return split if split == "test" else None  # a lone Dataset is scored as a test split
    return next((name for name in SPLIT_NAMES[split] if name in loaded), None)


@lru_cache(maxsize=8)
def load_arrow(folder: Path):
    import datasets

    try:
        return datasets.load_from_disk(str(folder))
    except (OSError, ValueError) as error:
        raise CorpusError(f"{folder}: not a datasets corpus written by save_to_disk ({error})") from None


def arrow_sentences(folder: Path, split: str):
    """`(tokens, typed IOB2 tag names)` of a `datasets` corpus split: `tokens` and `ner_tags` (a `ClassLabel`)."""
    import datasets

    name = arrow_split_name(folder, split)
    if name is None:
        return
    loaded = load_arrow(folder)
    data = loaded if isinstance(loaded, datasets.Dataset) else loaded[name]
    missing = [column for column in ("tokens", "ner_tags") if column not in data.column_names]
    if missing:
        raise CorpusError(
            f"{folder} [{name}]: no {' or '.join(missing)} column (it has {', '.join(data.column_names)})"
        )
    label = getattr(data.features["ner_tags"], "feature", None)  # a list of labels, one per token
    if not isinstance(label, datasets.ClassLabel):
        raise CorpusError(
            f"{folder} [{name}]: ner_tags must be a list of ClassLabel ids of IOB2 names (B-Chemical, ...), one per "
            f"token, found {data.features['ner_tags']}"
        )
    for number, (tokens, tags) in enumerate(zip(data["tokens"], data["ner_tags"]), start=1):
        if any(not token or token.isspace() or "\t" in token or "\n" in token for token in tokens):
            raise CorpusError(
                f"{folder} [{name}] sentence {number}: a token is empty or holds white space ({tokens[:8]!r}...); "
                "a token is a word"
            )
        yield tokens, [label.names[tag] for tag in tags]


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
    if name not in _registry and name in KNOWN_CORPORA:
        register_corpus(name, data_root() / name, KNOWN_CORPORA[name])
    if name not in _registry and ":" in name and is_document_corpus(name.rpartition(":")[0]):
        register_document_view(name)
    if name not in _registry and ":" in name:
        return get_corpus(corpus_from_spec(name))
    if name not in _registry:
        known = ", ".join([*KNOWN_CORPORA, *(n for n in _registry if n not in KNOWN_CORPORA)])
        raise CorpusError(f"{name}: unknown corpus; known: {known}, or FOLDER:TYPE for a folder of CoNLL files.")
    return _registry[name]


def document_views(spec: str) -> list[str]:
    """A document corpus (`BioRED`, or a folder of PubTator splits) as one-type corpora over the same sentences,
    one per VANER type it annotates (`BioRED:Gene`, `BioRED:Disease`, ...): what training mixes. A corpus name or a
    `FOLDER:TYPE` that is not a document corpus is itself."""
    if not is_document_corpus(spec):
        return [spec]
    corpus = document_corpus(spec)
    types = Counter()
    for split in SPLITS:
        if corpus.has_split(split):
            types.update(corpus.read(split).mention_counts())
    if not types:
        raise CorpusError(f"{spec}: its PubTator files hold no mention of a type VANER knows")
    return [register_document_view(f"{spec}:{entity_type}").name for entity_type in sorted(types)]


def register_document_view(name: str) -> Corpus:
    """`DOCUMENT_CORPUS:TYPE`, the mentions of one type of a document corpus, as a corpus."""
    spec, _, entity_type = name.rpartition(":")
    corpus = document_corpus(spec)
    if name in _registry:
        return _registry[name]
    dataset = spec if spec in KNOWN_DOCUMENT_CORPORA else Path(spec).name
    view = Corpus(name=name, path=corpus.path, entity_type=entity_type, file_format="pubtator", dataset=dataset)
    _registry[name] = view
    return view


@lru_cache(maxsize=16)
def document_sentences(spec: str, split: str, entity_type: str, mtime: int) -> list[tuple[list[str], list[str]]]:
    """The sentences of a document corpus's split with one type's BIO tags, split as the tagger splits documents."""
    documents = document_corpus(spec).read(split).documents
    return [(words, tags[0]) for document in documents for words, tags in sentence_tags(document, [entity_type])]


def read_conll(path: str | os.PathLike, labels: tuple[str, ...] | None = None) -> list[tuple[list[str], list[str]]]:
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
            for number, columns in lines:
                if len(columns) != 2:
                    found = (
                        f"no tab in {columns[0][:60]!r}"
                        if len(columns) < 2
                        else f"{len(columns)} columns ({chr(9).join(columns)[:60]!r}); keep only the word and the tag"
                    )
                    raise CorpusError(f"{path}:{number}: expected 'word<TAB>tag', found {found}")
            where = [f"{path}:{number}" for number, _ in lines]
            sentences.append(
                ([columns[0] for _, columns in lines], plain_tags([columns[1] for _, columns in lines], labels, where))
            )
    except InputError as error:  # bytes that are not UTF-8, named with file and line
        raise CorpusError(str(error)) from None
    if not sentences:
        raise CorpusError(f"{path}: no sentences (empty split)")
    return sentences


def plain_tags(tags: list[str], labels: tuple[str, ...] | None, where: list[str]) -> list[str]:
    """Typed IOB2 tags checked (`where[i]` names tag i's place) and reduced to `B`/`I`/`O`, keeping the mentions
    of `labels` only (None: all)."""
    plain, previous = [], "O"
    for tag, place in zip(tags, where):
        if tag != "O" and not (len(tag) > 2 and tag[:2] in ("B-", "I-")):
            raise CorpusError(f"{place}: unknown tag {tag!r}; expected O, B-<type> or I-<type>")
        if tag.startswith("I-") and previous[2:] != tag[2:]:
            raise CorpusError(f"{place}: {tag} follows {previous}; a mention must open with B-")
        previous = tag
        plain.append("O" if tag != "O" and labels is not None and tag[2:] not in labels else tag[0])
    return plain


def read_split(corpus: Corpus, split: str) -> list[tuple[list[str], list[str]]]:
    """A corpus split's `(words, B/I/O tags)`: its CoNLL file, or its `datasets` split."""
    if corpus.file_format == "conll":
        return read_conll(corpus.split_path(split), corpus.labels)
    if corpus.file_format == "pubtator":
        mtime = corpus.split_path(split).stat().st_mtime_ns
        return document_sentences(corpus.name.rpartition(":")[0], split, corpus.entity_type, mtime)
    sentences = [
        (list(words), plain_tags(tags, corpus.labels, [f"{corpus.path} [{split}] sentence {number}"] * len(tags)))
        for number, (words, tags) in enumerate(arrow_sentences(corpus.path, split), start=1)
    ]
    if not sentences:
        raise CorpusError(f"{corpus.path}: no {split} sentences")
    return sentences


@lru_cache(maxsize=64)
def _load_cached(name: str, split: str, path: Path, mtime: int):
    import datasets

    corpus = get_corpus(name)
    sentences = read_split(corpus, split)
    features = datasets.Features(
        {
            "tokens": datasets.Sequence(datasets.Value("string")),
            "ner_tags": datasets.Sequence(datasets.ClassLabel(names=list(VANER_LABELS))),
            "dataset": datasets.Value("string"),
            "entity_type": datasets.Value("string"),
        }
    )
    index = LABEL_IDS
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
    corpus = get_corpus(name)
    corpus.check_split(split)
    path = corpus.split_path(split)
    return _load_cached(name, split, path, path.stat().st_mtime_ns)


def count_mentions(ner_tags: list[list[int]]) -> int:
    """Mentions in type-free IOB2 tag ids: one per `B`."""
    begin = VANER_LABELS.index("B")
    return sum(tag == begin for tags in ner_tags for tag in tags)
