"""`vaner predict`: tag a text or a file of documents, streaming, with a progress bar for files; or, with
`--output DIR`, a corpus of any size in shards (`modeling_vaner.bulk`): resumable, on workers or on Ray."""

import glob
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..bulk import TaggingOptions, tag_corpus
from ..bulk.job import write_tagged
from ..embedded import DEFAULT_MODEL_DIR, has_default_model, is_hub_repo_id
from ..errors import UsageError
from ..files import written_atomically
from ..formats import Document, InputError, check_writable, place, read_documents, sniff_format
from ..processing_vaner import check_threshold, instruction_ids
from ..runtimes import check_runtime

# `--input -` reads standard input, `--output -` writes standard output (as no `--output` does).
STANDARD_STREAM = "-"


def is_sharded(args) -> bool:
    """Whether the run writes one file per shard into a folder: `--output` names one (it exists, or ends in `/`),
    `--input` is more than a file, or an option that only shards have is given."""
    folder_output = bool(args.output) and (Path(args.output).is_dir() or args.output.endswith(("/", os.sep)))
    many_inputs = args.input is not None and (Path(args.input).is_dir() or glob.has_magic(args.input))
    return folder_output or many_inputs or args.resume or args.workers > 1 or args.engine != "local"


def check_sharded_options(args) -> None:
    if args.input is None and args.output and Path(args.output).is_dir():
        raise UsageError(f"--output {args.output} is a folder; a TEXT is written to a file or to standard output")
    if args.input is None:
        raise UsageError("--output DIR, --resume, --workers and --engine tag files: give --input FILE, FOLDER or GLOB")
    if args.input == STANDARD_STREAM:
        raise UsageError(
            "--input - (standard input) is one stream, tagged into one --output FILE or standard output; shards "
            "(--output DIR, --resume, --workers, --engine) are cut from files: save the input to a file first"
        )
    if not args.output:
        raise UsageError(
            "a folder, a glob, --resume, --workers and --engine write one file per shard: name a folder with "
            "--output DIR"
        )
    if args.workers > 1 and args.engine == "ray":
        raise UsageError("--workers is for one machine; with --engine ray use --concurrency")
    if args.workers > 1 and (args.device or "").startswith(("cuda", "gpu")):
        import torch

        if args.workers > torch.cuda.device_count():
            raise UsageError(
                f"--workers {args.workers} with --device cuda: this machine has "
                f"{torch.cuda.device_count()} GPU(s), one worker each"
            )


def check_options(args) -> None:
    """Everything a user can get wrong, checked before the model loads (a minute on a slow disk): `UsageError`."""
    if args.text is None and args.input is None:
        raise UsageError("give a TEXT or --input FILE")
    if args.text is not None and args.input is not None:
        raise UsageError("give a TEXT or --input FILE, not both")
    if args.model is None and not has_default_model():
        raise UsageError(
            "no default model in this installation; pass --model DIR_OR_REPO (`vaner demo "
            "--untrained` shows the way with an untrained head)"
        )
    if args.model is not None and not Path(args.model).exists() and not is_hub_repo_id(args.model):
        raise UsageError(f"--model {args.model}: no such folder (a Hub repo id is ORG/NAME)")
    if is_sharded(args):
        check_sharded_options(args)
    elif args.output:
        parent = Path(args.output).resolve().parent
        if not parent.is_dir():
            raise UsageError(f"--output {args.output}: folder {parent} does not exist")
    if args.input not in (None, STANDARD_STREAM) and not is_sharded(args):
        if not Path(args.input).is_file():
            raise UsageError(f"--input {args.input}: no such file")
        if args.output and Path(args.output).resolve() == Path(args.input).resolve():
            raise UsageError("--output is the input file; refusing to overwrite it")
    check_request(args)


def check_request(args) -> None:
    """`--types` and `--dataset` against the model's config (read alone, before the weights)."""
    from ..configuration_vaner import VanerConfig

    try:
        config = VanerConfig.from_pretrained(args.model or str(DEFAULT_MODEL_DIR))
    except (OSError, ValueError) as error:
        raise UsageError(f"--model {args.model or DEFAULT_MODEL_DIR}: cannot load a model: {error}") from None
    for entity_type in requested_types(args) or config.entity_types:
        try:
            config.instruction(entity_type, args.dataset)
        except ValueError as error:
            option = "--dataset" if args.dataset and str(args.dataset) in str(error) else "--types"
            raise UsageError(f"{option}: {error}") from None
    try:
        check_threshold(args.threshold, config.entity_types)
    except ValueError as error:
        raise UsageError(f"--threshold: {error}") from None
    if args.max_length is not None:
        check_room(args, config)
    check_runtime(args.model, args.runtime, args.device)


def check_room(args, config) -> None:
    """`--max-length` leaves room for words behind the longest instruction the run asks (its tokenizer alone loads,
    without torch)."""
    from transformers import PreTrainedTokenizerFast

    tokenizer = PreTrainedTokenizerFast.from_pretrained(args.model or str(DEFAULT_MODEL_DIR))
    types = requested_types(args) or config.entity_types
    asked = [types] if config.head_layout == "per_type" else [[entity_type] for entity_type in types]
    longest = max(len(instruction_ids(tokenizer, config.instruction(names, args.dataset))) for names in asked)
    if args.max_length <= longest:
        raise UsageError(
            f"--max-length {args.max_length}: the instruction alone takes {longest} tokens; give at least "
            f"{longest + 1} (or leave it out: the length the model was trained at)"
        )


def requested_types(args) -> list[str] | None:
    """`--types` as a list, each type once (`Chemical,Chemical` requests chemicals once); None for every type the model knows."""
    if args.types is None:
        return None
    names = list(dict.fromkeys(name.strip() for name in args.types.split(",") if name.strip()))
    if not names:
        raise UsageError(f"--types {args.types!r} names no entity type; give e.g. Chemical,Disease (or leave it out)")
    return names


def read_input(args) -> tuple[list[Document] | Iterator[Document], int | None]:
    """The documents to tag and how many (None for one TEXT). A file is read through once first, so a bad line
    or bytes that are not UTF-8 are named before the model loads; tagging then streams it again."""
    if args.input is None:
        document = Document(id="1", text=args.text)
        check_writable(document, args.format, "TEXT")
        return [document], None
    path = Path(args.input)
    input_format = sniff_format(path) if args.input_format == "auto" else args.input_format
    total = 0
    for total, document in enumerate(read_documents(path, input_format), start=1):
        check_writable(document, args.format, place(path, document))
    return read_documents(path, input_format), total


def tagging_options(args):
    return TaggingOptions(
        model=args.model,
        entity_types=tuple(requested_types(args) or ()) or None,
        dataset=args.dataset,
        output_format=args.format,
        batch_size=args.batch_size,
        max_length=args.max_length,
        dtype=args.dtype,
        device=args.device,
        link=args.link,
        threads=args.threads,
        threshold=args.threshold,
        runtime=args.runtime,
    )


def run_sharded(args) -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    on_cpu = not (args.device or "").startswith(("cuda", "gpu"))
    if on_cpu and args.workers > cores:  # each worker holds a model copy: more than the cores only costs memory
        print(f"vaner predict: --workers {args.workers} on {cores} CPU cores: running {cores}", file=sys.stderr)
        args.workers = cores

    ray_options = {
        "address": args.ray_address,
        "concurrency": args.concurrency,
        "gpus_per_actor": args.gpus_per_actor,
        "cpus_per_actor": args.cpus_per_actor,
    }
    tag_corpus(
        args.input,
        args.output,
        tagging_options(args),
        input_format=args.input_format,
        shard_size=args.shard_size,
        resume=args.resume,
        workers=args.workers,
        engine=args.engine,
        ray_options=ray_options,
    )
    return 0


def run_predict(args) -> int:
    if args.output == STANDARD_STREAM:
        args.output = None
    check_options(args)
    if is_sharded(args):
        return run_sharded(args)
    with standard_input_as_file(args):
        return tag_into_one_output(args)


def tag_into_one_output(args) -> int:
    """Tag a TEXT or one input file into one output file or standard output, with a progress bar for a file."""
    from tqdm.auto import tqdm

    documents, total = read_input(args)
    options = tagging_options(args)
    tagger, linker = options.load()
    with (
        atomic_output(args.output) as out,
        tqdm(total=total, unit="doc", disable=args.input is None, file=sys.stderr) as bar,
    ):
        counts = write_tagged(tagger, linker, documents, options, out, on_document=lambda n, _: bar.update(n))
    if note := counts.replaced_note():
        print(note, file=sys.stderr)
    return 0


@contextmanager
def standard_input_as_file(args):
    """`--input -`: standard input, copied into a temporary file for the block (the input is read twice: checked
    before the model loads, then tagged), and named "standard input" in what is said about it."""
    if args.input != STANDARD_STREAM:
        yield
        return
    with tempfile.TemporaryDirectory(prefix="vaner-stdin-") as folder:
        copy = Path(folder) / "stdin"
        with open(copy, "wb") as out:
            shutil.copyfileobj(sys.stdin.buffer, out)
        args.input = str(copy)
        try:
            yield
        except InputError as error:
            raise InputError(str(error).replace(str(copy), "standard input")) from None
        finally:
            args.input = STANDARD_STREAM


@contextmanager
def atomic_output(output: str | None):
    """Standard output, or a file written beside `output` and renamed onto it at the end: a failure, Ctrl-C or
    SIGTERM never leaves a truncated result in place of a previous one, nor the `.partial` file behind."""
    if output is None:
        yield sys.stdout
        return
    previous = signal.getsignal(signal.SIGTERM)

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    in_main_thread = threading.current_thread() is threading.main_thread()
    if in_main_thread:
        signal.signal(signal.SIGTERM, stop)
    try:
        with written_atomically(output) as out:
            yield out
    finally:
        if in_main_thread:
            signal.signal(signal.SIGTERM, previous)
