"""Results files (`harness/results.py`): a resumed run keeps the rows it did not score, writers take turns under
the file's lock and lose nothing, every read checks the schema, and the file records what ran the model."""

import json
import re
import subprocess
import sys
import time

import pytest
import torch

from harness.runner import HarnessError, run_eval
from modeling_vaner.commands.cli import main
from tests.conftest import REPO_ROOT, eval_args, read

WRITER = """
import json, sys
from harness.results import write_results
report = json.loads(sys.argv[1])
print("ready", flush=True)
write_results(report, sys.argv[2])
print("written")
"""


WRITERS = """
import json, sys
from harness.results import write_results
report, name, output = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
for i in range(30):  # each write reads the file, adds a row, writes it: a write made without the lock loses rows
    write_results({**report, "results": [{**report["results"][0], "dataset": f"{name}-{i}"}]}, output)
"""


def good_report(tmp_path, tiny_vaner_dir) -> dict:
    output = tmp_path / "good.json"
    assert main(eval_args(tiny_vaner_dir, output, "s800")) == 0
    return read(output)


def test_resume_keeps_the_rows_of_corpora_not_named(tiny_vaner_dir, tmp_path, capsys):
    output = tmp_path / "r.json"
    assert main(eval_args(tiny_vaner_dir, output, "NCBI-disease,BC5CDR-disease")) == 0
    first = {row["dataset"]: row for row in read(output)["results"]}
    assert main(eval_args(tiny_vaner_dir, output, "NCBI-disease", "--resume")) == 0
    assert {row["dataset"]: row for row in read(output)["results"]} == first
    assert main(eval_args(tiny_vaner_dir, output, "s800")) == 0  # a later run of the same model adds its row
    assert [row["dataset"] for row in read(output)["results"]] == ["NCBI-disease", "BC5CDR-disease", "s800"]
    assert "BC5CDR-disease" in output.with_suffix(".md").read_text()


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


def test_the_results_file_records_the_device(tiny_vaner_dir, tmp_path):
    output = tmp_path / "results.json"
    run_eval(str(tiny_vaner_dir), ["s800"], output=output, limit=3, device="cpu")
    saved = json.loads(output.read_text())
    assert saved["device"]["type"] == "cpu" and saved["device"]["name"] and saved["device"]["threads"] >= 1
    assert saved["dtype"] == "float32"  # auto on the CPU, recorded by name
    # A resumed run with every corpus done still writes this run's record (device included), keeping the rows.
    saved["device"] = {"type": "cpu", "name": "elsewhere"}
    output.write_text(json.dumps(saved))
    run_eval(str(tiny_vaner_dir), ["s800"], output=output, limit=3, device="cpu", resume=True)
    again = json.loads(output.read_text())
    assert again["device"]["name"] != "elsewhere" and again["results"] == saved["results"]
    if not torch.cuda.is_available():
        with pytest.raises(HarnessError, match="^device cuda: "):
            run_eval(str(tiny_vaner_dir), ["s800"], output=tmp_path / "other.json", limit=3, device="cuda")
