"""Tagging corpora (`vaner predict --output DIR`): inputs read lazily from a file, folder or glob, cut into shards;
one output file per shard, complete or absent; `--resume` after a kill gives the bytes an uninterrupted run gives;
`--workers` and `--engine ray` write what one process writes."""

import errno
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
        if path.is_file() and path.name not in ("manifest.json", "done.jsonl", ".vaner-predict.lock")
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
        ("a.txt", "text", 3, "a.00000.jsonl"),
        ("a.txt", "text", 3, "a.00001.jsonl"),
        ("a.txt", "text", 1, "a.00002.jsonl"),
        ("b.pubtator.gz", "pubtator", 3, "b.00000.jsonl"),
        ("b.pubtator.gz", "pubtator", 3, "b.00001.jsonl"),
        ("b.pubtator.gz", "pubtator", 1, "b.00002.jsonl"),
        ("c.jsonl", "jsonl", 3, "c.00000.jsonl"),
        ("c.jsonl", "jsonl", 3, "c.00001.jsonl"),
        ("c.jsonl", "jsonl", 1, "c.00002.jsonl"),
    ]
    for name in ("a.txt", "b.pubtator.gz", "c.jsonl"):  # the shards, in order, are the file's documents
        whole = [(d.id, d.text) for d in read_documents(tmp_path / name)]
        pieces = [(d.id, d.text) for s in shards if Path(s.input).name == name for d in s.read()]
        assert pieces == whole and len(whole) == 7


def test_every_input_file_gets_output_files_of_its_own(tmp_path):
    """`x.txt` beside `x.txt.gz`, links to one file, a loop of folder links, the output folder inside the input."""
    corpus = tmp_path / "corpus"
    (corpus / "sub").mkdir(parents=True)
    (corpus / "x.txt").write_text("Aspirin one.\nAspirin two.\n")
    with gzip.open(corpus / "x.txt.gz", "wt") as handle:
        handle.write("Cisplatin.\n")
    (corpus / "x").write_text("Cisplatin three.\n")
    (corpus / "sub" / "x.txt").write_text("Cisplatin four.\n")
    (corpus / "linked.txt").symlink_to(corpus / "x")
    (corpus / "sub" / "loop").symlink_to(corpus / "sub")  # sub/loop/loop/... is sub again
    (corpus / "out").mkdir()
    (corpus / "out" / "x.00000.jsonl").write_text('{"text": "an output of an earlier run"}\n')
    for spec in (str(corpus), f"{corpus}/**/*"):
        files = expand_inputs(spec, exclude=corpus / "out")
        assert [file.relative_to(corpus).as_posix() for file in files] == [
            "linked.txt",
            "sub/x.txt",
            "x",
            "x.txt",
            "x.txt.gz",
        ], spec
        shards = plan_shards(files, "auto", 1, "json")
        outputs = [shard.output for shard in shards]
        assert len(set(outputs)) == len(outputs) == 6, outputs
        read = {shard.output: [d.text for d in shard.read()] for shard in shards}
        assert read["linked.txt.00000.jsonl"] == read["x.00000.jsonl"] == ["Cisplatin three."]
        assert read["x.txt.gz.00000.jsonl"] == ["Cisplatin."] and read["sub/x.00000.jsonl"] == ["Cisplatin four."]
        assert read["x.txt.00000.jsonl"] == ["Aspirin one."] and read["x.txt.00001.jsonl"] == ["Aspirin two."]


def test_a_resume_after_an_input_is_edited_in_place_is_refused(tiny_vaner_dir, tmp_path, capsys):
    source = write_text(tmp_path / "abstracts.txt", 6)
    run = ["predict", "--model", str(tiny_vaner_dir), "--input", str(source), "--output", f"{tmp_path}/out/"]
    assert main([*run, "--shard-size", "3"]) == 0
    (tmp_path / "out" / "abstracts.00001.jsonl").unlink()  # as if the run had stopped before its last shard
    source.write_text(source.read_text().replace("Patient", "Subject"))  # same lines, other words
    capsys.readouterr()
    assert main([*run, "--shard-size", "3", "--resume"]) == 2
    assert "the input files changed since" in capsys.readouterr().err
    assert not (tmp_path / "out" / "abstracts.00001.jsonl").exists()


def test_sharded_output_is_the_single_file_output_cut_into_shards(tiny_vaner_dir, tmp_path):
    source = write_text(tmp_path / "abstracts.txt", 10)
    common = ["--model", str(tiny_vaner_dir), "--input", str(source), "--types", "Chemical,Disease"]
    assert main(["predict", *common, "--output", str(tmp_path / "one.jsonl")]) == 0
    assert main(["predict", *common, "--output", str(tmp_path / "out") + "/", "--shard-size", "4"]) == 0
    shards = files_of(tmp_path / "out")
    assert list(shards) == ["abstracts.00000.jsonl", "abstracts.00001.jsonl", "abstracts.00002.jsonl"]
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


def test_a_python_caller_hears_its_parameters_and_no_progress(tiny_vaner_dir, tmp_path, capsys):
    from modeling_vaner.bulk import TaggingOptions, tag_corpus
    from modeling_vaner.errors import UsageError

    source, output = write_text(tmp_path / "abstracts.txt", 3), tmp_path / "out"
    options = TaggingOptions(model=str(tiny_vaner_dir), entity_types=("Chemical",), dataset=None)
    summary = tag_corpus(str(source), output, options, show_progress=False)
    said = capsys.readouterr().err  # (transformers' own weight-loading bar aside)
    assert summary["documents"] == 3 and "doc/s" not in said and "Tagged" not in said  # no bar, no summary line
    with pytest.raises(UsageError) as again:
        tag_corpus(str(source), output, options, show_progress=False)
    assert str(again.value) == (
        f"output_dir {output} holds a run already (manifest.json); pass `resume=True` to go on with it, or name "
        "another folder"
    )
    with pytest.raises(UsageError, match=f"^inputs {tmp_path / 'none'}: no such file or folder$"):
        tag_corpus(str(tmp_path / "none"), output, options, show_progress=False)


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
    for other, named in ((["--link"], "link"), (["--threshold", "0.5"], "threshold")):  # what each shard holds
        assert main([*common, "--types", "Chemical", *other, "--resume"]) == 2
        assert f"was tagged with other settings ({named})" in capsys.readouterr().err
    summary = json.loads((tmp_path / "out" / "manifest.json").read_text())["summary"]
    assert main([*common, "--types", "Chemical", "--resume"]) == 0  # nothing left: says so, changes nothing
    assert "0 shards tagged, 1 already done" in capsys.readouterr().err
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["summary"] == summary
    assert summary["documents"] == 3
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


def test_a_done_log_line_cut_by_a_kill_does_not_glue_onto_the_next(tiny_vaner_dir, tmp_path):
    source = write_text(tmp_path / "abstracts.txt", 4)
    run = ["predict", "--model", str(tiny_vaner_dir), "--input", str(source), "--output", f"{tmp_path}/out/"]
    assert main([*run, "--shard-size", "2"]) == 0
    log = tmp_path / "out" / "done.jsonl"
    first = log.read_text().splitlines()[0]
    log.write_text(first + "\n" + first[:20])  # killed while writing the second line, its shard file in place
    (tmp_path / "out" / "abstracts.00001.jsonl").unlink()
    assert main([*run, "--shard-size", "2", "--resume"]) == 0
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [record["output"] for record in records] == ["abstracts.00000.jsonl", "abstracts.00001.jsonl"]


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


def test_ray_writes_what_one_process_writes_even_when_a_worker_is_killed(tiny_vaner_dir, tmp_path):
    """On a local cluster the run starts itself (no --ray-address) and stops at its end: only its own processes."""
    source = write_text(tmp_path / "abstracts.txt", 80)  # linking all the random model's mentions: ~0.3 s a document
    common = ["--model", str(tiny_vaner_dir), "--input", str(source), "--shard-size", "4", "--link", "--threads", "1"]
    finished(vaner_predict(*common, "--output", f"{tmp_path}/one/"))
    on_ray = [*common, "--engine", "ray", "--concurrency", "2"]
    process = vaner_predict(*on_ray, "--output", f"{tmp_path}/ray/", env={**os.environ, "RAY_USAGE_STATS_ENABLED": "0"})
    killed, started = kill_a_ray_actor_once_it_has_written(tmp_path / "ray", process)
    err = finished(process)
    shards = files_of(tmp_path / "ray")
    assert killed and len(shards) == 20 and not any(name.endswith(".partial") for name in shards)
    assert shards == files_of(tmp_path / "one")  # byte for byte: nothing lost, nothing twice
    assert "80 documents" in err
    done = [json.loads(line)["output"] for line in (tmp_path / "ray" / "done.jsonl").read_text().splitlines()]
    assert sorted(done) == sorted(shards)
    assert any("raylet" in name for name in started.values()), started  # it ran a cluster of its own ...
    assert wait_until_gone(started) == []  # ... and stopped every process of it


def kill_a_ray_actor_once_it_has_written(folder: Path, process: subprocess.Popen) -> tuple[bool, dict]:
    """SIGKILL one of the run's own tagging actors (a `ray::` process holding the model, among the run's descendants)
    after its first shard; returns whether it did and the run's processes seen (pid: name)."""
    import psutil

    deadline, started = time.monotonic() + 300, {}
    while time.monotonic() < deadline and process.poll() is None:
        try:
            children = psutil.Process(process.pid).children(recursive=True)
            started.update({child.pid: " ".join(child.cmdline()) for child in children})
        except psutil.Error:  # a process that ended while listed
            continue
        if complete_shards(folder) >= 2:
            actors = [child for child in children if "ShardTagger" in started[child.pid]]
            if actors:
                actors[0].kill()
                return True, started
        time.sleep(0.05)
    return False, started


def wait_until_gone(processes: dict, seconds: float = 60) -> list:
    """The pids among `processes` still running after up to `seconds`."""
    import psutil

    deadline = time.monotonic() + seconds
    while (alive := [pid for pid in processes if psutil.pid_exists(pid)]) and time.monotonic() < deadline:
        time.sleep(0.5)
    return [pid for pid in alive if running(pid)]


def running(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
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


def test_more_workers_than_cores_run_as_many_as_the_cores(tiny_vaner_dir, tmp_path, capsys):
    cores = len(os.sched_getaffinity(0))
    source = write_text(tmp_path / "abstracts.txt", 4)
    run = ["predict", "--model", str(tiny_vaner_dir), "--input", str(source), "--output", f"{tmp_path}/out/"]
    assert main([*run, "--shard-size", "2", "--workers", str(cores + 4), "--threads", "1"]) == 0
    assert f"--workers {cores + 4} on {cores} CPU cores: running {cores}" in capsys.readouterr().err
    assert json.loads((tmp_path / "out" / "manifest.json").read_text())["summary"]["workers"] == cores


def test_a_second_run_on_a_folder_being_tagged_is_refused_at_once(tiny_vaner_dir, tmp_path, capsys):
    from filelock import FileLock

    source = write_text(tmp_path / "abstracts.txt", 2)
    run = ["predict", "--model", str(tiny_vaner_dir), "--input", str(source), "--output", f"{tmp_path}/out/"]
    (tmp_path / "out").mkdir()
    with FileLock(str(tmp_path / "out" / ".vaner-predict.lock")):  # as a first run holds it while it tags
        assert main([*run, "--resume"]) == 2
        assert "another vaner predict is tagging into it now" in capsys.readouterr().err
    assert main([*run, "--resume"]) == 0  # once it is free, the run goes ahead, and leaves no lock behind
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        "abstracts.00000.jsonl",
        "done.jsonl",
        "manifest.json",
    ]


def test_ctrl_c_is_one_line_that_says_how_to_go_on(tiny_vaner_dir, tmp_path):
    source = write_text(tmp_path / "abstracts.txt", 4000)  # long after its first shard: the signal finds it running
    process = vaner_predict(
        "--model",
        str(tiny_vaner_dir),
        "--input",
        str(source),
        "--output",
        f"{tmp_path}/out/",
        "--shard-size",
        "4",
        # As in a terminal: a suite run in the background (`make test &`) hands its children SIGINT ignored, and
        # Python then never turns Ctrl-C into KeyboardInterrupt.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 300
    while complete_shards(tmp_path / "out") < 1 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.1)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    assert process.returncode == 130, err[-2000:]
    last = err.strip().splitlines()[-1]
    assert last.startswith("vaner predict: stopped (Ctrl-C).") and "--resume" in last and "Traceback" not in err


@pytest.mark.parametrize(
    "options, says",
    [
        (["--ray-address", "127.0.0.1:1"], "--ray-address 127.0.0.1:1: no Ray cluster answers there"),
        (["--ray-address", "nonsense"], "--ray-address nonsense: expected HOST:PORT, auto, or ray://HOST:PORT"),
        (["--ray-address", "auto"], "--ray-address auto: cannot join a Ray cluster"),
        (["--gpus-per-actor", "1"], "--gpus-per-actor 1: the Ray cluster has 0 GPUs; no actor could start"),
    ],
)
def test_a_ray_cluster_that_cannot_run_the_job_is_one_clear_line(tiny_vaner_dir, tmp_path, options, says):
    source = write_text(tmp_path / "abstracts.txt", 2)
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"} | {"RAY_USAGE_STATS_ENABLED": "0"}
    run = ["--model", str(tiny_vaner_dir), "--input", str(source), "--output", f"{tmp_path}/out/", "--engine", "ray"]
    process = vaner_predict(*run, *options, env=env)
    _, err = process.communicate(timeout=120)  # Ray alone would retry an address for minutes
    assert process.returncode == 2 and says in err and "Traceback" not in err, err[-2000:]


@pytest.mark.parametrize("manifest", ["{not json", "[1, 2]", '{"shards": []}'])
def test_a_manifest_that_is_not_one_is_one_clear_line(tmp_path, capsys, manifest):
    source = write_text(tmp_path / "abstracts.txt", 2)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "manifest.json").write_text(manifest)
    model = tmp_path / "never-loaded"
    model.mkdir()
    (model / "config.json").write_text(json.dumps({"model_type": "vaner"}))
    run = ["predict", "--model", str(model), "--input", str(source), "--output", f"{tmp_path}/out/", "--resume"]
    assert main(run) == 2
    error = capsys.readouterr().err
    assert "manifest.json: not a manifest of vaner predict" in error and "Traceback" not in error


def test_a_disk_that_fills_or_a_folder_that_cannot_be_written_is_one_line_and_nothing_half_written(
    tiny_vaner_dir, tmp_path, monkeypatch, capsys
):
    from modeling_vaner.bulk import job

    source = write_text(tmp_path / "abstracts.txt", 4)
    run = ["predict", "--model", str(tiny_vaner_dir), "--input", str(source), "--shard-size", "2"]
    assert main([*run, "--output", "/proc/vaner-out/"]) == 2  # a file system that takes no folder
    assert "--output /proc/vaner-out: cannot write there" in capsys.readouterr().err

    write_tagged, calls = job.write_tagged, []

    def disk_fills_on_the_second_shard(tagger, linker, documents, options, out, on_document=None):
        calls.append(1)
        if len(calls) == 2:
            out.write("half a record")
            raise OSError(errno.ENOSPC, "No space left on device")
        return write_tagged(tagger, linker, documents, options, out, on_document)

    monkeypatch.setattr(job, "write_tagged", disk_fills_on_the_second_shard)
    assert main([*run, "--output", f"{tmp_path}/out/"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert (
        err[-1]
        == f"vaner predict: {tmp_path}/out/abstracts.00001.jsonl: cannot write it (No space left on device); it was left as it was"
    )
    assert sorted(files_of(tmp_path / "out")) == ["abstracts.00000.jsonl"]  # the finished shard, no .partial
    monkeypatch.setattr(job, "write_tagged", write_tagged)
    assert main([*run, "--output", f"{tmp_path}/out/", "--resume"]) == 0  # space freed: the run goes on
    assert sorted(files_of(tmp_path / "out")) == ["abstracts.00000.jsonl", "abstracts.00001.jsonl"]


def test_a_shard_is_logged_done_only_once_its_file_is_in_place(tiny_vaner_dir, tmp_path, monkeypatch):
    from modeling_vaner.bulk import job

    source = write_text(tmp_path / "abstracts.txt", 5)
    seen, finish = [], job.Job.finish_shard

    def finish_checking(self, shard, counts):
        path = self.output_dir / shard.output
        seen.append((shard.output, path.is_file(), path.with_name(path.name + ".partial").exists()))
        return finish(self, shard, counts)

    monkeypatch.setattr(job.Job, "finish_shard", finish_checking)
    run = ["predict", "--model", str(tiny_vaner_dir), "--input", str(source), "--shard-size", "2"]
    assert main([*run, "--output", f"{tmp_path}/out/"]) == 0
    names = ["abstracts.00000.jsonl", "abstracts.00001.jsonl", "abstracts.00002.jsonl"]
    assert seen == [(name, True, False) for name in names]  # whole, renamed into place, before its log line
    logged = [json.loads(line)["output"] for line in (tmp_path / "out" / "done.jsonl").read_text().splitlines()]
    assert logged == names
