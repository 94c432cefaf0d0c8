"""Nothing silent, nothing leaked (issue 23): `vaner push` uploads an allow-list, results files never lose or invent
rows, bad inputs and files get one clear line before any work, and the checks that let planted bugs through."""

import ast
import gzip
import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from modeling_vaner.commands.cli import main
from modeling_vaner.corpora import load_corpus
from tests.conftest import REPO_ROOT

SENTENCES = "Aspirin\tO\ncauses\tO\nbreast\tB-Disease\ncancer\tI-Disease\n.\tO\n\n"


def write_corpus(folder: Path, sentences: int, splits=("train", "devel", "test"), extra_words: int = 0) -> Path:
    """A CoNLL corpus of `sentences` copies of one 5-word sentence (`extra_words` more `O` words in each)."""
    folder.mkdir(parents=True, exist_ok=True)
    for split in splits:
        (folder / f"{split}.tsv").write_text(("and\tO\n" * extra_words + SENTENCES) * sentences)
    return folder


def read(path: Path) -> dict:
    return json.loads(path.read_text())


# --- 1, 2: `vaner push` uploads an allow-list; --dry-run lists it ---------------------------------------------------


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


# --- 3-6: results files ----------------------------------------------------------------------------------------------


def eval_args(model: Path, output: Path, datasets: str, *extra: str) -> list[str]:
    return ["eval", "--model", str(model), "--datasets", datasets, "--limit", "2", "--output", str(output), *extra]


def test_resume_keeps_the_rows_of_corpora_not_named(tiny_vaner_dir, tmp_path, capsys):
    output = tmp_path / "r.json"
    assert main(eval_args(tiny_vaner_dir, output, "NCBI-disease,BC5CDR-disease")) == 0
    first = {row["dataset"]: row for row in read(output)["results"]}
    assert main(eval_args(tiny_vaner_dir, output, "NCBI-disease", "--resume")) == 0
    assert {row["dataset"]: row for row in read(output)["results"]} == first
    assert main(eval_args(tiny_vaner_dir, output, "s800")) == 0  # a later run of the same model adds its row
    assert [row["dataset"] for row in read(output)["results"]] == ["NCBI-disease", "BC5CDR-disease", "s800"]
    assert "BC5CDR-disease" in output.with_suffix(".md").read_text()


WRITER = """
import json, sys
from harness.results import write_results
report = json.loads(sys.argv[1])
print("ready", flush=True)
write_results(report, sys.argv[2])
print("written")
"""


def test_writers_of_one_results_file_wait_for_its_lock_and_lose_nothing(tiny_vaner_dir, tmp_path):
    from filelock import FileLock

    output = tmp_path / "r.json"
    assert main(eval_args(tiny_vaner_dir, output, "NCBI-disease")) == 0
    report = read(output)
    other = {**report, "results": [{**report["results"][0], "dataset": "s800", "entity_type": "Species"}]}
    with FileLock(str(output) + ".lock"):
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, json.dumps(other), str(output)],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert writer.stdout.readline().strip() == "ready"  # imports done: it is at the write now
        time.sleep(2)  # without the lock it would have written by now; with it, it waits
        assert writer.poll() is None and [r["dataset"] for r in read(output)["results"]] == ["NCBI-disease"]
    out, err = writer.communicate(timeout=120)
    assert writer.returncode == 0 and out.strip() == "written", err[-2000:]
    assert f"{output}: another run is writing it (it holds {output}.lock); waiting..." in err  # said, not silent
    assert [r["dataset"] for r in read(output)["results"]] == ["NCBI-disease", "s800"]


def test_a_results_lock_held_too_long_is_a_clear_error_not_an_endless_wait(tmp_path, monkeypatch, capsys):
    from filelock import FileLock

    from harness import results

    monkeypatch.setattr(results, "LOCK_WAIT_SECONDS", 0.5)
    output = tmp_path / "r.json"
    with FileLock(str(output) + ".lock"), pytest.raises(results.ResultsError, match=r"has been held for 0.5 s"):
        results.write_results({"schema_version": 3, "results": []}, output)
    assert "another run is writing it" in capsys.readouterr().err and not output.exists()


def test_two_eval_processes_writing_one_output_both_keep_their_rows(tiny_vaner_dir, tmp_path):
    output = tmp_path / "r.json"
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "modeling_vaner.commands.cli", *eval_args(tiny_vaner_dir, output, name)],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("NCBI-disease", "s800")
    ]
    for process in processes:
        _, err = process.communicate(timeout=600)
        assert process.returncode == 0, err[-2000:]
    assert sorted(r["dataset"] for r in read(output)["results"]) == ["NCBI-disease", "s800"]
    assert sorted(path.name for path in tmp_path.iterdir()) == ["r.json", "r.md"]  # no lock file left beside them


WRITERS = """
import json, sys
from harness.results import write_results
report, name, output = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
for i in range(30):  # each write reads the file, adds a row, writes it: a write made without the lock loses rows
    write_results({**report, "results": [{**report["results"][0], "dataset": f"{name}-{i}"}]}, output)
"""


def test_results_writers_that_remove_the_lock_file_still_take_turns(tiny_vaner_dir, tmp_path):
    output = tmp_path / "r.json"
    assert main(eval_args(tiny_vaner_dir, output, "NCBI-disease")) == 0
    report = json.dumps(read(output))
    writers = [
        subprocess.Popen(
            [sys.executable, "-c", WRITERS, report, name, str(output)], cwd=REPO_ROOT, stderr=subprocess.PIPE, text=True
        )
        for name in ("a", "b", "c")
    ]
    for writer in writers:
        _, err = writer.communicate(timeout=300)
        assert writer.returncode == 0, err[-2000:]
    rows = [row["dataset"] for row in read(output)["results"]]
    assert sorted(rows) == sorted(["NCBI-disease"] + [f"{name}-{i}" for name in "abc" for i in range(30)])
    assert sorted(path.name for path in tmp_path.iterdir()) == ["r.json", "r.md"]  # and no lock file left behind


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


def good_report(tmp_path, tiny_vaner_dir) -> dict:
    output = tmp_path / "good.json"
    assert main(eval_args(tiny_vaner_dir, output, "s800")) == 0
    return read(output)


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda r: r["results"][0]["strict"].update(f1=5.0), r"results\[0\]\.strict\.f1: 5\.0 is greater than"),
        (lambda r: r["results"][0].update(sentences="many"), r"results\[0\]\.sentences: 'many' is not of type"),
        (lambda r: r["results"].append(dict(r["results"][0])), r"results\[1\]\.dataset: 's800' appears twice"),
        (lambda r: r.pop("device"), r"'device' is a required property"),
        (lambda r: r.pop("max_length"), r"'max_length' is a required property"),
    ],
)
def test_every_read_of_a_results_file_checks_its_rows(tiny_vaner_dir, tmp_path, capsys, edit, message):
    import re

    report = good_report(tmp_path, tiny_vaner_dir)
    edit(report)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(report))
    capsys.readouterr()
    for argv in (
        ["leaderboard", str(bad)],
        eval_args(tiny_vaner_dir, bad, "s800", "--resume"),
        ["serve", "--model", str(tiny_vaner_dir), "--results", str(bad)],
        ["push", "--model", str(tiny_vaner_dir), "--repo", "o/m", "--dry-run", "--results", str(bad)],
    ):
        assert main(argv) == 2, argv
        error = capsys.readouterr().err
        assert str(bad) in error and re.search(message, error), (argv, error)


@pytest.mark.parametrize("content", ['{"foo": 1}', "[]", "not json"])
def test_leaderboard_says_what_is_not_a_results_file(tmp_path, capsys, content):
    path = tmp_path / "r.json"
    path.write_text(content)
    assert main(["leaderboard", str(path)]) == 2
    error = capsys.readouterr().err
    assert "is not" in error and "results file" in error and "Traceback" not in error


# --- 7-10: inputs --------------------------------------------------------------------------------------------------


def test_pubtator_bom_tabs_and_checked_annotations(tmp_path):
    from modeling_vaner.formats import Document, InputError, pubtator_block, read_documents

    path = tmp_path / "in.txt"
    path.write_bytes("\ufeff7|t|Aspirin and cancer\n7|a|More text.\n7\t0\t7\tAspirin\tChemical\n\n".encode())
    [document] = read_documents(path)
    assert document.id == "7" and document.entities[0]["text"] == "Aspirin"

    tabbed = Document(
        id="8",
        text="Title with\ttab",
        title_length=14,
        entities=[{"start": 6, "end": 14, "text": "with\ttab", "type": "Disease"}],
    )
    path.write_text(pubtator_block(tabbed))
    [back] = read_documents(path, "pubtator")
    assert back.entities == [{"start": 6, "end": 14, "text": "with tab", "type": "Disease"}]

    for line, message in [
        ("9\t0\t7\tAspirin\tChemical", r"in.txt:3: annotation of document '9' inside document '7'"),
        ("7\t5\t90\tAspirin\tChemical", r"in.txt:3: annotation 5-90 lies outside"),
        ("7\t7\t7\tAspirin\tChemical", r"in.txt:3: annotation 7-7 lies outside"),
    ]:
        path.write_text(f"7|t|Aspirin and cancer\n7|a|x\n{line}\n\n")
        with pytest.raises(InputError, match=message):
            list(read_documents(path))


def test_predict_names_a_bad_annotation_before_any_work(tiny_vaner_dir, tmp_path, capsys, monkeypatch):
    import modeling_vaner

    monkeypatch.setattr(modeling_vaner, "load_vaner", lambda *a, **k: pytest.fail("the model was loaded"))
    path = tmp_path / "in.txt"
    path.write_text("7|t|Aspirin\n7|a|x\n7\t0\t70\tAspirin\tChemical\n\n")
    assert main(["predict", "--model", str(tiny_vaner_dir), "--input", str(path)]) == 2
    assert "in.txt:3: annotation 0-70 lies outside" in capsys.readouterr().err


def test_json_lines_are_read_as_json_and_three_column_conll_is_refused(tiny_vaner_dir, tmp_path, capsys):
    from modeling_vaner.corpora import CorpusError, read_conll
    from modeling_vaner.formats import read_documents

    path = tmp_path / "docs.jsonl"
    path.write_text('{"id": "a1", "text": "Aspirin causes cancer."}\n\n{"text": "BRCA1 in mice."}\n')
    assert [(d.id, d.text) for d in read_documents(path)] == [("a1", "Aspirin causes cancer."), ("3", "BRCA1 in mice.")]
    plain = tmp_path / "docs.txt"
    plain.write_text(path.read_text())
    assert [d.text for d in read_documents(plain, "jsonl")] == ["Aspirin causes cancer.", "BRCA1 in mice."]
    assert (
        main(["predict", "--model", str(tiny_vaner_dir), "--input", str(path), "--output", str(tmp_path / "out.json")])
        == 0
    )
    records = [json.loads(line) for line in (tmp_path / "out.json").read_text().splitlines()]
    assert [(r["id"], r["text"]) for r in records] == [("a1", "Aspirin causes cancer."), ("3", "BRCA1 in mice.")]
    path.write_text('{"id": 1}\n')
    assert main(["predict", "--model", str(tiny_vaner_dir), "--input", str(path)]) == 2
    assert 'docs.jsonl:1: expected an object with a "text" string' in capsys.readouterr().err

    conll = tmp_path / "test.tsv"
    conll.write_text("Breast\tNN\tB-Disease\ncancer\tNN\tI-Disease\n\n")
    with pytest.raises(CorpusError, match=r"test.tsv:1: expected 'word<TAB>tag', found 3 columns"):
        read_conll(conll)


def test_a_type_asked_twice_is_asked_once(tiny_vaner_dir, capsys):
    text = "Aspirin lowered the risk of breast cancer in BRCA1 carriers."
    assert main(["predict", "--model", str(tiny_vaner_dir), "--types", "Chemical", text]) == 0
    once = json.loads(capsys.readouterr().out)["entities"]
    assert main(["predict", "--model", str(tiny_vaner_dir), "--types", "Chemical,Chemical", text]) == 0
    twice = json.loads(capsys.readouterr().out)["entities"]
    assert once and twice == once


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


# --- 11-16: models, runs and indexes ---------------------------------------------------------------------------------


def test_broken_weights_are_named_not_tracebacks(tiny_vaner_dir, tmp_path, capsys):
    from modeling_vaner.loading import DEFAULT_MODEL_DIR

    model = tmp_path / "default"
    shutil.copytree(DEFAULT_MODEL_DIR, model)
    weights = model / "adapter" / "adapter_model.safetensors"
    whole = weights.read_bytes()
    for size in (1000, 9_000_000):
        weights.write_bytes(whole[:size])
        assert main(["predict", "--model", str(model), "x"]) == 2
        error = capsys.readouterr().err
        assert f"weights file {weights} is truncated or corrupt" in error and "Traceback" not in error

    pickled = tmp_path / "pickled"
    shutil.copytree(tiny_vaner_dir, pickled)
    (pickled / "model.safetensors").rename(pickled / "pytorch_model.bin")
    assert main(["predict", "--model", str(pickled), "x"]) == 2
    assert "holds only pickle weights (pytorch_model.bin)" in capsys.readouterr().err

    weights.write_bytes(whole)
    config = read(model / "config.json")
    config.update(backbone_name_or_path=str(tmp_path / "gone-backbone"), backbone_provenance=None)
    (model / "config.json").write_text(json.dumps(config))
    assert main(["predict", "--model", str(model), "x"]) == 2
    error = capsys.readouterr().err
    assert f"needs its backbone {tmp_path / 'gone-backbone'}, which is missing" in error and "vaner backbone" in error


@pytest.mark.parametrize("summary", ["{not json", '{"global_step": 3}', '{"seconds": "long"}'])
def test_a_broken_training_summary_never_stops_eval(tiny_vaner_dir, tmp_path, summary):
    model = tmp_path / "model"
    shutil.copytree(tiny_vaner_dir, model)
    (model / "training_summary.json").write_text(summary)
    with pytest.warns(UserWarning, match="training_summary.json"):
        assert main(eval_args(model, tmp_path / "r.json", "s800")) == 0
    assert read(tmp_path / "r.json")["training"] == {"seconds": 0.0, "summaries": []}


def test_a_corrupt_linking_index_is_named_everywhere(tmp_path, capsys, monkeypatch, tiny_vaner_dir):
    from modeling_vaner.linking import INDEX_DIR, index

    broken = tmp_path / "index"
    shutil.copytree(INDEX_DIR, broken)
    gene = broken / "gene.json.gz"
    gene.write_bytes(gene.read_bytes()[:5000])
    (broken / "species.json.gz").write_bytes(gzip.compress(b'{"entity_type": "Species"}'))
    assert main(["eval", "--linking", "--index", str(broken), "--output", str(tmp_path / "l.json")]) == 2
    error = capsys.readouterr().err
    assert "linking index" in error and "gene.json.gz is truncated or corrupt" in error and "vaner link-index" in error
    with pytest.raises(index.IndexFileError, match="species.json.gz is truncated or corrupt \\(no 'concepts'\\)"):
        index.TypeIndex.load(broken / "species.json.gz")
    monkeypatch.setattr(index, "INDEX_DIR", broken)
    assert main(["predict", "--model", str(tiny_vaner_dir), "--link", "x"]) == 2
    assert "gene.json.gz is truncated or corrupt" in capsys.readouterr().err
    import space.app

    with pytest.raises(index.IndexFileError):
        space.app.load_linker()


def test_link_index_swaps_in_only_a_whole_index(tmp_path, monkeypatch, capsys):
    from modeling_vaner.commands import link_index as build
    from modeling_vaner.linking import index

    output = tmp_path / "index"
    output.mkdir()
    (output / "disease.json.gz").write_bytes(b"previous")
    assert main(["link-index", "--data", str(tmp_path / "nothing"), "--output", str(output)]) == 2
    assert "kb: no such folder" in capsys.readouterr().err

    real = build.build_type_index

    def failing(entity_type, *args, **kwargs):
        if entity_type == "Gene":
            raise build.VocabularyError("hgnc.tsv:3: planted failure")
        return real(entity_type, *args, **kwargs)

    import harness.linking
    from modeling_vaner.corpora import data_root

    monkeypatch.setattr(build, "build_type_index", failing)
    monkeypatch.setattr(harness.linking, "choose_threshold", lambda *args: 0.5)
    assert main(["link-index", "--data", str(data_root().parent), "--output", str(output)]) == 2
    assert "planted failure" in capsys.readouterr().err
    assert sorted(p.name for p in output.iterdir()) == ["disease.json.gz"]  # the previous index, whole
    assert (output / "disease.json.gz").read_bytes() == b"previous"
    assert not list(tmp_path.glob(".index-*"))
    monkeypatch.setattr(
        build,
        "build_type_index",
        lambda entity_type, *args, **kwargs: index.TypeIndex(entity_type, [(["X:1"], "x")], {"x": [0]}, [0]),
    )
    assert main(["link-index", "--data", str(data_root().parent), "--output", str(output)]) == 0
    assert sorted(p.name for p in output.iterdir()) == [f"{t.lower()}.json.gz" for t in index.ENTITY_TYPES]
    assert index.TypeIndex.load(output / "disease.json.gz").concepts == [(["X:1"], "x")]


def test_a_run_refuses_a_recipe_of_another_shape_and_keeps_its_record(tmp_path, capsys):
    import yaml

    from modeling_vaner.training import TrainConfig, resumable_checkpoint

    run = tmp_path / "run"
    checkpoint = run / "checkpoint-2"
    checkpoint.mkdir(parents=True)
    (checkpoint / "trainer_state.json").write_text("{}")
    recipe = {**TrainConfig(output_dir=str(run), corpora=["s800"]).__dict__, "lora_r": 2}
    (run / "train_config.yaml").write_text(yaml.safe_dump(recipe))
    before = (run / "train_config.yaml").read_text()
    assert main(["train", "--output_dir", str(run), "--corpora", "s800", "--lora_r", "4"]) == 2
    error = capsys.readouterr().err
    assert "lora_r 2 -> 4" in error and "checkpoint-2 cannot be resumed" in error
    assert (run / "train_config.yaml").read_text() == before
    with pytest.warns(UserWarning, match="checkpoint-2 has no optimizer state"):
        assert resumable_checkpoint(TrainConfig(output_dir=str(run), corpora=["s800"], lora_r=2), run) == str(
            checkpoint
        )
    assert main(["train", "--output_dir", str(tmp_path / "r2"), "--corpora", "s800", "--lora_r", "0"]) == 2
    assert "--lora_r on the command line must be at least 1, got 0" in capsys.readouterr().err


def test_train_takes_a_users_folder_as_corpora_says(tmp_path, smollm2_tokenizer):
    import torch

    from modeling_vaner import VanerForTokenClassification, load_vaner
    from modeling_vaner.training import TrainConfig, train
    from tests.conftest import tiny_config

    folder = write_corpus(tmp_path / "my corpus", 6)
    torch.manual_seed(0)
    model = VanerForTokenClassification(tiny_config(vocab_size=len(smollm2_tokenizer), pad_token_id=2))
    config = TrainConfig.from_yaml(
        None,
        {
            "output_dir": str(tmp_path / "run"),
            "corpora": [f"{folder}:Disease"],
            "max_steps": 2,
            "per_device_batch_size": 2,
            "save_steps": 2,
            "dbr_probability": 0.0,
            "bf16": False,
            "max_length": 160,
            "lora": False,
        },
    )
    summary = train(config, model=model, tokenizer=smollm2_tokenizer)
    assert summary["corpora"] == {f"{folder}:Disease": 6}
    trained, _ = load_vaner(tmp_path / "run" / "final")
    assert list(trained.config.datasets) == [f"{folder}:Disease"]


def test_serve_shows_the_models_name_and_leaves_no_folder_per_request(tiny_vaner_dir, tmp_path, monkeypatch):
    import tempfile

    import space.app

    shutil.copy(REPO_ROOT / "modeling_vaner" / "default_model" / "results.json", tiny_vaner_dir / "results.json")
    try:
        assert space.app.default_results(str(tiny_vaner_dir)) == str(tiny_vaner_dir / "results.json")
        note = space.app.model_note(None, space.app.default_results(str(tiny_vaner_dir)), str(tiny_vaner_dir))
        assert f"`{tiny_vaner_dir}`" in note and "NCBI-disease" in note and "default model" not in note
    finally:
        (tiny_vaner_dir / "results.json").unlink()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    app = space.app.build_app(str(tiny_vaner_dir))
    run = next(f.fn for f in app.fns.values() if getattr(f, "api_name", None) == "tag")
    for text in ("Aspirin causes cancer.", "BRCA1 in mice.", "Aspirin causes cancer."):
        run(text, ["Chemical", "Gene"], space.app.ADAPTIVE)
    folders = [p.name for p in tmp_path.iterdir() if p.name.startswith("vaner")]
    assert len(folders) == 1 and folders[0].startswith("vaner-downloads-"), folders
    assert len(list((tmp_path / folders[0]).iterdir())) == 2  # one file per distinct answer


def test_sigterm_during_predict_leaves_no_partial_output(tiny_vaner_dir, tmp_path):
    source = tmp_path / "in.txt"
    # far more lines than the wait below
    source.write_text("Aspirin lowered the risk of breast cancer in BRCA1 carriers.\n" * 20000)
    output = tmp_path / "out.json"
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "modeling_vaner.commands.cli",
            "predict",
            "--model",
            str(tiny_vaner_dir),
            "--input",
            str(source),
            "--output",
            str(output),
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    partial = tmp_path / "out.json.partial"
    deadline = time.monotonic() + 300
    while not partial.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert partial.exists(), process.communicate()[1][-2000:]
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=60)
    assert process.returncode != 0 and not partial.exists() and not output.exists()


def test_linking_gives_junk_no_confident_id():
    from modeling_vaner.linking import Linker

    linker = Linker.load()
    for mention, entity_type in [
        ("e", "Chemical"),
        ("a", "Species"),
        ("x", "Gene"),
        ("1", "Disease"),
        ("x" * 500, "Disease"),
        ("2.5", "Chemical"),
    ]:
        assert linker.link_mention(mention, entity_type)["id"] is None, mention
    assert linker.link_mention("aspirin", "Chemical")["id"] == "MESH:D001241"  # real names still link
    assert linker.link_mention("p53", "Gene")["id"] is not None


# --- 17: one error model -------------------------------------------------------------------------------------------


def test_every_error_class_of_the_package_is_a_vaner_error():
    import importlib

    from modeling_vaner.errors import VanerError

    found = []
    for root in ("modeling_vaner", "harness"):
        for path in (REPO_ROOT / root).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ClassDef) and node.name.endswith("Error"):
                    module = ".".join(path.relative_to(REPO_ROOT).with_suffix("").parts)
                    found.append(getattr(importlib.import_module(module), node.name))
    assert len(found) >= 12
    assert [cls.__name__ for cls in found if not issubclass(cls, VanerError)] == []


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


def test_library_code_never_exits_or_prints_errors():
    offenders = []
    for root in ("modeling_vaner", "harness"):
        for path in (REPO_ROOT / root).rglob("*.py"):
            if path.name == "cli.py":
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Call) and ast.unparse(node.func) in ("sys.exit", "exit", "quit"):
                    offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []


# --- 18: checks that let planted bugs through before -----------------------------------------------------------------

PINNED_INSTRUCTIONS = {  # the paper's eight corpora, each under its own name and type
    "BC4CHEMD": "If any Chemical entity is mentioned in the BC4CHEMD input, extract it. ##input: ",
    "BC5CDR-chem": "If any Chemical entity is mentioned in the BC5CDR-chem input, extract it. ##input: ",
    "BC5CDR-disease": "If any Disease entity is mentioned in the BC5CDR-disease input, extract it. ##input: ",
    "NCBI-disease": "If any Disease entity is mentioned in the NCBI-disease input, extract it. ##input: ",
    "BC2GM": "If any Gene entity is mentioned in the BC2GM input, extract it. ##input: ",
    "JNLPBA": "If any Gene entity is mentioned in the JNLPBA input, extract it. ##input: ",
    "linnaeus": "If any Species entity is mentioned in the linnaeus input, extract it. ##input: ",
    "s800": "If any Species entity is mentioned in the s800 input, extract it. ##input: ",
}


def test_the_instructions_of_the_eight_corpora_are_pinned_and_training_asks_them(tiny_vaner, tmp_path):
    from harness.runner import VanerPredictor
    from modeling_vaner.corpora import CORE_CORPORA, get_corpus
    from modeling_vaner.processing_vaner import instruction_ids
    from modeling_vaner.training import TrainConfig, build_train_rows

    model, tokenizer = tiny_vaner
    predictor = VanerPredictor(model, tokenizer)
    assert {
        name: predictor.instruction(name, get_corpus(name).entity_type) for name in CORE_CORPORA
    } == PINNED_INSTRUCTIONS
    for name in CORE_CORPORA:
        config = TrainConfig(output_dir=str(tmp_path), corpora=[name], max_train_sentences=3, dbr_probability=0.0)
        train_sets = {name: load_corpus(name, "train").select(range(3))}
        prompt = instruction_ids(tokenizer, PINNED_INSTRUCTIONS[name])
        rows = build_train_rows(config, tokenizer, model.config, train_sets)
        assert len(rows) >= 3 and all(row[: len(prompt)] == prompt for row in rows["input_ids"]), name


class FixedProbabilities(__import__("torch").nn.Module):
    """A stand-in model whose every position has the same label probabilities (O, B, I)."""

    def __init__(self, config, probabilities):
        import torch

        super().__init__()
        self.config = config
        self.anchor = torch.nn.Parameter(torch.zeros(1))
        self.logits = torch.tensor(probabilities).log()

    def forward(self, input_ids, attention_mask=None, **kwargs):
        from types import SimpleNamespace

        return SimpleNamespace(logits=self.logits.expand(*input_ids.shape, 3))


def test_an_entity_score_is_its_chosen_labels_probability_and_offsets_keep_leading_space(smollm2_tokenizer):
    from modeling_vaner import VanerTagger
    from tests.conftest import tiny_config

    text = "   Aspirin causes cancer."
    for probabilities, score in (([0.1, 0.6, 0.3], 0.6), ([0.3, 0.45, 0.25], 0.45)):
        model = FixedProbabilities(tiny_config(), probabilities)
        tagger = VanerTagger(model, smollm2_tokenizer, tidy_mentions=False)  # the final "." stays a mention
        entities = tagger(text, entity_types=["Chemical"])[0]
        assert [(e["start"], e["end"], e["text"]) for e in entities] == [
            (3, 10, "Aspirin"),
            (11, 17, "causes"),
            (18, 24, "cancer"),
            (24, 25, "."),
        ]
        assert all(text[e["start"] : e["end"]] == e["text"] for e in entities)
        assert [e["score"] for e in entities] == pytest.approx([score] * 4)
    # I is the most likely label everywhere: one mention over every word (BIO repair opens it with B), scored by
    # the probability of the label each word chose (I), not of B.
    tagger = VanerTagger(FixedProbabilities(tiny_config(), [0.2, 0.35, 0.45]), smollm2_tokenizer, tidy_mentions=False)
    [entity] = tagger(text, entity_types=["Chemical"])[0]
    assert (entity["start"], entity["end"], entity["text"]) == (3, 25, "Aspirin causes cancer.")
    assert entity["score"] == pytest.approx(0.45)


def test_the_dbr_probability_sets_how_many_dbr_rows_there_are(smollm2_tokenizer, tmp_path):
    from modeling_vaner.training import TrainConfig, build_dictionary, build_train_rows
    from tests.conftest import tiny_config

    train_sets = {"s800": load_corpus("s800", "train").select(range(60))}
    counts = {}
    for probability in (0.0, 0.5, 1.0):
        config = TrainConfig(output_dir=str(tmp_path), corpora=["s800"], dbr_probability=probability, max_length=512)
        dictionary = build_dictionary(config, train_sets) if probability else None
        counts[probability] = len(build_train_rows(config, smollm2_tokenizer, tiny_config(), train_sets, dictionary))
    sentences = counts[0.0]
    assert sentences >= 60 and counts[1.0] == 2 * sentences  # every sentence brings one DBR item
    assert 0.35 * sentences < counts[0.5] - sentences < 0.65 * sentences


def test_corpus_shares_follow_the_temperature_by_value():
    from modeling_vaner.training import corpus_weights

    assert corpus_weights({"big": 9000, "small": 1000}, 2.0) == pytest.approx({"big": 0.75, "small": 0.25})
    assert corpus_weights({"a": 100, "b": 400, "c": 1600}, 2.0) == pytest.approx(
        {"a": 10 / 70, "b": 20 / 70, "c": 40 / 70}
    )


def test_the_conlleval_figure_differs_from_strict_when_a_predictor_emits_i_after_o(tmp_path):
    from harness.runner import evaluate_dataset
    from modeling_vaner.corpora import register_corpus

    register_corpus("i-after-o", write_corpus(tmp_path / "corpus", 2), "Disease")

    class IAfterO:
        kind = "token-classification"

        def predict(self, sentences, dataset, entity_type):
            return [["O", "O", "I", "I", "O"] for _ in sentences]

    result = evaluate_dataset(IAfterO(), "i-after-o")
    assert result["strict"]["f1"] == 0.0 and result["default"]["f1"] == 1.0


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
