"""Each patch's effect, read from the newest runs of a series that carry per-patch results
(``tests run --per-patch``, ``bench run --per-patch``): what the PR draft's series summary and
the TUI's Patches tab say about each patch.

Effects are read only from runs made from the series as it is now (their ``series_digest``); the
newest per-patch run of an earlier version is kept only to be named as such, never shown as the
current answer. The words are plain: whoever shows them says how node ids and case ids are
written (``code``) and how the rest is (``text``), so the TUI's Markdown and the draft's each
escape them their own way.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from workbench.bench import per_patch_report, stats
from workbench.paths import Workspace
from workbench.runs import Latest, RunResult, list_runs, newest

Format = Callable[[str], str]
MAX_IDS = 5
"""Node ids named for one patch; the rest are counted."""


def _as_is(text: str) -> str:
    return text


def carries_per_patch(run: RunResult) -> bool:
    """Whether the run was made with ``--per-patch`` (its file has a ``per_patch`` list)."""
    return isinstance(run.doc.get("per_patch"), list)


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _ids(ids: list[str], code: Format, text: Format) -> str:
    named = ", ".join(code(i) for i in ids[:MAX_IDS])
    rest = len(ids) - MAX_IDS
    return named + (text(f" and {rest} more") if rest > 0 else "")


@dataclass(frozen=True)
class PatchEffect:
    """One patch's entries in the per-patch results of the series' current runs (None: no such
    run, or the run does not list the patch)."""

    patch: str
    tests: dict[str, Any] | None = None
    bench: dict[str, Any] | None = None
    spread: tuple[dict[str, Any], ...] = ()
    """The bench's whole-series changes that no single patch resolves, over this patch too."""

    # --- tests -----------------------------------------------------------------------------------

    def tests_cell(self) -> str | None:
        """A few words for a table cell: ``1 regression``, ``fixed 1``, ``no change``,
        ``skipped``."""
        e = self.tests
        if e is None:
            return None
        if e.get("skipped"):
            return "skipped"
        regressions, fixed = e.get("regressions") or [], e.get("fixed") or []
        parts = []
        if regressions:
            parts.append(_count(len(regressions), "regression", "regressions"))
        if fixed:
            parts.append(f"fixed {len(fixed)}")
        return ", ".join(parts) or "no change"

    def tests_words(self, code: Format = _as_is, text: Format = _as_is) -> str | None:
        """The regressions it introduced and the failing tests it made pass, by node id; no
        change; or why it was skipped."""
        e = self.tests
        if e is None:
            return None
        if e.get("skipped"):
            return text(f"skipped: {e['skipped']}")
        regressions, fixed = e.get("regressions") or [], e.get("fixed") or []
        parts = []
        if regressions:
            head = _count(len(regressions), "regression", "regressions")
            parts.append(text(f"{head}: ") + _ids(regressions, code, text))
        if fixed:
            parts.append(text(f"fixed {len(fixed)}: ") + _ids(fixed, code, text))
        return "; ".join(parts) or text("no change")

    # --- bench -----------------------------------------------------------------------------------

    def bench_cell(self) -> str | None:
        """A few words for a table cell: ``slower 1.31x`` (the geometric mean of the cases
        that say so), ``slower/faster`` when cases differ, ``inconclusive``, ``unchanged``,
        ``skipped``; ``spread`` when a whole-series change over it is not pinned on one patch,
        ``, outputs differ`` when a case computed something else. The rest is in the words."""
        e = self.bench
        if e is None:
            return None
        cases = e.get("cases") or []
        groups = dict(per_patch_report.verdict_groups(cases))
        moved = [v for v in (stats.SLOWER, stats.FASTER) if v in groups]
        if e.get("skipped"):
            cell = "skipped"
        elif len(moved) == 2:
            cell = "/".join(moved)
        elif moved:
            cell = f"{moved[0]} {per_patch_report.geomean_ratio(groups[moved[0]]):.2f}x"
        elif self.spread:
            cell = ""  # its own step resolves nothing: the spread is what there is to say
        else:
            cell = next(iter(groups), "not timed")
        if self.spread:
            cell = f"{cell}, spread" if cell else "spread"
        if any(c.get("outputs") == "differ" for c in cases):
            cell += ", outputs differ"
        return cell

    def bench_words(self, code: Format = _as_is, text: Format = _as_is) -> str | None:
        """Its verdicts with ratios and intervals, or why it was not timed (``no bench case runs
        the code this patch changes``); then each spread change it is part of."""
        e = self.bench
        if e is None:
            return None
        words = text(per_patch_report.patch_effect(e))
        for item in self.spread:
            over = ", ".join(per_patch_report.short_patch(p) for p in item["patches"])
            words += (
                text("; spread: case ")
                + code(str(item["id"]))
                + text(
                    f" {item['verdict']} {item['ratio']:.2f}x over {over}, no single patch "
                    "resolves it"
                )
            )
        return words


@dataclass
class PerPatchRuns:
    """The newest tests and bench runs of a series that carry per-patch results: made from the
    series as it is now (current), else the newest of an earlier version (stale), else none."""

    tests: Latest = field(default_factory=lambda: Latest(None, False))
    bench: Latest = field(default_factory=lambda: Latest(None, False))

    def by_kind(self) -> dict[str, Latest]:
        return {"tests": self.tests, "bench": self.bench}

    def current(self) -> dict[str, RunResult]:
        """The runs whose per-patch results are shown, by kind."""
        return {k: v.result for k, v in self.by_kind().items() if v.current and v.result}

    def stale(self) -> dict[str, RunResult]:
        """The runs made from an earlier version of the series: named, not shown."""
        return {k: v.result for k, v in self.by_kind().items() if not v.current and v.result}

    def effects(self, patches: list[str]) -> list[PatchEffect]:
        """Each of ``patches`` (file names, in series order) with its entries; empty when no
        current run carries per-patch results."""
        current = self.current()
        if not current:
            return []
        entries = {
            kind: {e.get("patch"): e for e in run.doc["per_patch"] if isinstance(e, dict)}
            for kind, run in current.items()
        }
        bench = current.get("bench")
        spread = (
            [s for s in (bench.doc.get("spread") or []) if isinstance(s, dict)] if bench else []
        )
        return [
            PatchEffect(
                patch,
                tests=entries.get("tests", {}).get(patch),
                bench=entries.get("bench", {}).get(patch),
                spread=tuple(s for s in spread if patch in (s.get("patches") or [])),
            )
            for patch in patches
        ]


def per_patch_runs(runs: dict[str, list[RunResult]], digest: str | None) -> PerPatchRuns:
    """From each kind's runs (newest first), the newest carrying per-patch results."""
    found = {
        kind: newest([r for r in runs.get(kind, []) if carries_per_patch(r)], digest)
        for kind in ("tests", "bench")
    }
    return PerPatchRuns(**found)


def read_per_patch_runs(ws: Workspace, name: str, digest: str | None) -> PerPatchRuns:
    """The newest per-patch tests and bench runs of upstream ``name``."""
    return per_patch_runs({k: list_runs(ws, name, k) for k in ("tests", "bench")}, digest)
