"""DBR items (`dbr.py`): dictionary rows built from knowledge-base names and gold mentions, by the type rule."""

import random

from modeling_vaner.dbr import EntityDictionary


def test_dbr_items_follow_the_type_rule():
    dictionary = EntityDictionary()
    for name in ["aspirin", "cis platin", "ibuprofen"]:
        dictionary.add(name.split(), "Chemical")
    for name in ["breast cancer", "asthma"]:
        dictionary.add(name.split(), "Disease")
    dictionary.add(["BRCA1"], "Gene")
    dictionary.add(["aspirin"], "Disease")  # ambiguous: never a negative for Chemical
    rng = random.Random(0)
    for _ in range(200):
        words, tags = dictionary.sample_item(rng, "Chemical", max_same=10, max_other=5)
        mentions, current = [], None
        for word, tag in zip(words, tags):
            if tag == "B":
                current = [word]
                mentions.append(current)
            elif tag == "I":
                current.append(word)
        assert 1 <= len(mentions) <= 3
        assert all(tuple(m) in {("aspirin",), ("cis", "platin"), ("ibuprofen",)} for m in mentions)
        outside = " ".join(w if t == "O" else "|" for w, t in zip(words, tags))
        assert (
            "BRCA1" in outside
            or "cancer" in outside
            or "asthma" in outside
            or len(mentions) == len([w for w in words if w == ","]) + 1
        )
        assert "aspirin" not in outside.split()


def test_kb_and_gold_mentions_fill_the_dictionary(tmp_path):
    kb = tmp_path / "kb.tsv"
    kb.write_text("name\ttype\tsource_id\nIL-2\tGene/Protein\tHGNC:1\nmalaria\tDisease\tD:1\nfoo\tPathway\tX\n")
    dictionary = EntityDictionary()
    dictionary.add_kb_file(kb)
    dictionary.add_gold_mentions(["the", "BRCA1", "gene", "p53"], ["O", "B", "O", "B"], "Gene")
    assert sorted(dictionary.names["Gene"]) == [("BRCA1",), ("IL", "-", "2"), ("p53",)]
    assert dictionary.names["Disease"] == [("malaria",)] and "Pathway" not in dictionary.names
