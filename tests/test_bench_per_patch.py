"""Which patch made which speed change (``bench run NAME --per-patch``), on a small pure-Python
upstream with a three-patch series: the first patch touches code no case runs (skipped, never
built), the second leaves the speed alone, the third makes the timed function do five times the
work and is the one called slower."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import pytest

from tests.conftest import git, small_workspace, write
from workbench.bench import per_patch_report
from workbench.bench.changes import ChangedCode
from workbench.bench.per_patch import PerPatch, Question, Timed
from workbench.paths import Workspace
from workbench.runs import list_runs
from workbench.steps.series import Step

UPSTREAM = {
    "pyproject.toml": (
        '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n\n'
        '[project]\nname = "demo-calc"\nversion = "1.0"\n\n'
        '[tool.setuptools]\npackages = ["calc"]\n'
    ),
    "calc/__init__.py": "",
    "calc/work.py": (
        "def spin(n):\n    total = 0\n    for i in range(n):\n        total += i * i\n"
        "    return total\n"
    ),
    "calc/other.py": "def unused(v):\n    return v + 1\n",
}


BENCH = """\
from workbench.bench import bench


@bench(params={"n": [3000]})
def spin(n):
    from calc.work import spin

    return lambda: spin(n)
"""

RENAMED = UPSTREAM["calc/work.py"].replace("total", "acc")
FIVE_TIMES = (
    "def spin(n):\n    for _ in range(5):\n        acc = 0\n        for i in range(n):\n"
    "            acc += i * i\n    return acc\n"
)
SERIES = [
    ("calc/other.py", "def unused(v):\n    return v + 2\n", "Touch unused"),
    ("calc/work.py", RENAMED, "Rename the total"),
    ("calc/work.py", FIVE_TIMES, "More work"),
]
"""Patch 1: code no case runs; patch 2: the timed function, the same work; patch 3: the same
result, computed five times over."""


@pytest.fixture
def calc_workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wb) -> Path:
    root = small_workspace(tmp_path, monkeypatch, UPSTREAM)
    write(root / "upstreams" / "calc" / "benches" / "bench_spin.py", BENCH)
    assert wb("upstream", "fetch", "calc").code == 0
    patched = root / "upstreams" / "calc" / "patched"
    for path, text, message in SERIES:
        write(patched / path, text)
        git(patched, "add", "-A")
        git(patched, "commit", "-q", "-m", message)
    assert wb("patches", "refresh", "calc").code == 0
    return root


@pytest.mark.timed
def test_each_patch_is_timed_against_the_one_before(calc_workspace: Path, wb):
    res = wb("bench", "run", "calc", "--budget", "1", "--per-patch")
    assert res.code == 0, res.err
    [run] = list_runs(Workspace.discover(), "calc", "bench")
    doc = run.doc
    assert doc["schema"] == 3
    # The whole series, as without --per-patch.
    [case] = doc["cases"]
    assert case["verdict"] == "slower" and case["ratio"] > 3
    assert case["changed_code"] == ["calc/work.py::spin"]

    first, second, third = doc["per_patch"]
    assert first == {
        "patch": "0001-Touch-unused.patch",
        "step": 1,
        "skipped": "no bench case runs the code this patch changes",
    }
    # Patch 2 against the pin: patch 1 changes no code the case runs, so step 1 is not built.
    assert (second["patch"], second["step"], second["against"]) == (
        "0002-Rename-the-total.patch",
        2,
        0,
    )
    [same] = second["cases"]
    assert same["id"] == "spin[n=3000]" and same["verdict"] in ("unchanged", "inconclusive")
    assert same["changed_code"] == ["calc/work.py::spin"] and 0.8 < same["ratio"] < 1.25
    assert (third["patch"], third["step"], third["against"]) == ("0003-More-work.patch", 3, 2)
    [slower] = third["cases"]
    assert slower["verdict"] == "slower" and slower["ratio"] > 3
    assert slower["outputs"] == "bitwise"
    lo, hi = slower["interval"]
    assert lo <= slower["ratio"] <= hi
    assert set(slower) >= {"id", "ratio", "interval", "verdict", "changed_code"}
    assert doc["spread"] == []
    cost = doc["per_patch_cost"]
    assert cost["method"] == "linear" and cost["note"] is None
    assert cost["builds"] == 1  # step 2 only: steps 0 and 3 are the baseline and patched sides
    assert cost["runs"] == 2 and cost["seconds"] > 0
    assert [(c["from"], c["to"]) for c in cost["comparisons"]] == [(0, 2), (2, 3)]

    # The terminal and bench.md say it, one line a patch.
    text = res.out.replace("\n", " ")
    assert "0001-Touch-unused.patch: skipped: no bench case runs the code this patch" in text
    assert "0003-More-work.patch: slower " in text and "in 1 case(s)" in text
    assert "per patch: linear, 1 build(s), 2 bench run(s)" in text
    md = (run.folder / "bench.md").read_text()
    assert "**Per patch**" in md and "- 0003-More-work.patch: slower " in md
    # bench show reads the new schema back, with the same lines.
    shown = wb("bench", "show", str(run.folder / "bench.json"))
    assert shown.code == 0 and "0003-More-work.patch: slower " in shown.out.replace("\n", " ")
    assert json.loads(wb("bench", "show", str(run.folder / "bench.json"), "--json").out) == doc

    # Work not saved in the patch files has no step: refused before anything is built or timed.
    write(calc_workspace / "upstreams" / "calc" / "patched" / "calc" / "other.py", "X = 1\n")
    res = wb("bench", "run", "calc", "--budget", "1", "--per-patch")
    assert res.code == 2 and "workbench patches refresh calc" in res.err
    assert "starting the bench workers" not in res.err
    assert len(list_runs(Workspace.discover(), "calc", "bench")) == 1


def test_spread_and_lines_from_a_document():
    """A whole-series change that no one patch shows is listed as spread, not pinned on one."""
    doc = {
        "per_patch": [
            {
                "patch": "0001-a.patch",
                "step": 1,
                "against": 0,
                "cases": [
                    {
                        "id": "f[n=1]",
                        "ratio": 1.1,
                        "interval": [0.98, 1.22],
                        "verdict": "inconclusive",
                    }
                ],
            },
            {"patch": "0002-b.patch", "step": 2, "skipped": "no bench case runs the code"},
        ],
        "spread": [
            {
                "id": "f[n=1]",
                "verdict": "slower",
                "ratio": 1.2,
                "interval": [1.1, 1.3],
                "patches": ["0001-a.patch", "0003-c.patch"],
                "note": "not pinned on one",
            }
        ],
        "per_patch_cost": {
            "method": "linear",
            "builds": 1,
            "runs": 2,
            "seconds": 3.0,
            "note": None,
        },
    }
    assert per_patch_report.lines(doc) == [
        "0001-a.patch: inconclusive 1.10x (0.98–1.22) in 1 case(s)",
        "0002-b.patch: skipped: no bench case runs the code",
        "spread: case f[n=1] slower 1.20x over 0001, 0003, no single patch resolves it "
        "(not pinned on one)",
        "per patch: linear, 1 build(s), 2 bench run(s), 3.0 s",
    ]
    assert per_patch_report.lines({"cases": []}) == []


class Scripted(PerPatch):
    """The search on a series whose steps have known effects: no processes, no builds. Each
    comparison reads its ratio off ``effects`` (step k's ratio against k-1), and gives the
    verdict an honest machine would: slower beyond 1.08, unchanged below 1.02, else
    inconclusive."""

    def __init__(self, effects: list[float]):
        self.t0 = time.perf_counter()
        self.steps = [Step(0, None, "pin")]
        self.steps += [Step(k, f"000{k}-p{k}.patch", f"c{k}", ["m.py"]) for k in range(1, 7)]
        self.steps = self.steps[: len(effects) + 1]
        self.effects = effects
        self.builds, self.timed, self._questions, self.interrupted = 0, [], [], False

    def questions(self, doc: dict) -> list[Question]:
        changes = ChangedCode(Path("a"), Path("b"))
        return [Question(s, changes, {"m.py::f"}, True, ["f[n=1]"]) for s in self.steps[1:]]

    def compare(self, start: int, end: int, ids: list[str], doc: dict) -> Timed:
        ratio = math.prod(self.effects[start:end])
        verdict = "slower" if ratio > 1.08 else "unchanged" if ratio < 1.02 else "inconclusive"
        case = {"id": "f[n=1]", "ratio": ratio, "interval": [ratio * 0.97, ratio * 1.03]}
        timed = Timed(start, end, [{**case, "verdict": verdict, "changed_code": ["m.py::f"]}])
        self.timed.append(timed)
        return timed


def _whole(ratio: float) -> dict:
    case = {
        "id": "f[n=1]",
        "ratio": ratio,
        "ci": [ratio * 0.97, ratio * 1.03],
        "p_value": 0.001,
        "verdict": "slower",
        "processes": {"baseline": 8, "patched": 8},
        "changed_code": ["m.py::f"],
        "may_run": [],
    }
    return {"cases": [case], "changed_blocks": ["m.py::f"], "changed_not_traceable": []}


def test_a_large_change_is_found_by_halving():
    effects = [1.0, 1.0, 1.0, 1.5, 1.0, 1.0]
    found = Scripted(effects).attribute(_whole(1.5))
    cost = found["per_patch_cost"]
    assert cost["method"] == "bisect" and "one patch is assumed" in cost["note"]
    # 0..3 has it not, 3..5 has it, 3..4 has it: three comparisons for six patches.
    assert [(c["from"], c["to"]) for c in cost["comparisons"]] == [(0, 3), (3, 5), (3, 4)]
    fourth = found["per_patch"][3]
    assert fourth["patch"] == "0004-p4.patch" and fourth["cases"][0]["verdict"] == "slower"
    others = [e for e in found["per_patch"] if e["step"] != 4]
    assert all(e["skipped"].startswith("not timed on its own") for e in others)
    assert found["spread"] == []


def test_a_change_spread_over_patches_is_not_pinned_on_one():
    found = Scripted([1.05, 1.05, 1.05, 1.05]).attribute(_whole(1.22))
    cost = found["per_patch_cost"]
    # The halving finds steps 0..1 inconclusive: not one patch's change, so every step is timed.
    assert cost["method"] == "linear" and cost["note"].startswith("a binary search gave up")
    assert [e["cases"][0]["verdict"] for e in found["per_patch"]] == ["inconclusive"] * 4
    [spread] = found["spread"]
    assert spread["id"] == "f[n=1]" and spread["verdict"] == "slower"
    assert spread["patches"] == [f"000{k}-p{k}.patch" for k in range(1, 5)]
    assert "not pinned on one" in spread["note"]
