import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from modeling_vaner import VanerConfig, VanerForTokenClassification
from modeling_vaner.training import TrainConfig

REPO_ROOT = Path(__file__).resolve().parents[1]
# Tiny training runs count steps: a step schedule with no warm-up, not the default recipe's wall-clock budget.
STEP_SCHEDULE = {"lr_schedule": "steps", "time_budget_minutes": None, "warmup_steps": 0}


def tiny_lora_recipe(output_dir: Path, backbone: Path, **overrides):
    """The recipe of a four-step LoRA run on a tiny backbone (s800, no DBR): a trained model in the Hub layout."""
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


def read(path: Path) -> dict:
    return json.loads(path.read_text())


def eval_args(model: Path, output: Path, datasets: str, *extra: str) -> list[str]:
    return ["eval", "--model", str(model), "--datasets", datasets, "--limit", "2", "--output", str(output), *extra]


def write_corpus(folder: Path, sentences: int, splits=("train", "devel", "test"), extra_words: int = 0) -> Path:
    """A CoNLL corpus of `sentences` copies of one 5-word sentence (`extra_words` more `O` words in each)."""
    folder.mkdir(parents=True, exist_ok=True)
    for split in splits:
        (folder / f"{split}.tsv").write_text(("and\tO\n" * extra_words + SENTENCES) * sentences)
    return folder


SENTENCES = "Aspirin\tO\ncauses\tO\nbreast\tB-Disease\ncancer\tI-Disease\n.\tO\n\n"


TEXT = "Aspirin lowered the risk of breast cancer in BRCA1 carriers, unlike Escherichia coli infection."
# Two sentences, three types (a per-type model asked for all of them in one pass).
TWO_SENTENCES = "Aspirin lowered the risk of Escherichia coli infection. Mice were given cisplatin."


SENTENCE = (["Cisplatin", "causes", "renal", "failure", "."], [1, 0, 3, 4, 0])


NAMES = ["O", "B-Chemical", "I-Chemical", "B-Disease", "I-Disease"]


TYPES = ["Chemical", "Disease", "Gene", "Species"]


def per_type_model(tokenizer, **fields):
    torch.manual_seed(0)
    config = tiny_config(vocab_size=len(tokenizer), pad_token_id=2, head_layout="per_type", **fields)
    return VanerForTokenClassification(config).eval()


@pytest.fixture(scope="session")
def per_type_run(tmp_path_factory, smollm2_tokenizer):
    """A tiny one-pass LoRA VANER trained a few steps on a tiny LLaMA backbone, in the Hub layout."""
    from modeling_vaner.training import train  # the run loads Trainer and peft: only where a test trains

    root = tmp_path_factory.mktemp("per_type")
    backbone = save_tiny_backbone(root / "backbone", smollm2_tokenizer)
    summary = train(
        tiny_lora_recipe(
            root / "run",
            backbone,
            corpora=["BC5CDR-chem", "BC5CDR-disease", "s800"],
            heads="per_type",
            dbr_probability=0.5,
        )
    )
    from safetensors.torch import load_file, save_file

    adapter = root / "run" / "final" / "adapter" / "adapter_model.safetensors"
    weights = load_file(adapter)  # four steps teach little: lean every head towards B so that it tags mentions
    weights["base_model.model.score.bias"] = weights["base_model.model.score.bias"] + torch.tensor([0.0, 2.0, 0.0] * 3)
    save_file(weights, adapter, metadata={"format": "pt"})
    return root / "run", summary


def tiny_run_config(tmp_path, **overrides):
    fields = dict(
        output_dir=str(tmp_path / "run"),
        corpora=["NCBI-disease", "s800"],
        max_train_sentences=40,
        max_eval_sentences=8,
        dbr_probability=0.5,
        max_length=64,
        per_device_batch_size=4,
        max_steps=20,
        save_steps=10,
        logging_steps=5,
        learning_rate=5e-3,
        bf16=False,
        lora_target_modules=["q_proj", "v_proj"],
        lora_r=12,
        lora_alpha=32,
        select_best=True,
        **STEP_SCHEDULE,
    )
    fields.update(overrides)
    return TrainConfig(**fields)


@pytest.fixture
def tiny_model(smollm2_tokenizer):
    from modeling_vaner import VanerForTokenClassification
    from tests.conftest import tiny_config

    torch.manual_seed(0)
    return VanerForTokenClassification(tiny_config(vocab_size=len(smollm2_tokenizer), pad_token_id=2))


class Interrupted(Exception):
    pass


def budget_config(tmp_path, **overrides):
    # 100 fake seconds = 100 steps; max_steps far beyond, so the budget decides.
    return tiny_run_config(
        tmp_path,
        lora=False,
        dbr_probability=0.0,
        max_steps=1000,
        lr_schedule="budget",
        time_budget_minutes=100 / 60,
        warmup_steps=10,
        save_steps=20,
        logging_steps=1,
        select_best=False,
        **overrides,
    )


class StepClock:
    """Fake time for the run's clock: one second per training forward of `model` (evaluation does not count), so
    schedules that follow the clock are exact. Raises `Interrupted` when read at or past `interrupt_at`."""

    def __init__(self, model, interrupt_at: float | None = None):
        self.now, self.interrupt_at = 0.0, interrupt_at
        model.register_forward_hook(self._tick)

    def _tick(self, module, args, output):
        self.now += 1.0 if module.training else 0.0

    def __call__(self) -> float:
        if self.interrupt_at is not None and self.now >= self.interrupt_at:
            raise Interrupted(f"fake interruption at {self.now} s")
        return self.now


def fresh_tiny_model(tokenizer):
    from modeling_vaner import VanerForTokenClassification
    from tests.conftest import tiny_config

    torch.manual_seed(0)
    return VanerForTokenClassification(tiny_config(vocab_size=len(tokenizer), pad_token_id=2))
