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

from tests.conftest import git, small_workspace, write
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
    root = small_workspace(tmp_path, monkeypatch, UPSTREAM)
    monkeypatch.setenv("WORKBENCH_CACHE", str(shared_cache))
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


def _run(wb, *flags: str):
    res = wb("tests", "run", "calc", *flags)
    return res, (json.loads(res.out) if "--json" in flags else None)


@pytest.mark.slow
def test_the_regression_is_the_second_patch_s_and_no_other_s(calc: Path, wb):
    patches = _series(calc, wb, *THREE)
    res, doc = _run(wb, "--per-patch", "--json")
    assert res.code == 1, res.err
    # The whole run is what it is without the flag.
    assert [r["id"] for r in doc["regressions"]] == ["test/test_core.py::test_add"]
    assert doc["schema"] == 2
    assert doc["per_patch"] == [
        {"patch": patches[0], "step": 1, "regressions": [], "fixed": [], "skipped": None},
        {
            "patch": patches[1],
            "step": 2,
            "regressions": ["test/test_core.py::test_add"],
            "fixed": [],
            "skipped": None,
        },
        {"patch": patches[2], "step": 3, "regressions": [], "fixed": [], "skipped": None},
    ]
    cost = doc["per_patch_cost"]
    assert set(cost) == {"method", "builds", "runs", "seconds", "note"}
    # Steps 1 and 2 built and run once each; the baseline again on what failed at a step.
    assert (cost["method"], cost["builds"], cost["runs"], cost["note"]) == ("linear", 2, 2, None)
    assert isinstance(cost["seconds"], float)
    run_dir = calc / ".workbench" / "runs" / "calc" / doc["run_id"]
    assert json.loads((run_dir / "tests.json").read_text()) == doc
    assert (run_dir / "junit-step1.xml").is_file() and (run_dir / "junit-step2.xml").is_file()

    # A second run builds nothing, and says the same in words.
    again = wb("tests", "run", "calc", "--per-patch")
    assert again.code == 1
    assert f"{patches[0]}: no change\n" in again.out
    assert f"{patches[1]}: 1 regression: test/test_core.py::test_add\n" in again.out
    assert f"{patches[2]}: no change\n" in again.out
    assert "per patch: linear, 0 build(s), 2 pytest run(s)," in again.out
    assert "1 regression(s): test/test_core.py::test_add" in again.err


@pytest.mark.slow
def test_a_patch_of_only_documentation_is_skipped(calc: Path, wb):
    patches = _series(
        calc,
        wb,
        ("README.md", ("# calc\n", "# calc\n\nAdds and multiplies.\n"), "Say what calc does"),
        *THREE[1:],
    )
    res, doc = _run(wb, "--per-patch", "--json")
    assert res.code == 1, res.err
    [readme, breaks, work] = doc["per_patch"]
    assert readme == {
        "patch": patches[0],
        "step": 1,
        "regressions": [],
        "fixed": [],
        "skipped": "touches no code a selected test runs",
    }
    assert breaks["regressions"] == ["test/test_core.py::test_add"] and breaks["skipped"] is None
    assert work["regressions"] == [] and work["skipped"] is None
    # Only step 2 is built and run: step 1 has the pin's outcome, and what fails at step 2
    # already ran on the baseline in the whole run.
    assert (doc["per_patch_cost"]["builds"], doc["per_patch_cost"]["runs"]) == (1, 1)
    text = wb("tests", "run", "calc", "--per-patch").out
    assert f"{patches[0]}: skipped: touches no code a selected test runs\n" in text


@pytest.mark.slow
def test_bisect_runs_only_the_regressions_and_says_what_it_cannot_see(calc: Path, wb):
    patches = _series(calc, wb, *THREE)
    res, doc = _run(wb, "--per-patch=bisect", "--json")
    assert res.code == 1, res.err
    assert [p["regressions"] for p in doc["per_patch"]] == [
        [],
        ["test/test_core.py::test_add"],
        [],
    ]
    assert [p["patch"] for p in doc["per_patch"]] == patches
    cost = doc["per_patch_cost"]
    # Between the baseline (good) and step 3 (bad): step 2 (bad), then step 1 (good).
    assert (cost["method"], cost["builds"], cost["runs"]) == ("bisect", 2, 2)
    assert "broken and fixed in between cannot be seen" in cost["note"]


@pytest.mark.slow
def test_a_series_that_breaks_nothing_has_no_change_anywhere(calc: Path, wb):
    _series(calc, wb, THREE[0], THREE[2])
    res, doc = _run(wb, "--per-patch", "--json")
    assert res.code == 0, res.err
    assert [(p["regressions"], p["fixed"], p["skipped"]) for p in doc["per_patch"]] == [
        ([], [], None),
        ([], [], None),
    ]
    # Nothing failed anywhere: step 1 runs, the baseline has nothing to run again.
    assert (doc["per_patch_cost"]["builds"], doc["per_patch_cost"]["runs"]) == (1, 1)


def test_without_the_flag_nothing_changes(calc: Path, wb):
    _series(calc, wb, *THREE)
    res, doc = _run(wb, "--json")
    assert res.code == 1
    assert doc["schema"] == 1 and "per_patch" not in doc and "per_patch_cost" not in doc
    assert not (calc / ".workbench" / "steps").exists()


def test_a_worktree_that_is_not_the_series_exits_2_with_one_line(calc: Path, wb):
    _series(calc, wb, *THREE[:2])
    write(_patched(calc) / "calc" / "core.py", CORE)
    res = wb("tests", "run", "calc", "--per-patch")
    assert res.code == 2
    assert res.err.count("\n") == 1 and res.err.startswith("workbench: upstreams/calc/patched ")
    assert "(commit them and run `workbench patches refresh calc` first)" in res.err
    git(_patched(calc), "commit", "-q", "-am", "Back to the pin")
    res = wb("tests", "run", "calc", "--per-patch")
    assert res.code == 2
    assert res.err == (
        "workbench: upstreams/calc/patched has commits that are not in the series' patch files "
        "(run `workbench patches refresh calc` first)\n"
    )


@pytest.mark.slow
def test_tests_chosen_by_hand_run_at_every_step(calc: Path, wb):
    patches = _series(
        calc,
        wb,
        ("README.md", ("# calc\n", "# calc\n\nAdds and multiplies.\n"), "Say what calc does"),
        *THREE[1:],
    )
    res, doc = _run(wb, "--per-patch", "--json", "--", "test/test_core.py", "-k", "add")
    assert res.code == 1, res.err
    assert doc["counts"]["passed"] == 0 and doc["counts"]["failed"] == 1
    assert [(p["patch"], p["regressions"], p["skipped"]) for p in doc["per_patch"]] == [
        (patches[0], [], None),
        (patches[1], ["test/test_core.py::test_add"], None),
        (patches[2], [], None),
    ]
    cost = doc["per_patch_cost"]
    assert (cost["builds"], cost["runs"]) == (2, 2)
    assert cost["note"] == "the tests were chosen by hand (after --): no patch is skipped"


def test_many_regressions_of_one_patch_are_listed_one_per_line(capsys):
    from workbench.selection import cli as selection_cli

    ids = [f"test/test_core.py::test_{i}" for i in range(5)]
    doc = {
        "per_patch": [
            {"patch": "0001-a.patch", "step": 1, "regressions": ids, "fixed": [], "skipped": None},
            {
                "patch": "0002-b.patch",
                "step": 2,
                "regressions": [],
                "fixed": ids[:1],
                "skipped": None,
            },
        ],
        "per_patch_cost": {
            "method": "linear",
            "builds": 1,
            "runs": 1,
            "seconds": 1.0,
            "note": None,
        },
    }
    selection_cli._print_per_patch(doc)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "0001-a.patch: 5 regressions"
    assert lines[1:6] == [f"    regression: {i}" for i in ids]
    assert lines[6] == "0002-b.patch: 1 fixed: test/test_core.py::test_0"


def test_an_empty_series_says_it_has_no_patch(capsys):
    from workbench.selection import cli as selection_cli

    cost = {"method": "linear", "builds": 0, "runs": 0, "seconds": 0.0, "note": None}
    selection_cli._print_per_patch({"per_patch": [], "per_patch_cost": cost})
    assert capsys.readouterr().out.splitlines()[0] == "the series has no patch yet"
