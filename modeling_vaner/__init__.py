"""VANER: a bidirectional LLaMA token classifier for instruction-driven biomedical NER.

`configuration_vaner` and `modeling_vaner` are the remote code uploaded to the Hub beside the weights;
everything else in this package (backbone conversion, the command line) builds on them, never the reverse.
"""

from .configuration_vaner import VanerConfig
from .modeling_vaner import VanerForTokenClassification, VanerModel, VanerPreTrainedModel

# `save_pretrained` writes an `auto_map` so `Auto*.from_pretrained(..., trust_remote_code=True)` finds these classes.
VanerConfig.register_for_auto_class()
VanerModel.register_for_auto_class("AutoModel")
VanerForTokenClassification.register_for_auto_class("AutoModelForTokenClassification")

__all__ = ["VanerConfig", "VanerModel", "VanerPreTrainedModel", "VanerForTokenClassification"]
