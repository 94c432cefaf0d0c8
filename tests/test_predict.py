"""`vaner predict` and its file formats."""

import json
import re
import signal
import subprocess
import sys
import time
from contextlib import nullcontext

import pytest

from modeling_vaner.commands.cli import main
from modeling_vaner.corpora import CorpusError, read_conll
from modeling_vaner.formats import Document, InputError, pubtator_block, read_documents
from tests.conftest import REPO_ROOT, TWO_SENTENCES

ABSTRACT = Document(
    id="12345",
    text="Cisplatin nephrotoxicity in rats. Cisplatin (CDDP) caused acute renal failure in 5 of 8 rats.",
    title_length=len("Cisplatin nephrotoxicity in rats."),
    entities=[
        {"start": 0, "end": 9, "text": "Cisplatin", "type": "Chemical", "score": 0.97},
        {"start": 10, "end": 24, "text": "nephrotoxicity", "type": "Disease", "score": 0.91},
        {"start": 58, "end": 77, "text": "acute renal failure", "type": "Disease", "score": 0.88},
    ],
)


def test_pubtator_round_trips(tmp_path):
    path = tmp_path / "docs.pubtator"
    path.write_text(pubtator_block(ABSTRACT) + pubtator_block(Document(id="2", text="No abstract here.")))
    first, second = list(read_documents(path))
    assert (first.id, first.text, first.title_length) == (ABSTRACT.id, ABSTRACT.text, ABSTRACT.title_length)
    assert [(e["start"], e["end"], e["text"], e["type"]) for e in first.entities] == [
        (e["start"], e["end"], e["text"], e["type"]) for e in ABSTRACT.entities
    ]
    assert all(first.text[e["start"] : e["end"]] == e["text"] for e in first.entities)
    assert (second.id, second.text, second.entities) == ("2", "No abstract here. ", [])


def test_non_utf8_input_names_file_and_line(tmp_path):
    path = tmp_path / "latin1.txt"
    path.write_bytes("first line\nsecond line\nna\u00efve caf\u00e9\n".encode("latin-1"))
    with pytest.raises(InputError, match=r"latin1.txt:3: not UTF-8 \(byte 0xef at column 3\)"):
        list(read_documents(path))


def test_malformed_pubtator_names_file_and_line(tmp_path):
    path = tmp_path / "bad.pubtator"
    path.write_text("1|t|Title\n1|a|Abstract\n1\t0\tfive\tTitle\tDisease\n")
    with pytest.raises(InputError, match=r"bad.pubtator:3: start and end must be integers"):
        list(read_documents(path))


def test_predict_a_text_prints_json(tiny_vaner_dir, capsys):
    text = "Aspirin lowered the risk of breast cancer."
    assert main(["predict", text, "--model", str(tiny_vaner_dir), "--types", "Chemical,Disease"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["text"] == text and record["entities"]
    assert {e["type"] for e in record["entities"]} <= {"Chemical", "Disease"}
    assert all(text[e["start"] : e["end"]] == e["text"] for e in record["entities"])


def test_predict_a_file_in_every_format(tiny_vaner_dir, tmp_path):
    source = tmp_path / "abstracts.txt"
    source.write_text("Aspirin lowered the risk of breast cancer.\n\nBRCA1 mutations. Escherichia coli grew.\n")
    outputs = {}
    for output_format in ("json", "pubtator", "conll"):
        target = tmp_path / f"out.{output_format}"
        args = ["predict", "--input", str(source), "--model", str(tiny_vaner_dir), "--format", output_format]
        assert main(args + ["--output", str(target), "--batch-size", "3"]) == 0
        assert not (tmp_path / f"out.{output_format}.partial").exists()
        outputs[output_format] = target.read_text()

    records = [json.loads(line) for line in outputs["json"].splitlines()]
    assert [r["id"] for r in records] == ["1", "3"]  # documents keep their line numbers; blank lines skipped
    reread = list(read_documents(tmp_path / "out.pubtator"))
    assert [(d.id, d.text.rstrip()) for d in reread] == [(r["id"], r["text"]) for r in records]
    for document, record in zip(reread, records):
        assert [(e["start"], e["end"], e["type"]) for e in document.entities] == [
            (e["start"], e["end"], e["type"]) for e in record["entities"]
        ]
    conll = outputs["conll"].split("\n\n")
    assert conll[0] == "-DOCSTART- 1\tChemical\tDisease\tGene\tSpecies"
    first_sentence = [line.split("\t") for line in conll[1].splitlines()]
    assert [row[0] for row in first_sentence] == ["Aspirin", "lowered", "the", "risk", "of", "breast", "cancer", "."]
    assert all(len(row) == 5 and all(tag[0] in "BIO" for tag in row[1:]) for row in first_sentence)
    for column, entity_type in enumerate(["Chemical", "Disease", "Gene", "Species"], start=1):
        opened = sum(row[column] == "B-" + entity_type for row in first_sentence)
        assert opened == sum(e["type"] == entity_type and e["start"] < 42 for e in records[0]["entities"])


def test_predict_reads_pubtator_and_keeps_the_title_split(tiny_vaner_dir, tmp_path, capsys):
    source = tmp_path / "in.pubtator"
    source.write_text(pubtator_block(ABSTRACT))
    assert main(["predict", "--input", str(source), "--model", str(tiny_vaner_dir), "--format", "pubtator"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "12345|t|Cisplatin nephrotoxicity in rats."
    assert lines[1].startswith("12345|a|Cisplatin (CDDP)")


def test_predict_errors_are_clear(tiny_vaner_dir, tmp_path, capsys):
    assert main(["predict", "text", "--model", str(tiny_vaner_dir), "--types", "Protein"]) == 2
    assert "Unknown entity type 'Protein'" in capsys.readouterr().err
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"ok\n\xff\xfe\n")
    assert main(["predict", "--input", str(bad), "--model", str(tiny_vaner_dir)]) == 2
    assert "bad.txt:2: not UTF-8" in capsys.readouterr().err
    assert main(["predict", "--input", str(bad), "--model", str(tiny_vaner_dir), "--output", str(bad)]) == 2
    assert "refusing to overwrite" in capsys.readouterr().err
    assert bad.read_bytes() == b"ok\n\xff\xfe\n"


@pytest.mark.parametrize("output_format", ["pubtator", "conll"])
def test_an_id_that_would_break_the_output_lines_is_refused_before_the_model_loads(tmp_path, capsys, output_format):
    source = tmp_path / "docs.jsonl"
    hostile = "1\n999\t0\t7\tINJECTED\tDisease\tMESH:D000001"
    source.write_text(json.dumps({"id": "fine", "text": "Aspirin."}) + "\n" + json.dumps({"id": hostile, "text": "x"}))
    model = tmp_path / "never-loaded"
    model.mkdir()
    (model / "config.json").write_text(json.dumps({"model_type": "vaner"}))
    for output in (["--output", str(tmp_path / "out.txt")], ["--output", f"{tmp_path}/shards/"]):
        code = main(["predict", "--model", str(model), "--input", str(source), "--format", output_format, *output])
        error = capsys.readouterr().err
        assert code == 2 and f"{source}:2: document id" in error and "Traceback" not in error, error
    assert not (tmp_path / "out.txt").exists() and not (tmp_path / "shards").exists()


def test_pubtator_output_refuses_line_breaks_in_the_text_before_the_model_loads(tmp_path, capsys):
    source = tmp_path / "docs.jsonl"
    source.write_text(json.dumps({"id": "a1", "text": "Aspirin.\nCisplatin."}) + "\n")
    model = tmp_path / "never-loaded"
    model.mkdir()
    (model / "config.json").write_text(json.dumps({"model_type": "vaner"}))
    code = main(["predict", "--model", str(model), "--input", str(source), "--format", "pubtator"])
    assert code == 2 and "a line break inside its text" in capsys.readouterr().err
    code = main(["predict", "Aspirin.\nCisplatin.", "--model", str(model), "--format", "pubtator"])
    assert code == 2 and "TEXT: document '1' has a line break" in capsys.readouterr().err


def test_jsonl_ids_are_strings_or_integers_and_null_is_the_line_number(tmp_path):
    source = tmp_path / "docs.jsonl"
    source.write_text('{"id": null, "text": "a"}\n{"id": 7, "text": "b"}\n{"id": "x", "text": "c"}\n')
    assert [d.id for d in read_documents(source)] == ["1", "7", "x"]
    source.write_text('{"id": ["x"], "text": "a"}\n')
    with pytest.raises(InputError, match='docs.jsonl:1: "id" must be a string or an integer'):
        list(read_documents(source))


@pytest.mark.parametrize(
    "options, says",
    [
        (["--types", ","], "--types ',' names no entity type"),
        (["--types", " , "], "names no entity type"),
        (
            ["--engine", "ray", "--cpus-per-actor", "0", "--input", "x", "--output", "o/"],
            "--cpus-per-actor: must be above 0",
        ),
        (
            ["--engine", "ray", "--gpus-per-actor", "-1", "--input", "x", "--output", "o/"],
            "--gpus-per-actor: must be at least 0",
        ),
    ],
)
def test_options_that_name_nothing_or_divide_by_zero_are_one_clear_line(options, says, capsys):
    with pytest.raises(SystemExit) if "actor" in says else nullcontext():
        code = main(["predict", *(["Aspirin."] if "--input" not in options else []), *options])
        assert code == 2
    error = capsys.readouterr().err
    assert says in error and "Traceback" not in error


def test_pubtator_relation_lines_pass_through_and_a_bad_offset_is_not_one(tmp_path):
    source = tmp_path / "in.pubtator"
    lines = [
        "7|t|Aspirin and BRCA1.",
        "7|a|",
        "7\t0\t7\tAspirin\tChemical\tD001241",
        "7\tAssociation\tD001241\t672\tNovel",
    ]
    source.write_text("\n".join([*lines, "7\tCID\tD001241\tD001943", ""]) + "\n")
    [document] = read_documents(source)
    assert document.relations == ["7\tAssociation\tD001241\t672\tNovel", "7\tCID\tD001241\tD001943"]
    assert pubtator_block(document).splitlines()[-3:-1] == document.relations  # then the blank line
    source.write_text("7|t|Aspirin.\n7|a|\n7\tzero\t7\tAspirin\tChemical\n")
    with pytest.raises(InputError, match="in.pubtator:3: start and end must be integers"):
        list(read_documents(source))


def test_standard_input_and_output_are_dash(tiny_vaner_dir, tmp_path, monkeypatch, capsys):
    import io
    import sys

    def stdin(text: str) -> None:
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text.encode()), encoding="utf-8"))

    run = ["predict", "--model", str(tiny_vaner_dir), "--types", "Chemical", "--input", "-"]
    stdin("Aspirin lowered the risk.\n\nCisplatin hurt the kidney.\n")
    assert main([*run, "--output", "-"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [(r["id"], r["text"]) for r in records] == [
        ("1", "Aspirin lowered the risk."),
        ("3", "Cisplatin hurt the kidney."),
    ]

    stdin('{"id": "a", "text": "Aspirin."}\n{"id": "b", "text": "Cisplatin."}\n')  # JSON Lines known by content
    assert main([*run, "--format", "pubtator"]) == 0
    assert [line for line in capsys.readouterr().out.splitlines() if "|t|" in line] == [
        "a|t|Aspirin.",
        "b|t|Cisplatin.",
    ]

    stdin('{"id": "a", "text": "Aspirin."}\n{"id": "b"}\n')  # a mistake is named where it is: standard input, line 2
    assert main([*run, "--output", str(tmp_path / "out.json")]) == 2
    assert capsys.readouterr().err.startswith("vaner predict: standard input:2: ")
    assert not (tmp_path / "out.json").exists()

    assert main([*run, "--output", f"{tmp_path}/shards/"]) == 2  # shards are cut from files
    assert "--input - (standard input) is one stream" in capsys.readouterr().err


def bioc_collection():
    """Two BioC documents: one with title and abstract passages, a document infon, an input annotation and a
    relation; one with a single passage."""
    from bioc import BioCAnnotation, BioCCollection, BioCDocument, BioCLocation, BioCPassage, BioCRelation

    collection, first = BioCCollection(), BioCDocument()
    first.id, first.infons["journal"] = "12345", "J <Tox> & Co"
    title, abstract = ABSTRACT.text[: ABSTRACT.title_length], ABSTRACT.text[ABSTRACT.title_length + 1 :]
    for kind, offset, text in (("title", 0, title), ("abstract", ABSTRACT.title_length + 1, abstract)):
        passage = BioCPassage.of_text(text, offset)
        passage.infons["type"] = kind
        first.add_passage(passage)
    given = BioCAnnotation()
    given.id, given.text, given.infons["type"] = "0", "rats", "Species"
    given.add_location(BioCLocation(28, 4))
    first.passages[0].add_annotation(given)
    relation = BioCRelation()
    relation.id, relation.infons["type"] = "R0", "Association"
    first.add_relation(relation)
    second = BioCDocument()
    second.id = "2"
    second.add_passage(BioCPassage.of_text("BRCA1 mutations cause breast cancer.", 0))
    collection.add_document(first)
    collection.add_document(second)
    return collection


def check_tagged_like(collection, tagged) -> None:
    """`tagged` keeps `collection`'s documents, passages, infons and relations; its annotations are the model's, each
    inside its passage at BioC document offsets."""
    assert [d.id for d in tagged.documents] == [d.id for d in collection.documents]
    for before, after in zip(collection.documents, tagged.documents, strict=True):
        assert after.infons == before.infons and [r.infons for r in after.relations] == [
            r.infons for r in before.relations
        ]
        assert [(p.offset, p.text, p.infons) for p in after.passages] == [
            (p.offset, p.text, p.infons) for p in before.passages
        ]
        annotations = [a for p in after.passages for a in p.annotations]
        assert annotations and all(a.id.startswith("T") and "score" in a.infons for a in annotations)
        for passage in after.passages:
            for annotation in passage.annotations:
                [location] = annotation.locations
                start = location.offset - passage.offset
                assert passage.text[start : start + location.length] == annotation.text


def test_bioc_xml_and_json_in_and_out(tiny_vaner_dir, tmp_path, capsys):
    from bioc import biocjson, biocxml

    collection = bioc_collection()
    (tmp_path / "in.xml").write_text(biocxml.dumps(collection))
    (tmp_path / "in.collection").write_text(biocjson.dumps(collection, indent=2))  # BioC JSON, known by its first line
    run = ["predict", "--model", str(tiny_vaner_dir), "--types", "Chemical,Disease"]
    assert main([*run, "--input", str(tmp_path / "in.xml"), "--format", "bioc-json"]) == 0
    check_tagged_like(collection, biocjson.loads(capsys.readouterr().out))
    assert (
        main([*run, "--input", str(tmp_path / "in.collection"), "--input-format", "auto", "--format", "bioc-xml"]) == 0
    )
    check_tagged_like(collection, biocxml.loads(capsys.readouterr().out))

    text = tmp_path / "in.jsonl"  # other inputs become title (and abstract) passages; ids are escaped, not injected
    text.write_text(json.dumps({"id": "<x>&</id>", "text": "Aspirin helps."}) + "\n")
    assert main([*run, "--input", str(text), "--format", "bioc-xml"]) == 0
    [document] = biocxml.loads(capsys.readouterr().out).documents
    assert (document.id, [(p.offset, p.text) for p in document.passages]) == ("<x>&</id>", [(0, "Aspirin helps.")])

    assert (
        main(
            [
                *run,
                "--input",
                str(tmp_path / "in.xml"),
                "--format",
                "bioc-xml",
                "--output",
                f"{tmp_path}/out/",
                "--shard-size",
                "1",
            ]
        )
        == 0
    )
    shards = sorted((tmp_path / "out").glob("*.bioc.xml"))
    assert [p.name for p in shards] == ["in.00000.bioc.xml", "in.00001.bioc.xml"]
    assert [biocxml.loads(p.read_text()).documents[0].id for p in shards] == ["12345", "2"]
    capsys.readouterr()

    (tmp_path / "bad.xml").write_text("<collection><document><id>1</id>\n<passage>\n</collection>\n")
    assert main([*run, "--input", str(tmp_path / "bad.xml")]) == 2
    assert capsys.readouterr().err.startswith(f"vaner predict: {tmp_path}/bad.xml:3: not BioC XML")


def test_predict_threshold_keeps_the_surer_mentions_and_is_checked_before_the_model_loads(tiny_vaner_dir, capsys):
    text = "Aspirin lowered the risk of breast cancer in BRCA1 carriers. Cisplatin hurt the kidneys of mice."
    run = ["predict", text, "--model", str(tiny_vaner_dir), "--types", "Chemical,Disease"]
    assert main(run) == 0
    every = json.loads(capsys.readouterr().out)["entities"]
    middle = sorted(entity["score"] for entity in every)[len(every) // 2]
    for spec, least in (
        (f"{middle}", dict.fromkeys(["Chemical", "Disease"], middle)),
        (f"Disease={middle}", {"Disease": middle}),
    ):
        assert main([*run, "--threshold", spec]) == 0
        kept = json.loads(capsys.readouterr().out)["entities"]
        assert kept == [e for e in every if round(e["score"], 6) >= round(least.get(e["type"], 0), 6)]
        assert 0 < len(kept) < len(every)
    assert main([*run, "--threshold", "Gene!=0.5"]) == 2
    assert "vaner predict: --threshold: threshold for unknown entity type(s) 'Gene!'" in capsys.readouterr().err
    for wrong in ("2", "Gene", "=0.5"):
        with pytest.raises(SystemExit):
            main([*run, "--threshold", wrong])
        assert "argument --threshold" in capsys.readouterr().err


def test_a_max_length_the_instruction_fills_is_refused_before_the_model_loads(tiny_vaner_dir, monkeypatch, capsys):
    from modeling_vaner.bulk.job import TaggingOptions

    def load(*args, **kwargs):
        raise AssertionError("the model loaded")

    monkeypatch.setattr(TaggingOptions, "load", load)
    run = ["predict", "Aspirin helps.", "--model", str(tiny_vaner_dir), "--types", "Chemical", "--max-length"]
    assert main([*run, "5"]) == 2
    said = capsys.readouterr().err.strip()
    assert said.startswith("vaner predict: --max-length 5: the instruction alone takes ") and "Traceback" not in said
    least = int(said.split("give at least ")[1].split()[0])
    with pytest.raises(AssertionError, match="the model loaded"):  # one token of room is enough to go on
        main([*run, str(least)])


def test_a_pubtator_mention_holding_a_or_t_between_bars_stays_an_annotation(tmp_path):
    title = "Compound x|a|y and z|t|w kill cells."
    path = tmp_path / "bars.pubtator"
    path.write_text(f"7|t|{title}\n7|a|\n7\t9\t14\tx|a|y\tChemical\n7\t19\t24\tz|t|w\tChemical\n\n")
    [document] = read_documents(path)
    assert [(e["start"], e["end"], e["text"]) for e in document.entities] == [(9, 14, "x|a|y"), (19, 24, "z|t|w")]
    assert (document.text, document.title_length) == (title + " ", len(title))
    (tmp_path / "again.pubtator").write_text(pubtator_block(document))  # written, then read back the same
    [again] = read_documents(tmp_path / "again.pubtator")
    assert again.entities == document.entities


def test_predict_names_a_bad_annotation_before_any_work(tiny_vaner_dir, tmp_path, capsys, monkeypatch):
    import modeling_vaner

    monkeypatch.setattr(modeling_vaner, "load_vaner", lambda *a, **k: pytest.fail("the model was loaded"))
    path = tmp_path / "in.txt"
    path.write_text("7|t|Aspirin\n7|a|x\n7\t0\t70\tAspirin\tChemical\n\n")
    assert main(["predict", "--model", str(tiny_vaner_dir), "--input", str(path)]) == 2
    assert "in.txt:3: annotation 0-70 lies outside" in capsys.readouterr().err


def test_json_lines_are_read_as_json_and_three_column_conll_is_refused(tiny_vaner_dir, tmp_path, capsys):
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


def test_predict_asks_every_type_in_one_pass(per_type_run, tmp_path):
    source = tmp_path / "in.txt"
    source.write_text(TWO_SENTENCES + "\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "modeling_vaner.commands.cli",
            "predict",
            "--model",
            str(per_type_run[0] / "final"),
            "--input",
            str(source),
            "--output",
            str(tmp_path / "out.jsonl"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    [record] = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert {e["type"] for e in record["entities"]} == {"Chemical", "Disease", "Species"}
