"""House rules the code keeps: no function longer than 60 lines (docstring included: one that is, reads as several
jobs); deprecations of transformers and peft fail the tests (pyproject.toml's filterwarnings)."""

import ast
from pathlib import Path

from tests.conftest import REPO_ROOT

MAX_LINES = 60
PACKAGES = ("modeling_vaner", "harness", "space", "model_card")


def long_functions(root: Path = REPO_ROOT) -> list[str]:
    found = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            if "default_model" in path.parts:  # links to the remote code, measured where they point
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    lines = node.end_lineno - node.lineno + 1
                    if lines > MAX_LINES:
                        found.append(f"{path.relative_to(root)}:{node.lineno} {node.name} ({lines} lines)")
    return found


def test_no_function_is_longer_than_60_lines():
    assert long_functions() == []


def test_the_measure_sees_a_long_function(tmp_path):
    (tmp_path / "harness").mkdir()
    body = "".join(f"    x{i} = {i}\n" for i in range(MAX_LINES))
    (tmp_path / "harness" / "long.py").write_text(f"def short():\n    return 1\n\n\ndef long():\n{body}")
    for package in PACKAGES:
        (tmp_path / package).mkdir(exist_ok=True)
    assert long_functions(tmp_path) == [f"harness/long.py:5 long ({MAX_LINES + 1} lines)"]


def test_deprecations_of_transformers_and_peft_fail_the_tests():
    import warnings

    import pytest

    for module in ("transformers.modeling_utils", "peft.tuners.lora", "modeling_vaner.loading"):
        with pytest.raises(DeprecationWarning, match="planted"):
            warnings.warn_explicit("planted", DeprecationWarning, "planted.py", 1, module=module)
    with warnings.catch_warnings(record=True):  # others' deprecations stay noise
        warnings.warn_explicit("planted", DeprecationWarning, "planted.py", 1, module="gradio.blocks")
