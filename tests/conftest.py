import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from modeling_vaner import VanerConfig

REPO_ROOT = Path(__file__).resolve().parents[1]
# Tiny training runs count steps: a step schedule with no warm-up, not the default recipe's wall-clock budget.
STEP_SCHEDULE = {"lr_schedule": "steps", "time_budget_minutes": None, "warmup_steps": 0}


def tiny_lora_recipe(output_dir: Path, backbone: Path, **overrides):
    """The recipe of a four-step LoRA run on a tiny backbone (s800, no DBR): a trained model in the Hub layout."""
    from modeling_vaner.training import TrainConfig

    fields = dict(
        output_dir=str(output_dir),
        backbone=str(backbone),
        corpora=["s800"],
        max_train_sentences=24,
        max_eval_sentences=4,
        dbr_probability=0.0,
        max_length=48,
        per_device_batch_size=4,
        max_steps=4,
        save_steps=100,
        learning_rate=1e-2,
        bf16=False,
        **STEP_SCHEDULE,
    )
    fields.update(overrides)
    return TrainConfig(**fields)


def tiny_config(**overrides) -> VanerConfig:
    """A random LLaMA-shaped VANER small enough to run in milliseconds (GQA on, as in SmolLM2 and LLaMA-2-70B)."""
    fields = dict(
        vocab_size=128,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=256,
        pad_token_id=0,
    )
    fields.update(overrides)
    return VanerConfig(**fields)


def tiny_llama_config(**overrides):
    """The stock `LlamaConfig` of the same shape as `tiny_config` (the causal decoder VANER is built from)."""
    from transformers import LlamaConfig

    fields = tiny_config(**overrides).to_dict()
    return LlamaConfig(**{k: v for k, v in fields.items() if k in LlamaConfig.__dataclass_fields__})


def save_tiny_backbone(folder: Path, tokenizer) -> Path:
    """A random tiny LLaMA causal LM saved like a downloaded backbone (with `tokenizer`), seeded: `folder`."""
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        tie_word_embeddings=True,
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return Path(folder)


@pytest.fixture
def config() -> VanerConfig:
    return tiny_config()


def run_python(code: str, env: dict | None = None, timeout: int = 300) -> str:
    """Run `code` in a fresh interpreter (nothing imported, nothing cached) and return its stdout."""
    full_env = {**os.environ, **(env or {})}
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        check=False,
        text=True,
        env=full_env,
        timeout=timeout,
        cwd=REPO_ROOT,
    )
    if result.returncode != 0:
        raise AssertionError(f"subprocess failed ({result.returncode}):\n{result.stderr[-4000:]}")
    return result.stdout


@pytest.fixture(scope="session")
def smollm2_dir() -> Path:
    """The real SmolLM2 backbone, converted once per machine into the VANER cache (about 25 s the first time)."""
    from modeling_vaner.backbone import convert_smollm2

    return convert_smollm2()


@pytest.fixture(autouse=True)
def _deterministic():
    torch.manual_seed(0)


@pytest.fixture(scope="session")
def smollm2_tokenizer(smollm2_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(smollm2_dir)


@pytest.fixture(scope="session")
def tiny_vaner(smollm2_tokenizer):
    """A random tiny VANER with the real SmolLM2 tokenizer, its head biased so that it tags plenty of mentions."""
    from modeling_vaner import VanerForTokenClassification

    torch.manual_seed(0)
    model = VanerForTokenClassification(tiny_config(vocab_size=len(smollm2_tokenizer), pad_token_id=2)).eval()
    with torch.no_grad():
        model.score.bias.copy_(torch.tensor([0.0, 0.2, 0.1]))
    return model, smollm2_tokenizer


@pytest.fixture(scope="session")
def tiny_vaner_dir(tiny_vaner, tmp_path_factory) -> Path:
    from modeling_vaner import save_vaner

    directory = tmp_path_factory.mktemp("tiny_vaner")
    save_vaner(*tiny_vaner, directory)
    return directory
