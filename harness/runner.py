"""Score any model on any registered BioNER corpus and split: VANER models through their instructions, ordinary
transformers token classifiers (baselines) through the same word-level path.

Predictions are mapped back to the corpus's words (each word's first sub-token); long sentences go through windows,
so every word is scored. Results are written after each dataset, so a partial run keeps what it computed.
"""

import json
import platform
import time
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import evaluate
from transformers.utils import logging

from modeling_vaner.corpora import CorpusError, file_stem, get_corpus, load_corpus
from modeling_vaner.documents import DocumentCorpusError, document_corpus, is_document_corpus
from modeling_vaner.encoders import encoder_windows, first_subtokens
from modeling_vaner.errors import VanerError
from modeling_vaner.formats import read_conll_sentences
from modeling_vaner.processing_vaner import VANER_LABELS, repair_bio, tidy_tags
from modeling_vaner.runtimes import resolve_runtime

from .documents import as_tagged, evaluate_documents
from .leaderboard import write_leaderboard
from .results import SCHEMA_VERSION, NotScoredError, ResultsError, read_results, write_results

METRIC_PATH = Path(__file__).resolve().parent / "metrics" / "bioner_f1"
logger = logging.get_logger(__name__)
# How a VANER model is asked for a corpus's type: its dataset's instruction (the leaderboard), the adaptive one (no
# dataset), or, with a head per type, the instruction naming every type (what `vaner predict` asks), read on the
# corpus's type head.
REQUESTS = ("dataset", "adaptive", "all-types")


class HarnessError(VanerError, ValueError):
    pass


def with_type(tags: list[str], entity_type: str) -> list[str]:
    """Type-free `B`/`I`/`O` as `B-<type>`/`I-<type>`/`O`, for per-type scores."""
    return [tag if tag == "O" else f"{tag}-{entity_type}" for tag in tags]


class VanerPredictor:
    """Word-level tags from a VANER model: one instruction per corpus (its guidelines if the model knows the corpus,
    else the adaptive instruction)."""

    kind = "vaner"

    def __init__(
        self,
        model,
        tokenizer,
        batch_size: int = 16,
        max_length: int | None = None,
        guidelines: str | None = None,
        request: str = "dataset",
    ):
        from modeling_vaner import VanerTagger

        if [model.config.id2label[i] for i in range(model.config.num_labels)] != list(VANER_LABELS):
            raise HarnessError(f"A VANER model must label O, B, I; this one has {model.config.id2label}.")
        self.tagger = VanerTagger(model, tokenizer, max_length=max_length)
        self.max_length = self.tagger.max_length
        self.config = model.config
        self.batch_size = batch_size
        if guidelines is not None and guidelines not in self.config.datasets:
            raise HarnessError(
                f"{guidelines}: the model knows the guidelines of "
                f"{', '.join(self.config.datasets) or 'no corpus (it uses the adaptive instruction)'}."
            ).about("guidelines")
        if request not in REQUESTS:
            raise HarnessError(f"{request}: use one of {', '.join(REQUESTS)}").about("request")
        if request == "all-types" and self.config.head_layout != "per_type":
            raise HarnessError("all-types needs a model with a head per type; this one has one shared head").about(
                "request"
            )
        self.guidelines, self.request = guidelines, request

    def instruction(self, dataset: str, entity_type: str) -> str:
        """The corpus's own guidelines when the model knows them (or `guidelines`, when given), else adaptive; with
        `request` adaptive, never a dataset; all-types, every type the model knows (read on the corpus's head)."""
        if self.request == "all-types":
            return self.config.instruction(self.config.entity_types)
        if self.request == "adaptive":
            return self.config.instruction(entity_type)
        if self.guidelines is not None:
            return self.config.instruction(entity_type, self.guidelines)
        known = dataset in self.config.datasets
        return self.config.instruction(entity_type, dataset if known else None)

    def predict(self, sentences: list[list[str]], dataset: str, entity_type: str) -> list[list[str]]:
        if entity_type not in self.config.entity_types:
            raise NotScoredError(
                f"the model does not know entity type {entity_type!r}; it knows {', '.join(self.config.entity_types)}"
            )
        instruction = self.instruction(dataset, entity_type)
        outputs = self.tagger.tag_words(
            [(words, instruction) for words in sentences], self.batch_size, progress=True, entity_type=entity_type
        )
        return [tags for tags, _ in outputs]


class TokenClassifierPredictor:
    """Word-level tags from an ordinary token classifier whose labels are IOB2 (`B-X`/`I-X`/`O`, or untyped
    `B`/`I`/`O`). With typed labels, only the corpus's entity type counts; other types become `O`."""

    kind = "token-classification"

    def __init__(self, model, tokenizer, batch_size: int = 32, max_length: int | None = None):
        labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
        bad = [label for label in labels if not (label == "O" or label[:2] in ("B-", "I-") or label in ("B", "I"))]
        if bad or "O" not in labels:
            raise HarnessError(f"The model's labels are not IOB2 (O, B-X, I-X): {labels}.")
        self.model, self.tokenizer, self.labels, self.batch_size = model.eval(), tokenizer, labels, batch_size
        self.max_length = max_length or min(
            tokenizer.model_max_length, getattr(model.config, "max_position_embeddings", 512)
        )

    def _tag(self, label: str, entity_type: str) -> str:
        prefix, _, kind = label.partition("-")
        return prefix if prefix != "O" and (not kind or kind == entity_type) else "O"

    def predict(self, sentences: list[list[str]], dataset: str, entity_type: str) -> list[list[str]]:
        import torch

        rows = [
            (encoding, index, window)
            for index, words in enumerate(sentences)
            for encoding, window in encoder_windows(self.tokenizer, words, self.max_length)
        ]
        tags = [["O"] * len(words) for words in sentences]
        rows.sort(key=lambda row: len(row[0]["input_ids"]))
        for start in logging.tqdm(range(0, len(rows), self.batch_size), desc="tagging", unit="batch"):
            batch = rows[start : start + self.batch_size]
            padded = self.tokenizer.pad([{"input_ids": row[0]["input_ids"]} for row in batch], return_tensors="pt")
            with torch.inference_mode():
                best = self.model(**padded.to(self.model.device)).logits.argmax(-1).cpu()
            for r, (encoding, index, window) in enumerate(batch):
                # A core word's first sub-token carries its label; a word cut off by truncation stays O.
                for position, word in first_subtokens(encoding, window):
                    tags[index][word] = self._tag(self.labels[int(best[r, position])], entity_type)
        return [repair_bio(sentence_tags) for sentence_tags in tags]


def load_predictor(
    model_name_or_path: str,
    revision: str | None = None,
    batch_size: int = 16,
    dtype: str | None = None,
    device: str | None = "auto",
    guidelines: str | None = None,
    request: str = "dataset",
    runtime: str = "torch",
):
    """A VANER model (config `model_type` vaner) or any `AutoModelForTokenClassification` checkpoint, on `device`
    (auto: CUDA when present) in `dtype` (default: bfloat16 on CUDA, float32 on the CPU); with `runtime` onnx or
    onnx-int8, a VANER model's ONNX export on ONNX Runtime (`vaner export-onnx`), on the CPU (`run_eval` has
    resolved `auto` before)."""
    from transformers import AutoConfig, AutoModelForTokenClassification, AutoTokenizer

    from modeling_vaner import load_vaner
    from modeling_vaner.loading import resolve_dtype
    from modeling_vaner.onnx_runtime import load_for_runtime
    from modeling_vaner.training.checkpoints import load_run_checkpoint

    if runtime != "torch":
        model, tokenizer = load_for_runtime(model_name_or_path, runtime)
        return VanerPredictor(model, tokenizer, batch_size=batch_size, guidelines=guidelines, request=request)
    target, _ = device_and_dtype(device, dtype)
    weights_dtype = resolve_dtype(dtype, target)
    folder = Path(model_name_or_path)
    if (folder / "adapter_config.json").is_file() and not (folder / "config.json").is_file():
        model, tokenizer = load_run_checkpoint(folder, dtype=weights_dtype)  # runs/x/checkpoint-N of a LoRA run
        return VanerPredictor(
            model.to(target), tokenizer, batch_size=batch_size, guidelines=guidelines, request=request
        )
    try:
        config = AutoConfig.from_pretrained(model_name_or_path, revision=revision)
    except (OSError, ValueError) as error:
        raise HarnessError(f"Cannot load a model config from {model_name_or_path!r}: {error}") from None
    if config.model_type == "vaner":
        model, tokenizer = load_vaner(model_name_or_path, dtype=weights_dtype, revision=revision, device=target)
        return VanerPredictor(model, tokenizer, batch_size=batch_size, guidelines=guidelines, request=request)
    model = (
        AutoModelForTokenClassification.from_pretrained(model_name_or_path, revision=revision, dtype=weights_dtype)
        .to(target)
        .eval()
    )
    tokenizer = AutoTokenizer.from_pretrained(model_name_or_path, revision=revision)
    return TokenClassifierPredictor(model, tokenizer, batch_size=batch_size)


def evaluate_dataset(
    predictor, dataset: str, split: str = "test", limit: int | None = None, predictions_dir: str | Path | None = None
) -> dict:
    """Score `predictor` on one corpus split; optionally write `word gold predicted` CoNLL for error analysis."""
    corpus = get_corpus(dataset)
    data = load_corpus(dataset, split)
    if limit is not None:
        data = data.select(range(min(limit, len(data))))
    sentences = data["tokens"]
    gold = [with_type([VANER_LABELS[t] for t in tags], corpus.entity_type) for tags in data["ner_tags"]]
    start = time.perf_counter()
    drawn, tidy = predicted_tags(predictor, sentences, dataset, corpus.entity_type)
    seconds = time.perf_counter() - start
    predicted = [with_type(tags, corpus.entity_type) for tags in tidy]
    metric = evaluate.load(str(METRIC_PATH))
    scores = metric.compute(predictions=predicted, references=gold)
    words = sum(map(len, sentences))
    if predictions_dir is not None:
        write_predictions(Path(predictions_dir) / f"{file_stem(dataset)}.{split}.conll", sentences, gold, predicted)
    return {
        "dataset": dataset,
        "split": split,
        "entity_type": corpus.entity_type,
        "instruction": predictor.instruction(dataset, corpus.entity_type) if predictor.kind == "vaner" else None,
        "sentences": len(sentences),
        "words": words,
        "limit": limit,
        "strict": {k: scores[k] for k in ("precision", "recall", "f1")},
        "default": {k: scores[f"default_{k}"] for k in ("precision", "recall", "f1")},
        "per_type": scores["per_type"],
        "gold_entities": scores["gold_entities"],
        "predicted_entities": scores["predicted_entities"],
        **tags_before_tidying(metric, drawn, tidy, gold, corpus.entity_type),
        "seconds": round(seconds, 2),
        "words_per_second": round(words / seconds, 1) if seconds else None,
    }


def predicted_tags(predictor, sentences, dataset: str, entity_type: str) -> tuple[list | None, list]:
    """`(as drawn, as given)`: a VANER model's tags before its boundary rule (None for other models, or when the
    rule is off) and the tags it gives."""
    if predictor.kind != "vaner" or not predictor.tagger.tidy_mentions:
        return None, predictor.predict(sentences, dataset, entity_type)
    with as_tagged(predictor.tagger):
        drawn = predictor.predict(sentences, dataset, entity_type)
    return drawn, [tidy_tags(words, tags) for words, tags in zip(sentences, drawn)]


def tags_before_tidying(metric, drawn, tidy, gold, entity_type: str) -> dict:
    """The row's `tidy_mentions` and `untidied` fields: strict P/R/F1 of the tags before the boundary rule, and how
    many sentences it changed."""
    if drawn is None:
        return {}
    before = metric.compute(predictions=[with_type(tags, entity_type) for tags in drawn], references=gold)
    return {
        "tidy_mentions": True,
        "untidied": {
            "strict": {k: before[k] for k in ("precision", "recall", "f1")},
            "changed_sentences": sum(a != b for a, b in zip(drawn, tidy)),
        },
    }


def evaluate_corpus(predictor, name: str, split: str, limit, predictions_dir, type_map=None) -> dict | None:
    """One corpus's results row: a document corpus at the character level, a sentence corpus word by word; None,
    said as a warning, when the model knows none of the corpus's types (the other corpora are still scored)."""
    try:
        if is_document_corpus(name):
            return evaluate_documents(predictor, name, split, limit, type_map)
        return evaluate_dataset(predictor, name, split, limit, predictions_dir)
    except NotScoredError as error:
        logger.warning(f"{name} ({split}): not scored: {error}")
        return None


def write_predictions(path: Path, sentences, gold, predicted) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as out:
        for words, gold_tags, predicted_tags in zip(sentences, gold, predicted):
            out.writelines(f"{w}\t{g}\t{p}\n" for w, g, p in zip(words, gold_tags, predicted_tags))
            out.write("\n")


def read_predictions(path: str | Path) -> tuple[list[list[str]], list[list[str]]]:
    """`(gold, predicted)` tag sequences of a predictions file (`word gold predicted` per line)."""

    gold, predicted = [], []
    for sentence in read_conll_sentences(path):
        for number, columns in sentence:
            if len(columns) != 3:
                raise HarnessError(f"{path}:{number}: expected 'word<TAB>gold<TAB>predicted'")
        gold.append([columns[1] for _, columns in sentence])
        predicted.append([columns[2] for _, columns in sentence])
    return gold, predicted


def package_versions() -> dict:
    names = ["vaner", "torch", "transformers", "peft", "evaluate", "seqeval", "datasets"]
    versions = {}
    for name in names:
        try:
            versions[name] = version(name)
        except Exception:  # noqa: BLE001 - a missing package is recorded, not fatal
            versions[name] = None
    versions["python"] = platform.python_version()
    return versions


def describe_device(device) -> dict:
    """What ran the model: `{type, name, threads}` (the GPU's name, or the CPU model from /proc/cpuinfo)."""
    import torch

    from modeling_vaner.loading import cpuinfo_field

    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
    else:
        name = cpuinfo_field("model name") or platform.processor() or platform.machine()
    return {"type": device.type, "name": name, "threads": torch.get_num_threads()}


def training_summary(model_path: str) -> Path | None:
    """The `training_summary.json` that `vaner train` wrote for a local model (in its folder or the run folder
    above it, e.g. `runs/x/final`), or None for Hub ids, models trained elsewhere and intermediate checkpoints
    (the run's summary is not theirs)."""
    folder = Path(model_path)
    if (folder / "trainer_state.json").is_file():
        return None
    for candidate in (folder / "training_summary.json", folder.parent / "training_summary.json"):
        if folder.is_dir() and candidate.is_file():
            return candidate
    return None


def training_seconds(summary: Path) -> float | None:
    """The training time a `training_summary.json` records, or None (with a warning) when it records none: the
    summary is metadata beside a model, never a reason to fail scoring it."""
    import warnings

    try:
        seconds = json.loads(summary.read_text(encoding="utf-8"))["seconds"]
        if isinstance(seconds, (int, float)) and not isinstance(seconds, bool) and seconds >= 0:
            return float(seconds)
        problem = f"its seconds is {seconds!r}"
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        problem = f"it cannot be read ({error})"
    except (KeyError, TypeError):
        problem = "it records no seconds"
    warnings.warn(f"{summary}: {problem}; the leaderboard shows no training time for it.", stacklevel=2)
    return None


def check_splits(datasets: list[str], split: str) -> None:
    """Every corpus's split file is there, before any model loads (a missing test.tsv is named at once)."""
    for name in datasets:
        (document_corpus(name) if is_document_corpus(name) else get_corpus(name)).check_split(split)


def device_and_dtype(device: str | None, dtype: str | None) -> tuple:
    """The device to score on and the dtype's name, as resolved (`loading.resolve_device`, `resolve_dtype`)."""
    from modeling_vaner.loading import DeviceError, resolve_device, resolve_dtype

    try:
        target = resolve_device(device)
    except DeviceError as error:
        raise HarnessError(error.message).about("device") from None
    return target, str(resolve_dtype(dtype, target)).removeprefix("torch.")


def check_datasets(datasets: list[str], split: str) -> None:
    """Each corpus named once, known, and holding `split`: `HarnessError` otherwise."""
    if len(set(datasets)) != len(datasets):
        twice = sorted({name for name in datasets if datasets.count(name) > 1})
        raise HarnessError(f"names {', '.join(twice)} more than once; name each corpus once.").about("datasets")
    try:
        check_splits(datasets, split)
    except (CorpusError, DocumentCorpusError) as error:  # an unknown corpus, a folder that is none
        raise error.about("datasets") from None


def check_places(datasets: list[str], split: str, output: str | Path, predictions_dir: str | None) -> Path:
    """Before any model loads: every corpus known and holding `split`, the folders of `output` and
    `predictions_dir` made (an unwritable one fails here). Returns `output` as a path."""
    check_datasets(datasets, split)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    if predictions_dir is not None:
        Path(predictions_dir).mkdir(parents=True, exist_ok=True)
    return output


def run_eval(
    model: str,
    datasets: list[str],
    split: str = "test",
    output: str | Path = "results.json",
    limit: int | None = None,
    predictions_dir: str | None = None,
    revision: str | None = None,
    batch_size: int = 16,
    dtype: str | None = None,
    model_name: str | None = None,
    resume: bool = False,
    device: str | None = "auto",
    guidelines: str | None = None,
    type_map: dict[str, str] | None = None,
    request: str = "dataset",
    runtime: str = "auto",
) -> dict:
    """Evaluate `model` on each dataset, merging each corpus's row into `output` (JSON, `results.write_results`)
    and rewriting its markdown leaderboard as soon as it is scored; returns what `output` then holds.

    A `{dataset}` in `model` names one model per corpus (the classic setup: `runs/minilm/{dataset}/final`); they
    make one leaderboard row, whose training time is the sum of theirs. With `resume`, datasets that `output`
    already scored for the same model and settings are kept, not run again (a long run stopped half way); rows of
    corpora this run does not name are always kept. `device` and `dtype` as in `load_predictor`; the file records
    both (the dtype by name, as resolved). `guidelines`: instruct every corpus with that known corpus's guidelines
    (recorded; a file scored otherwise is not resumed). A document corpus (`BioRED`, a folder of PubTator files) is
    scored at the character level (`harness.documents`), its type names mapped by `type_map` where given.
    `runtime`: torch, onnx or onnx-int8 (ONNX Runtime, CPU), or `auto` (`runtimes.resolve_runtime`); recorded as run."""
    runtime = resolve_runtime(model, runtime, device)
    target, dtype = device_and_dtype(device, dtype)
    if runtime != "torch" and target.type != "cpu":
        raise HarnessError(f"{runtime} runs on the CPU, not on device {device}").about("runtime")
    output = check_places(datasets, split, output, predictions_dir)
    recorded = recorded_settings(request, runtime)
    done = {}
    if resume:
        done = finished_results(output, model, datasets, split, limit, revision, dtype, guidelines, **recorded)
    report = new_report(model, model_name, revision, dtype, target, {"guidelines": guidelines, **recorded})
    report["max_length"] = next(iter(done.values()))["max_length"] if done else None  # what kept rows were scored at
    add_training_time(report, [model.replace("{dataset}", name) for name in datasets])
    predictors = Predictors(model, revision, batch_size, dtype, target, guidelines, request, runtime)
    written = None  # what the file holds after this run's last write: its rows and every row it kept
    for name in datasets:
        if name in done:
            report["kind"] = report["kind"] or done[name]["kind"]
            report["results"].append(done[name]["result"])
            continue
        predictor = predictors.get(name)
        report["kind"] = report["kind"] or predictor.kind
        if done:
            check_same_length(report["max_length"], predictor.max_length, output)
        report["max_length"] = predictor.max_length
        if (row := evaluate_corpus(predictor, name, split, limit, predictions_dir, type_map)) is None:
            continue
        report["results"].append(row)
        written = write_report(report, output, replace_other=not (resume or written))
    if written is None and report["kind"] is not None:  # everything was already done (resume): record this run
        written = write_report(report, output)
    return written or report


def check_same_length(kept: int | None, now: int, output: Path) -> None:
    """Rows scored at another input length must not mix with this run's (a resumed file)."""
    if kept != now:
        kept_at = f"max_length {kept}" if kept else "a max_length it does not record"
        raise HarnessError(
            f"{output}: cannot resume from it: it ran the model at {kept_at}, this run uses {now}; write to another file."
        ).about("output")


def recorded_settings(request: str, runtime: str) -> dict:
    """How the model was asked and run, as a results file records it: files without these fields asked each
    dataset's own instruction, on PyTorch (so None stands for those)."""
    return {"request": None if request == "dataset" else request, "runtime": None if runtime == "torch" else runtime}


def new_report(model: str, model_name: str | None, revision: str | None, dtype: str, target, settings=None) -> dict:
    """A results file's header for this run (`settings`: guidelines, request, runtime), with no rows yet."""
    return {
        "schema_version": SCHEMA_VERSION,
        "model": model_name or str(model),
        "model_path": str(model),
        "revision": revision,
        "kind": None,
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "package_versions": package_versions(),
        "dtype": dtype,
        "device": describe_device(target),
        "max_length": None,  # set once the model is loaded: the length it runs at
        "training": {"seconds": 0.0, "summaries": []},
        **(settings or {}),
        "results": [],
    }


def add_training_time(report: dict, model_paths: list[str]) -> None:
    """Sum the training time of the runs behind the model(s), each summary once."""
    for path in model_paths:
        summary = training_summary(path)
        if summary is None or str(summary) in report["training"]["summaries"]:
            continue
        seconds = training_seconds(summary)
        if seconds is not None:
            report["training"]["summaries"].append(str(summary))
            report["training"]["seconds"] += seconds


class Predictors:
    """The predictor for each corpus: one model loaded once, or (with `{dataset}` in the path) one per corpus."""

    def __init__(
        self, model: str, revision, batch_size, dtype, target, guidelines=None, request="dataset", runtime="torch"
    ):
        self.model = model
        self.kwargs = dict(
            revision=revision,
            batch_size=batch_size,
            dtype=dtype,
            device=target,
            guidelines=guidelines,
            request=request,
            runtime=runtime,
        )
        self.loaded = None

    def get(self, dataset: str):
        if "{dataset}" not in self.model:
            self.loaded = self.loaded or load_predictor(self.model, **self.kwargs)
            return self.loaded
        path = self.model.replace("{dataset}", dataset)
        if not Path(path).exists():
            raise HarnessError(f"{self.model}: no model for {dataset} ({path} does not exist).").about("model")
        return load_predictor(path, **self.kwargs)


def write_report(report: dict, output: Path, replace_other: bool = False) -> dict:
    """Merge `report` into `output` (`results.write_results`: under a lock, atomically, keeping the rows of other
    corpora) and rewrite the markdown leaderboard beside it from what was written; returns that."""

    written = write_results(report, output, replace_other=replace_other)
    write_leaderboard([written], output.with_suffix(".md"))
    return written


def finished_results(
    output: Path,
    model: str,
    datasets: list[str],
    split: str,
    limit: int | None,
    revision: str | None,
    dtype: str,
    guidelines: str | None = None,
    request: str | None = None,
    runtime: str | None = None,
) -> dict:
    """The rows `output` already holds of `datasets` for this exact model and settings, by dataset (for `resume`).
    Rows of other corpora are not this run's business: writing keeps them as they are."""
    if not output.is_file():
        return {}
    try:
        saved = read_results(output)
    except ResultsError as error:
        raise HarnessError(f"Cannot resume: {error}") from None
    settings = {
        "model": saved.get("model_path"),
        "revision": saved["revision"],
        "dtype": saved.get("dtype"),
        "guidelines": saved.get("guidelines"),
        "request": saved.get("request"),
        "runtime": saved.get("runtime"),
    }
    wanted = {
        "model": str(model),
        "revision": revision,
        "dtype": dtype,
        "guidelines": guidelines,
        "request": request,
        "runtime": runtime,
    }
    if settings != wanted:
        raise HarnessError(
            f"{output}: cannot resume from it: it scored {settings}, not {wanted}; write to another file."
        ).about("output")
    kept = {}
    for result in saved["results"]:
        if result["dataset"] not in datasets:
            continue
        if (result["split"], result.get("limit")) != (split, limit):
            raise HarnessError(
                f"Cannot resume from {output}: its {result['dataset']} row is split "
                f"{result['split']!r}, limit {result.get('limit')}; this run scores {split!r}, "
                f"limit {limit}."
            )
        kept[result["dataset"]] = {"kind": saved.get("kind"), "max_length": saved.get("max_length"), "result": result}
    return kept
