"""Which patch of a series made which speed change: ``workbench bench run NAME --per-patch``.

Step k of a series is the pin plus its first k patches (:mod:`workbench.steps`): step 0 is the
baseline side, step N the patched side. After the whole series is timed as always (step 0 against
step N), each patch is asked about alone: step k-1 against step k, with the same runner,
statistics and honest verdicts (below what the machine resolves reads inconclusive), on the cases
that run the code patch k changes, found by the runner's untimed probe with the patch's own
changed blocks. Which cases may run a patch's code is first read from the whole run's probe, so a
patch that no case runs is skipped, said so, and neither built nor timed.

What one step cannot say is said as such: a whole-series change that no single step shows
(several patches each below what the machine resolves, or patches that partly cancel) is listed
in ``spread`` over the patches whose code the case runs, never pinned on one; a step's verdict the
whole series does not show (a later patch undid it) is kept as measured.

When every whole-series verdict is a large change in one direction (beyond ``LARGE``) and more
than ``BISECT_ABOVE`` patches could have made it, the steps are searched by halving instead of
timed pair by pair, as ``asv find`` does: one patch is assumed to make the whole change (said in
``per_patch_cost.note``); a comparison whose answer is mixed or inconclusive falls back to timing
every step. ``per_patch_cost`` records the method, the builds, the comparisons timed and the
seconds. Reading these results back is :mod:`workbench.bench.per_patch_report`.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from workbench.bench import report, stats
from workbench.bench.changes import ChangedCode
from workbench.bench.processes import SideSpec
from workbench.bench.runner import BenchRun, CaseRun, Progress, Settings
from workbench.bench.runner import run as run_file
from workbench.vocabulary import BASELINE, PATCHED, Log

if TYPE_CHECKING:
    from workbench.envs.builder import EnvBuilder, SideEnv
    from workbench.steps.series import Step

SKIP_NOT_RUN = "no bench case runs the code this patch changes"
SKIP_NO_CODE = "the patch changes no upstream code a bench could run (tests or docs only)"
SKIP_INTERRUPTED = "not timed: the run was interrupted"
LARGE = 1.2
"""A whole-series ratio beyond this (or below its inverse) is a change a binary search may chase."""
BISECT_ABOVE = 3
"""A binary search only pays with more patches than this that could have made the change."""
LINEAR, BISECT = "linear", "bisect"
DIRECTIONS = (stats.FASTER, stats.SLOWER)


def changed_code_between(
    builder: EnvBuilder, before: SideEnv, after: SideEnv, files: list[str]
) -> ChangedCode:
    """The code changed between two built worktrees, and where each one's environment imports it
    from (the worktree itself, or the installed package of a wheel overlay)."""
    from workbench.envs.venv import site_packages

    changes = ChangedCode.between(before.worktree, after.worktree, files, builder.recipe.tests.root)
    mode = builder.mode()
    if mode.kind == "wheel-overlay" and mode.overlay_into:
        package = Path(mode.overlay_into).name
        for side, env in ((BASELINE, before), (PATCHED, after)):
            changes.add_root(side, site_packages(env.path) / package, mode.overlay_into)
    return changes


def evidence_names(case: dict) -> set[str]:
    """What of the change a case of ``bench.json`` runs or may run: its changed blocks, and the
    block or file each ``may_run`` entry names before its reason."""
    names = set(case.get("changed_code") or [])
    names.update(str(m).split(" ", 1)[0] for m in case.get("may_run") or [])
    return names


@dataclass
class Question:
    """One patch's step, and the whole run's cases that may run the code it changes."""

    step: Step
    changes: ChangedCode
    names: set[str]
    """The patch's changed blocks (``path::qualname``) and the non-Python files it changes."""
    known: bool
    """Did the whole run's probe watch all of it? A block the whole series does not change (a
    later patch put it back) was watched by no one: every case that ran is then a candidate."""
    ids: list[str] = field(default_factory=list)
    skipped: str | None = None


@dataclass
class Timed:
    """One comparison timed: step ``start`` against step ``end``, on some cases."""

    start: int
    end: int
    cases: list[dict]
    """Per case: id, ratio (end against start), interval, verdict, changed_code, may_run,
    outputs, processes."""
    not_timed: list[str] = field(default_factory=list)
    """Why cases that run the change were not timed (skipped by a device, a set-up)."""
    off_change: list[str] = field(default_factory=list)
    """Cases the probe found running none of the code changed in between: nothing to time."""
    reused: bool = False
    """Read off the whole run: the steps outside change no code these cases run."""

    def verdict_of(self, case_id: str) -> str | None:
        return next((c["verdict"] for c in self.cases if c["id"] == case_id), None)


def step_case(case: CaseRun) -> dict[str, Any]:
    """One timed case of a step comparison, as ``bench.json``'s ``per_patch`` lists it."""
    c = case.comparison
    assert c is not None
    verdict = report.backed_verdict(
        {
            "verdict": c.verdict,
            "changed_code": case.changed_code,
            "may_run": case.may_run,
            "processes": {BASELINE: case.processes, PATCHED: case.processes},
        }
    )
    return {
        "id": case.id,
        "ratio": c.ratio,
        "interval": [c.ci_low, c.ci_high],
        "verdict": verdict,
        "p_value": c.p_value,
        "changed_code": case.changed_code,
        "may_run": case.may_run,
        "outputs": (case.outputs or {}).get("match"),
        "processes": case.processes,
    }


class PerPatch:
    """The steps of NAME's series, built and timed on demand, and what each patch did."""

    def __init__(
        self,
        builder: EnvBuilder,
        settings: Settings,
        *,
        log: Log | None = None,
        progress: Progress | None = None,
    ):
        from workbench.steps.series import series_steps

        self.t0 = time.perf_counter()
        self.builder = builder
        self.steps = series_steps(builder)  # refuses unsaved work before anything is timed
        self.files: dict[str, Path] = {}
        # A step is asked only about the cases that run its code: never --all.
        self.settings = dataclasses.replace(settings, all_cases=False)
        self.log = log or (lambda msg: None)
        self.progress = progress
        self.bench_env = builder.bench_env()
        self._trees: dict[int, Path] = {}
        self._envs: dict[int, SideEnv] = {}
        self.builds = 0
        self.timed: list[Timed] = []
        self._questions: list[Question] = []
        self.interrupted = False

    @property
    def last(self) -> int:
        return len(self.steps) - 1

    def _tree(self, k: int) -> Path:
        from workbench.steps.envs import step_worktree

        if k not in self._trees:
            self._trees[k] = step_worktree(self.builder, self.steps[k])
        return self._trees[k]

    def _env(self, k: int) -> SideEnv:
        from workbench.steps.envs import step_env

        if k not in self._envs:
            env = step_env(self.builder, self.steps[k])
            self.builds += int(env.rebuilt)
            self._envs[k] = env
        return self._envs[k]

    def _files_between(self, start: int, end: int) -> list[str]:
        return sorted({f for s in self.steps[start + 1 : end + 1] for f in s.changed_files})

    # --- which patches any case runs ------------------------------------------------------------

    def questions(self, doc: dict) -> list[Question]:
        """Each patch with the whole run's cases that may run its code (no build needed: the
        worktrees of two steps are enough to tell what the patch changes)."""
        seen = set(doc.get("changed_blocks") or []) | set(doc.get("changed_not_traceable") or [])
        probed = [
            c for c in doc["cases"] if not c.get("skipped") and c.get("changed_code") is not None
        ]
        out = []
        for step in self.steps[1:]:
            changes = ChangedCode.between(
                self._tree(step.index - 1),
                self._tree(step.index),
                list(step.changed_files),
                self.builder.recipe.tests.root,
            )
            names = set(changes.names()) | set(changes.unseen)
            q = Question(step, changes, names, known=names <= seen)
            if changes.empty:
                q.skipped = SKIP_NO_CODE
            else:
                q.ids = [c["id"] for c in probed if not q.known or names & evidence_names(c)]
                if not q.ids:
                    q.skipped = SKIP_NOT_RUN
            out.append(q)
        return out

    # --- timing a comparison --------------------------------------------------------------------

    def _whole_run_stands_for(self, start: int, end: int, ids: list[str], doc: dict) -> bool:
        """Is step ``start`` against step ``end`` the whole run, for these cases: every patch
        outside (start, end] changes no code they run, and the whole run timed them all?"""
        outside = [q for q in self._questions if not start < q.step.index <= end]
        if any(set(q.ids) & set(ids) for q in outside):
            return False
        timed = {c["id"] for c in report.measured_cases(doc)}
        return set(ids) <= timed

    def _from_whole_run(self, start: int, end: int, ids: list[str], doc: dict) -> Timed:
        names = {n for q in self._questions if start < q.step.index <= end for n in q.names}
        cases = []
        for c in doc["cases"]:
            if c["id"] not in ids:
                continue
            cases.append(
                {
                    "id": c["id"],
                    "ratio": c["ratio"],
                    "interval": list(c["ci"]),
                    "verdict": report.backed_verdict(c),
                    "p_value": c.get("p_value"),
                    "changed_code": [b for b in c.get("changed_code") or [] if b in names],
                    "may_run": [m for m in c.get("may_run") or [] if m.split(" ", 1)[0] in names],
                    "outputs": (c.get("outputs") or {}).get("match"),
                    "processes": report.processes_of(c),
                }
            )
        return Timed(start, end, cases, reused=True)

    def compare(self, start: int, end: int, ids: list[str], doc: dict) -> Timed:
        """Step ``start`` against step ``end`` on the cases ``ids`` (those of them that run the
        code changed in between, by the runner's own probe)."""
        if self._whole_run_stands_for(start, end, ids, doc):
            timed = self._from_whole_run(start, end, ids, doc)
            self.timed.append(timed)
            return timed
        # The patches in between that any case runs (the others change nothing it times).
        names = [
            str(q.step.patch) for q in self._questions if start < q.step.index <= end and q.ids
        ]
        self.log(
            f"per patch: {', '.join(names)}: step {start} against step {end}, {len(ids)} case(s)"
        )
        before, after = self._env(start), self._env(end)
        changes = changed_code_between(self.builder, before, after, self._files_between(start, end))
        base = SideSpec(BASELINE, str(before.python), None, self.bench_env)
        patched = SideSpec(PATCHED, str(after.python), None, self.bench_env)
        wanted = set(ids)
        files = dict.fromkeys(
            self.files[c["file"]]
            for c in doc["cases"]
            if c["id"] in wanted and c.get("file") in self.files
        )
        runs: list[BenchRun] = []
        for f in files:
            run_file(
                f,
                base,
                patched,
                self.settings,
                progress=self.progress,
                changes=changes,
                into=runs,
                ids=wanted,
            )
        cases = [step_case(c) for r in runs for c in r.cases if c.comparison and c.evidence]
        not_timed = [
            str(c.skipped) for r in runs for c in r.cases if c.skipped and c.evidence is not False
        ]
        off = [c.id for r in runs for c in r.cases if c.evidence is False]
        timed = Timed(start, end, cases, not_timed, off)
        self.timed.append(timed)
        return timed

    # --- the answer -----------------------------------------------------------------------------

    def attribute(self, doc: dict, files: list[Path] | None = None) -> dict[str, Any]:
        """``per_patch``, ``spread`` and ``per_patch_cost`` for the whole run's ``doc``, made
        from the bench ``files``. Its ``seconds`` are the attribution's own, not the whole run's."""
        self.t0 = time.perf_counter()
        self.files = {Path(f).name: Path(f) for f in files or []}
        self._questions = questions = self.questions(doc)
        entries: dict[int, dict] = {}
        for q in questions:
            if q.skipped:
                entries[q.step.index] = self._entry(q.step, skipped=q.skipped)
        method, note = LINEAR, None
        try:
            plan = self._bisect_plan(doc, questions)
            if plan is not None:
                method = BISECT
                note = self._bisect(doc, questions, entries, *plan)
                if note.startswith("gave up"):
                    method, note = LINEAR, f"a binary search {note}; every patch timed instead"
            for q in questions:
                if q.step.index not in entries:
                    timed = self.compare(self._before(q.step.index), q.step.index, q.ids, doc)
                    entries[q.step.index] = self._timed_entry(q.step, timed)
        except KeyboardInterrupt:
            self.interrupted = True
            for q in questions:
                entries.setdefault(q.step.index, self._entry(q.step, skipped=SKIP_INTERRUPTED))
        per_patch = [entries[q.step.index] for q in questions]
        return {
            "per_patch": per_patch,
            "spread": self._spread(doc, questions, per_patch),
            "per_patch_cost": {
                "method": method,
                "builds": self.builds,
                "runs": sum(1 for t in self.timed if not t.reused),
                "seconds": round(time.perf_counter() - self.t0, 2),
                "note": note,
                "comparisons": [
                    {
                        "from": t.start,
                        "to": t.end,
                        "verdicts": {c["id"]: c["verdict"] for c in t.cases},
                        "reused": t.reused,
                    }
                    for t in self.timed
                ],
            },
        }

    def _before(self, k: int) -> int:
        """The step patch k is timed against: k-1, or earlier past patches that change no code
        any case runs (the same code for the cases, and one build fewer)."""
        j = k - 1
        while j > 0 and self._questions[j - 1].skipped in (SKIP_NO_CODE, SKIP_NOT_RUN):
            j -= 1
        return j

    def _entry(self, step: Step, **kw: Any) -> dict[str, Any]:
        return {"patch": step.patch, "step": step.index, **kw}

    def _timed_entry(self, step: Step, timed: Timed) -> dict[str, Any]:
        if timed.cases:
            return self._entry(step, against=timed.start, cases=timed.cases)
        if timed.not_timed:
            reasons = "; ".join(dict.fromkeys(timed.not_timed))
            return self._entry(
                step, skipped=f"every case that runs its code was skipped: {reasons}"
            )
        return self._entry(step, skipped=SKIP_NOT_RUN)

    # --- binary search --------------------------------------------------------------------------

    def _bisect_plan(
        self, doc: dict, questions: list[Question]
    ) -> tuple[list[Question], list[str], str] | None:
        """The patches to search and the cases to follow, when the whole change is large, one
        way, and may come from more than ``BISECT_ABOVE`` patches; else None (time every step)."""
        shown = [c for c in report.measured_cases(doc) if report.backed_verdict(c) in DIRECTIONS]
        directions = {report.backed_verdict(c) for c in shown}
        if len(directions) != 1:
            return None
        direction = str(directions.pop())
        large = all(
            c["ratio"] >= LARGE if direction == stats.SLOWER else c["ratio"] <= 1 / LARGE
            for c in shown
        )
        ids = [c["id"] for c in shown]
        searched = [q for q in questions if not q.skipped and set(q.ids) & set(ids)]
        if not large or len(searched) <= BISECT_ABOVE:
            return None
        return searched, ids, direction

    def _bisect(
        self,
        doc: dict,
        questions: list[Question],
        entries: dict[int, dict],
        searched: list[Question],
        ids: list[str],
        direction: str,
    ) -> str:
        """Halve the searched patches until one is left: the change is in (low, mid] when every
        followed case reads ``direction`` from step low to step mid, past mid when none does.
        Returns the note; "gave up …" when an answer was mixed or inconclusive."""
        low = 0
        left = [q.step.index for q in searched]
        last: Timed | None = None
        while len(left) > 1:
            i = (len(left) - 1) // 2
            mid = left[i]
            timed = self.compare(low, mid, ids, doc)
            reads = {self._reads(timed, cid, direction) for cid in ids}
            if reads == {"has"}:
                left, last = left[: i + 1], timed
            elif reads == {"has not"}:
                low, left, last = mid, left[i + 1 :], None
            else:
                return (
                    f"gave up after {len(self.timed)} comparison(s): step {low} against step "
                    f"{mid} read {', '.join(sorted(reads))} for the cases followed, so the change "
                    "is not one patch's"
                )
        found = left[0]
        if last is None or (last.start, last.end) != (low, found):
            last = self.compare(low, found, ids, doc)
        step = self.steps[found]
        entries[found] = self._timed_entry(step, last)
        for q in questions:
            if not q.skipped and q.step.index != found:
                entries[q.step.index] = self._entry(
                    q.step,
                    skipped=f"not timed on its own: the binary search placed the change at "
                    f"{step.patch}",
                )
        ratios = ", ".join(
            f"{c['id']} {c['ratio']:.2f}x" for c in report.measured_cases(doc) if c["id"] in ids
        )
        return (
            f"binary search over the {len(searched)} patches whose code the {direction} cases "
            f"run ({ratios} over the series), as asv find does: one patch is assumed to make the "
            "whole change; the other patches were not timed on their own"
        )

    @staticmethod
    def _reads(timed: Timed, case_id: str, direction: str) -> str:
        verdict = timed.verdict_of(case_id)
        if case_id in timed.off_change:
            return "has not"  # it runs none of the code changed in between
        if verdict == direction:
            return "has"
        if verdict in (stats.UNCHANGED, *DIRECTIONS):
            return "has not"
        return verdict or "not timed"

    # --- spread ---------------------------------------------------------------------------------

    def _spread(self, doc: dict, questions: list[Question], per_patch: list[dict]) -> list[dict]:
        """Whole-series changes no single patch's step shows, with the patches whose code the
        case runs."""
        out = []
        for c in report.measured_cases(doc):
            verdict = report.backed_verdict(c)
            if verdict not in DIRECTIONS:
                continue
            if any(
                x["id"] == c["id"] and x["verdict"] == verdict
                for e in per_patch
                for x in e.get("cases", [])
            ):
                continue
            patches = [str(q.step.patch) for q in questions if not q.skipped and c["id"] in q.ids]
            timed = [
                e["patch"] for e in per_patch if any(x["id"] == c["id"] for x in e.get("cases", []))
            ]
            if len(timed) > 1:
                note = (
                    f"not pinned on one: {len(timed)} patches run by it, none {verdict} on its "
                    "own (each below what the machine resolves, or they partly cancel)"
                )
            elif timed:
                note = f"not pinned on one: the one patch timed for it is not {verdict} on its own"
            else:
                note = "not pinned on one: no patch's own step was timed for it"
            out.append(
                {
                    "id": c["id"],
                    "verdict": verdict,
                    "ratio": c["ratio"],
                    "interval": list(c["ci"]),
                    "patches": patches,
                    "note": note,
                }
            )
        return out
