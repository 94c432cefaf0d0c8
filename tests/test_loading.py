"""Loading a model (`loading.py`): LoRA training outputs load back (backbone rebuilt, adapter and head applied,
checksum checked), broken weights are named, and devices and dtypes resolve as asked."""

import json
import re
import shutil
from pathlib import Path

import pytest
import torch
from peft import PeftModel

from modeling_vaner import VanerForTokenClassification
from modeling_vaner.backbone import SMOLLM2_NAME
from modeling_vaner.commands.cli import main
from modeling_vaner.loading import (
    BackboneMismatchError,
    DeviceError,
    load_vaner,
    resolve_backbone,
    resolve_device,
    resolve_dtype,
)
from modeling_vaner.training import train
from tests.conftest import REPO_ROOT, read, run_python, save_tiny_backbone, tiny_config, tiny_lora_recipe


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

    VanerForTokenClassification(tiny_config()).save_pretrained(tmp_path)
    saved = json.loads((tmp_path / "config.json").read_text())
    assert saved["auto_map"] == {
        "AutoConfig": "configuration_vaner.VanerConfig",
        "AutoModel": "modeling_vaner.VanerModel",
        "AutoModelForTokenClassification": "modeling_vaner.VanerForTokenClassification",
    }
    assert sorted(saved["custom_pipelines"]) == ["ner", "token-classification", "vaner-ner"]
    assert {entry["impl"] for entry in saved["custom_pipelines"].values()} == {"pipeline_vaner.VanerNERPipeline"}


SAPPHIRE_RAPIDS = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: fpu vme sse2 avx2 avx512f avx512_vnni avx512_bf16 amx_bf16 amx_tile amx_int8
vmx flags\t: vnmi preemption_timer
bugs\t\t: spectre_v1 spectre_v2

processor\t: 1
flags\t\t: fpu vme sse2 avx2 avx512f avx512_vnni avx512_bf16 amx_bf16 amx_tile amx_int8
"""


needs_no_cuda = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error on machines without CUDA")


def test_broken_weights_are_named_not_tracebacks(tiny_vaner_dir, tmp_path, capsys):
    from modeling_vaner.loading import DEFAULT_MODEL_DIR

    model = tmp_path / "default"
    shutil.copytree(DEFAULT_MODEL_DIR, model)
    weights = model / "adapter" / "adapter_model.safetensors"
    whole = weights.read_bytes()
    for size in (1000, 9_000_000):
        weights.write_bytes(whole[:size])
        assert main(["predict", "--model", str(model), "x"]) == 2
        error = capsys.readouterr().err
        assert f"weights file {weights} is truncated or corrupt" in error and "Traceback" not in error

    pickled = tmp_path / "pickled"
    shutil.copytree(tiny_vaner_dir, pickled)
    (pickled / "model.safetensors").rename(pickled / "pytorch_model.bin")
    assert main(["predict", "--model", str(pickled), "x"]) == 2
    assert "holds only pickle weights (pytorch_model.bin)" in capsys.readouterr().err

    weights.write_bytes(whole)
    config = read(model / "config.json")
    config.update(backbone_name_or_path=str(tmp_path / "gone-backbone"), backbone_provenance=None)
    (model / "config.json").write_text(json.dumps(config))
    assert main(["predict", "--model", str(model), "x"]) == 2
    error = capsys.readouterr().err
    assert f"needs its backbone {tmp_path / 'gone-backbone'}, which is missing" in error and "vaner backbone" in error


def test_auto_dtype_on_a_cpu_follows_the_recorded_bf16_check(monkeypatch):
    from modeling_vaner import loading

    record = json.loads((REPO_ROOT / "benchmarks" / "results" / "cpu_bf16.json").read_text())
    assert loading.CPU_BF16_AGREES == record["auto_bf16"]  # the rule is what the measurements say
    cpu = torch.device("cpu")
    for native, agrees, expected in (
        (True, True, torch.bfloat16),
        (True, False, torch.float32),
        (False, True, torch.float32),
    ):
        monkeypatch.setattr(loading, "cpu_has_native_bf16", lambda native=native: native)
        monkeypatch.setattr(loading, "CPU_BF16_AGREES", agrees)
        assert loading.resolve_dtype("auto", cpu) == expected
    assert loading.resolve_dtype("auto", torch.device("cuda")) == torch.bfloat16
    assert loading.resolve_dtype("bfloat16", cpu) == torch.bfloat16


def test_the_bf16_flag_reader_reads_real_cpuinfo_texts():
    from modeling_vaner.loading import native_bf16_in

    assert native_bf16_in(SAPPHIRE_RAPIDS)
    assert not native_bf16_in(SAPPHIRE_RAPIDS.replace(" avx512_bf16 amx_bf16", ""))
    assert not native_bf16_in(SAPPHIRE_RAPIDS.replace("avx512_bf16 amx_bf16", "avx512_bf16x amx_bf16_x"))
    assert not native_bf16_in("processor\t: 0\nmodel name\t: ARMv8\nFeatures\t: fp asimd bf16\n")  # no flags line
    here = Path("/proc/cpuinfo").read_text()  # this machine's own, as the reader meets it
    first = next(line for line in here.splitlines() if re.match(r"flags\s*:", line))
    assert native_bf16_in(here) == bool(re.search(r"\b(avx512_bf16|amx_bf16)\b", first))


def test_auto_and_cpu_resolve_on_this_machine():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected and resolve_device(None).type == expected
    assert resolve_device("cpu").type == "cpu"
    assert resolve_dtype(None, torch.device("cpu")) == torch.float32
    assert resolve_dtype("auto", torch.device("cuda")) == torch.bfloat16  # bf16 is the default on CUDA
    assert resolve_dtype("bfloat16", torch.device("cpu")) == torch.bfloat16
    with pytest.raises(DeviceError, match="^device tpu: unknown device"):
        resolve_device("tpu")


@needs_no_cuda
def test_cuda_without_cuda_is_a_clear_error_everywhere(tiny_vaner_dir, tmp_path, capsys):
    with pytest.raises(DeviceError, match="no CUDA GPU"):
        load_vaner(tiny_vaner_dir, device="cuda")
    for argv in (
        ["predict", "--model", str(tiny_vaner_dir), "--device", "cuda", "Aspirin."],
        [
            "eval",
            "--model",
            str(tiny_vaner_dir),
            "--datasets",
            "s800",
            "--limit",
            "2",
            "--device",
            "cuda",
            "--output",
            str(tmp_path / "r.json"),
        ],
        ["demo", "--device", "cuda:0"],
    ):
        assert main(argv) == 2
        error = capsys.readouterr().err
        assert "--device" in error and "no CUDA GPU" in error and "Traceback" not in error, argv
    assert not (tmp_path / "r.json").exists()
