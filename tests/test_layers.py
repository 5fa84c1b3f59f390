"""Layering: the library imports without Textual; every CLI command answers --help."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

import workbench
from workbench.cli import build_parser

PACKAGE = Path(workbench.__file__).resolve().parent


def _module_name(file: Path) -> str:
    parts = file.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


# From the files, not pkgutil: a folder without __init__.py (a namespace package) counts too.
MODULES = sorted(_module_name(f) for f in PACKAGE.rglob("*.py") if "__pycache__" not in f.parts)
LIBRARY = [m for m in MODULES if m != "workbench.tui" and not m.startswith("workbench.tui.")]


def test_library_modules_exist():
    assert {"workbench.config", "workbench.gitops.engine", "workbench.cli"} <= set(LIBRARY)
    assert {"workbench.envs.builder", "workbench.bench.worker"} <= set(LIBRARY)
    assert "workbench.tui.app" in MODULES and "workbench.tui.app" not in LIBRARY


def test_only_the_tui_imports_textual():
    import ast

    importers = []
    for file in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(file.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            if any(n == "textual" or n.startswith("textual.") for n in names):
                importers.append(_module_name(file))
    assert importers and all(m.startswith("workbench.tui") for m in importers), importers


def test_the_import_contracts_hold():
    """pyproject.toml's [tool.importlinter] contracts: no module outside workbench.tui imports
    Textual, directly or through others, and the packages keep their layers. (In a process of
    its own: ``lint-imports`` configures logging, which would silence the loggers of later tests.)
    """
    lint = "import sys; from importlinter.cli import lint_imports_command as c; sys.exit(c())"
    proc = subprocess.run(
        [sys.executable, "-c", lint, "--no-cache", "--no-logo", "pyproject.toml"],
        cwd=PACKAGE.parent,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_the_textual_contract_names_every_library_package():
    """A new module of workbench/ outside the TUI is held to the contract from its first day."""
    import tomllib

    config = tomllib.loads((PACKAGE.parent / "pyproject.toml").read_text())
    [contract] = [
        c for c in config["tool"]["importlinter"]["contracts"] if c["type"] == "forbidden"
    ]
    assert contract["forbidden_modules"] == ["textual"]
    top = {".".join(m.split(".")[:2]) for m in LIBRARY if m != "workbench"}
    assert sorted(contract["source_modules"]) == sorted(top)


def test_no_library_module_loads_textual_when_imported():
    """The same at run time, in one interpreter: each library module is imported in turn and
    the first after which Textual is loaded is named (``__main__`` runs the CLI, which must
    exit 0)."""
    code = (
        "import importlib, sys\n"
        f"for module in {LIBRARY!r}:\n"
        "    try:\n"
        "        importlib.import_module(module)\n"
        "    except SystemExit as exc:\n"
        "        if exc.code:\n"
        "            sys.exit(f'{module} exited {exc.code}')\n"
        "    if 'textual' in sys.modules:\n"
        "        sys.exit(module + ' imports textual')\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def _commands(parser, prefix=()):
    for action in parser._actions:
        choices = getattr(action, "choices", None)
        if isinstance(choices, dict):
            for name, sub in choices.items():
                yield (*prefix, name)
                yield from _commands(sub, (*prefix, name))


COMMANDS = list(_commands(build_parser()))


def test_the_contract_commands_are_there():
    for cmd in [
        ("upstream", "fetch"),
        ("patches", "status"),
        ("patches", "apply"),
        ("patches", "refresh"),
        ("patches", "rebase"),
        ("patches", "range-diff"),
        ("doctor",),
    ]:
        assert cmd in COMMANDS


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_every_command_has_help(command):
    proc = subprocess.run(
        [sys.executable, "-m", "workbench", *command, "--help"], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: workbench " + " ".join(command))


@pytest.mark.parametrize("command", [(), *COMMANDS], ids=lambda c: " ".join(c) or "workbench")
def test_every_command_rejects_a_bad_option_in_one_line(command):
    proc = subprocess.run(
        [sys.executable, "-m", "workbench", *command, "--no-such-option"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert (
        "--no-such-option" in proc.stderr or "required" in proc.stderr or "invalid" in proc.stderr
    )


def test_usage_errors_exit_2_in_one_line(workspace):
    proc = subprocess.run(
        [sys.executable, "-m", "workbench", "patches", "rebase", "demo"],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr
    assert "--onto" in proc.stderr


def test_the_cli_starts_without_git_on_path(tmp_path):
    """GitPython refuses to import without git: no command may import it before it runs."""
    env = {"PATH": str(tmp_path), "HOME": str(tmp_path)}
    proc = subprocess.run(
        [sys.executable, "-m", "workbench", "--help"], capture_output=True, text=True, env=env
    )
    assert proc.returncode == 0, proc.stderr
    assert "pr" in proc.stdout and "Traceback" not in proc.stderr


def test_the_cli_starts_without_loading_heavy_libraries():
    """Every command registers every parser: what `import workbench.cli` loads is paid by all of
    them (a re-run of `nox -s ao_bench` reaches its benchmarks in about a second)."""
    heavy = ("github", "git", "textual", "torch", "requests")
    code = f"import sys, workbench.cli; print(','.join(m for m in {heavy!r} if m in sys.modules))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""


def test_only_paths_names_the_state_folder():
    """``.workbench/`` moves with WORKBENCH_HOME: one module may spell it, the rest ask it."""
    import ast

    pkg = Path(__file__).resolve().parent.parent / "workbench"
    found = []
    for file in sorted(pkg.rglob("*.py")):
        if file.name == "paths.py" and file.parent == pkg:
            continue
        for node in ast.walk(ast.parse(file.read_text())):
            if isinstance(node, ast.Constant) and node.value == ".workbench":
                found.append(f"{file.relative_to(pkg)}:{node.lineno}")
    assert not found


def _handlers(parser: argparse.ArgumentParser) -> set[str]:
    """The modules of the functions a command (and its subcommands) runs."""
    found = {parser.get_default("func").__module__} if parser.get_default("func") else set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found |= _handlers(sub)
    return found


def test_each_command_lives_in_the_package_named_after_it_or_in_homes():
    from workbench.cli import HOMES

    top = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    for name, parser in top.choices.items():
        home = f"workbench.{HOMES.get(name, name)}"
        modules = _handlers(parser)
        assert modules and all(m == home or m.startswith(home + ".") for m in modules), (
            name,
            modules,
        )
        assert (PACKAGE / HOMES.get(name, name)).exists() or (
            PACKAGE / f"{HOMES.get(name, name)}.py"
        ).exists()
    assert set(HOMES) <= set(top.choices), "HOMES names a command that does not exist"


def test_ci_runs_the_readme_test_command():
    readme = (PACKAGE.parent / "README.md").read_text()
    commands = [b.split("```", 1)[0].strip() for b in readme.split("```sh\n")[1:3]]
    ci = (PACKAGE.parent / ".ci" / "run").read_text().strip().splitlines()[-1]
    assert ci == commands[1], (ci, commands)
    assert "typecheck" in ci and "tests" in ci
