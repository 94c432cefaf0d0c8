"""What a run's records say about its model: the recipe written into the model's config (`record_recipe`: what
inference must know to run it as trained), and a LoRA run's Trainer checkpoint loaded as a model ready to tag
(`load_run_checkpoint`)."""

import json
from pathlib import Path

import yaml

from ..corpora import get_corpus
from ..loading import load_backbone, load_vaner
from .type_heads import entity_types_of, with_type_heads


def record_recipe(model_config, recipe: dict) -> None:
    """Write into a model's config what inference must know to run it as it was trained (`recipe`: the run's
    options, as in its `train_config.yaml`): the guidelines it learned (none for VANER_adapt, so inference gives it the
    adaptive instruction), its input length and its packing."""
    datasets = {}
    if recipe["instruction"] != "adaptive":
        for name in recipe["corpora"]:  # a document corpus's types, one guideline name: "Gene,Disease,..."
            corpus = get_corpus(name)
            known = datasets.get(corpus.guidelines)
            datasets[corpus.guidelines] = f"{known},{corpus.entity_type}" if known else corpus.entity_type
    model_config.datasets = datasets
    model_config.max_length = recipe["max_length"]
    model_config.pack_tokens = recipe["pack_tokens"]


def load_run_checkpoint(checkpoint_dir: str | Path, dtype=None):
    """A LoRA run's Trainer checkpoint (`runs/x/checkpoint-N`) as a model ready to tag, and its tokenizer: the
    model the run started from (its backbone, or its `init_from` model) rebuilt from the run's `train_config.yaml`,
    the checkpoint's adapter and head merged in. For scoring the checkpoints a run chose between, or a run's early
    steps. (Full fine-tuning checkpoints load as they are, with `load_vaner`.)"""
    from transformers.modeling_utils import load_state_dict

    checkpoint = Path(checkpoint_dir)
    recipe_path = checkpoint.parent / "train_config.yaml"
    if not recipe_path.is_file():
        raise FileNotFoundError(f"{checkpoint} is not a checkpoint of a `vaner train` run: {recipe_path} is missing.")
    recipe = yaml.safe_load(recipe_path.read_text(encoding="utf-8"))
    if recipe.get("init_from"):
        model, tokenizer = load_vaner(recipe["init_from"])
        if recipe.get("heads") == "per_type" and model.config.head_layout == "shared":
            model = with_type_heads(model, recipe["corpora"])
    else:
        fields = {}
        if recipe.get("heads") == "per_type":
            fields = {"head_layout": "per_type", "entity_types": entity_types_of(recipe["corpora"])}
        model, tokenizer = load_backbone(recipe["backbone"], is_causal=recipe["causal"], **fields)
    record_recipe(model.config, recipe)
    adapter_config = json.loads((checkpoint / "adapter_config.json").read_text())
    model.merge_lora_adapter(adapter_config, load_state_dict(str(checkpoint / "adapter_model.safetensors")))
    return model.to(dtype or model.dtype).eval(), tokenizer
