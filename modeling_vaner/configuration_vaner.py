# Copyright 2026 The VANER authors. Licensed under the Apache License, Version 2.0.
"""VANER model configuration.

Remote code: uploaded to the Hub beside the weights, so it imports only `torch` and `transformers`.
"""

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from transformers import LlamaConfig

from .processing_vaner import CORE_CORPORA, VANER_LABELS  # the facts commands read without torch

# The paper's instruction (VANER) names the entity type and the dataset whose guidelines apply; the adaptive
# variant (VANER_adapt) drops the dataset name, for text that follows no particular corpus.
DEFAULT_INSTRUCTION_TEMPLATE = "If any {entity_type} entity is mentioned in the {dataset} input, extract it. ##input: "
DEFAULT_ADAPTIVE_INSTRUCTION_TEMPLATE = "If any {entity_type} entity is mentioned in the input, extract it. ##input: "

DEFAULT_ENTITY_TYPES = ("Chemical", "Disease", "Gene", "Species")

# How the head reads the instruction: one BIO head whose type the instruction names, one type per input (the paper);
# or one BIO head per entity type, so one input (its instruction naming every type requested) tags them all.
HEAD_LAYOUTS = ("shared", "per_type")

# What makes a saved folder or Hub repo load through transformers' standard calls: the Auto classes (`auto_map`), and
# VANER's pipeline for the task names a VANER model answers to (`custom_pipelines`): the standard one, its alias, ours.
# Every VanerConfig carries both, so every way of saving writes them.
AUTO_MAP = {
    "AutoConfig": "configuration_vaner.VanerConfig",
    "AutoModel": "modeling_vaner.VanerModel",
    "AutoModelForTokenClassification": "modeling_vaner.VanerForTokenClassification",
}
PIPELINE_TASKS = ("token-classification", "ner", "vaner-ner")
PIPELINE_ENTRY = {"impl": "pipeline_vaner.VanerNERPipeline", "pt": ["AutoModelForTokenClassification"], "type": "text"}

# The remote code: what a saved folder or Hub repo holds beside the weights so that it loads anywhere. Every way of
# saving a VANER model writes them (`VanerPreTrainedModel.save_pretrained`).
REMOTE_CODE_FILES = ("configuration_vaner.py", "modeling_vaner.py", "processing_vaner.py", "pipeline_vaner.py")


def copy_remote_code(save_directory) -> None:
    """Copy the remote-code files beside this one (the package's, or the Hub cache's) into `save_directory`."""
    here = Path(__file__).resolve().parent
    for name in REMOTE_CODE_FILES:
        source, target = here / name, Path(save_directory) / name
        if source.is_file() and not (target.exists() and target.resolve() == source):
            shutil.copyfile(source, target)


# Where `vaner backbone` writes the backbones it builds (SmolLM2 from its GGUF): `$VANER_CACHE/backbones/<name>`,
# and where the remote code finds them, so a model trained on one loads offline wherever it was built.
BACKBONE_RECORD = "vaner_backbone.json"


def backbone_cache_dir() -> Path:
    """`$VANER_CACHE/backbones` (default `~/.cache/vaner/backbones`)."""
    return Path(os.environ.get("VANER_CACHE", Path.home() / ".cache" / "vaner")) / "backbones"


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
        head_from_adapter (`bool`, *optional*, defaults to `False`):
            The checkpoint is a base for a PEFT adapter that brings the head (`modules_to_save`): its untrained
            head is not reported missing on load. Only the backbone repo that `vaner push` writes sets it.
        weights_at_root (`bool`, *optional*, defaults to `False`):
            This config is a copy in a subfolder of the repo whose weights lie at its root. PEFT's
            `AutoPeftModel*.from_pretrained(model_repo, subfolder="adapter")` loads the adapter's base with that same
            `subfolder=`; the backbone repo that `vaner push` writes has this copy in its `adapter/`, so the base
            loads from the root.
        is_causal (`bool`, *optional*, defaults to `False`):
            Keep the decoder's causal mask. Only for the paper's control experiment (how much the bidirectional
            change buys); a VANER model leaves it `False`.
        pack_tokens (`int`, *optional*, defaults to 0):
            The model was trained on packed inputs (consecutive sentences behind one instruction) of at most this
            many tokens, and the tagger packs a text's sentences the same way. 0: one sentence per input (the
            paper).
        max_length (`int`, *optional*):
            The most tokens one training input held, instruction included; longer sentences went through windows.
            The tagger runs the model at this length unless told otherwise. Unset (models that record none): 512.
        head_layout (`str`, *optional*, defaults to `"shared"`):
            `"shared"`: one BIO head, and the instruction names the one entity type an input requests (the paper).
            `"per_type"`: one BIO head per entry of `entity_types` (logits `(batch, seq_len, num_types, 3)`), and
            one input requests every requested type at once; its instruction names them all.

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
    head_from_adapter: bool = False
    weights_at_root: bool = False
    # The whole point of VANER: no causal mask. In the config so every attention backend reads it.
    is_causal: bool = False
    pack_tokens: int = 0
    max_length: int | None = None
    head_layout: str = "shared"

    def __post_init__(self, **kwargs):
        if self.entity_types is None:
            self.entity_types = list(DEFAULT_ENTITY_TYPES)
        if self.datasets is None:
            self.datasets = dict(CORE_CORPORA)
        if self.id2label is None and kwargs.get("num_labels") is None:
            self.id2label = dict(enumerate(VANER_LABELS))
            self.label2id = {label: i for i, label in self.id2label.items()}
        if self.head_layout not in HEAD_LAYOUTS:
            raise ValueError(f"head_layout {self.head_layout!r}: use one of {', '.join(HEAD_LAYOUTS)}.")
        super().__post_init__(**kwargs)
        self.auto_map = dict(AUTO_MAP)  # ours alone: an entry naming another repo's code is never kept nor saved
        self.custom_pipelines = {task: dict(PIPELINE_ENTRY) for task in PIPELINE_TASKS}
        self.use_cache = False  # nothing to cache: every position attends to every other

    @property
    def num_type_heads(self) -> int:
        """BIO heads: one per entity type (`head_layout="per_type"`), else one."""
        return len(self.entity_types) if self.head_layout == "per_type" else 1

    def head_index(self, entity_type: str) -> int:
        """The head that tags `entity_type` (0 for a shared head)."""
        self.check_type(entity_type)
        return self.entity_types.index(entity_type) if self.head_layout == "per_type" else 0

    def check_type(self, entity_type: str) -> None:
        if entity_type not in self.entity_types:
            raise ValueError(f"Unknown entity type {entity_type!r}; this model knows {', '.join(self.entity_types)}.")

    def instruction(self, entity_type: str | Sequence[str], dataset: str | Sequence[str] | None = None) -> str:
        """The instruction that requests `entity_type` mentions, under `dataset`'s guidelines if one is named.

        A model with one head per type takes several types (and datasets) in one instruction: a list of
        types is named as "Chemical, Disease or Gene", a list of datasets as "BC5CDR-chem and BC5CDR-disease"."""
        types = [entity_type] if isinstance(entity_type, str) else list(dict.fromkeys(entity_type))
        for name in types:
            self.check_type(name)
        if len(types) > 1 and self.head_layout != "per_type":
            raise ValueError("This model has one shared head: request one entity type per instruction.")
        datasets = [dataset] if isinstance(dataset, str) else list(dict.fromkeys(dataset or ()))
        for name in datasets:
            if name not in self.datasets:
                raise ValueError(f"Unknown dataset {name!r}; this model knows {', '.join(self.datasets)}.")
        if not datasets:
            return self.adaptive_instruction_template.format(entity_type=joined(types, "or"))
        return self.instruction_template.format(entity_type=joined(types, "or"), dataset=joined(datasets, "and"))


def joined(names: Sequence[str], last: str) -> str:
    """`["a", "b", "c"]` as "a, b or c" (`last` = "or")."""
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} {last} {names[-1]}"


__all__ = ["VanerConfig"]
