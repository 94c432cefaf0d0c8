"""What a new user runs, at its defaults and its edges: clear errors naming what and where, no half-written output,
and the checks that let planted bugs through before (padding, repeated spans, card fields, window edges)."""

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import evaluate
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.runner import METRIC_PATH, HarnessError, run_eval
from modeling_vaner import VanerTagger
from modeling_vaner.commands.cli import main
from modeling_vaner.corpora import CorpusError, read_conll
from modeling_vaner.formats import InputError, read_documents
from modeling_vaner.processing_vaner import Window, plan_windows
from tests.conftest import REPO_ROOT

FIXED = "Aspirin lowered the risk of breast cancer in BRCA1 carriers, unlike Escherichia coli infection."


def vaner(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    """`vaner ARGS` in a fresh process, as a user types it."""
    return subprocess.run(
        [sys.executable, "-m", "modeling_vaner.commands.cli", *args],
        capture_output=True,
        check=False,
        text=True,
        cwd=REPO_ROOT,
        timeout=timeout,
    )


# --- Every subcommand's default path, in a fresh process ------------------------------------------------------------


@pytest.mark.backbone
def test_predict_with_no_options_tags_with_the_default_model():
    result = vaner("predict", FIXED)
    assert result.returncode == 0, result.stderr[-2000:]
    [record] = [json.loads(line) for line in result.stdout.splitlines()]
    found = {(e["start"], e["end"], e["type"]) for e in record["entities"]}
    assert {(0, 7, "Chemical"), (28, 41, "Disease"), (45, 50, "Gene"), (68, 84, "Species")} <= found


@pytest.mark.backbone
def test_eval_without_a_model_scores_the_default_model(tmp_path):
    output = tmp_path / "r.json"
    result = vaner("eval", "--datasets", "s800", "--limit", "3", "--output", str(output))
    assert result.returncode == 0, result.stderr[-2000:]
    saved = json.loads(output.read_text())
    assert saved["model_path"].endswith("default_model") and saved["results"][0]["sentences"] == 3


@pytest.mark.backbone
def test_serve_without_a_model_starts_the_space_on_the_default_model(tmp_path):
    from tests.local_hub import free_port, wait_for

    port, log = free_port(), tmp_path / "serve.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "modeling_vaner.commands.cli", "serve", "--port", str(port)],
            cwd=REPO_ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            env={**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"},
        )
    try:
        wait_for(port, process, log, seconds=180, health="/")
        from gradio_client import Client

        _, table, _, status = Client(f"http://127.0.0.1:{port}/", verbose=False).predict(
            FIXED, ["Chemical", "Disease", "Gene", "Species"], "adaptive (no dataset guidelines)", api_name="/tag"
        )
        assert {(row[2], row[3], row[1]) for row in table["data"]} >= {(0, 7, "Chemical"), (45, 50, "Gene")}, status
        ids = {row[0]: row[5] for row in table["data"]}
        assert ids["Aspirin"] == "MESH:D001241" and ids["BRCA1"] == "HGNC:1100"  # the entity table links
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.mark.backbone
def test_demo_backbone_and_leaderboard_run_on_their_defaults(tmp_path):
    demo = vaner("demo")  # what `make run` runs
    assert demo.returncode == 0, demo.stderr[-2000:]
    assert "Default model:" in demo.stdout and "   0-7    Chemical" in demo.stdout
    backbone = vaner("backbone")
    assert backbone.returncode == 0 and (Path(backbone.stdout.strip()) / "config.json").is_file()
    board = vaner(
        "leaderboard",
        str(REPO_ROOT / "results" / "leaderboard" / "vaner-default.json"),
        "--output",
        str(tmp_path / "board.md"),
        timeout=120,
    )
    assert board.returncode == 0 and "| VANER SmolLM2-135M LoRA r=32" in (tmp_path / "board.md").read_text()


def test_the_command_line_answers_help_without_importing_torch():
    code = (
        "import sys; from modeling_vaner.commands.cli import build_parser; build_parser().format_help(); "
        "print(sorted(name for name in ('torch', 'transformers') if name in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, check=False, text=True, cwd=REPO_ROOT, timeout=60
    )
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stderr[-1000:] or result.stdout


@pytest.mark.parametrize(
    "argv, status, message",
    [
        (["predict"], 2, "vaner predict: give a TEXT or --input FILE"),
        (["predict", "--input", "/nonexistent/x.txt"], 2, "no such file"),
        (["predict", "text", "--input", "x.txt"], 2, "not both"),
        (["predict", "--help"], 0, "usage: vaner predict"),
        (["train"], 2, "vaner train: give a recipe, --config RECIPE.yaml"),
        (["train", "--config", "/nonexistent/recipe.yaml"], 2, "/nonexistent/recipe.yaml: no such file"),
        (["train", "--max_steps", "x"], 2, "--max_steps/--max-steps: invalid int value: 'x'"),
        (["train", "--help"], 0, "--max_steps MAX_STEPS"),
        (["eval", "--datasets", "Nope"], 2, "vaner eval: --datasets Nope: unknown corpus; known: "),
        (["eval", "--type-map", "/nonexistent/types.tsv"], 2, "vaner eval: /nonexistent/types.tsv: no such file"),
        (["eval", "--help"], 0, "usage: vaner eval"),
        (["push", "--help"], 0, "usage: vaner push"),
        (["serve", "--port", "70000"], 2, "--port: must be a TCP port"),
    ],
)
def test_mistakes_and_help_are_answered_before_torch_loads(argv, status, message):
    code = (
        "import contextlib, io, sys; from modeling_vaner.commands.cli import main; said = io.StringIO()\n"
        "with contextlib.redirect_stderr(said), contextlib.redirect_stdout(said):\n"
        f"    try: status = main({argv!r})\n"
        "    except SystemExit as exit: status = exit.code\n"
        "print(status, 'torch' in sys.modules, said.getvalue())"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, check=False, text=True, cwd=REPO_ROOT, timeout=60
    )
    assert result.stdout.startswith(f"{status} False ") and message in result.stdout, result.stdout[-1000:]
    assert "Traceback" not in result.stdout + result.stderr


def test_help_answers_for_every_subcommand():
    for command in (
        [],
        ["predict"],
        ["eval"],
        ["train"],
        ["serve"],
        ["demo"],
        ["push"],
        ["leaderboard"],
        ["backbone"],
        ["link-index"],
    ):
        result = vaner(*command, "--help", timeout=120)
        assert result.returncode == 0 and "usage: vaner" in result.stdout, (command, result.stderr[-1000:])
        if command == ["train"]:  # every recipe option, typed, from TrainConfig's fields
            assert "--config" in result.stdout and "--max_steps MAX_STEPS" in result.stdout
            assert "the corpora to mix" in result.stdout and "--time-budget-minutes" in result.stdout


# --- Bad input: a clear error naming what and where, before any work -----------------------------------------------


def test_predict_refuses_bad_options_before_loading_a_model(tiny_vaner_dir, tmp_path, capsys):
    cases = [
        (["--output", str(tmp_path / "no" / "such" / "r.json"), "text"], "--output .* does not exist"),
        (["--output", str(tmp_path), "text"], "is a folder"),
        (["--model", str(tmp_path / "nonexistent"), "text"], "--model .*: no such folder"),
        (["--model", str(tmp_path / "gone"), "text"], "--model /.*/gone: no such folder"),
        (["--model", str(tmp_path), "text"], "--model .*: cannot load a model"),  # a folder without one
        (["--input", str(tmp_path / "missing.txt")], "--input .*: no such file"),
    ]
    for argv, message in cases:
        if "--model" not in argv:
            argv = ["--model", str(tiny_vaner_dir), *argv]
        assert main(["predict", *argv]) == 2, argv
        error = capsys.readouterr().err
        assert re.search(message, error), (argv, error)
    assert not list(tmp_path.glob("**/*.partial"))


@pytest.mark.parametrize(
    "argv, option",
    [
        (["predict", "--batch-size", "-1", "x"], "--batch-size"),
        (["predict", "--batch-size", "0", "x"], "--batch-size"),
        (["eval", "--limit", "0"], "--limit"),
        (["eval", "--limit", "-5"], "--limit"),
        (["eval", "--batch-size", "two"], "--batch-size"),
        (["serve", "--port", "99999"], "--port"),
    ],
)
def test_numbers_below_one_name_their_option(argv, option, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    error = capsys.readouterr().err
    assert f"argument {option}" in error and "Traceback" not in error


def test_commands_at_their_edges_say_what_is_wrong(tiny_vaner_dir, tmp_path, capsys):
    cases = [
        (["train"], "give a recipe, --config RECIPE.yaml"),  # never hours of training on hidden defaults
        (["eval", "--model", str(tiny_vaner_dir), "--datasets", ",,"], "names no corpus"),
        (
            [
                "eval",
                "--model",
                str(tiny_vaner_dir),
                "--datasets",
                "s800",
                "--limit",
                "1",
                "--output",
                str(tmp_path / "r.json"),
                "--predictions",
                "/proc/no/such",
            ],
            "cannot write /proc/no",
        ),
        (["backbone", "--output", "/proc/no/such"], "vaner backbone: cannot write /proc/no/such"),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        error = capsys.readouterr().err
        assert message in error and "Traceback" not in error, (argv, error)
    assert not (tmp_path / "r.json").exists()


def test_a_corpus_file_with_a_bad_byte_names_file_and_line(tmp_path):
    path = tmp_path / "test.tsv"
    path.write_bytes(b"Aspirin\tB-Chemical\n\nfoo\tO\nbar\xff\tO\n")
    with pytest.raises(CorpusError, match=r"test.tsv:4: not UTF-8 \(byte 0xff at column 4\)"):
        read_conll(path)


def test_eval_resume_refuses_broken_rows_and_copies_nothing(tiny_vaner_dir, tmp_path):
    output = tmp_path / "r.json"
    run_eval(str(tiny_vaner_dir), ["s800"], output=output, limit=2)
    good = json.loads(output.read_text())
    for breakage in ({"strict": None}, {"default": {"f1": "high"}}, "drop-keys"):
        saved = json.loads(json.dumps(good))
        row = saved["results"][0]
        if breakage == "drop-keys":
            del row["strict"], row["split"]
        else:
            row.update(breakage)
        output.write_text(json.dumps(saved))
        with pytest.raises(HarnessError, match=r"Cannot resume: .*r.json: field results\[0\]"):
            run_eval(str(tiny_vaner_dir), ["s800", "NCBI-disease"], output=output, limit=2, resume=True)
        assert json.loads(output.read_text()) == saved  # left as it was


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


def test_pubtator_errors_quote_the_line_and_a_failed_run_leaves_no_partial_file(tiny_vaner_dir, tmp_path, capsys):
    source = tmp_path / "in.pubtator"
    source.write_text("1|t|Aspirin helps.\n1|a|It does.\n1\tzero\t7\tAspirin\tChemical\n\n")
    with pytest.raises(InputError, match=r"in.pubtator:3: start and end must be integers, got 'zero', '7'"):
        list(read_documents(source, "pubtator"))
    source.write_text("1|t|Aspirin helps.\n1|a|It does.\nnot an annotation\n\n")
    with pytest.raises(InputError, match=r"got: 'not an annotation'"):  # the line itself, not '{line[:80]!r}'
        list(read_documents(source, "pubtator"))
    output = tmp_path / "out.pubtator"
    assert (
        main(
            [
                "predict",
                "--model",
                str(tiny_vaner_dir),
                "--input",
                str(source),
                "--input-format",
                "pubtator",
                "--format",
                "pubtator",
                "--output",
                str(output),
            ]
        )
        == 2
    )
    assert not output.exists() and not list(tmp_path.glob("*.partial"))
    # Annotations in the input are replaced by predictions, and the user is told so.
    source.write_text("1|t|Aspirin helps.\n1|a|It does.\n1\t0\t7\tAspirin\tChemical\n\n")
    capsys.readouterr()
    assert (
        main(
            [
                "predict",
                "--model",
                str(tiny_vaner_dir),
                "--input",
                str(source),
                "--format",
                "pubtator",
                "--output",
                str(output),
            ]
        )
        == 0
    )
    assert "annotations (1 in 1 documents) were replaced" in capsys.readouterr().err


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=400))
def test_readers_take_any_bytes_to_a_result_or_an_error_naming_file_and_line(tmp_path, data):
    path = tmp_path / "fuzz.txt"
    path.write_bytes(data)
    for reader in (
        lambda: list(read_documents(path, "text")),
        lambda: list(read_documents(path, "pubtator")),
        lambda: read_conll(path),
    ):
        try:
            reader()
        except (InputError, CorpusError) as error:
            assert str(error).startswith(str(path)), error
            line = str(error)[len(str(path)) :]
            assert line.startswith(":") or "no sentences" in line, error


# --- Checks that let planted bugs through before ---------------------------------------------------------------------


def test_a_sentence_tags_the_same_alone_and_beside_much_longer_neighbours(tiny_vaner):
    # Padding must never be attended: a short row padded to a long neighbour's length reads exactly as alone.
    tagger = VanerTagger(*tiny_vaner)
    instruction = tagger.config.instruction("Disease")
    short = (["Aspirin", "causes", "fever", "."], instruction)
    longer = [(["word"] * 60 + [str(i)], instruction) for i in range(3)]
    alone = tagger.tag_words([short])
    batched = tagger.tag_words([longer[0], short, *longer[1:]], batch_size=8)
    assert alone[0][0] == batched[1][0]
    assert alone[0][1] == pytest.approx(batched[1][1], abs=1e-5)


def test_the_metric_counts_the_same_span_in_two_sentences_twice():
    metric = evaluate.load(str(METRIC_PATH))
    gold = [["B-D", "I-D", "O"], ["B-D", "I-D", "O"], ["O", "B-D", "O"]]
    predicted = [["B-D", "I-D", "O"], ["O", "O", "O"], ["O", "B-D", "O"]]
    scores = metric.compute(predictions=predicted, references=gold)
    # By hand: 3 gold mentions, 2 predicted, 2 right (spans (0,2) of sentence 0 and (1,2) of sentence 2).
    assert (scores["gold_entities"], scores["predicted_entities"]) == (3, 2)
    assert (scores["precision"], scores["recall"]) == pytest.approx((1.0, 2 / 3))
    scores = metric.compute(predictions=[["B-D", "I-D", "O"]] * 2, references=[["B-D", "I-D", "O"], ["O"] * 3])
    assert (scores["precision"], scores["recall"]) == pytest.approx((0.5, 1.0))  # the repeat is a false positive


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


@pytest.mark.parametrize(
    "piece_counts, budget, context, expected",
    [
        # context at least half the budget: cores shrink to one token and every word is cut to its first token
        ([5, 5, 5, 5], 10, 5, [Window(0, 0, 1, 4), Window(0, 1, 2, 4), Window(0, 2, 3, 4), Window(0, 3, 4, 4)]),
        (
            [1] * 7,
            4,
            2,
            [
                Window(0, 0, 1, 3),
                Window(0, 1, 2, 4),
                Window(0, 2, 3, 4),
                Window(1, 3, 4, 5),
                Window(2, 4, 5, 6),
                Window(3, 5, 6, 7),
                Window(4, 6, 7, 7),
            ],
        ),
        ([2, 9, 2], 10, 6, [Window(0, 0, 1, 3), Window(0, 1, 2, 3), Window(0, 2, 3, 3)]),
    ],
)
def test_windows_at_the_budget_edge(piece_counts, budget, context, expected):
    windows = plan_windows(piece_counts, budget, context)
    assert windows == expected
    for window in windows:  # with each word cut to the one-token core: never over the budget
        assert window.end - window.start <= budget


def test_offsets_match_positions_counted_by_hand(tiny_vaner):
    text = "Fever.  Aspirin\u00a0lowered it; CRLF\r\nthen \U0001f600 BRCA1."
    tagger = VanerTagger(*tiny_vaner, tidy_mentions=False)  # punctuation stays a mention: every word is counted
    tagger._forward = lambda sequences, positions: torch.tensor([[0.0, 1.0, 0.0]] * sum(map(len, positions)))  # all B
    [entities] = tagger(text, entity_types=["Gene"])
    expected = [
        (0, 5),
        (5, 6),
        (8, 15),
        (16, 23),
        (24, 26),
        (26, 27),
        (28, 32),
        (34, 38),
        (39, 40),
        (41, 46),
        (46, 47),
    ]  # every word a one-word mention, positions counted by hand
    assert [(e["start"], e["end"]) for e in entities] == expected


def test_a_server_on_our_port_that_is_not_ours_is_not_taken_for_ours(tmp_path):
    from tests.local_hub import free_port, wait_for

    port, log = free_port(), tmp_path / "log"
    log.write_text("")
    with socket.socket() as stranger:  # accepts connections, answers nothing: the race the Hub test lost
        stranger.bind(("127.0.0.1", port))
        stranger.listen()
        sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        try:
            with pytest.raises(RuntimeError, match="did not start"):
                wait_for(port, sleeper, log, seconds=3, health="/_front/health")
        finally:
            sleeper.kill()
    assert free_port(exclude={port}) != port
