"""The trainer: transformers' `Trainer` with VANER's choices, the clock of a time-budgeted run, the learning-rate
schedule fitted to that budget, the trainer's arguments, and LoRA."""

import os
import time
from pathlib import Path

import torch
from transformers import Trainer, TrainerCallback, TrainingArguments
from transformers.trainer_callback import ExportableState
from transformers.trainer_pt_utils import LengthGroupedSampler

from .recipe import TrainConfig


class TrainingClock(TrainerCallback, ExportableState):
    """The run's training time over all its processes (each resume starts one), and the stop it calls for.

    A checkpoint records the time trained up to it (`trainer_state.json`, `stateful_callbacks`); a resumed process
    starts its clock there, so the time an interrupted process spent after its last checkpoint is not counted (its
    steps are trained again). Training stops, saving and evaluating a checkpoint, at the first step end past
    `budget_seconds` or at `stop_after_steps`."""

    def __init__(
        self,
        budget_seconds: float | None = None,
        stop_after_steps: int | None = None,
        elapsed_seconds: float = 0.0,
        time_source=time.monotonic,
    ):
        self.budget_seconds = budget_seconds
        self.stop_after_steps = stop_after_steps
        self.elapsed_seconds = elapsed_seconds  # trained before this process
        self.time_source = time_source
        self.process_start = None

    def elapsed(self) -> float:
        this_process = self.time_source() - self.process_start if self.process_start is not None else 0.0
        return self.elapsed_seconds + this_process

    def on_train_begin(self, args, state, control, **kwargs):
        self.process_start = self.time_source()

    def on_step_end(self, args, state, control, **kwargs):
        if (self.budget_seconds is not None and self.elapsed() >= self.budget_seconds) or (
            self.stop_after_steps is not None and state.global_step >= self.stop_after_steps
        ):
            control.should_training_stop = True
            control.should_save = True
            control.should_evaluate = True
        return control

    def state(self) -> dict:
        return {
            "args": {"budget_seconds": self.budget_seconds, "stop_after_steps": self.stop_after_steps},
            "attributes": {"elapsed_seconds": self.elapsed()},
        }


def budget_fitted_schedule(warmup_steps: int, clock) -> "callable":
    """`LambdaLR` factor: linear warm-up over `warmup_steps`, times the fraction of the time budget still left, so the
    learning rate falls linearly with elapsed training time and reaches 0 when the budget runs out. (A closure,
    not an object: `LambdaLR` would pickle an object's clock into the checkpoint.)"""

    def factor(step: int) -> float:
        warm = min(1.0, step / warmup_steps) if warmup_steps else 1.0
        return warm * max(0.0, 1.0 - clock.elapsed() / clock.budget_seconds)

    return factor


class VanerTrainer(Trainer):
    """`Trainer` with weight decay on matrices only, the length-grouped sampler given the row lengths as a list, and
    with `lr_schedule: budget` the budget-fitted schedule of `clock`."""

    def __init__(self, *args, lr_schedule: str = "steps", clock: TrainingClock | None = None, **kwargs):
        self.lr_schedule, self.clock = lr_schedule, clock
        super().__init__(*args, **kwargs)

    def get_decay_parameter_names(self, model) -> list[str]:
        return [name for name, parameter in model.named_parameters() if parameter.ndim >= 2]

    def _get_train_sampler(self, train_dataset=None):
        """Trainer's length-grouped sampler, given the row lengths as a list: the `datasets` column it reads by
        itself is looked up one row at a time, about 30 s per epoch of 58k rows on one core (the same order either
        way; benchmarks/train_input_path.py)."""
        dataset = self.train_dataset if train_dataset is None else train_dataset
        return LengthGroupedSampler(
            self.args.train_batch_size * self.args.gradient_accumulation_steps,
            dataset=dataset,
            lengths=list(dataset["length"]),
        )

    def create_scheduler(self, num_training_steps, optimizer=None):
        if self.lr_scheduler is None and self.lr_schedule == "budget":
            self.lr_scheduler = torch.optim.lr_scheduler.LambdaLR(
                optimizer or self.optimizer, budget_fitted_schedule(self.args.warmup_steps, self.clock)
            )
        return super().create_scheduler(num_training_steps, optimizer)


def training_arguments(config: TrainConfig) -> TrainingArguments:
    """The recipe as transformers' `TrainingArguments`: length-grouped batches, checkpoints and devel loss every
    `save_steps` (or `eval_steps`), on CUDA when there is one; several CPU processes talk over gloo."""
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1
    return TrainingArguments(
        output_dir=str(Path(config.output_dir)),
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
        ddp_backend="gloo" if distributed and not torch.cuda.is_available() else None,
    )


def wrap_lora(model, config: TrainConfig):
    from peft import LoraConfig, TaskType, get_peft_model

    lora = LoraConfig(
        task_type=TaskType.TOKEN_CLS,
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        target_modules=config.lora_target_modules,
    )
    return get_peft_model(model, lora)  # TOKEN_CLS trains and saves the `score` head in full
