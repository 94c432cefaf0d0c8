"""The inference path: words, sentences, windows, multi-type batching, spans with offsets."""

import json
from itertools import pairwise

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modeling_vaner import VanerTagger
from modeling_vaner.loading import load_vaner, resolve_device, resolve_dtype
from modeling_vaner.processing_vaner import (
    Request,
    RequestEncoder,
    core_budget,
    decode_spans,
    plan_windows,
    repair_bio,
    split_sentences,
    split_words,
    tidy_span,
    tidy_tags,
)
from tests.conftest import REPO_ROOT, TEXT, per_type_model, run_python

BIOMEDICAL_TEXT = st.text(
    alphabet=st.one_of(
        st.sampled_from(list("()[]{}-–—/+,;:.%'\"αβγμ±×→·")),
        st.characters(blacklist_categories=("Cs",)),
        st.sampled_from([" ", " ", "\t", "\n", "\u00a0"]),
    ),
    max_size=300,
)


def test_words_follow_the_corpora_convention():
    text = "IL-2 (alpha) and 3beta-HSD, e.g. Na+/K+-ATPase; 12.5% p<0.05."
    words = [text[s:e] for s, e in split_words(text)]
    assert words == [
        "IL",
        "-",
        "2",
        "(",
        "alpha",
        ")",
        "and",
        "3beta",
        "-",
        "HSD",
        ",",
        "e",
        ".",
        "g",
        ".",
        "Na",
        "+",
        "/",
        "K",
        "+",
        "-",
        "ATPase",
        ";",
        "12",
        ".",
        "5",
        "%",
        "p",
        "<",
        "0",
        ".",
        "05",
        ".",
    ]


@given(BIOMEDICAL_TEXT)
def test_words_cover_every_visible_character_once(text):
    spans = split_words(text)
    covered = "".join(text[s:e] for s, e in spans)
    assert covered == "".join(text.split())
    assert all(s < e and not text[s:e].isspace() for s, e in spans)
    assert all(a[1] <= b[0] for a, b in pairwise(spans))


def test_sentences_split_at_full_stops_but_not_abbreviations():
    text = "BRCA1 was mutated (Smith et al. 2001). Patients, e.g. carriers, were seen. Dr. Jones agreed! 5 died."
    words = split_words(text)
    sentences = [" ".join(text[s:e] for s, e in words[a:b]) for a, b in split_sentences(text, words)]
    assert sentences == [
        "BRCA1 was mutated ( Smith et al . 2001 ) .",
        "Patients , e . g . carriers , were seen .",
        "Dr . Jones agreed !",
        "5 died .",
    ]


@given(st.lists(st.integers(0, 40), max_size=200), st.integers(1, 120), st.one_of(st.none(), st.integers(0, 40)))
def test_windows_label_every_word_exactly_once_within_budget(piece_counts, budget, context):
    windows = plan_windows(piece_counts, budget, context)
    cores = [i for w in windows for i in range(w.core_start, w.core_end)]
    assert cores == list(range(len(piece_counts)))
    longest = core_budget(budget, context)
    for w in windows:
        assert w.start <= w.core_start < w.core_end <= w.end
        assert sum(min(max(c, 1), longest) for c in piece_counts[w.start : w.end]) <= budget


def test_windows_keep_context_on_both_sides():
    windows = plan_windows([1] * 100, budget=40, context=10)
    middle = windows[len(windows) // 2]
    assert middle.core_start - middle.start == 10 and middle.end - middle.core_end == 10


class PieceTokenizer:
    """Words `sentence:count:index` become `count` tokens `100 + sentence`; anything else is the prompt."""

    def __init__(self, prompt):
        self.prompt = prompt

    def __call__(self, texts, add_special_tokens=True):
        if isinstance(texts, str):
            return {"input_ids": list(self.prompt)}
        return {"input_ids": [[100 + int(text.split(":")[0])] * int(text.split(":")[1]) for text in texts]}


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.integers(1, 6), min_size=1, max_size=30), min_size=1, max_size=12), st.integers(10, 80))
def test_packing_keeps_sentences_whole_in_order_and_within_budget(piece_counts, pack_tokens):
    prompt = [7, 7, 7]
    requests = [
        Request([f"{s}:{count}:{w}" for w, count in enumerate(counts)], "instruction")
        for s, counts in enumerate(piece_counts)
    ]
    rows = RequestEncoder(PieceTokenizer(prompt), max_length=len(prompt) + 80, pack_tokens=pack_tokens).encode(requests)
    inputs = [(row.input_ids, [(seg.request, seg.first_word, seg.positions) for seg in row.segments]) for row in rows]
    labelled = []  # (sentence, word) in the order the inputs hold them
    for input_ids, segments in inputs:
        assert input_ids[: len(prompt)] == prompt
        for sentence, first, positions in segments:
            for offset, position in enumerate(positions):
                labelled.append((sentence, first + offset))
                assert input_ids[position] == 100 + sentence  # each word's first sub-token
    # every word exactly once, sentences in order
    assert labelled == [(s, w) for s, counts in enumerate(piece_counts) for w in range(len(counts))]
    fits = [len(prompt) + sum(counts) <= pack_tokens for counts in piece_counts]
    for (input_ids, segments), (_, next_segments) in zip(inputs, inputs[1:] + [([], [(None, 0, [])])]):
        indices = [sentence for sentence, _, _ in segments]
        assert indices == list(range(indices[0], indices[0] + len(indices)))
        if fits[indices[0]]:
            assert len(input_ids) <= pack_tokens
            following = next_segments[0][0]
            if following is not None and following != indices[0] and fits[following]:  # greedy: it did not fit
                assert len(input_ids) + sum(piece_counts[following]) > pack_tokens
        else:  # a sentence that does not fit alone is windowed, never packed with another
            assert len(set(indices)) == 1


def test_packed_tagging_reads_each_sentence_where_it_sits(tiny_vaner):
    # A stand-in forward whose label is a function of the token at the position read: packed and unpacked inputs
    # must then give the same tags, word for word, wherever a sentence lands in a packed input.
    texts = [
        "Aspirin lowered the risk. Cancer was rare in BRCA1 carriers. Mice were fine. " * 3,
        "Cisplatin-induced nephrotoxicity in mice. It was mild.",
    ]

    def by_token(tagger):
        def forward(sequences, positions):
            table = [[0.7, 0.2, 0.1], [0.1, 0.7, 0.2], [0.2, 0.1, 0.7]]
            return torch.tensor([table[sequence[p] % 3] for sequence, row in zip(sequences, positions) for p in row])

        tagger._forward = forward
        return tagger

    unpacked = by_token(VanerTagger(*tiny_vaner, pack_tokens=0))
    packed = by_token(VanerTagger(*tiny_vaner, pack_tokens=48))
    assert packed(texts) == unpacked(texts) and sum(map(len, unpacked(texts))) > 0
    requests = [
        Request(["Aspirin", "lowered", "it", "."], packed.config.instruction("Chemical"), document)
        for document in [0, 0, 0, 1, 1, 1]
    ]
    rows = packed.encoder.encode(requests)
    assert [[segment.request for segment in row.segments] for row in rows] == [[0, 1, 2], [3, 4, 5]]  # texts apart
    assert len(unpacked.encoder.encode(requests)) == 6
    with pytest.raises(ValueError, match="pack_tokens .600. exceeds max_length .512."):
        VanerTagger(*tiny_vaner, pack_tokens=600)


def test_the_tagger_asks_at_the_length_the_model_was_trained_at(tiny_vaner):
    model, tokenizer = tiny_vaner
    assert VanerTagger(model, tokenizer).max_length == 512  # a model that records no length
    model.config.max_length = 40
    try:
        tagger = VanerTagger(model, tokenizer)
        long_sentence = (["fever"] * 60, model.config.instruction("Disease"))
        assert tagger.max_length == 40 and VanerTagger(model, tokenizer, max_length=128).max_length == 128
        assert all(len(row.input_ids) <= 40 for row in tagger.encoder.encode([Request(*long_sentence)]))
    finally:
        model.config.max_length = None


def test_bio_repair_and_span_decoding():
    assert repair_bio(["I", "I", "O", "I", "B", "I"]) == ["B", "I", "O", "B", "B", "I"]
    assert decode_spans(["B", "I", "O", "B", "B"], [0.9, 0.7, 0.1, 0.6, 0.5]) == [
        (0, 2, pytest.approx(0.8)),
        (3, 4, 0.6),
        (4, 5, 0.5),
    ]


@pytest.mark.parametrize(
    "mention, kept",
    [
        ("IL-8)", "IL-8"),
        ("aldolase B (", "aldolase B"),
        ("(IL-8", "IL-8"),
        ("IL-8).", "IL-8"),
        ("(IL-8)", "(IL-8)"),
        ("tumor necrosis factor (TNF)", "tumor necrosis factor (TNF)"),
        ("colorectal cancer,", "colorectal cancer"),
        ("Streptococcus ursoris sp. nov.", "Streptococcus ursoris sp. nov."),
        ("Parus major L.", "Parus major L."),
        ("NO.", "NO"),
        ("[3H]triamcinolone", "[3H]triamcinolone"),
        ("TNF)-alpha", "TNF)-alpha"),  # an unbalanced bracket inside a mention is not a boundary
        (").", ""),
    ],
)
def test_mention_boundaries_are_drawn_as_the_corpora_draw_them(mention, kept):
    words = [mention[start:end] for start, end in split_words(mention)]
    first, end = tidy_span(words, 0, len(words))
    assert "".join(words[first:end]) == kept.replace(" ", "")
    tidied = tidy_tags(["x", *words, "y"], ["O", "B", *["I"] * (len(words) - 1), "O"])  # the same, as tags
    expected = ["O"] * (len(words) + 2)
    if first < end:
        expected[first + 1 : end + 1] = ["B"] + ["I"] * (end - first - 1)
    assert tidied == expected


def test_the_tagger_draws_boundaries_as_the_scorer_does_and_can_keep_them_as_drawn(tiny_vaner):
    from harness.documents import tidied
    from modeling_vaner.formats import Document

    text = "IL-8) and aldolase B (ALDOB) rose, as did NO. in (TNF)-treated mice [3]; see Fig. 2)."
    [as_drawn] = VanerTagger(*tiny_vaner, tidy_mentions=False)(text)
    [tidy] = VanerTagger(*tiny_vaner)(text)
    document = Document("1", text, words=split_words(text))

    def by_type(entities):
        return [(0, e["start"], e["end"], e["type"]) for e in entities]

    assert by_type(tidy) == sorted(tidied(document, by_type(as_drawn)), key=lambda m: (m[1], m[2], m[3]))
    assert by_type(tidy) != by_type(as_drawn)  # the random model draws some mentions the rule trims


def test_empty_and_blank_text_give_no_entities(tiny_vaner):
    tagger = VanerTagger(*tiny_vaner)
    assert tagger(["", "   \n\t "]) == [[], []]


def test_unknown_type_and_dataset_are_clear_errors(tiny_vaner):
    tagger = VanerTagger(*tiny_vaner)
    with pytest.raises(ValueError, match="Unknown entity type 'Protein'.*Chemical, Disease, Gene, Species"):
        tagger("text", entity_types=["Protein"])
    with pytest.raises(ValueError, match="Unknown dataset 'GENIA'"):
        tagger("text", dataset="GENIA")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=BIOMEDICAL_TEXT, max_length=st.sampled_from([24, 40, 512]))
def test_spans_are_exact_and_disjoint_per_type(tiny_vaner, text, max_length):
    tagger = VanerTagger(*tiny_vaner, max_length=max_length)
    [entities] = tagger(text)
    word_starts = {s for s, _ in split_words(text)}
    word_ends = {e for _, e in split_words(text)}
    for entity in entities:
        assert entity["text"] == text[entity["start"] : entity["end"]]
        assert entity["start"] in word_starts and entity["end"] in word_ends
        assert 0.0 < entity["score"] <= 1.0
    for entity_type in {e["type"] for e in entities}:
        spans = sorted((e["start"], e["end"]) for e in entities if e["type"] == entity_type)
        assert all(a[1] <= b[0] for a, b in pairwise(spans))


def test_every_word_of_a_long_sentence_is_labelled_once(tiny_vaner):
    words = [f"w{i}" for i in range(600)]
    tagger = VanerTagger(*tiny_vaner, max_length=64)
    [(tags, scores)] = tagger.tag_words([(words, tagger.config.instruction("Gene"))])
    assert len(tags) == len(scores) == 600
    assert set(tags) <= {"B", "I", "O"} and tags[0] != "I"
    assert all(0 < s <= 1 for s in scores)


def test_a_10000_word_document_is_tagged_without_dropping_words(tiny_vaner):
    text = " ".join(f"gene{i % 97}" + (" ." if i % 25 == 24 else "") for i in range(10_000))
    tagger = VanerTagger(*tiny_vaner, max_length=128)
    calls = []
    original = tagger._forward
    tagger._forward = lambda sequences, positions: (
        calls.append(sum(map(len, positions))) or original(sequences, positions)
    )
    [entities] = tagger(text, entity_types=["Gene"], batch_size=64)
    assert sum(calls) == len(split_words(text))  # each word's label position is read exactly once
    assert all(e["text"] == text[e["start"] : e["end"]] for e in entities)


def test_several_types_in_one_batch_equal_one_type_at_a_time(tiny_vaner):
    tagger = VanerTagger(*tiny_vaner)
    texts = [
        "Aspirin lowered the risk of breast cancer in BRCA1 carriers. Escherichia coli was absent.",
        "Cisplatin-induced nephrotoxicity in mice.",
    ]
    together = tagger(texts, dataset="NCBI-disease", batch_size=5)
    separate = [[] for _ in texts]
    for entity_type in tagger.config.entity_types:
        for i, entities in enumerate(tagger(texts, entity_types=[entity_type], dataset="NCBI-disease")):
            separate[i].extend(entities)
    for a, b in zip(together, separate):
        b.sort(key=lambda e: (e["start"], e["end"], e["type"]))
        assert [(e["start"], e["end"], e["type"]) for e in a] == [(e["start"], e["end"], e["type"]) for e in b]
        assert all(abs(x["score"] - y["score"]) < 1e-5 for x, y in zip(a, b))
    assert sum(map(len, together)) > 0


def test_hub_pipeline_in_a_fresh_process_matches_the_python_api(tiny_vaner, tiny_vaner_dir, tmp_path):
    text = "Aspirin lowered the risk of breast cancer in BRCA1 carriers."
    long_text = "Cisplatin-induced nephrotoxicity was seen in mice. " * 4 + " ".join(["fever"] * 700) + "."
    texts = [text, long_text, "", "Mice. Rats."]
    expected = VanerTagger(*tiny_vaner)([text], entity_types=["Chemical", "Disease"])[0]
    expected_many = VanerTagger(*tiny_vaner)(texts, entity_types=["Chemical", "Disease"])
    code = f"""
import json, os, sys
os.chdir({str(tmp_path)!r})
sys.path = [p for p in sys.path if p not in ('', {str(REPO_ROOT)!r})]
from transformers import pipeline
ner = pipeline("vaner-ner", model={str(tiny_vaner_dir)!r}, trust_remote_code=True)
assert 'modeling_vaner' not in {{m.split('.')[0] for m in sys.modules}}
out = {{"one": ner({text!r}, entity_types=["Chemical", "Disease"]),
       "many": ner([{text!r}, ""], entity_types="Chemical"),
       "batched": ner({texts!r}, entity_types=["Chemical", "Disease"], batch_size=4)}}
ner.tokenizer.padding_side = "left"  # the pipeline's own batching pads on the tokenizer's side
out["left"] = ner({texts!r}, entity_types=["Chemical", "Disease"], batch_size=3)
print(json.dumps(out))
"""
    out = json.loads(run_python(code, env={"HF_MODULES_CACHE": str(tmp_path / "modules"), "HF_HUB_OFFLINE": "1"}))
    assert [(e["start"], e["end"], e["type"]) for e in out["one"]] == [
        (e["start"], e["end"], e["type"]) for e in expected
    ]
    assert all(abs(a["score"] - b["score"]) < 1e-6 for a, b in zip(out["one"], expected))
    chemicals = [e for e in out["one"] if e["type"] == "Chemical"]
    assert [(e["start"], e["end"]) for e in out["many"][0]] == [(e["start"], e["end"]) for e in chemicals]
    assert out["many"][1] == []
    for batched in (out["batched"], out["left"]):  # the pipeline's batches, padded either side: the tagger's spans
        assert [[(e["start"], e["end"], e["type"]) for e in entities] for entities in batched] == [
            [(e["start"], e["end"], e["type"]) for e in entities] for entities in expected_many
        ]
        assert all(abs(a["score"] - b["score"]) < 1e-5 for x, y in zip(batched, expected_many) for a, b in zip(x, y))
    assert sum(map(len, expected_many)) > 5 and expected_many[2] == []


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(st.text(min_size=1, max_size=12).filter(str.strip), min_size=1, max_size=30))
def test_word_pieces_from_the_rust_core_are_the_tokenizers_own(smollm2_tokenizer, words):
    from modeling_vaner.processing_vaner import word_pieces

    expected = smollm2_tokenizer([" " + word for word in words], add_special_tokens=False)["input_ids"]
    assert word_pieces(smollm2_tokenizer, words) == expected


def test_word_pieces_of_a_wordpiece_tokenizer_are_its_own(tmp_path):
    # BERT-style: a normalizer and a pre-tokenizer of its own; the ids must still be what `tokenizer(...)` gives.
    from transformers import BertTokenizerFast

    from modeling_vaner.processing_vaner import word_pieces

    (tmp_path / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\nasp\n##irin\nfever\n.")
    tokenizer = BertTokenizerFast(vocab_file=str(tmp_path / "vocab.txt"))
    words = ["Aspirin", "fever", ".", "ASP", "unknown"]
    assert word_pieces(tokenizer, words) == tokenizer([" " + w for w in words], add_special_tokens=False)["input_ids"]


def test_the_one_layer_view_keeps_the_more_confident_of_overlapping_mentions():
    import random

    from modeling_vaner.processing_vaner import non_overlapping

    disease = {"start": 0, "end": 20, "type": "Disease", "score": 0.9}
    gene = {"start": 5, "end": 10, "type": "Gene", "score": 0.8}
    species = {"start": 20, "end": 25, "type": "Species", "score": 0.5}  # touches, does not overlap
    assert [e["type"] for e in non_overlapping([gene, species, disease])] == ["Disease", "Species"]
    assert [e["type"] for e in non_overlapping([{**gene, "score": 0.95}, disease])] == ["Gene"]

    def reference(entities):  # the rule as written: most confident first, kept if it overlaps nothing kept
        kept = []
        for entity in sorted(entities, key=lambda e: -e["score"]):
            if all(entity["end"] <= k["start"] or entity["start"] >= k["end"] for k in kept):
                kept.append(entity)
        return sorted(kept, key=lambda e: e["start"])

    rng = random.Random(0)
    for _ in range(200):
        starts = [rng.randint(0, 60) for _ in range(rng.randint(0, 40))]
        entities = [{"start": s, "end": s + rng.randint(1, 8), "score": rng.random()} for s in starts]
        assert non_overlapping(entities) == reference(entities)


@pytest.mark.parametrize("max_length", [0, -5, "64", 64.0, True])
def test_a_max_length_that_is_not_a_count_of_tokens_is_refused(tiny_vaner, max_length):
    from modeling_vaner import VanerTagger

    with pytest.raises(ValueError, match="max_length must be a whole number of tokens"):
        VanerTagger(*tiny_vaner, max_length=max_length)


def test_an_nfd_accent_stays_inside_its_word():
    from modeling_vaner.processing_vaner import split_words

    text = "El ca\u0301ncer de mama."
    assert [text[start:end] for start, end in split_words(text)] == ["El", "ca\u0301ncer", "de", "mama", "."]


def test_a_threshold_keeps_the_mentions_scored_at_least_it_in_the_tagger_and_the_pipeline(tiny_vaner, tiny_vaner_dir):
    from transformers import pipeline

    text = "Aspirin lowered the risk of breast cancer in BRCA1 carriers. Cisplatin hurt the kidneys of mice."
    types = ["Chemical", "Disease"]
    every = VanerTagger(*tiny_vaner)(text, entity_types=types)[0]
    middle = sorted(entity["score"] for entity in every)[len(every) // 2]
    ner = pipeline("vaner-ner", model=str(tiny_vaner_dir), trust_remote_code=True)
    for threshold, least in ((middle, dict.fromkeys(types, middle)), ({"Chemical": middle}, {"Chemical": middle})):
        expected = [e for e in every if e["score"] >= least.get(e["type"], 0.0)]
        assert 0 < len(expected) < len(every)
        assert VanerTagger(*tiny_vaner, threshold=threshold)(text, entity_types=types)[0] == expected
        piped = ner(text, entity_types=types, threshold=threshold)
        assert [(e["start"], e["end"], e["type"]) for e in piped] == [
            (e["start"], e["end"], e["type"]) for e in expected
        ]
    for wrong, said in ((1.5, "from 0 to 1"), ({"Gene!": 0.5}, "unknown entity type")):
        with pytest.raises(ValueError, match=said):
            VanerTagger(*tiny_vaner, threshold=wrong)
        with pytest.raises(ValueError, match=said):
            ner(text, threshold=wrong)


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


def test_mentions_of_different_types_overlap(smollm2_tokenizer):
    tagger = VanerTagger(per_type_model(smollm2_tokenizer), smollm2_tokenizer)
    # Heads' answers for "Escherichia coli infection ." (Chemical, Disease, Gene, Species per word).
    wanted = {1: ["B", "I", "I", "O"], 3: ["B", "I", "O", "O"]}

    def forward(sequences, positions):
        probabilities = torch.zeros(sum(map(len, positions)), 4, 3)
        probabilities[:, :, 0] = 1.0
        for head, tags in wanted.items():
            for index, tag in enumerate(tags):
                probabilities[index, head] = torch.tensor([0.0, 0.0, 0.0]).index_fill(
                    0, torch.tensor("OBI".index(tag)), 0.9
                )
        return probabilities

    tagger._forward = forward
    entities = tagger("Escherichia coli infection.")[0]
    assert [(e["text"], e["type"]) for e in entities] == [
        ("Escherichia coli", "Species"),
        ("Escherichia coli infection", "Disease"),
    ]


def test_a_shared_head_model_answers_as_before(tiny_vaner):
    model, tokenizer = tiny_vaner
    tagger = VanerTagger(model, tokenizer)
    words = ["Aspirin", "lowered", "fever", "."]
    chemical = tagger.tag_words([(words, model.config.instruction("Chemical"))])
    assert tagger.tag_heads([(words, model.config.instruction("Chemical"))]) == [chemical]
    assert tagger.instructions(["Chemical", "Disease"], None) == [
        (("Chemical",), model.config.instruction("Chemical")),
        (("Disease",), model.config.instruction("Disease")),
    ]


def test_a_subset_of_the_types_in_any_order_is_asked_in_the_models_words_and_read_on_each_types_head(
    smollm2_tokenizer,
):
    model = per_type_model(smollm2_tokenizer, entity_types=["Chemical", "Disease", "Gene"])
    with torch.no_grad():  # the Disease head says B everywhere, the others O: only Disease mentions exist
        model.score.weight.zero_()
        model.score.bias.copy_(torch.tensor([9.0, 0, 0, 0, 9.0, 0, 9.0, 0, 0]))
    tagger = VanerTagger(model, smollm2_tokenizer)
    text, words = "Mice were given cisplatin.", 4  # each word a mention; the final "." is none (boundary rule)
    for asked in (["Disease", "Chemical"], ["Chemical", "Disease"]):
        [(types, instruction)] = tagger.instructions(asked, None)
        assert types == ("Chemical", "Disease") and "If any Chemical or Disease entity" in instruction
        [entities] = tagger(text, entity_types=asked)
        assert [e["type"] for e in entities] == ["Disease"] * words  # every word, from the Disease head
    assert [e["type"] for e in tagger(text, entity_types=["Disease"])[0]] == ["Disease"] * words
    assert tagger(text, entity_types=["Gene", "Chemical"])[0] == []
    with pytest.raises(ValueError, match="Unknown entity type 'Species'"):
        tagger(text, entity_types=["Disease", "Species"])


@pytest.mark.parametrize("device", ["cpu", "auto"])
def test_the_python_api_and_the_pipeline_run_on_the_requested_device(tiny_vaner_dir, device):
    from transformers import pipeline

    model, _ = load_vaner(tiny_vaner_dir, device=device)
    assert model.device.type == resolve_device(device).type
    assert model.dtype == resolve_dtype(None, model.device)
    ner = pipeline(
        "vaner-ner",
        model=str(tiny_vaner_dir),
        trust_remote_code=True,
        device=device if device != "auto" else resolve_device("auto").type,
    )
    assert ner.model.device.type == model.device.type
    assert isinstance(ner("Aspirin lowers fever."), list)
