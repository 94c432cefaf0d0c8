"""Hub-native packaging against a real local Hub: olah (read-only, real) behind tests/hub_front.py (the write API).

Every load runs in a fresh subprocess with an empty HF_HOME, as a Hub user would.
"""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from modeling_vaner import VanerTagger
from modeling_vaner.commands.cli import main
from tests.conftest import REPO_ROOT, TWO_SENTENCES, run_python, save_tiny_backbone, tiny_lora_recipe
from tests.local_hub import hub_env, running_hub

ORG = "vaner-test"


@pytest.fixture(scope="module")
def local_hub(tmp_path_factory):
    with running_hub(tmp_path_factory.mktemp("hub")) as endpoint:
        yield endpoint


def vaner(args: list[str], env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "modeling_vaner.commands.cli", *args],
        capture_output=True,
        check=False,
        text=True,
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        timeout=600,
    )


@pytest.fixture(scope="module")
def lora_model(tmp_path_factory, smollm2_tokenizer):
    """A tiny LoRA VANER trained a few steps on a tiny LLaMA backbone, in the Hub layout."""
    from modeling_vaner.training import train

    root = tmp_path_factory.mktemp("lora")
    train(tiny_lora_recipe(root / "run", save_tiny_backbone(root / "backbone", smollm2_tokenizer)))
    from safetensors.torch import load_file, save_file

    adapter = root / "run" / "final" / "adapter" / "adapter_model.safetensors"
    weights = load_file(adapter)  # four steps teach little: lean the head towards B so that it tags mentions
    weights["base_model.model.score.bias"] = weights["base_model.model.score.bias"] + torch.tensor([0.0, 2.0, 0.0])
    save_file(weights, adapter, metadata={"format": "pt"})
    return root / "run" / "final"


LOAD_BY_REPO = """
import json, sys, torch
sys.path = [p for p in sys.path if p not in ('', {root!r})]
from transformers import AutoModelForTokenClassification, pipeline
kwargs = {{"revision": {revision!r}}}
model = AutoModelForTokenClassification.from_pretrained({repo!r}, trust_remote_code=True, **kwargs).eval()
with torch.no_grad():
    logits = model(torch.tensor({ids!r})).logits.tolist()
ner = pipeline("vaner-ner", model={repo!r}, trust_remote_code=True, revision={revision!r})
standard = {{}}
for task in ("token-classification", "ner"):  # the standard task names give VANER's pipeline too
    tagger = pipeline(task, model={repo!r}, trust_remote_code=True, revision={revision!r},
                      aggregation_strategy="simple")
    standard[task] = [type(tagger).__name__, tagger({text!r}, entity_types=["Species"])]
try:
    tagger({text!r}, entity_type="Species")
    unknown = "accepted"
except TypeError as error:
    unknown = str(error)
print(json.dumps({{"logits": logits, "entities": ner({text!r}, entity_types=["Species"]), "standard": standard,
                  "unknown": unknown}}))
"""
TEXT = "Escherichia coli and Mus musculus were studied."


def load_by_repo(endpoint, home, repo, revision, ids, **env):
    code = LOAD_BY_REPO.format(root=str(REPO_ROOT), repo=repo, revision=revision, ids=ids, text=TEXT)
    return json.loads(run_python(code, env=hub_env(endpoint, home, **env)))


def local_outputs(model_dir):
    from modeling_vaner import VanerTagger, load_vaner

    model, tokenizer = load_vaner(model_dir)
    ids = [tokenizer(TEXT)["input_ids"]]
    with torch.no_grad():
        logits = model(torch.tensor(ids)).logits
    return ids, logits, VanerTagger(model, tokenizer)(TEXT, entity_types=["Species"])[0]


def test_push_then_load_by_repo_id_branches_and_offline(local_hub, lora_model, tmp_path):
    env = hub_env(local_hub, tmp_path / "pusher")
    repo, backbone_repo = f"{ORG}/vaner-tiny", f"{ORG}/tiny-backbone"
    before = {p: p.read_bytes() for p in sorted(lora_model.rglob("*")) if p.is_file()}
    result = vaner(["push", "--model", str(lora_model), "--repo", repo, "--backbone-repo", backbone_repo], env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert {p: p.read_bytes() for p in sorted(lora_model.rglob("*")) if p.is_file()} == before  # left untouched
    ids, expected_logits, expected_entities = local_outputs(lora_model)

    # A Hub user, by repo id, with nothing cached.
    out = load_by_repo(local_hub, tmp_path / "user", repo, "main", ids)
    assert (torch.tensor(out["logits"]) - expected_logits).abs().max() < 1e-5
    assert [(e["start"], e["end"]) for e in out["entities"]] == [(e["start"], e["end"]) for e in expected_entities]
    assert expected_entities  # (the tiny model tags mentions: the comparisons below are not of empty lists)
    for task, (pipeline_class, entities) in out["standard"].items():  # typed entities with the standard keys
        assert pipeline_class == "VanerNERPipeline", task
        assert [(e["entity_group"], e["word"], e["start"], e["end"]) for e in entities] == [
            ("Species", TEXT[e["start"] : e["end"]], e["start"], e["end"]) for e in expected_entities
        ], task
        assert all(abs(a["score"] - b["score"]) < 1e-5 for a, b in zip(entities, expected_entities))
    assert "unexpected keyword argument(s) 'entity_type'" in out["unknown"]

    # A second push, of another head, to a branch: each revision loads its own weights.
    other = tmp_path / "other"
    shutil.copytree(lora_model, other)
    from safetensors.torch import load_file, save_file

    weights = load_file(other / "adapter" / "adapter_model.safetensors")
    weights["base_model.model.score.bias"] = weights["base_model.model.score.bias"] + torch.tensor([3.0, 0.0, 0.0])
    save_file(weights, other / "adapter" / "adapter_model.safetensors")
    result = vaner(
        ["push", "--model", str(other), "--repo", repo, "--backbone-repo", backbone_repo, "--revision", "v2"], env
    )
    assert result.returncode == 0, result.stderr[-3000:]
    on_branch = load_by_repo(local_hub, tmp_path / "user2", repo, "v2", ids)
    on_main = load_by_repo(local_hub, tmp_path / "user2", repo, "main", ids)
    assert (torch.tensor(on_main["logits"]) - expected_logits).abs().max() < 1e-5
    shifted = expected_logits + torch.tensor([3.0, 0.0, 0.0])
    assert (torch.tensor(on_branch["logits"]) - shifted).abs().max() < 1e-4

    # The same repo from the cache that user2 filled, with the Hub switched off.
    offline = load_by_repo("http://127.0.0.1:9", tmp_path / "user2", repo, "main", ids, HF_HUB_OFFLINE="1")
    assert offline["logits"] == on_main["logits"]


def test_card_dataset_and_space_land(local_hub, lora_model, tmp_path):
    results = tmp_path / "results.json"
    report = {
        "schema_version": 1,
        "model": "vaner-tiny",
        "revision": None,
        "kind": "vaner",
        "date": "2026-11-25T00:00:00+00:00",
        "package_versions": {},
        "results": [
            {
                "dataset": "s800",
                "split": "test",
                "entity_type": "Species",
                "sentences": 10,
                "words": 200,
                "strict": {"precision": 0.5, "recall": 0.25, "f1": 1 / 3},
                "default": {"precision": 0.5, "recall": 0.25, "f1": 1 / 3},
                "per_type": {},
                "gold_entities": 4,
                "predicted_entities": 2,
                "seconds": 1.0,
                "words_per_second": 200.0,
            }
        ],
    }
    results.write_text(json.dumps(report))
    env = hub_env(local_hub, tmp_path / "pusher")
    result = vaner(
        [
            "push",
            "--model",
            str(lora_model),
            "--repo",
            f"{ORG}/vaner-card",
            "--backbone-repo",
            f"{ORG}/tiny-backbone",
            "--results",
            str(results),
            "--dataset-repo",
            f"{ORG}/bioner",
            "--corpora",
            "s800,NCBI-disease",
            "--space-repo",
            f"{ORG}/vaner-space",
        ],
        env,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    code = f"""
import json
from huggingface_hub import HfApi, hf_hub_download
from huggingface_hub.repocard import metadata_load
api = HfApi()
card = hf_hub_download({f"{ORG}/vaner-card"!r}, "README.md", revision="main")
print(json.dumps({{
    "index": metadata_load(card)["model-index"],
    "model_files": sorted(api.list_repo_files({f"{ORG}/vaner-card"!r}, revision="main")),
    "dataset_files": sorted(api.list_repo_files({f"{ORG}/bioner"!r}, repo_type="dataset", revision="main")),
    "space_files": sorted(api.list_repo_files({f"{ORG}/vaner-space"!r}, repo_type="space", revision="main")),
}}))
"""
    out = json.loads(run_python(code, env=hub_env(local_hub, tmp_path / "reader")))
    [entry] = out["index"]
    f1 = {r["dataset"]["name"]: m["value"] for r in entry["results"] for m in r["metrics"] if m["type"] == "f1"}
    assert f1 == {"s800": round(100 / 3, 2)}
    assert "adapter_config.json" not in out["model_files"]  # a root adapter config would route loads through PEFT
    assert {
        "config.json",
        "modeling_vaner.py",
        "configuration_vaner.py",
        "processing_vaner.py",
        "pipeline_vaner.py",
        "README.md",
        "adapter/adapter_config.json",
        "adapter/adapter_model.safetensors",
    } <= set(out["model_files"])
    assert {"s800/train.parquet", "NCBI-disease/test.parquet", "README.md"} <= set(out["dataset_files"])
    assert {"app.py", "README.md", "requirements.txt"} <= set(out["space_files"])


def test_push_without_a_token_fails_before_any_work(lora_model, tmp_path):
    env = {
        "HF_HOME": str(tmp_path / "empty"),
        "HF_TOKEN": "",
        "HF_ENDPOINT": "http://127.0.0.1:9",
        "HF_HUB_DISABLE_XET": "1",
    }
    result = vaner(["push", "--model", str(lora_model), "--repo", f"{ORG}/x", "--backbone-repo", f"{ORG}/y"], env)
    assert result.returncode == 2 and "No Hugging Face token" in result.stderr


def test_loading_a_repo_without_weights_is_a_clear_error(local_hub, tmp_path):
    env = hub_env(local_hub, tmp_path / "pusher")
    code = f"""
from huggingface_hub import HfApi
from modeling_vaner import VanerConfig, VanerForTokenClassification
api = HfApi()
api.create_repo({f"{ORG}/empty"!r}, exist_ok=True)
import tempfile, pathlib
folder = pathlib.Path(tempfile.mkdtemp())
config = VanerConfig(vocab_size=64, hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=4)
VanerForTokenClassification(config).save_pretrained(folder)
(folder / "model.safetensors").unlink()  # code and config, but no weights
api.upload_folder(folder_path=str(folder), repo_id={f"{ORG}/empty"!r})
"""
    run_python(code, env=env)
    load = f"""
import sys
sys.path = [p for p in sys.path if p not in ('', {str(REPO_ROOT)!r})]
from transformers import AutoModelForTokenClassification
try:
    AutoModelForTokenClassification.from_pretrained({f"{ORG}/empty"!r}, trust_remote_code=True, revision="main")
except Exception as error:
    print(type(error).__name__, error)
"""
    out = run_python(load, env=hub_env(local_hub, tmp_path / "user"))
    assert "OSError" in out and "model.safetensors" in out


def test_push_merge_uploads_full_weights_that_load_by_repo_id(local_hub, lora_model, tmp_path):
    env = hub_env(local_hub, tmp_path / "pusher")
    repo = f"{ORG}/vaner-merged"
    result = vaner(["push", "--model", str(lora_model), "--repo", repo, "--merge"], env)
    assert result.returncode == 0, result.stderr[-3000:]
    ids, expected_logits, _ = local_outputs(lora_model)
    out = load_by_repo(local_hub, tmp_path / "user", repo, "main", ids)
    assert (torch.tensor(out["logits"]) - expected_logits).abs().max() < 1e-5
    files = json.loads(
        run_python(
            f"""
import json
from huggingface_hub import HfApi
print(json.dumps(sorted(HfApi().list_repo_files({repo!r}, revision="main"))))
""",
            env=hub_env(local_hub, tmp_path / "reader"),
        )
    )
    assert "model.safetensors" in files and not [name for name in files if name.startswith("adapter/")]


PEFT_ROAD = """
import json, os, sys, tempfile, torch
sys.path = [p for p in sys.path if p not in ('', {root!r})]
from huggingface_hub import snapshot_download
from peft import AutoPeftModelForTokenClassification, PeftConfig, PeftModel
from transformers import AutoModelForTokenClassification
adapter = PeftConfig.from_pretrained({repo!r}, subfolder="adapter")
said, kept = tempfile.TemporaryFile("w+"), [os.dup(1), os.dup(2)]
sys.stdout.flush(), sys.stderr.flush(), os.dup2(said.fileno(), 1), os.dup2(said.fileno(), 2)
try:  # what loading the base tells its user, whichever stream it is written to
    base = AutoModelForTokenClassification.from_pretrained(adapter.base_model_name_or_path, revision=adapter.revision,
                                                           trust_remote_code=True)
finally:
    sys.stdout.flush(), sys.stderr.flush(), os.dup2(kept[0], 1), os.dup2(kept[1], 2)
said.seek(0)
model = PeftModel.from_pretrained(base, {repo!r}, subfolder="adapter").eval()
folder = snapshot_download({repo!r}, allow_patterns=["adapter/*"]) + "/adapter"  # AutoPeft on the adapter folder
auto = AutoPeftModelForTokenClassification.from_pretrained(folder, trust_remote_code=True).eval()
by_repo = AutoPeftModelForTokenClassification.from_pretrained({repo!r}, subfolder="adapter", trust_remote_code=True)
with torch.no_grad():
    logits = model(torch.tensor({ids!r})).logits.tolist()
    auto_logits = auto(torch.tensor({ids!r})).logits.tolist()
    by_repo_logits = by_repo.eval()(torch.tensor({ids!r})).logits.tolist()
print(json.dumps({{"logits": logits, "auto": auto_logits, "by_repo": by_repo_logits,
                  "base": adapter.base_model_name_or_path,
                  "class": type(base).__name__, "causal": base.model.is_causal, "said": said.read(),
                  "modules_to_save": json.load(open(folder + "/adapter_config.json"))["modules_to_save"]}}))
"""


def test_the_peft_road_puts_the_adapter_on_vaners_bidirectional_class(local_hub, lora_model, tmp_path):
    env = hub_env(local_hub, tmp_path / "pusher")
    repo, backbone_repo = f"{ORG}/vaner-peft", f"{ORG}/tiny-backbone-peft"
    result = vaner(["push", "--model", str(lora_model), "--repo", repo, "--backbone-repo", backbone_repo], env)
    assert result.returncode == 0, result.stderr[-3000:]
    ids, expected_logits, _ = local_outputs(lora_model)
    code = PEFT_ROAD.format(root=str(REPO_ROOT), repo=repo, ids=ids)
    out = json.loads(run_python(code, env=hub_env(local_hub, tmp_path / "user")).splitlines()[-1])
    assert out["base"] == backbone_repo and out["class"] == "VanerForTokenClassification" and out["causal"] is False
    assert (torch.tensor(out["logits"]) - expected_logits).abs().max() < 1e-4
    assert (torch.tensor(out["auto"]) - expected_logits).abs().max() < 1e-4
    assert (torch.tensor(out["by_repo"]) - expected_logits).abs().max() < 1e-4  # AutoPeft(repo, subfolder="adapter")
    assert "MISSING" not in out["said"] and "newly initialized" not in out["said"], out["said"]  # PEFT brings the head
    assert sorted(out["modules_to_save"]) == sorted(set(out["modules_to_save"])) and "score" in out["modules_to_save"]


def staged_upload(monkeypatch) -> list:
    """Replace the Hub calls by a recorder of the folder each upload would send."""
    from modeling_vaner.commands import hub

    uploads = []

    class FakeApi:
        token = "hf_test"

    def upload(api, folder, repo_id, *args, **kwargs):
        uploads.append((repo_id, sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())))
        return "0" * 40

    monkeypatch.setattr(hub, "_api", lambda token: FakeApi())
    monkeypatch.setattr(hub, "_upload", upload)
    return uploads


@pytest.fixture
def cluttered_model(tiny_vaner_dir, tmp_path) -> Path:
    """A model folder as a training run leaves it, with secrets and state beside the weights."""
    folder = tmp_path / "model"
    shutil.copytree(tiny_vaner_dir, folder)
    (folder / ".env").write_text("HF_TOKEN=hf_secret\n")
    (folder / "token").write_text("hf_secret\n")
    (folder / ".git-credentials").write_text("https://user:hf_secret@huggingface.co\n")
    (folder / "checkpoint-2").mkdir()
    (folder / "checkpoint-2" / "optimizer.pt").write_bytes(b"state")
    (folder / "checkpoint-2" / "model.safetensors").write_bytes(b"weights of a checkpoint")
    for name in ("optimizer.pt", "scheduler.pt", "rng_state.pth", "training_args.bin", "model.pkl"):
        (folder / name).write_bytes(b"pickle")
    return folder


def test_push_uploads_only_what_a_model_needs(cluttered_model, monkeypatch, capsys):
    uploads = staged_upload(monkeypatch)
    assert main(["push", "--model", str(cluttered_model), "--repo", "org/m"]) == 0, capsys.readouterr().err
    [(repo, files)] = uploads
    assert repo == "org/m"
    assert {"config.json", "model.safetensors", "tokenizer.json", "README.md", "modeling_vaner.py"} <= set(files)
    assert not [
        name
        for name in files
        if name.startswith(".")
        or "checkpoint" in name
        or "token" == name
        or name.endswith((".pt", ".pth", ".bin", ".pkl"))
    ], files


def test_push_refuses_a_symlink_out_of_the_folder(cluttered_model, monkeypatch, capsys):
    uploads = staged_upload(monkeypatch)
    (cluttered_model / "notes.txt").symlink_to("/etc/passwd")
    assert main(["push", "--model", str(cluttered_model), "--repo", "org/m"]) == 2
    error = capsys.readouterr().err
    assert "notes.txt is a symlink to /etc/passwd" in error and "Nothing was uploaded" in error
    assert uploads == []


def test_push_dry_run_lists_the_upload_with_sizes_and_uploads_nothing(cluttered_model, monkeypatch, capsys):
    uploads = staged_upload(monkeypatch)
    assert main(["push", "--model", str(cluttered_model), "--repo", "org/m"]) == 0
    capsys.readouterr()
    from modeling_vaner.commands import hub

    monkeypatch.setattr(hub, "_api", lambda token: pytest.fail("a dry run asked for the Hub"))
    assert main(["push", "--model", str(cluttered_model), "--repo", "org/m", "--dry-run"]) == 0
    out = capsys.readouterr().out
    listed = [line.split()[-1] for line in out.splitlines() if line.startswith("  ")]
    assert listed == uploads[0][1]  # exactly what the real push sent
    size = (cluttered_model / "model.safetensors").stat().st_size
    assert f"{size / 1024:.1f} KiB  model.safetensors" in out or f"{size / 2**20:.1f} MiB  model.safetensors" in out
    assert "Dry run: nothing was uploaded." in out and len(uploads) == 1


def test_push_refuses_a_cut_weights_file_before_uploading_anything(cluttered_model, monkeypatch, capsys):
    uploads = staged_upload(monkeypatch)
    weights = cluttered_model / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100_000])
    for extra in ([], ["--dry-run"]):
        assert main(["push", "--model", str(cluttered_model), "--repo", "org/m", *extra]) == 2
        error = capsys.readouterr().err
        assert f"weights file {weights} is truncated or corrupt" in error and "Traceback" not in error
    assert uploads == []


def test_push_stages_big_files_without_copying_them(cluttered_model, monkeypatch, capsys):
    from modeling_vaner.commands import hub

    big = cluttered_model / "extra.safetensors"  # 2 GiB of zeros in a sparse file, whole by its header
    header = json.dumps({"x": {"dtype": "U8", "shape": [2**31], "data_offsets": [0, 2**31]}}).encode()
    with open(big, "wb") as out:
        out.write(len(header).to_bytes(8, "little") + header)
        out.truncate(8 + len(header) + 2**31)
    staged = {}

    def upload(api, folder, repo_id, *args, **kwargs):
        staged.update({p.relative_to(folder).as_posix(): p for p in folder.rglob("*") if p.is_file()})
        staged["inode"] = staged["extra.safetensors"].stat().st_ino
        return "0" * 40

    monkeypatch.setattr(hub, "_api", lambda token: type("Api", (), {"token": "hf_test"})())
    monkeypatch.setattr(hub, "_upload", upload)
    before = {path.name: path.read_bytes() for path in cluttered_model.iterdir() if path.is_file() and path != big}
    assert main(["push", "--model", str(cluttered_model), "--repo", "org/m"]) == 0, capsys.readouterr().err
    assert staged["inode"] == big.stat().st_ino  # the user's file itself, not a copy
    assert {path.name: path.read_bytes() for path in cluttered_model.iterdir() if path.is_file() and path != big} == (
        before
    )  # and nothing the push wrote reached the user's folder through a link


def test_push_writes_vaners_own_auto_map_whatever_the_folder_says(cluttered_model, monkeypatch, capsys):
    from modeling_vaner.commands import hub
    from modeling_vaner.configuration_vaner import AUTO_MAP

    config_path = cluttered_model / "config.json"
    config = json.loads(config_path.read_text())
    config["auto_map"] = {
        "AutoModelForTokenClassification": "evil/code--modeling_evil.Evil",
        "AutoModelForCausalLM": "evil/code--modeling_evil.Causal",
    }
    config_path.write_text(json.dumps(config))
    pushed = {}

    def upload(api, folder, repo_id, *args, **kwargs):
        pushed.update(json.loads((folder / "config.json").read_text()))
        return "0" * 40

    monkeypatch.setattr(hub, "_api", lambda token: type("Api", (), {"token": "hf_test"})())
    monkeypatch.setattr(hub, "_upload", upload)
    assert main(["push", "--model", str(cluttered_model), "--repo", "org/m"]) == 0, capsys.readouterr().err
    assert pushed["auto_map"] == AUTO_MAP
    assert json.loads(config_path.read_text())["auto_map"]["AutoModelForCausalLM"].startswith("evil/")  # untouched


def test_the_push_allow_list_leaves_out_secrets_and_state_inside_the_adapter_folder_too(tmp_path):
    from modeling_vaner.commands.hub import allowed_files

    folder = tmp_path / "lora"
    wanted = ["config.json", "adapter/adapter_config.json", "adapter/adapter_model.safetensors", "adapter/README.md"]
    planted = [".env", "adapter/.env", "adapter/token", "adapter/.git-credentials", "adapter/optimizer.pt"]
    planted += ["adapter/training_args.bin", "adapter/checkpoint-2/adapter_model.safetensors", "adapter/x/config.json"]
    planted += ["adapter/model.safetensors", "adapter/tokenizer.json", "runs/adapter/adapter_config.json"]
    for name in [*wanted, *planted]:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text("hf_secret" if name in planted else "{}")
    assert allowed_files(folder, "adapter") == sorted(wanted)


def test_push_and_load_by_repo_id_through_the_standard_pipeline(per_type_run, tmp_path):
    from tests.local_hub import hub_env, running_hub

    final = per_type_run[0] / "final"
    with running_hub(tmp_path / "hub") as endpoint:
        env = {**os.environ, **hub_env(endpoint, tmp_path / "pusher")}
        pushed = subprocess.run(
            [
                sys.executable,
                "-m",
                "modeling_vaner.commands.cli",
                "push",
                "--model",
                str(final),
                "--repo",
                "vaner-test/one-pass",
                "--backbone-repo",
                "vaner-test/one-pass-backbone",
            ],
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            env=env,
            check=False,
            timeout=600,
        )
        assert pushed.returncode == 0, pushed.stderr[-3000:]
        code = f"""
import json, sys
sys.path = [p for p in sys.path if p not in ('', {str(REPO_ROOT)!r})]
from transformers import pipeline
ner = pipeline("token-classification", model="vaner-test/one-pass", trust_remote_code=True)
chunks = list(ner.preprocess({TWO_SENTENCES!r}))
print(json.dumps({{"chunks": len(chunks), "entities": ner({TWO_SENTENCES!r})}}))
"""
        out = json.loads(run_python(code, env=hub_env(endpoint, tmp_path / "user")))
    assert out["chunks"] == 2  # two sentences, three types: one input each
    from modeling_vaner import load_vaner

    model, tokenizer = load_vaner(final)
    expected = VanerTagger(model, tokenizer)(TWO_SENTENCES)[0]
    assert [(e["entity_group"], e["start"], e["end"]) for e in out["entities"]] == [
        (e["type"], e["start"], e["end"]) for e in expected
    ]
    assert len({e["entity_group"] for e in out["entities"]}) == 3


def test_push_uploads_the_onnx_export_only_while_it_comes_from_the_weights_beside_it(
    cluttered_model, monkeypatch, capsys
):
    uploads = staged_upload(monkeypatch)
    assert main(["export-onnx", "--model", str(cluttered_model)]) == 0
    assert main(["push", "--model", str(cluttered_model), "--repo", "org/m"]) == 0, capsys.readouterr().err
    exported = [name for name in uploads[0][1] if name.startswith("onnx/")]
    assert exported == ["onnx/agreement.json", "onnx/export.json", "onnx/model.onnx", "onnx/model.onnx.data"]
    from safetensors.torch import load_file, save_file

    weights = load_file(cluttered_model / "model.safetensors")
    weights["score.bias"] = weights["score.bias"] + 1.0  # trained again into the same folder after the export
    save_file(weights, cluttered_model / "model.safetensors", metadata={"format": "pt"})
    capsys.readouterr()
    assert main(["push", "--model", str(cluttered_model), "--repo", "org/m"]) == 2
    error = capsys.readouterr().err
    assert "onnx was exported from other weights than the model holds now" in error and "vaner export-onnx" in error
    assert "Nothing was uploaded" in error and len(uploads) == 1


ONNX_ON_THE_HUB = """
import json, sys
sys.path = [p for p in sys.path if p not in ('', {root!r})]
from transformers import pipeline
out = {{}}
for runtime in ("auto", "torch"):
    ner = pipeline("token-classification", model={repo!r}, trust_remote_code=True, runtime=runtime)
    out[runtime] = [ner.runtime, ner({text!r}, entity_types=["Species"])]
print(json.dumps(out))
"""


def test_the_hub_pipeline_runs_a_pushed_onnx_export_on_onnx_runtime(local_hub, lora_model, tmp_path):
    model_dir = tmp_path / "model"
    shutil.copytree(lora_model, model_dir)
    env = hub_env(local_hub, tmp_path / "pusher")
    assert vaner(["export-onnx", "--model", str(model_dir)], env).returncode == 0
    result = vaner(["push", "--model", str(model_dir), "--repo", f"{ORG}/vaner-onnx", "--merge"], env)
    assert result.returncode == 0, result.stderr[-3000:]
    code = ONNX_ON_THE_HUB.format(root=str(REPO_ROOT), repo=f"{ORG}/vaner-onnx", text=TEXT)
    out = json.loads(run_python(code, env=hub_env(local_hub, tmp_path / "user")).splitlines()[-1])
    (onnx_runtime, on_onnx), (torch_runtime, on_torch) = out["auto"], out["torch"]
    assert onnx_runtime == "onnx" and torch_runtime == "torch"  # auto takes the export the repo holds
    assert on_torch and [(e["start"], e["end"], e["type"]) for e in on_onnx] == [
        (e["start"], e["end"], e["type"]) for e in on_torch
    ]
    assert all(abs(a["score"] - b["score"]) < 1e-4 for a, b in zip(on_onnx, on_torch))


def test_pushing_the_default_model_uploads_its_export_from_the_vaner_cache(
    tiny_vaner, cluttered_model, tmp_path, monkeypatch, capsys
):
    from modeling_vaner import runtimes
    from modeling_vaner.onnx_runtime import export_onnx

    uploads = staged_upload(monkeypatch)
    monkeypatch.setenv("VANER_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(runtimes, "DEFAULT_MODEL_DIR", cluttered_model.resolve())  # it stands in for the default
    export_onnx(tiny_vaner[0], runtimes.onnx_home(None), weights_dir=cluttered_model)  # as `vaner export-onnx` does
    assert not (cluttered_model / "onnx").exists() and (tmp_path / "cache" / "default_model" / "onnx").is_dir()
    assert main(["push", "--model", str(cluttered_model), "--repo", "org/default"]) == 0, capsys.readouterr().err
    assert [name for name in uploads[0][1] if name.startswith("onnx/")] == [
        "onnx/agreement.json",
        "onnx/export.json",
        "onnx/model.onnx",
        "onnx/model.onnx.data",
    ]
