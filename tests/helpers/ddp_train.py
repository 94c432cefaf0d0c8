"""Run under torchrun: train a tiny VANER data-parallel for a few steps and save this rank's weights."""

import os
import sys

import torch
from transformers import AutoTokenizer

from modeling_vaner import VanerForTokenClassification
from modeling_vaner.backbone import convert_smollm2
from modeling_vaner.training import TrainConfig, train
from tests.conftest import STEP_SCHEDULE, tiny_config

output_dir = sys.argv[1]
tokenizer = AutoTokenizer.from_pretrained(convert_smollm2())
torch.manual_seed(0)
model = VanerForTokenClassification(tiny_config(vocab_size=len(tokenizer), pad_token_id=2))
config = TrainConfig(
    output_dir=output_dir,
    corpora=["s800"],
    max_train_sentences=32,
    max_eval_sentences=4,
    dbr_probability=0.0,
    max_length=48,
    per_device_batch_size=2,
    max_steps=6,
    save_steps=100,
    logging_steps=2,
    learning_rate=5e-3,
    bf16=False,
    lora=False,
    **STEP_SCHEDULE,
)
summary = train(config, model=model, tokenizer=tokenizer)
rank = int(os.environ["RANK"])
torch.save(
    {"state": model.state_dict(), "step": summary["global_step"], "world": int(os.environ["WORLD_SIZE"])},
    os.path.join(output_dir, f"rank{rank}.pt"),
)
