"""Per-patch attribution on a small pure-Python upstream with a three-patch series.

The steps of a series are the patched worktree's commits on the pin, one per patch; each step in
between gets a worktree and an environment of its own, made once and reused. ``tests run
--per-patch`` names the patch that broke each regression (patch 2 here) and no other, skips a
patch that touches no code a selected test runs, and writes what the attribution cost.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import editable_install, git, recipe_toml, write
from workbench.config import load_recipe
from workbench.envs.builder import EnvBuilder
from workbench.errors import UsageError
from workbench.paths import Workspace
from workbench.steps.envs import step_env, step_worktree
from workbench.steps.series import series_steps

CORE = """\
def add(a, b):
    return a + b


def mul(a, b):
    return a * b
"""

UPSTREAM = {
    "pyproject.toml": (
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "calc"\nversion = "1.0"\n\n[tool.setuptools]\npackages = ["calc"]\n'
    ),
    "README.md": "# calc\n",
    "calc/__init__.py": "",
    "calc/core.py": CORE,
    "test/test_core.py": (
        "from calc.core import add, mul\n\n\n"
        "def test_add():\n    assert add(2, 3) == 5\n\n\n"
        "def test_mul():\n    assert mul(2, 3) == 6\n"
    ),
}

HARMLESS = ("    return a * b\n", '    """The product."""\n    return a * b\n')
BREAKS_ADD = ("    return a + b\n", "    return a + b + 1\n")
MORE_WORK = ("    return a * b\n", "    return sum(a for _ in range(b))\n")


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One deps environment for the whole module: each test builds only its own sides."""
    return tmp_path_factory.mktemp("workbench-cache")


@pytest.fixture
def calc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wb, shared_cache: Path) -> Path:
    up = tmp_path / "calc-upstream"
    for name, text in UPSTREAM.items():
        write(up / name, text)
    git(up, "init", "-q", "-b", "main")
    git(up, "add", "-A")
    git(up, "commit", "-q", "-m", "calc 1.0")
    git(up, "tag", "v1.0")
    root = tmp_path / "wb"
    write(
        root / "upstreams" / "calc" / "recipe.toml",
        recipe_toml("calc", up.as_posix(), build=editable_install([])),
    )
    write(root / "patches" / "calc" / "series", "")
    monkeypatch.setenv("WORKBENCH_ROOT", str(root))
    monkeypatch.setenv("WORKBENCH_CACHE", str(shared_cache))
    monkeypatch.chdir(root)
    assert wb("upstream", "fetch", "calc").code == 0
    return root


def _patched(root: Path) -> Path:
    return root / "upstreams" / "calc" / "patched"


def _patch(root: Path, file: str, change: tuple[str, str], message: str) -> None:
    """One commit in the patched worktree replacing ``change[0]`` by ``change[1]`` in ``file``."""
    path = _patched(root) / file
    text = path.read_text()
    assert change[0] in text
    path.write_text(text.replace(change[0], change[1], 1))
    git(_patched(root), "commit", "-q", "-am", message)


def _series(root: Path, wb, *patches: tuple[str, tuple[str, str], str]) -> list[str]:
    for file, change, message in patches:
        _patch(root, file, change, message)
    assert wb("patches", "refresh", "calc").code == 0
    return (root / "patches" / "calc" / "series").read_text().split()


THREE = (
    ("calc/core.py", HARMLESS, "Document mul"),
    ("calc/core.py", BREAKS_ADD, "Rework add"),
    ("calc/core.py", MORE_WORK, "Compute mul by sums"),
)


def _builder(root: Path) -> EnvBuilder:
    ws = Workspace(root)
    return EnvBuilder(ws, load_recipe(ws, "calc"))


def test_steps_are_the_patched_commits_one_per_patch(calc: Path, wb):
    patches = _series(calc, wb, *THREE)
    steps = series_steps(_builder(calc))
    assert [(s.index, s.patch) for s in steps] == [(0, None), *enumerate(patches, 1)]
    assert steps[0].commit == git(calc / "upstreams" / "calc" / "base", "rev-parse", "HEAD")
    assert steps[-1].commit == git(_patched(calc), "rev-parse", "HEAD")
    assert [s.changed_files for s in steps] == [[], *[["calc/core.py"]] * 3]

    builder = _builder(calc)
    assert step_worktree(builder, steps[0]) == calc / "upstreams" / "calc" / "base"
    assert step_worktree(builder, steps[3]) == _patched(calc)
    middle = step_worktree(builder, steps[2])
    assert middle.parent == calc / ".workbench" / "steps" / "calc"
    assert "a + b + 1" in (middle / "calc" / "core.py").read_text()
    assert "sum(" not in (middle / "calc" / "core.py").read_text()
    assert step_worktree(builder, steps[2]) == middle  # reused

    env = step_env(builder, steps[2])
    assert env.rebuilt and env.worktree == middle
    assert env.path.parent == calc / ".workbench" / "envs" / "calc" / "steps"
    again = step_env(_builder(calc), steps[2])
    assert not again.rebuilt and again.path == env.path


def test_steps_refuse_a_worktree_that_is_not_the_series(calc: Path, wb):
    _series(calc, wb, *THREE[:1])
    write(_patched(calc) / "calc" / "core.py", CORE + "# scratch\n")
    with pytest.raises(UsageError, match="uncommitted changes") as dirty:
        series_steps(_builder(calc))
    assert dirty.value.hint == "commit them and run `workbench patches refresh calc` first"
    git(_patched(calc), "commit", "-q", "-am", "Not refreshed yet")
    with pytest.raises(UsageError, match="commits that are not in the series") as unsaved:
        series_steps(_builder(calc))
    assert unsaved.value.hint == "run `workbench patches refresh calc` first"
