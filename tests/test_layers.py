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


# Third-party packages that take seconds to import (or start a runtime). A module imports a sibling of ours inside a
# function only to keep one of these off its own import (`vaner --help` answers without torch, the Space's page
# before a model), or where the sibling may be absent (under `except ImportError`: the Space on the Hub has no
# package); every other import of ours is at the top, where a reader looks for it.
HEAVY = {
    "torch",
    "transformers",
    "peft",
    "datasets",
    "evaluate",
    "accelerate",
    "gradio",
    "ray",
    "onnxruntime",
    "onnx",
    "spacy",
    "huggingface_hub",
}


def lazy_names() -> dict[str, dict[str, str]]:
    """Our packages' names that their `__getattr__` loads on first use -> the module that defines each."""
    import modeling_vaner
    from modeling_vaner import training

    return {
        "modeling_vaner": {name: f"modeling_vaner.{module}" for name, module in modeling_vaner._EXPORTS.items()},
        "modeling_vaner.training": dict.fromkeys(training.RUN_NAMES, "modeling_vaner.training.run"),
    }


def own_imports(path: Path, module: str, modules: dict[str, Path]):
    """(line, module imported, inside a function, under `except ImportError`) for each import in `path`: of ours as
    the module it loads (a package's lazy name as its defining module), of others as their top-level package."""
    lazy, found = lazy_names(), []
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]

    def loaded(node) -> list[str]:
        if isinstance(node, ast.Import):
            return [alias.name for alias in node.names]
        base = node.module or ""
        if node.level:
            parts = package.split(".")
            base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
        names = []
        for alias in node.names:
            name = lazy.get(base, {}).get(alias.name) or f"{base}.{alias.name}"
            while name not in modules and name.split(".")[0] in OURS and "." in name:
                name = name.rpartition(".")[0]
            names.append(name if name.split(".")[0] in OURS else base.split(".")[0])
        return names

    def visit(node, in_function: bool, guarded: bool):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                found.extend((child.lineno, name, in_function, guarded) for name in loaded(child))
            elif isinstance(child, ast.Try):
                optional = any("ImportError" in ast.unparse(h.type) for h in child.handlers if h.type is not None)
                for statement in child.body:
                    visit(ast.Module([statement]), in_function, guarded or optional)
                for rest in (*child.handlers, *child.orelse, *child.finalbody):
                    visit(rest, in_function, guarded)
            else:
                visit(child, in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef), guarded)

    visit(ast.parse(path.read_text(encoding="utf-8")), False, False)
    return found


def needless_deferrals(root: Path = REPO_ROOT) -> list[str]:
    """Imports of ours inside functions that keep nothing in `HEAVY` off the importing module's own import."""
    modules = module_files(root)
    imports = {name: own_imports(path, name, modules) for name, path in modules.items()}
    memo: dict[str, set[str]] = {}

    def heavy(name: str) -> set[str]:
        """What importing `name` loads of `HEAVY` (its packages' `__init__`s, then its top-level imports)."""
        if name not in memo:
            memo[name] = set()
            parents = [name.rsplit(".", depth)[0] for depth in range(1, name.count(".") + 1)]
            top = [target for _, target, in_function, _ in imports[name] if not in_function]
            for target in [*parents, *top]:
                memo[name] |= heavy(target) if target in modules else {target} & HEAVY
        return memo[name]

    return [
        f"{modules[name].relative_to(root).as_posix()}:{line} imports {target} inside a function"
        for name in modules
        for line, target, in_function, guarded in imports[name]
        if in_function and not guarded and target in modules and not heavy(target) - heavy(name)
    ]


def test_imports_of_ours_inside_functions_defer_a_heavy_package():
    assert needless_deferrals() == []


def test_the_deferral_scan_sees_an_import_that_defers_nothing(tmp_path):
    for top in OURS:
        (tmp_path / top).mkdir()
    (tmp_path / "modeling_vaner" / "light.py").write_text("import json\n")
    (tmp_path / "modeling_vaner" / "heavy.py").write_text("import torch\n")
    (tmp_path / "modeling_vaner" / "user.py").write_text(
        "def f():\n    from .light import x\n    from .heavy import y\n"
        "def g():\n    try:\n        from .light import z\n    except ImportError:\n        pass\n"
    )
    (tmp_path / "harness" / "runner.py").write_text("import torch\ndef f():\n    from modeling_vaner.heavy import y\n")
    assert needless_deferrals(tmp_path) == [
        "harness/runner.py:3 imports modeling_vaner.heavy inside a function",
        "modeling_vaner/user.py:2 imports modeling_vaner.light inside a function",
    ]


# A flag of a command (`--datasets`) outside a command to run (`vaner eval --type-map` in backticks, `pip install
# --no-deps ...`): the words of the command line, which library code leaves to the commands (errors.VanerError.about).
FLAG = re.compile(r"(?<![\w-])--[a-z]")
RUN_THIS = re.compile(r"`[^`]*`|pip install [^)'\"]*")


def text_of(node: ast.Constant | ast.JoinedStr) -> str:
    """A string's text, an f-string's with `x` for each value it formats (`f"--{name}s"` reads `--xs`)."""
    if isinstance(node, ast.Constant):
        return node.value if isinstance(node.value, str) else ""
    return "".join(text_of(part) if isinstance(part, ast.Constant) else "x" for part in node.values)


def flags_in_library_errors(root: Path = REPO_ROOT) -> list[str]:
    """`file:line` of every error raised outside the commands whose message names a command-line flag."""
    found = []
    for top in sorted(OURS):
        for path in sorted((root / top).rglob("*.py")):
            if "commands" in path.parts or "default_model" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Raise) and node.exc is not None:
                    texts = [text_of(n) for n in ast.walk(node.exc) if isinstance(n, ast.Constant | ast.JoinedStr)]
                    if any(FLAG.search(RUN_THIS.sub("", text)) for text in texts):
                        found.append(f"{path.relative_to(root).as_posix()}:{node.lineno}")
    return found


def test_library_errors_name_python_parameters_not_flags():
    assert flags_in_library_errors() == []


def test_the_flag_scan_sees_a_flag_and_not_a_command_to_run(tmp_path):
    for top in OURS:
        (tmp_path / top).mkdir()
    (tmp_path / "harness" / "runner.py").write_text(
        "def f(spec):\n"
        "    raise ValueError(f'--datasets {spec}: no such corpus')\n"
        "def g():\n"
        "    raise ValueError('build it with `vaner link-index --output DIR` (pip install --no-deps x)')\n"
        "def h(kind):\n"
        "    raise ValueError(f'--{kind}s-per-actor: too many')\n"
    )
    assert flags_in_library_errors(tmp_path) == ["harness/runner.py:2", "harness/runner.py:6"]


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
