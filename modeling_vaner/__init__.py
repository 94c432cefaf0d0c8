"""VANER: a bidirectional LLaMA token classifier for instruction-driven biomedical NER.

`configuration_vaner`, `modeling_vaner` and `pipeline_vaner` are the remote code uploaded to the Hub beside the
weights; everything else in this package (backbone conversion, file formats, the command line) builds on them,
never the reverse.
"""

from transformers import AutoConfig, AutoModel, AutoModelForTokenClassification
from transformers.pipelines import PIPELINE_REGISTRY

from .configuration_vaner import VanerConfig
from .modeling_vaner import VanerForTokenClassification, VanerModel, VanerPreTrainedModel
from .pipeline_vaner import VanerNERPipeline, VanerTagger

PIPELINE_TASK = "vaner-ner"

# `save_pretrained` writes an `auto_map` so `Auto*.from_pretrained(..., trust_remote_code=True)` finds these classes,
# and a saved `VanerNERPipeline` adds `custom_pipelines` so `pipeline("vaner-ner", model=...)` finds the pipeline.
# Inside this package the Auto classes know `vaner` natively, with no remote code to trust.
AutoConfig.register(VanerConfig.model_type, VanerConfig)
AutoModel.register(VanerConfig, VanerModel)
AutoModelForTokenClassification.register(VanerConfig, VanerForTokenClassification)
VanerConfig.register_for_auto_class()
VanerModel.register_for_auto_class("AutoModel")
VanerForTokenClassification.register_for_auto_class("AutoModelForTokenClassification")
PIPELINE_REGISTRY.register_pipeline(
    PIPELINE_TASK, pipeline_class=VanerNERPipeline, pt_model=AutoModelForTokenClassification, type="text"
)


from .loading import DEFAULT_MODEL_DIR, load_vaner, save_vaner  # noqa: E402  (needs the registrations above)

__all__ = [
    "VanerConfig",
    "VanerModel",
    "VanerPreTrainedModel",
    "VanerForTokenClassification",
    "VanerTagger",
    "VanerNERPipeline",
    "save_vaner",
    "load_vaner",
    "DEFAULT_MODEL_DIR",
]
