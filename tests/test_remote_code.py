"""What a Hub user runs: the saved folder alone, loaded through the Auto classes with trust_remote_code."""

import ast
import json
import shutil
import sys

import torch

from modeling_vaner import VanerForTokenClassification
from modeling_vaner.configuration_vaner import REMOTE_CODE_FILES
from tests.conftest import REPO_ROOT, run_python, tiny_config

ALLOWED_TOP_LEVEL = {"torch", "transformers"}


def test_save_pretrained_writes_auto_map_and_the_code(tmp_path):
    VanerForTokenClassification(tiny_config()).save_pretrained(tmp_path)
    auto_map = json.loads((tmp_path / "config.json").read_text())["auto_map"]
    assert auto_map == {
        "AutoConfig": "configuration_vaner.VanerConfig",
        "AutoModel": "modeling_vaner.VanerModel",
        "AutoModelForTokenClassification": "modeling_vaner.VanerForTokenClassification",
    }
    assert (tmp_path / "configuration_vaner.py").is_file() and (tmp_path / "modeling_vaner.py").is_file()


def test_auto_classes_in_a_fresh_process_give_identical_logits(tmp_path):
    model = VanerForTokenClassification(tiny_config()).eval()
    model.save_pretrained(tmp_path / "model")
    input_ids = torch.randint(1, 128, (2, 9))
    attention_mask = torch.tensor([[1] * 9, [0] * 2 + [1] * 7])
    with torch.no_grad():
        expected = model(input_ids, attention_mask=attention_mask).logits
    torch.save({"input_ids": input_ids, "attention_mask": attention_mask}, tmp_path / "inputs.pt")

    # Run from an empty folder so the `modeling_vaner` package of this repo cannot be imported by accident.
    (tmp_path / "elsewhere").mkdir()
    code = f"""
import os, sys, torch
os.chdir({str(tmp_path / "elsewhere")!r})
sys.path = [p for p in sys.path if p not in ('', {str(REPO_ROOT)!r})]
from transformers import AutoModel, AutoModelForTokenClassification
model = AutoModelForTokenClassification.from_pretrained({str(tmp_path / "model")!r}, trust_remote_code=True).eval()
assert type(model).__module__.startswith('transformers_modules'), type(model).__module__
assert 'modeling_vaner' not in {{m.split('.')[0] for m in sys.modules}}, 'the repo package leaked in'
inputs = torch.load({str(tmp_path / "inputs.pt")!r})
with torch.no_grad():
    logits = model(**inputs).logits
torch.save(logits, {str(tmp_path / "logits.pt")!r})
base = AutoModel.from_pretrained({str(tmp_path / "model")!r}, trust_remote_code=True)
print(type(base).__name__)
"""
    out = run_python(code, env={"HF_MODULES_CACHE": str(tmp_path / "modules"), "HF_HUB_OFFLINE": "1"})
    assert out.strip() == "VanerModel"
    assert torch.equal(torch.load(tmp_path / "logits.pt"), expected)


def _imports(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, 0
        elif isinstance(node, ast.ImportFrom):
            yield node.module or "", node.level


def test_remote_code_imports_only_torch_transformers_and_each_other():
    package = REPO_ROOT / "modeling_vaner"
    siblings = {name.removesuffix(".py") for name in REMOTE_CODE_FILES}
    for filename in REMOTE_CODE_FILES:
        for module, level in _imports(package / filename):
            top = module.split(".")[0]
            if level:  # relative: only the other remote-code files
                assert level == 1 and module in siblings, f"{filename} imports .{module}"
            else:
                assert top in ALLOWED_TOP_LEVEL or top in sys.stdlib_module_names, f"{filename} imports {module}"


def test_the_remote_code_list_holds_every_file_the_remote_code_imports():
    assert set(REMOTE_CODE_FILES) == {
        "configuration_vaner.py",
        "modeling_vaner.py",
        "processing_vaner.py",
        "pipeline_vaner.py",
    }
    imported = {
        module
        for filename in REMOTE_CODE_FILES
        for module, level in _imports(REPO_ROOT / "modeling_vaner" / filename)
        if level
    }
    assert {f"{module}.py" for module in imported} <= set(REMOTE_CODE_FILES)


def test_remote_code_files_import_on_their_own(tmp_path):
    # The AST check above, proven: the four files alone in a package, with this repo off the path; the text side
    # (processing) needs no torch at all.
    package = tmp_path / "isolated_vaner"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for filename in REMOTE_CODE_FILES:
        shutil.copy(REPO_ROOT / "modeling_vaner" / filename, package / filename)
    code = f"""
import os, sys
os.chdir({str(tmp_path)!r})
sys.path = [{str(tmp_path)!r}] + [p for p in sys.path if p not in ('', {str(REPO_ROOT)!r})]
import isolated_vaner.processing_vaner
assert 'torch' not in sys.modules, 'processing_vaner imported torch'
import isolated_vaner.configuration_vaner, isolated_vaner.modeling_vaner, isolated_vaner.pipeline_vaner
ours = sorted(m for m in sys.modules if m.split('.')[0] in ('modeling_vaner', 'harness', 'model_card'))
print(ours)
"""
    assert run_python(code).strip() == "[]"
