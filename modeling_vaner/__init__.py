"""VANER: a bidirectional LLaMA token classifier for instruction-driven biomedical NER.

`configuration_vaner`, `modeling_vaner`, `processing_vaner` and `pipeline_vaner` are the remote code uploaded to the
Hub beside the weights (`configuration_vaner.REMOTE_CODE_FILES`); everything else in this package (backbone conversion, file
formats, training, linking) builds on them, never the reverse, and the commands (`commands/`: the command line,
pushing, building the linking index) sit above it all (docs/design.md).

Importing the package is light (the command line answers `vaner --help` without torch): the classes load, and the
Auto classes and the `vaner-ner` pipeline are registered, on first use of any name below (or of `loading`).
"""

import importlib

_EXPORTS = {
    "VanerConfig": "configuration_vaner",
    "VanerModel": "modeling_vaner",
    "VanerPreTrainedModel": "modeling_vaner",
    "VanerForTokenClassification": "modeling_vaner",
    "VanerTagger": "pipeline_vaner",
    "VanerNERPipeline": "pipeline_vaner",
    "save_vaner": "loading",
    "load_vaner": "loading",
    "DEFAULT_MODEL_DIR": "embedded",
}
__all__ = list(_EXPORTS)
_registered = False


def register() -> None:
    """Teach transformers about VANER, once: `AutoConfig` / `AutoModel*` know the `vaner` model type natively (no
    remote code to trust inside this package), `save_pretrained` writes an `auto_map` so that
    `Auto*.from_pretrained(..., trust_remote_code=True)` finds the classes elsewhere, and the pipeline tasks
    (`vaner-ner`, and `ner`/`token-classification` for a VANER model object) are registered as `modeling_vaner`
    loads (`pipeline_vaner.register_pipelines`)."""
    global _registered
    if _registered:
        return
    _registered = True
    from transformers import AutoConfig, AutoModel, AutoModelForTokenClassification

    from .configuration_vaner import VanerConfig
    from .modeling_vaner import VanerForTokenClassification, VanerModel

    AutoConfig.register(VanerConfig.model_type, VanerConfig)
    AutoModel.register(VanerConfig, VanerModel)
    AutoModelForTokenClassification.register(VanerConfig, VanerForTokenClassification)
    VanerConfig.register_for_auto_class()
    VanerModel.register_for_auto_class("AutoModel")
    VanerForTokenClassification.register_for_auto_class("AutoModelForTokenClassification")


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    register()
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__():
    return sorted([*globals(), *_EXPORTS])
