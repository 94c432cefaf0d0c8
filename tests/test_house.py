"""House rules the code keeps: no function longer than 60 lines (docstring included: one that is, reads as several
jobs); the tests mirror the source (a test module per module or package, named after it); deprecations of
transformers and peft fail the tests (pyproject.toml's filterwarnings)."""

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


# Test modules that check the project as a whole, not one module or package of it.
WHOLE_PROJECT_CHECKS = {
    "test_house.py": "these house rules",
    "test_layers.py": "the import graph: layers, cycles, deferred imports, flags in library errors",
    "test_remote_code.py": "the four remote-code files together, as the Hub meets them",
}


def source_names(root: Path = REPO_ROOT) -> set[str]:
    """What a test module may be named after: our modules (`processing_vaner` also as `processing`), packages and
    scripts."""
    names = set()
    for top in (*PACKAGES, "scripts"):
        names.add(top)
        for path in (root / top).rglob("*"):
            if path.suffix == ".py" or (path.is_dir() and path.name != "__pycache__"):
                names |= {path.stem, path.stem.removesuffix("_vaner")}
    return names


def stray_test_modules(root: Path = REPO_ROOT) -> list[str]:
    known = source_names(root)
    return [
        path.name
        for path in sorted((root / "tests").glob("test_*.py"))
        if path.stem.removeprefix("test_") not in known and path.name not in WHOLE_PROJECT_CHECKS
    ]


def test_each_test_module_is_named_for_the_source_it_tests():
    assert stray_test_modules() == []


def test_the_mirror_check_sees_a_test_module_named_for_a_theme(tmp_path):
    for top in (*PACKAGES, "scripts", "tests"):
        (tmp_path / top).mkdir()
    (tmp_path / "modeling_vaner" / "processing_vaner.py").write_text("")
    for name in ("test_processing.py", "test_trust.py", "test_house.py"):
        (tmp_path / "tests" / name).write_text("")
    assert stray_test_modules(tmp_path) == ["test_trust.py"]


def test_deprecations_of_transformers_and_peft_fail_the_tests():
    import warnings

    import pytest

    for module in ("transformers.modeling_utils", "peft.tuners.lora", "modeling_vaner.loading"):
        with pytest.raises(DeprecationWarning, match="planted"):
            warnings.warn_explicit("planted", DeprecationWarning, "planted.py", 1, module=module)
    with warnings.catch_warnings(record=True):  # others' deprecations stay noise
        warnings.warn_explicit("planted", DeprecationWarning, "planted.py", 1, module="gradio.blocks")
