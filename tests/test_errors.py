"""The package's one error model (`errors.py`): every error class is a `VanerError`, and library code never exits
or prints its errors."""

import ast

from tests.conftest import REPO_ROOT


def test_every_error_class_of_the_package_is_a_vaner_error():
    import importlib

    from modeling_vaner.errors import VanerError

    found = []
    for root in ("modeling_vaner", "harness"):
        for path in (REPO_ROOT / root).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ClassDef) and node.name.endswith("Error"):
                    module = ".".join(path.relative_to(REPO_ROOT).with_suffix("").parts)
                    found.append(getattr(importlib.import_module(module), node.name))
    assert len(found) >= 12
    assert [cls.__name__ for cls in found if not issubclass(cls, VanerError)] == []


def test_library_code_never_exits_or_prints_errors():
    offenders = []
    for root in ("modeling_vaner", "harness"):
        for path in (REPO_ROOT / root).rglob("*.py"):
            if path.name == "cli.py":
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Call) and ast.unparse(node.func) in ("sys.exit", "exit", "quit"):
                    offenders.append(f"{path.name}:{node.lineno}")
    assert offenders == []
