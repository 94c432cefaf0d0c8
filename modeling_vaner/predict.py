"""`vaner predict`: tag a text or a file of documents, streaming, with a progress bar for files."""

import itertools
import os
import sys
from pathlib import Path
from typing import Iterable, Iterator

from .formats import Document, InputError, read_documents, sniff_format, write_document


def count_documents(path: Path, input_format: str) -> int:
    """How many documents a file holds, from one cheap pass over its bytes (for the progress bar)."""
    with open(path, "rb") as handle:
        if input_format == "pubtator":
            return sum(1 for line in handle if b"|t|" in line[:64])
        return sum(1 for line in handle if line.strip())


def tag_documents(tagger, documents: Iterable[Document], entity_types, dataset, batch_size: int,
                  chunk_size: int = 64, replaced: list | None = None) -> Iterator[Document]:
    """Tag documents `chunk_size` at a time (batched across documents, types and windows), yielding each in order.
    A document's own annotations (PubTator input) are replaced by the predictions; `replaced` collects how many."""
    iterator = iter(documents)
    while chunk := list(itertools.islice(iterator, chunk_size)):
        for document, (asked, entities) in zip(chunk, tagger.tag_texts([d.text for d in chunk], entity_types,
                                                                        dataset, batch_size)):
            if replaced is not None and document.entities:
                replaced.append(len(document.entities))
            document.entities = entities
            document.words, document.sentences = asked.words, asked.sentences  # CoNLL writes the words tagged
            yield document


def run_predict(args) -> int:
    from tqdm.auto import tqdm

    from . import VanerTagger, load_vaner
    from .loading import has_default_model

    if args.text is None and args.input is None:
        print("vaner predict: give a TEXT or --input FILE", file=sys.stderr)
        return 2
    if args.model is None and not has_default_model():
        print("vaner predict: no default model in this installation; pass --model DIR_OR_REPO "
              "(`vaner demo --untrained` shows the road with an untrained head)", file=sys.stderr)
        return 2
    # Everything a user can get wrong is checked before the model loads (a minute on a slow disk).
    if args.model is not None and not Path(args.model).exists() and looks_like_a_path(args.model):
        print(f"vaner predict: --model {args.model}: no such folder (a Hub repo id is ORG/NAME)", file=sys.stderr)
        return 2
    if args.output:
        parent = Path(args.output).resolve().parent
        if not parent.is_dir():
            print(f"vaner predict: --output {args.output}: folder {parent} does not exist", file=sys.stderr)
            return 2
        if Path(args.output).is_dir():
            print(f"vaner predict: --output {args.output} is a folder; name a file", file=sys.stderr)
            return 2
    if args.input is not None and not Path(args.input).is_file():
        print(f"vaner predict: --input {args.input}: no such file", file=sys.stderr)
        return 2
    try:
        model, tokenizer = load_vaner(args.model, dtype=args.dtype, device=args.device)
    except OSError as error:
        print(f"vaner predict: --model {args.model}: cannot load a model: {error}", file=sys.stderr)
        return 2
    tagger = VanerTagger(model, tokenizer, max_length=args.max_length)
    linker = None
    if args.link:
        from .linking import Linker

        linker = Linker.load()
    entity_types = args.types.split(",") if args.types else None
    tagger.instructions(entity_types, args.dataset)  # unknown types or datasets fail here, before any work

    if args.input is None:
        documents, total = [Document(id="1", text=args.text)], None
    else:
        path = Path(args.input)
        input_format = sniff_format(path) if args.input_format == "auto" else args.input_format
        documents, total = read_documents(path, input_format), count_documents(path, input_format)
        if args.output and Path(args.output).resolve() == path.resolve():
            print("vaner predict: --output is the input file; refusing to overwrite it", file=sys.stderr)
            return 2

    # Write beside the destination and rename at the end, so a failure never leaves a truncated result file
    # in place of a previous one.
    partial = f"{args.output}.partial" if args.output else None
    out = open(partial, "w", encoding="utf-8") if partial else sys.stdout
    finished, replaced = False, []
    try:
        tagged = tag_documents(tagger, documents, entity_types, args.dataset, args.batch_size, replaced=replaced)
        progress = tqdm(tagged, total=total, unit="doc", disable=args.input is None, file=sys.stderr)
        for document in progress:
            if linker is not None:
                linker.link(document.text, document.entities)
            write_document(document, args.format, out, entity_types or list(model.config.entity_types))
        finished = True
    except InputError as error:
        print(f"vaner predict: {error}", file=sys.stderr)
        return 1
    finally:
        if partial:
            out.close()
            if not finished:  # nothing half-written is left behind, and a previous result stays as it was
                Path(partial).unlink(missing_ok=True)
    if partial:
        os.replace(partial, args.output)
    if replaced:
        print(f"vaner predict: the input's own annotations ({sum(replaced)} in {len(replaced)} documents) were "
              "replaced by the model's predictions", file=sys.stderr)
    return 0


def looks_like_a_path(name: str) -> bool:
    """A `--model` that cannot be a Hub repo id (`ORG/NAME` or `NAME`): absolute, relative or nested."""
    return name.startswith(("/", ".", "~")) or name.count("/") > 1 or os.sep != "/" and os.sep in name
