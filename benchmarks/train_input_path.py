"""Can the training input path keep a GPU busy? Tokens/s through the real training loop (`vaner train`'s Trainer:
the length-grouped sampler, Arrow rows, the collator, the step) with a model that costs nothing, at batches of 512
rows, on one CPU core. One H200 trains this model at about 490k tokens/s (half its bf16 rate), so the target is
1M tokens/s.

    .venv/bin/python benchmarks/train_input_path.py [--heads shared|per_type] [--steps 60] [--batch 512]

Writes benchmarks/results/train_input_path.json (one entry per head layout).
"""

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
RESULTS = REPO_ROOT / "benchmarks" / "results" / "train_input_path.json"
WARM_UP_STEPS = 5


def free_model(config):
    """A VANER-shaped model whose step costs nothing: one parameter, a loss that reads the labels."""
    import torch
    from transformers.modeling_outputs import TokenClassifierOutput

    from modeling_vaner.modeling_vaner import VanerPreTrainedModel

    class FreeModel(VanerPreTrainedModel):
        def __init__(self, config):
            super().__init__(config)
            self.weight = torch.nn.Parameter(torch.zeros(1))
            self.post_init()

        def forward(self, input_ids=None, attention_mask=None, labels=None, **kwargs):
            loss = self.weight.sum() * (labels != -100).sum() / labels.numel()
            return TokenClassifierOutput(loss=loss, logits=None)

    return FreeModel(config)


def step_clock():
    from transformers import TrainerCallback

    class StepClock(TrainerCallback):
        """Step end times, from the end of step `WARM_UP_STEPS` on (start-up left out, and timed apart: from the
        start of training to the end of the first step, the sampler's and the data loader's first work)."""

        def __init__(self):
            self.times, self.began = [], None

        def on_train_begin(self, args, state, control, **kwargs):
            self.began = time.perf_counter()

        def on_step_end(self, args, state, control, **kwargs):
            self.times.append(time.perf_counter())

    return StepClock()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heads", default="shared,per_type")
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--sentences", type=int, default=6000, help="per corpus, for the rows of the mix")
    parser.add_argument(
        "--before",
        action="store_true",
        help="with transformers' DataCollatorForTokenClassification, the collator before RowCollator "
        "(shared heads only), recorded as shared-before",
    )
    args = parser.parse_args()

    import torch

    os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})  # one core
    torch.set_num_threads(1)
    record = json.loads(RESULTS.read_text()) if RESULTS.is_file() else {}
    for heads in args.heads.split(","):
        name = heads + ("-before" if args.before else "")
        record[name] = measure(heads, args)
        print(name, record[name], flush=True)
    RESULTS.write_text(json.dumps(record, indent=2) + "\n")


def measure(heads: str, args) -> dict:
    """Tokens/s of `vaner train`'s loop with a free model whose config has `heads`."""
    import transformers

    import modeling_vaner.collate
    from modeling_vaner.corpora import CORE_CORPORA
    from modeling_vaner.loading import load_backbone
    from modeling_vaner.training import TrainConfig, train
    from modeling_vaner.training.type_heads import entity_types_of

    fields = (
        {"head_layout": "per_type", "entity_types": entity_types_of(list(CORE_CORPORA))} if heads == "per_type" else {}
    )
    backbone, tokenizer = load_backbone("smollm2", **fields)
    model = free_model(backbone.config)
    del backbone
    clock = step_clock()
    original_init, original_collator = transformers.Trainer.__init__, modeling_vaner.collate.RowCollator

    def with_clock(self, *positional, **keywords):
        keywords["callbacks"] = [*(keywords.get("callbacks") or []), clock]
        original_init(self, *positional, **keywords)

    transformers.Trainer.__init__ = with_clock
    if args.before:
        modeling_vaner.collate.RowCollator = lambda pad_token_id, heads: (
            transformers.DataCollatorForTokenClassification(tokenizer, label_pad_token_id=-100)
        )
    try:
        with tempfile.TemporaryDirectory() as folder:
            config = TrainConfig(
                output_dir=folder,
                corpora=list(CORE_CORPORA),
                heads=heads,
                lora=False,
                max_train_sentences=args.sentences,
                max_eval_sentences=8,
                dbr_probability=0.3,
                max_length=256,
                per_device_batch_size=args.batch,
                max_steps=args.steps,
                save_steps=10**6,
                logging_steps=10**6,
                select_best=False,
                bf16=False,
                lr_schedule="steps",  # a fixed number of steps, not the default recipe's wall-clock budget
                time_budget_minutes=None,
                warmup_steps=0,
            )
            summary = train(config, model=model, tokenizer=tokenizer)
    finally:
        transformers.Trainer.__init__, modeling_vaner.collate.RowCollator = original_init, original_collator
    tokens_per_row = summary["train_tokens_per_epoch"] / summary["train_rows"]
    steps = len(clock.times) - WARM_UP_STEPS
    seconds = clock.times[-1] - clock.times[WARM_UP_STEPS - 1]
    return {
        "tokens_per_s": round(steps * args.batch * tokens_per_row / seconds),
        "steps_per_s": round(steps / seconds, 2),
        "batch_rows": args.batch,
        "seconds_to_first_step": round(clock.times[0] - clock.began, 2),
        "mean_tokens_per_row": round(tokens_per_row, 1),
        "steps_timed": steps,
        "collator": "DataCollatorForTokenClassification" if args.before else "RowCollator",
        "cpu": platform.processor() or platform.machine(),
        "cores": 1,
        "command": "python benchmarks/train_input_path.py " + " ".join(sys.argv[1:]),
    }


if __name__ == "__main__":
    main()
