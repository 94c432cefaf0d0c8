# Copyright 2026 The VANER authors. Licensed under the Apache License, Version 2.0.
"""The inference road: text -> words with offsets -> instruction + words -> bidirectional model -> BIO per word
-> typed spans with character offsets.

`VanerTagger` is the Python API; `VanerNERPipeline` exposes it as the custom transformers pipeline `vaner-ner`.
Training and evaluation reuse the pieces (word splitting, encoding, windows, decoding), so every caller walks the
same road.

Remote code: uploaded to the Hub beside the weights, so it imports only `torch`, `transformers` and the standard
library.
"""

import re
from dataclasses import dataclass
from typing import Iterable

import torch
from transformers import Pipeline, PreTrainedTokenizerBase
from transformers.utils import logging

# The biomedical corpora's convention (BioBERT's re-split of BC4CHEMD is `[0-9a-zA-Z]+|[^0-9a-zA-Z]`): runs of
# letters and digits stay whole, every other visible character (punctuation, hyphens, brackets) is a word of its own.
WORD_PATTERN = re.compile(r"[^\W_]+|\S")
# A sentence ends at . ! or ? before whitespace and an upper-case letter, digit or opening bracket, unless the dot
# closes a common abbreviation or a single initial.
SENTENCE_END_PATTERN = re.compile(r"[.!?]\s+(?=[A-Z0-9(\[])")
ABBREVIATIONS = {"al", "e.g", "i.e", "fig", "figs", "vs", "dr", "no", "approx", "ca", "cf", "resp", "sp", "spp", "st"}

DEFAULT_MAX_LENGTH = 512


@dataclass(frozen=True)
class Window:
    """Words `[start, end)` go through the model together; words `[core_start, core_end)` take their labels from
    it. Cores tile the sentence, so every word is labelled exactly once; the rest is context on either side."""

    start: int
    core_start: int
    core_end: int
    end: int


def split_words(text: str) -> list[tuple[int, int]]:
    """Character spans `(start, end)` of the words of `text`, split the way the BioNER corpora are tokenized."""
    return [match.span() for match in WORD_PATTERN.finditer(text)]


def split_sentences(text: str, words: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Group word spans into sentences; returns `(first_word, end_word)` ranges that tile `range(len(words))`."""
    breaks = set()
    for match in SENTENCE_END_PATTERN.finditer(text):
        before = text[: match.start()].rsplit(None, 1)
        token = before[-1].lower() if before else ""
        if match.group()[0] == "." and (token in ABBREVIATIONS or re.fullmatch(r"[a-z]", token)):
            continue
        breaks.add(match.start() + 1)  # the character after the sentence-final mark
    sentences, first = [], 0
    for index, (start, end) in enumerate(words):
        if end in breaks and index + 1 > first:
            sentences.append((first, index + 1))
            first = index + 1
    if first < len(words):
        sentences.append((first, len(words)))
    return sentences


def instruction_ids(tokenizer: PreTrainedTokenizerBase, instruction: str) -> list[int]:
    """Token ids of the instruction, with the tokenizer's leading special tokens (BOS for LLaMA-2, none for
    SmolLM2). The trailing space of the template is left to the first word, which carries its own."""
    return tokenizer(instruction.rstrip(), add_special_tokens=True)["input_ids"]


def word_pieces(tokenizer: PreTrainedTokenizerBase, words: list[str]) -> list[list[int]]:
    """Token ids of each word as it appears in running text, after a space. Byte-level BPE tokenizers ignore
    `add_prefix_space`, so a bare word would be encoded as text-initial pieces."""
    if not words:
        return []
    return tokenizer([" " + word for word in words], add_special_tokens=False)["input_ids"]


def encode_words(
    tokenizer: PreTrainedTokenizerBase, instruction: str, words: list[str]
) -> tuple[list[int], list[int | None]]:
    """Token ids for an instruction followed by pre-split words, and the word each token belongs to.

    Returns:
        `(input_ids, word_ids)`, both of length `num_tokens`; `word_ids[t]` is the index in `words` of token `t`,
        or None for instruction and special tokens.
    """
    input_ids = instruction_ids(tokenizer, instruction)
    word_ids: list[int | None] = [None] * len(input_ids)
    for index, pieces in enumerate(word_pieces(tokenizer, words)):
        input_ids.extend(pieces)
        word_ids.extend([index] * len(pieces))
    return input_ids, word_ids


def core_budget(budget: int, context: int | None = None) -> int:
    """Tokens a window labels, between its two context margins; also the most tokens one word may keep."""
    if context is None:
        context = budget // 4
    return max(1, budget - 2 * context)


def plan_windows(piece_counts: list[int], budget: int, context: int | None = None) -> list[Window]:
    """Cut a sentence into windows of at most `budget` tokens, with up to `context` tokens of neighbours on each side.

    Args:
        piece_counts: the number of tokens of each word. A word longer than `core_budget(budget, context)` is
            counted (and must be fed) cut to that length; its first token, which carries the label, always stays.
        budget: tokens available for words in one model input (max length minus the instruction).
        context: tokens of context on each side of a core; defaults to a quarter of the budget.
    """
    if budget < 1:
        raise ValueError(f"No room for words: the token budget is {budget}; raise max_length.")
    if context is None:
        context = budget // 4
    longest = core_budget(budget, context)
    lengths = [min(max(count, 1), longest) for count in piece_counts]
    windows, core_start = [], 0
    while core_start < len(lengths):
        core_end, used = core_start + 1, lengths[core_start]
        while core_end < len(lengths) and used + lengths[core_end] <= longest:
            used += lengths[core_end]
            core_end += 1
        room = budget - used
        start, left = core_start, 0
        while start > 0 and left + lengths[start - 1] <= min(context, room):
            start -= 1
            left += lengths[start]
        end, right = core_end, 0
        while end < len(lengths) and right + lengths[end] <= min(context, room - left):
            right += lengths[end]
            end += 1
        windows.append(Window(start, core_start, core_end, end))
        core_start = core_end
    return windows


def window_inputs(prompt: list[int], pieces: list[list[int]], budget: int, context: int | None = None,
                  pad_token_id: int = 0) -> list[tuple[list[int], int, list[int]]]:
    """Model inputs for one sentence behind its instruction: per window, `(input_ids, first core word, positions of
    the core words' first sub-tokens)`. Inference reads labels at those positions; training puts them there."""
    longest = core_budget(budget, context)
    inputs = []
    for window in plan_windows([len(p) for p in pieces], budget, context):
        input_ids, positions = list(prompt), []
        for index in range(window.start, window.end):
            if window.core_start <= index < window.core_end:
                positions.append(len(input_ids))
            input_ids.extend(pieces[index][:longest] or [pad_token_id])
        inputs.append((input_ids, window.core_start, positions))
    return inputs


def packed_inputs(prompt: list[int], sentences: list[list[list[int]]], pack_tokens: int, budget: int,
                  context: int | None = None, pad_token_id: int = 0
                  ) -> list[tuple[list[int], list[tuple[int, int, list[int]]]]]:
    """Model inputs for consecutive sentences behind one instruction (VANER2's packing): sentences, in order, share
    an input while it holds at most `pack_tokens` tokens, instruction included, so the instruction is paid once per
    input instead of once per sentence. A sentence too long to fit alone goes through the usual windows (`budget`,
    `context`) and packing starts afresh after it, so an input only ever holds neighbours.

    Args:
        prompt: the instruction's token ids.
        sentences: per sentence, the token ids of each word (`word_pieces`).

    Returns:
        Per input, `(input_ids, segments)` with one segment `(sentence index, first word, positions of the words'
        first sub-tokens)` per sentence (or window) it holds. Training puts labels at the positions, inference reads
        them there.
    """
    inputs, current = [], None
    for index, pieces in enumerate(sentences):
        length = sum(max(len(piece), 1) for piece in pieces)
        if len(prompt) + length > pack_tokens:
            inputs.extend((input_ids, [(index, first, positions)]) for input_ids, first, positions
                          in window_inputs(prompt, pieces, budget, context, pad_token_id))
            current = None
            continue
        if current is None or len(current[0]) + length > pack_tokens:
            current = (list(prompt), [])
            inputs.append(current)
        positions = []
        for piece in pieces:
            positions.append(len(current[0]))
            current[0].extend(piece or [pad_token_id])
        current[1].append((index, 0, positions))
    return inputs


def repair_bio(tags: list[str]) -> list[str]:
    """Make a tag sequence valid IOB2: an `I` that follows `O` (or starts the sentence) opens a mention, `B`."""
    repaired, previous = [], "O"
    for tag in tags:
        if tag == "I" and previous == "O":
            tag = "B"
        repaired.append(tag)
        previous = tag
    return repaired


def decode_spans(tags: list[str], scores: list[float]) -> list[tuple[int, int, float]]:
    """Mentions of a valid B/I/O word sequence as `(first_word, end_word, mean score over the mention's words)`."""
    spans, start = [], None
    for index, tag in enumerate(tags + ["O"]):
        if start is not None and tag != "I":
            spans.append((start, index, sum(scores[start:index]) / (index - start)))
            start = None
        if tag == "B":
            start = index
    return spans


def row_positions(row: tuple[list[int], list[tuple[int, int, list[int]]]]) -> list[int]:
    """The positions an encoded row (`VanerTagger.encode_requests`) is read at, over all its segments."""
    return [position for _, _, positions in row[1] for position in positions]


def scatter_row(probabilities: list[list], row, word_probabilities: list) -> None:
    """Give each request of an encoded row its words' label probabilities (read at `row_positions(row)`)."""
    for request_index, first_word, positions in row[1]:
        probabilities[request_index][first_word : first_word + len(positions)] = word_probabilities[: len(positions)]
        word_probabilities = word_probabilities[len(positions) :]


class VanerTagger:
    """Typed entity spans with character offsets from raw text, for several entity types in one batched pass.

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
            tokens (`packed_inputs`); 0 asks one sentence per input. Defaults to the model's `config.pack_tokens`:
            ask a model the way it was trained.
    """

    def __init__(self, model, tokenizer: PreTrainedTokenizerBase, max_length: int | None = None,
                 context: int | None = None, pack_tokens: int | None = None):
        self.model = model
        self.tokenizer = tokenizer
        self.config = model.config
        self.max_length = max_length or getattr(self.config, "max_length", None) or DEFAULT_MAX_LENGTH
        self.context = context
        self.pack_tokens = getattr(self.config, "pack_tokens", 0) if pack_tokens is None else pack_tokens
        if self.pack_tokens > self.max_length:
            raise ValueError(f"pack_tokens ({self.pack_tokens}) exceeds max_length ({self.max_length}): a packed input "
                             "must fit in one model input.")
        self.pad_token_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
        self._instruction_cache: dict[str, list[int]] = {}

    def instructions(self, entity_types: Iterable[str] | None, dataset: str | None) -> list[tuple[str, str]]:
        """`(entity_type, instruction)` pairs; unknown types or datasets raise ValueError naming what is known."""
        types = list(entity_types) if entity_types is not None else list(self.config.entity_types)
        if not types:
            raise ValueError(f"No entity type asked for; this model knows {', '.join(self.config.entity_types)}.")
        return [(entity_type, self.config.instruction(entity_type, dataset)) for entity_type in types]

    def __call__(self, texts: str | list[str], entity_types: Iterable[str] | None = None, dataset: str | None = None,
                 batch_size: int = 16) -> list[list[dict]]:
        """Entities per text: dicts `{start, end, text, type, score}` with `text == texts[i][start:end]`, sorted by
        position. `dataset` picks that corpus's guidelines (VANER); None uses the adaptive instruction."""
        if isinstance(texts, str):
            texts = [texts]
        typed_instructions = self.instructions(entity_types, dataset)
        requests, owners = [], []  # owners[r] = (text index, entity type, the sentence's word spans)
        for text_index, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"Text {text_index} is a {type(text).__name__}, not a str.")
            spans = split_words(text)
            words = [text[start:end] for start, end in spans]
            sentences = split_sentences(text, spans)
            for entity_type, instruction in typed_instructions:  # a text's sentences in order: packing keeps them
                for first, end in sentences:
                    requests.append((words[first:end], instruction))
                    owners.append((text_index, entity_type, spans[first:end]))
        results: list[list[dict]] = [[] for _ in texts]
        documents = [text_index for text_index, _, _ in owners]
        for (text_index, entity_type, spans), (tags, scores) in zip(owners, self.tag_words(requests, batch_size,
                                                                                           documents=documents)):
            text = texts[text_index]
            for first, end, score in decode_spans(tags, scores):
                start, stop = spans[first][0], spans[end - 1][1]
                results[text_index].append(
                    {"start": start, "end": stop, "text": text[start:stop], "type": entity_type, "score": score}
                )
        for entities in results:
            entities.sort(key=lambda entity: (entity["start"], entity["end"], entity["type"]))
        return results

    def tag_words(self, requests: list[tuple[list[str], str]], batch_size: int = 16, progress: bool = False,
                  documents: list | None = None) -> list[tuple[list[str], list[float]]]:
        """Label pre-split words: for each `(words, instruction)` request, valid IOB2 tags (`B`/`I`/`O`, one per
        word) and the probability of each word's most likely label. Long requests go through windows; all rows are
        length-sorted and batched together, whatever their instruction. With packing, consecutive requests with the
        same instruction (and the same `documents` entry, if given) share inputs."""
        rows = sorted(self.encode_requests(requests, documents), key=lambda row: len(row[0]))
        probabilities = [[None] * len(words) for words, _ in requests]
        starts = range(0, len(rows), batch_size)
        for batch_start in logging.tqdm(starts, desc="tagging", unit="batch") if progress else starts:
            batch = rows[batch_start : batch_start + batch_size]
            for row, probs in zip(batch, self._forward([row[0] for row in batch], [row_positions(r) for r in batch])):
                scatter_row(probabilities, row, probs)
        return self.decode(probabilities)

    def encode_requests(self, requests: list[tuple[list[str], str]], documents: list | None = None
                        ) -> list[tuple[list[int], list[tuple[int, int, list[int]]]]]:
        """Model inputs for `(words, instruction)` requests, in request order: one row per window (or, packed, per
        run of consecutive requests), `(input_ids, segments)` with a segment `(request index, first word labelled,
        positions of the labelled words' first sub-tokens)` per request it holds."""
        rows = []
        pieces_of = {}  # the same sentence comes once per entity type: tokenize it once
        start = 0
        while start < len(requests):
            instruction, end = requests[start][1], start + 1
            while self.pack_tokens and end < len(requests) and requests[end][1] == instruction and (
                    documents is None or documents[end] == documents[start]):
                end += 1
            sentences = []
            for words, _ in requests[start:end]:
                key = tuple(words)
                if key not in pieces_of:
                    pieces_of[key] = word_pieces(self.tokenizer, words)
                sentences.append(pieces_of[key])
            prompt = self._instruction_ids(instruction)
            budget = self.max_length - len(prompt)
            if self.pack_tokens:
                for input_ids, segments in packed_inputs(prompt, sentences, self.pack_tokens, budget, self.context,
                                                         self.pad_token_id):
                    rows.append((input_ids, [(start + index, first, positions) for index, first, positions
                                             in segments]))
            else:
                for input_ids, first, positions in window_inputs(prompt, sentences[0], budget, self.context,
                                                                 self.pad_token_id):
                    rows.append((input_ids, [(start, first, positions)]))
            start = end
        return rows

    def decode(self, probabilities: list[list[list[float]]]) -> list[tuple[list[str], list[float]]]:
        """Per request, from each word's label probabilities `[word][label]`: repaired IOB2 tags and scores."""
        id2label = self.config.id2label
        outputs = []
        for probs in probabilities:
            best = [max(range(len(p)), key=p.__getitem__) for p in probs]
            # The score is the probability of the label the model chose; BIO repair only fixes the structure.
            outputs.append((repair_bio([id2label[i] for i in best]), [p[i] for p, i in zip(probs, best)]))
        return outputs

    def _instruction_ids(self, instruction: str) -> list[int]:
        if instruction not in self._instruction_cache:
            self._instruction_cache[instruction] = instruction_ids(self.tokenizer, instruction)
        return self._instruction_cache[instruction]

    @torch.inference_mode()
    def _forward(self, sequences: list[list[int]], positions: list[list[int]]) -> list[list[list[float]]]:
        """Label probabilities at the given positions of each sequence: `[row][word][label]`."""
        length = max(len(sequence) for sequence in sequences)
        device = next(self.model.parameters()).device
        input_ids = torch.full((len(sequences), length), self.pad_token_id, dtype=torch.long)
        attention_mask = torch.zeros((len(sequences), length), dtype=torch.long)
        for row, sequence in enumerate(sequences):
            input_ids[row, : len(sequence)] = torch.tensor(sequence)
            attention_mask[row, : len(sequence)] = 1
        logits = self.model(input_ids=input_ids.to(device), attention_mask=attention_mask.to(device)).logits
        probs = logits.float().softmax(-1).cpu()
        return [probs[row, rows_positions].tolist() for row, rows_positions in enumerate(positions)]


class VanerNERPipeline(Pipeline):
    """`pipeline("vaner-ner", model=repo_or_dir, trust_remote_code=True)`: text in, typed entity spans out.

    Call it with a text or a list of texts, and optionally `entity_types=[...]`, `dataset="NCBI-disease"` (that
    corpus's guidelines; default: the adaptive instruction), `batch_size`. A list is batched across texts.
    """

    _load_tokenizer = True  # never guessed: the road needs it, and a loading failure must surface

    def _sanitize_parameters(self, entity_types=None, dataset=None, batch_size=None, max_length=None, **kwargs):
        forward = {}
        if entity_types is not None:
            forward["entity_types"] = [entity_types] if isinstance(entity_types, str) else list(entity_types)
        if dataset is not None:
            forward["dataset"] = dataset
        if batch_size is not None:
            forward["batch_size"] = batch_size
        if max_length is not None:
            forward["max_length"] = max_length
        return {}, forward, {}

    def __call__(self, inputs, **kwargs):
        _, forward, _ = self._sanitize_parameters(**kwargs)
        max_length = forward.pop("max_length", None)
        tagger = VanerTagger(self.model, self.tokenizer, max_length=max_length)
        results = tagger([inputs] if isinstance(inputs, str) else list(inputs), **forward)
        return results[0] if isinstance(inputs, str) else results

    # The single-text steps `Pipeline` requires; `__call__` above batches a whole list through the tagger instead.
    def preprocess(self, text):
        return {"text": text}

    def _forward(self, model_inputs, **kwargs):
        return {"entities": VanerTagger(self.model, self.tokenizer)([model_inputs["text"]], **kwargs)[0]}

    def postprocess(self, model_outputs):
        return model_outputs["entities"]
