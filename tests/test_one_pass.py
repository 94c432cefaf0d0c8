"""One pass for every type: a VANER model with one BIO head per entity type (`head_layout="per_type"`).

One input per sentence (or window) whatever the number of types requested, its instruction naming them all; training
supervises only the heads of the types a corpus annotates; corpora over the same sentences train together; every
entry point requests all types in one pass.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from modeling_vaner import VanerConfig, VanerForTokenClassification, VanerTagger
from tests.conftest import REPO_ROOT, run_python, save_tiny_backbone, tiny_config, tiny_lora_recipe

TYPES = ["Chemical", "Disease", "Gene", "Species"]
TEXT = "Aspirin lowered the risk of Escherichia coli infection. Mice were given cisplatin."


def per_type_model(tokenizer, **fields):
    torch.manual_seed(0)
    config = tiny_config(vocab_size=len(tokenizer), pad_token_id=2, head_layout="per_type", **fields)
    return VanerForTokenClassification(config).eval()


def test_the_config_names_every_requested_type_in_one_instruction():
    config = tiny_config(head_layout="per_type")
    assert config.num_type_heads == 4 and config.head_index("Gene") == 2
    assert config.instruction(TYPES) == (
        "If any Chemical, Disease, Gene or Species entity is mentioned in the input, extract it. ##input: "
    )
    assert config.instruction(["Chemical", "Disease"], ["BC5CDR-chem", "BC5CDR-disease"]) == (
        "If any Chemical or Disease entity is mentioned in the BC5CDR-chem and BC5CDR-disease input, extract it. "
        "##input: "
    )
    assert config.instruction("Disease", "NCBI-disease") == tiny_config().instruction("Disease", "NCBI-disease")
    with pytest.raises(ValueError, match="one shared head"):
        tiny_config().instruction(["Chemical", "Disease"])
    with pytest.raises(ValueError, match="head_layout 'both'"):
        tiny_config(head_layout="both")
    # A config saved before head layouts existed is a shared-head model.
    saved = tiny_config().to_dict()
    saved.pop("head_layout")
    assert VanerConfig.from_dict(saved).head_layout == "shared" and VanerConfig.from_dict(saved).num_type_heads == 1


def test_logits_have_a_head_per_type_and_only_annotated_heads_learn():
    model = VanerForTokenClassification(tiny_config(head_layout="per_type")).train()
    input_ids = torch.randint(3, 128, (2, 7))
    assert model(input_ids).logits.shape == (2, 7, 4, 3)
    labels = torch.full((2, 7, 4), -100)
    labels[:, 3:, 1] = 1  # the row's corpus annotates diseases only (head 1)
    model(input_ids, labels=labels).loss.backward()
    gradient = model.score.weight.grad.view(4, 3, -1)  # rows of `score`: head-major, then O/B/I
    assert gradient[1].abs().sum() > 0
    assert all(gradient[head].abs().sum() == 0 for head in (0, 2, 3))
    assert all(model.score.bias.grad.view(4, 3)[head].abs().sum() == 0 for head in (0, 2, 3))


def test_one_input_per_sentence_whatever_the_types_requested(smollm2_tokenizer):
    asked_rows = []
    for layout, expected in (("per_type", 2), ("shared", 8)):  # two sentences, four types
        model = (
            per_type_model(smollm2_tokenizer)
            if layout == "per_type"
            else VanerForTokenClassification(tiny_config(vocab_size=len(smollm2_tokenizer), pad_token_id=2)).eval()
        )
        tagger = VanerTagger(model, smollm2_tokenizer)
        original = tagger._forward
        seen = []

        def counting(sequences, positions, original=original, seen=seen):
            seen.extend(sequences)
            return original(sequences, positions)

        tagger._forward = counting
        tagger(TEXT)
        assert len(seen) == expected, layout
        asked_rows.append(seen)
    instruction = smollm2_tokenizer.decode(asked_rows[0][0])
    assert instruction.startswith("If any Chemical, Disease, Gene or Species entity is mentioned in the input")


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


def test_bc5cdr_chemicals_and_diseases_train_together():
    from modeling_vaner.corpora import load_corpus
    from modeling_vaner.training.mix import corpus_sources, head_tags

    sets = {name: load_corpus(name, "devel").select(range(50)) for name in ("BC5CDR-chem", "s800", "BC5CDR-disease")}
    sources = corpus_sources(sets, merge=True)
    assert [(s.corpora, s.types, len(s)) for s in sources] == [
        (["BC5CDR-chem", "BC5CDR-disease"], ["Chemical", "Disease"], 50),
        (["s800"], ["Species"], 50),
    ]
    chem, disease = sets["BC5CDR-chem"][7]["ner_tags"], sets["BC5CDR-disease"][7]["ner_tags"]
    per_head = head_tags(sources[0].types, sources[0].tags[7], TYPES)
    assert [[("O", "B", "I").index(t) for t in tags] for tags in per_head[:2]] == [chem, disease]
    assert per_head[2:] == [[], []]  # genes and species: no labels from BC5CDR


def test_training_rows_label_only_the_annotated_heads(smollm2_tokenizer):
    from modeling_vaner.corpora import load_corpus
    from modeling_vaner.training import TrainConfig
    from modeling_vaner.training.mix import build_eval_rows

    model = per_type_model(smollm2_tokenizer, entity_types=["Chemical", "Disease", "Species"])
    config = TrainConfig(
        corpora=["BC5CDR-chem", "BC5CDR-disease", "s800"], max_eval_sentences=5, max_length=256, heads="per_type"
    )
    rows = build_eval_rows(config, smollm2_tokenizer, model.config)
    labelled_words = torch.zeros(3, dtype=torch.long)
    for row in rows:
        labels = torch.tensor(row["labels"]).view(len(row["input_ids"]), 3)
        instruction = smollm2_tokenizer.decode(row["input_ids"])
        labelled = (labels != -100).any(0).tolist()
        if "BC5CDR" in instruction:
            assert "Chemical or Disease entity is mentioned in the BC5CDR-chem and BC5CDR-disease input" in instruction
            assert labelled == [True, True, False]
        else:
            assert "Species entity is mentioned in the s800 input" in instruction and labelled == [False, False, True]
        labelled_words += (labels != -100).sum(0)
    # every word of the five BC5CDR sentences once for chemicals and once for diseases; s800's once for species
    words = {
        name: sum(len(tokens) for tokens in load_corpus(name, "devel")[:5]["tokens"])
        for name in ("BC5CDR-chem", "s800")
    }
    assert labelled_words.tolist() == [words["BC5CDR-chem"], words["BC5CDR-chem"], words["s800"]]


@pytest.mark.parametrize("share", [1.0, 0.5])
def test_all_type_rows_name_every_type_and_no_dataset_and_label_only_the_annotated_heads(
    smollm2_tokenizer, tmp_path, share
):
    from modeling_vaner.corpora import load_corpus
    from modeling_vaner.training import TrainConfig
    from modeling_vaner.training.mix import build_train_rows

    model = per_type_model(smollm2_tokenizer, entity_types=["Chemical", "Disease", "Species"])
    config = TrainConfig(
        output_dir=str(tmp_path), corpora=["BC5CDR-chem", "s800"], heads="per_type", all_types_probability=share
    )
    sets = {name: load_corpus(name, "devel").select(range(20)) for name in config.corpora}
    rows = build_train_rows(config, smollm2_tokenizer, model.config, sets)
    asked = {"all": 0, "dataset": 0}
    for row in rows:
        instruction = smollm2_tokenizer.decode(row["input_ids"])
        labelled = (torch.tensor(row["labels"]).view(len(row["input_ids"]), 3) != -100).any(0).tolist()
        assert labelled in ([True, False, False], [False, False, True])  # the corpus's own head, never another
        if "Chemical, Disease or Species entity is mentioned in the input" in instruction:
            asked["all"] += 1
        else:
            assert " s800 input" in instruction or " BC5CDR-chem input" in instruction
            asked["dataset"] += 1
    assert asked["all"] + asked["dataset"] >= 40  # 40 sentences (a long one takes two windows)
    assert asked["dataset"] == 0 if share == 1.0 else 10 <= asked["dataset"] <= 30


@pytest.fixture(scope="module")
def per_type_run(tmp_path_factory, smollm2_tokenizer):
    """A tiny one-pass LoRA VANER trained a few steps on a tiny LLaMA backbone, in the Hub layout."""
    from modeling_vaner.training import train

    root = tmp_path_factory.mktemp("per_type")
    backbone = save_tiny_backbone(root / "backbone", smollm2_tokenizer)
    summary = train(
        tiny_lora_recipe(
            root / "run",
            backbone,
            corpora=["BC5CDR-chem", "BC5CDR-disease", "s800"],
            heads="per_type",
            dbr_probability=0.5,
        )
    )
    from safetensors.torch import load_file, save_file

    adapter = root / "run" / "final" / "adapter" / "adapter_model.safetensors"
    weights = load_file(adapter)  # four steps teach little: lean every head towards B so that it tags mentions
    weights["base_model.model.score.bias"] = weights["base_model.model.score.bias"] + torch.tensor([0.0, 2.0, 0.0] * 3)
    save_file(weights, adapter, metadata={"format": "pt"})
    return root / "run", summary


def test_a_one_pass_model_trains_saves_and_tags_through_the_python_api(per_type_run):
    from modeling_vaner import load_vaner

    run, summary = per_type_run
    assert summary["global_step"] == 4 and summary["corpora"] == {"BC5CDR-chem": 24, "BC5CDR-disease": 24, "s800": 24}
    model, tokenizer = load_vaner(run / "final")
    assert model.config.head_layout == "per_type" and model.config.entity_types == ["Chemical", "Disease", "Species"]
    entities = VanerTagger(model, tokenizer)(TEXT)[0]
    assert {e["type"] for e in entities} == {"Chemical", "Disease", "Species"}
    assert all(TEXT[e["start"] : e["end"]] == e["text"] for e in entities)


def test_the_harness_scores_a_one_pass_model_per_corpus(per_type_run, tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "modeling_vaner.commands.cli",
            "eval",
            "--model",
            str(per_type_run[0] / "final"),
            "--datasets",
            "BC5CDR-chem,s800",
            "--split",
            "devel",
            "--limit",
            "6",
            "--output",
            str(tmp_path / "results.json"),
        ],
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        check=False,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    scores = {row["dataset"]: row for row in json.loads((tmp_path / "results.json").read_text())["results"]}
    assert set(scores) == {"BC5CDR-chem", "s800"} and all(row["predicted_entities"] for row in scores.values())
    assert scores["BC5CDR-chem"]["instruction"].startswith("If any Chemical entity is mentioned in the BC5CDR-chem")


def test_the_harness_asks_a_one_pass_model_for_every_type_and_reads_the_corpus_head(
    per_type_run, tiny_vaner_dir, tmp_path
):
    from harness.runner import HarnessError, run_eval
    from modeling_vaner import VanerTagger, load_vaner

    output = tmp_path / "all.json"
    report = run_eval(str(per_type_run[0] / "final"), ["s800"], "devel", output, limit=4, request="all-types")
    [row] = report["results"]
    assert report["request"] == "all-types" and row["instruction"].startswith(
        "If any Chemical, Disease or Species entity is mentioned in the input"
    )
    model, tokenizer = load_vaner(per_type_run[0] / "final")
    from modeling_vaner.corpora import load_corpus

    sentences = load_corpus("s800", "devel")["tokens"][:4]
    tags = VanerTagger(model, tokenizer).tag_words(
        [(words, row["instruction"]) for words in sentences], entity_type="Species"
    )
    assert row["predicted_entities"] == sum(t.count("B") for t, _ in tags)  # the Species head's answers, counted
    with pytest.raises(HarnessError, match="^request all-types needs a model with a head per type"):
        run_eval(str(tiny_vaner_dir), ["s800"], "devel", tmp_path / "shared.json", limit=2, request="all-types")


def test_predict_asks_every_type_in_one_pass(per_type_run, tmp_path):
    source = tmp_path / "in.txt"
    source.write_text(TEXT + "\n")
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


def test_push_and_load_by_repo_id_through_the_standard_pipeline(per_type_run, tmp_path):
    from tests.local_hub import hub_env, running_hub

    final = per_type_run[0] / "final"
    with running_hub(tmp_path / "hub") as endpoint:
        env = {**os.environ, **hub_env(endpoint, tmp_path / "pusher")}
        pushed = subprocess.run(
            [
                sys.executable,
                "-m",
                "modeling_vaner.commands.cli",
                "push",
                "--model",
                str(final),
                "--repo",
                "vaner-test/one-pass",
                "--backbone-repo",
                "vaner-test/one-pass-backbone",
            ],
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
            env=env,
            check=False,
            timeout=600,
        )
        assert pushed.returncode == 0, pushed.stderr[-3000:]
        code = f"""
import json, sys
sys.path = [p for p in sys.path if p not in ('', {str(REPO_ROOT)!r})]
from transformers import pipeline
ner = pipeline("token-classification", model="vaner-test/one-pass", trust_remote_code=True)
chunks = list(ner.preprocess({TEXT!r}))
print(json.dumps({{"chunks": len(chunks), "entities": ner({TEXT!r})}}))
"""
        out = json.loads(run_python(code, env=hub_env(endpoint, tmp_path / "user")))
    assert out["chunks"] == 2  # two sentences, three types: one input each
    from modeling_vaner import load_vaner

    model, tokenizer = load_vaner(final)
    expected = VanerTagger(model, tokenizer)(TEXT)[0]
    assert [(e["entity_group"], e["start"], e["end"]) for e in out["entities"]] == [
        (e["type"], e["start"], e["end"]) for e in expected
    ]
    assert len({e["entity_group"] for e in out["entities"]}) == 3


def test_the_card_describes_the_heads():
    from model_card.generate import render_card

    results = REPO_ROOT / "modeling_vaner" / "default_model" / "results.json"
    one_pass = str(render_card(results, repo_id="org/one-pass", base_model="b", head_layout="per_type"))
    shared = str(render_card(results, repo_id="org/shared", base_model="b"))
    assert "head per entity type" in one_pass and "one forward pass tags every type" in one_pass
    assert "head per entity type" not in shared and "a BIO token-classification head, and an instruction" in shared


def test_auto_dtype_on_a_cpu_follows_the_recorded_bf16_check(monkeypatch):
    from modeling_vaner import loading

    record = json.loads((REPO_ROOT / "benchmarks" / "results" / "cpu_bf16.json").read_text())
    assert loading.CPU_BF16_AGREES == record["auto_bf16"]  # the rule is what the measurements say
    cpu = torch.device("cpu")
    for native, agrees, expected in (
        (True, True, torch.bfloat16),
        (True, False, torch.float32),
        (False, True, torch.float32),
    ):
        monkeypatch.setattr(loading, "cpu_has_native_bf16", lambda native=native: native)
        monkeypatch.setattr(loading, "CPU_BF16_AGREES", agrees)
        assert loading.resolve_dtype("auto", cpu) == expected
    assert loading.resolve_dtype("auto", torch.device("cuda")) == torch.bfloat16
    assert loading.resolve_dtype("bfloat16", cpu) == torch.bfloat16


SAPPHIRE_RAPIDS = """processor\t: 0
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R) Platinum 8480+
flags\t\t: fpu vme sse2 avx2 avx512f avx512_vnni avx512_bf16 amx_bf16 amx_tile amx_int8
vmx flags\t: vnmi preemption_timer
bugs\t\t: spectre_v1 spectre_v2

processor\t: 1
flags\t\t: fpu vme sse2 avx2 avx512f avx512_vnni avx512_bf16 amx_bf16 amx_tile amx_int8
"""


def test_the_bf16_flag_reader_reads_real_cpuinfo_texts():
    from modeling_vaner.loading import native_bf16_in

    assert native_bf16_in(SAPPHIRE_RAPIDS)
    assert not native_bf16_in(SAPPHIRE_RAPIDS.replace(" avx512_bf16 amx_bf16", ""))
    assert not native_bf16_in(SAPPHIRE_RAPIDS.replace("avx512_bf16 amx_bf16", "avx512_bf16x amx_bf16_x"))
    assert not native_bf16_in("processor\t: 0\nmodel name\t: ARMv8\nFeatures\t: fp asimd bf16\n")  # no flags line
    here = Path("/proc/cpuinfo").read_text()  # this machine's own, as the reader meets it
    first = next(line for line in here.splitlines() if re.match(r"flags\s*:", line))
    assert native_bf16_in(here) == bool(re.search(r"\b(avx512_bf16|amx_bf16)\b", first))


def test_the_space_asks_the_model_for_its_own_types(per_type_run):
    from space.app import highlight_html, load_tagger

    tag, config, processing = load_tagger(str(per_type_run[0] / "final"), device="cpu")
    entities = tag(TEXT, config.entity_types, None)
    assert {e["type"] for e in entities} == {"Chemical", "Disease", "Species"}
    legend = highlight_html(TEXT, processing.non_overlapping(entities), config.entity_types)
    assert legend.count('class="vaner-legend"') == 3 and ">Gene<" not in legend


def test_a_one_pass_copy_of_a_shared_model_answers_each_type_exactly_as_it(tiny_vaner):
    from modeling_vaner.processing_vaner import Request, RequestEncoder
    from modeling_vaner.training.type_heads import with_type_heads

    shared, tokenizer = tiny_vaner
    copy = with_type_heads(shared, ["BC5CDR-chem", "s800"]).eval()
    assert copy.config.head_layout == "per_type" and copy.config.entity_types == TYPES
    encoder = RequestEncoder(tokenizer, max_length=64, pad_token_id=tokenizer.pad_token_id)
    for head, entity_type in enumerate(TYPES):
        rows = encoder.encode([Request(TEXT.split(), shared.config.instruction(entity_type))])
        input_ids = torch.tensor([rows[0].input_ids])
        with torch.no_grad():
            expected = shared(input_ids=input_ids).logits
            got = copy(input_ids=input_ids).logits[:, :, head]
        # The same to float rounding (a matmul over 12 outputs may sum in another order than over 3) ...
        torch.testing.assert_close(got, expected, atol=1e-6, rtol=0)
        # ... because every weight is the same, exactly: the backbone, and each type's rows of the head.
        rows = copy.score.weight[3 * head : 3 * head + 3], copy.score.bias[3 * head : 3 * head + 3]
        assert torch.equal(rows[0], shared.score.weight) and torch.equal(rows[1], shared.score.bias)
    backbone = {k: v for k, v in copy.state_dict().items() if not k.startswith("score.")}
    assert all(torch.equal(value, shared.state_dict()[key]) for key, value in backbone.items())
    assert shared.config.head_layout == "shared"  # the source is left as it was


def test_train_init_from_a_shared_model_starts_a_one_pass_model_and_records_where(tmp_path, smollm2_tokenizer):
    import yaml

    from modeling_vaner import load_vaner, save_vaner
    from modeling_vaner.training import train

    torch.manual_seed(0)
    backbone = save_tiny_backbone(tmp_path / "backbone", smollm2_tokenizer)
    source = VanerForTokenClassification(tiny_config(vocab_size=len(smollm2_tokenizer), pad_token_id=2)).eval()
    save_vaner(source, smollm2_tokenizer, tmp_path / "shared")
    recipe = tiny_lora_recipe(
        tmp_path / "run", backbone, init_from=str(tmp_path / "shared"), heads="per_type", max_steps=1
    )
    train(recipe)
    assert yaml.safe_load((tmp_path / "run" / "train_config.yaml").read_text())["init_from"] == str(tmp_path / "shared")
    model, _ = load_vaner(tmp_path / "run" / "final")
    assert model.config.head_layout == "per_type" and model.config.entity_types == TYPES


@pytest.mark.parametrize(
    "edit, says",
    [
        (lambda types: [types[1], types[0], *types[2:]], "trained for, in order: ['Chemical', 'Disease'"),
        (lambda types: ["Drug", *types[1:]], "trained for, in order: ['<a type this config does not name>'"),
        (lambda types: [*types, "Variant"], "entity_types"),
        (lambda types: types[:-1], "entity_types"),
    ],
)
def test_heads_carry_their_types_and_an_edited_config_is_refused(smollm2_tokenizer, tmp_path, edit, says):
    from modeling_vaner import load_vaner, save_vaner
    from modeling_vaner.errors import ModelFileError

    save_vaner(per_type_model(smollm2_tokenizer), smollm2_tokenizer, tmp_path / "model")
    config_path = tmp_path / "model" / "config.json"
    config = json.loads(config_path.read_text())
    assert load_vaner(tmp_path / "model", device="cpu")[0].config.entity_types == config["entity_types"] == TYPES
    config["entity_types"] = edit(config["entity_types"])
    config_path.write_text(json.dumps(config))
    with pytest.raises(ModelFileError, match=re.escape(says)):
        load_vaner(tmp_path / "model", device="cpu")


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
