# Copyright 2026 The VANER authors. Licensed under the Apache License, Version 2.0.
"""Running a VANER model: rows from `processing_vaner` -> bidirectional model -> a label per word -> typed spans.

`VanerTagger` is the Python API (batches every row of every text and entity type together, length-sorted);
`VanerNERPipeline` is the custom transformers pipeline `vaner-ner` (`preprocess` / `_forward` / `postprocess`, so
the pipeline's own batching and `device=` work as for any pipeline). Both take the path of `processing_vaner`, the
one training takes too.

Remote code: uploaded to the Hub beside the weights, so it imports only `torch`, `transformers` and the files
beside it.
"""

import json
from collections.abc import Iterable, Sequence
from pathlib import Path

import torch
from transformers import PreTrainedTokenizerBase
from transformers.pipelines.base import ChunkPipeline
from transformers.pipelines.token_classification import TokenClassificationPipeline
from transformers.utils import cached_file, logging
from transformers.utils.import_utils import is_onnxruntime_available

from .processing_vaner import (
    DEFAULT_MAX_LENGTH,
    ONNX_CHECKS,
    ONNX_FILES,
    ONNX_FOLDER,
    EncodedRow,
    Request,
    RequestedText,
    RequestEncoder,
    check_threshold,
    drop_unsure,
    export_agrees,
    repair_bio,
    tidy_tags,
)


class VanerTagger:
    """Typed entity spans with character offsets from raw text, for several entity types in one batched pass: one
    input per sentence and type with a shared head, one input per sentence for every type with a head per type.

    Example:

    ```python
    >>> tagger = VanerTagger(model, tokenizer)
    >>> tagger("Aspirin lowers the risk of breast cancer.")
    [[{'start': 0, 'end': 7, 'text': 'Aspirin', 'type': 'Chemical', 'score': 0.98}, ...]]
    ```

    Args:
        model: a `VanerForTokenClassification` (or a PEFT model around one).
        tokenizer: its tokenizer.
        max_length: the most tokens one model input holds, instruction included; longer sentences go through
            overlapping windows, and every word is labelled exactly once. Defaults to the model's
            `config.max_length` (the length it was trained at), else 512.
        context: tokens of context each window keeps on either side of the words it labels.
        pack_tokens: put consecutive sentences of a text behind one instruction, in inputs of at most this many
            tokens; 0 runs one sentence per input. Defaults to the model's `config.pack_tokens`: run a model the
            way it was trained.
        tidy_mentions: draw mention boundaries as the corpora do (`processing_vaner.tidy_span`: no trailing
            punctuation, no bracket a mention leaves open); False keeps the model's words as they are.
        threshold: the least score a mention must have to be kept: one number, or `{entity_type: number}`;
            None keeps every mention (`processing_vaner.check_threshold`).
    """

    def __init__(
        self,
        model,
        tokenizer: PreTrainedTokenizerBase,
        max_length: int | None = None,
        context: int | None = None,
        pack_tokens: int | None = None,
        tidy_mentions: bool = True,
        threshold: float | dict[str, float] | None = None,
    ):
        if max_length is not None and (
            isinstance(max_length, bool) or not isinstance(max_length, int) or max_length < 1
        ):
            raise ValueError(f"max_length must be a whole number of tokens, at least 1; got {max_length!r}")
        self.model = model
        self.tokenizer = tokenizer
        self.config = model.config
        self.pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self.encoder = RequestEncoder(
            tokenizer,
            max_length=max_length or getattr(self.config, "max_length", None) or DEFAULT_MAX_LENGTH,
            context=context,
            pack_tokens=getattr(self.config, "pack_tokens", 0) if pack_tokens is None else pack_tokens,
            pad_token_id=self.pad_token_id,
        )
        self.id2label = [self.config.id2label[i] for i in range(self.config.num_labels)]
        self.tidy_mentions = tidy_mentions
        self.thresholds = check_threshold(threshold, self.config.entity_types)

    @property
    def max_length(self) -> int:
        return self.encoder.max_length

    @property
    def pack_tokens(self) -> int:
        return self.encoder.pack_tokens

    def instructions(
        self, entity_types: Iterable[str] | None, dataset: str | None
    ) -> list[tuple[tuple[str, ...], str]]:
        """`(entity_types, instruction)` pairs, one per model input a sentence needs: one per type with a shared
        head, one naming every type with a head per type. Unknown types or datasets raise ValueError naming what
        is known."""
        # Each type once, in the order requested: `Chemical,Chemical` requests chemicals once.
        types = tuple(dict.fromkeys(entity_types if entity_types is not None else self.config.entity_types))
        if not types:
            raise ValueError(f"No entity type requested; this model knows {', '.join(self.config.entity_types)}.")
        if self.config.head_layout == "per_type":  # named in the model's order, as training names them
            for entity_type in types:
                self.config.check_type(entity_type)
            types = tuple(t for t in self.config.entity_types if t in types)
            return [(types, self.config.instruction(types, dataset))]
        return [((entity_type,), self.config.instruction(entity_type, dataset)) for entity_type in types]

    def typed(
        self,
        requested: RequestedText,
        heads: list[list[tuple[list[str], list[float]]]],
        thresholds: dict[str, float] | None = None,
    ) -> list[list[tuple[list[str], list[float]]]]:
        """Per request of `requested`, the `(tags, scores)` of each type it requests, from every head's (`tag_heads`),
        without the mentions below the type's threshold (`thresholds`, default the tagger's)."""
        return [
            [self.sure(per_head[self.head_index(entity_type)], entity_type, thresholds) for entity_type in types]
            for types, per_head in zip(requested.entity_types, heads)
        ]

    def sure(
        self, tagged: tuple[list[str], list[float]], entity_type: str | None, thresholds: dict[str, float] | None = None
    ) -> tuple[list[str], list[float]]:
        """`(tags, scores)` without the mentions scored below `entity_type`'s threshold."""
        threshold = (self.thresholds if thresholds is None else thresholds).get(entity_type, 0.0)
        tags, scores = tagged
        return (drop_unsure(tags, scores, threshold), scores) if threshold else tagged

    def head_index(self, entity_type: str | None) -> int:
        """The head that tags `entity_type` (a shared head: 0, whatever the type)."""
        if self.config.head_layout != "per_type":
            return 0
        if entity_type is None:
            raise ValueError("This model has one head per entity type: name the type whose tags you want.")
        return self.config.head_index(entity_type)

    def __call__(
        self,
        texts: str | list[str],
        entity_types: Iterable[str] | None = None,
        dataset: str | None = None,
        batch_size: int = 16,
    ) -> list[list[dict]]:
        """Entities per text: dicts `{start, end, text, type, score}` with `text == texts[i][start:end]`, sorted by
        position. `dataset` picks that corpus's guidelines (VANER); None uses the adaptive instruction."""
        return [entities for _, entities in self.tag_texts(texts, entity_types, dataset, batch_size)]

    def tag_texts(
        self,
        texts: str | list[str],
        entity_types: Iterable[str] | None = None,
        dataset: str | None = None,
        batch_size: int = 16,
    ) -> list[tuple[RequestedText, list[dict]]]:
        """Per text, its words and sentences as the tagger split them (`RequestedText`) and its entities."""
        if isinstance(texts, str):
            texts = [texts]
        instructions = self.instructions(entity_types, dataset)
        requested = []
        for index, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"Text {index} is a {type(text).__name__}, not a str.")
            requested.append(RequestedText.build(text, instructions, document=index))
        heads = self.tag_heads([request for text in requested for request in text.requests], batch_size)
        results, start = [], 0
        for text in requested:
            results.append((text, text.entities(self.typed(text, heads[start : start + len(text.requests)]))))
            start += len(text.requests)
        return results

    def tag_words(
        self,
        requests: Sequence[Request | tuple[list[str], str]],
        batch_size: int = 16,
        progress: bool = False,
        entity_type: str | None = None,
    ) -> list[tuple[list[str], list[float]]]:
        """Label pre-split words: for each request (a `Request`, or a `(words, instruction)` pair), valid IOB2 tags
        (`B`/`I`/`O`, one per word) and the probability of each word's most likely label. Long requests go through
        windows; all rows are length-sorted and batched together, whatever their instruction. A model with one
        head per type answers for `entity_type`'s head."""
        head = self.head_index(entity_type)
        return [self.sure(per_head[head], entity_type) for per_head in self.tag_heads(requests, batch_size, progress)]

    def tag_heads(
        self, requests: Sequence[Request | tuple[list[str], str]], batch_size: int = 16, progress: bool = False
    ) -> list[list[tuple[list[str], list[float]]]]:
        """As `tag_words`, for every head: `result[request][head]` is `(tags, scores)`."""
        requests = [request if isinstance(request, Request) else Request(*request) for request in requests]
        rows = sorted(self.encoder.encode(requests), key=lambda row: len(row.input_ids))
        label_ids, scores = blank_labels(requests, self.config.num_type_heads)
        starts = range(0, len(rows), batch_size)
        for batch_start in logging.tqdm(starts, desc="tagging", unit="batch") if progress else starts:
            batch = rows[batch_start : batch_start + batch_size]
            probabilities = self._forward([row.input_ids for row in batch], [row.positions for row in batch])
            place_labels(batch, probabilities, label_ids, scores)
        return self.tags(requests, label_ids, scores)

    def tags(
        self, requests: list[Request], label_ids: list[list[list[int]]], scores: list[list[list[float]]]
    ) -> list[list[tuple[list[str], list[float]]]]:
        """Per request and head, its words' label ids as valid IOB2 tags (BIO repair fixes the structure only;
        `tidy_mentions` then draws the boundaries), and scores."""
        tagged = []
        for request, head_ids, head_scores in zip(requests, label_ids, scores):
            per_head = []
            for ids, word_scores in zip(head_ids, head_scores):
                tags = repair_bio([self.id2label[i] for i in ids])
                per_head.append((tidy_tags(request.words, tags) if self.tidy_mentions else tags, word_scores))
            tagged.append(per_head)
        return tagged

    @torch.inference_mode()
    def _forward(self, sequences: list[list[int]], positions: list[list[int]]) -> torch.Tensor:
        """Label probabilities at the given positions of each sequence, row after row: `[positions, labels]`, or
        `[positions, heads, labels]` with a head per type."""
        length = max(len(sequence) for sequence in sequences)
        device = next(self.model.parameters()).device
        input_ids = torch.tensor([sequence + [self.pad_token_id] * (length - len(sequence)) for sequence in sequences])
        attention_mask = (torch.arange(length) < torch.tensor([[len(sequence)] for sequence in sequences])).long()
        logits = self.model(input_ids=input_ids.to(device), attention_mask=attention_mask.to(device)).logits
        rows = torch.repeat_interleave(torch.arange(len(positions)), torch.tensor([len(p) for p in positions]))
        columns = torch.tensor(
            [position for row_positions in positions for position in row_positions], dtype=torch.long
        )
        return logits[rows.to(device), columns.to(device)].float().softmax(-1).cpu()


def blank_labels(requests: Sequence[Request], heads: int = 1) -> tuple[list[list[list[int]]], list[list[list[float]]]]:
    """Room for each request's word label ids and scores per head, filled by `place_labels`."""
    return (
        [[[0] * len(request.words) for _ in range(heads)] for request in requests],
        [[[0.0] * len(request.words) for _ in range(heads)] for request in requests],
    )


def place_labels(
    rows: list[EncodedRow],
    probabilities: torch.Tensor,
    label_ids: list[list[list[int]]],
    scores: list[list[list[float]]],
) -> None:
    """Give each request's words, from `probabilities` `[positions of rows, heads, labels]` (read at
    `row.positions`, row after row; `[positions of rows, labels]` for a shared head), their most likely label id
    and its probability per head (`label_ids[request][head][word]`, `scores[...]`)."""
    if probabilities.dim() == 2:
        probabilities = probabilities.unsqueeze(1)
    best = probabilities.argmax(-1)
    best_ids = best.T.tolist()
    best_scores = probabilities.gather(-1, best.unsqueeze(-1)).squeeze(-1).T.tolist()
    offset = 0
    for row in rows:
        for segment in row.segments:
            count = len(segment.positions)
            words = slice(segment.first_word, segment.first_word + count)
            for head, (head_ids, head_scores) in enumerate(zip(best_ids, best_scores)):
                label_ids[segment.request][head][words] = head_ids[offset : offset + count]
                scores[segment.request][head][words] = head_scores[offset : offset + count]
            offset += count


# transformers' `aggregation_strategy` values. VANER labels whole words and returns whole mentions, so every value
# gives the same, word-aggregated entities; they are accepted so that token-classification code runs unchanged.
AGGREGATION_STRATEGIES = ("none", "simple", "first", "average", "max")
VANER_TASK = "vaner-ner"  # VANER's own pipeline task; "ner" and "token-classification" answer too
DEFAULT_BATCH_SIZE = 4  # model inputs per forward pass: fastest here (benchmarks/results/pipeline_batch.json)
PIPELINE_RUNTIMES = ("auto", "torch", "onnx")


def onnx_export(model, runtime: str = "auto"):
    """The model's ONNX export, loaded on ONNX Runtime (a `transformers.exporters.ExportedModel`, called as the model
    is), for the pipeline to run in place of `model`; None: PyTorch. `runtime` "onnx" insists (ValueError saying what
    is missing); "auto" takes the export where it can run (`why_not_onnx`) and gives this model's logits on the check
    batch (a model changed since the export, in its folder or in memory, keeps PyTorch)."""
    if runtime not in PIPELINE_RUNTIMES:
        raise ValueError(f"runtime {runtime!r}: use one of {', '.join(PIPELINE_RUNTIMES)}")
    reason = None if runtime == "torch" else why_not_onnx(model)
    exported = None
    if runtime != "torch" and reason is None:
        from transformers.exporters import ExportedModel

        revision = getattr(model.config, "_commit_hash", None) or "main"
        exported = ExportedModel.from_pretrained(
            model.name_or_path, subfolder=ONNX_FOLDER, revision=revision, device="cpu"
        )
        if not gives_logits_of(exported, model):
            exported, reason = None, f"the export in {model.name_or_path} does not give this model's logits"
    if reason is not None and runtime == "onnx":
        raise ValueError(f"runtime='onnx': {reason}.")
    return exported


def check_batch(vocab_size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """`(input_ids, attention_mask)` an export is checked on, the same every time: two rows of 12, one padded."""
    ids = torch.randint(3, vocab_size, (2, 12), generator=torch.Generator().manual_seed(0))
    mask = torch.ones_like(ids)
    mask[1, 8:] = 0
    return ids, mask


def logit_record(logits: torch.Tensor, expected: torch.Tensor, mask: torch.Tensor) -> dict:
    """How far `logits` are from `expected` where `mask` keeps positions, and how large `expected` gets there: what an
    export's record holds for each graph (`processing_vaner.export_agrees` reads it)."""
    kept = mask.bool()
    return {
        "max_abs_logit_difference": (logits[kept] - expected[kept]).abs().max().item(),
        "max_abs_logit": expected[kept].abs().max().item(),
    }


def gives_logits_of(exported, model) -> bool:
    """Whether `exported` gives `model`'s logits on the check batch."""
    ids, mask = check_batch(model.config.vocab_size)
    with torch.no_grad():
        expected = model(input_ids=ids, attention_mask=mask).logits
    got = exported(input_ids=ids, attention_mask=mask).logits
    return export_agrees({ONNX_FILES["onnx"]: logit_record(got, expected, mask)})


def why_not_onnx(model) -> str | None:
    """Why `model`'s ONNX export cannot take its place, or None: it must run on the CPU, ONNX Runtime must be
    installed, and its folder or repo must hold a float32 export whose record says it gave PyTorch's logits (written
    by `vaner export-onnx`)."""
    if model.device.type != "cpu":
        return f"ONNX Runtime runs here on the CPU; the model is on {model.device}"
    if not is_onnxruntime_available():
        return "ONNX Runtime is not installed: pip install onnxruntime"
    if not model.name_or_path:
        return "the model was not loaded from a folder or repo, so it has no export"
    try:
        record = cached_file(
            model.name_or_path,
            ONNX_CHECKS,
            subfolder=ONNX_FOLDER,
            revision=getattr(model.config, "_commit_hash", None),
            _raise_exceptions_for_missing_entries=False,
        )
    except OSError as error:  # offline without it in the cache, a repo gone: PyTorch still runs
        return f"cannot read {model.name_or_path}'s {ONNX_FOLDER}/{ONNX_CHECKS}: {error}"
    if record is None or not export_agrees(json.loads(Path(record).read_text(encoding="utf-8"))):
        return f"{model.name_or_path} has no float32 {ONNX_FOLDER}/{ONNX_FILES['onnx']} that gave PyTorch's logits"
    return None


class VanerNERPipeline(ChunkPipeline):
    """`pipeline("token-classification", model=repo_or_dir, trust_remote_code=True)` (or "ner", or "vaner-ner"):
    text in, typed entity spans out.

    Call it with a text or a list of texts, and optionally `entity_types=[...]`, `dataset="NCBI-disease"` (that
    corpus's guidelines; default: the adaptive instruction), `threshold` (the least score a mention keeps: a number,
    or `{entity_type: number}`), `max_length`, `aggregation_strategy` (any of
    transformers' values; VANER's entities are whole words and mentions already, so all give the same answer), and
    the pipeline's own `batch_size` (model inputs per forward pass, default 4) and `device`. Any other keyword is a
    `TypeError`, never silently dropped. Made with `runtime="auto"` (the default), it runs the model's ONNX export on
    ONNX Runtime where the repo has one that gives this model's logits and the model is on the CPU (`onnx_export`;
    `runtime="onnx"` insists, `"torch"` never); `pipe.runtime` says which runs.

    Each text becomes one model input per sentence and entity type (one per sentence for all types, with a head per
    type; or per window of a long sentence, or per pack), the chunks of `preprocess`; `postprocess` gathers a text's
    chunks into its entities sorted by position, each with the keys every token-classification user reads
    (`entity_group`, `word`, `start`, `end`, `score`) and VANER's own names for two of them (`type`, `text`).
    """

    _load_tokenizer = True  # never guessed: the inputs need it, and a loading failure must surface

    def __init__(self, *args, runtime: str = "auto", **kwargs):
        self._taggers: dict[int | None, VanerTagger] = {}  # one per max length requested
        kwargs.setdefault("batch_size", DEFAULT_BATCH_SIZE)
        super().__init__(*args, **kwargs)
        self.exported = onnx_export(self.model, runtime)
        self.runtime = "torch" if self.exported is None else "onnx"  # what runs the forward passes

    def _sanitize_parameters(
        self, entity_types=None, dataset=None, max_length=None, aggregation_strategy=None, threshold=None, **kwargs
    ):
        if kwargs:
            raise TypeError(
                f"VanerNERPipeline got unexpected keyword argument(s) {', '.join(map(repr, kwargs))}; "
                "it takes entity_types, dataset, threshold, max_length, aggregation_strategy, batch_size and device."
            )
        strategy = getattr(aggregation_strategy, "value", aggregation_strategy)
        if strategy is not None and str(strategy).lower() not in AGGREGATION_STRATEGIES:
            raise ValueError(
                f"aggregation_strategy {aggregation_strategy!r}: use one of "
                f"{', '.join(AGGREGATION_STRATEGIES)} (all give VANER's word-level mentions)."
            )
        preprocess = {}
        if entity_types is not None:
            preprocess["entity_types"] = [entity_types] if isinstance(entity_types, str) else list(entity_types)
        if dataset is not None:
            preprocess["dataset"] = dataset
        if max_length is not None:
            preprocess["max_length"] = max_length
        postprocess = {}
        if threshold is not None:
            postprocess["thresholds"] = check_threshold(threshold, self.model.config.entity_types)
        return preprocess, {}, postprocess

    def tagger(self, max_length: int | None = None) -> VanerTagger:
        """The tagger (encoder, labels) this pipeline runs through, one per max length requested."""
        if max_length not in self._taggers:
            self._taggers[max_length] = VanerTagger(self.model, self.tokenizer, max_length=max_length)
        return self._taggers[max_length]

    def preprocess(self, text, entity_types=None, dataset=None, max_length=None):
        tagger = self.tagger(max_length)
        instructions = tagger.instructions(entity_types, dataset)
        requested = RequestedText.build(text, instructions)
        rows = tagger.encoder.encode(requested.requests)
        if not rows:  # no words: one instruction-only input, so the text still comes out (with no entities)
            rows = [EncodedRow(list(tagger.encoder.prompt(instructions[0][1])), [])]
        for index, row in enumerate(rows):
            yield {
                "input_ids": torch.tensor([row.input_ids]),
                "attention_mask": torch.ones((1, len(row.input_ids)), dtype=torch.long),
                "row": row,
                "requested": requested,
                "max_length": max_length,
                "is_last": index == len(rows) - 1,
            }

    def _forward(self, model_inputs):
        passed = {key: model_inputs.pop(key) for key in ("row", "requested", "max_length", "is_last")}
        model = self.model if self.exported is None else self.exported
        logits = model(input_ids=model_inputs["input_ids"], attention_mask=model_inputs["attention_mask"]).logits
        return {"logits": logits, "attention_mask": model_inputs["attention_mask"], **passed}

    def postprocess(self, all_outputs, thresholds=None):
        requested, tagger = all_outputs[0]["requested"], self.tagger(all_outputs[0]["max_length"])
        label_ids, scores = blank_labels(requested.requests, self.model.config.num_type_heads)
        for output in all_outputs:
            row, mask = output["row"], output["attention_mask"][0]
            first = int(mask.argmax())  # a batch padded on the left shifts the row
            positions = torch.tensor(row.positions, dtype=torch.long) + first
            place_labels([row], output["logits"][0, positions].float().softmax(-1), label_ids, scores)
        heads = tagger.tags(requested.requests, label_ids, scores)
        return [
            {"entity_group": entity["type"], "word": entity["text"], **entity}
            for entity in requested.entities(tagger.typed(requested, heads, thresholds))
        ]


class TokenClassificationOrVaner(TokenClassificationPipeline):
    """transformers' token-classification pipeline (`pipeline("ner" | "token-classification", ...)`), except that a
    VANER model given as an object gets VANER's pipeline. Given a repo or folder, transformers reads the model's
    `custom_pipelines`; given an object it reads none, and its standard pipeline would run the model with no
    instruction, giving untyped B/I fragments. Every other model gets the standard pipeline, unchanged."""

    def __new__(cls, *args, **kwargs):
        model = kwargs.get("model", args[0] if args else None)
        if getattr(getattr(model, "config", None), "model_type", None) == "vaner":
            return VanerNERPipeline(*args, **kwargs)  # not an instance of cls: Python calls no __init__ after this
        return super().__new__(cls)


def register_pipelines() -> None:
    """Teach transformers' pipeline registry VANER's tasks, once per process, whether the package or a model's remote
    code comes first: `vaner-ner` is `VanerNERPipeline`, and token-classification (and its alias `ner`) becomes
    `TokenClassificationOrVaner`, so that a VANER model object gets VANER's pipeline under all three names."""
    from transformers import AutoModelForTokenClassification
    from transformers.pipelines import PIPELINE_REGISTRY

    tasks = PIPELINE_REGISTRY.supported_tasks
    if VANER_TASK not in tasks:
        PIPELINE_REGISTRY.register_pipeline(
            VANER_TASK, pipeline_class=VanerNERPipeline, pt_model=AutoModelForTokenClassification, type="text"
        )
    if getattr(tasks["token-classification"]["impl"], "__name__", None) != TokenClassificationOrVaner.__name__:
        tasks["token-classification"]["impl"] = TokenClassificationOrVaner
