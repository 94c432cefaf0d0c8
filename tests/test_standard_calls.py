"""A Hub user's standard calls give VANER's answers (issue 24): Auto classes and the standard pipeline on the
shipped folder, offline; a saved model reloads every way; errors that say what to do instead of network retries."""

import json
import subprocess
import sys

import pytest
import torch

from modeling_vaner.loading import DEFAULT_MODEL_DIR
from tests.conftest import REPO_ROOT, run_python

TEXT = "Aspirin lowered the risk of breast cancer in BRCA1 carriers, unlike Escherichia coli infection."

STANDARD_CALLS = """
import json, os, sys
sys.path = [p for p in sys.path if p not in ('', {root!r})]
os.chdir({elsewhere!r})
import torch
from transformers import AutoModel, AutoModelForTokenClassification, AutoTokenizer, pipeline
folder = {folder!r}
tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=True)
model = AutoModelForTokenClassification.from_pretrained(folder, trust_remote_code=True).eval()
decoder = AutoModel.from_pretrained(folder, trust_remote_code=True).eval()
ids = torch.tensor([tokenizer({text!r})["input_ids"]])
with torch.no_grad():
    logits = model(ids).logits
    hidden = decoder(ids).last_hidden_state
    same_decoder = bool(torch.allclose(hidden, model.model(ids).last_hidden_state, atol=1e-5))
ner = pipeline("token-classification", model=folder, trust_remote_code=True, aggregation_strategy="simple")
print(json.dumps({{"entities": ner({text!r}), "logits": logits[0, :5].tolist(), "same_decoder": same_decoder,
                  "package_imported": "modeling_vaner" in sys.modules}}))
"""


def standard_calls(folder, tmp_path, **env) -> dict:
    code = STANDARD_CALLS.format(root=str(REPO_ROOT), elsewhere=str(tmp_path), folder=str(folder), text=TEXT)
    return json.loads(
        run_python(code, env={"HF_HUB_OFFLINE": "1", "HF_MODULES_CACHE": str(tmp_path / "modules"), **env})
    )


@pytest.mark.backbone
def test_the_shipped_folder_answers_the_auto_classes_and_the_standard_pipeline_offline(tmp_path, smollm2_dir):
    from modeling_vaner import VanerTagger, load_vaner

    out = standard_calls(DEFAULT_MODEL_DIR, tmp_path)
    model, tokenizer = load_vaner()
    expected = VanerTagger(model, tokenizer)(TEXT)[0]  # what `vaner predict` answers
    assert not out["package_imported"] and out["same_decoder"]
    assert [(e["entity_group"], e["start"], e["end"], e["word"]) for e in out["entities"]] == [
        (e["type"], e["start"], e["end"], e["text"]) for e in expected
    ]
    assert all(abs(a["score"] - b["score"]) < 1e-4 for a, b in zip(out["entities"], expected))
    assert {("Chemical", "Aspirin"), ("Gene", "BRCA1"), ("Species", "Escherichia coli")} <= {
        (e["entity_group"], e["word"]) for e in out["entities"]
    }


def test_without_its_backbone_the_shipped_folder_says_to_run_vaner_backbone(tmp_path):
    code = f"""
import sys
sys.path = [p for p in sys.path if p not in ('', {str(REPO_ROOT)!r})]
from transformers import AutoModelForTokenClassification
AutoModelForTokenClassification.from_pretrained({str(DEFAULT_MODEL_DIR)!r}, trust_remote_code=True)
"""
    # The Hub is unreachable (a closed port) and the cache empty: the answer must come at once, from the config.
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        check=False,
        text=True,
        cwd=tmp_path,
        timeout=120,
        env={
            "PATH": "/usr/bin:/bin",
            "HOME": str(tmp_path),
            "VANER_CACHE": str(tmp_path / "c"),
            "HF_HOME": str(tmp_path / "hf"),
            "HF_ENDPOINT": "http://127.0.0.1:9",
        },
    )
    assert result.returncode != 0
    assert "run `vaner backbone` once" in result.stderr and "Retrying" not in result.stderr, result.stderr[-2000:]


@pytest.mark.backbone
def test_a_saved_default_model_reloads_every_way_with_the_same_logits(tmp_path, smollm2_dir):
    from modeling_vaner import load_vaner, save_vaner

    model, tokenizer = load_vaner()
    ids = torch.tensor([tokenizer(TEXT)["input_ids"]])
    with torch.no_grad():
        expected = model(ids).logits[0, :5]
    save_vaner(model, tokenizer, tmp_path / "saved")
    config = json.loads((tmp_path / "saved" / "config.json").read_text())
    assert config["adapter_subfolder"] is None and set(config["custom_pipelines"]) == {
        "token-classification",
        "ner",
        "vaner-ner",
    }
    reloaded, _ = load_vaner(tmp_path / "saved")
    with torch.no_grad():
        assert torch.allclose(reloaded(ids).logits[0, :5], expected, atol=1e-5)
    out = standard_calls(tmp_path / "saved", tmp_path)
    assert torch.allclose(torch.tensor(out["logits"]), expected, atol=1e-4)
    assert {(e["entity_group"], e["word"]) for e in out["entities"]} >= {("Chemical", "Aspirin")}


def test_the_pipeline_refuses_what_it_does_not_know(tiny_vaner_dir):
    from transformers import pipeline

    ner = pipeline("vaner-ner", model=str(tiny_vaner_dir), trust_remote_code=True)
    assert ner._batch_size == 4  # the measured default (benchmarks/results/pipeline_batch.json)
    for strategy in ("none", "simple", "first", "average", "max"):  # all accepted: the same word-level mentions
        assert ner("Aspirin causes cancer.", aggregation_strategy=strategy) == ner("Aspirin causes cancer.")
    with pytest.raises(TypeError, match="'entity_type'"):
        ner("Aspirin causes cancer.", entity_type="Gene")
    with pytest.raises(ValueError, match="aggregation_strategy 'word'"):
        ner("Aspirin causes cancer.", aggregation_strategy="word")


# --- `datasets` corpora and typed folders in `vaner eval`; the metric on ClassLabel ids ----------------------------

NAMES = ["O", "B-Chemical", "I-Chemical", "B-Disease", "I-Disease"]
SENTENCE = (["Cisplatin", "causes", "renal", "failure", "."], [1, 0, 3, 4, 0])


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


def test_the_metric_reads_classlabel_ids_from_any_folder(tmp_path):
    from harness.runner import METRIC_PATH

    code = f"""
import evaluate, json
metric = evaluate.load({str(METRIC_PATH)!r})
names = {NAMES!r}
ids = metric.compute(predictions=[[1, 0, 3, 4, 0]], references=[[1, 0, 3, 0, 0]], label_names=names)
text = metric.compute(predictions=[[names[i] for i in [1, 0, 3, 4, 0]]],
                      references=[[names[i] for i in [1, 0, 3, 0, 0]]])
try:
    metric.compute(predictions=[[1]], references=[[1]])
    missing = "accepted"
except ValueError as error:
    missing = str(error)
print(json.dumps({{"ids": ids["f1"], "text": text["f1"], "per_type": ids["per_type"]["Chemical"]["f1"],
                  "missing": missing}}))
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, check=False, text=True, cwd=tmp_path, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = json.loads(result.stdout.splitlines()[-1])
    assert out["ids"] == out["text"] == 0.5 and out["per_type"] == 1.0
    assert "pass label_names" in out["missing"]


# --- spaCy: nlp.add_pipe("vaner") -------------------------------------------------------------------------------------

SPACY = """
import json, sys
import spacy
nlp = spacy.blank("en")
nlp.add_pipe("vaner", config={config})  # found through the spacy_factories entry point: nothing imported by hand
doc = nlp({text!r})
docs = list(nlp.pipe([{text!r}, "No entities here at all"]))
print(json.dumps({{"ents": [[e.text, e.label_, e.start_char, e.end_char, e.kb_id_, e._.vaner_score] for e in doc.ents],
                  "spans": [[s.label_, s.start_char, s.end_char] for s in doc.spans["vaner"]],
                  "links": [[s._.vaner_ids, s._.vaner_name, s._.vaner_link_score] for s in doc.spans["vaner"]],
                  "piped": [[e.label_ for e in d.ents] for d in docs]}}))
"""


def spacy_run(config: dict, tmp_path) -> dict:
    return json.loads(run_python(SPACY.format(config=repr(config), text=TEXT)).splitlines()[-1])


@pytest.mark.backbone
def test_a_spacy_pipeline_sets_doc_ents_with_the_four_types_and_their_ids(tmp_path, smollm2_dir):
    from modeling_vaner import VanerTagger, load_vaner
    from modeling_vaner.linking import Linker

    out = spacy_run({"link": True}, tmp_path)
    expected = VanerTagger(*load_vaner())(TEXT)[0]
    Linker.load().link(TEXT, expected)
    assert [tuple(span) for span in out["spans"]] == [(e["type"], e["start"], e["end"]) for e in expected]
    assert out["links"] == [[e["ids"], e["name"], e["link_score"]] for e in expected]  # what predict --link gives
    assert ["HGNC:1100"] in [ids for ids, _, _ in out["links"]]
    ents = {(text, label, start, end): kb for text, label, start, end, kb, _ in out["ents"]}
    assert {("Aspirin", "Chemical", 0, 7), ("breast cancer", "Disease", 28, 41), ("BRCA1", "Gene", 45, 50)} <= set(ents)
    assert ents[("Aspirin", "Chemical", 0, 7)] == "MESH:D001241" and ents[("BRCA1", "Gene", 45, 50)] == "HGNC:1100"
    # Escherichia coli (Species) and Escherichia coli infection (Disease) overlap: both in spans, one in ents.
    assert ("Species", 68, 84) in map(tuple, out["spans"]) and ("Disease", 68, 94) in map(tuple, out["spans"])
    assert len([e for e in out["ents"] if e[2] >= 68]) == 1
    assert out["piped"][0] == [e[1] for e in out["ents"]] and out["piped"][1] == []


def test_the_spacy_component_takes_a_models_folder_and_types(tiny_vaner_dir, tmp_path):
    from modeling_vaner import VanerTagger, load_vaner

    out = spacy_run({"model": str(tiny_vaner_dir), "entity_types": ["Chemical"]}, tmp_path)
    expected = VanerTagger(*load_vaner(tiny_vaner_dir))(TEXT, entity_types=["Chemical"])[0]
    assert [tuple(span) for span in out["spans"]] == [("Chemical", e["start"], e["end"]) for e in expected]
    assert expected and all(abs(e[5] - x["score"]) < 1e-6 for e, x in zip(out["ents"], expected))


def test_the_spacy_component_keeps_the_mentions_its_threshold_allows(tiny_vaner_dir, tmp_path):
    from modeling_vaner import VanerTagger, load_vaner

    every = VanerTagger(*load_vaner(tiny_vaner_dir))(TEXT, entity_types=["Chemical", "Disease"])[0]
    middle = sorted(entity["score"] for entity in every)[len(every) // 2]
    config = {"model": str(tiny_vaner_dir), "entity_types": ["Chemical", "Disease"], "threshold": {"Disease": middle}}
    expected = [e for e in every if e["type"] != "Disease" or e["score"] >= middle]
    assert 0 < len(expected) < len(every)
    assert [tuple(span) for span in spacy_run(config, tmp_path)["spans"]] == [
        (e["type"], e["start"], e["end"]) for e in expected
    ]


def test_a_known_corpus_given_by_its_folder_is_that_corpus():
    from modeling_vaner.corpora import corpus_names, data_root

    folder = str(data_root() / "NCBI-disease")
    assert corpus_names(folder) == corpus_names(f"{folder}:Disease") == ["NCBI-disease"]


def test_a_plain_save_pretrained_of_model_and_tokenizer_stays_vaners_pipeline(tiny_vaner, tmp_path):
    """`model.save_pretrained(d)` + `tokenizer.save_pretrained(d)`, then `pipeline(d)` elsewhere, offline and without
    the package: the remote code travels with the model, so the folder is VANER's pipeline, typed entities and all."""
    model, tokenizer = tiny_vaner
    folder = tmp_path / "saved"
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    code = f"""
import json, os, sys
sys.path = [p for p in sys.path if p not in ('', {str(REPO_ROOT)!r})]
sys.modules["modeling_vaner"] = None
os.chdir({str(tmp_path)!r})
from transformers import pipeline
ner = pipeline("token-classification", model={str(folder)!r}, trust_remote_code=True)
print(json.dumps(ner({TEXT!r}, entity_types=["Chemical", "Disease"])))
"""
    entities = json.loads(run_python(code, env={"HF_HUB_OFFLINE": "1", "HF_MODULES_CACHE": str(tmp_path / "m")}))
    assert entities and {e["entity_group"] for e in entities} <= {"Chemical", "Disease"}
    assert all(TEXT[e["start"] : e["end"]] == e["word"] for e in entities)


def test_the_spacy_component_keeps_the_entities_a_doc_already_had_where_ours_do_not_overlap(tiny_vaner_dir):
    import spacy

    from modeling_vaner.spacy_component import VanerComponent, set_entities

    nlp = spacy.blank("en")
    doc = nlp("Aspirin was given in Boston and in London.")
    doc.ents = [doc.char_span(21, 27, label="GPE"), doc.char_span(35, 41, label="GPE")]
    ours = [
        {"start": 0, "end": 7, "type": "Chemical", "score": 0.9},
        {"start": 35, "end": 41, "type": "Disease", "score": 0.6},
    ]
    set_entities(doc, ours, "vaner")
    assert [(e.label_, e.text) for e in doc.ents] == [("Chemical", "Aspirin"), ("GPE", "Boston"), ("Disease", "London")]
    with pytest.raises(ValueError, match="batch_size must be a whole number of at least 1, got 0"):
        VanerComponent(str(tiny_vaner_dir), batch_size=0)


def test_a_datasets_corpus_with_an_empty_token_is_named_not_scored(tmp_path):
    import datasets

    from modeling_vaner.corpora import CorpusError, corpus_names, load_corpus

    features = datasets.Features(
        {
            "tokens": datasets.Sequence(datasets.Value("string")),
            "ner_tags": datasets.Sequence(datasets.ClassLabel(names=NAMES)),
        }
    )
    tokens = [list(SENTENCE[0]), [*SENTENCE[0][:2], "", *SENTENCE[0][3:]]]
    split = datasets.Dataset.from_dict({"tokens": tokens, "ner_tags": [SENTENCE[1]] * 2}, features=features)
    datasets.DatasetDict({"test": split}).save_to_disk(str(tmp_path / "hf"))
    with pytest.raises(CorpusError, match=r"\[test\] sentence 2: a token is empty or holds white space"):
        for name in corpus_names(str(tmp_path / "hf")):
            load_corpus(name, "test")


def test_a_datasets_corpus_with_one_label_per_sentence_is_named_not_a_traceback(tmp_path):
    import datasets

    from modeling_vaner.corpora import CorpusError, get_corpus, load_corpus

    features = datasets.Features(
        {"tokens": datasets.Sequence(datasets.Value("string")), "ner_tags": datasets.ClassLabel(names=NAMES)}
    )
    split = datasets.Dataset.from_dict({"tokens": [SENTENCE[0]], "ner_tags": [1]}, features=features)
    datasets.DatasetDict({"test": split}).save_to_disk(str(tmp_path / "hf"))
    with pytest.raises(CorpusError, match=r"\[test\]: ner_tags must be a list of ClassLabel ids .* one per token"):
        load_corpus(get_corpus(f"{tmp_path / 'hf'}:Chemical").name, "test")


MODEL_OBJECT = """
import itertools, json, os, sys
sys.path = [p for p in sys.path if p not in ('', {root!r})]
os.chdir({elsewhere!r})
import datasets, torch
from transformers import AutoModelForTokenClassification, AutoTokenizer, LlamaConfig, LlamaForTokenClassification
from transformers import pipeline
from transformers.pipelines import TokenClassificationPipeline
from transformers.pipelines.pt_utils import KeyDataset
tokenizer = AutoTokenizer.from_pretrained({folder!r}, trust_remote_code=True)
model = AutoModelForTokenClassification.from_pretrained({folder!r}, trust_remote_code=True)  # the remote code
out = {{}}
for task in ("ner", "token-classification", "vaner-ner"):
    ner = pipeline(task, model=model, tokenizer=tokenizer)
    out[task] = [type(ner).__name__, ner({text!r}, entity_types=["Chemical", "Disease"])]
def endless():  # a generator streams: three answers come from a text stream that never ends
    while True:
        yield {text!r}
out["streamed"] = len(list(itertools.islice(ner(endless(), entity_types=["Chemical"]), 3)))
texts = datasets.Dataset.from_dict({{"text": [{text!r}, "Mice."]}})
out["key_dataset"] = [len(entities) for entities in ner(KeyDataset(texts, "text"), entity_types=["Chemical"])]
plain = LlamaForTokenClassification(LlamaConfig(vocab_size=len(tokenizer), hidden_size=16, intermediate_size=32,
                                                num_hidden_layers=1, num_attention_heads=2, num_labels=3))
other = pipeline("ner", model=plain, tokenizer=tokenizer)  # any other model: the standard pipeline
out["other"] = [isinstance(other, TokenClassificationPipeline), type(other).__name__]
out["package_imported"] = "modeling_vaner" in sys.modules
print(json.dumps(out))
"""


def test_a_vaner_model_object_gets_vaners_pipeline_for_the_standard_tasks_and_streams(
    tiny_vaner, tiny_vaner_dir, tmp_path
):
    from modeling_vaner import VanerTagger

    code = MODEL_OBJECT.format(root=str(REPO_ROOT), elsewhere=str(tmp_path), folder=str(tiny_vaner_dir), text=TEXT)
    said = run_python(code, env={"HF_HUB_OFFLINE": "1", "HF_MODULES_CACHE": str(tmp_path / "m")})
    out = json.loads(said.splitlines()[-1])
    expected = VanerTagger(*tiny_vaner)(TEXT, entity_types=["Chemical", "Disease"])[0]
    for task in ("ner", "token-classification", "vaner-ner"):
        name, entities = out[task]
        assert name == "VanerNERPipeline" and entities, task
        assert [(e["type"], e["start"], e["end"]) for e in entities] == [
            (e["type"], e["start"], e["end"]) for e in expected
        ]
    chemicals = sum(e["type"] == "Chemical" for e in expected)
    assert out["streamed"] == 3 and out["key_dataset"][0] == chemicals and len(out["key_dataset"]) == 2
    assert out["other"][0] and out["other"][1] != "VanerNERPipeline" and not out["package_imported"]
