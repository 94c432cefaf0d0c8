"""LoRA through peft, with the paper's settings: the adapter trains, saves and reloads."""

import torch
from peft import LoraConfig, PeftModel, TaskType, get_peft_model

from modeling_vaner import VanerForTokenClassification
from tests.conftest import tiny_config


def paper_lora_config() -> LoraConfig:
    return LoraConfig(
        task_type=TaskType.TOKEN_CLS, r=12, lora_alpha=32, lora_dropout=0.1, target_modules=["q_proj", "v_proj"]
    )


def toy_batch():
    generator = torch.Generator().manual_seed(1)
    input_ids = torch.randint(1, 128, (4, 12), generator=generator)
    labels = torch.randint(0, 3, (4, 12), generator=generator)
    labels[:, :4] = -100  # the instruction
    return {"input_ids": input_ids, "attention_mask": torch.ones_like(input_ids), "labels": labels}


def test_lora_trains_only_adapters_and_head_and_the_loss_falls():
    model = get_peft_model(VanerForTokenClassification(tiny_config()), paper_lora_config())
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in name or ".score." in name for name in trainable), trainable
    assert any(".score." in name for name in trainable), "the head must be trained fully"

    frozen_before = {n: p.detach().clone() for n, p in model.named_parameters() if not p.requires_grad}
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    batch = toy_batch()
    model.train()
    losses = []
    for _ in range(15):
        loss = model(**batch).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        losses.append(loss.item())
    assert losses[-1] < 0.7 * losses[0], losses
    for name, param in model.named_parameters():
        if name in frozen_before:
            assert torch.equal(param, frozen_before[name]), f"{name} moved"


def test_adapter_saves_and_reloads_to_the_same_logits(tmp_path):
    base_config = tiny_config()
    torch.manual_seed(3)
    base = VanerForTokenClassification(base_config)
    base.save_pretrained(tmp_path / "base")
    model = get_peft_model(base, paper_lora_config())
    # Move the adapters and head away from their initial values, as training would.
    with torch.no_grad():
        for name, param in model.named_parameters():
            if param.requires_grad:
                param.add_(torch.randn_like(param) * 0.05)
    model.eval()
    batch = toy_batch()
    with torch.no_grad():
        expected = model(input_ids=batch["input_ids"]).logits
    model.save_pretrained(tmp_path / "adapter")

    reloaded_base = VanerForTokenClassification.from_pretrained(tmp_path / "base")
    reloaded = PeftModel.from_pretrained(reloaded_base, tmp_path / "adapter").eval()
    with torch.no_grad():
        logits = reloaded(input_ids=batch["input_ids"]).logits
    assert torch.equal(logits, expected)

    # The merged model is a plain VANER with the same outputs (what `--merge` will push).
    merged = reloaded.merge_and_unload()
    assert type(merged) is VanerForTokenClassification
    with torch.no_grad():
        assert (merged(input_ids=batch["input_ids"]).logits - expected).abs().max() < 1e-5
