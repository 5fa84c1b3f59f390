"""The whole path of an upstream check on a small synthetic upstream that uses torch.

Build both sides (and reuse them), select the tests for the series' changes, run them, tell the
regression the series introduces from a failure that was already there, group skips by reason,
refuse a wheel overlay for a non-Python change, and benchmark a change that makes the code slower.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# torch is a required test dependency (the test extra pins it): missing, this fails, not skips.
import torch

from tests.conftest import build_wheel, editable_install, git, recipe_toml, write
from workbench.config import load_recipe
from workbench.gitops.engine import SeriesEngine
from workbench.paths import Workspace
from workbench.runs import latest, list_runs

UPSTREAM = {
    "pyproject.toml": (
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "demo-ops"\nversion = "1.0"\n\n'
        '[tool.setuptools]\npackages = ["ops"]\n'
    ),
    "ops/__init__.py": "from ops.scale import double, scale\n",
    "ops/scale.py": (
        "import torch\n\n\ndef scale(x: torch.Tensor, times: int = 1) -> torch.Tensor:\n"
        "    out = x\n    for _ in range(times):\n        out = out * 2\n    return out\n\n\n"
        "def double(x: torch.Tensor) -> torch.Tensor:\n    return scale(x)\n"
    ),
    "ops/util.py": "def clamp(v, lo, hi):\n    return max(lo, min(hi, v))\n",
    "test/test_scale.py": (
        "import torch\nfrom ops.scale import scale\n\n\n"
        "def test_scale():\n    assert torch.equal(scale(torch.ones(3)), torch.full((3,), 2.0))\n"
    ),
    "test/test_api.py": (
        "import pytest\nimport torch\nfrom ops import double\n\n\n"
        "def test_known_bug():\n    assert double(torch.ones(1)).item() == 5.0  # fails upstream too\n\n\n"
        "@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')\n"
        "def test_on_gpu():\n    assert double(torch.ones(1, device='cuda')).item() == 2.0\n\n\n"
        "@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')\n"
        "def test_on_gpu_twice():\n    assert double(double(torch.ones(1, device='cuda'))).item() == 4.0\n"
    ),
    "test/test_util.py": "from ops.util import clamp\n\n\ndef test_clamp():\n    assert clamp(5, 0, 3) == 3\n",
}


def _recipe(url: str, torch_version: str) -> str:
    return recipe_toml(
        "ops",
        url,
        build=editable_install([f"torch=={torch_version}"]),
        test_packages=["pytest"],
        tests_map={"ops/{x}": ["test/test_{x}.py"]},
        tests_cpu={"note": "GPU tests skip themselves."},
    )


BENCH = """\
from workbench.bench import bench


@bench(params={"n": [4096]})
def scale(n):
    import torch
    from ops import scale

    x = torch.ones(n)
    return lambda: scale(x, 20)
"""


@pytest.fixture
def ops_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wb):
    up = tmp_path / "ops-upstream"
    up.mkdir()
    git(up, "init", "-q", "-b", "main")
    for name, text in UPSTREAM.items():
        write(up / name, text)
    git(up, "add", "-A")
    git(up, "commit", "-q", "-m", "ops 1.0")
    git(up, "tag", "v1.0")
    root = tmp_path / "wb"
    version = torch.__version__.split("+")[0]
    write(root / "upstreams" / "ops" / "recipe.toml", _recipe(up.as_posix(), version))
    write(root / "upstreams" / "ops" / "benches" / "bench_scale.py", BENCH)
    write(root / "patches" / "ops" / "series", "")
    monkeypatch.setenv("WORKBENCH_ROOT", str(root))
    monkeypatch.chdir(root)
    assert wb("upstream", "fetch", "ops").code == 0
    return root


def _commit(worktree: Path, files: dict[str, str], message: str) -> None:
    for name, text in files.items():
        write(worktree / name, text)
    git(worktree, "add", "-A")
    git(worktree, "commit", "-q", "-m", message)


@pytest.mark.slow
def test_build_select_run_and_bench(ops_workspace: Path, wb):
    patched = ops_workspace / "upstreams" / "ops" / "patched"
    # The series: scale() now triples (a regression) and does its work three times over.
    slow = UPSTREAM["ops/scale.py"].replace(
        "out = out * 2", "out = (out * 2).clone().clone() * 3 / 2"
    )
    _commit(patched, {"ops/scale.py": slow}, "Rework scale")
    assert wb("patches", "refresh", "ops").code == 0

    res = wb("build", "ops", "--json")
    assert res.code == 0, res.err
    built = json.loads(res.out)
    assert [s["rebuilt"] for s in built["sides"]] == [True, True]
    # Each side imports its own worktree.
    for side in built["sides"]:
        where = subprocess.run(
            [side["python"], "-c", "import ops; print(ops.__file__)"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert where.strip() == str(Path(side["worktree"]) / "ops" / "__init__.py")
    # Nothing changed: nothing is rebuilt.
    again = json.loads(wb("build", "ops", "--json").out)
    assert [s["rebuilt"] for s in again["sides"]] == [False, False]

    res = wb("tests", "select", "ops", "--json")
    assert res.code == 0, res.err
    sel = json.loads(res.out)
    assert sel["changed_files"] == ["ops/scale.py"]
    reasons = {t["path"]: t["reasons"] for t in sel["tests"]}
    assert set(reasons) == {"test/test_scale.py", "test/test_api.py"}
    assert reasons["test/test_scale.py"] == [
        "recipe maps ops/scale.py to test/test_scale.py",
        "imports ops.scale",
    ]
    assert reasons["test/test_api.py"] == ["imports ops.double, from ops.scale"]

    res = wb("tests", "run", "ops", "--json")
    assert res.code == 1
    doc = json.loads(res.out)
    assert doc["schema"] == 1 and doc["kind"] == "tests" and doc["device"] == "cpu"
    assert doc["counts"] == {"passed": 0, "failed": 2, "error": 0, "skipped": 2}
    assert doc["skipped_by_reason"] == {"needs CUDA": 2}
    assert [r["id"] for r in doc["regressions"]] == ["test/test_scale.py::test_scale"]
    assert doc["regressions"][0]["on_baseline"] == "passed"
    assert [r["id"] for r in doc["preexisting"]] == ["test/test_api.py::test_known_bug"]
    assert doc["reproduce"] == "python -m pytest test/test_api.py test/test_scale.py"
    assert doc["versions"]["torch"] == torch.__version__
    assert "1 regression(s): test/test_scale.py::test_scale" in res.err
    run_dir = ops_workspace / ".workbench" / "runs" / "ops" / doc["run_id"]
    assert (run_dir / "tests.json").is_file() and (run_dir / "junit.xml").is_file()

    # Arguments after -- replace the selection.
    res = wb("tests", "run", "ops", "--json", "--", "test/test_util.py")
    assert res.code == 0, res.err
    only_util = json.loads(res.out)
    assert only_util["counts"]["passed"] == 1

    res = wb("bench", "run", "ops", "--budget", "3", "--json", "--fail-on-slower")
    assert res.code == 1, res.err
    bench = json.loads(res.out)
    [case] = bench["cases"]
    assert case["verdict"] == "slower" and case["ratio"] > 1.5
    # scale() now triples: the bench says the result changed too, and which code it ran.
    assert case["outputs"]["match"] == "differ"
    assert case["changed_code"] == ["ops/scale.py::scale"]
    assert bench["upstream"] == "ops"
    assert bench["sides"]["patched"]["env"]["modules"]["torch"]["version"] == torch.__version__

    # The run index sees both results as made from the series in patches/ now...
    ws = Workspace(ops_workspace)
    digest = SeriesEngine(ws, load_recipe(ws, "ops")).series().digest()
    tests_now, bench_now = latest(ws, "ops", "tests", digest), latest(ws, "ops", "bench", digest)
    assert (tests_now.state, bench_now.state) == ("current", "current")
    assert (
        bench_now.result.run_id == bench["run_id"]
        and bench_now.result.verdict() == "slower, outputs differ"
    )
    assert tests_now.result.run_id == only_util["run_id"]  # the newest
    assert tests_now.result.verdict() == "passed"
    assert [r.verdict() for r in list_runs(ws, "ops", "tests")] == ["passed", "regressions"]
    # ...and as stale once the series changes.
    series_file = ops_workspace / "patches" / "ops" / "series"
    series_file.write_text("# reordered later\n" + series_file.read_text())
    digest = SeriesEngine(ws, load_recipe(ws, "ops")).series().digest()
    assert latest(ws, "ops", "bench", digest).state == "stale"


def _use_overlay(root: Path, packages: list[str] | None = None) -> None:
    """Switch the ops recipe's CPU build to a wheel overlay of ``ops/**/*.py``."""
    recipe = root / "upstreams" / "ops" / "recipe.toml"
    mode = (
        '[build.modes.overlay]\nkind = "wheel-overlay"\nabout = "x"\n'
        f"packages = {json.dumps(packages or [])}\n"
        'overlay_into = "ops"\noverlay = ["ops/**/*.py"]\n\n[tests]'
    )
    text = recipe.read_text().replace(
        'devices = { cpu = "source" }', 'devices = { cpu = "overlay" }'
    )
    recipe.write_text(text.replace("[tests]", mode))


def test_overlay_refuses_non_python_changes(ops_workspace: Path, wb):
    _use_overlay(ops_workspace)
    patched = ops_workspace / "upstreams" / "ops" / "patched"
    _commit(patched, {"csrc/kernel.cu": "// a CUDA kernel\n"}, "Add a kernel")
    res = wb("build", "ops")
    assert res.code == 2
    assert (
        "cannot carry (csrc/kernel.cu)" in res.err and "source mode where there is a GPU" in res.err
    )


def test_nox_lists_sessions_generated_from_recipes(tmp_path: Path):
    root = Path(__file__).resolve().parent.parent
    proc = subprocess.run(
        [sys.executable, "-m", "nox", "-f", str(root / "noxfile.py"), "-l"],
        capture_output=True,
        text=True,
        cwd=root,
    )
    if proc.returncode and "No module named nox" in proc.stderr:
        pytest.skip("nox is not installed in this environment")
    assert proc.returncode == 0, proc.stderr
    for name in ("ao", "triton", "xla"):
        for kind in ("build", "tests", "bench"):
            assert f"- {name}_{kind} [{name},{kind}] -> " in proc.stdout
    assert "* tests -> " in proc.stdout and "* lint -> " in proc.stdout


@pytest.mark.slow
def test_wheel_overlay_lays_the_worktree_over_the_released_wheel(
    ops_workspace: Path, wb, tmp_path: Path
):
    # The "released wheel" of the pin, built from the upstream at v1.0.
    up = tmp_path / "ops-upstream"
    wheels = tmp_path / "wheels"
    wheel = build_wheel(up, wheels, "demo_ops-1.0-*.whl")
    _use_overlay(ops_workspace, packages=[wheel.as_posix()])
    patched = ops_workspace / "upstreams" / "ops" / "patched"
    _commit(patched, {"ops/util.py": "def clamp(v, lo, hi):\n    return 'patched'\n"}, "Patch util")
    res = wb("build", "ops", "--json")
    assert res.code == 0, res.err
    sides = {s["side"]: s for s in json.loads(res.out)["sides"]}
    probe = "import ops, ops.util, os; print(ops.util.clamp(5, 0, 3), os.path.islink(ops.__file__))"
    for side, expected in (("baseline", "3 False"), ("patched", "patched False")):
        out = subprocess.run(
            [sides[side]["python"], "-c", probe], capture_output=True, text=True, check=True
        ).stdout.strip()
        assert out == expected, (side, out)
    # Files the series does not touch stay the wheel's own (symlinks), overlaid ones are copies.
    site = Path(sides["patched"]["path"])
    [pkg] = site.glob("lib/python*/site-packages/ops")
    assert not (pkg / "util.py").is_symlink()
    assert (pkg.parent / "ops").is_dir()
