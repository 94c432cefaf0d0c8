"""A corpus as shards: the input files (a file, a folder or a glob), cut into runs of consecutive documents, each
tagged into one output file of its own. A shard is the unit of work, of parallelism and of resuming."""

import glob
import hashlib
import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from ..formats import Document, check_writable, place, read_documents, sniff_format

# The output file's ending per `--format`.
OUTPUT_SUFFIXES = {
    "json": ".jsonl",
    "pubtator": ".pubtator",
    "conll": ".conll",
    "bioc-xml": ".bioc.xml",
    "bioc-json": ".bioc.json",
}


@dataclass(frozen=True)
class Shard:
    """Documents `[first, first + documents)` of one input file, which start at line `first_line` (BioC: document
    number `first_line`); tagged into
    `output`, a path relative to the output folder. `input_digest` (size and SHA-256 of the file's bytes) ties the
    shard to the content it was planned on, so a resumed run notices a file edited in place."""

    input: str
    input_format: str
    index: int
    first_line: int
    documents: int
    output: str
    input_digest: str = ""

    def read(self) -> Iterator[Document]:
        """The shard's documents, streamed from its first line."""
        return itertools.islice(read_documents(self.input, self.input_format, self.first_line), self.documents)


def expand_inputs(spec: str, exclude: Path | None = None) -> list[Path]:
    """The files `--input` names: a file; a folder (every file under it, hidden ones left out); or a glob
    (`'pubtator/*.gz'`, `**` for subfolders). Sorted, so every run sees the same order. A file reached again through
    a loop of folder links is listed once; files under `exclude` (the output folder) are left out."""
    path = Path(spec)
    if path.is_file():
        return [path]
    if path.is_dir():
        files = [
            file
            for file in path.rglob("*")
            if file.is_file() and not any(part.startswith(".") for part in file.relative_to(path).parts)
        ]
    elif glob.has_magic(spec):
        files = [Path(name) for name in glob.glob(spec, recursive=True) if Path(name).is_file()]
    else:
        raise UsageError(f"{spec}: no such file or folder").about("inputs")
    if exclude is not None:
        inside = os.path.realpath(exclude) + os.sep
        files = [file for file in files if not os.path.realpath(file).startswith(inside)]
    seen, unique = set(), []
    for file in sorted(files, key=lambda file: (len(file.parts), file)):  # the shortest way to a file first
        place = (os.path.realpath(file.parent), file.name)  # a link loop repeats the folder, not the name
        if place not in seen:
            seen.add(place)
            unique.append(file)
    if not unique:
        raise UsageError(f"{spec}: no files there").about("inputs")
    return sorted(unique)


# Input endings left out of output names when that keeps them unique (`part1.txt.gz` -> `part1.00000.jsonl`).
INPUT_SUFFIXES = (".gz", ".txt", ".pubtator", ".jsonl", ".ndjson", ".json", ".xml", ".bioc")


def output_stems(files: list[Path]) -> dict[Path, Path]:
    """Each input file's output name without shard number and ending, relative to the inputs' common folder, unique
    per file: the name without its input endings, or where two files of one folder would share that (`x.txt` beside
    `x.txt.gz`), every file of that folder by its whole name. Symbolic links are named as given, not as resolved."""
    absolute = [Path(os.path.abspath(file)) for file in files]
    base = Path(os.path.commonpath([file.parent for file in absolute]))
    stems = {}
    for folder in {file.parent for file in absolute}:
        here = [file for file in absolute if file.parent == folder]
        short = {file: strip_suffixes(file.name) for file in here}
        whole = len(set(short.values())) < len(here) or not all(short.values())
        for file in here:
            stems[file] = folder.relative_to(base) / (file.name if whole else short[file])
    return {file: stems[Path(os.path.abspath(file))] for file in files}


def strip_suffixes(name: str) -> str:
    for suffix in INPUT_SUFFIXES:
        name = name.removesuffix(suffix) if name.lower().endswith(suffix) else name
    return name


def file_digest(path: Path) -> str:
    """`size:sha256` of a file's bytes."""
    with open(path, "rb") as handle:
        digest = hashlib.file_digest(handle, "sha256")
    return f"{path.stat().st_size}:{digest.hexdigest()}"


def plan_shards(files: list[Path], input_format: str, shard_size: int, output_format: str) -> list[Shard]:
    """Every file read through once (so a bad line, or a document `output_format` cannot hold, is named before any
    model loads) and cut into shards of `shard_size` documents. Outputs mirror the inputs' paths below their common
    folder: `abstracts/part1.txt.gz` -> `abstracts/part1.00000.jsonl`, `.00001.jsonl`, ..."""
    shards = []
    for file, stem in output_stems(files).items():
        file_format = sniff_format(file) if input_format == "auto" else input_format
        starts, count = [], 0  # the first line of every shard_size-th document: memory grows by shards only
        for count, document in enumerate(read_documents(file, file_format), start=1):
            check_writable(document, output_format, place(file, document))
            if (count - 1) % shard_size == 0:
                starts.append(document.line)
        digest = file_digest(file)
        for index, first_line in enumerate(starts):
            output = stem.parent / f"{stem.name}.{index:05d}{OUTPUT_SUFFIXES[output_format]}"
            documents = min(shard_size, count - index * shard_size)
            shards.append(Shard(os.path.abspath(file), file_format, index, first_line, documents, str(output), digest))
    return shards
