"""Documents in and entities out: plain text, PubTator, JSON Lines, CoNLL, and BioC XML and JSON (`bioc_files`).

Reading streams one document at a time, so a file of any size never sits in memory whole. Every error names the file
and line (BioC: the document).
"""

import gzip
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from .bioc_files import BIOC_FORMATS, bioc_writer, read_bioc
from .processing_vaner import split_sentences, split_words
from .records import Document, InputError

OUTPUT_FORMATS = ("json", "pubtator", "conll", *BIOC_FORMATS)


def place(path, document: Document) -> str:
    """Where `document` is in the file at `path`, for a message: `file:line`, or for BioC `file: document N (id)`."""
    return (
        f"{path}: document {document.line} ({document.id})" if document.bioc is not None else f"{path}:{document.line}"
    )


def read_lines(path: str | Path, first_line: int = 1) -> Iterator[tuple[int, str]]:
    """`(line number, line without its newline)` of a text file (gzip'd when it ends in .gz), decoding UTF-8
    strictly, one line at a time: the one reader behind every file format here, so every error names file and line.
    Lines before `first_line` are passed over undecoded."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            for number, raw in enumerate(handle, start=1):
                if number < first_line:
                    continue
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as error:
                    raise InputError(
                        f"{path}:{number}: not UTF-8 (byte 0x{raw[error.start]:02x} at column {error.start + 1}); "
                        "convert the file to UTF-8 first, e.g. iconv -f latin1 -t utf-8"
                    ) from None
                if number == 1:
                    line = line.removeprefix("\ufeff")  # a UTF-8 byte order mark is not part of the text
                yield number, line.rstrip("\r\n")
    except (OSError, EOFError) as error:  # unreadable, or a broken gzip stream
        raise InputError(f"{path}: cannot read: {error}") from None


def read_conll_sentences(path: str | Path) -> Iterator[list[tuple[int, list[str]]]]:
    """The sentences of a CoNLL file (blank lines between them, `-DOCSTART-` lines skipped), streamed: per
    sentence, each token line as `(line number, its tab-separated columns)`. The one CoNLL reader: corpora, the
    harness's prediction files and the Space's examples build on it."""
    sentence = []
    for number, line in read_lines(path):
        if not line.strip():
            if sentence:
                yield sentence
                sentence = []
        elif not line.startswith("-DOCSTART-"):
            sentence.append((number, line.split("\t")))
    if sentence:
        yield sentence


INPUT_FORMATS = ("auto", "text", "pubtator", "jsonl", *BIOC_FORMATS)
SUFFIX_FORMATS = {
    **dict.fromkeys((".jsonl", ".jsonl.gz", ".ndjson", ".ndjson.gz"), "jsonl"),
    **dict.fromkeys((".xml", ".xml.gz", ".bioc"), "bioc-xml"),
    **dict.fromkeys((".json", ".json.gz"), "bioc-json"),
}


def sniff_format(path: Path) -> str:
    """The format a file's ending says (`.jsonl`, `.ndjson`: jsonl; `.xml`: bioc-xml; `.json`: bioc-json; gzip'd
    too), else its first non-blank line's: `ID|t|title` is pubtator, `<` opens BioC XML, a JSON object with a "text"
    is jsonl and any other `{` a BioC JSON collection; else text."""
    name = Path(path).name.lower()
    if suffix := next((suffix for suffix in SUFFIX_FORMATS if name.endswith(suffix)), None):
        return SUFFIX_FORMATS[suffix]
    for _, line in read_lines(path):
        if line.strip():
            return format_of_first_line(line)
    return "text"


def format_of_first_line(line: str) -> str:
    parts, opening = line.split("|", 2), line.lstrip()[:1]
    if len(parts) == 3 and parts[1] in ("t", "a") and parts[0].strip():
        return "pubtator"
    if opening == "<":
        return "bioc-xml"
    if opening == "{":
        try:
            record = json.loads(line)
        except json.JSONDecodeError:  # an object over many lines: a BioC JSON collection
            return "bioc-json"
        return "jsonl" if isinstance(record, dict) and "text" in record else "bioc-json"
    return "text"


def read_documents(
    path: str | Path, input_format: str = "auto", first_line: int = 1, problems: list | None = None
) -> Iterator[Document]:
    """Stream the documents of a file: plain text (one document per line; blank lines skipped), PubTator, or JSON
    Lines (one object per line with `text` and an optional `id`; what `vaner predict --format json` writes).
    `first_line`: start there, on the first line of a document (`Document.line`). `problems`: PubTator annotations
    whose offsets fall outside the text or do not hold their mention are skipped and listed there as
    `(file:line, message)` (published corpora carry a few); without it, they are an `InputError`."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    if input_format == "auto":
        input_format = sniff_format(path)
    if input_format == "text":
        for number, line in read_lines(path, first_line):
            if line.strip():
                yield Document(id=str(number), text=line, line=number)
    elif input_format == "pubtator":
        yield from _read_pubtator(path, first_line, problems)
    elif input_format == "jsonl":
        yield from _read_jsonl(path, first_line)
    elif input_format in BIOC_FORMATS:
        yield from read_bioc(path, input_format, first_line)
    else:
        raise InputError(f"Unknown input format {input_format!r}; use one of {', '.join(INPUT_FORMATS)}.")


def _read_jsonl(path: Path, first_line: int = 1) -> Iterator[Document]:
    for number, line in read_lines(path, first_line):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            raise InputError(f"{path}:{number}: not a JSON object ({error.msg}, column {error.colno})") from None
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise InputError(f'{path}:{number}: expected an object with a "text" string, got {line[:80]!r}')
        entities = record.get("entities") if isinstance(record.get("entities"), list) else []
        yield Document(id=jsonl_id(path, number, record.get("id")), text=record["text"], entities=entities, line=number)


def jsonl_id(path: Path, number: int, value) -> str:
    """A JSON Lines record's `id`: a string or an integer; absent or null, its line number."""
    if value is None:
        return str(number)
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InputError(f'{path}:{number}: "id" must be a string or an integer, got {json.dumps(value)[:80]}')
    return str(value)


# What would end a line to a reader of the file written (`str.splitlines` ends lines at each of these).
LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")


def check_writable(document: Document, output_format: str, where: str) -> None:
    """Refuse, naming `where` (`file:line`), a document that `output_format` cannot hold as it is: an id that would
    break its line or add records (PubTator: `|`, a tab or a line break; CoNLL: a tab or a line break), or, for
    PubTator, a line break inside the text. Called on every document before any model loads."""
    if output_format == "json" or output_format in BIOC_FORMATS:  # JSON and XML escape what they hold
        return
    forbidden = (LINE_BREAKS | {"\t", "|"}) if output_format == "pubtator" else (LINE_BREAKS | {"\t"})
    if not document.id.strip() or forbidden & set(document.id):
        bad = "is empty" if not document.id.strip() else f"holds {sorted(forbidden & set(document.id))}"
        raise InputError(
            f"{where}: document id {document.id[:40]!r} {bad}, which the {output_format} format cannot write without "
            "breaking its lines; give ids without tabs, line breaks or '|' (or write the json format)"
        )
    if output_format == "pubtator" and LINE_BREAKS & set(document.text):
        raise InputError(
            f"{where}: document {document.id!r} has a line break inside its text, which PubTator cannot hold (one "
            "line per title and abstract); replace the line breaks with spaces, or write the json format"
        )


def _read_pubtator(path: Path, first_line: int = 1, problems: list | None = None) -> Iterator[Document]:
    current: dict | None = None

    def finish():
        title, abstract = current.get("t", ""), current.get("a")
        text = title if abstract is None else f"{title} {abstract}"
        kept = []
        for number, entity in current["entities"]:
            problem = offset_problem(entity, text, current["id"], check_text=problems is not None)
            if problem is None:
                kept.append(entity)
            elif problems is None:
                raise InputError(f"{path}:{number}: {problem}")
            else:
                problems.append((f"{path}:{number}", problem))
        return Document(
            id=current["id"],
            text=text,
            title_length=len(title),
            entities=kept,
            line=current["line"],
            relations=current["relations"],
        )

    for number, line in read_lines(path, first_line):
        if not line.strip():
            if current is not None:
                yield finish()
                current = None
            continue
        pipe_parts = line.split("|", 2)
        if len(pipe_parts) == 3 and pipe_parts[1] in ("t", "a") and "\t" not in pipe_parts[0]:
            doc_id, kind, content = pipe_parts
            if current is not None and current["id"] != doc_id:
                yield finish()
                current = None
            if current is None:
                current = {"id": doc_id, "entities": [], "relations": [], "line": number}
            if kind in current:
                raise InputError(f"{path}:{number}: document {doc_id} has a second |{kind}| line")
            current[kind] = content
            continue
        fields = line.split("\t")
        if current is not None and is_relation(fields):
            current["relations"].append(line)
            continue
        if current is None or len(fields) < 5:
            raise InputError(
                f"{path}:{number}: expected 'ID|t|title', 'ID|a|abstract' or an annotation "
                f"'ID<TAB>start<TAB>end<TAB>mention<TAB>type', got: {line[:80]!r}"
            )
        current["entities"].append((number, annotation(path, number, fields, current["id"])))
    if current is not None:
        yield finish()


def is_relation(fields: list[str]) -> bool:
    """A PubTator relation line: `ID<TAB>CID<TAB>chemical<TAB>disease` (BC5CDR) or `ID<TAB>Type<TAB>id1<TAB>id2<TAB>
    Novel|No` (BioRED). An annotation with a bad offset is not one: it is reported as the error it is."""
    bc5cdr = len(fields) == 4 and not fields[1].isdigit()
    return bc5cdr or (len(fields) == 5 and fields[4] in ("Novel", "No") and not fields[1].isdigit())


def offset_problem(entity: dict, text: str, doc_id: str, check_text: bool) -> str | None:
    """What is wrong with an annotation's offsets in its document's `text`, or None."""
    if not 0 <= entity["start"] < entity["end"] <= len(text):
        return (
            f"annotation {entity['start']}-{entity['end']} lies outside document {doc_id}'s text (0-{len(text)}); "
            "expected 0 <= start < end <= its length"
        )
    if check_text and text[entity["start"] : entity["end"]] != entity["text"]:
        found = text[entity["start"] : entity["end"]]
        return (
            f"annotation {entity['start']}-{entity['end']} reads {found!r} in document {doc_id}, not {entity['text']!r}"
        )
    return None


def annotation(path: Path, number: int, fields: list[str], doc_id: str) -> dict:
    """One PubTator annotation line's entity, checked: the document's PMID and integer offsets."""
    if fields[0] != doc_id:
        raise InputError(f"{path}:{number}: annotation of document {fields[0]!r} inside document {doc_id!r}")
    try:
        start, end = int(fields[1]), int(fields[2])
    except ValueError:
        raise InputError(f"{path}:{number}: start and end must be integers, got {fields[1]!r}, {fields[2]!r}") from None
    entity = {"start": start, "end": end, "text": fields[3], "type": fields[4]}
    if len(fields) > 5 and fields[5]:
        entity["id"] = fields[5]
    return entity


@contextmanager
def document_writer(output_format: str, out: TextIO, entity_types: list[str] | None = None) -> Iterator[Callable]:
    """A function writing one tagged document to `out` in `output_format` (`write_document`); for BioC, into the
    collection opened here and closed when the block ends."""
    if output_format in BIOC_FORMATS:
        with bioc_writer(output_format, out) as write:
            yield write
    else:
        yield lambda document: write_document(document, output_format, out, entity_types)


def write_document(document: Document, output_format: str, out: TextIO, entity_types: list[str] | None = None) -> None:
    """Write one document and its `entities` in `json` (one object per line), `pubtator` or `conll` (one column
    per entity type in `entity_types`)."""
    if output_format == "json":
        record = {"id": document.id, "text": document.text, "entities": document.entities}
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
    elif output_format == "pubtator":
        out.write(pubtator_block(document))
    elif output_format == "conll":
        out.write(conll_block(document, entity_types))
    else:
        raise ValueError(f"Unknown output format {output_format!r}; use one of {', '.join(OUTPUT_FORMATS)}.")


def pubtator_block(document: Document) -> str:
    """PubTator: `ID|t|title`, `ID|a|abstract`, one `ID start end mention type [id] [score]` line per entity, a blank
    line. Offsets run over `title + " " + abstract`. A text without a title/abstract split goes in the title."""
    if document.title_length is not None and document.title_length < len(document.text):
        title, abstract = document.text[: document.title_length], document.text[document.title_length + 1 :]
    else:
        title, abstract = document.text, ""
    if "\n" in title or "\n" in abstract:
        raise ValueError(f"Document {document.id}: PubTator cannot hold line breaks inside a title or abstract.")
    lines = [f"{document.id}|t|{title}", f"{document.id}|a|{abstract}"]
    for entity in document.entities:
        # A tab or line break inside a mention would shift the columns read back: written as a space (same length).
        mention = entity["text"].replace("\t", " ").replace("\n", " ").replace("\r", " ")
        columns = [document.id, str(entity["start"]), str(entity["end"]), mention, entity["type"]]
        if "ids" in entity:  # linked (`vaner predict --link`): PubTator's id column, -1 when unlinked
            columns.append(entity["id"] or "-1")
        if "score" in entity:
            columns.append(f"score={entity['score']:.4f}")
        lines.append("\t".join(columns))
    lines.extend(document.relations)  # the input's relation lines pass through unchanged
    return "\n".join(lines) + "\n\n"


def conll_block(document: Document, entity_types: list[str] | None = None) -> str:
    """CoNLL: `-DOCSTART- ID`, then one word per line with an IOB2 column per entity type (mentions of different
    types may overlap), a blank line after each sentence. Columns follow `entity_types` (default: the types present).
    The words and sentences are the tagger's (`document.words`, `.sentences`), split here only when not tagged."""
    types = entity_types or sorted({entity["type"] for entity in document.entities})
    words = document.words if document.words is not None else split_words(document.text)
    sentences = document.sentences if document.sentences is not None else split_sentences(document.text, words)
    index_of_start = {start: i for i, (start, _) in enumerate(words)}
    index_of_end = {end: i for i, (_, end) in enumerate(words)}
    tags = {entity_type: ["O"] * len(words) for entity_type in types}
    for entity in document.entities:
        first, last = index_of_start.get(entity["start"]), index_of_end.get(entity["end"])
        if first is None or last is None or entity["type"] not in tags:
            raise ValueError(f"Document {document.id}: entity {entity} does not fall on word boundaries.")
        column = tags[entity["type"]]
        column[first] = "B-" + entity["type"]
        for i in range(first + 1, last + 1):
            column[i] = "I-" + entity["type"]
    blocks = [f"-DOCSTART- {document.id}" + "".join(f"\t{t}" for t in types)]
    for first, end in sentences:
        blocks.append(
            "\n".join(
                document.text[start:stop] + "".join("\t" + tags[t][i] for t in types)
                for i, (start, stop) in enumerate(words[first:end], start=first)
            )
        )
    return "\n\n".join(blocks) + "\n\n"
