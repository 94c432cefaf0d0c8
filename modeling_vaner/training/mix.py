"""The training mix: corpora drawn by their temperature weights, DBR items, and the labelled rows the model trains on
(the inputs inference builds with each word's gold label at its first sub-token), encoded into Arrow; the devel rows;
the encoder baseline's rows."""

import os
import random
from dataclasses import dataclass, replace
from pathlib import Path

from ..corpora import data_root, get_corpus, load_corpus
from ..dbr import EntityDictionary
from ..encoders import encode_encoder_example, label_names, resolve_encoder
from ..processing_vaner import IGNORE_INDEX, LABEL_IDS, VANER_LABELS, Request, RequestEncoder
from .recipe import RecipeError, TrainConfig


def request_encoder(config: TrainConfig, tokenizer) -> RequestEncoder:
    """The encoder inference uses, set as the run trains (and records in the model's config)."""
    return RequestEncoder(
        tokenizer, max_length=config.max_length, pack_tokens=config.pack_tokens, pad_token_id=tokenizer.pad_token_id
    )


def labelled_rows(encoder: RequestEncoder, requests: list[Request], tags: list, heads: int = 0) -> list[dict]:
    """Training rows for `requests` (`tags[r]`: request r's gold tags, or with `heads` its tags per head): the rows
    inference runs, with each word's label at its first sub-token, in the window whose core holds it, exactly once
    (per head, flattened position-major, with a head per type); `sentences`: how many requests a row labels
    (packing samples by it)."""
    words = [len(request.words) for request in requests]
    return [
        {
            "input_ids": row.input_ids,
            "length": len(row.input_ids),
            "sentences": row.requests,
            "labels": head_labels(row, tags, words, LABEL_IDS) if heads else row.labels(tags, LABEL_IDS),
        }
        for row in encoder.encode(requests)
    ]


def head_labels(row, tags: list[list[list[str]]], words: list[int], label_ids: dict[str, int]) -> list[int]:
    """A row's labels for every head, flattened position-major (`labels[position * heads + head]`): each labelled
    word's gold tag id at its first sub-token for every head its request has tags for, `IGNORE_INDEX` elsewhere.

    Args:
        row: an `EncodedRow`.
        tags: per request of the row's batch, per head, the words' tags (empty: the head gets no label).
        words: per request, its number of words.
    """
    heads = len(tags[0]) if tags else 0
    columns = []
    for head in range(heads):
        per_request = [per_head[head] or [None] * count for per_head, count in zip(tags, words)]
        columns.append(row.labels(per_request, {**label_ids, None: IGNORE_INDEX}))
    return [label for position in zip(*columns) for label in position]


def sentence_rows(encoder: RequestEncoder, instruction: str, words: list[str], tags: list[str]) -> list[dict]:
    """Training rows of one sentence behind its instruction (one per window)."""
    return [without_count(row) for row in labelled_rows(encoder, [Request(words, instruction)], [tags])]


def corpus_weights(sizes: dict[str, int], temperature: float) -> dict[str, float]:
    """Sampling probability of each corpus, proportional to size^(1/temperature)."""
    raw = {name: size ** (1.0 / temperature) for name, size in sizes.items()}
    total = sum(raw.values())
    return {name: value / total for name, value in raw.items()}


def build_dictionary(config: TrainConfig, train_sets: dict):
    dictionary = EntityDictionary()
    kb_dir = Path(config.kb_dir) if config.kb_dir else data_root().parent / "kb"
    for path in sorted(kb_dir.glob("*.tsv")):
        dictionary.add_kb_file(path)
    for name, dataset in train_sets.items():
        entity_type = get_corpus(name).entity_type
        for words, tag_ids in zip(dataset["tokens"], dataset["ner_tags"]):
            dictionary.add_gold_mentions(words, [VANER_LABELS[t] for t in tag_ids], entity_type)
    return dictionary


@dataclass
class Source:
    """Sentences annotated for one or more entity types: one corpus, or (with a head per type) corpora over the
    same sentences. `tags[i][k]` is sentence i's tags for `types[k]`."""

    corpora: list[str]
    types: list[str]
    tokens: list[list[str]]
    tags: list[list[list[str]]]

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def name(self) -> str:
        return "+".join(self.corpora)


def corpus_sources(datasets: dict, merge: bool = False) -> list[Source]:
    """A source per corpus (`datasets`: corpus name -> `datasets.Dataset` with `tokens` and `ner_tags`), in the
    order given; with `merge` (a model with a head per type), corpora over the same sentences, word for word, make
    one source whose rows train each of their types' heads (BC5CDR's chemicals and diseases)."""
    sources: dict[tuple, Source] = {}
    for name, dataset in datasets.items():
        tokens = list(dataset["tokens"])  # a list: a datasets column is read row by row when indexed
        tags = [[VANER_LABELS[t] for t in tag_ids] for tag_ids in dataset["ner_tags"]]
        entity_type = get_corpus(name).entity_type
        key = tuple(map(tuple, tokens)) if merge else (name,)
        source = sources.get(key)
        if source is None or entity_type in source.types:
            key = key if source is None else (name, key)
            sources[key] = Source([name], [entity_type], tokens, [[sentence] for sentence in tags])
            continue
        source.corpora.append(name)
        source.types.append(entity_type)
        for per_type, sentence in zip(source.tags, tags):
            per_type.append(sentence)
    return list(sources.values())


def head_tags(types: list[str], tags: list[list[str]], heads: list[str]) -> list[list[str]]:
    """Tags per head for one sentence annotated for `types` (`tags[k]` for `types[k]`): empty for a head whose type
    it does not annotate (no label there)."""
    by_type = dict(zip(types, tags))
    return [by_type.get(head, []) for head in heads]


def mixed_items(config: TrainConfig, sources: list[Source], rng: random.Random):
    """One epoch's `(source, sentence index)`: each source drawn by its temperature weight (the total is the sum of
    source sizes), in a shuffled order within the source."""
    sizes = {source.name: len(source) for source in sources}
    weights = corpus_weights(sizes, config.temperature)
    total = sum(sizes.values())
    for source in sources:
        order = [i % sizes[source.name] for i in range(round(weights[source.name] * total))]
        rng.shuffle(order)
        for index in order:
            yield source, index


def source_instruction(config: TrainConfig, model_config, source: Source) -> str:
    """The instruction of a source's sentences: its types, and its corpora's guidelines (VANER) or none."""
    datasets = [config.guidelines(name) for name in source.corpora]
    return model_config.instruction(source.types, None if None in datasets else datasets)


def row_instruction(config: TrainConfig, model_config, source: Source, rng: random.Random) -> str:
    """A training sentence's instruction: every type the model knows and no dataset (with probability
    `all_types_probability`: what `vaner predict` asks), its source's types and no dataset (`adaptive_probability`),
    or its source's types and corpora (the leaderboard's request). Draws from `rng` only when either is set."""
    if not (config.all_types_probability or config.adaptive_probability):
        return source_instruction(config, model_config, source)
    draw = rng.random()
    if draw < config.all_types_probability:
        return model_config.instruction(model_config.entity_types)
    if draw < config.all_types_probability + config.adaptive_probability:
        return model_config.instruction(source.types)
    return source_instruction(config, model_config, source)


def build_train_rows(config: TrainConfig, tokenizer, model_config, train_sets: dict, dictionary=None):
    """VANER's shuffled training rows of one epoch (a `datasets.Dataset`), for either head layout: each mixed
    sentence behind its instruction (`row_instruction`), followed with probability `dbr_probability` by a DBR item
    of its type (adaptive instruction). With a head per type, a row holds tags per head, `IGNORE_INDEX` for the heads
    of types its corpus does not annotate (no loss, no gradient), and a DBR item trains the head of one of its
    source's types. The mix is drawn first, as requests with their tags; `Dataset.map` then encodes them into Arrow
    columns, not Python objects."""
    per_type = model_config.head_layout == "per_type"
    heads = model_config.entity_types if per_type else []
    rng = random.Random(config.seed)
    plan = {"words": [], "instruction": [], "tags": []}

    def add(instruction: str, words: list[str], types: list[str], tags: list[list[str]]):
        plan["words"].append(words)
        plan["instruction"].append(instruction)
        plan["tags"].append(head_tags(types, tags, heads) if per_type else tags[0])

    for source, index in mixed_items(config, corpus_sources(train_sets, merge=per_type), rng):
        add(row_instruction(config, model_config, source, rng), source.tokens[index], source.types, source.tags[index])
        if dictionary is not None and rng.random() < config.dbr_probability:
            entity_type = rng.choice(source.types) if per_type else source.types[0]
            words, tags = dictionary.sample_item(rng, entity_type, config.dbr_max_same, config.dbr_max_other)
            add(model_config.instruction(entity_type), words, [entity_type], [tags])
    # Each data-parallel process writes its own copy: never two writers on one file.
    rows = encode_plan(
        plan,
        request_encoder(config, tokenizer),
        "training rows",
        cache_dir=Path(config.output_dir) / "rows" / f"rank-{os.environ.get('RANK', '0')}",
        heads=len(heads),
    )
    order = list(range(len(rows)))
    rng.shuffle(order)  # the permutation that shuffling a list of the rows would make
    return rows.select(order)


def devel_sets(config: TrainConfig) -> dict:
    """The devel split of each corpus, its first `max_eval_sentences`: checkpoints are chosen on these, never on
    test."""
    sets = {}
    for name in config.corpora:
        dataset = load_corpus(name, "devel")
        if config.max_eval_sentences is not None:
            dataset = dataset.select(range(min(len(dataset), config.max_eval_sentences)))
        sets[name] = dataset
    return sets


def build_eval_rows(config: TrainConfig, tokenizer, model_config):
    """Devel rows (a `datasets.Dataset`), encoded the way the run trains: one sentence per input, or packed (a
    corpus is one document); with a head per type, corpora over the same sentences in the same rows."""
    per_type = model_config.head_layout == "per_type"
    heads = model_config.entity_types if per_type else []
    plan = {"words": [], "instruction": [], "tags": [], "document": []}
    for source in corpus_sources(devel_sets(config), merge=per_type):
        instruction = source_instruction(config, model_config, source)
        for words, tags in zip(source.tokens, source.tags):
            plan["words"].append(words)
            plan["instruction"].append(instruction)
            plan["tags"].append(head_tags(source.types, tags, heads) if per_type else tags[0])
            plan["document"].append(source.name)
    return encode_plan(plan, request_encoder(config, tokenizer), "devel rows", heads=len(heads))


def row_features():
    """The columns of a training row, as Arrow stores them."""
    from datasets import Features, Sequence, Value

    return Features(
        {"input_ids": Sequence(Value("int32")), "labels": Sequence(Value("int32")), "length": Value("int32")}
    )


def encode_plan(
    plan: dict,
    encoder: RequestEncoder,
    what: str,
    cache_dir: str | Path | None = None,
    chunk: int = 20_000,
    heads: int = 0,
):
    """Labelled rows (`input_ids`, `labels`, `length`) of a plan of requests (lists `words`, `instruction`, `tags`,
    and `document` when packing; with `heads`, `tags` per head), in plan order, as one `datasets.Dataset`. The plan goes to Arrow `chunk` requests
    at a time and `Dataset.map` encodes each part; with `cache_dir`, parts are written there batch by batch (and
    read back memory-mapped), so the rows of an uncapped mix never sit in memory as Python objects. Packing runs
    over the whole plan at once, so that nothing cuts a document's packs."""
    import uuid

    import datasets

    def encode(batch):
        documents = batch["document"] if "document" in batch else [None] * len(batch["words"])
        requests = [
            Request(words, instruction, document)
            for words, instruction, document in zip(batch["words"], batch["instruction"], documents)
        ]
        rows = labelled_rows(encoder, requests, batch["tags"], heads)
        return {key: [row[key] for row in rows] for key in ("input_ids", "labels", "length")}

    size = len(plan["words"])
    step = (size or 1) if encoder.pack_tokens else chunk
    parts = []
    for number, start in enumerate(range(0, max(size, 1), step)):
        part = datasets.Dataset.from_dict({key: values[start : start + step] for key, values in plan.items()})
        cache = Path(cache_dir) / f"{what.replace(' ', '-')}-{number:05d}.arrow" if cache_dir else None
        if cache:
            cache.parent.mkdir(parents=True, exist_ok=True)
        # Always rebuilt (never a stale cache); the fingerprint is given, since hashing `encode` would hash the
        # tokenizer it closes over.
        parts.append(
            part.map(
                encode,
                batched=True,
                batch_size=None if encoder.pack_tokens else 1000,
                remove_columns=part.column_names,
                features=row_features(),
                cache_file_name=str(cache) if cache else None,
                load_from_cache_file=False,
                new_fingerprint=uuid.uuid4().hex,
                desc=f"encoding {what}",
            )
        )
    return datasets.concatenate_datasets(parts) if len(parts) > 1 else parts[0]


def build_packed_train_rows(config: TrainConfig, tokenizer, model_config, train_sets: dict, dictionary=None):
    """`build_train_rows` on packed inputs, and the sentences kept per corpus. Each corpus is packed in file order
    (the corpora keep document order), then whole packs are sampled, capped at `max_train_sentences` and mixed by
    the temperature weights counted in sentences. DBR items stay inputs of their own, one per packed sentence with
    probability `dbr_probability`."""
    import datasets

    rng = random.Random(config.seed)
    encoder = request_encoder(config, tokenizer)
    single = request_encoder(replace(config, pack_tokens=0), tokenizer)  # DBR items: an input each
    packs, sizes = {}, {}
    for name, dataset in train_sets.items():
        entity_type = get_corpus(name).entity_type
        instruction = model_config.instruction(entity_type, config.guidelines(name))
        rows = labelled_rows(
            encoder,
            [Request(words, instruction) for words in dataset["tokens"]],
            [[VANER_LABELS[t] for t in tag_ids] for tag_ids in dataset["ner_tags"]],
        )
        random.Random(config.seed).shuffle(rows)
        if config.max_train_sentences is not None:
            kept, count = [], 0
            for row in rows:
                if count >= config.max_train_sentences:
                    break
                kept.append(row)
                count += row["sentences"]
            rows = kept
        packs[name], sizes[name] = rows, sum(row["sentences"] for row in rows)
    weights = corpus_weights(sizes, config.temperature)
    total = sum(sizes.values())
    train_rows = []
    for name, rows in packs.items():
        entity_type = get_corpus(name).entity_type
        wanted, drawn = round(weights[name] * total), 0
        while drawn < wanted:  # whole passes over the corpus's packs, reshuffled, until its share is drawn
            order = list(range(len(rows)))
            rng.shuffle(order)
            for index in order:
                if drawn >= wanted:
                    break
                train_rows.append(rows[index])
                drawn += rows[index]["sentences"]
                for _ in range(rows[index]["sentences"]):
                    if dictionary is not None and rng.random() < config.dbr_probability:
                        dbr_words, dbr_tags = dictionary.sample_item(
                            rng, entity_type, config.dbr_max_same, config.dbr_max_other
                        )
                        train_rows.extend(
                            sentence_rows(single, model_config.instruction(entity_type), dbr_words, dbr_tags)
                        )
    rng.shuffle(train_rows)
    return datasets.Dataset.from_list([without_count(row) for row in train_rows]), sizes


def without_count(row: dict) -> dict:
    """A packed row as the model's collator takes it (the sentence count only serves the sampling)."""
    return {key: value for key, value in row.items() if key != "sentences"}


def encoder_setup(config: TrainConfig, train_sets: dict):
    """An ordinary encoder token classifier (a baseline): model, tokenizer, training and devel rows. Labels are typed
    when the corpora cover several entity types (or `typed_labels` says so), plain BIO otherwise."""
    import datasets
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    if config.encoder is None:
        raise RecipeError("architecture: encoder needs `encoder`, a local checkpoint or package:NAME/SUBDIR.")
    path = resolve_encoder(config.encoder)
    types = list(dict.fromkeys(get_corpus(name).entity_type for name in config.corpora))
    typed = config.typed_labels if config.typed_labels is not None else len(types) > 1
    labels = label_names(types, typed)
    label2id = {label: i for i, label in enumerate(labels)}
    model = AutoModelForTokenClassification.from_pretrained(
        path, num_labels=len(labels), label2id=label2id, id2label=dict(enumerate(labels))
    )
    tokenizer = AutoTokenizer.from_pretrained(path)

    def encode(source: Source, index: int) -> list[dict]:
        words, [tags] = source.tokens[index], source.tags[index]  # a corpus: one type
        return encode_encoder_example(tokenizer, words, tags, label2id, source.types[0], typed, config.max_length)

    rng = random.Random(config.seed)
    train_rows = [row for item in mixed_items(config, corpus_sources(train_sets), rng) for row in encode(*item)]
    rng.shuffle(train_rows)
    eval_rows = [
        row
        for source in corpus_sources(devel_sets(config))
        for index in range(len(source))
        for row in encode(source, index)
    ]
    return model, tokenizer, datasets.Dataset.from_list(train_rows), datasets.Dataset.from_list(eval_rows)
