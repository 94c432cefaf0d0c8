"""A training run: its starting model, the checkpoint it resumes from (if its recipe fits), the trainer, the final
model and the summary."""

import json
import time
from dataclasses import asdict
from pathlib import Path

import yaml

from ..collate import RowCollator
from ..corpora import load_corpus
from ..errors import VanerError
from ..files import write_json_atomically
from ..loading import load_backbone, load_vaner, save_adapter_layout, save_vaner
from ..processing_vaner import IGNORE_INDEX
from .checkpoints import record_recipe
from .mix import build_dictionary, build_eval_rows, build_packed_train_rows, build_train_rows, encoder_setup
from .recipe import RecipeError, TrainConfig, read_recipe
from .trainer import TrainingClock, VanerTrainer, training_arguments, wrap_lora
from .type_heads import entity_types_of, with_type_heads

# The options that fix a model's shape and what a checkpoint's weights mean: a run resuming from a checkpoint must
# keep them as the checkpoint was trained.
SHAPE_OPTIONS = (
    "architecture",
    "backbone",
    "init_from",
    "encoder",
    "typed_labels",
    "lora",
    "lora_r",
    "lora_alpha",
    "lora_target_modules",
    "causal",
    "heads",
)


def initial_model(config: TrainConfig):
    """The model a run starts from, and its tokenizer: a trained VANER model (`init_from`, its own head, labels and
    mask; a shared head copied into a head per type when the run trains `heads: per_type`) or a fresh head on the
    configured backbone."""
    if config.init_from:
        model, tokenizer = load_vaner(config.init_from)
        if model.config.is_causal != config.causal:
            raise RecipeError(
                f"{config.init_from} was trained with is_causal={model.config.is_causal}; a run going "
                f"on from it cannot switch the mask (causal: {config.causal})."
            )
        if model.config.head_layout == "shared" and config.heads == "per_type":
            return with_type_heads(model, config.corpora).train(), tokenizer
        if model.config.head_layout != config.heads:
            raise RecipeError(
                f"{config.init_from} has head_layout {model.config.head_layout}; a run going on from "
                f"it keeps it (heads: {config.heads})."
            )
        return model.train(), tokenizer
    if config.heads == "per_type":
        return load_backbone(
            config.backbone,
            is_causal=config.causal,
            head_layout="per_type",
            entity_types=entity_types_of(config.corpora),
        )
    return load_backbone(config.backbone, is_causal=config.causal)


def last_complete_checkpoint(output_dir: Path) -> str | None:
    """The newest `checkpoint-N` that was written to the end (Trainer writes `trainer_state.json` last): a save
    interrupted half way is skipped, never resumed from."""
    complete = [
        path
        for path in output_dir.glob("checkpoint-*")
        if path.name.split("-")[-1].isdigit() and (path / "trainer_state.json").is_file()
    ]
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
        raise RecipeError(
            f"{output_dir} holds a run trained with other model options ({differences}); its "
            f"checkpoint {Path(last).name} cannot be resumed with them. Keep that run's options or "
            "choose another output_dir."
        )
    if not (Path(last) / "optimizer.pt").is_file():
        warnings.warn(
            f"{last} has no optimizer state (optimizer.pt): training resumes from its weights with a "
            "fresh optimizer, so its steps are not exactly those of an uninterrupted run.",
            stacklevel=2,
        )
    return last


class RunFinishedError(VanerError, RuntimeError):
    """The output folder holds a finished run: training it again would rewrite its record. Not a failure: exit 0."""

    exit_code = 0


def train(config: TrainConfig, model=None, tokenizer=None, time_source=time.monotonic) -> dict:
    """Run (or resume) training; returns a summary that is also written to `output_dir/training_summary.json`.

    `model` and `tokenizer` default to the configured backbone (tests pass tiny ones); `time_source` is the clock
    the time budget and the budget-fitted schedule read (tests pass a fake one). A finished run (its `final/` and
    summary written) raises `RunFinishedError` and is left as it is."""
    from transformers import set_seed

    config.validate()
    output_dir = Path(config.output_dir)
    if (output_dir / "training_summary.json").is_file() and (output_dir / "final").is_dir():
        raise RunFinishedError(
            f"{output_dir} holds a finished run (final/ and training_summary.json); nothing to "
            f"do. Train more from it (init_from: {output_dir}/final), or choose another output_dir."
        )
    last = resumable_checkpoint(config, output_dir)  # a recipe that does not fit the run fails before any loading
    set_seed(config.seed)
    train_sets = load_train_sets(config)
    model, tokenizer, rows = model_and_rows(config, train_sets, model, tokenizer)
    output_dir.mkdir(parents=True, exist_ok=True)
    (output_dir / "train_config.yaml").write_text(yaml.safe_dump(asdict(config), sort_keys=False))
    clock = TrainingClock(
        budget_seconds=config.time_budget_minutes * 60 if config.time_budget_minutes else None,
        stop_after_steps=config.stop_after_steps,
        elapsed_seconds=trained_seconds(last),
        time_source=time_source,
    )
    trainer = build_trainer(config, model, tokenizer, rows, clock)
    start = time.perf_counter()
    result = trainer.train(resume_from_checkpoint=last)
    process_seconds = time.perf_counter() - start
    summary = {
        "resumed_from": last,
        **run_summary(trainer, result, rows),
        "seconds": round(clock.elapsed(), 1),
        "process_seconds": round(process_seconds, 1),
        "lr_schedule": config.lr_schedule,
        "corpora": rows["used_sentences"],
        "dbr_dictionary_names": rows["dictionary_names"],
        "log_history": trainer.state.log_history,
    }
    if trainer.is_world_process_zero():
        save_final(config, trainer.model, tokenizer, output_dir / "final")
        write_json_atomically(output_dir / "training_summary.json", summary)
    return summary


def load_train_sets(config: TrainConfig) -> dict:
    """The training split of each corpus, capped at `max_train_sentences` (sampled with the seed)."""
    train_sets = {}
    for name in config.corpora:
        dataset = load_corpus(name, "train")
        # Packing needs the corpus in file order: its cap is taken on whole packs (build_packed_train_rows), and
        # DBR's dictionary then holds the gold mentions of the whole training split.
        if (
            not config.pack_tokens
            and config.max_train_sentences is not None
            and len(dataset) > config.max_train_sentences
        ):
            dataset = dataset.shuffle(seed=config.seed).select(range(config.max_train_sentences))
        train_sets[name] = dataset
    return train_sets


def model_and_rows(config: TrainConfig, train_sets: dict, model=None, tokenizer=None) -> tuple:
    """The model to train (LoRA-wrapped when asked), its tokenizer, and `rows`: the training and devel rows, the
    sentences used per corpus and the size of DBR's dictionary."""

    rows = {"used_sentences": {name: len(dataset) for name, dataset in train_sets.items()}, "dictionary_names": 0}
    if config.architecture == "encoder":
        model, tokenizer, rows["train"], rows["eval"] = encoder_setup(config, train_sets)
        return model, tokenizer, rows
    if model is None:
        model, tokenizer = initial_model(config)
    record_recipe(model.config, asdict(config))
    dictionary = build_dictionary(config, train_sets) if config.dbr_probability > 0 else None
    rows["dictionary_names"] = len(dictionary) if dictionary is not None else 0
    if config.pack_tokens:
        rows["train"], rows["used_sentences"] = build_packed_train_rows(
            config, tokenizer, model.config, train_sets, dictionary
        )
    else:
        rows["train"] = build_train_rows(config, tokenizer, model.config, train_sets, dictionary)
    rows["eval"] = build_eval_rows(config, tokenizer, model.config)
    return (wrap_lora(model, config) if config.lora else model), tokenizer, rows


def build_trainer(config: TrainConfig, model, tokenizer, rows: dict, clock):
    """The `VanerTrainer` of the run: its arguments, the rows, their collator and the clock."""
    from transformers import DataCollatorForTokenClassification

    if config.architecture == "encoder":
        collate = DataCollatorForTokenClassification(tokenizer)
    else:  # a head per type: labels of every head, flattened per row
        per_type = model.config.head_layout == "per_type"
        collate = RowCollator(tokenizer.pad_token_id, model.config.num_type_heads if per_type else 0)
    return VanerTrainer(
        model=model,
        args=training_arguments(config),
        processing_class=tokenizer,  # every checkpoint carries its tokenizer, so `vaner eval` can score it
        train_dataset=rows["train"],
        eval_dataset=rows["eval"],
        # `length` feeds the length-grouped sampler only; the model never sees it.
        data_collator=lambda features: collate([{k: v for k, v in f.items() if k != "length"} for f in features]),
        callbacks=[clock],
        lr_schedule=config.lr_schedule,
        clock=clock,
    )


def save_final(config: TrainConfig, model, tokenizer, final_dir: Path) -> None:
    """`final/`: a plain checkpoint (encoder baselines); the Hub layout of a LoRA adapter on the backbone; or a full
    VANER model (full fine-tuning, or an adapter on a tuned model, merged)."""
    if config.architecture == "encoder":  # a plain checkpoint: loads with AutoModel, no remote code
        model.save_pretrained(final_dir)
        tokenizer.save_pretrained(final_dir)
    elif config.lora and config.init_from:  # the adapter sits on a tuned model, not on the backbone: merge it
        save_vaner(model.merge_and_unload(), tokenizer, final_dir)
    elif config.lora:  # config + code + tokenizer at the root, adapter and head in adapter/ (see `load_vaner`)
        save_adapter_layout(model, tokenizer, final_dir)
    else:
        save_vaner(model, tokenizer, final_dir)


def run_summary(trainer, result, rows: dict) -> dict:
    """Steps, losses, rows and mean rates of this process (the sampler mixes long and short rows evenly)."""
    train_rows = rows["train"]
    train_tokens = sum(train_rows["length"])
    train_words = sum(
        label != IGNORE_INDEX
        for batch in train_rows.iter(batch_size=1000)
        for labels in batch["labels"]
        for label in labels
    )
    samples_per_second = result.metrics.get("train_samples_per_second", 0.0)
    return {
        "global_step": trainer.state.global_step,
        "epoch": trainer.state.epoch,
        "train_loss": result.training_loss,
        "best_checkpoint": trainer.state.best_model_checkpoint,
        "best_eval_loss": trainer.state.best_metric,
        "train_rows": len(train_rows),
        "train_tokens_per_epoch": train_tokens,
        "train_words_per_epoch": train_words,
        "train_tokens_per_second": round(samples_per_second * train_tokens / len(train_rows), 1),
        "train_words_per_second": round(samples_per_second * train_words / len(train_rows), 1),
    }
