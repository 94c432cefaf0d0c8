"""The arrows between the layers point one way (docs/design.md): the model package (remote code and Python API) <-
the harness, the Space and the model card <- the commands (`modeling_vaner/commands/`: the CLI, pushing, building the
linking index). A module may import its own layer and the layers below it, never one above; no module imports itself
round a loop; and library errors name the Python parameter they are about, the commands the flag."""

import ast
import re
from pathlib import Path

import pytest

from modeling_vaner.errors import VanerError
from tests.conftest import REPO_ROOT

# Each layer, and the top-level packages of the repository its modules may import (besides their own).
MODEL = "modeling_vaner"
COMMANDS = "modeling_vaner.commands"
MAY_IMPORT = {
    MODEL: {MODEL},
    "harness": {MODEL},
    "model_card": {MODEL},
    "space": {MODEL, "harness"},  # a results file, read for the model's note (absent on the Hub: optional there)
    COMMANDS: {MODEL, COMMANDS, "harness", "space", "model_card"},
}
OURS = {MODEL, "harness", "space", "model_card"}


def layer_of(module: str) -> str:
    return COMMANDS if module == COMMANDS or module.startswith(COMMANDS + ".") else module.split(".")[0]


def imported_modules(path: Path, root: Path) -> set[str]:
    """Absolute names of every module `path` imports, at the top or inside functions, relative imports resolved."""
    package = ".".join(path.relative_to(root).with_suffix("").parts[:-1])
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)  # `from . import x` imports a module too
    return names


def arrows_up(root: Path = REPO_ROOT) -> list[str]:
    found = []
    for top in sorted(OURS):
        for path in sorted((root / top).rglob("*.py")):
            if "default_model" in path.parts:  # links to the remote code, scanned where they point
                continue
            module = ".".join(path.relative_to(root).with_suffix("").parts)
            allowed = MAY_IMPORT[layer_of(module)]
            for name in imported_modules(path, root):
                target = layer_of(name)
                if name.split(".")[0] in OURS and target != layer_of(module) and target not in allowed:
                    found.append(f"{path.relative_to(root)} imports {name} ({layer_of(module)} -> {target})")
    return found


def test_no_arrow_points_up():
    assert arrows_up() == []


def test_the_scan_sees_an_arrow_up(tmp_path):
    for top in OURS:
        (tmp_path / top).mkdir()
    (tmp_path / "modeling_vaner" / "commands").mkdir()
    (tmp_path / "modeling_vaner" / "model.py").write_text(
        "def f():\n    from .commands import cli\n    from harness.runner import run_eval\n"
    )
    (tmp_path / "harness" / "runner.py").write_text("from modeling_vaner.commands.hub import push_model\n")
    (tmp_path / "space" / "app.py").write_text("from harness.results import read_results\nimport modeling_vaner\n")
    (tmp_path / "modeling_vaner" / "commands" / "cli.py").write_text("from ...harness import runner\nimport space\n")
    assert sorted(arrows_up(tmp_path)) == [
        "harness/runner.py imports modeling_vaner.commands.hub (harness -> modeling_vaner.commands)",
        "harness/runner.py imports modeling_vaner.commands.hub.push_model (harness -> modeling_vaner.commands)",
        "modeling_vaner/model.py imports harness.runner (modeling_vaner -> harness)",
        "modeling_vaner/model.py imports harness.runner.run_eval (modeling_vaner -> harness)",
        "modeling_vaner/model.py imports modeling_vaner.commands (modeling_vaner -> modeling_vaner.commands)",
        "modeling_vaner/model.py imports modeling_vaner.commands.cli (modeling_vaner -> modeling_vaner.commands)",
    ]


def test_the_commands_find_the_packages_files_from_their_layer():
    from modeling_vaner.commands.cli import build_parser
    from modeling_vaner.commands.hub import package_code
    from modeling_vaner.configuration_vaner import REMOTE_CODE_FILES
    from modeling_vaner.loading import DEFAULT_MODEL_DIR

    # the default model's remote code links to the package's own files, one folder above the commands
    assert all(package_code(DEFAULT_MODEL_DIR / name) for name in REMOTE_CODE_FILES)
    assert not package_code(REPO_ROOT / "space" / "app.py")
    assert {"predict", "train", "eval", "push", "serve", "link-index"} <= set(
        build_parser()._subparsers._group_actions[0].choices
    )


def module_files(root: Path) -> dict[str, Path]:
    """Our modules by name (a package by its own name, its `__init__.py` the file)."""
    modules = {}
    for top in sorted(OURS):
        for path in sorted((root / top).rglob("*.py")):
            if "default_model" not in path.parts:
                parts = path.relative_to(root).with_suffix("").parts
                modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return modules


def import_graph(root: Path = REPO_ROOT) -> dict[str, set[str]]:
    """Module -> the modules of ours it imports (at the top or inside functions): `from a.b import c` names module
    a.b.c when there is one, else a.b; importing a.b.c runs the `__init__` of the packages above it as well, unless
    the importer is inside them."""
    modules = module_files(root)
    graph = {}
    for name, path in modules.items():
        targets = set()
        for imported in imported_modules(path, root):
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            while imported:
                if imported != name and not name.startswith(imported + "."):
                    targets.add(imported)
                imported = imported.rpartition(".")[0]
        graph[name] = targets
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The groups of modules that import each other, directly or round a loop (each sorted; none: an empty list)."""

    def reachable(start: str) -> set[str]:
        seen, todo = set(), [start]
        while todo:
            for target in graph.get(todo.pop(), ()):
                if target not in seen:
                    seen.add(target)
                    todo.append(target)
        return seen

    reach = {name: reachable(name) for name in graph}
    groups = {tuple(sorted(n for n in reach[name] if name in reach[n])) for name in graph if name in reach[name]}
    return sorted(list(group) for group in groups)


def test_no_module_imports_itself_round_a_loop():
    assert cycles(import_graph()) == []


def test_the_cycle_scan_sees_a_loop_through_a_function_and_a_package(tmp_path):
    for top in OURS:
        (tmp_path / top).mkdir()
    train = tmp_path / "modeling_vaner" / "training"
    train.mkdir()
    (train / "__init__.py").write_text("def __getattr__(name):\n    from . import run\n")
    (train / "run.py").write_text("from ..loading import load_vaner\n")
    (train / "heads.py").write_text("X = 1\n")
    (tmp_path / "modeling_vaner" / "loading.py").write_text("def f():\n    from .training.heads import X\n")
    (tmp_path / "modeling_vaner" / "corpora.py").write_text("from .loading import f\n")
    assert cycles(import_graph(tmp_path)) == [
        ["modeling_vaner.loading", "modeling_vaner.training", "modeling_vaner.training.run"]
    ]


# A flag of a command (`--datasets`) outside a command to run (`vaner eval --type-map` in backticks, `pip install
# --no-deps ...`): the words of the command line, which library code leaves to the commands (errors.VanerError.about).
FLAG = re.compile(r"(?<![\w-])--[a-z]")
RUN_THIS = re.compile(r"`[^`]*`|pip install [^)'\"]*")
# Library modules that still speak a command's flags, and why.
FLAGS_PENDING = {
    "modeling_vaner/bulk/job.py": "the sharded tagging job is vaner predict's, and names its options",
    "modeling_vaner/bulk/ray_engine.py": "as bulk/job.py",
    "modeling_vaner/bulk/shards.py": "as bulk/job.py",
}


def flags_in_library_errors(root: Path = REPO_ROOT) -> list[str]:
    """`file:line` of every error raised outside the commands whose message names a command-line flag."""
    found = []
    for top in sorted(OURS):
        for path in sorted((root / top).rglob("*.py")):
            if "commands" in path.parts or "default_model" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Raise) and node.exc is not None:
                    texts = [
                        n.value for n in ast.walk(node.exc) if isinstance(n, ast.Constant) and isinstance(n.value, str)
                    ]
                    if any(FLAG.search(RUN_THIS.sub("", text)) for text in texts):
                        found.append(f"{path.relative_to(root).as_posix()}:{node.lineno}")
    return found


def test_library_errors_name_python_parameters_not_flags():
    assert [place for place in flags_in_library_errors() if place.split(":")[0] not in FLAGS_PENDING] == []


def test_the_flag_scan_sees_a_flag_and_not_a_command_to_run(tmp_path):
    for top in OURS:
        (tmp_path / top).mkdir()
    (tmp_path / "harness" / "runner.py").write_text(
        "def f(spec):\n"
        "    raise ValueError(f'--datasets {spec}: no such corpus')\n"
        "def g():\n"
        "    raise ValueError('build it with `vaner link-index --output DIR` (pip install --no-deps x)')\n"
    )
    assert flags_in_library_errors(tmp_path) == ["harness/runner.py:2"]


def test_a_command_names_the_flag_a_python_caller_sees_as_a_parameter(tmp_path, capsys):
    from harness.runner import run_eval
    from modeling_vaner.commands.cli import main

    spec = f"{tmp_path / 'nowhere'}:Disease"
    with pytest.raises(VanerError) as raised:
        run_eval("unused-model", [spec], output=tmp_path / "r.json")
    assert str(raised.value).startswith(f"datasets {spec}: ") and "--" not in str(raised.value)
    assert main(["eval", "--datasets", spec, "--output", str(tmp_path / "r.json")]) == 2
    assert capsys.readouterr().err.startswith(f"vaner eval: --datasets {spec}: {tmp_path / 'nowhere'} is not a folder")
    assert main(["train", "--config", "configs/default_smollm2.yaml", "--corpora", spec]) == 2
    said = capsys.readouterr().err
    assert said.startswith(f"vaner train: --corpora on the command line: {spec}: ") and "--datasets" not in said
