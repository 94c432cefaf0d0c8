"""What the file formats read and write (`formats`, `bioc_files`): a `Document`, and the `InputError` that says where
an input file is wrong."""

from dataclasses import dataclass, field

from .errors import VanerError


class InputError(VanerError, ValueError):
    """A problem with an input file, with the file and line it was found at."""


@dataclass
class Document:
    id: str
    text: str
    # PubTator keeps title and abstract apart; offsets run over `title + " " + abstract`, which is `text`.
    title_length: int | None = None
    entities: list[dict] = field(default_factory=list)
    # The words (character spans) and sentences (word ranges) the tagger split `text` into, once tagged.
    words: list[tuple[int, int]] | None = None
    sentences: list[tuple[int, int]] | None = None
    line: int | None = None  # the line of its file the document starts on (BioC: its number), where a shard can start
    relations: list[str] = field(default_factory=list)  # PubTator relation lines, as they were read
    bioc: object | None = None  # the BioC document read (`bioc.BioCDocument`): written back around the predictions


__all__ = ["Document", "InputError"]
