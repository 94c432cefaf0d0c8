"""The default model embedded in the package: where it lives and whether this installation carries it. No torch
here: the commands check for it before anything loads."""

from pathlib import Path

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "default_model"


def has_default_model() -> bool:
    """Whether the package carries its embedded default model (config and LoRA adapter), the one every command
    uses when no model is named."""
    return (DEFAULT_MODEL_DIR / "config.json").is_file() and (
        DEFAULT_MODEL_DIR / "adapter" / "adapter_config.json"
    ).is_file()
