"""VanerModel / VanerForTokenClassification (`modeling_vaner.py`) on tiny random configs: a shared head and a head
per type, and LoRA through peft with the paper's settings."""

import json
import re

import pytest
import torch
from peft import LoraConfig, PeftModel, TaskType, get_peft_model
from transformers import LlamaConfig, LlamaForCausalLM, LlamaModel

from modeling_vaner import VanerConfig, VanerForTokenClassification, VanerModel
from tests.conftest import (
    TYPES,
    per_type_model,
    tiny_config,
    tiny_llama_config,
)

ATTENTION_IMPLEMENTATIONS = ["sdpa", "eager"]


def build(attn_implementation: str = "sdpa", **overrides) -> VanerForTokenClassification:
    config = tiny_config(**overrides)
    config._attn_implementation = attn_implementation
    return VanerForTokenClassification(config).eval()


def test_config_defaults_carry_the_vaner_scheme():
    config = tiny_config()
    assert config.model_type == "vaner"
    assert config.id2label == {0: "O", 1: "B", 2: "I"}
    assert config.label2id == {"O": 0, "B": 1, "I": 2}
    assert config.entity_types == ["Chemical", "Disease", "Gene", "Species"]
    assert config.datasets["NCBI-disease"] == "Disease" and config.datasets["s800"] == "Species"
    assert len(config.datasets) == 8
    assert config.instruction("Disease", "NCBI-disease") == (
        "If any Disease entity is mentioned in the NCBI-disease input, extract it. ##input: "
    )
    assert config.instruction("Gene") == "If any Gene entity is mentioned in the input, extract it. ##input: "


def test_config_round_trips_through_json(tmp_path):
    config = tiny_config(entity_types=["Chemical", "Cell"], datasets={"MyCorpus": "Cell"}, classifier_dropout=0.2)
    config.save_pretrained(tmp_path)
    loaded = VanerConfig.from_pretrained(tmp_path)
    assert loaded.entity_types == ["Chemical", "Cell"]
    assert loaded.datasets == {"MyCorpus": "Cell"}
    assert loaded.classifier_dropout == 0.2
    assert loaded.id2label == {0: "O", 1: "B", 2: "I"}
    assert loaded.instruction("Cell", "MyCorpus").startswith("If any Cell entity is mentioned in the MyCorpus input")


@pytest.mark.parametrize("entity_type, dataset", [("Protein", None), ("Gene", "GENIA")])
def test_instruction_rejects_what_the_model_does_not_know(entity_type, dataset):
    with pytest.raises(ValueError, match="this model knows"):
        tiny_config().instruction(entity_type, dataset)


@pytest.mark.parametrize("attn_implementation", ATTENTION_IMPLEMENTATIONS)
def test_a_later_token_changes_an_earlier_tokens_logits(attn_implementation):
    model = build(attn_implementation)
    input_ids = torch.randint(1, 128, (1, 9))
    changed = input_ids.clone()
    changed[0, -1] = changed[0, -1] % 127 + 1
    with torch.no_grad():
        before, after = model(input_ids).logits, model(changed).logits
    assert (before[0, 0] - after[0, 0]).abs().max() > 1e-4


@pytest.mark.parametrize("attn_implementation", ATTENTION_IMPLEMENTATIONS)
def test_the_stock_causal_llama_does_not_look_ahead(attn_implementation):
    # The control for the test above: the same check fails to see any change through a causal mask.
    config = tiny_llama_config()
    config._attn_implementation = attn_implementation
    model = LlamaModel(config).eval()
    input_ids = torch.randint(1, 128, (1, 9))
    changed = input_ids.clone()
    changed[0, -1] = changed[0, -1] % 127 + 1
    with torch.no_grad():
        before, after = model(input_ids).last_hidden_state, model(changed).last_hidden_state
    assert torch.equal(before[0, :-1], after[0, :-1])
    assert not torch.equal(before[0, -1], after[0, -1])


@pytest.mark.parametrize("attn_implementation", ATTENTION_IMPLEMENTATIONS)
@pytest.mark.parametrize("padding_side", ["left", "right"])
def test_is_causal_keeps_the_decoder_mask_for_the_control_experiment(attn_implementation, padding_side):
    # The paper's control: the same labeller with the causal mask kept. Earlier tokens never see later ones,
    # padded or not, and its hidden states are the stock causal LLaMA's with the same weights.
    bidirectional = build(attn_implementation)
    causal = build(attn_implementation, is_causal=True)
    causal.load_state_dict(bidirectional.state_dict())
    config = tiny_llama_config()
    config._attn_implementation = attn_implementation
    llama = LlamaModel(config).eval()
    llama.load_state_dict(causal.model.state_dict())
    input_ids = torch.randint(1, 128, (1, 9))
    changed = input_ids.clone()
    changed[0, -1] = changed[0, -1] % 127 + 1
    pad, ones = torch.zeros(1, 4, dtype=torch.long), torch.ones(1, 9, dtype=torch.long)
    if padding_side == "left":
        padded, mask, keep = torch.cat([pad, input_ids], 1), torch.cat([pad, ones], 1), slice(4, None)
    else:
        padded, mask, keep = torch.cat([input_ids, pad], 1), torch.cat([ones, pad], 1), slice(0, 9)
    with torch.no_grad():
        before, after = causal(input_ids).logits, causal(changed).logits
        batched = causal(torch.cat([padded, padded]), attention_mask=torch.cat([mask, mask])).logits
        full = bidirectional(input_ids).logits
        hidden, stock = causal.model(input_ids).last_hidden_state, llama(input_ids).last_hidden_state
    assert torch.allclose(before[0, :-1], after[0, :-1], atol=1e-6)
    assert not torch.allclose(before[0, -1], after[0, -1])
    assert (batched[0, keep] - before[0]).abs().max() < 1e-5
    assert (hidden - stock).abs().max() < 1e-5
    assert not torch.allclose(before[0, 0], full[0, 0], atol=1e-4)  # the first token sees only itself


@pytest.mark.parametrize("attn_implementation", ATTENTION_IMPLEMENTATIONS)
@pytest.mark.parametrize("padding_side", ["left", "right"])
def test_padding_does_not_change_the_logits(attn_implementation, padding_side):
    model = build(attn_implementation)
    sentence = torch.randint(1, 128, (7,))
    neighbour = torch.randint(1, 128, (12,))
    with torch.no_grad():
        alone = model(sentence[None]).logits[0]

        pad = torch.zeros(5, dtype=torch.long)  # pad id 0, attention 0
        ones, zeros = torch.ones(7, dtype=torch.long), torch.zeros(5, dtype=torch.long)
        if padding_side == "left":
            padded, mask, keep = torch.cat([pad, sentence]), torch.cat([zeros, ones]), slice(5, None)
        else:
            padded, mask, keep = torch.cat([sentence, pad]), torch.cat([ones, zeros]), slice(0, 7)
        batch = torch.stack([padded, neighbour])
        attention_mask = torch.stack([mask, torch.ones(12, dtype=torch.long)])
        batched = model(batch, attention_mask=attention_mask).logits

        # The neighbour, unpadded in the batch, matches itself alone too.
        neighbour_alone = model(neighbour[None]).logits[0]
    assert (batched[0, keep] - alone).abs().max() < 1e-5
    assert (batched[1] - neighbour_alone).abs().max() < 1e-5


def test_padding_content_is_ignored():
    # What the paper's code got wrong: with padding attended to, the pad ids leak into real tokens.
    model = build("sdpa")
    sentence = torch.randint(1, 128, (1, 6))
    mask = torch.tensor([[1] * 6 + [0] * 4])
    with torch.no_grad():
        a = model(torch.cat([sentence, torch.full((1, 4), 3)], 1), attention_mask=mask).logits[0, :6]
        b = model(torch.cat([sentence, torch.full((1, 4), 77)], 1), attention_mask=mask).logits[0, :6]
    assert (a - b).abs().max() < 1e-6


def test_sdpa_and_eager_agree():
    sdpa, eager = build("sdpa"), build("eager")
    eager.load_state_dict(sdpa.state_dict())
    input_ids = torch.randint(1, 128, (2, 10))
    attention_mask = torch.tensor([[1] * 10, [0] * 3 + [1] * 7])
    with torch.no_grad():
        a = sdpa(input_ids, attention_mask=attention_mask).logits
        b = eager(input_ids, attention_mask=attention_mask).logits
    assert (a[0] - b[0]).abs().max() < 1e-5
    assert (a[1, 3:] - b[1, 3:]).abs().max() < 1e-5


def test_loss_ignores_minus_100_and_matches_cross_entropy():
    model = build()
    input_ids = torch.randint(1, 128, (2, 8))
    labels = torch.randint(0, 3, (2, 8))
    labels[:, :3] = -100
    out = model(input_ids, labels=labels)
    expected = torch.nn.functional.cross_entropy(out.logits[:, 3:].reshape(-1, 3), labels[:, 3:].reshape(-1))
    assert out.logits.shape == (2, 8, 3)
    assert torch.allclose(out.loss, expected)


def test_hidden_states_are_returned_on_request():
    model = build()
    out = model.model(torch.randint(1, 128, (1, 5)), output_hidden_states=True)
    assert len(out.hidden_states) == model.config.num_hidden_layers + 1
    assert torch.equal(out.hidden_states[-1], out.last_hidden_state)
    assert model.model(torch.randint(1, 128, (1, 5))).hidden_states is None


def test_the_standard_output_switches_work_and_a_cache_is_refused():
    model = build("eager")
    ids = torch.randint(1, 128, (2, 6))
    out = model(ids, output_hidden_states=True, output_attentions=True)
    assert len(out.hidden_states) == model.config.num_hidden_layers + 1
    assert len(out.attentions) == model.config.num_hidden_layers and out.attentions[0].shape == (2, 4, 6, 6)
    as_tuple = model(ids, return_dict=False)
    assert isinstance(as_tuple, tuple) and torch.equal(as_tuple[0], out.logits)
    assert isinstance(model.model(ids, return_dict=False), tuple)
    assert torch.equal(model(ids, use_cache=False, past_key_values=None).logits, out.logits)  # "off" is fine
    for switched_on in ({"use_cache": True}, {"past_key_values": object()}):
        with pytest.raises(ValueError, match="VANER keeps no cache"):
            model(ids, **switched_on)


def lora_adapter(model, rank: int = 2, **config):
    """A LoRA adapter for `model`'s q_proj of layer 0, as PEFT saves it: (adapter_config, state_dict)."""
    weight = model.model.layers[0].self_attn.q_proj.weight
    key = "base_model.model.model.layers.0.self_attn.q_proj"
    state = {
        f"{key}.lora_A.weight": torch.ones(rank, weight.shape[1]),
        f"{key}.lora_B.weight": torch.ones(weight.shape[0], rank),
    }
    return {"peft_type": "LORA", "r": rank, "lora_alpha": rank, **config}, state


def test_the_lora_merge_refuses_a_bias_and_non_finite_weights_and_keeps_the_model_whole():
    model = build()
    before = model.model.layers[0].self_attn.q_proj.weight.clone()
    with pytest.raises(ValueError, match="lora_bias"):
        model.merge_lora_adapter(*lora_adapter(model, lora_bias=True))
    adapter_config, state = lora_adapter(model)
    state[next(iter(state))][0, 0] = float("inf")
    with pytest.raises(ValueError, match="non-finite"):
        model.merge_lora_adapter(adapter_config, state)
    assert torch.equal(model.model.layers[0].self_attn.q_proj.weight, before)
    model.merge_lora_adapter(*lora_adapter(model))
    assert torch.allclose(model.model.layers[0].self_attn.q_proj.weight, before + 2.0)  # (alpha / r) B A: 2 per entry


def test_from_backbone_reuses_every_llama_weight(tmp_path):
    llama_config = LlamaConfig(
        vocab_size=128,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        tie_word_embeddings=True,
    )
    causal_lm = LlamaForCausalLM(llama_config)
    causal_lm.save_pretrained(tmp_path)

    model = VanerForTokenClassification.from_backbone(tmp_path, classifier_dropout=0.0, entity_types=["Gene"])
    assert isinstance(model.model, VanerModel)
    assert model.config.model_type == "vaner"
    assert model.config.backbone_name_or_path == str(tmp_path)
    assert model.config.entity_types == ["Gene"] and model.config.classifier_dropout == 0.0
    assert model.config.num_labels == 3 and model.score.out_features == 3
    backbone_state = causal_lm.model.state_dict()
    for name, tensor in model.model.state_dict().items():
        assert torch.equal(tensor, backbone_state[name]), name


def test_from_backbone_rejects_other_architectures(tmp_path):
    from transformers import GPT2Config, GPT2LMHeadModel

    GPT2LMHeadModel(GPT2Config(n_layer=1, n_head=2, n_embd=16, vocab_size=64)).save_pretrained(tmp_path)
    with pytest.raises(ValueError, match=r"'gpt2' model; VANER builds on LLaMA-architecture"):
        VanerForTokenClassification.from_backbone(tmp_path)


def test_from_backbone_reports_missing_weights(tmp_path):
    # A LLaMA config beside weights of another shape: nothing must be silently left random.
    from safetensors.torch import save_file

    LlamaConfig(
        vocab_size=128, hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=4
    ).save_pretrained(tmp_path)
    save_file({"model.embed_tokens.weight": torch.zeros(128, 32)}, tmp_path / "model.safetensors")
    with pytest.raises(ValueError, match="does not hold every backbone weight"):
        VanerForTokenClassification.from_backbone(tmp_path)


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


def test_logits_have_a_head_per_type_and_only_annotated_heads_learn():
    model = VanerForTokenClassification(tiny_config(head_layout="per_type")).train()
    input_ids = torch.randint(3, 128, (2, 7))
    assert model(input_ids).logits.shape == (2, 7, 4, 3)
    labels = torch.full((2, 7, 4), -100)
    labels[:, 3:, 1] = 1  # the row's corpus annotates diseases only (head 1)
    model(input_ids, labels=labels).loss.backward()
    gradient = model.score.weight.grad.view(4, 3, -1)  # rows of `score`: head-major, then O/B/I
    assert gradient[1].abs().sum() > 0
    assert all(gradient[head].abs().sum() == 0 for head in (0, 2, 3))
    assert all(model.score.bias.grad.view(4, 3)[head].abs().sum() == 0 for head in (0, 2, 3))


@pytest.mark.parametrize(
    "edit, says",
    [
        (lambda types: [types[1], types[0], *types[2:]], "trained for, in order: ['Chemical', 'Disease'"),
        (lambda types: ["Drug", *types[1:]], "trained for, in order: ['<a type this config does not name>'"),
        (lambda types: [*types, "Variant"], "entity_types"),
        (lambda types: types[:-1], "entity_types"),
    ],
)
def test_heads_carry_their_types_and_an_edited_config_is_refused(smollm2_tokenizer, tmp_path, edit, says):
    from modeling_vaner import load_vaner, save_vaner
    from modeling_vaner.errors import ModelFileError

    save_vaner(per_type_model(smollm2_tokenizer), smollm2_tokenizer, tmp_path / "model")
    config_path = tmp_path / "model" / "config.json"
    config = json.loads(config_path.read_text())
    assert load_vaner(tmp_path / "model", device="cpu")[0].config.entity_types == config["entity_types"] == TYPES
    config["entity_types"] = edit(config["entity_types"])
    config_path.write_text(json.dumps(config))
    with pytest.raises(ModelFileError, match=re.escape(says)):
        load_vaner(tmp_path / "model", device="cpu")


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
