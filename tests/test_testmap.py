"""Test maps on a small pure-Python upstream: selection by the code each test runs.

Every test file imports the package, whose ``__init__`` re-exports the changed module, so the
import graph selects them all; the map picks exactly the tests that run the changed function.
A function no test runs is reported as not exercised, module-level code falls back to whole
files, a map of another pin is stale and not used, and a map killed half-way goes on.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import editable_install, git, recipe_toml, small_workspace, write
from workbench.selection import blocks

pytestmark = pytest.mark.slow  # each test installs the upstream and runs its tests to map them

CORE = """\
LIMIT = 100


def add(a, b):
    return min(a + b, LIMIT)


def mul(a, b):
    return a * b


def unused_helper(x):
    # No test calls this.
    return x - 1


class Acc:
    def __init__(self):
        self.total = 0

    def push(self, v):
        self.total = add(self.total, v)
        return self
"""

UPSTREAM = {
    "pyproject.toml": (
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "calc"\nversion = "1.0"\n\n[tool.setuptools]\npackages = ["calc"]\n'
    ),
    "calc/__init__.py": "from calc.core import Acc, add, mul, unused_helper\n",
    "calc/core.py": CORE,
    "test/test_add.py": "from calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n",
    "test/test_mul.py": "from calc import mul\n\n\ndef test_mul():\n    assert mul(2, 3) == 6\n",
    "test/test_mixed.py": (
        "from calc import Acc, add, mul\n\n\n"
        "def test_add_only():\n    assert add(1, 1) == 2\n\n\n"
        "def test_mul_only():\n    assert mul(2, 2) == 4\n\n\n"
        "class TestAcc:\n    def test_push(self):\n        assert Acc().push(3).push(4).total == 7\n"
    ),
    "test/test_gpu_only.py": (
        "import pytest\n\npytest.skip('needs CUDA', allow_module_level=True)\n"
    ),
    "test/test_zz_last.py": (
        "import os\nimport time\n\nfrom calc.core import LIMIT\n\n\n"
        "def test_last():\n"
        "    if os.environ.get('CALC_SLOW_TEST'):\n        time.sleep(120)\n"
        "    assert LIMIT >= 4\n"
    ),
}


def _recipe(url: str) -> str:
    return recipe_toml(
        "calc",
        url,
        build=editable_install([]),
        test_packages=["pytest"],
        tests_cpu={"note": "CPU only."},
    )


@pytest.fixture
def calc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wb) -> Path:
    root = small_workspace(tmp_path, monkeypatch, UPSTREAM, _recipe("{url}"))
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path / "cache"))
    assert wb("upstream", "fetch", "calc").code == 0
    return root


def _change(root: Path, wb, old: str, new: str, message: str) -> None:
    patched = root / "upstreams" / "calc" / "patched"
    core = patched / "calc" / "core.py"
    text = core.read_text()
    assert old in text
    core.write_text(text.replace(old, new))
    git(patched, "commit", "-q", "-am", message)
    assert wb("patches", "refresh", "calc").code == 0


def _select(wb) -> dict:
    res = wb("tests", "select", "calc", "--json")
    assert res.code == 0, res.err
    return json.loads(res.out)


def test_the_map_selects_the_tests_that_run_the_changed_function(calc: Path, wb):
    _change(calc, wb, "    return a * b\n", "    return a * b + 1\n", "mul: off by one")
    # Without a map: whole files, each that imports calc.core or its names: all 6 tests.
    before = _select(wb)
    assert before["map"] is None and before["map_note"] is None
    assert {t["path"] for t in before["tests"]} == {
        "test/test_add.py",
        "test/test_mul.py",
        "test/test_mixed.py",
        "test/test_zz_last.py",
    }

    res = wb("tests", "map", "calc", "--json")
    assert res.code == 0, res.err
    summary = json.loads(res.out)
    # Five test files, one of which skips itself whole: mapped too, with no test.
    assert summary["complete"] and summary["tests"] == 6 and summary["test_files"] == 5

    sel = _select(wb)
    assert sel["map"]["tests"] == 6 and sel["map_note"] is None
    picked = {t["path"]: t["reasons"] for t in sel["tests"]}
    assert set(picked) == {"test/test_mul.py::test_mul", "test/test_mixed.py::test_mul_only"}
    assert picked["test/test_mul.py::test_mul"] == ["runs calc/core.py::mul (changed)"]
    assert sel["not_exercised"] == []

    # tests run passes exactly those node ids to pytest, and catches the regression in both.
    res = wb("tests", "run", "calc", "--json")
    assert res.code == 1, res.err
    doc = json.loads(res.out)
    assert doc["counts"] == {"passed": 0, "failed": 2, "error": 0, "skipped": 0}
    assert {r["id"] for r in doc["regressions"]} == set(picked)
    assert doc["map"]["complete"] and doc["not_exercised"] == []


def test_a_method_change_picks_the_test_of_the_method_and_its_callers(calc: Path, wb):
    assert wb("tests", "map", "calc").code == 0
    _change(calc, wb, "        self.total = add(", "        self.total = 0 + add(", "push: no-op")
    sel = _select(wb)
    assert [t["path"] for t in sel["tests"]] == ["test/test_mixed.py::TestAcc::test_push"]
    assert sel["tests"][0]["reasons"] == ["runs calc/core.py::Acc.push (changed)"]


def test_changed_code_that_no_test_runs_is_reported(calc: Path, wb):
    assert wb("tests", "map", "calc").code == 0
    _change(calc, wb, "    return x - 1\n", "    return x - 2\n", "unused_helper: other step")
    sel = _select(wb)
    assert sel["tests"] == []
    [gap] = sel["not_exercised"]
    assert gap == {
        "file": "calc/core.py",
        "block": "unused_helper",
        "how": "changed",
        "device": "cpu",
    }
    shown = wb("tests", "select", "calc")
    assert "not exercised on cpu" in shown.out and "calc/core.py::unused_helper" in shown.out
    assert "workbench remote run calc --session tests" in shown.out

    # A GPU runner's map of the same pin (brought home by `remote run --session map`) says
    # which tests run it there.
    [cpu_map] = (calc / ".workbench" / "envs" / "calc" / "maps").iterdir()
    meta = json.loads((cpu_map / "meta.json").read_text())
    gpu_map = cpu_map.with_name(cpu_map.name.replace("-cpu-", "-cuda-"))
    write(gpu_map / "meta.json", json.dumps({**meta, "device": "cuda"}))
    test = "test/test_gpu.py::test_helper_on_gpu"
    gpu_file = {"file": "test/test_gpu.py", "errors": [], "tests": {}}
    gpu_file["tests"][test] = {"outcome": "passed", "seconds": 0.1, "code": [["calc/core.py", 12]]}
    write(gpu_map / "files" / "test__test_gpu.json", json.dumps(gpu_file))
    [gap_there] = _select(wb)["not_exercised"]
    assert gap_there["elsewhere"] == {"cuda": [test]}
    shutil.rmtree(gpu_map)

    res = wb("tests", "run", "calc", "--json")
    assert res.code == 0, res.err
    doc = json.loads(res.out)
    assert doc["not_exercised"] == [gap]
    # Where contributors look: the Runs tab's detail pane, and the PR draft's test plan.
    from workbench.paths import Workspace
    from workbench.runs import list_runs
    from workbench.tui.detail import run_markdown

    [run] = list_runs(Workspace.discover(), "calc", "tests")
    detail = run_markdown(run, True)
    assert "Not exercised on cpu" in detail and "calc/core.py::unused_helper" in detail
    draft = wb("pr", "draft", "calc")
    assert draft.code == 0, draft.err
    assert "calc/core.py::unused_helper" in draft.out and "not exercised on cpu" in draft.out


def test_module_level_code_falls_back_to_whole_files(calc: Path, wb):
    assert wb("tests", "map", "calc").code == 0
    _change(calc, wb, "LIMIT = 100\n", "LIMIT = 4\n", "lower the limit")
    sel = _select(wb)
    paths = {t["path"] for t in sel["tests"]}
    # The import graph's files, not node ids: a constant is read at import, outside any test.
    assert paths == {
        "test/test_add.py",
        "test/test_mul.py",
        "test/test_mixed.py",
        "test/test_zz_last.py",
    }
    assert all("module-level code changed" in r for t in sel["tests"] for r in t["reasons"])


def test_a_map_of_another_pin_is_stale_and_not_used(calc: Path, wb, monkeypatch):
    assert wb("tests", "map", "calc").code == 0
    up = calc.parent / "calc-upstream"
    write(up / "README.md", "calc\n")
    write(
        up / "test" / "test_add.py",
        UPSTREAM["test/test_add.py"] + "\n\ndef test_zero():\n    assert add(0, 0) == 0\n",
    )
    git(up, "add", "-A")
    git(up, "commit", "-q", "-m", "docs")
    git(up, "tag", "v1.1")
    monkeypatch.setenv("WORKBENCH_CALC_PIN", "v1.1")
    assert wb("upstream", "fetch", "calc").code == 0
    _change(calc, wb, "    return a * b\n", "    return a * b + 1\n", "mul: off by one")
    sel = _select(wb)
    assert sel["map"] is None
    assert "the test map is stale (made at" in sel["map_note"]
    assert "workbench tests map calc" in sel["map_note"]
    # Whole files again, as without a map.
    assert {t["path"] for t in sel["tests"]} >= {"test/test_mul.py", "test/test_mixed.py"}

    # Refreshed: only the test file that changed between the pins runs again.
    res = wb("tests", "map", "calc", "--refresh", "--json")
    assert res.code == 0, res.err
    summary = json.loads(res.out)
    assert summary["refreshed"]["kept"] == 4 and summary["resumed_from"] == 4
    assert summary["complete"] and summary["tests"] == 7
    assert {t["path"] for t in _select(wb)["tests"]} == {
        "test/test_mul.py::test_mul",
        "test/test_mixed.py::test_mul_only",
    }


def test_a_killed_map_keeps_what_finished_and_goes_on(calc: Path, wb):
    env = {**os.environ, "CALC_SLOW_TEST": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "workbench", "tests", "map", "calc"],
        env=env,
        cwd=calc,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    maps = calc / ".workbench" / "envs" / "calc" / "maps"
    try:
        # The three files before the slow one are written as each ends.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            done = list(maps.glob("*/files/*.json"))
            if len(done) >= 3:
                break
            time.sleep(0.2)
        assert len(done) == 3, done
        # Stopped the way a user stops it: pytest goes with it, and the time spent is kept.
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 128 + signal.SIGTERM
        time.sleep(0.5)
        with pytest.raises(ProcessLookupError):
            os.killpg(proc.pid, 0)  # nothing of the map is left running
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    [meta] = maps.glob("*/meta.json")
    assert json.loads(meta.read_text())["seconds"] > 0
    res = wb("tests", "map", "calc", "--json")
    assert res.code == 0, res.err
    summary = json.loads(res.out)
    assert summary["resumed_from"] == 3 and summary["complete"] and summary["tests"] == 6


def test_a_map_made_path_by_path_adds_up(calc: Path, wb):
    first = json.loads(wb("tests", "map", "calc", "--json", "--", "test/test_add.py").out)
    assert (first["test_files"], first["tests"], first["complete"]) == (1, 1, True)
    whole = json.loads(wb("tests", "map", "calc", "--json").out)
    assert whole["resumed_from"] == 1 and whole["test_files"] == 5 and whole["tests"] == 6
    assert whole["complete"]


def test_the_recipe_can_leave_slow_tests_out_of_a_whole_map(calc: Path, wb):
    recipe = calc / "upstreams" / "calc" / "recipe.toml"
    recipe.write_text(
        recipe.read_text().replace(
            'packages = ["pytest"]\n',
            'packages = ["pytest"]\nmap_exclude = ["test/test_zz_last.py"]\n',
        )
    )
    summary = json.loads(wb("tests", "map", "calc", "--json").out)
    assert summary["test_files"] == 4 and summary["tests"] == 5
    # Given as a path, it is mapped all the same.
    more = json.loads(wb("tests", "map", "calc", "--json", "--", "test/test_zz_last.py").out)
    assert more["test_files"] == 5 and more["tests"] == 6


def test_blocks_ignore_formatting_and_see_what_changed():
    before = "import os\n\n\ndef f(x):\n    return x + 1  # one\n\n\nclass C:\n    K = 1\n\n    def m(self):\n        return 2\n"
    moved = "import os\n\n\n\ndef f(x):\n    # a comment\n    return (x + 1)\n\n\nclass C:\n    K = 1\n\n    def m(self):\n        return 2\n"
    assert blocks.changed(before, moved) == {}
    other = before.replace("return 2", "return 3").replace("K = 1", "K = 2")
    assert blocks.changed(before, other) == {"C.m": "changed", blocks.MODULE: "changed"}
    index = blocks.LineIndex(blocks.blocks(before))
    assert (
        index.block_at(5) == "f" and index.block_at(12) == "C.m" and index.block_at(9) == "<module>"
    )
