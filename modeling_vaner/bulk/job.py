"""A tagging job over shards: what it tags with (`TaggingOptions`), the output folder and its manifest, and the
one function that tags a shard into its file.

A shard's output appears only complete (written beside, then renamed), so the files in the folder are the truth
about what is done: a run killed at any moment loses at most the shards it was writing, and `--resume` tags only
the shards with no file. `manifest.json` records the job's settings (a resumed run must use the same) and its
shards, and at the end a summary; `done.jsonl` gets a line with each shard's counts as it finishes. Both are
written by one process only (the one that runs the job)."""

import itertools
import json
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import ModelFileError, OutputError, UsageError
from ..files import write_json_atomically, written_atomically
from ..formats import Document, document_writer
from .shards import Shard

MANIFEST = "manifest.json"
DONE_LOG = "done.jsonl"
LOCK = ".vaner-predict.lock"  # held by the one run tagging into the folder
MANIFEST_VERSION = 2  # 2: shards carry their input's digest


@dataclass(frozen=True)
class TaggingOptions:
    """What every worker needs to tag a shard exactly as any other would: the model and how to run it."""

    model: str | None  # a folder or Hub repo id; None: the default model
    entity_types: tuple[str, ...] | None  # None: every type the model knows
    dataset: str | None
    output_format: str = "json"
    batch_size: int = 16
    max_length: int | None = None
    dtype: str = "auto"
    device: str | None = None
    link: bool = False
    threads: int | None = None  # torch's CPU threads per process; None: torch's default (or the cores shared out)
    threshold: float | dict[str, float] | None = None  # the least score a mention keeps (`VanerTagger`)
    runtime: str = "auto"  # torch, or the model's ONNX export on ONNX Runtime (`onnx`, `onnx-int8`); `runtimes`

    def load(self, device: str | None = None, threads: int | None = None):
        """`(tagger, linker or None)` on `device` (default: `self.device`), with `threads` CPU threads (default:
        `self.threads`, else torch's)."""
        import torch

        from ..onnx_runtime import load_for_runtime
        from ..pipeline_vaner import VanerTagger

        if threads or self.threads:
            torch.set_num_threads(threads or self.threads)

        try:
            model, tokenizer = load_for_runtime(
                self.model, self.runtime, self.dtype, device or self.device, threads or self.threads
            )
        except (ModelFileError, OSError) as error:  # missing, truncated or pickled weights; a backbone not there
            raise ModelFileError(f"{self.model or 'the default model'}: cannot load a model: {error}").about(
                "model"
            ) from None
        linker = None
        if self.link:
            from ..linking import Linker

            linker = Linker.load()
        return VanerTagger(model, tokenizer, max_length=self.max_length, threshold=self.threshold), linker


@dataclass
class ShardCounts:
    documents: int = 0
    words: int = 0
    entities: int = 0
    replaced: int = 0  # the input's own annotations (PubTator) that predictions replaced
    replaced_documents: int = 0  # the documents that had them

    def add(self, other: "ShardCounts") -> None:
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)

    def replaced_note(self) -> str | None:
        """What to tell a user whose input's annotations were replaced, if any were."""
        if not self.replaced:
            return None
        return (
            f"vaner predict: the input's own annotations ({self.replaced} in {self.replaced_documents} documents) "
            "were replaced by the model's predictions"
        )


def tag_documents(
    tagger,
    documents: Iterable[Document],
    entity_types,
    dataset,
    batch_size: int,
    chunk_size: int = 64,
    replaced: list | None = None,
) -> Iterator[Document]:
    """Tag documents `chunk_size` at a time (batched across documents, types and windows), yielding each in order.
    A document's own annotations (PubTator input) are replaced by the predictions; `replaced` collects how many."""
    iterator = iter(documents)
    while chunk := list(itertools.islice(iterator, chunk_size)):
        for document, (requested, entities) in zip(
            chunk, tagger.tag_texts([d.text for d in chunk], entity_types, dataset, batch_size)
        ):
            if replaced is not None and document.entities:
                replaced.append(len(document.entities))
            document.entities = entities
            document.words, document.sentences = requested.words, requested.sentences  # CoNLL writes the words tagged
            yield document


def write_tagged(tagger, linker, documents: Iterable[Document], options, out, on_document=None) -> ShardCounts:
    """Tag, link (with a `linker`) and write `documents` to `out` in `options.output_format`; the one loop behind
    every `vaner predict` output. `on_document(1, words)` is called as each document is written (progress)."""
    counts, replaced = ShardCounts(), []
    types = list(options.entity_types) if options.entity_types else None
    columns = types or list(tagger.config.entity_types)
    tagged = tag_documents(tagger, documents, types, options.dataset, options.batch_size, replaced=replaced)
    with document_writer(options.output_format, out, columns) as write:
        for document in tagged:
            if linker is not None:
                linker.link(document.text, document.entities)
            write(document)
            counts.documents += 1
            counts.words += len(document.words)
            counts.entities += len(document.entities)
            if on_document is not None:
                on_document(1, len(document.words))
    counts.replaced, counts.replaced_documents = sum(replaced), len(replaced)
    return counts


def tag_shard(tagger, linker, shard: Shard, options: TaggingOptions, output_dir: Path, on_document=None) -> ShardCounts:
    """Tag `shard` into `output_dir / shard.output`, atomically (`write_tagged`)."""
    path = output_dir / shard.output
    path.parent.mkdir(parents=True, exist_ok=True)
    with written_atomically(path) as out:
        return write_tagged(tagger, linker, shard.read(), options, out, on_document)


@contextmanager
def holding_the_folder(output_dir: Path):
    """Hold the output folder's lock for a run: a second run on the same folder (`--resume` twice) is refused at
    once, naming the folder, instead of writing the same shards beside the first."""
    from filelock import FileLock, Timeout

    if output_dir.exists() and not output_dir.is_dir():
        raise UsageError(f"{output_dir} is a file; sharded output goes to a folder").about("output_dir")
    lock = FileLock(str(output_dir / LOCK), timeout=0)
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        lock.acquire()
    except Timeout:
        raise UsageError(
            f"{output_dir}: another vaner predict is tagging into it now (it holds {LOCK}); wait for it to finish, "
            "or stop it, then go on with `resume=True`"
        ).about("output_dir") from None
    except OSError as error:  # a read-only or full file system, a folder that is not ours
        raise OutputError(f"{output_dir}: cannot write there ({error.strerror})").about("output_dir") from None
    try:
        yield
    finally:
        lock.release()
        (output_dir / LOCK).unlink(missing_ok=True)


@dataclass
class Job:
    """The output folder of a sharded run, its shards and its settings."""

    output_dir: Path
    shards: list[Shard]
    settings: dict
    done: set = field(default_factory=set)  # the outputs of the shards done
    summary: dict | None = None  # a finished run's summary, kept when a resume finds nothing to do

    @classmethod
    def open(cls, output_dir: str | Path, shards: list[Shard], settings: dict, resume: bool) -> "Job":
        """The job in `output_dir`: a new one (the folder absent or empty), or with `resume` the one there, which
        must have the same settings and shards. Refuses, naming the option, anything else."""
        output_dir = Path(output_dir)
        if output_dir.exists() and not output_dir.is_dir():
            raise UsageError(f"{output_dir} is a file; sharded output goes to a folder").about("output_dir")
        job = cls(
            output_dir, shards, json.loads(json.dumps(settings))
        )  # as the manifest holds them (lists, not tuples)
        saved = job.read_manifest()
        if saved is not None:
            if not resume:
                raise UsageError(
                    f"{output_dir} holds a run already ({MANIFEST}); pass `resume=True` to go on with it, or name "
                    "another folder"
                ).about("output_dir")
            job.check_same(saved)
            job.summary = saved.get("summary")
        elif output_dir.is_dir() and (others := sorted(p.name for p in output_dir.iterdir() if p.name != LOCK)):
            raise UsageError(
                f"{output_dir} is a folder with other files in it and no {MANIFEST} (so not a run to resume): "
                f"{', '.join(others[:3])}; name a new or empty one"
            ).about("output_dir")
        output_dir.mkdir(parents=True, exist_ok=True)
        for partial in output_dir.rglob("*.partial"):  # what a killed run was writing: never complete
            partial.unlink()
        job.done = {shard.output for shard in shards if (output_dir / shard.output).is_file()}
        job.end_done_log()
        job.write_manifest(job.summary if not job.pending() else None)
        return job

    def read_manifest(self) -> dict | None:
        """The saved manifest, None when there is none; a manifest that is not one is a clear error."""
        manifest = self.output_dir / MANIFEST
        if not manifest.is_file():
            return None
        try:
            saved = json.loads(manifest.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise UsageError(f"{manifest}: not a manifest of vaner predict ({error}); name another folder").about(
                "output_dir"
            ) from None
        if not isinstance(saved, dict) or "vaner_predict_manifest" not in saved:
            raise UsageError(f"{manifest}: not a manifest of vaner predict; name another folder").about("output_dir")
        if saved["vaner_predict_manifest"] != MANIFEST_VERSION:
            raise UsageError(
                f"{self.output_dir} was started by another version of vaner (manifest "
                f"{saved['vaner_predict_manifest']!r}, this one writes {MANIFEST_VERSION}); tag into a new folder"
            ).about("output_dir")
        return saved

    def end_done_log(self) -> None:
        """Cut a last `done.jsonl` line that a kill left unfinished, so the next record starts on a line of its own."""
        log = self.output_dir / DONE_LOG
        if log.is_file() and (data := log.read_bytes()) and not data.endswith(b"\n"):
            log.write_bytes(data[: data.rfind(b"\n") + 1])

    def check_same(self, saved: dict) -> None:
        if saved.get("settings") != self.settings:
            changed = sorted(
                key
                for key in {*self.settings, *saved.get("settings", {})}
                if self.settings.get(key) != saved.get("settings", {}).get(key)
            )
            raise UsageError(
                f"{self.output_dir} was tagged with other settings ({', '.join(changed)}); go on with the same "
                "ones, or name another folder"
            ).about("output_dir")
        if saved.get("shards") != [asdict(shard) for shard in self.shards]:
            raise UsageError(
                f"{self.output_dir}: the input files changed since it was started (their names, documents or "
                "bytes); tag them into a new folder"
            ).about("output_dir")

    def pending(self) -> list[Shard]:
        return [shard for shard in self.shards if shard.output not in self.done]

    def finish_shard(self, shard: Shard, counts: ShardCounts) -> None:
        """Record a shard whose file is in place (a line cut short by a kill is only a lost count)."""
        self.done.add(shard.output)
        with open(self.output_dir / DONE_LOG, "a", encoding="utf-8") as log:
            log.write(json.dumps({"output": shard.output, **asdict(counts)}) + "\n")

    def write_manifest(self, summary: dict | None = None) -> None:
        record = {
            "vaner_predict_manifest": MANIFEST_VERSION,
            "settings": self.settings,
            "shards": [asdict(shard) for shard in self.shards],
            "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        }
        if summary is not None:
            record["summary"] = summary
        write_json_atomically(self.output_dir / MANIFEST, record)
