# Copyright 2026 The VANER authors. Licensed under the Apache License, Version 2.0.
"""VANER model configuration.

Remote code: uploaded to the Hub beside the weights, so it imports only `torch` and `transformers`.
"""

import os
from pathlib import Path

from transformers import LlamaConfig

# The BIO scheme is type-free: the instruction names the entity type, the head only says where mentions are.
VANER_LABELS = ("O", "B", "I")

# The paper's instruction (VANER) names the entity type and the dataset whose guidelines apply; the adaptive
# variant (VANER_adapt) drops the dataset name, for text that follows no particular corpus.
DEFAULT_INSTRUCTION_TEMPLATE = "If any {entity_type} entity is mentioned in the {dataset} input, extract it. ##input: "
DEFAULT_ADAPTIVE_INSTRUCTION_TEMPLATE = "If any {entity_type} entity is mentioned in the input, extract it. ##input: "

DEFAULT_ENTITY_TYPES = ("Chemical", "Disease", "Gene", "Species")

# Where `vaner backbone` writes the backbones it builds (SmolLM2 from its GGUF): `$VANER_CACHE/backbones/<name>`,
# and where the remote code finds them, so a model trained on one loads offline wherever it was built.
BACKBONE_RECORD = "vaner_backbone.json"


def backbone_cache_dir() -> Path:
    """`$VANER_CACHE/backbones` (default `~/.cache/vaner/backbones`)."""
    return Path(os.environ.get("VANER_CACHE", Path.home() / ".cache" / "vaner")) / "backbones"

# The paper's eight training corpora and the entity type each one is annotated for.
DEFAULT_DATASETS = {
    "BC4CHEMD": "Chemical",
    "BC5CDR-chem": "Chemical",
    "BC5CDR-disease": "Disease",
    "NCBI-disease": "Disease",
    "BC2GM": "Gene",
    "JNLPBA": "Gene",
    "linnaeus": "Species",
    "s800": "Species",
}


class VanerConfig(LlamaConfig):
    r"""
    Configuration of a VANER model: a LLaMA-architecture decoder with bidirectional attention and a BIO
    token-classification head, steered by an instruction that names the entity type (and optionally the dataset).

    Every [`LlamaConfig`] field describes the backbone; the fields below are VANER's own.

    Args:
        entity_types (`list[str]`, *optional*):
            Entity types the model was trained to extract. Defaults to Chemical, Disease, Gene, Species.
        datasets (`dict[str, str]`, *optional*):
            Dataset names the model knows guidelines for, each mapped to its entity type. Defaults to the paper's
            eight corpora.
        instruction_template (`str`, *optional*):
            Instruction put in front of the words, with `{entity_type}` and `{dataset}` placeholders.
        adaptive_instruction_template (`str`, *optional*):
            Instruction without a dataset name (VANER_adapt), with an `{entity_type}` placeholder.
        classifier_dropout (`float`, *optional*, defaults to 0.1):
            Dropout applied to the hidden states before the classification head.
        backbone_name_or_path (`str`, *optional*):
            The causal LM checkpoint the model was built from.
        backbone_revision (`str`, *optional*):
            The Hub revision (a commit) of `backbone_name_or_path` to load, so an adapter always meets the exact
            weights it was trained on.
        backbone_provenance (`dict`, *optional*):
            Where the backbone weights came from exactly (source file, checksum), so adapters can be matched to the
            weights they were trained on.
        adapter_subfolder (`str`, *optional*):
            Set when the folder or repo holds a LoRA adapter (PEFT format, in this subfolder) instead of full
            weights: loading builds the backbone, then merges the adapter and its head into it.
        is_causal (`bool`, *optional*, defaults to `False`):
            Keep the decoder's causal mask. Only for the paper's control experiment (how much the bidirectional
            change buys); a VANER model leaves it `False`.
        pack_tokens (`int`, *optional*, defaults to 0):
            The model was trained on packed inputs (consecutive sentences behind one instruction) of at most this
            many tokens, and the tagger packs a text's sentences the same way. 0: one sentence per input (the
            paper).
        max_length (`int`, *optional*):
            The most tokens one training input held, instruction included; longer sentences went through windows.
            The tagger asks the model at this length unless told otherwise. Unset (models that record none): 512.

    Example:

    ```python
    >>> from modeling_vaner import VanerConfig, VanerForTokenClassification

    >>> config = VanerConfig(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4)
    >>> model = VanerForTokenClassification(config)
    >>> config.instruction("Disease", "NCBI-disease")
    'If any Disease entity is mentioned in the NCBI-disease input, extract it. ##input: '
    ```"""

    model_type = "vaner"

    entity_types: list[str] | None = None
    datasets: dict[str, str] | None = None
    instruction_template: str = DEFAULT_INSTRUCTION_TEMPLATE
    adaptive_instruction_template: str = DEFAULT_ADAPTIVE_INSTRUCTION_TEMPLATE
    classifier_dropout: float = 0.1
    backbone_name_or_path: str | None = None
    backbone_revision: str | None = None
    backbone_provenance: dict | None = None
    adapter_subfolder: str | None = None
    # The whole point of VANER: no causal mask. In the config so every attention backend reads it.
    is_causal: bool = False
    pack_tokens: int = 0
    max_length: int | None = None

    def __post_init__(self, **kwargs):
        if self.entity_types is None:
            self.entity_types = list(DEFAULT_ENTITY_TYPES)
        if self.datasets is None:
            self.datasets = dict(DEFAULT_DATASETS)
        if self.id2label is None and kwargs.get("num_labels") is None:
            self.id2label = dict(enumerate(VANER_LABELS))
            self.label2id = {label: i for i, label in self.id2label.items()}
        super().__post_init__(**kwargs)
        self.use_cache = False  # nothing to cache: every position attends to every other

    def instruction(self, entity_type: str, dataset: str | None = None) -> str:
        """The instruction that asks for `entity_type` mentions, under `dataset`'s guidelines if one is named."""
        if entity_type not in self.entity_types:
            raise ValueError(f"Unknown entity type {entity_type!r}; this model knows {', '.join(self.entity_types)}.")
        if dataset is None:
            return self.adaptive_instruction_template.format(entity_type=entity_type)
        if dataset not in self.datasets:
            raise ValueError(f"Unknown dataset {dataset!r}; this model knows {', '.join(self.datasets)}.")
        return self.instruction_template.format(entity_type=entity_type, dataset=dataset)


__all__ = ["VanerConfig"]
