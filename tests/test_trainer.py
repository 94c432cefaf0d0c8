"""VANER's `Trainer` (`training/trainer.py`): the budget-fitted schedule and its clock across resumes, and the
sampling order transformers' own `Trainer` draws."""

import pytest
import torch

from modeling_vaner import VanerForTokenClassification
from modeling_vaner.training import train
from tests.conftest import (
    Interrupted,
    StepClock,
    budget_config,
    fresh_tiny_model,
    tiny_config,
)


def logged_rates(summary):
    return {entry["step"]: entry["learning_rate"] for entry in summary["log_history"] if "learning_rate" in entry}


def test_the_budget_fitted_schedule_reaches_zero_at_the_deadline(tmp_path, smollm2_tokenizer):
    model = fresh_tiny_model(smollm2_tokenizer)
    summary = train(budget_config(tmp_path), model=model, tokenizer=smollm2_tokenizer, time_source=StepClock(model))
    assert summary["global_step"] == 100  # the step that reached the 100 s deadline, no later
    assert summary["seconds"] == 100.0 and summary["lr_schedule"] == "budget"
    rates = logged_rates(summary)  # the rate step k trained with, set after step k - 1 (k - 1 fake seconds)
    peak = 5e-3
    assert rates[4] == pytest.approx(peak * 3 / 10 * (1 - 3 / 100))  # warming up over 10 steps
    assert rates[51] == pytest.approx(peak * (1 - 50 / 100))  # linear in elapsed time
    assert 0 < rates[100] <= 0.02 * peak  # the last step trains within 2% of 0
    assert (tmp_path / "run" / "final").is_dir() and (tmp_path / "run" / "checkpoint-100").is_dir()


def test_a_resumed_budget_run_counts_its_time_across_resumes(tmp_path, smollm2_tokenizer):
    # Interrupted at 45 s: checkpoint-40 holds 40 s of training; the 5 s after it are lost with their steps.
    model = fresh_tiny_model(smollm2_tokenizer)
    with pytest.raises(Interrupted):
        train(
            budget_config(tmp_path),
            model=model,
            tokenizer=smollm2_tokenizer,
            time_source=StepClock(model, interrupt_at=45),
        )
    assert not (tmp_path / "run" / "final").exists()
    model = fresh_tiny_model(smollm2_tokenizer)  # a new process would build a fresh model too
    summary = train(budget_config(tmp_path), model=model, tokenizer=smollm2_tokenizer, time_source=StepClock(model))
    assert summary["resumed_from"].endswith("checkpoint-40")
    assert summary["global_step"] == 100 and summary["seconds"] == 100.0 and summary["process_seconds"] > 0
    rates = logged_rates(summary)
    assert sorted(rates) == list(range(1, 101))  # the history goes on from checkpoint-40's; steps 41-45 once
    assert rates[61] == pytest.approx(5e-3 * (1 - 60 / 100))  # the same schedule goes on


def test_the_length_grouped_order_is_trainers_own_with_lengths_as_a_list():
    # VanerTrainer hands the sampler the row lengths as a list (a datasets column is read row by row, ~30 s an epoch);
    # the order must be the one Trainer's own sampler draws from the column.
    import datasets
    from transformers.trainer_pt_utils import LengthGroupedSampler

    rows = datasets.Dataset.from_dict({"length": [(7 * i) % 97 + 1 for i in range(2000)]})
    orders = []
    for lengths in (rows["length"], list(rows["length"])):
        torch.manual_seed(3)
        orders.append(list(LengthGroupedSampler(16, dataset=rows, lengths=lengths)))
    assert orders[0] == orders[1] and sorted(orders[1]) == list(range(2000))


def test_vaner_trainers_own_sampler_draws_the_order_trainers_sampler_draws(tmp_path):
    import datasets
    from transformers import Trainer, TrainingArguments

    from modeling_vaner.training.trainer import VanerTrainer

    rows = datasets.Dataset.from_dict({"length": [(7 * i) % 97 + 1 for i in range(600)]})
    args = TrainingArguments(
        output_dir=str(tmp_path),
        per_device_train_batch_size=4,
        gradient_accumulation_steps=4,
        train_sampling_strategy="group_by_length",
        use_cpu=True,
        report_to="none",
    )
    trainer = VanerTrainer(model=VanerForTokenClassification(tiny_config()), args=args, train_dataset=rows)
    orders = []
    for sampler in (trainer._get_train_sampler, lambda: Trainer._get_train_sampler(trainer)):  # ours, then Trainer's
        torch.manual_seed(3)
        orders.append(list(sampler()))
    assert orders[0] == orders[1] and sorted(orders[0]) == list(range(600))
    assert orders[0] != list(range(600))  # grouped by length, not the rows' own order
