"""What the TUI shows, read from the library: pages of the store's lists, the series, the runs.

No Textual here: these functions run in thread workers and return plain values, so they are
also what the benchmark and the tests call directly.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime

from workbench.config import Recipe
from workbench.display import head_trial_text, utc_now
from workbench.errors import WorkbenchError
from workbench.github.blocking import BlockingView, read_blocking
from workbench.github.errors import NotSynced
from workbench.github.store import ItemQuery, Store, TrackedItem
from workbench.gitops.status import HeadOutcome, SeriesStatus
from workbench.paths import Workspace
from workbench.pr.patch_effects import PatchEffect, PerPatchRuns, per_patch_runs
from workbench.runs import RunResult, list_runs, newest

PAGE_SIZE = 60
LISTS = ("issues", "mine", "reviews")
"""The store-backed tabs: issues, my PRs, review requests."""


@dataclass(frozen=True)
class ListFilter:
    """What the contributor narrowed a list to: the sidebar, the filter box, the toggles."""

    upstream: str | None = None
    """A recipe name; None: every upstream."""
    text: str = ""
    labels: tuple[str, ...] = ()
    newcomer: bool = False
    unassigned: bool = False


@dataclass
class ListPage:
    """One page of a list and the size of the whole filtered list."""

    kind: str
    filter: ListFilter
    offset: int
    rows: list[TrackedItem]
    total: int
    facets: list[tuple[str, int]] = field(default_factory=list)
    note: str | None = None
    """Why the list is empty when that is not the filter's doing (e.g. who you are is unknown)."""
    blocking: BlockingView = field(default_factory=BlockingView)
    """For the PR lists: each PR's checks, threads, logs, and what blocks it."""

    @property
    def more(self) -> bool:
        return self.offset + len(self.rows) < self.total


def item_query(kind: str, recipes: list[Recipe], f: ListFilter) -> ItemQuery:
    chosen = [r for r in recipes if f.upstream in (None, r.name)]
    base = ItemQuery(
        repos=tuple(r.upstream.repo for r in chosen),
        labels=f.labels,
        search=f.text.strip() or None,
    )
    if kind == "issues":
        newcomer = {r.upstream.repo: r.labels.newcomer for r in chosen} if f.newcomer else None
        return dataclasses.replace(
            base, pull_requests=False, newcomer=newcomer, unassigned=f.unassigned
        )
    if kind == "mine":
        return dataclasses.replace(base, pull_requests=True, mine=True)
    if kind == "reviews":
        return dataclasses.replace(base, pull_requests=True, review_requested=True)
    raise ValueError(f"not a list: {kind}")


def read_page(
    store: Store,
    recipes: list[Recipe],
    kind: str,
    f: ListFilter,
    offset: int = 0,
    *,
    limit: int = PAGE_SIZE,
    facets: bool = False,
    now: datetime | None = None,
) -> ListPage:
    """``limit`` rows from ``offset``, the filtered count, and label facets when asked; for the
    PR lists, what blocks each PR (as of ``now``)."""
    q = item_query(kind, recipes, f)
    try:
        rows = store.query(dataclasses.replace(q, limit=limit, offset=offset))
        if len(rows) < limit and (rows or not offset):
            total = offset + len(rows)  # the last page: no COUNT needed
        else:
            total = store.count_matching(q)
        counts = store.label_counts(q) if facets else []
        blocking = BlockingView()
        if kind != "issues":
            by_repo = {r.upstream.repo: r for r in recipes}
            blocking = read_blocking(store, rows, by_repo, now or utc_now())
    except NotSynced as exc:
        return ListPage(kind, f, offset, [], 0, note=exc.one_line())
    return ListPage(kind, f, offset, rows, total, counts, blocking=blocking)


@dataclass
class UpstreamCounts:
    name: str
    issues: int
    prs: int


def upstream_counts(store: Store, recipes: list[Recipe]) -> list[UpstreamCounts]:
    """Open issues and open PRs per upstream, for the sidebar."""
    out = []
    for r in recipes:
        repo = (r.upstream.repo,)
        out.append(
            UpstreamCounts(
                r.name,
                store.count_matching(ItemQuery(repos=repo, pull_requests=False)),
                store.count_matching(ItemQuery(repos=repo, pull_requests=True)),
            )
        )
    return out


@dataclass
class SyncInfo:
    synced_at: str | None
    rate_remaining: int | None
    viewer: str | None
    items: int


def sync_info(store: Store, recipes: list[Recipe]) -> SyncInfo:
    repos = [r.upstream.repo for r in recipes]
    remaining = None
    newest = ""
    for repo in repos:
        s = store.sync_state(repo)
        if s and s.synced_at and s.synced_at >= newest:
            newest, remaining = s.synced_at, s.rate_remaining
    return SyncInfo(store.last_synced(repos), remaining, store.viewer(), store.count())


# --- series and runs ---------------------------------------------------------------------------


@dataclass
class SeriesView:
    """One upstream's series as the Patches tab shows it."""

    name: str
    status: SeriesStatus | None
    error: WorkbenchError | None = None
    tests: RunResult | None = None
    tests_state: str = "none"
    bench: RunResult | None = None
    bench_state: str = "none"
    per_patch: PerPatchRuns = field(default_factory=PerPatchRuns)
    """The newest tests and bench runs made with ``--per-patch`` (current, stale or none)."""
    effects: dict[str, PatchEffect] = field(default_factory=dict)
    """Each patch's own outcome (by file name), from the current per-patch runs only."""

    @property
    def outcome(self) -> HeadOutcome:
        """The trial apply onto upstream's head (see :mod:`workbench.display` for its words)."""
        return HeadOutcome.NOT_CHECKED if self.status is None else self.status.head_outcome

    @property
    def applies(self) -> str:
        return head_trial_text(self.status.applies_to_head if self.status else None)


def series_view(ws: Workspace, recipe: Recipe, *, check_head: bool = True) -> SeriesView:
    """The series status (a trial apply onto upstream's head), the newest run verdicts, and
    each patch's own outcome where a run of this series was made with ``--per-patch``."""
    from workbench.gitops.engine import SeriesEngine

    engine = SeriesEngine(ws, recipe)
    digest = engine.series().digest()
    view = SeriesView(recipe.name, None)
    try:
        view.status = engine.report.status(check_head=check_head)
    except WorkbenchError as exc:  # not fetched yet: the view says so and how to fix it
        view.error = exc
    runs = {kind: list_runs(ws, recipe.name, kind) for kind in ("tests", "bench")}
    for kind, of_kind in runs.items():
        found = newest(of_kind, digest)
        setattr(view, kind, found.result)
        setattr(view, f"{kind}_state", found.state)
    view.per_patch = per_patch_runs(runs, digest)
    if view.status is not None:
        patches = [p.file for p in view.status.patches]
        view.effects = {e.patch: e for e in view.per_patch.effects(patches)}
    return view


def all_runs(ws: Workspace, recipes: list[Recipe]) -> list[tuple[RunResult, bool]]:
    """Every run of every upstream, newest first, with whether it matches the current series."""
    from workbench.gitops.series import load_series

    out: list[tuple[RunResult, bool]] = []
    for r in recipes:
        try:
            digest = load_series(ws.patches(r.name)).digest()
        except WorkbenchError:
            digest = None
        out.extend((run, run.is_current(digest)) for run in list_runs(ws, r.name))
    out.sort(key=lambda pair: (pair[0].started, pair[0].run_id), reverse=True)
    return out
