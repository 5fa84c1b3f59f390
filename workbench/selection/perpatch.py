"""``tests run --per-patch``: which patch of the series made each test fail, or pass again.

The whole series is run first, as without the flag (step N against step 0, the baseline). Then
each patch k is judged by step k against step k-1 (step k = the pin plus the first k patches):

- a patch that touches no code a selected test runs (the selection machinery picks no selected
  test for its files, and it changes nothing else that could: no build file, test helper or
  non-Python code) is skipped, said so, and its step has the outcome of the step before;
- ``linear`` runs the selected tests at each step in between that can differ from its
  neighbours (steps 0 and N come from the whole run; the baseline is run again on the tests that
  fail at any step): a patch's regressions fail at its step and not at the one before nor on the
  baseline, its fixed tests failed at the step before and pass at its own;
- ``bisect`` (the default past three such steps) searches, per final regression, for the first
  step where it fails, running only the regressions: fewer runs, but a test broken and fixed in
  between is not seen, and fixed tests are not searched.

What the attribution cost (its environment builds, pytest runs and seconds) is written beside it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from workbench.envs.builder import BUILD_INPUTS, EnvBuilder, SideEnv
from workbench.paths import Workspace
from workbench.selection.mapping import selection
from workbench.selection.run import PytestRun
from workbench.selection.select import is_test_file
from workbench.steps.envs import step_env
from workbench.steps.series import Step
from workbench.vocabulary import Log

SCHEMA = 2
"""``tests.json`` with ``per_patch`` and ``per_patch_cost`` (without them it stays schema 1)."""
METHODS = ("auto", "linear", "bisect")
LINEAR_UP_TO = 3
"""``auto`` runs every step in between while there are at most this many that can matter."""
FAILING = ("failed", "error")
NO_CODE = "touches no code a selected test runs"
DOCS = (".md", ".rst")
"""Documentation: a patch of only these (or of files under ``docs/``) runs no code."""
BISECT_NOTE = (
    "bisect: a binary search per final regression over the steps that can matter, running only "
    "the regressions; a test broken and fixed in between cannot be seen this way, and fixed "
    "tests are not searched"
)
BY_HAND = "the tests were chosen by hand (after --): no patch is skipped"

RunSide = Callable[[SideEnv, list[str]], PytestRun]
"""Runs node ids or test files on an environment, as the whole run does."""


def _file(target: str) -> str:
    return target.split("::", 1)[0]


def _overlaps(target: str, picked: str) -> bool:
    """Whether a run target and a test the selection picked are the same test or file."""
    return target == picked or _file(target) == picked or _file(picked) == target


def can_matter(
    ws: Workspace, builder: EnvBuilder, step: Step, targets: list[str], baseline: SideEnv
) -> bool:
    """Whether patch k could change the outcome of a selected test: the selection machinery
    picks a selected test for its files, or it changes a file the selection does not speak
    for (build inputs, test helpers, non-Python code). Documentation never matters."""
    test_root = builder.recipe.tests.root.rstrip("/") + "/"
    patched = builder.engine.co.patched
    for f in step.changed_files:
        name = f.rsplit("/", 1)[-1]
        if f.endswith(DOCS) or f.startswith("docs/"):
            continue
        if name in BUILD_INPUTS or name == "conftest.py" or f.startswith(test_root):
            return True
        if not f.endswith(".py") or not (patched / f).is_file():
            return True  # not Python, or gone by the last patch: no import graph speaks for it
    if not step.changed_files:
        return False
    picked = selection(ws, builder, step.changed_files, baseline).paths
    return any(_overlaps(t, p) for t in targets for p in picked) or any(
        is_test_file(f) and any(_file(t) == f for t in targets) for f in step.changed_files
    )


@dataclass
class Segment:
    """Steps with the same outcome: a patch that can matter, then the skipped ones after it."""

    first: Step
    """The step that can differ from the one before (step 0 for the first segment)."""
    last: int
    """The index of its last step."""


class Attribution:
    """The runs of one attribution: each step's outcomes as far as they are known, and what
    they cost."""

    def __init__(
        self,
        builder: EnvBuilder,
        run: RunSide,
        segments: list[Segment],
        baseline: SideEnv,
        log: Log,
        by_hand: bool = False,
    ):
        self.builder = builder
        self.by_hand = by_hand
        self.run_side = run
        self.segments = segments
        self.baseline = baseline
        self.log = log
        self.builds = 0
        self.runs = 0
        self.runs_at: dict[int, int] = {}
        self.outcomes: list[dict[str, str]] = [{} for _ in segments]
        """Per segment, each test's status where it ran (or is known from the whole run)."""
        self.ran: list[set[str]] = [set() for _ in segments]
        """Per segment, the targets run there (or known)."""

    def env(self, segment: int) -> SideEnv:
        step = self.segments[segment].first
        if step.index == 0:
            return self.baseline
        env = step_env(self.builder, step)
        self.builds += env.rebuilt
        return env

    def run(self, segment: int, targets: list[str]) -> dict[str, str]:
        """Run ``targets`` (node ids or files) at the segment's first step, those not run there
        yet; the statuses of its tests as far as they are known (a test the step has no file
        for is absent: it cannot fail there)."""
        known = self.outcomes[segment]
        todo = [t for t in dict.fromkeys(targets) if t not in self.ran[segment]]
        self.ran[segment].update(todo)
        if not todo:
            return known
        env = self.env(segment)
        # Arguments given by hand go as they are (options with their values among them); a
        # node id goes where the step has its file.
        present = [
            t
            for t in todo
            if (self.by_hand and "::" not in t) or (env.worktree / _file(t)).is_file()
        ]
        if present:
            k = self.segments[segment].first.index
            n = self.runs_at[k] = self.runs_at.get(k, 0) + 1
            label = f"step{k}" if n == 1 else f"step{k}-{n}"
            self.log(f"per patch: running {len(present)} target(s) at step {k}")
            result = self.run_side(replace(env, side=label), present)
            self.runs += 1
            known.update({o.id: o.status for o in result.report.outcomes})
        return known


def segments_of(steps: list[Step], matters: dict[int, bool]) -> list[Segment]:
    """Steps 0..N cut where a patch can matter: each segment's steps share one outcome."""
    out = [Segment(steps[0], 0)]
    for step in steps[1:]:
        if matters[step.index]:
            out.append(Segment(step, step.index))
        else:
            out[-1].last = step.index
    return out


def _failing(outcomes: dict[str, str]) -> set[str]:
    return {i for i, s in outcomes.items() if s in FAILING}


def attribute(
    ws: Workspace,
    builder: EnvBuilder,
    steps: list[Step],
    *,
    targets: list[str],
    by_hand: bool,
    baseline: SideEnv,
    final: dict[str, str],
    on_baseline: dict[str, str],
    run: RunSide,
    method: str,
    log: Log | None = None,
) -> tuple[list[dict], dict]:
    """``per_patch`` (one entry a patch, in series order) and ``per_patch_cost``.

    ``final``: each test's status at step N (the whole run); ``on_baseline``: the statuses the
    whole run saw on the baseline (its failures run again there)."""
    t0 = time.perf_counter()
    say = log or (lambda msg: None)
    patches = steps[1:]
    if not targets:
        matters = dict.fromkeys((s.index for s in patches), False)
    elif by_hand:
        matters = dict.fromkeys((s.index for s in patches), True)
    else:
        matters = {s.index: can_matter(ws, builder, s, targets, baseline) for s in patches}
    segments = segments_of(steps, matters)
    middle = list(range(1, len(segments) - 1))
    chosen = method if method != "auto" else "linear" if len(middle) <= LINEAR_UP_TO else "bisect"
    work = Attribution(builder, run, segments, baseline, say, by_hand)
    last = len(segments) - 1
    work.outcomes[last], work.ran[last] = dict(final), set(final)
    work.outcomes[0], work.ran[0] = dict(on_baseline), set(on_baseline)
    if chosen == "linear":
        for s in middle:
            work.run(s, targets)
        ever = sorted(set().union(*(_failing(o) for o in work.outcomes[1:])))
        work.run(0, ever)
    else:
        _bisect(work, final, on_baseline)
    broke = _failing(work.outcomes[0])
    per_segment: dict[int, tuple[list[str], list[str]]] = {}
    for s in range(1, len(segments)):
        before, after = work.outcomes[s - 1], work.outcomes[s]
        regressions = sorted(
            i for i in _failing(after) if before.get(i) not in FAILING and i not in broke
        )
        fixed = (
            sorted(i for i in _failing(before) if after.get(i) == "passed")
            if chosen == "linear"
            else []
        )
        per_segment[segments[s].first.index] = (regressions, fixed)
    entries = []
    for step in patches:
        regressions, fixed = per_segment.get(step.index, ([], []))
        entries.append(
            {
                "patch": step.patch,
                "step": step.index,
                "regressions": regressions,
                "fixed": fixed,
                "skipped": None if matters[step.index] else NO_CODE,
            }
        )
    note = BISECT_NOTE if chosen == "bisect" else None
    if by_hand and targets:
        note = BY_HAND if note is None else f"{BY_HAND}; {note}"
    cost = {
        "method": chosen,
        "builds": work.builds,
        "runs": work.runs,
        "seconds": round(time.perf_counter() - t0, 2),
        "note": note,
    }
    return entries, cost


def _bisect(work: Attribution, final: dict[str, str], on_baseline: dict[str, str]) -> None:
    """For each final regression, the first segment where it fails, by binary search between
    the baseline (passing or missing there) and step N; only the regressions run."""
    last = len(work.segments) - 1
    bounds = {
        i: (0, last)
        for i, status in final.items()
        if status in FAILING and on_baseline.get(i, "missing") not in FAILING
    }
    while True:
        probes: dict[int, list[str]] = {}
        for i, (good, bad) in bounds.items():
            if bad - good > 1:
                probes.setdefault((good + bad) // 2, []).append(i)
        if not probes:
            break
        for mid, ids in sorted(probes.items()):
            seen = work.run(mid, ids)
            for i in ids:
                good, bad = bounds[i]
                bounds[i] = (good, mid) if seen.get(i) in FAILING else (mid, bad)
    # Outside the search, each segment holds what it settled: passing before, failing after.
    for i, (_, bad) in bounds.items():
        for s in range(1, last):
            work.outcomes[s].setdefault(i, "failed" if s >= bad else "passed")


def nothing_selected(steps: list[Step]) -> tuple[list[dict], dict]:
    """``per_patch`` and its cost when no test is selected: every patch is skipped."""
    entries: list[dict] = [
        {"patch": s.patch, "step": s.index, "regressions": [], "fixed": [], "skipped": NO_CODE}
        for s in steps[1:]
    ]
    return entries, {"method": "linear", "builds": 0, "runs": 0, "seconds": 0.0, "note": None}
