# Copyright 2026 The VANER authors. Licensed under the Apache License, Version 2.0.
"""The text side of VANER, one path for training and inference: text -> words and sentences with character offsets
-> requests (words behind an instruction) -> model inputs (instruction ids + word pieces, cut into windows or
packed) -> a label per word, placed (training) or read (inference) at the word's first sub-token -> valid IOB2
-> spans.

`RequestEncoder.encode` builds the rows both sides use: training places the gold labels on them
(`EncodedRow.labels`), the tagger reads the model's labels back at the same positions, so a model is run exactly
the way it was trained.

Remote code: uploaded to the Hub beside the weights. No torch here, only the standard library (and a tokenizer
passed in).
"""

import bisect
import re
from collections.abc import Hashable, Iterable, Sequence
from dataclasses import dataclass
from itertools import accumulate, chain

# The BIO scheme is type-free: the instruction names the entity type, the head only says where mentions are.
VANER_LABELS = ("O", "B", "I")
LABEL_IDS = {label: i for i, label in enumerate(VANER_LABELS)}

# The paper's eight training corpora and the entity type each one is annotated for.
CORE_CORPORA = {
    "BC4CHEMD": "Chemical",
    "BC5CDR-chem": "Chemical",
    "BC5CDR-disease": "Disease",
    "NCBI-disease": "Disease",
    "BC2GM": "Gene",
    "JNLPBA": "Gene",
    "linnaeus": "Species",
    "s800": "Species",
}

# The biomedical corpora's convention (BioBERT's re-split of BC4CHEMD is `[0-9a-zA-Z]+|[^0-9a-zA-Z]`): runs of
# letters and digits stay whole, every other visible character (punctuation, hyphens, brackets) is a word of its own.
# Letters and digits, with the combining marks that follow them (an NFD accent stays in its word), or one other mark.
COMBINING_MARKS = "\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f"
WORD_PATTERN = re.compile(rf"[^\W_](?:[^\W_]|[{COMBINING_MARKS}])*|\S")
# A sentence ends at . ! or ? before whitespace and an upper-case letter, digit or opening bracket, unless the dot
# closes a common abbreviation or a single initial.
SENTENCE_END_PATTERN = re.compile(r"[.!?]\s+(?=[A-Z0-9(\[])")
ABBREVIATIONS = {"al", "e.g", "i.e", "fig", "figs", "vs", "dr", "no", "approx", "ca", "cf", "resp", "sp", "spp", "st"}

# Tokens per model input for a model that records no training length (`VanerConfig.max_length`).
DEFAULT_MAX_LENGTH = 512
# Labels of the positions that carry none (instruction, later sub-tokens, context): ignored by the loss.
IGNORE_INDEX = -100

# A model's ONNX export (`vaner export-onnx`) lies beside its weights in `onnx/`, in transformers' export layout
# (`transformers.exporters.ExportedModel`: a manifest, the graph and its weights), with an int8 graph beside it and a
# record (`ONNX_CHECKS`) of how far each graph's logits came from PyTorch's on a padded batch. Only a float32 graph
# within `AGREES_WITHIN` of them, relative to the largest logit (float32 rounding grows with the values), runs
# unasked: the package's `--runtime auto` and the pipeline's `runtime="auto"`.
ONNX_FOLDER = "onnx"
ONNX_FILES = {"onnx": "model.onnx", "onnx-int8": "model_int8.onnx"}  # by runtime name
ONNX_CHECKS = "agreement.json"
AGREES_WITHIN = 1e-4


def export_agrees(record: dict, runtime: str = "onnx") -> bool:
    """Whether an export's record (`ONNX_CHECKS`, read as JSON) says the graph for `runtime` gave PyTorch's logits."""
    try:
        checked = record[ONNX_FILES[runtime]]
        difference, largest = checked["max_abs_logit_difference"], checked.get("max_abs_logit", 1.0)
    except (KeyError, TypeError, AttributeError):
        return False
    if not all(isinstance(x, int | float) and not isinstance(x, bool) for x in (difference, largest)):
        return False
    return difference <= AGREES_WITHIN * max(1.0, largest)


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


def instruction_ids(tokenizer, instruction: str) -> list[int]:
    """Token ids of the instruction, with the tokenizer's leading special tokens (BOS for LLaMA-2, none for
    SmolLM2). The trailing space of the template is left to the first word, which carries its own."""
    return tokenizer(instruction.rstrip(), add_special_tokens=True)["input_ids"]


def word_pieces(tokenizer, words: Sequence[str]) -> list[list[int]]:
    """Token ids of each word as it appears in running text, after a space, in one tokenizer call. Byte-level BPE
    tokenizers ignore `add_prefix_space`, so a bare word would be encoded as text-initial pieces."""
    if not words:
        return []
    texts = [" " + word for word in words]
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None and backend.truncation is None and backend.padding is None:
        # A fast tokenizer's Rust core, called as `tokenizer(...)` calls it, without offsets or a Python encoding
        # per word (the slow part on a corpus of words); the ids are the same.
        encode = getattr(backend, "encode_batch_fast", backend.encode_batch)
        return [encoding.ids for encoding in encode(texts, add_special_tokens=False)]
    return tokenizer(texts, add_special_tokens=False)["input_ids"]


@dataclass(frozen=True)
class Window:
    """Words `[start, end)` go through the model together; words `[core_start, core_end)` take their labels from
    it. Cores tile the sentence, so every word is labelled exactly once; the rest is context on either side."""

    start: int
    core_start: int
    core_end: int
    end: int


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


@dataclass(frozen=True)
class Request:
    """One sentence to label: its words, the instruction in front of them, and the document it comes from. With
    packing, consecutive requests of one document and one instruction share inputs; never across documents."""

    words: Sequence[str]
    instruction: str
    document: Hashable = None


@dataclass
class Segment:
    """The part of a row that labels one request: words `first_word, first_word + 1, ...` of request `request`,
    whose first sub-tokens sit at `positions` of the row's `input_ids`."""

    request: int
    first_word: int
    positions: list[int]


@dataclass
class EncodedRow:
    """One model input: the instruction's ids, then word pieces of one window, or of several packed sentences."""

    input_ids: list[int]
    segments: list[Segment]

    @property
    def positions(self) -> list[int]:
        """Where labels are placed and read, over all segments in order."""
        if len(self.segments) == 1:
            return self.segments[0].positions
        return [position for segment in self.segments for position in segment.positions]

    @property
    def requests(self) -> int:
        """How many requests (sentences) this row labels words of."""
        return len({segment.request for segment in self.segments})

    def labels(self, tags: Sequence[Sequence[str]], label_ids: dict[str, int]) -> list[int]:
        """The row's training labels: each labelled word's gold tag id (`tags[request][word]`) at its first
        sub-token, `IGNORE_INDEX` everywhere else (instruction, later sub-tokens, context words)."""
        labels = [IGNORE_INDEX] * len(self.input_ids)
        for segment in self.segments:
            words = tags[segment.request][segment.first_word : segment.first_word + len(segment.positions)]
            for position, tag in zip(segment.positions, words):
                labels[position] = label_ids[tag]
        return labels


class RequestEncoder:
    """Requests -> model inputs, the same for training and inference.

    Args:
        tokenizer: the model's (fast) tokenizer.
        max_length: the most tokens one input holds, instruction included; a longer sentence goes through windows
            (`plan_windows`) that label every word exactly once.
        context: tokens of context a window keeps on either side of the words it labels (default: a quarter of
            the room left after the instruction).
        pack_tokens: 0 runs one sentence per input (the paper); N puts consecutive requests of one document and
            instruction in inputs of at most N tokens, so the instruction is paid once per input.
        pad_token_id: fed in place of a word the tokenizer turns into no token at all, so the word keeps a
            position to carry its label.
    """

    def __init__(
        self,
        tokenizer,
        max_length: int = DEFAULT_MAX_LENGTH,
        context: int | None = None,
        pack_tokens: int = 0,
        pad_token_id: int = 0,
    ):
        if pack_tokens > max_length:
            raise ValueError(
                f"pack_tokens ({pack_tokens}) exceeds max_length ({max_length}): a packed input must "
                "fit in one model input."
            )
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.context = context
        self.pack_tokens = pack_tokens
        self.pad_token_id = pad_token_id
        self._prompts: dict[str, list[int]] = {}
        self._pieces: dict[str, list[int]] = {}  # word -> its ids after a space; corpora repeat words a lot

    def encode(self, requests: Sequence[Request]) -> list[EncodedRow]:
        """Model inputs for `requests`, in request order: one row per window of a sentence, or (packed) per run of
        consecutive requests that share a document and an instruction."""
        self._tokenize_new_words(chain.from_iterable(request.words for request in requests))
        rows: list[EncodedRow] = []
        start = 0
        while start < len(requests):
            first = requests[start]
            end = start + 1
            if self.pack_tokens:
                while (
                    end < len(requests)
                    and requests[end].instruction == first.instruction
                    and requests[end].document == first.document
                ):
                    end += 1
            prompt = self.prompt(first.instruction)
            budget = self.max_length - len(prompt)
            if self.pack_tokens:
                rows.extend(self._packed(prompt, requests, start, end, budget))
            else:
                rows.extend(self._windows(prompt, self.pieces(first.words), budget, start))
            start = end
        return rows

    def prompt(self, instruction: str) -> list[int]:
        """The instruction's token ids (cached)."""
        if instruction not in self._prompts:
            self._prompts[instruction] = instruction_ids(self.tokenizer, instruction)
        return self._prompts[instruction]

    def pieces(self, words: Sequence[str]) -> list[list[int]]:
        """Each word's token ids after a space (tokenized once per word, in batches, by `encode`)."""
        try:
            return [self._pieces[word] for word in words]
        except KeyError:
            self._tokenize_new_words(words)
            return [self._pieces[word] for word in words]

    def _tokenize_new_words(self, words: Iterable[str]) -> None:
        if len(self._pieces) > 1_000_000:  # a long-lived tagger (a server) must not grow without bound
            self._pieces.clear()
        known = self._pieces
        new = [word for word in dict.fromkeys(words) if word not in known]
        known.update(zip(new, word_pieces(self.tokenizer, new)))

    def _windows(self, prompt: list[int], pieces: list[list[int]], budget: int, request: int) -> list[EncodedRow]:
        """Rows of one sentence behind its instruction, one per window."""
        if not pieces:
            return []
        longest = core_budget(budget, self.context)
        counts = [len(piece) for piece in pieces]
        if sum(counts) <= longest and 0 not in counts:  # the common case: the sentence is one window's core
            positions = list(accumulate(counts[:-1], initial=len(prompt)))
            return [EncodedRow(prompt + list(chain.from_iterable(pieces)), [Segment(request, 0, positions)])]
        rows = []
        for window in plan_windows(counts, budget, self.context):
            input_ids, positions = list(prompt), []
            for index in range(window.start, window.end):
                if window.core_start <= index < window.core_end:
                    positions.append(len(input_ids))
                input_ids.extend(pieces[index][:longest] or [self.pad_token_id])
            rows.append(EncodedRow(input_ids, [Segment(request, window.core_start, positions)]))
        return rows

    def _packed(
        self, prompt: list[int], requests: Sequence[Request], start: int, end: int, budget: int
    ) -> list[EncodedRow]:
        """Rows of requests `start..end-1` (one document, one instruction) packed in order: sentences share an input
        while it holds at most `pack_tokens` tokens, instruction included. A sentence too long to fit alone goes
        through windows, and packing starts afresh after it, so an input only ever holds neighbours."""
        rows, current = [], None
        for request in range(start, end):
            pieces = self.pieces(requests[request].words)
            length = sum(max(len(piece), 1) for piece in pieces)
            if len(prompt) + length > self.pack_tokens:
                rows.extend(self._windows(prompt, pieces, budget, request))
                current = None
                continue
            if current is None or len(current.input_ids) + length > self.pack_tokens:
                current = EncodedRow(list(prompt), [])
                rows.append(current)
            positions = []
            for piece in pieces:
                positions.append(len(current.input_ids))
                current.input_ids.extend(piece or [self.pad_token_id])
            current.segments.append(Segment(request, 0, positions))
        return rows


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
    if "B" not in tags:  # most sentences hold no mention of a given type
        return spans
    for index, tag in enumerate(tags + ["O"]):
        if start is not None and tag != "I":
            spans.append((start, index, sum(scores[start:index]) / (index - start)))
            start = None
        if tag == "B":
            start = index
    return spans


def check_threshold(threshold, entity_types: Sequence[str]) -> dict[str, float]:
    """The least score a mention must have to be kept, per type of `entity_types`, from `threshold`: None (keep
    every mention), one number for every type, or `{type: number}` (types left out keep every mention). Numbers lie
    in [0, 1]; a type the model does not know is a ValueError naming those it knows."""
    if threshold is None:
        return {}
    if not isinstance(threshold, dict):
        threshold = dict.fromkeys(entity_types, threshold)
    unknown = [name for name in threshold if name not in entity_types]
    if unknown:
        raise ValueError(
            f"threshold for unknown entity type(s) {', '.join(map(repr, unknown))}; the model knows "
            f"{', '.join(entity_types)}"
        )
    for name, value in threshold.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
            raise ValueError(f"threshold for {name} must be a number from 0 to 1, got {value!r}")
    return {name: float(value) for name, value in threshold.items() if value > 0}


def sure_entities(entities: list[dict], thresholds: dict[str, float]) -> list[dict]:
    """The entities scored at least their type's threshold (`check_threshold`): what a tagger with those thresholds
    returns, as an entity's score is its words' mean (`drop_unsure`)."""
    return [entity for entity in entities if entity["score"] >= thresholds.get(entity["type"], 0.0)]


def drop_unsure(tags: list[str], scores: list[float], threshold: float) -> list[str]:
    """`tags` with every mention whose score (`decode_spans`: its words' mean) is below `threshold` made `O`."""
    kept = list(tags)
    for first, end, score in decode_spans(tags, scores) if threshold > 0 else ():
        if score < threshold:
            kept[first:end] = ["O"] * (end - first)
    return kept


# Mention boundaries as the corpora draw them: a mention does not end on punctuation that closes a clause, and
# does not start or end on a bracket it does not also close (or open): `IL-8)` is `IL-8`, `aldolase B (` is
# `aldolase B`, `(IL-8)` stays whole. A dot that ends an abbreviation or an initial stays (`Bacillus sp. nov.`,
# `Parus major L.`).
TRAILING_PUNCTUATION = {".", ",", ";", ":", "!", "?"}
NAME_ABBREVIATIONS = ABBREVIATIONS | {"nov", "gen", "spec", "subsp", "ssp", "var", "str", "cv"}
BRACKETS = {"(": ")", "[": "]", "{": "}"}
CLOSING = {close: open_ for open_, close in BRACKETS.items()}


def _balanced(words: Sequence[str]) -> bool:
    """Whether every bracket among `words` is closed by the matching one, in order."""
    stack = []
    for word in words:
        if word in BRACKETS:
            stack.append(word)
        elif word in CLOSING and (not stack or stack.pop() != CLOSING[word]):
            return False
    return not stack


def _abbreviated(word: str) -> bool:
    """Whether a dot after `word` ends an abbreviation (`sp`, `nov`, `al`) or an initial (`L`)."""
    return (len(word) == 1 and word.isalpha()) or word in NAME_ABBREVIATIONS


def tidy_span(words: Sequence[str], first: int, end: int) -> tuple[int, int]:
    """Mention `words[first:end]` without trailing punctuation and without a bracket at either end that the
    mention leaves open (or closes without opening); `first == end` when nothing is left."""
    while first < end:
        last = words[end - 1]
        if (
            last in TRAILING_PUNCTUATION
            and not (last == "." and end - first > 1 and _abbreviated(words[end - 2]))
            or last in CLOSING
            and not _balanced(words[first:end])
            or last in BRACKETS
        ):
            end -= 1
        elif words[first] in BRACKETS and not _balanced(words[first:end]) or words[first] in CLOSING:
            first += 1
        else:
            break
    return first, end


def tidy_tags(words: Sequence[str], tags: list[str]) -> list[str]:
    """Valid IOB2 `tags` of `words` with each mention's boundaries tidied by `tidy_span` (the words trimmed off a
    mention become `O`)."""
    tidied = ["O"] * len(tags)
    for first, end, _ in decode_spans(tags, [0.0] * len(tags)):
        first, end = tidy_span(words, first, end)
        if first < end:
            tidied[first:end] = ["B"] + ["I"] * (end - first - 1)
    return tidied


@dataclass
class RequestedText:
    """A text and the entity types requested of it: one request per (instruction, sentence), an instruction's
    sentences in order (packing keeps them together), and what turns the tags of those requests back into spans of
    the text. An instruction names one type (a shared head) or every requested type (one head per type)."""

    text: str
    words: list[tuple[int, int]]  # character spans of the text's words
    sentences: list[tuple[int, int]]  # `(first_word, end_word)` of each sentence
    requests: list[Request]
    entity_types: list[tuple[str, ...]]  # per request: the types its instruction names
    word_spans: list[list[tuple[int, int]]]  # per request: its words' character spans in `text`

    @classmethod
    def build(
        cls, text: str, instructions: list[tuple[str | tuple[str, ...], str]], document: Hashable = None
    ) -> "RequestedText":
        """`instructions`: `(entity_types, instruction)` pairs (a type or a tuple of types); `document` keeps packing
        inside this text."""
        if not isinstance(text, str):
            raise TypeError(f"Expected a text (str), got a {type(text).__name__}.")
        spans = split_words(text)
        words = [text[start:end] for start, end in spans]
        sentences = split_sentences(text, spans)
        requested = cls(text, spans, sentences, [], [], [])
        for entity_types, instruction in instructions:
            types = (entity_types,) if isinstance(entity_types, str) else tuple(entity_types)
            for first, end in sentences:
                requested.requests.append(Request(words[first:end], instruction, document))
                requested.entity_types.append(types)
                requested.word_spans.append(spans[first:end])
        return requested

    def entities(self, tagged: list[list[tuple[list[str], list[float]]]]) -> list[dict]:
        """Entities from each request's `(tags, scores)` per type it requests (`tagged[request][i]` for
        `entity_types[request][i]`): dicts `{start, end, text, type, score}` with `text == self.text[start:end]`,
        sorted by position. Mentions of different types may overlap."""
        entities = []
        for types, spans, per_type in zip(self.entity_types, self.word_spans, tagged):
            for entity_type, (tags, scores) in zip(types, per_type):
                for first, end, score in decode_spans(tags, scores):
                    start, stop = spans[first][0], spans[end - 1][1]
                    entities.append(
                        {
                            "start": start,
                            "end": stop,
                            "text": self.text[start:stop],
                            "type": entity_type,
                            "score": score,
                        }
                    )
        entities.sort(key=lambda entity: (entity["start"], entity["end"], entity["type"]))
        return entities


def non_overlapping(entities: list[dict]) -> list[dict]:
    """The mentions that can be shown as one layer (spaCy's `doc.ents`, a highlight): where mentions of different
    types overlap, the most confident one; sorted by position."""
    kept, starts = [], []  # kept mentions never overlap, so sorted by start they are sorted by end too
    for entity in sorted(entities, key=lambda e: -e["score"]):
        i = bisect.bisect_right(starts, entity["start"])
        clear_left = i == 0 or kept[i - 1]["end"] <= entity["start"]
        clear_right = i == len(kept) or entity["end"] <= kept[i]["start"]
        if clear_left and clear_right:
            kept.insert(i, entity)
            starts.insert(i, entity["start"])
    return kept


__all__ = [
    "EncodedRow",
    "Request",
    "RequestEncoder",
    "RequestedText",
    "Segment",
    "Window",
    "check_threshold",
    "decode_spans",
    "drop_unsure",
    "non_overlapping",
    "plan_windows",
    "repair_bio",
    "split_sentences",
    "split_words",
    "sure_entities",
    "tidy_span",
    "tidy_tags",
]
