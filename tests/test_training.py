"""Training runs (`training/`, `vaner train`): short real runs on tiny models that save, resume, stop on their
budget, start from another model and run data-parallel; the modules each have their own tests (test_mix, test_recipe,
test_trainer, test_type_heads)."""

import json
import os
import shutil
import subprocess
import sys

import pytest
import torch

from modeling_vaner import VanerConfig, VanerForTokenClassification, VanerTagger
from modeling_vaner.commands.cli import main
from modeling_vaner.training import TrainConfig, train
from tests.conftest import (
    REPO_ROOT,
    TWO_SENTENCES,
    TYPES,
    Interrupted,
    StepClock,
    budget_config,
    fresh_tiny_model,
    save_tiny_backbone,
    tiny_config,
    tiny_lora_recipe,
    tiny_run_config,
    write_corpus,
)
from tests.local_hub import free_port


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


def test_a_run_goes_on_from_a_trained_model_on_packed_inputs(tmp_path, tiny_llama_dir, smollm2_tokenizer):
    from modeling_vaner import load_vaner
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


def test_a_run_refuses_a_recipe_of_another_shape_and_keeps_its_record(tmp_path, capsys):
    import yaml

    from modeling_vaner.training import resumable_checkpoint

    run = tmp_path / "run"
    checkpoint = run / "checkpoint-2"
    checkpoint.mkdir(parents=True)
    (checkpoint / "trainer_state.json").write_text("{}")
    recipe = {**TrainConfig(output_dir=str(run), corpora=["s800"]).__dict__, "lora_r": 2}
    (run / "train_config.yaml").write_text(yaml.safe_dump(recipe))
    before = (run / "train_config.yaml").read_text()
    assert main(["train", "--output_dir", str(run), "--corpora", "s800", "--lora_r", "4"]) == 2
    error = capsys.readouterr().err
    assert "lora_r 2 -> 4" in error and "checkpoint-2 cannot be resumed" in error
    assert (run / "train_config.yaml").read_text() == before
    with pytest.warns(UserWarning, match="checkpoint-2 has no optimizer state"):
        assert resumable_checkpoint(TrainConfig(output_dir=str(run), corpora=["s800"], lora_r=2), run) == str(
            checkpoint
        )
    assert main(["train", "--output_dir", str(tmp_path / "r2"), "--corpora", "s800", "--lora_r", "0"]) == 2
    assert "--lora_r on the command line must be at least 1, got 0" in capsys.readouterr().err


def test_train_takes_a_users_folder_as_corpora_says(tmp_path, smollm2_tokenizer):
    import torch

    from modeling_vaner import VanerForTokenClassification, load_vaner
    from modeling_vaner.training import train
    from tests.conftest import tiny_config

    folder = write_corpus(tmp_path / "my corpus", 6)
    torch.manual_seed(0)
    model = VanerForTokenClassification(tiny_config(vocab_size=len(smollm2_tokenizer), pad_token_id=2))
    config = TrainConfig.from_yaml(
        None,
        {
            "output_dir": str(tmp_path / "run"),
            "corpora": [f"{folder}:Disease"],
            "max_steps": 2,
            "per_device_batch_size": 2,
            "save_steps": 2,
            "dbr_probability": 0.0,
            "bf16": False,
            "max_length": 160,
            "lora": False,
        },
    )
    summary = train(config, model=model, tokenizer=smollm2_tokenizer)
    assert summary["corpora"] == {f"{folder}:Disease": 6}
    trained, _ = load_vaner(tmp_path / "run" / "final")
    assert list(trained.config.datasets) == [f"{folder}:Disease"]


def test_a_one_pass_model_trains_saves_and_tags_through_the_python_api(per_type_run):
    from modeling_vaner import load_vaner

    run, summary = per_type_run
    assert summary["global_step"] == 4 and summary["corpora"] == {"BC5CDR-chem": 24, "BC5CDR-disease": 24, "s800": 24}
    model, tokenizer = load_vaner(run / "final")
    assert model.config.head_layout == "per_type" and model.config.entity_types == ["Chemical", "Disease", "Species"]
    entities = VanerTagger(model, tokenizer)(TWO_SENTENCES)[0]
    assert {e["type"] for e in entities} == {"Chemical", "Disease", "Species"}
    assert all(TWO_SENTENCES[e["start"] : e["end"]] == e["text"] for e in entities)


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


def test_two_ranks_finish_with_identical_weights(tmp_path, smollm2_dir):
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "--master_addr",
        "127.0.0.1",
        "--master_port",
        str(free_port()),
        str(REPO_ROOT / "tests" / "helpers" / "ddp_train.py"),
        str(tmp_path),
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, capture_output=True, check=False, text=True, env=env, cwd=REPO_ROOT, timeout=600)
    assert result.returncode == 0, result.stderr[-4000:]
    ranks = [torch.load(tmp_path / f"rank{rank}.pt") for rank in (0, 1)]
    assert [r["world"] for r in ranks] == [2, 2] and [r["step"] for r in ranks] == [6, 6]
    for name, tensor in ranks[0]["state"].items():
        assert torch.equal(tensor, ranks[1]["state"][name]), name
    # ...and they trained: the head moved away from its seeded initialisation.
    torch.manual_seed(0)
    from modeling_vaner import VanerForTokenClassification
    from tests.conftest import tiny_config

    initial = VanerForTokenClassification(
        tiny_config(vocab_size=ranks[0]["state"]["model.embed_tokens.weight"].shape[0], pad_token_id=2)
    )
    assert not torch.equal(initial.score.weight, ranks[0]["state"]["score.weight"])
