"""Tagging corpora (`vaner predict --output DIR`): inputs read lazily from a file, folder or glob, cut into shards;
one output file per shard, complete or absent; `--resume` after a kill gives the bytes an uninterrupted run gives;
`--workers` and `--engine ray` write what one process writes."""

import gzip
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from modeling_vaner.bulk import expand_inputs, plan_shards
from modeling_vaner.commands.cli import main
from modeling_vaner.formats import Document, pubtator_block, read_documents
from tests.conftest import REPO_ROOT

SENTENCES = (
    "Aspirin lowered the risk of breast cancer in women.",
    "BRCA1 mutations were found in Escherichia coli cultures.",
    "Cisplatin caused acute renal failure in five of eight rats.",
    "The p53 protein binds DNA after damage by doxorubicin.",
)


def abstracts(count: int) -> list[str]:
    return [f"{SENTENCES[i % 4]} Patient {i} received {i % 7 + 1} mg. {SENTENCES[(i + 1) % 4]}" for i in range(count)]


def write_text(path: Path, count: int) -> Path:
    path.write_text("\n".join(abstracts(count)) + "\n")
    return path


def vaner_predict(*args: str, **popen) -> subprocess.Popen:
    """`vaner predict` in a fresh process, as a user runs it."""
    command = [sys.executable, "-m", "modeling_vaner.commands.cli", "predict", *args]
    return subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def finished(process: subprocess.Popen, timeout: int = 600) -> str:
    _, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err[-3000:]
    return err


def files_of(folder: Path) -> dict[str, bytes]:
    """Every shard file of an output folder, by name (the manifest and the log of finished shards left out)."""
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and path.name not in ("manifest.json", "done.jsonl")
    }


def complete_shards(folder: Path) -> int:
    return len([name for name in files_of(folder) if not name.endswith(".partial")]) if folder.is_dir() else 0


def test_inputs_are_a_file_a_folder_or_a_glob(tmp_path):
    from modeling_vaner.errors import UsageError

    (tmp_path / "corpus" / "more").mkdir(parents=True)
    first = write_text(tmp_path / "corpus" / "a.txt", 2)
    second = write_text(tmp_path / "corpus" / "more" / "b.txt", 2)
    (tmp_path / "corpus" / ".hidden.txt").write_text("not a document\n")
    assert expand_inputs(str(first)) == [first]
    assert expand_inputs(str(tmp_path / "corpus")) == [first, second]
    assert expand_inputs(str(tmp_path / "corpus" / "**" / "*.txt")) == [first, second]
    with pytest.raises(UsageError, match="no such file or folder"):
        expand_inputs(str(tmp_path / "nothing"))
    with pytest.raises(UsageError, match="no files there"):
        expand_inputs(str(tmp_path / "corpus" / "*.gz"))


def test_shards_cut_each_file_and_read_back_its_documents(tmp_path):
    texts = abstracts(7)
    write_text(tmp_path / "a.txt", 7)
    with gzip.open(tmp_path / "b.pubtator.gz", "wt") as handle:
        handle.writelines(pubtator_block(Document(id=f"p{i}", text=t, title_length=10)) for i, t in enumerate(texts))
    (tmp_path / "c.jsonl").write_text(
        "".join(json.dumps({"id": f"j{i}", "text": t}) + "\n" for i, t in enumerate(texts))
    )
    shards = plan_shards(sorted(tmp_path.iterdir()), "auto", 3, "json")
    assert [(Path(s.input).name, s.input_format, s.documents, s.output) for s in shards] == [
        ("a.txt", "text", 3, "a.txt.00000.jsonl"),
        ("a.txt", "text", 3, "a.txt.00001.jsonl"),
        ("a.txt", "text", 1, "a.txt.00002.jsonl"),
        ("b.pubtator.gz", "pubtator", 3, "b.pubtator.00000.jsonl"),
        ("b.pubtator.gz", "pubtator", 3, "b.pubtator.00001.jsonl"),
        ("b.pubtator.gz", "pubtator", 1, "b.pubtator.00002.jsonl"),
        ("c.jsonl", "jsonl", 3, "c.jsonl.00000.jsonl"),
        ("c.jsonl", "jsonl", 3, "c.jsonl.00001.jsonl"),
        ("c.jsonl", "jsonl", 1, "c.jsonl.00002.jsonl"),
    ]
    for name in ("a.txt", "b.pubtator.gz", "c.jsonl"):  # the shards, in order, are the file's documents
        whole = [(d.id, d.text) for d in read_documents(tmp_path / name)]
        pieces = [(d.id, d.text) for s in shards if Path(s.input).name == name for d in s.read()]
        assert pieces == whole and len(whole) == 7


def test_sharded_output_is_the_single_file_output_cut_into_shards(tiny_vaner_dir, tmp_path):
    source = write_text(tmp_path / "abstracts.txt", 10)
    common = ["--model", str(tiny_vaner_dir), "--input", str(source), "--types", "Chemical,Disease"]
    assert main(["predict", *common, "--output", str(tmp_path / "one.jsonl")]) == 0
    assert main(["predict", *common, "--output", str(tmp_path / "out") + "/", "--shard-size", "4"]) == 0
    shards = files_of(tmp_path / "out")
    assert list(shards) == ["abstracts.txt.00000.jsonl", "abstracts.txt.00001.jsonl", "abstracts.txt.00002.jsonl"]
    # The same documents and entities; scores agree to float precision (a shard's documents are batched apart from
    # the others', so the padding differs). Runs with the same shards agree byte for byte (the tests below).
    assert_same_records(b"".join(shards.values()), (tmp_path / "one.jsonl").read_bytes())
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["summary"]["documents"] == 10 and manifest["summary"]["shards_tagged"] == 3
    assert [json.loads(line)["documents"] for line in (tmp_path / "out" / "done.jsonl").read_text().splitlines()] == [
        4,
        4,
        2,
    ]


def assert_same_records(got: bytes, expected: bytes) -> None:
    got, expected = [[json.loads(line) for line in data.decode().splitlines()] for data in (got, expected)]
    assert len(got) == len(expected)
    for record, reference in zip(got, expected):
        assert (record["id"], record["text"]) == (reference["id"], reference["text"])
        assert [{**e, "score": pytest.approx(e["score"], abs=1e-5)} for e in record["entities"]] == reference[
            "entities"
        ]


def test_a_run_in_the_folder_needs_resume_and_the_same_settings(tiny_vaner_dir, tmp_path, capsys):
    source = write_text(tmp_path / "abstracts.txt", 3)
    common = ["predict", "--model", str(tiny_vaner_dir), "--input", str(source), "--output", f"{tmp_path}/out/"]
    assert main([*common, "--types", "Chemical"]) == 0
    capsys.readouterr()
    assert main([*common, "--types", "Chemical"]) == 2
    assert "holds a run already (manifest.json); pass --resume" in capsys.readouterr().err
    assert main([*common, "--types", "Disease", "--resume"]) == 2
    assert "was tagged with other settings (entity_types)" in capsys.readouterr().err
    assert main([*common, "--types", "Chemical", "--resume"]) == 0  # nothing left: says so, changes nothing
    assert "0 shards tagged, 1 already done" in capsys.readouterr().err
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("mine\n")
    assert (
        main(["predict", "--model", str(tiny_vaner_dir), "--input", str(source), "--output", str(tmp_path / "other")])
        == 2
    )
    assert "a folder with other files in it" in capsys.readouterr().err
    assert (tmp_path / "other" / "notes.txt").read_text() == "mine\n"
    assert main(["predict", "--model", str(tiny_vaner_dir), "--input", str(tmp_path), "--workers", "2"]) == 2
    assert "name a folder with --output DIR" in capsys.readouterr().err


def test_a_killed_run_resumes_to_the_bytes_of_an_uninterrupted_one(tiny_vaner_dir, tmp_path):
    source = write_text(tmp_path / "abstracts.txt", 600)
    common = ["--model", str(tiny_vaner_dir), "--input", str(source), "--shard-size", "20", "--format", "pubtator"]
    finished(vaner_predict(*common, "--output", f"{tmp_path}/straight/"))
    straight = files_of(tmp_path / "straight")
    assert len(straight) == 30

    cut = tmp_path / "cut"
    process = vaner_predict(*common, "--output", f"{cut}/")
    deadline = time.monotonic() + 300
    while complete_shards(cut) < 3 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.communicate()
    kept = files_of(cut)
    assert 3 <= complete_shards(cut) < 30  # killed mid-run
    for name, data in kept.items():  # what is there is whole: the finished shards, or a .partial never renamed
        assert name.endswith(".partial") or data == straight[name]

    err = finished(vaner_predict(*common, "--output", str(cut), "--resume"))
    assert files_of(cut) == straight  # byte for byte, no .partial left, nothing twice
    assert "already done" in err


def test_workers_write_what_one_process_writes_links_included(tiny_vaner_dir, tmp_path):
    source = write_text(tmp_path / "abstracts.txt", 24)
    # One thread per process, in the reference run too: the same kernels, so the same bytes (other thread counts
    # agree to float precision only)
    common = ["--model", str(tiny_vaner_dir), "--input", str(source), "--shard-size", "5", "--link", "--threads", "1"]
    finished(vaner_predict(*common, "--output", f"{tmp_path}/one/"))
    err = finished(vaner_predict(*common, "--output", f"{tmp_path}/two/", "--workers", "2"))
    shards = files_of(tmp_path / "two")
    assert len(shards) == 5 and shards == files_of(tmp_path / "one")
    assert "24 documents" in err and "5 shards tagged" in err
    linked = [
        e for data in shards.values() for line in data.decode().splitlines() for e in json.loads(line)["entities"]
    ]
    assert linked and all("link_score" in entity for entity in linked)


def test_a_worker_that_fails_stops_the_run_and_is_named(tmp_path, capsys):
    source = write_text(tmp_path / "abstracts.txt", 4)
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "config.json").write_text(json.dumps({"model_type": "vaner"}))  # no weights
    code = main(
        [
            "predict",
            "--model",
            str(tmp_path / "model"),
            "--input",
            str(source),
            "--output",
            f"{tmp_path}/out/",
            "--workers",
            "2",
        ]
    )
    assert code != 0
    assert "worker" in capsys.readouterr().err
    assert files_of(tmp_path / "out") == {}


@pytest.fixture(scope="module")
def ray_cluster(tmp_path_factory):
    """A local Ray cluster started as a user starts one (`ray start --head`), stopped at the end."""
    ray = Path(sys.executable).with_name("ray")
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    port = "6399"
    started = subprocess.run(
        [str(ray), "start", "--head", "--port", port, "--num-cpus", "2", "--include-dashboard", "false"],
        capture_output=True,
        check=False,
        text=True,
        env=env,
        timeout=300,
    )
    assert started.returncode == 0, started.stdout[-2000:] + started.stderr[-2000:]
    yield "auto"  # this machine's running cluster, as a user on a node of it names it
    subprocess.run([str(ray), "stop", "--force"], capture_output=True, check=False, env=env, timeout=300)


def test_ray_writes_what_one_process_writes_even_when_a_worker_is_killed(tiny_vaner_dir, tmp_path, ray_cluster):
    source = write_text(tmp_path / "abstracts.txt", 80)  # linking all the random model's mentions: ~0.3 s a document
    common = ["--model", str(tiny_vaner_dir), "--input", str(source), "--shard-size", "4", "--link", "--threads", "1"]
    finished(vaner_predict(*common, "--output", f"{tmp_path}/one/"))
    on_ray = [*common, "--engine", "ray", "--ray-address", ray_cluster, "--concurrency", "2"]
    process = vaner_predict(*on_ray, "--output", f"{tmp_path}/ray/")
    killed = kill_a_ray_actor_once_it_has_written(tmp_path / "ray", process)
    err = finished(process)
    shards = files_of(tmp_path / "ray")
    assert killed and len(shards) == 20 and not any(name.endswith(".partial") for name in shards)
    assert shards == files_of(tmp_path / "one")  # byte for byte: nothing lost, nothing twice
    assert "80 documents" in err
    done = [json.loads(line)["output"] for line in (tmp_path / "ray" / "done.jsonl").read_text().splitlines()]
    assert sorted(done) == sorted(shards)


def kill_a_ray_actor_once_it_has_written(folder: Path, process: subprocess.Popen) -> bool:
    """SIGKILL one of the run's tagging actors (a `ray::` process holding the model) after its first shard."""
    import psutil

    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and process.poll() is None:
        if complete_shards(folder) >= 2:
            actors = [p for p in psutil.process_iter(["cmdline"]) if "ShardTagger" in " ".join(p.info["cmdline"] or [])]
            if actors:
                actors[0].kill()
                return True
        time.sleep(0.05)
    return False


def test_a_bad_line_in_any_input_file_is_named_before_the_model_loads(tmp_path, capsys):
    (tmp_path / "corpus").mkdir()
    write_text(tmp_path / "corpus" / "a.txt", 3)
    (tmp_path / "corpus" / "b.jsonl").write_text('{"text": "fine"}\n{"txt": "no text"}\n')
    model = tmp_path / "no-model-needed"  # never loaded: the inputs fail first
    model.mkdir()
    (model / "config.json").write_text(json.dumps({"model_type": "vaner"}))
    code = main(["predict", "--model", str(model), "--input", str(tmp_path / "corpus"), "--output", f"{tmp_path}/out/"])
    assert code != 0
    assert 'b.jsonl:2: expected an object with a "text" string' in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
