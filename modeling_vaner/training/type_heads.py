"""Training rows for a VANER model with one BIO head per entity type (`head_layout: per_type`, one pass for all types).

A row's instruction names the types its corpus annotates (and the corpus, for VANER's guidelines), and its labels
hold one column per head: the annotated types' tags, `IGNORE_INDEX` for every other head, so a corpus never
teaches a head about a type it does not annotate (no loss, no gradient). Corpora over the same sentences (BC5CDR's
chemicals and diseases) merge into one source whose rows train both heads. The mix, DBR and schedule are those of
the shared-head model (`mix`, `trainer`); DBR items train the head of the type they are built for.
"""

import os
import random
from dataclasses import dataclass
from pathlib import Path

from ..configuration_vaner import DEFAULT_ENTITY_TYPES
from ..corpora import TAGS, get_corpus, load_corpus
from .mix import corpus_weights, encode_plan, request_encoder


@dataclass
class Source:
    """Sentences annotated for one or more entity types: one corpus, or corpora over the same sentences.

    `tags[i][k]` is sentence i's tags for `types[k]`."""

    corpora: list[str]
    types: list[str]
    tokens: list[list[str]]
    tags: list[list[list[str]]]

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def name(self) -> str:
        return "+".join(self.corpora)


def entity_types_of(corpora: list[str]) -> list[str]:
    """The heads a model trained on `corpora` gets: their entity types, the four VANER types first in their order."""
    types = {get_corpus(name).entity_type for name in corpora}
    return [t for t in DEFAULT_ENTITY_TYPES if t in types] + sorted(types - set(DEFAULT_ENTITY_TYPES))


def with_type_heads(model, corpora: list[str]):
    """A one-pass copy of a shared-head VANER `model` for training on `corpora`: the same weights, and a head per
    entity type (the model's own types, then the corpora's new ones), each a copy of the shared head. Asked with
    one type's instruction, every head then gives the shared model's answer for that type (the same weights
    exactly; logits to float rounding): training only has to teach the instruction that names several types."""
    types = list(model.config.entity_types)
    types += [t for t in entity_types_of(corpora) if t not in types]
    config = type(model.config).from_dict({**model.config.to_dict(), "head_layout": "per_type", "entity_types": types})
    state = model.state_dict()
    state["score.weight"] = state["score.weight"].repeat(len(types), 1)  # head k: rows [3k, 3k + 3)
    state["score.bias"] = state["score.bias"].repeat(len(types))
    copy = type(model)(config).to(model.dtype)
    state["score.type_hashes"] = copy.score.type_hashes  # the types the new heads are for
    copy.load_state_dict(state)
    return copy.train(model.training)


def merged_sources(datasets: dict) -> list[Source]:
    """One source per group of corpora with the same sentences, word for word (`datasets`: corpus name ->
    `datasets.Dataset` with `tokens` and `ner_tags`), in the order the corpora are given."""
    sources: dict[tuple, Source] = {}
    for name, dataset in datasets.items():
        tokens = list(dataset["tokens"])  # a list: a datasets column is read row by row when indexed
        tags = [[TAGS[t] for t in tag_ids] for tag_ids in dataset["ner_tags"]]
        key = tuple(map(tuple, tokens))
        entity_type = get_corpus(name).entity_type
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


def mixed_items(config, sources: list[Source], rng: random.Random):
    """One epoch's `(source, sentence index)`: each source drawn by its temperature weight (the total is the sum of
    source sizes), in a shuffled order within the source (as `training.mixed_sentences`)."""
    sizes = {source.name: len(source) for source in sources}
    weights = corpus_weights(sizes, config.temperature)
    total = sum(sizes.values())
    for source in sources:
        order = [i % sizes[source.name] for i in range(round(weights[source.name] * total))]
        rng.shuffle(order)
        for index in order:
            yield source, index


def source_instruction(config, model_config, source: Source) -> str:
    """The instruction of a source's sentences: its types, and its corpora's guidelines (VANER) or none."""
    datasets = [config.guidelines(name) for name in source.corpora]
    return model_config.instruction(source.types, None if None in datasets else datasets)


def row_instruction(config, model_config, source: Source, rng: random.Random) -> str:
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


def build_type_head_train_rows(config, tokenizer, model_config, train_sets: dict, dictionary=None):
    """The shuffled training rows of one epoch for a model with a head per type (as `build_train_rows`): each mixed
    sentence behind its instruction (`row_instruction`), then with probability `dbr_probability` a DBR item of one of its
    types (adaptive instruction, that type's head only)."""
    rng = random.Random(config.seed)
    heads = model_config.entity_types
    plan = {"words": [], "instruction": [], "tags": []}
    for source, index in mixed_items(config, merged_sources(train_sets), rng):
        plan["words"].append(source.tokens[index])
        plan["instruction"].append(row_instruction(config, model_config, source, rng))
        plan["tags"].append(head_tags(source.types, source.tags[index], heads))
        if dictionary is not None and rng.random() < config.dbr_probability:
            entity_type = rng.choice(source.types)
            words, tags = dictionary.sample_item(rng, entity_type, config.dbr_max_same, config.dbr_max_other)
            plan["words"].append(words)
            plan["instruction"].append(model_config.instruction(entity_type))
            plan["tags"].append(head_tags([entity_type], [tags], heads))
    rows = encode_plan(
        plan,
        request_encoder(config, tokenizer),
        "training rows",
        heads=len(heads),
        cache_dir=Path(config.output_dir) / "rows" / f"rank-{os.environ.get('RANK', '0')}",
    )
    order = list(range(len(rows)))
    rng.shuffle(order)
    return rows.select(order)


def build_type_head_eval_rows(config, tokenizer, model_config):
    """Devel rows for a model with a head per type: the first `max_eval_sentences` of each source's devel split."""
    devel = {}
    for name in config.corpora:
        dataset = load_corpus(name, "devel")
        if config.max_eval_sentences is not None:
            dataset = dataset.select(range(min(len(dataset), config.max_eval_sentences)))
        devel[name] = dataset
    heads = model_config.entity_types
    plan = {"words": [], "instruction": [], "tags": []}
    for source in merged_sources(devel):
        instruction = source_instruction(config, model_config, source)
        for words, tags in zip(source.tokens, source.tags):
            plan["words"].append(words)
            plan["instruction"].append(instruction)
            plan["tags"].append(head_tags(source.types, tags, heads))
    return encode_plan(plan, request_encoder(config, tokenizer), "devel rows", heads=len(heads))
