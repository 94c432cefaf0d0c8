"""BioC XML and BioC JSON in and out, the formats BioCreative and PubTator3 exchange, through the `bioc` package.

A BioC document's passages (title, abstract, sections) become one `Document` text, each passage at its own offset,
so entity offsets are BioC's document offsets both ways. Written back, the document keeps its passages, infons and
relations as they were read; its annotations are the model's (the input's are replaced, as in PubTator). A document
made from plain text or JSON Lines is written as one passage, or title and abstract passages.
"""

import copy
import gzip
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import TextIO

from .records import Document, InputError

BIOC_FORMATS = ("bioc-xml", "bioc-json")


def read_bioc(path: Path, input_format: str, first_document: int = 1) -> Iterator:
    """The documents of a BioC XML file (streamed) or BioC JSON collection, from the `first_document`-th (1-based),
    as `formats.Document`s whose `line` is their number in the file."""
    try:
        for number, bioc_document in enumerate(bioc_documents(path, input_format), start=1):
            if number >= first_document:
                yield as_document(bioc_document, number, path)
    except (SyntaxError, ValueError, KeyError, TypeError, OSError, EOFError) as error:  # lxml: a SyntaxError
        if isinstance(error, InputError):
            raise
        where = f":{error.lineno}" if getattr(error, "lineno", None) else ""
        kind = "BioC XML" if input_format == "bioc-xml" else "a BioC JSON collection"
        said = getattr(error, "msg", None) or f"{type(error).__name__}: {error}"  # lxml's own words, else the error's
        raise InputError(f"{path}{where}: not {kind} ({said})") from None


def bioc_documents(path: Path, input_format: str) -> Iterator:
    from bioc import biocjson, biocxml

    with gzip.open(path, "rb") if path.suffix == ".gz" else open(path, "rb") as handle:
        if input_format == "bioc-xml":
            yield from biocxml.BioCXMLDocumentReader(handle)
        else:
            yield from biocjson.load(handle).documents


def as_document(bioc_document, number: int, path: Path):
    """One BioC document as a `Document`: its passages' texts at their offsets (gaps as spaces), the first passage as
    the title when more follow."""
    text, passages = "", [passage for passage in bioc_document.passages if passage.text is not None]
    for passage in sorted(passages, key=lambda passage: passage.offset):
        if passage.offset < len(text):
            raise InputError(
                f"{path}: document {number} ({bioc_document.id}): its passage at offset {passage.offset} overlaps the "
                f"text before it (which ends at {len(text)})"
            )
        text += " " * (passage.offset - len(text)) + passage.text
    title_length = len(passages[0].text) if len(passages) > 1 and passages[0].offset == 0 else None
    return Document(id=str(bioc_document.id), text=text, title_length=title_length, line=number, bioc=bioc_document)


def as_bioc(document):
    """A tagged `Document` as a BioC document: the one it was read from (passages, infons, relations) with the
    entities as its annotations, or passages made from its text."""
    from bioc import BioCAnnotation, BioCDocument, BioCLocation, BioCPassage

    if document.bioc is not None:
        bioc_document = copy.deepcopy(document.bioc)
        bioc_document.annotations.clear()
        for passage in bioc_document.passages:
            passage.annotations.clear()
    else:
        bioc_document = BioCDocument()
        bioc_document.id = document.id
        cut = document.title_length if document.title_length is not None else len(document.text)
        for kind, offset, text in (("title", 0, document.text[:cut]), ("abstract", cut + 1, document.text[cut + 1 :])):
            if text or kind == "title":
                passage = BioCPassage.of_text(text, offset)
                passage.infons["type"] = kind
                bioc_document.add_passage(passage)
    holders = sorted(bioc_document.passages, key=lambda passage: passage.offset)
    for number, entity in enumerate(document.entities):
        annotation = BioCAnnotation()
        annotation.id, annotation.text = f"T{number}", entity["text"]
        annotation.infons["type"] = entity["type"]
        if "ids" in entity:  # linked (`vaner predict --link`)
            annotation.infons["identifier"] = entity["id"] or "-"
        if "score" in entity:
            annotation.infons["score"] = f"{entity['score']:.4f}"
        annotation.add_location(BioCLocation(entity["start"], entity["end"] - entity["start"]))
        holder = [passage for passage in holders if passage.offset <= entity["start"]] or holders
        (holder[-1] if holder else bioc_document).add_annotation(annotation)
    return bioc_document


@contextmanager
def bioc_writer(output_format: str, out: TextIO) -> Iterator[Callable]:
    """A function writing one tagged document into `out` as part of one BioC collection, opened here and closed when
    the block ends: documents stream, one at a time, in either format."""
    from bioc import biocjson, biocxml
    from lxml import etree

    source, day = "VANER", date.today().isoformat()
    if output_format == "bioc-xml":
        out.write(
            "<?xml version='1.0' encoding='utf-8' standalone='yes'?>\n"
            f"<collection><source>{source}</source><date>{day}</date><key>vaner.key</key>\n"
        )
        yield lambda document: out.write(
            etree.tostring(biocxml.encoder.encode_document(as_bioc(document)), encoding="unicode") + "\n"
        )
        out.write("</collection>\n")
        return
    out.write(json.dumps({"source": source, "date": day, "key": "vaner.key", "infons": {}})[:-1] + ', "documents": [')
    separator = ["\n"]

    def write(document) -> None:
        out.write(separator[0] + json.dumps(biocjson.toJSON(as_bioc(document)), ensure_ascii=False))
        separator[0] = ",\n"

    yield write
    out.write("\n]}\n")
