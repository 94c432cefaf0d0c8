"""The evaluation harness: the metric by hand, and end-to-end runs on tiny models and real slices."""

import ast
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import evaluate
import jsonschema
import pytest
import torch

from harness import runner
from harness.leaderboard import render_markdown
from harness.runner import (
    METRIC_PATH,
    HarnessError,
    TokenClassifierPredictor,
    VanerPredictor,
    read_predictions,
    run_eval,
)
from modeling_vaner import VanerTagger
from modeling_vaner.commands.cli import main
from modeling_vaner.corpora import CorpusError, load_corpus, register_corpus
from tests.conftest import NAMES, REPO_ROOT, SENTENCE, eval_args, read, write_corpus

SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "harness" / "results.schema.json").read_text())


@pytest.fixture(scope="module")
def metric():
    return evaluate.load(str(METRIC_PATH))


@pytest.mark.parametrize(
    "predicted, strict, default",
    [
        # exact match
        (["B-D", "I-D", "O", "B-D"], (1.0, 1.0), (1.0, 1.0)),
        # boundary error: the second mention is one word too long
        (["B-D", "I-D", "O", "B-D", "I-D"], (0.5, 0.5), (0.5, 0.5)),
        # type error: right span, wrong type
        (["B-C", "I-C", "O", "B-D", "O"], (0.5, 0.5), (0.5, 0.5)),
        # I- without B-: no entity in strict mode, an entity in conlleval's reading
        (["I-D", "I-D", "O", "B-D", "O"], (1.0, 0.5), (1.0, 1.0)),
        # empty predictions
        (["O", "O", "O", "O", "O"], (0.0, 0.0), (0.0, 0.0)),
    ],
)
def test_metric_by_hand(metric, predicted, strict, default):
    gold = ["B-D", "I-D", "O", "B-D", "O"]
    predicted = (predicted + ["O"] * 5)[:5]
    scores = metric.compute(predictions=[predicted], references=[gold])
    assert (scores["precision"], scores["recall"]) == pytest.approx(strict)
    assert (scores["default_precision"], scores["default_recall"]) == pytest.approx(default)
    p, r = strict
    assert scores["f1"] == pytest.approx(2 * p * r / (p + r) if p + r else 0.0)
    assert scores["gold_entities"] == 2


def test_metric_per_type_and_counts(metric):
    scores = metric.compute(
        predictions=[["B-Chemical", "O", "B-Disease"], ["B-Disease", "I-Disease"]],
        references=[["B-Chemical", "O", "B-Chemical"], ["B-Disease", "I-Disease"]],
    )
    assert scores["per_type"]["Chemical"] == {
        "precision": 1.0,
        "recall": 0.5,
        "f1": pytest.approx(2 / 3),
        "gold": 2,
        "predicted": 1,
    }
    assert scores["per_type"]["Disease"]["precision"] == 0.5
    assert (scores["gold_entities"], scores["predicted_entities"]) == (3, 3)
    with pytest.raises(ValueError, match="Sentence 0: 1 predicted tags for 2 gold ones"):
        metric.compute(predictions=[["O"]], references=[["O", "O"]])


def test_end_to_end_on_real_slices(tiny_vaner_dir, tmp_path):
    output = tmp_path / "results.json"
    report = run_eval(
        str(tiny_vaner_dir),
        ["NCBI-disease", "s800"],
        split="test",
        output=output,
        limit=20,
        predictions_dir=tmp_path / "predictions",
        batch_size=8,
        model_name="tiny",
    )
    saved = json.loads(output.read_text())
    jsonschema.validate(saved, SCHEMA)
    assert saved == json.loads(json.dumps(report))
    assert [r["dataset"] for r in saved["results"]] == ["NCBI-disease", "s800"]
    assert saved["results"][0]["instruction"].startswith("If any Disease entity is mentioned in the NCBI-disease")
    assert saved["results"][0]["sentences"] == 20 and saved["kind"] == "vaner"

    metric = evaluate.load(str(METRIC_PATH))
    for result in saved["results"]:
        gold, predicted = read_predictions(tmp_path / "predictions" / f"{result['dataset']}.test.conll")
        assert len(gold) == 20 and sum(map(len, gold)) == result["words"]
        recomputed = metric.compute(predictions=predicted, references=gold)
        assert recomputed["f1"] == result["strict"]["f1"]
        assert recomputed["default_f1"] == result["default"]["f1"]
        assert recomputed["gold_entities"] == result["gold_entities"] > 0
        # scored before the boundary rule too, from the same tagging: the same figures where it changed nothing
        assert result["tidy_mentions"]
        assert result["untidied"]["changed_sentences"] > 0 or result["untidied"]["strict"] == result["strict"]
    assert any(result["untidied"]["changed_sentences"] for result in saved["results"])

    board = (tmp_path / "results.md").read_text()
    assert "| tiny | measured (vaner) |" in board and "| BioBERT v1.1 | *reported* |" in board
    assert "89.71" in board and "scored on the first N sentences" in board


def test_a_600_word_sentence_is_scored_on_every_word(tiny_vaner, tmp_path):
    words = [f"gene{i}" for i in range(600)]
    tags = ["B-Gene" if i % 50 == 0 else "O" for i in range(600)]
    for split in ("train", "devel", "test"):
        (tmp_path / f"{split}.tsv").write_text("".join(f"{w}\t{t}\n" for w, t in zip(words, tags)) + "\n")
    register_corpus("long-sentence", tmp_path, "Gene")
    predictor = VanerPredictor(*tiny_vaner, max_length=96)  # force many windows
    [predicted] = predictor.predict([words], "long-sentence", "Gene")
    assert len(predicted) == 600 and set(predicted) <= {"B", "I", "O"}
    from harness.runner import evaluate_dataset

    result = evaluate_dataset(predictor, "long-sentence", "test", predictions_dir=tmp_path / "p")
    _, pred = read_predictions(tmp_path / "p" / "long-sentence.test.conll")
    assert result["words"] == 600 and len(pred[0]) == 600 and result["gold_entities"] == 12


def tiny_bert(tmp_path, labels):
    from transformers import BertConfig, BertForTokenClassification, BertTokenizerFast

    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + list("abcdefghijklmnopqrstuvwxyz0123456789-().,")
    vocab += ["##" + c for c in "abcdefghijklmnopqrstuvwxyz0123456789"]
    (tmp_path / "vocab.txt").write_text("\n".join(vocab) + "\n")
    tokenizer = BertTokenizerFast(vocab_file=str(tmp_path / "vocab.txt"), model_max_length=64)
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
        id2label=dict(enumerate(labels)),
        label2id={l: i for i, l in enumerate(labels)},
    )
    model = BertForTokenClassification(config)
    model.save_pretrained(tmp_path / "bert")
    tokenizer.save_pretrained(tmp_path / "bert")
    return model, tokenizer


def test_an_ordinary_token_classifier_goes_through_the_same_path(tmp_path):
    labels = ["O", "B-Disease", "I-Disease", "B-Chemical", "I-Chemical"]
    model, tokenizer = tiny_bert(tmp_path, labels)
    predictor = TokenClassifierPredictor(model, tokenizer, batch_size=4)
    sentence = [f"word{i}" for i in range(150)]  # far beyond 64 positions: windows
    [tags] = predictor.predict([sentence], "NCBI-disease", "Disease")
    assert len(tags) == 150 and set(tags) <= {"B", "I", "O"}
    assert predictor._tag("B-Chemical", "Disease") == "O" and predictor._tag("I-Disease", "Disease") == "I"
    # Through the CLI too, on a real slice.
    output = tmp_path / "bert.json"
    assert (
        main(
            [
                "eval",
                "--model",
                str(tmp_path / "bert"),
                "--datasets",
                "NCBI-disease",
                "--limit",
                "5",
                "--output",
                str(output),
            ]
        )
        == 0
    )
    saved = json.loads(output.read_text())
    jsonschema.validate(saved, SCHEMA)
    assert saved["kind"] == "token-classification" and saved["results"][0]["sentences"] == 5


def test_labels_that_do_not_fit_are_refused(tmp_path):
    model, tokenizer = tiny_bert(tmp_path, ["NEG", "POS"])
    with pytest.raises(HarnessError, match="labels are not IOB2"):
        TokenClassifierPredictor(model, tokenizer)


def test_unknown_dataset_fails_before_loading_and_partial_runs_keep_results(tiny_vaner_dir, tmp_path, capsys):
    assert main(["eval", "--model", str(tiny_vaner_dir), "--datasets", "NCBI-disease,GENIA"]) == 2
    assert "vaner eval: --datasets GENIA: unknown corpus; known: " in capsys.readouterr().err

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "test.tsv").write_text("word\tB-Disease\nnext\tI-Chemical\n\n")
    register_corpus("broken", broken, "Disease")
    output = tmp_path / "partial.json"
    with pytest.raises(CorpusError, match="broken/test.tsv:2: I-Chemical follows B-Disease"):
        run_eval(str(tiny_vaner_dir), ["s800", "broken"], output=output, limit=3)
    saved = json.loads(output.read_text())
    assert [r["dataset"] for r in saved["results"]] == ["s800"]


def test_a_corpus_of_a_type_the_model_does_not_know_is_listed_as_not_scored_and_the_rest_go_on(
    tiny_vaner_dir, tmp_path, caplog
):
    cells = tmp_path / "cells"  # a document corpus whose only type no VANER type maps to
    cells.mkdir()
    (cells / "test.pubtator").write_text("1|t|HeLa cells grew.\n1|a|They grew.\n1\t0\t4\tHeLa\tCellLine\tC:1\n\n")
    output = tmp_path / "r.json"
    code = main(["eval", "--model", str(tiny_vaner_dir), "--datasets", f"AnatEM,{cells},s800", "--limit", "3",
                 "--output", str(output)])  # fmt: skip
    err = caplog.text  # transformers' logger: stderr, for a user
    assert code == 0 and [r["dataset"] for r in json.loads(output.read_text())["results"]] == ["s800"]
    assert "AnatEM (test): not scored: the model does not know entity type 'Anatomy'" in err
    assert "not scored: the model knows none of its types (CellLine 1 in test)" in err


def test_resume_keeps_finished_corpora_and_refuses_other_settings(tiny_vaner_dir, tmp_path, monkeypatch):
    output = tmp_path / "results.json"
    first = run_eval(str(tiny_vaner_dir), ["s800"], output=output, limit=3)

    scored = []
    real = runner.evaluate_dataset
    monkeypatch.setattr(runner, "evaluate_dataset", lambda p, name, *a: scored.append(name) or real(p, name, *a))
    resumed = run_eval(str(tiny_vaner_dir), ["s800", "NCBI-disease"], output=output, limit=3, resume=True)
    assert scored == ["NCBI-disease"]
    assert resumed["results"][0] == first["results"][0]  # kept as it was, timing included
    assert [r["dataset"] for r in json.loads(output.read_text())["results"]] == ["s800", "NCBI-disease"]
    jsonschema.validate(resumed, SCHEMA)

    with pytest.raises(HarnessError, match="limit 3; this run scores 'test', limit 5"):
        run_eval(str(tiny_vaner_dir), ["s800"], output=output, limit=5, resume=True)
    with pytest.raises(HarnessError, match="^output .*: cannot resume from it: .*write to another file"):
        run_eval(str(tiny_vaner_dir), ["s800"], output=output, limit=3, dtype="bfloat16", resume=True)
    assert scored == ["NCBI-disease"]  # refused before scoring anything
    assert resumed["max_length"] == 512  # the tiny model records no training length: the tagger's 512
    saved = json.loads(output.read_text())
    output.write_text(json.dumps({**saved, "max_length": 256}))  # rows scored at another length must not mix
    with pytest.raises(HarnessError, match="ran the model at max_length 256, this run uses 512"):
        run_eval(str(tiny_vaner_dir), ["s800", "NCBI-disease", "BC2GM"], output=output, limit=3, resume=True)
    assert scored == ["NCBI-disease"]
    older = {key: value for key, value in saved.items() if key not in ("device", "max_length")}
    output.write_text(json.dumps({**older, "schema_version": 1}))  # a file of schema 1 records neither
    with pytest.raises(HarnessError, match="ran the model at a max_length it does not record, this run uses 512"):
        run_eval(str(tiny_vaner_dir), ["s800", "NCBI-disease", "BC2GM"], output=output, limit=3, resume=True)
    assert scored == ["NCBI-disease"]


def test_leaderboard_keeps_reported_rows_apart():
    text = render_markdown([])
    assert "*reported*" in text and "measured" not in text.split("\n", 3)[3]
    assert "BioBERT v1.1 | *reported* | " in text and "85.90" in text  # mean over the eight, as published


def test_one_model_per_corpus_makes_one_row_with_its_summed_training_time(tmp_path, capsys):
    for corpus, seconds in (("NCBI-disease", 150.0), ("s800", 90.0)):
        (tmp_path / corpus).mkdir()
        tiny_bert(tmp_path / corpus, ["O", "B", "I"])
        (tmp_path / corpus / "bert").rename(tmp_path / corpus / "final")
        (tmp_path / corpus / "training_summary.json").write_text(json.dumps({"seconds": seconds}))
    template = str(tmp_path / "{dataset}" / "final")
    report = run_eval(
        template, ["NCBI-disease", "s800"], output=tmp_path / "per-corpus.json", limit=4, model_name="tiny per corpus"
    )
    jsonschema.validate(report, SCHEMA)
    assert [r["dataset"] for r in report["results"]] == ["NCBI-disease", "s800"]
    assert report["kind"] == "token-classification" and report["training"]["seconds"] == 240.0
    assert len(report["training"]["summaries"]) == 2

    # A corpus without its model is named with the path that was looked for.
    with pytest.raises(HarnessError, match=r"^model .*: no model for BC2GM \(.*BC2GM/final does not exist"):
        run_eval(template, ["BC2GM"], output=tmp_path / "missing.json")

    # `vaner leaderboard` puts several results files in one table: measured rows first, in order, then reported.
    single = run_eval(
        str(tmp_path / "s800" / "final"),
        ["s800"],
        output=tmp_path / "single.json",
        limit=4,
        model_name="tiny s800 only",
    )
    assert single["training"]["seconds"] == 90.0
    assert (
        main(
            [
                "leaderboard",
                str(tmp_path / "per-corpus.json"),
                str(tmp_path / "single.json"),
                "--output",
                str(tmp_path / "board.md"),
            ]
        )
        == 0
    )
    rows = [line for line in (tmp_path / "board.md").read_text().splitlines() if line.startswith("| ")]
    assert [row.split(" | ")[0] for row in rows[1:]] == [
        "| tiny per corpus",
        "| tiny s800 only",
        "| BioBERT v1.1",
        "| PubMedBERT",
    ]
    assert " | 4 min | " in rows[1] and " | 2 min | " in rows[2]
    assert main(["leaderboard", str(tmp_path / "nothing.json")]) == 2
    assert "cannot read results" in capsys.readouterr().err


def test_the_harness_reaches_models_through_loading_never_training():
    for path in (REPO_ROOT / "harness").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                assert node.module != "modeling_vaner.training", f"{path.name} imports training"


@pytest.mark.parametrize("bad", ["NaN", "Infinity", "-Infinity"])
def test_a_results_file_with_a_non_finite_score_is_refused(tmp_path, bad):
    from harness.results import ResultsError, read_results

    path = tmp_path / "results.json"
    report = {"schema_version": 3, "results": [{"strict": {"f1": 0.5}}]}
    path.write_text(json.dumps(report).replace("0.5", bad))
    with pytest.raises(ResultsError, match=r"results\[0\]\.strict\.f1: not a finite number"):
        read_results(path)


def test_a_model_name_with_a_bar_or_a_line_break_stays_one_leaderboard_cell():
    from harness.leaderboard import render_markdown

    report = {"model": "mine | v2\nfinal", "kind": "vaner", "results": [], "training": {}}
    lines = render_markdown([report]).splitlines()
    [header] = [line for line in lines if line.startswith("| model |")]
    [row] = [line for line in lines if line.startswith("| mine")]
    assert row.startswith("| mine \\| v2 final | measured (vaner) |")
    assert row.replace("\\|", "").count("|") == header.count("|")  # as many cells as the header


def test_a_users_corpus_is_named_by_its_folder_in_the_leaderboard_not_by_its_whole_path(tmp_path, monkeypatch):
    from harness.documents import corpus_label
    from harness.leaderboard import render_markdown

    monkeypatch.chdir(tmp_path / "..")
    monkeypatch.setenv("HOME", str(tmp_path))
    work = Path.cwd()
    row = {"dataset": f"{tmp_path}/data/my-genes:Gene", "strict": {"f1": 0.5}, "default": {"f1": 0.5}}
    report = {"model": "m", "kind": "vaner", "training": {}, "results": [{**row, "words": 10, "seconds": 1.0}]}
    header = next(line for line in render_markdown([report]).splitlines() if line.startswith("| model |"))
    assert f"| {tmp_path.name}/data/my-genes:Gene |" in header and str(work) not in header  # from the working folder
    monkeypatch.chdir("/")
    assert (
        corpus_label(f"{tmp_path}/data/pubtator:Genes=Gene,Chem=Chemical") == "~/data/pubtator:Genes=Gene,Chem=Chemical"
    )
    assert corpus_label("/elsewhere/abstracts") == "/elsewhere/abstracts"  # neither here nor home: as given
    assert (
        corpus_label("mine/NCBI-disease:Disease") == "mine/NCBI-disease:Disease" and corpus_label("BioRED") == "BioRED"
    )


def test_two_user_corpora_whose_safe_names_coincide_get_two_file_names():
    from modeling_vaner.corpora import file_stem

    specs = [
        "/data/x y:Gene",
        "/data/x_y:Gene",
        "/data/x?y:Gene",
        "data/x y:Gene",
    ]  # all "data_x_y_Gene" when made safe
    stems = [file_stem(spec) for spec in specs]
    assert len(set(stems)) == len(specs) and all(re.fullmatch(r"[A-Za-z0-9._-]+", stem) for stem in stems)
    assert file_stem("BC2GM") == "BC2GM" and file_stem("BioRED:Gene") != "BioRED:Gene"


def test_a_missing_split_is_named_before_any_model_loads(tmp_path):
    from modeling_vaner.documents import DocumentCorpusError

    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "train.tsv").write_text("Aspirin\tB-Chemical\n\n")
    with pytest.raises(
        CorpusError, match=r"^.*/mine/test.tsv: no such file \(corpus '.*mine:Chemical', split 'test'\)$"
    ):
        run_eval("no-such-model", [f"{tmp_path / 'mine'}:Chemical"], output=tmp_path / "r.json")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "Train.PubTator").write_text("1|t|Aspirin.\n1\t0\t7\tAspirin\tChemical\t-\n\n")
    with pytest.raises(DocumentCorpusError, match=r"docs: no test split \(looked for test.PubTator, any case; corpus"):
        run_eval("no-such-model", [str(tmp_path / "docs")], output=tmp_path / "r.json")


def save_datasets_corpus(folder, sentences: int = 3):
    import datasets

    features = datasets.Features(
        {
            "tokens": datasets.Sequence(datasets.Value("string")),
            "ner_tags": datasets.Sequence(datasets.ClassLabel(names=NAMES)),
        }
    )
    split = datasets.Dataset.from_dict(
        {"tokens": [SENTENCE[0]] * sentences, "ner_tags": [SENTENCE[1]] * sentences}, features=features
    )
    datasets.DatasetDict({"train": split, "validation": split, "test": split}).save_to_disk(str(folder))
    return folder


def test_a_users_corpus_is_its_folder_never_a_core_corpus(tiny_vaner_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    write_corpus(tmp_path / "mine" / "NCBI-disease", 3, extra_words=1)
    write_corpus(tmp_path / "x" / "data", 3, extra_words=2)
    write_corpus(tmp_path / "y" / "data", 3, extra_words=3)
    output, predictions = tmp_path / "r.json", tmp_path / "predictions"
    argv = eval_args(
        tiny_vaner_dir,
        output,
        "NCBI-disease,mine/NCBI-disease:Disease,x/data:Disease,y/data:Disease",
        "--predictions",
        str(predictions),
    )
    assert main(argv) == 0, capsys.readouterr().err
    rows = {row["dataset"]: row for row in read(output)["results"]}
    assert list(rows) == ["NCBI-disease", "mine/NCBI-disease:Disease", "x/data:Disease", "y/data:Disease"]
    assert [rows[name]["words"] for name in rows][1:] == [12, 14, 16]  # each scored on its own file (2 sentences)
    assert rows["NCBI-disease"]["words"] == sum(map(len, load_corpus("NCBI-disease", "test")["tokens"][:2]))
    assert rows["NCBI-disease"]["instruction"].endswith("in the NCBI-disease input, extract it. ##input: ")
    assert "NCBI-disease" not in rows["mine/NCBI-disease:Disease"]["instruction"]  # never the core's guidelines
    assert len(list(predictions.glob("*.conll"))) == 4  # no predictions file overwrote another
    header = output.with_suffix(".md").read_text().splitlines()[2]
    assert "| NCBI-disease |" in header and "| mine/NCBI-disease:Disease |" in header
    assert main(eval_args(tiny_vaner_dir, tmp_path / "twice.json", "s800,s800")) == 2
    assert "s800 more than once" in capsys.readouterr().err


@pytest.mark.parametrize("summary", ["{not json", '{"global_step": 3}', '{"seconds": "long"}'])
def test_a_broken_training_summary_never_stops_eval(tiny_vaner_dir, tmp_path, summary):
    model = tmp_path / "model"
    shutil.copytree(tiny_vaner_dir, model)
    (model / "training_summary.json").write_text(summary)
    with pytest.warns(UserWarning, match="training_summary.json"):
        assert main(eval_args(model, tmp_path / "r.json", "s800")) == 0
    assert read(tmp_path / "r.json")["training"] == {"seconds": 0.0, "summaries": []}


def test_eval_scores_a_users_conll_folder_from_the_command_line(tiny_vaner_dir, tmp_path, capsys):
    corpus = tmp_path / "MyCorpus"
    corpus.mkdir()
    (corpus / "test.tsv").write_text("Aspirin\tB-Chemical\ncures\tO\nfever\tO\n.\tO\n\nIbuprofen\tB-Chemical\n")
    output = tmp_path / "r.json"
    assert (
        main(["eval", "--model", str(tiny_vaner_dir), "--datasets", f"{corpus}:Chemical", "--output", str(output)]) == 0
    )
    [result] = json.loads(output.read_text())["results"]
    assert (result["dataset"], result["entity_type"], result["sentences"], result["words"]) == (
        f"{corpus}:Chemical",
        "Chemical",
        2,
        5,
    )  # a user's corpus goes by its folder, as given
    capsys.readouterr()
    (corpus / "test.tsv").write_text("Aspirin\tI-Chemical\n")
    assert (
        main(
            [
                "eval",
                "--model",
                str(tiny_vaner_dir),
                "--datasets",
                f"{corpus}:Chemical",
                "--output",
                str(tmp_path / "bad.json"),
            ]
        )
        == 2
    )
    assert "test.tsv:1: I-Chemical follows O" in capsys.readouterr().err
    assert main(["eval", "--model", str(tiny_vaner_dir), "--datasets", f"{tmp_path / 'nope'}:Chemical"]) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_eval_scores_a_datasets_corpus_one_row_per_type(tiny_vaner_dir, tmp_path, capsys, monkeypatch):
    from modeling_vaner.commands.cli import main

    monkeypatch.chdir(tmp_path)
    save_datasets_corpus(tmp_path / "hf")
    output = tmp_path / "r.json"
    assert (
        main(
            [
                "eval",
                "--model",
                str(tiny_vaner_dir),
                "--datasets",
                "hf",
                "--split",
                "validation",
                "--output",
                str(output),
            ]
        )
        == 0
    ), capsys.readouterr().err
    rows = {row["dataset"]: row for row in json.loads(output.read_text())["results"]}
    assert list(rows) == ["hf:Chemical", "hf:Disease"]
    assert [(r["entity_type"], r["split"], r["sentences"], r["gold_entities"]) for r in rows.values()] == [
        ("Chemical", "devel", 3, 3),
        ("Disease", "devel", 3, 3),
    ]  # each row counts its own type's mentions only
    assert "any Disease entity is mentioned in the input" in rows["hf:Disease"]["instruction"]

    assert (
        main(["eval", "--model", str(tiny_vaner_dir), "--datasets", "hf:Disease", "--output", str(tmp_path / "x.json")])
        == 2
    )
    error = capsys.readouterr().err
    assert "name Chemical (9 mentions), Disease (9 mentions)" in error and "Give hf alone" in error

    assert (
        main(
            [
                "eval",
                "--model",
                str(tiny_vaner_dir),
                "--datasets",
                "hf",
                "--guidelines",
                "BC5CDR-disease",
                "--output",
                str(tmp_path / "g.json"),
            ]
        )
        == 0
    )
    rows = json.loads((tmp_path / "g.json").read_text())["results"]
    assert all("in the BC5CDR-disease input" in row["instruction"] for row in rows)
    assert (
        main(
            [
                "eval",
                "--model",
                str(tiny_vaner_dir),
                "--datasets",
                "hf",
                "--guidelines",
                "CDR",
                "--output",
                str(tmp_path / "h.json"),
            ]
        )
        == 2
    )
    assert "--guidelines CDR: the model knows the guidelines of" in capsys.readouterr().err


def test_a_conll_folder_of_two_types_is_never_read_as_one(tiny_vaner_dir, tmp_path, capsys, monkeypatch):
    from modeling_vaner.commands.cli import main

    monkeypatch.chdir(tmp_path)
    (tmp_path / "two").mkdir()
    lines = "".join(f"{word}\t{NAMES[tag]}\n" for word, tag in zip(*SENTENCE)) + "\n"
    (tmp_path / "two" / "test.tsv").write_text(lines * 2)
    assert (
        main(
            ["eval", "--model", str(tiny_vaner_dir), "--datasets", "two:Disease", "--output", str(tmp_path / "r.json")]
        )
        == 2
    )
    assert "name Chemical (2 mentions), Disease (2 mentions)" in capsys.readouterr().err
    assert (
        main(["eval", "--model", str(tiny_vaner_dir), "--datasets", "two", "--output", str(tmp_path / "r.json")]) == 0
    )
    rows = json.loads((tmp_path / "r.json").read_text())["results"]
    assert [(r["dataset"], r["gold_entities"]) for r in rows] == [("two:Chemical", 2), ("two:Disease", 2)]


def test_the_harness_scores_a_one_pass_model_per_corpus(per_type_run, tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "modeling_vaner.commands.cli",
            "eval",
            "--model",
            str(per_type_run[0] / "final"),
            "--datasets",
            "BC5CDR-chem,s800",
            "--split",
            "devel",
            "--limit",
            "6",
            "--output",
            str(tmp_path / "results.json"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    scores = {row["dataset"]: row for row in json.loads((tmp_path / "results.json").read_text())["results"]}
    assert set(scores) == {"BC5CDR-chem", "s800"} and all(row["predicted_entities"] for row in scores.values())
    assert scores["BC5CDR-chem"]["instruction"].startswith("If any Chemical entity is mentioned in the BC5CDR-chem")


def test_the_harness_asks_a_one_pass_model_for_every_type_and_reads_the_corpus_head(
    per_type_run, tiny_vaner_dir, tmp_path
):
    from harness.runner import HarnessError, run_eval
    from modeling_vaner import load_vaner

    output = tmp_path / "all.json"
    report = run_eval(str(per_type_run[0] / "final"), ["s800"], "devel", output, limit=4, request="all-types")
    [row] = report["results"]
    assert report["request"] == "all-types" and row["instruction"].startswith(
        "If any Chemical, Disease or Species entity is mentioned in the input"
    )
    model, tokenizer = load_vaner(per_type_run[0] / "final")
    from modeling_vaner.corpora import load_corpus

    sentences = load_corpus("s800", "devel")["tokens"][:4]
    tags = VanerTagger(model, tokenizer).tag_words(
        [(words, row["instruction"]) for words in sentences], entity_type="Species"
    )
    assert row["predicted_entities"] == sum(t.count("B") for t, _ in tags)  # the Species head's answers, counted
    with pytest.raises(HarnessError, match="^request all-types needs a model with a head per type"):
        run_eval(str(tiny_vaner_dir), ["s800"], "devel", tmp_path / "shared.json", limit=2, request="all-types")
