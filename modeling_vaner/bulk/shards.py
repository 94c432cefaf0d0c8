"""A corpus as shards: the input files (a file, a folder or a glob), cut into runs of consecutive documents, each
tagged into one output file of its own. A shard is the unit of work, of parallelism and of resuming."""

import glob
import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError
from ..formats import Document, read_documents, sniff_format

# The output file's ending per `--format`.
OUTPUT_SUFFIXES = {"json": ".jsonl", "pubtator": ".pubtator", "conll": ".conll"}


@dataclass(frozen=True)
class Shard:
    """Documents `[first, first + documents)` of one input file, which start at line `first_line`; tagged into
    `output`, a path relative to the output folder."""

    input: str
    input_format: str
    index: int
    first_line: int
    documents: int
    output: str

    def read(self) -> Iterator[Document]:
        """The shard's documents, streamed from its first line."""
        return itertools.islice(read_documents(self.input, self.input_format, self.first_line), self.documents)


def expand_inputs(spec: str) -> list[Path]:
    """The files `--input` names: a file; a folder (every file under it, hidden ones left out); or a glob
    (`'pubtator/*.gz'`, `**` for subfolders). Sorted, so every run sees the same order."""
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
        raise UsageError(f"--input {spec}: no such file or folder")
    if not files:
        raise UsageError(f"--input {spec}: no files there")
    return sorted(files)


def plan_shards(files: list[Path], input_format: str, shard_size: int, output_format: str) -> list[Shard]:
    """Every file read through once (so a bad line is named before any model loads) and cut into shards of
    `shard_size` documents. Outputs mirror the inputs' paths below their common folder:
    `abstracts/part1.txt.gz` -> `abstracts/part1.txt.00000.jsonl`, `.00001.jsonl`, ..."""
    base = Path(os.path.commonpath([file.resolve().parent for file in files]))
    shards = []
    for file in files:
        file_format = sniff_format(file) if input_format == "auto" else input_format
        name = file.resolve().relative_to(base)
        stem = name.name.removesuffix(".gz")
        starts, count = [], 0  # the first line of every shard_size-th document: memory grows by shards only
        for count, document in enumerate(read_documents(file, file_format), start=1):
            if (count - 1) % shard_size == 0:
                starts.append(document.line)
        for index, first_line in enumerate(starts):
            output = name.parent / f"{stem}.{index:05d}{OUTPUT_SUFFIXES[output_format]}"
            documents = min(shard_size, count - index * shard_size)
            shards.append(Shard(str(file.resolve()), file_format, index, first_line, documents, str(output)))
    return shards
