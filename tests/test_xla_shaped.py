"""The xla way of running tests and sharing environments, on a small xla-shaped upstream.

pytorch/xla's tests are unittest scripts run one file per process (``test/run_tests.sh``), with
``PYTHONPATH=test`` for their helpers; its build is a released wheel with the worktree's Python
files laid over it, on top of a 7 GB deps environment made once per machine. Here the same
shapes, small: real interpreters, real pip, real git.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import build_wheel, git, recipe_toml, wheel_overlay, write
from workbench.selection.perfile import run_file, run_files, selection_files
from workbench.selection.run import TPU_ONLY

CASES = """\
import os
import sys
import unittest

import helpers  # test/helpers.py: needs PYTHONPATH=test, as xla's test_utils does


class Ops(unittest.TestCase):
    def test_ok(self):
        self.assertEqual(helpers.two(), 2)

    def test_fails(self):
        self.assertEqual(helpers.two(), 3, "two is not three")

    @unittest.skipIf(True, "This test only works on TPU")
    def test_tpu(self):
        pass

    @unittest.skipIf(True, "skip: requires a TPU device")
    def test_tpu_again(self):
        pass

    @unittest.skip("needs CUDA")
    def test_cuda(self):
        pass


if __name__ == "__main__":
    # As xla's files do: their own argument handling, then unittest.main and sys.exit.
    sys.exit(0 if unittest.main(exit=False).result.wasSuccessful() else 1)
"""

CRASHES = """\
import os
import unittest


class Crash(unittest.TestCase):
    def test_a_first(self):
        print("first test ran")

    def test_b_abort(self):
        print("about to take the interpreter down")
        os.abort()


if __name__ == "__main__":
    unittest.main()
"""

HANGS = """\
import time
import unittest


class Hang(unittest.TestCase):
    def test_waits(self):
        print("waiting forever")
        time.sleep(600)


if __name__ == "__main__":
    unittest.main()
"""

BROKEN = "import no_such_module_here\n"

SHADOW = """\
import select  # the standard library's, not a module beside the runner
import subprocess
import unittest


class Std(unittest.TestCase):
    def test_select_is_the_stdlib_one(self):
        self.assertTrue(hasattr(select, "select"))


if __name__ == "__main__":
    unittest.main()
"""


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "up"
    write(root / "test" / "helpers.py", "def two():\n    return 2\n")
    write(root / "test" / "test_cases.py", CASES)
    write(root / "test" / "test_crashes.py", CRASHES)
    write(root / "test" / "test_hangs.py", HANGS)
    write(root / "test" / "test_broken.py", BROKEN)
    write(root / "test" / "test_shadow.py", SHADOW)
    write(root / "test" / "spmd" / "test_inner.py", SHADOW)
    write(root / "test" / "spmd" / "test_nested.py", CASES)  # helpers live one folder up
    return root


ENV = {"PYTHONPATH": "test"}


def test_each_test_of_a_file_is_recorded_with_its_status(tree: Path, tmp_path: Path):
    out = run_file(
        Path(sys.executable),
        tree,
        "test/test_cases.py",
        tmp_path / "r.jsonl",
        tmp_path / "log",
        env=ENV,
    )
    status = {o.id: o.status for o in out}
    assert status == {
        "test/test_cases.py::Ops::test_ok": "passed",
        "test/test_cases.py::Ops::test_fails": "failed",
        "test/test_cases.py::Ops::test_tpu": "skipped",
        "test/test_cases.py::Ops::test_tpu_again": "skipped",
        "test/test_cases.py::Ops::test_cuda": "skipped",
    }
    failed = next(o for o in out if o.status == "failed")
    assert "two is not three" in failed.message


def test_without_pythonpath_test_the_file_fails_at_import_with_its_reason(tree, tmp_path):
    [out] = run_file(
        Path(sys.executable),
        tree,
        "test/spmd/test_nested.py",
        tmp_path / "r.jsonl",
        tmp_path / "log",
        env={},
    )
    assert (out.id, out.status) == ("test/spmd/test_nested.py", "error")
    assert "No module named 'helpers'" in out.message


def test_a_crash_keeps_what_ran_and_says_how_it_ended(tree: Path, tmp_path: Path):
    out = run_file(
        Path(sys.executable),
        tree,
        "test/test_crashes.py",
        tmp_path / "r.jsonl",
        tmp_path / "log",
        env=ENV,
    )
    assert [(o.id, o.status) for o in out] == [
        ("test/test_crashes.py::Crash::test_a_first", "passed"),
        ("test/test_crashes.py", "error"),
    ]
    assert "crashed (killed by signal 6)" in out[1].message
    assert "about to take the interpreter down" in out[1].message


def test_a_file_that_hangs_is_stopped_at_its_timeout(tree: Path, tmp_path: Path):
    t0 = time.monotonic()
    [out] = run_file(
        Path(sys.executable),
        tree,
        "test/test_hangs.py",
        tmp_path / "r.jsonl",
        tmp_path / "log",
        env=ENV,
        timeout=3,
    )
    assert time.monotonic() - t0 < 30  # not the file's 600 s
    assert (out.id, out.status) == ("test/test_hangs.py", "error")
    assert out.message.startswith("timed out after 3 s") and "waiting forever" in out.message


def test_files_run_in_their_own_processes_and_folders_expand(tree: Path, tmp_path: Path):
    files = selection_files(tree, ["test/test_broken.py", "test/test_shadow.py", "test/spmd"])
    assert files == [
        "test/test_broken.py",
        "test/test_shadow.py",
        "test/spmd/test_inner.py",
        "test/spmd/test_nested.py",
    ]
    files.remove("test/spmd/test_nested.py")
    run = run_files(Path(sys.executable), tree, files, tmp_path, tmp_path / "log", env=ENV)
    status = {o.id: o.status for o in run.report.outcomes}
    assert status == {
        "test/test_broken.py": "error",
        "test/test_shadow.py::Std::test_select_is_the_stdlib_one": "passed",
        "test/spmd/test_inner.py::Std::test_select_is_the_stdlib_one": "passed",
    }
    assert run.returncode == 1
    assert "No module named 'no_such_module_here'" in run.report.outcomes[0].message


def test_tpu_only_skips_are_one_line_whatever_their_wording(tree: Path, tmp_path: Path):
    run = run_files(
        Path(sys.executable), tree, ["test/test_cases.py"], tmp_path, tmp_path / "log", env=ENV
    )
    assert run.report.skipped_by_reason() == {TPU_ONLY: 2, "needs CUDA": 1}


# --- the whole path: a wheel overlay, a shared deps environment, `workbench tests run` -----------

UPSTREAM = {
    "pyproject.toml": (
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "xo"\nversion = "1.0"\n\n[tool.setuptools]\npackages = ["xo"]\n'
    ),
    "xo/__init__.py": "from xo.ops import add\n",
    "xo/ops.py": "def add(a, b):\n    return a + b\n",
    "test/helpers.py": "def pair():\n    return (2, 3)\n",
    "test/test_ops.py": (
        "import unittest\n\nimport helpers\nimport xo\n\n\n"
        "class Add(unittest.TestCase):\n"
        "    def test_add(self):\n        self.assertEqual(xo.add(*helpers.pair()), 5)\n\n"
        "    def test_known_bug(self):\n        self.assertEqual(xo.add(1, 1), 3)  # fails upstream too\n\n"
        "    @unittest.skipIf(True, 'TPU only')\n    def test_tpu(self):\n        pass\n\n\n"
        "if __name__ == '__main__':\n    unittest.main()\n"
    ),
}


def _recipe(url: str, wheel: str) -> str:
    return recipe_toml(
        "xo",
        url,
        mode="overlay",
        build=wheel_overlay(
            "xo", [wheel], about="the released wheel with the worktree's xo/**.py over it"
        ),
        runner="run_tests.sh",
        tests_map={"xo": ["test/test_ops.py"]},
        tests_cpu={"env": {"PJRT_DEVICE": "CPU", "PYTHONPATH": "test"}},
    )


def _workspace(root: Path, up: Path, wheel: Path) -> Path:
    write(root / "upstreams" / "xo" / "recipe.toml", _recipe(up.as_posix(), str(wheel)))
    write(root / "patches" / "xo" / "series", "")
    return root


@pytest.fixture
def xo(tmp_path: Path) -> tuple[Path, Path]:
    up = tmp_path / "xo-upstream"
    for name, text in UPSTREAM.items():
        write(up / name, text)
    git(up, "init", "-q", "-b", "main")
    git(up, "add", "-A")
    git(up, "commit", "-q", "-m", "xo 1.0")
    git(up, "tag", "v1.0")
    wheels = tmp_path / "wheels"
    wheel = build_wheel(up, wheels, "xo-1.0-*.whl")
    return up, wheel


def test_tests_run_the_xla_way_catch_a_regression_and_share_the_deps(xo, tmp_path, monkeypatch, wb):
    up, wheel = xo
    monkeypatch.setenv("WORKBENCH_CACHE", str(tmp_path / "cache"))
    first = _workspace(tmp_path / "wb1", up, wheel)
    monkeypatch.setenv("WORKBENCH_ROOT", str(first))
    monkeypatch.chdir(first)
    assert wb("upstream", "fetch", "xo").code == 0
    patched = first / "upstreams" / "xo" / "patched"
    write(patched / "xo" / "ops.py", "def add(a, b):\n    return a - b\n")
    git(patched, "commit", "-qam", "Break add")
    assert wb("patches", "refresh", "xo").code == 0

    res = wb("tests", "run", "xo", "--json")
    assert res.code == 1, res.err
    doc = json.loads(res.out)
    assert doc["counts"] == {"passed": 0, "failed": 2, "error": 0, "skipped": 1}
    assert [r["id"] for r in doc["regressions"]] == ["test/test_ops.py::Add::test_add"]
    assert doc["regressions"][0]["on_baseline"] == "passed"
    assert [r["id"] for r in doc["preexisting"]] == ["test/test_ops.py::Add::test_known_bug"]
    assert doc["skipped_by_reason"] == {TPU_ONLY: 1}
    assert doc["reproduce"] == "PJRT_DEVICE=CPU PYTHONPATH=test python test/test_ops.py"
    assert "1 regression(s): test/test_ops.py::Add::test_add" in res.err
    assert doc["files"] == ["test/test_ops.py"] and doc["runner"] == "run_tests.sh"
    draft = wb("pr", "draft", "xo")
    assert "PJRT_DEVICE=CPU PYTHONPATH=test python test/test_ops.py" in draft.out, draft.err
    assert "test/run_tests.sh -L test/test_ops.py" in draft.out

    # A second workspace on the same machine: the deps environment is the one already made.
    deps = [p for p in (tmp_path / "cache" / "deps").iterdir() if p.is_dir()]
    assert len(deps) == 1
    stamp = (deps[0] / ".workbench-env.json").read_text()
    second = _workspace(tmp_path / "wb2", up, wheel)
    monkeypatch.setenv("WORKBENCH_ROOT", str(second))
    monkeypatch.chdir(second)
    assert wb("upstream", "fetch", "xo").code == 0
    res = wb("build", "xo")
    assert res.code == 0, res.err
    assert "shared deps environment" not in res.err  # not built again
    assert [p for p in (tmp_path / "cache" / "deps").iterdir() if p.is_dir()] == deps
    assert (deps[0] / ".workbench-env.json").read_text() == stamp
    doctor = wb("doctor")
    assert f"environment xo: {deps[0]}" in doctor.out and "MB" in doctor.out


# --- benchmarks time execution, not tracing -------------------------------------------------------

LAZY = {
    # A stand-in for torch_xla's lazy semantics: an op records pending work held by its result;
    # sync() executes it only while a result is alive; the ExecuteTime metric counts executions.
    "torch_xla/__init__.py": (
        "import weakref\n\n_live = weakref.WeakSet()\n_executed = [0]\n\n\n"
        "class Lazy:\n    pass\n\n\n"
        "def op():\n    out = Lazy()\n    _live.add(out)\n    return out\n\n\n"
        "def sync():\n    if len(_live):\n        _executed[0] += 1\n        _live.clear()\n"
    ),
    "torch_xla/debug/__init__.py": "",
    "torch_xla/debug/metrics.py": (
        "import torch_xla\n\n\ndef metric_data(name):\n"
        "    n = torch_xla._executed[0]\n"
        "    return (n, 0.0, []) if name == 'ExecuteTime' and n else None\n"
    ),
    "torch_xla/core/__init__.py": "",
    "torch_xla/core/xla_model.py": "def wait_device_ops():\n    pass\n",
}

LAZY_BENCH = """\
from workbench.bench import bench


@bench
def kept():
    import torch_xla
    import torch_xla.core.xla_model as xm

    def step():
        out = torch_xla.op()
        torch_xla.sync()
        xm.wait_device_ops()
        return out

    return step


@bench
def dropped():
    import torch_xla
    import torch_xla.core.xla_model as xm

    def step():
        torch_xla.op()  # the result is gone before the sync: nothing executes
        torch_xla.sync()
        xm.wait_device_ops()

    return step
"""


def test_a_bench_that_only_traces_a_lazy_graph_is_refused(tmp_path: Path):
    from workbench.bench.runner import Settings, SideSpec, WorkerError, run

    code = tmp_path / "code"
    for name, text in LAZY.items():
        write(code / name, text)
    bench_file = write(tmp_path / "bench_lazy.py", LAZY_BENCH)
    sides = (SideSpec("baseline", path=str(code)), SideSpec("patched", path=str(code)))
    settings = Settings(budget=1.0, max_budget=1.0, processes=6)
    result = run(bench_file, *sides, settings, only="kept")
    [case] = result.cases
    assert case.comparison is not None and case.processes == 6
    with pytest.raises(WorkerError) as err:
        run(bench_file, *sides, settings, only="dropped")
    assert "runs no XLA computation" in err.value.message
    assert "torch_xla.sync()" in err.value.message
