"""spaCy (`spacy_component.py`): `nlp.add_pipe("vaner")` sets `doc.ents` with their types, scores and linked ids."""

import json

import pytest

from tests.conftest import TEXT, run_python

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
