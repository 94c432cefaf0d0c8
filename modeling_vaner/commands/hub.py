"""`vaner push`: a VANER model, its backbone, the BioNER corpora and the Space, as Hugging Face Hub repos.

A LoRA model goes up in the layout `save_adapter_layout` writes: config (naming the backbone repo and the exact
commit its weights are at), remote code, tokenizer, model card at the root, and the adapter with its head in PEFT
format in `adapter/`. Our SmolLM2 backbone is a dequantized Q4_1 copy, not the Hub's bf16 original, so it is pushed
as its own repo and the adapter points at that commit; `--merge` pushes full merged weights instead.

Only what a model needs is uploaded (`MODEL_FILES`, an allow-list): never dotfiles, tokens, checkpoints, optimizer
or RNG state, pickles, or anything else a training folder gathers; a symlink leading out of the folder is refused.
Every upload is staged in a temporary folder (links to the user's files, copies of the few it rewrites) and sent as
one commit: the user's folders are never modified, and a failed push leaves nothing behind and can be run again.
Every safetensors file is checked whole before anything is uploaded, and the config's `auto_map` is VANER's own. `dry_run` stages, lists and uploads nothing.
"""

import fnmatch
import json
import shutil
import tempfile
from pathlib import Path

from transformers.exporters.base import EXPORT_MANIFEST_FILE

from harness.results import read_results

from ..backbone import PROVENANCE_FILE, read_provenance
from ..configuration_vaner import REMOTE_CODE_FILES, VanerConfig, copy_remote_code
from ..corpora import SPLITS, data_root, load_corpus
from ..embedded import is_hub_repo_id
from ..errors import VanerError
from ..processing_vaner import ONNX_CHECKS, ONNX_FILES, ONNX_FOLDER
from ..runtimes import export_is_stale, onnx_home, read_export_record, stale_export

# What a model folder may upload (paths relative to it; `{adapter}` is the config's adapter subfolder). The remote
# code files are added from `configuration_vaner.REMOTE_CODE_FILES`.
MODEL_FILES = (
    "config.json",
    "generation_config.json",
    "*.safetensors",
    "model.safetensors.index.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.json",
    "merges.txt",
    "tokenizer.model",
    "chat_template.jinja",
    "README.md",
    "results.json",
    "results.md",
    "regression.json",
    "training_summary.json",
    "train_config.yaml",
    "vaner_backbone.json",
    "{adapter}/adapter_config.json",
    "{adapter}/adapter_model.safetensors",
    "{adapter}/README.md",
    *(f"{ONNX_FOLDER}/{name}" for name in ONNX_FILES.values()),  # `vaner export-onnx`: the pipeline runs it
    f"{ONNX_FOLDER}/{ONNX_FILES['onnx']}.data",
    f"{ONNX_FOLDER}/{EXPORT_MANIFEST_FILE}",
    f"{ONNX_FOLDER}/{ONNX_CHECKS}",
)


class HubError(VanerError, RuntimeError):
    pass


def allowed_files(folder: str | Path, adapter_subfolder: str | None = None) -> list[str]:
    """The files of `folder` a push uploads (`MODEL_FILES` and the remote code), as sorted relative paths. Any
    symlink in the folder that leads out of it is refused (`HubError`): a push never uploads what it points at."""
    import os

    folder = Path(folder).resolve()
    patterns = [p.replace("{adapter}", adapter_subfolder or "adapter") for p in (*MODEL_FILES, *REMOTE_CODE_FILES)]
    chosen = []
    for root, directories, files in os.walk(folder):  # symlinked folders are listed, never entered
        for name in [*directories, *files]:
            path = Path(root) / name
            if path.is_symlink() and not path.resolve().is_relative_to(folder) and not package_code(path):
                raise HubError(
                    f"{path} is a symlink to {path.resolve()}, outside {folder}; refusing to push a "
                    "folder that links out of itself. Remove the link (or replace it with the file). "
                    "Nothing was uploaded."
                )
        for name in files:
            relative = (Path(root) / name).relative_to(folder).as_posix()
            if any(
                fnmatch.fnmatchcase(relative, pattern) and relative.count("/") == pattern.count("/")
                for pattern in patterns
            ):
                chosen.append(relative)
    return sorted(chosen)


def package_code(path: Path) -> bool:
    """Whether `path` links to this package's own remote-code file of its name (the default model's folder does)."""

    return path.name in REMOTE_CODE_FILES and path.resolve() == (Path(__file__).resolve().parents[1] / path.name)


# The files a push writes anew into the staging folder (config, card, the adapter's base): staged as copies. Every
# other file is staged as a link to the user's file, so weights of any size are never copied, and nothing a push
# writes can reach the user's folder through a link.
REWRITTEN = ("config.json", "README.md", "adapter_config.json")


def stage_files(folder: Path, staging: Path, files: list[str]) -> None:
    """Stage `files` of `folder` (checked first: every safetensors file whole) without copying their bytes."""
    from ..loading import check_safetensors

    for relative in files:
        if relative.endswith(".safetensors"):
            check_safetensors(folder / relative)  # a cut weights file is refused before anything is uploaded
        (staging / relative).parent.mkdir(parents=True, exist_ok=True)
        if Path(relative).name in REWRITTEN:
            shutil.copyfile(folder / relative, staging / relative)
        else:
            (staging / relative).symlink_to((folder / relative).resolve())


def listing(folder: Path, title: str) -> str:
    """What a dry run prints: each file of `folder` with its size, and the total."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    sizes = [p.stat().st_size for p in files]
    lines = [f"{title}: {len(files)} files, {human_size(sum(sizes))}"]
    lines += [f"  {human_size(size):>10}  {p.relative_to(folder).as_posix()}" for p, size in zip(files, sizes)]
    return "\n".join(lines)


def human_size(size: int) -> str:
    for unit in ("B", "KiB", "MiB"):
        if size < 1024 or unit == "MiB":
            return f"{size} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} GiB"


def _api(token: str | None):
    from huggingface_hub import HfApi, get_token

    token = token or get_token()
    if not token:
        raise HubError("No Hugging Face token: log in with `hf auth login` or set HF_TOKEN. Nothing was uploaded.")
    return HfApi(token=token)


def _upload(
    api, folder: Path, repo_id: str, repo_type: str, revision: str | None, private: bool, message: str, **create_kwargs
) -> str:
    """Create the repo (and branch) if needed, upload `folder` as one commit; returns the commit id."""
    api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True, **create_kwargs)
    if revision and revision != "main":
        api.create_branch(repo_id, repo_type=repo_type, branch=revision, exist_ok=True)
    commit = api.upload_folder(
        folder_path=str(folder),
        repo_id=repo_id,
        repo_type=repo_type,
        revision=revision or "main",
        commit_message=message,
    )
    return commit.oid


def push_backbone(
    backbone_dir: str | Path, repo_id: str, token: str | None = None, private: bool = False, model_config=None
) -> str:
    """Upload a backbone folder (weights, tokenizer, provenance) unless the repo already holds the same weights
    (same provenance record); returns the commit its weights are at. With `model_config` (the VANER model trained
    on it), the repo is a VANER base: that config without its adapter, and the remote code, so that
    `AutoModelForTokenClassification.from_pretrained(repo, trust_remote_code=True)` is VANER's bidirectional class
    (with an untrained head), the base a PEFT user puts the adapter on; never a causal LLaMA."""
    api = _api(token)
    provenance = read_provenance(backbone_dir)
    if api.repo_exists(repo_id) and provenance is not None:
        from huggingface_hub import hf_hub_download

        info = api.repo_info(repo_id, revision="main")
        try:
            remote = json.loads(
                Path(hf_hub_download(repo_id, PROVENANCE_FILE, revision=info.sha, token=api.token)).read_text()
            )
        except Exception:  # noqa: BLE001 - no record there: upload ours
            remote = None
        subfolder = getattr(model_config, "adapter_subfolder", None)
        pointer = not subfolder or api.file_exists(repo_id, f"{subfolder}/config.json", revision=info.sha)
        if remote == provenance and pointer:
            return info.sha
    staging = Path(tempfile.mkdtemp(prefix="vaner-backbone-"))
    try:
        stage_backbone(Path(backbone_dir), staging, model_config)
        return _upload(
            api,
            staging,
            repo_id,
            "model",
            None,
            private,
            f"Backbone weights ({(provenance or {}).get('source', Path(backbone_dir).name)})",
        )
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def stage_backbone(backbone_dir: Path, staging: Path, model_config=None) -> None:
    """The backbone's files, and with `model_config` a VANER config and the remote code (`push_backbone`)."""
    stage_files(backbone_dir, staging, allowed_files(backbone_dir))
    if model_config is None:
        return

    config = VanerConfig.from_dict(model_config.to_dict())
    config.adapter_subfolder, config.backbone_name_or_path, config.backbone_revision = None, None, None
    config.head_from_adapter = True
    config.architectures = ["VanerForTokenClassification"]
    config.save_pretrained(staging)
    copy_remote_code(staging)
    if model_config.adapter_subfolder:  # PEFT's AutoPeft asks the base for the adapter's subfolder: a pointer back
        config.weights_at_root = True
        config.save_pretrained(staging / model_config.adapter_subfolder)


def push_model(
    model_dir: str | Path,
    repo_id: str,
    revision: str | None = None,
    private: bool = False,
    merge: bool = False,
    backbone_repo: str | None = None,
    results: str | Path | None = None,
    token: str | None = None,
    leaderboard: str | Path | None = None,
    dry_run: bool = False,
) -> str:
    """Push a VANER folder (full weights, or a LoRA output) to `repo_id`; returns the commit id (with `dry_run`: the
    listing of what would be uploaded, and nothing is). The card quotes `results` (a `vaner eval` JSON) and, if
    given, a markdown `leaderboard` beside baselines."""

    model_dir = Path(model_dir)
    if not (model_dir / "config.json").is_file():
        raise HubError(f"{model_dir} has no config.json: not a saved VANER model.")
    config = VanerConfig.from_pretrained(model_dir)
    files = allowed_files(model_dir, config.adapter_subfolder)  # a symlink out of the folder fails here
    export_dir, exported = export_files(model_dir)
    files = [name for name in files if not name.startswith(f"{ONNX_FOLDER}/")]
    api = None if dry_run else _api(token)
    staging = Path(tempfile.mkdtemp(prefix="vaner-push-"))
    try:
        if config.adapter_subfolder and merge:
            from ..loading import load_vaner, save_vaner

            save_vaner(*load_vaner(model_dir), staging)
            config = VanerConfig.from_pretrained(staging)
        else:
            stage_files(model_dir, staging, files)
        stage_files(export_dir, staging, exported)
        _complete(staging, config)
        backbone_dir = None
        if config.adapter_subfolder:
            if backbone_repo is None:
                raise HubError(
                    "This model is a LoRA adapter: name the repo of its backbone with --backbone-repo "
                    "ORG/NAME (it is pushed there once), or push merged weights with --merge."
                )
            from ..loading import resolve_backbone

            backbone_dir = resolve_backbone(config.backbone_name_or_path, config.backbone_provenance)
            config.backbone_name_or_path = backbone_repo
            if not dry_run:
                config.backbone_revision = push_backbone(
                    backbone_dir, backbone_repo, token=api.token, private=private, model_config=config
                )
            name_base(
                staging / config.adapter_subfolder / "adapter_config.json", backbone_repo, config.backbone_revision
            )
        config.save_pretrained(staging)
        _write_card(staging, repo_id, config, results, leaderboard)
        if dry_run:
            return dry_run_report(staging, repo_id, revision, backbone_dir, backbone_repo, config)
        return _upload(api, staging, repo_id, "model", revision, private, f"Upload VANER model from {model_dir.name}")
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def export_files(model_dir: Path) -> tuple[Path, list[str]]:
    """Where a model's ONNX export lies (its folder; the VANER cache for the default model) and the files of it a push
    uploads. An export older than the weights is refused (`HubError`): the pipeline would run it in their place."""
    folder = onnx_home(model_dir)
    exported = [name for name in allowed_files(folder) if name.startswith(f"{ONNX_FOLDER}/")] if folder.is_dir() else []
    if exported and export_is_stale(read_export_record(folder), model_dir):
        model = None if folder != model_dir else str(model_dir)
        raise HubError(f"{stale_export(folder, model)}. Nothing was uploaded.")
    return folder, exported


def name_base(adapter_config: Path, repo_id: str, revision: str | None) -> None:
    """Point a PEFT adapter at its base on the Hub (its `base_model_name_or_path` is a path on the trainer's disk),
    each of its `modules_to_save` named once (adapters saved by earlier PEFT versions list them twice over)."""
    record = json.loads(adapter_config.read_text())
    record.update(base_model_name_or_path=repo_id, revision=revision)
    if record.get("modules_to_save"):
        record["modules_to_save"] = list(dict.fromkeys(record["modules_to_save"]))
    adapter_config.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")


def dry_run_report(staging: Path, repo_id: str, revision: str | None, backbone_dir, backbone_repo, config) -> str:
    text = listing(staging, f"Would upload to {repo_id}@{revision or 'main'}")
    if backbone_dir is not None:
        backbone = Path(tempfile.mkdtemp(prefix="vaner-backbone-"))
        try:
            stage_backbone(Path(backbone_dir), backbone, config)
            text += "\n" + listing(backbone, f"and, unless it already holds these weights, to {backbone_repo}")
        finally:
            shutil.rmtree(backbone, ignore_errors=True)
    return text + "\nDry run: nothing was uploaded."


def _complete(folder: Path, config) -> None:
    """Add what a Hub user needs and a lean local folder may lack: the remote code and the tokenizer."""

    package = Path(__file__).resolve().parents[1]  # modeling_vaner/, where the remote code lives
    for module in REMOTE_CODE_FILES:
        if not (folder / module).is_file():
            shutil.copyfile(package / module, folder / module)
    if not (folder / "tokenizer_config.json").is_file():
        from transformers import AutoTokenizer

        from ..loading import resolve_backbone

        tokenizer = AutoTokenizer.from_pretrained(
            resolve_backbone(config.backbone_name_or_path, config.backbone_provenance)
        )
        with tempfile.TemporaryDirectory() as saved:  # never written through a staged link to the user's file
            tokenizer.save_pretrained(saved)
            for path in Path(saved).iterdir():
                if not (folder / path.name).exists():
                    shutil.move(path, folder / path.name)


def _write_card(folder: Path, repo_id: str, config, results, leaderboard=None) -> None:
    """The card: scores from `results`, else from the folder's own `results.json` (staged in `folder`), else none
    (the card says how to add them); always the base model, licence and usage."""
    from model_card.generate import write_card

    own = folder / "results.json"
    if results is None and own.is_file():
        read_results(own)  # a broken one is named, never quoted
        results = own
    write_card(
        results,
        folder / "README.md",
        repo_id=repo_id,
        base_model=hub_base_model(config),
        leaderboard_path=leaderboard,
        head_layout=config.head_layout,
    )


def hub_base_model(config) -> str | None:
    """The backbone as the Hub names it (the card's `base_model`): its repo id, or the one its provenance names (a
    backbone converted here, e.g. SmolLM2 from its GGUF); None when neither is a Hub id."""
    original = (config.backbone_provenance or {}).get("original", "")
    for candidate in (config.backbone_name_or_path or "", original.split(" ")[0]):
        if "/" in candidate and is_hub_repo_id(candidate):
            return candidate
    return None


def push_dataset(repo_id: str, corpora: list[str], token: str | None = None, private: bool = False) -> str:
    """The BioNER corpora as parquet (`<corpus>/<split>.parquet`) with a dataset card naming sources and licences."""

    api = _api(token)
    staging = Path(tempfile.mkdtemp(prefix="vaner-dataset-"))
    try:
        configs = []
        for name in corpora:
            for split in SPLITS:
                load_corpus(name, split).to_parquet(str(staging / name / f"{split}.parquet"))
            configs.append(
                {
                    "config_name": name,
                    "data_files": [{"split": split, "path": f"{name}/{split}.parquet"} for split in SPLITS],
                }
            )
        card = DATASET_CARD.format(
            configs=json.dumps(configs),
            corpora="\n".join(f"- {c}" for c in corpora),
            readme=(data_root().parent / "README.md").read_text(encoding="utf-8"),
        )
        (staging / "README.md").write_text(card, encoding="utf-8")
        return _upload(api, staging, repo_id, "dataset", None, private, "BioNER corpora (CoNLL IOB2 as parquet)")
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def push_space(repo_id: str, space_dir: str | Path, token: str | None = None, private: bool = False) -> str:
    api = _api(token)
    staging = Path(tempfile.mkdtemp(prefix="vaner-space-"))
    try:
        shutil.copytree(
            space_dir, staging, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", "__init__.py")
        )
        return _upload(api, staging, repo_id, "space", None, private, "VANER Space", space_sdk="gradio")
    finally:
        shutil.rmtree(staging, ignore_errors=True)


DATASET_CARD = """---
configs: {configs}
task_categories: [token-classification]
language: [en]
tags: [biomedical, named-entity-recognition, bioner]
---
# BioNER corpora (VANER)

The corpora VANER trains and evaluates on, in CoNLL IOB2 read into columns `tokens`, `ner_tags` (O, B, I),
`dataset` and `entity_type`. Each corpus is a config with train, devel and test splits:

{corpora}

## Sources, conversions and licences

The text below is the data README these files were built from; it lists every source repository and commit, the
conversions, the counts and the licence of each corpus.

{readme}
"""
