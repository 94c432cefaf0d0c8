"""LoRA training outputs load back for inference: backbone rebuilt, adapter and head applied, checksum checked."""

import json

import pytest
import torch
from peft import PeftModel

from modeling_vaner import VanerForTokenClassification, load_vaner
from modeling_vaner.backbone import SMOLLM2_NAME
from modeling_vaner.loading import BackboneMismatchError, resolve_backbone
from modeling_vaner.training import train
from tests.conftest import REPO_ROOT, run_python, save_tiny_backbone, tiny_lora_recipe


@pytest.fixture
def tiny_backbone_dir(tmp_path, smollm2_tokenizer):
    return save_tiny_backbone(tmp_path / "backbone", smollm2_tokenizer)


def test_a_lora_run_loads_back_merged_with_the_same_logits(tmp_path, tiny_backbone_dir):
    train(tiny_lora_recipe(tmp_path / "run", tiny_backbone_dir))
    final = tmp_path / "run" / "final"
    # The Hub layout: no root adapter_config.json (it would send transformers through PEFT), adapter/ in PEFT format.
    assert not (final / "adapter_config.json").exists() and (final / "adapter" / "adapter_config.json").is_file()
    assert json.loads((final / "config.json").read_text())["adapter_subfolder"] == "adapter"

    model, tokenizer = load_vaner(final)
    assert type(model) is VanerForTokenClassification
    reference = PeftModel.from_pretrained(
        VanerForTokenClassification.from_backbone(tiny_backbone_dir), final / "adapter"
    ).eval()
    input_ids = torch.tensor([tokenizer("Escherichia coli grew .")["input_ids"]])
    with torch.no_grad():
        assert (model(input_ids).logits - reference(input_ids=input_ids).logits).abs().max() < 1e-5
    fresh = VanerForTokenClassification.from_backbone(tiny_backbone_dir)
    assert not torch.equal(model.score.weight, fresh.score.weight)  # the trained head came with the adapter

    # A Hub user: the Auto class and the pipeline, through remote code only, in a fresh process, no peft import.
    code = f"""
import json, sys
sys.path = [p for p in sys.path if p not in ('', {str(REPO_ROOT)!r})]
import torch
from transformers import AutoModelForTokenClassification, pipeline
model = AutoModelForTokenClassification.from_pretrained({str(final)!r}, trust_remote_code=True).eval()
assert 'peft' not in sys.modules and 'modeling_vaner' not in {{m.split('.')[0] for m in sys.modules}}
with torch.no_grad():
    print(json.dumps(model(torch.tensor({input_ids.tolist()!r})).logits.tolist()))
"""
    logits = torch.tensor(json.loads(run_python(code, env={"HF_MODULES_CACHE": str(tmp_path / "modules")})))
    with torch.no_grad():
        assert (logits - model(input_ids).logits).abs().max() < 1e-5


def test_an_adapter_loads_without_a_missing_head_report_and_leaves_the_log_level_alone(
    tmp_path, tiny_backbone_dir, monkeypatch
):
    from transformers.utils import logging as hf_logging

    train(tiny_lora_recipe(tmp_path / "run", tiny_backbone_dir))
    said, levels = [], []
    handler = type(
        "Keep", (hf_logging.logging.Handler,), {"emit": lambda self, record: said.append(record.getMessage())}
    )()
    hf_logging.get_logger("transformers").addHandler(handler)
    post_init = VanerForTokenClassification.post_init
    monkeypatch.setattr(
        VanerForTokenClassification,
        "post_init",
        lambda self: [levels.append(hf_logging.get_verbosity()), post_init(self)],
    )
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_warning()
    try:
        model, _ = load_vaner(tmp_path / "run" / "final")
    finally:
        hf_logging.set_verbosity(verbosity)
        hf_logging.get_logger("transformers").removeHandler(handler)
    assert levels and set(levels) == {hf_logging.WARNING}  # another thread's warnings are not silenced meanwhile
    assert not [line for line in said if "score" in line], said  # the head comes from the adapter: not "missing"
    assert model.config.head_from_adapter is False  # what loaded is a whole model, not a base for PEFT


def test_a_smollm2_adapter_refuses_another_gguf(smollm2_dir):
    assert resolve_backbone(None, {"name": SMOLLM2_NAME}) == str(smollm2_dir)
    with pytest.raises(BackboneMismatchError, match="this model was trained on 0000"):
        resolve_backbone(str(smollm2_dir), {"name": SMOLLM2_NAME, "gguf_sha256": "0000"})


def test_every_saved_config_carries_the_auto_classes_and_the_pipeline(tmp_path):
    """`auto_map` and `custom_pipelines` are defined once (`configuration_vaner`) and every VanerConfig carries them,
    so a plain `save_pretrained` writes a folder that the standard calls load."""
    from modeling_vaner import VanerForTokenClassification
    from tests.conftest import tiny_config

    VanerForTokenClassification(tiny_config()).save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["auto_map"] == {
        "AutoConfig": "configuration_vaner.VanerConfig",
        "AutoModel": "modeling_vaner.VanerModel",
        "AutoModelForTokenClassification": "modeling_vaner.VanerForTokenClassification",
    }
    assert sorted(saved["custom_pipelines"]) == ["ner", "token-classification", "vaner-ner"]
    assert {entry["impl"] for entry in saved["custom_pipelines"].values()} == {"pipeline_vaner.VanerNERPipeline"}
