"""The model card: valid Hub metadata whose model-index equals the results JSON."""

import json
import shutil

from huggingface_hub import ModelCard
from huggingface_hub.repocard import metadata_load

from model_card.generate import write_card
from modeling_vaner.commands.cli import main
from tests.conftest import REPO_ROOT

REPORT = {
    "schema_version": 1,
    "model": "vaner-tiny",
    "revision": None,
    "kind": "vaner",
    "date": "2026-11-25T00:00:00+00:00",
    "package_versions": {},
    "results": [
        {
            "dataset": name,
            "split": "test",
            "entity_type": kind,
            "sentences": 200,
            "words": 5000,
            "strict": {"precision": p, "recall": r, "f1": f},
            "default": {"precision": p, "recall": r, "f1": f},
            "per_type": {},
            "gold_entities": 10,
            "predicted_entities": 10,
            "seconds": 10.0,
            "words_per_second": 500.0,
        }
        for name, kind, p, r, f in [
            ("NCBI-disease", "Disease", 0.8, 0.7, 0.74667),
            ("s800", "Species", 0.6, 0.5, 0.54545),
        ]
    ],
}


def test_card_metadata_parses_and_model_index_matches_results(tmp_path):
    results = tmp_path / "results.json"
    results.write_text(json.dumps(REPORT))
    write_card(results, tmp_path / "README.md", repo_id="vaner/vaner-tiny", base_model="vaner/smollm2-135m-q4_1")

    card = ModelCard.load(tmp_path / "README.md")
    metadata = metadata_load(tmp_path / "README.md")
    assert metadata["pipeline_tag"] == "token-classification" and metadata["library_name"] == "transformers"
    assert metadata["license"] == "apache-2.0" and metadata["base_model"] == "vaner/smollm2-135m-q4_1"
    assert metadata["datasets"] == ["bigbio/ncbi_disease", "s800"]  # Hub ids where the Hub has the corpus
    [index] = metadata["model-index"]
    f1 = {r["dataset"]["name"]: m["value"] for r in index["results"] for m in r["metrics"] if m["type"] == "f1"}
    assert f1 == {r["dataset"]: round(100 * r["strict"]["f1"], 2) for r in REPORT["results"]}
    assert card.data.eval_results[0].metric_value == 74.67
    text = card.text
    assert 'AutoModelForTokenClassification.from_pretrained("vaner/vaner-tiny", trust_remote_code=True)' in text
    assert "| NCBI-disease | test | 200 | 80.00 | 70.00 | 74.67 |" in text and "@article{bian2024vaner" in text


def test_card_quotes_a_leaderboard_beside_baselines(tmp_path):
    from harness.leaderboard import render_markdown

    results = tmp_path / "results.json"
    results.write_text(json.dumps(REPORT))
    baseline = {
        **REPORT,
        "model": "MiniLM per corpus",
        "kind": "token-classification",
        "training": {"seconds": 600.0, "summaries": ["runs/x/training_summary.json"]},
    }
    board = tmp_path / "leaderboard.md"
    board.write_text(render_markdown([REPORT, baseline]))
    write_card(results, tmp_path / "README.md", repo_id="vaner/vaner-tiny", base_model="b", leaderboard_path=board)
    text = ModelCard.load(tmp_path / "README.md").text
    assert "### Compared with other systems" in text
    assert "| MiniLM per corpus | measured (token-classification) |" in text and " | 10 min | " in text
    assert "| BioBERT v1.1 | *reported* |" in text
    # Without a leaderboard the section is left out.
    write_card(results, tmp_path / "plain.md", repo_id="vaner/vaner-tiny", base_model="b")
    assert "Compared with other systems" not in ModelCard.load(tmp_path / "plain.md").text


def test_the_card_is_written_from_the_command_line(tmp_path, capsys):
    from model_card.generate import main

    results = tmp_path / "results.json"
    results.write_text(json.dumps(REPORT))
    ablations = tmp_path / "ablations.md"
    ablations.write_text("| model | core mean |\n|---|---|\n| causal control | 63.21 |\n")
    main(
        [
            "--results",
            str(results),
            "--repo-id",
            "vaner/vaner-tiny",
            "--base-model",
            "b",
            "--training",
            "Trained for 85 minutes on 2 CPU cores.",
            "--ablations",
            str(ablations),
            "--ablations-note",
            "One run each on one GPU.",
            "--output",
            str(tmp_path / "card.md"),
        ]
    )
    text = (tmp_path / "card.md").read_text()
    assert "### Ablations\n\nOne run each on one GPU.\n\n| model | core mean |" in text
    assert "| causal control | 63.21 |" in text
    assert "Trained for 85 minutes on 2 CPU cores." in text and "| s800 | test | 200 | 60.00 | 50.00 | 54.55 |" in text
    assert "Model card written to" in capsys.readouterr().out


def pushed_card(model_dir, monkeypatch, *options) -> str:
    """The README.md `vaner push --model model_dir` would upload (the upload itself replaced)."""
    from modeling_vaner.commands import hub

    cards = []

    def upload(api, staging, *args, **kwargs):
        cards.append((staging / "README.md").read_text())
        return "0" * 40

    monkeypatch.setattr(hub, "_api", lambda token: type("Api", (), {"token": "hf_test"})())
    monkeypatch.setattr(hub, "_upload", upload)
    assert main(["push", "--model", str(model_dir), "--repo", "org/m", *options]) == 0
    return cards[0]


def test_push_without_results_quotes_the_folders_own_and_without_any_still_gives_licence_and_usage(
    tiny_vaner_dir, tmp_path, monkeypatch
):
    folder = tmp_path / "model"
    shutil.copytree(tiny_vaner_dir, folder)
    (folder / "results.json").write_text(json.dumps(REPORT))
    card = pushed_card(folder, monkeypatch)
    (tmp_path / "with.md").write_text(card)
    metadata = metadata_load(tmp_path / "with.md")
    assert metadata["model-index"] and metadata["datasets"] == ["bigbio/ncbi_disease", "s800"]
    assert "| NCBI-disease | test | 200 | 80.00 | 70.00 | 74.67 |" in card

    (folder / "results.json").unlink()
    card = pushed_card(folder, monkeypatch)
    (tmp_path / "without.md").write_text(card)
    metadata = metadata_load(tmp_path / "without.md")
    assert metadata["license"] == "apache-2.0" and "model-index" not in metadata
    assert 'from_pretrained("org/m", trust_remote_code=True)' in card and "No evaluation results came" in card


def test_the_cards_base_model_is_the_backbones_hub_id_even_for_a_backbone_converted_here():
    from modeling_vaner.commands.hub import hub_base_model
    from modeling_vaner.configuration_vaner import VanerConfig
    from modeling_vaner.embedded import DEFAULT_MODEL_DIR

    config = VanerConfig.from_pretrained(DEFAULT_MODEL_DIR)
    assert config.backbone_name_or_path == "SmolLM2-135M-Instruct-Q4_1"  # converted from the GGUF: no Hub id
    assert hub_base_model(config) == "HuggingFaceTB/SmolLM2-135M-Instruct"
    config.backbone_name_or_path = "org/backbone"
    assert hub_base_model(config) == "org/backbone"


def test_every_model_index_field_is_its_strict_value_in_the_results(tmp_path):
    from huggingface_hub.repocard import metadata_load

    from model_card.generate import write_card

    report = {
        "schema_version": 1,
        "model": "m",
        "revision": None,
        "kind": "vaner",
        "date": "2026-11-26T00:00:00+00:00",
        "package_versions": {},
        "results": [
            {
                "dataset": "NCBI-disease",
                "split": "test",
                "entity_type": "Disease",
                "sentences": 9,
                "words": 90,
                "strict": {"precision": 0.81, "recall": 0.62, "f1": 0.7024},
                "default": {"precision": 0.88, "recall": 0.67, "f1": 0.7608},  # conlleval reads more mentions
                "per_type": {},
                "gold_entities": 10,
                "predicted_entities": 8,
                "seconds": 1.0,
                "words_per_second": 90.0,
            }
        ],
    }
    results = tmp_path / "results.json"
    results.write_text(json.dumps(report))
    write_card(results, tmp_path / "README.md", repo_id="org/m", base_model="org/base")
    [index] = metadata_load(tmp_path / "README.md")["model-index"]
    [entry] = index["results"]
    values = {metric["type"]: metric["value"] for metric in entry["metrics"]}
    assert values == {"precision": 81.0, "recall": 62.0, "f1": 70.24}


def test_the_card_describes_the_heads():
    from model_card.generate import render_card

    results = REPO_ROOT / "modeling_vaner" / "default_model" / "results.json"
    one_pass = str(render_card(results, repo_id="org/one-pass", base_model="b", head_layout="per_type"))
    shared = str(render_card(results, repo_id="org/shared", base_model="b"))
    assert "head per entity type" in one_pass and "one forward pass tags every type" in one_pass
    assert "head per entity type" not in shared and "a BIO token-classification head, and an instruction" in shared
