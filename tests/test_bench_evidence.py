"""Benchmarks as evidence about the change, on a small upstream that uses torch: a series that no
case runs gives no verdict and says so; a case that runs the change is timed and its outputs
compared; the changed code a case runs is found by a call trace, per side."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import write
from tests.test_upstream_sessions import UPSTREAM, _commit, ops_workspace  # noqa: F401
from workbench.bench.changes import ChangedCode
from workbench.paths import Workspace
from workbench.runs import list_runs

FAST = ["--budget", "0.5", "--processes", "2"]


def _bench(wb, *args: str) -> tuple[int, dict, str]:
    ws = Workspace.discover()
    before = len(list_runs(ws, "ops", "bench"))
    res = wb("bench", "run", "ops", *FAST, *args)
    runs = list_runs(ws, "ops", "bench")
    assert len(runs) == before + 1, res.err
    run = runs[0]
    return res.code, run.doc, (run.folder / "bench.md").read_text() + res.out + res.err


@pytest.mark.slow
def test_no_case_runs_the_change_then_one_does_and_computes_otherwise(ops_workspace: Path, wb):  # noqa: F811
    patched = ops_workspace / "upstreams" / "ops" / "patched"
    # An empty series: both sides the same code, nothing to time as evidence, said as such.
    code, doc, text = _bench(wb)
    assert code == 0 and doc["changed_files"] == 0 and "ratio" not in doc["cases"][0]
    assert "the series is empty (no patch in it yet)" in text
    util = UPSTREAM["ops/util.py"].replace("max(lo, min(hi, v))", "min(hi, max(lo, v))")
    _commit(patched, {"ops/util.py": util}, "Reorder clamp")
    assert wb("patches", "refresh", "ops").code == 0

    code, doc, text = _bench(wb)
    assert code == 0, text
    assert doc["changed_blocks"] == ["ops/util.py::clamp"]
    [case] = doc["cases"]
    assert case["changed_code"] == [] and case["untimed"] == "runs none of the changed code", (
        case["may_run"],
        doc["changed_not_traceable"],
    )
    assert "ratio" not in case and doc["geomean"] is None
    assert case["outputs"]["match"] == "bitwise"  # scale() is the same on both sides
    assert "No bench runs this change: none of the 1 case(s) that ran here runs " in text
    assert "`ops/util.py::clamp`" in text and "upstreams/ops/benches/" in text
    assert "| `scale[n=4096]`" not in text  # no verdict row
    assert list_runs(Workspace.discover(), "ops", "bench")[0].verdict() == "no bench runs it"

    # --all times it anyway, apart: never evidence, never in the verdicts.
    code, doc, text = _bench(wb, "--all")
    [case] = doc["cases"]
    assert code == 0 and "ratio" in case and case["changed_code"] == []
    assert doc["summary"] == {"not evidence": 1} and doc["geomean"] is None
    assert "Timed with `--all`, but these cases run none of the changed code" in text

    # The next patch changes what scale() computes, and a module-level constant.
    scale = UPSTREAM["ops/scale.py"].replace("out = out * 2\n", "out = out * 2 + 1e-3\n")
    scale = scale.replace("import torch\n", "import torch\n\nSTEP = 2\n")
    _commit(patched, {"ops/scale.py": scale}, "Nudge scale")
    assert wb("patches", "refresh", "ops").code == 0
    code, doc, text = _bench(wb, "--require-same-outputs")
    assert code == 1 and "outputs differ between baseline and patched: scale[n=4096]" in text
    [case] = doc["cases"]
    assert case["changed_code"] == ["ops/scale.py::scale"]
    assert case["may_run"] and case["may_run"][0].startswith("ops/scale.py::<module>")
    assert case["outputs"]["match"] == "differ" and case["outputs"]["sqnr_db"] is not None
    assert "ratio" in case and doc["geomean"]["cases"] == 1
    assert sorted(doc["changed_blocks"]) == [
        "ops/scale.py::<module>",
        "ops/scale.py::scale",
        "ops/util.py::clamp",
    ]
    assert ", outputs differ: SQNR" in text
    assert "Run by no case here: `ops/util.py::clamp`" in text


def test_removed_added_module_level_and_compiled_changes_are_attributed(tmp_path: Path):
    base = write(tmp_path / "base" / "pkg" / "m.py", "A = 1\n\n\ndef old():\n    return 1\n")
    patched = write(
        tmp_path / "patched" / "pkg" / "m.py",
        "A = 2\n\n\ndef new():\n    def inner():\n        return 2\n\n    return inner()\n",
    )
    write(tmp_path / "patched" / "pkg" / "k.cu", "")
    files = [
        "pkg/m.py",
        "pkg/k.cu",
        "README.md",
        "test/test_m.py",
        "pkg/__pycache__/m.cpython-311.pyc",
    ]
    changes = ChangedCode.between(base.parents[1], patched.parents[1], files, "test")
    assert changes.names() == ["pkg/m.py::<module>", "pkg/m.py::new", "pkg/m.py::old"]
    assert changes.unseen == ["pkg/k.cu"]  # docs, tests and bytecode are not code a bench runs
    watch = changes.watch("patched")
    assert watch[str(patched)] == "pkg/m.py"
    # The removed function ran on the baseline, the new one's inner function on the patched side.
    runs, may = changes.attribute(
        {
            "baseline": {"code": [["pkg/m.py", 4]], "imported": ["pkg/m.py"]},
            "patched": {"code": [["pkg/m.py", 5]], "imported": []},
        }
    )
    assert runs == ["pkg/m.py::new", "pkg/m.py::old"]
    assert [m.split(" ")[0] for m in may] == ["pkg/m.py::<module>", "pkg/k.cu"]
    # A case that imports nothing changed still may run the compiled change: said so.
    runs, may = changes.attribute({"baseline": {}, "patched": {}})
    assert runs == [] and may == ["pkg/k.cu (not Python: a call trace cannot see it run)"]


KERNEL = """\
import triton
import triton.language as tl


@triton.jit
def add_one(x_ptr, n, BLOCK: tl.constexpr):
    offs = tl.arange(0, BLOCK)
    mask = offs < n
    tl.store(x_ptr + offs, tl.load(x_ptr + offs, mask=mask) + 1, mask=mask)


def launch(x):
    add_one[(1,)](x, x.numel(), BLOCK=16)
    return x
"""

PROBE = """\
import json, os, sys
os.environ["TRITON_INTERPRET"] = "1"
sys.path.insert(0, sys.argv[1])
import torch
from workbench.bench.worker import CallTracer
import kern
path = os.path.join(sys.argv[1], "kern.py")
tracer = CallTracer({path: "kern.py"})
tracer.start()
kern.launch(torch.zeros(8))
tracer.stop()
print(json.dumps(tracer.found()))
"""


def test_a_triton_kernel_launched_counts_as_run(tmp_path: Path):
    """In the interpreter (as on a GPU) the launch is recorded, whatever runs the body."""
    write(tmp_path / "kern.py", KERNEL)
    res = subprocess.run(
        [sys.executable, "-c", PROBE, str(tmp_path)], capture_output=True, text=True, timeout=120
    )
    assert res.returncode == 0, res.stderr
    found = json.loads(res.stdout.strip().splitlines()[-1])
    assert ["kern.py", 5] in found["launched"]  # the decorator's line: the kernel's block
    assert ["kern.py", 12] in found["code"] and found["imported"] == ["kern.py"]
