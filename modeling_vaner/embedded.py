"""Where a model comes from: the default model embedded in the package (where it lives, whether this installation
carries it), a local folder, or a Hub repo id. No torch here: the commands check a model's name before anything
loads."""

from pathlib import Path

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "default_model"


def has_default_model() -> bool:
    """Whether the package carries its embedded default model (config and LoRA adapter), the one every command
    uses when no model is named."""
    return (DEFAULT_MODEL_DIR / "config.json").is_file() and (
        DEFAULT_MODEL_DIR / "adapter" / "adapter_config.json"
    ).is_file()


def is_hub_repo_id(name: str) -> bool:
    """Whether `name` is a Hub repo id (`ORG/NAME` or `NAME`, by huggingface_hub's own rule) and no local file or
    folder: a nested, absolute or relative path never is."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    if Path(name).expanduser().exists():
        return False
    try:
        validate_repo_id(name)
    except HFValidationError:
        return False
    return True
