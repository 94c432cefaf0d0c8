"""Training recipes (`training/recipe.py`): options typed from YAML and the command line, every shipped recipe valid,
and a recipe that cannot run refused before anything loads."""

from pathlib import Path

import pytest

from modeling_vaner.training import TrainConfig, parse_overrides
from tests.conftest import (
    REPO_ROOT,
)


def test_overrides_are_typed_by_the_recipe_fields_and_unknown_options_fail():
    assert parse_overrides(
        [
            "--max_steps",
            "20",
            "--lora",
            "false",
            "--corpora",
            "s800",
            "linnaeus",
            "--no_bf16",
            "--typed-labels",
            "true",
        ]
    ) == {"max_steps": 20, "lora": False, "corpora": ["s800", "linnaeus"], "bf16": False, "typed_labels": True}
    with pytest.raises(ValueError, match="Unknown training option.*--max_stepz"):
        parse_overrides(["--max_stepz", "20"])
    with pytest.raises(ValueError, match="--max_steps.*invalid int value: 'four'"):
        parse_overrides(["--max_steps", "four"])
    with pytest.raises(ValueError, match="Unknown training option"):
        TrainConfig.from_yaml(None, {"learnin_rate": 1})


def test_a_learning_rate_written_without_a_dot_is_a_number(tmp_path):
    # YAML 1.1 reads `1e-4` as a string; AdamW then failed deep inside Trainer with a TypeError.
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("learning_rate: 2e-4\nwarmup_steps: 10\n")
    config = TrainConfig.from_yaml(recipe, parse_overrides(["--time-budget-minutes", "30"]))
    assert config.learning_rate == 2e-4 and isinstance(config.learning_rate, float)
    assert config.time_budget_minutes == 30.0 and config.warmup_steps == 10
    assert TrainConfig.from_yaml(None, parse_overrides(["--learning-rate", "1e-4"])).learning_rate == 1e-4
    with pytest.raises(ValueError, match=f"learning_rate in {recipe} must be a number, got 'fast'"):
        TrainConfig.from_yaml(recipe, {"learning_rate": "fast"})


@pytest.mark.parametrize("recipe", sorted(path.name for path in (REPO_ROOT / "configs").glob("*.yaml")))
def test_every_shipped_recipe_is_valid(recipe):
    config = TrainConfig.from_yaml(REPO_ROOT / "configs" / recipe)  # raises on an unknown option or a bad value
    assert config.corpora and Path(config.output_dir).parts[0] == "runs"


def test_a_recipe_that_cannot_run_is_refused_before_anything_loads(tmp_path):
    recipe = tmp_path / "recipe.yaml"
    cases = {
        "- a\n- list\n": "must be a mapping of option: value, not a list",
        "max_steps: four\n": "max_steps .* must be a whole number, got 'four'",
        "learning_rate: -1.0e-4\n": "learning_rate .* must be above 0",
        "corpora: NCBI-disease, nosuch\n": "corpora in .*: nosuch: unknown corpus",
        "time_budget_minutes: null\n": "time_budget_minutes .* must be set when lr_schedule is budget",
        "per_device_batch_size: 0\n": "per_device_batch_size .* must be at least 1",
        "all_types_probability: 0.5\n": "all_types_probability .* needs heads per_type",
        "heads: per_type\nall_types_probability: 0.7\nadaptive_probability: 0.5\n": "plus adaptive_probability",
    }
    for text, message in cases.items():
        recipe.write_text(text)
        with pytest.raises(ValueError, match=message):
            TrainConfig.from_yaml(recipe)
    recipe.write_text("corpora: NCBI-disease\n")  # a string is one corpus, not its letters
    assert TrainConfig.from_yaml(recipe).corpora == ["NCBI-disease"]
    with pytest.raises(ValueError, match="no such file"):
        TrainConfig.from_yaml(tmp_path / "missing.yaml")


def test_the_recipe_defaults_are_the_shipped_default_models_recipe():
    from dataclasses import fields

    from modeling_vaner.training import read_recipe
    from tests.conftest import REPO_ROOT

    shipped = read_recipe(REPO_ROOT / "configs" / "gpu_smollm2.yaml")
    defaults = TrainConfig()
    differ = {key: (getattr(defaults, key), value) for key, value in shipped.items() if getattr(defaults, key) != value}
    assert differ == {"output_dir": ("runs/vaner", "runs/gpu-smollm2")}  # where it writes is the only difference
    assert {f.name for f in fields(TrainConfig)} >= set(shipped)
