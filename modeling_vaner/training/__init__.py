"""`vaner train`: instruction-tuned, mixed-corpus VANER with DBR items and LoRA, on transformers' `Trainer`.

Training takes the inference path, with labels: words -> instruction + words -> windows (every word trained exactly once,
on its first sub-token; the instruction never carries a label) -> bidirectional model. The same command runs on one
CPU or data-parallel under `torchrun`/`accelerate launch`. In four parts, each a module with one job:

- `recipe`: the options (`TrainConfig`), read from YAML and the command line, checked before anything loads;
- `mix`: the corpora mixed by temperature, DBR items, and the labelled rows, for one shared head or a head per type
  (`type_heads`: the heads a run gives a model, and a one-pass copy of a shared-head model);
- `trainer`: transformers' `Trainer` with VANER's choices, the run's clock and the budget-fitted schedule;
- `run`: the starting model, resuming, `final/` and the summary.

Importing this package does not import transformers or torch (`vaner --help` stays fast).
"""

from .mix import (
    LABEL_IDS,
    build_dictionary,
    build_eval_rows,
    build_train_rows,
    corpus_weights,
    encode_plan,
    labelled_rows,
    mixed_items,
    request_encoder,
)
from .recipe import RecipeError, TrainConfig, parse_overrides, read_recipe, recipe_parser

# The run itself needs torch and transformers: its names load when first used, so `vaner train --help` and a recipe's
# mistakes answer at once.
RUN_NAMES = ("RunFinishedError", "initial_model", "resumable_checkpoint", "train")


def __getattr__(name: str):
    if name in RUN_NAMES:
        from . import run

        return getattr(run, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "LABEL_IDS",
    "RecipeError",
    "RunFinishedError",
    "TrainConfig",
    "build_dictionary",
    "build_eval_rows",
    "build_train_rows",
    "corpus_weights",
    "encode_plan",
    "initial_model",
    "labelled_rows",
    "mixed_items",
    "parse_overrides",
    "read_recipe",
    "recipe_parser",
    "request_encoder",
    "resumable_checkpoint",
    "train",
]
