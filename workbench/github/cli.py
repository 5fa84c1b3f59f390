"""``workbench sync``, ``workbench issues`` and ``workbench prs``.

``sync`` is the only command that talks to GitHub; ``issues`` and ``prs`` read the store and work
offline.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from workbench.config import Recipe, load_recipe, load_recipes
from workbench.console import err, out, print_json
from workbench.display import CI_STYLE, REVIEW_TEXT, ago, utc_now
from workbench.errors import UsageError
from workbench.github.errors import NotSynced
from workbench.github.store import ItemQuery, Store, TrackedItem
from workbench.github.sync import CLOSED_DAYS, RepoReport, SyncReport
from workbench.paths import Workspace

TABLE_LIMIT = 50


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return value


# --- sync ----------------------------------------------------------------------------------------


class _ProgressObserver:
    """One spinner line per repository while it syncs, on stderr."""

    def __init__(self, progress: Progress):
        self.progress = progress
        self.tasks: dict[str, Any] = {}
        self.items: dict[str, int] = {}

    def repo_started(self, name: str, repo: str, first_sync: bool) -> None:
        verb = "first sync of" if first_sync else "checking"
        self.items[name] = 0
        self.tasks[name] = self.progress.add_task(f"{verb} {name} ({repo})")

    def page_stored(self, name: str, page: int, last_page: int | None, items: int) -> None:
        self.items[name] += items
        of = f" of ≤{last_page}" if last_page else ""
        self.progress.update(
            self.tasks[name], description=f"{name}: page {page}{of}, {self.items[name]} items read"
        )

    def repo_finished(self, report: RepoReport) -> None:
        self.progress.update(self.tasks[report.name], description=_repo_line(report))


@contextmanager
def _observer(enabled: bool) -> Iterator[_ProgressObserver | None]:
    if not enabled:
        yield None
        return
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TimeElapsedColumn(),
        console=err,
        transient=True,  # the summary printed afterwards says it all
    )
    with progress:
        yield _ProgressObserver(progress)


def _repo_line(r: RepoReport) -> str:
    requests = f"{r.requests} request{'s' if r.requests != 1 else ''}"
    if r.not_modified:
        return f"{r.name}: unchanged ({requests}, 304)"
    if r.first_sync:
        return f"{r.name}: first sync, {r.new} items in {requests}"
    if not r.new and not r.updated:
        return f"{r.name}: nothing new ({requests})"
    return f"{r.name}: {r.new} new, {r.updated} updated in {requests}"


def _print_report(report: SyncReport) -> None:
    from workbench.github.client import reset_text

    for r in report.repos:
        out.print(_repo_line(r), markup=False)
    s = report.status
    if s.skipped == "anonymous":
        out.print("PR status: skipped (CI and review state need a token)")
    elif s.skipped:
        out.print("PR status: unchanged")
    else:
        out.print(
            f"PR status ({s.viewer}): {s.mine} open PR(s) of yours, "
            f"{s.review_requested} awaiting your review"
        )
    rate = report.rate
    if rate and rate.remaining is not None:
        out.print(f"rate limit: {rate.remaining} left, resets {reset_text(rate.reset)}")


def cmd_sync(args: argparse.Namespace) -> int:
    # PyGithub is imported here so that reading the store does not pay for it.
    from workbench.github.client import ANONYMOUS_WARNING, GitHubClient
    from workbench.github.sync import sync_upstreams

    def warn_anonymous(client: GitHubClient) -> None:
        if client.anonymous:
            err.print(f"warning: {ANONYMOUS_WARNING}", markup=False)

    ws = Workspace.discover()
    recipes = [load_recipe(ws, n) for n in dict.fromkeys(args.names)] or load_recipes(ws)
    with _observer(not args.json and err.is_terminal) as obs:
        report = sync_upstreams(
            ws, recipes, closed_days=args.closed_days, observer=obs, on_client=warn_anonymous
        )
    if args.json:
        print_json(report.to_json())
    else:
        _print_report(report)
    return 0


# --- issues and prs ------------------------------------------------------------------------------


def _recipes(ws: Workspace, name: str | None) -> list[Recipe]:
    return [load_recipe(ws, name)] if name else load_recipes(ws)


def _read(ws: Workspace, recipes: Sequence[Recipe], query: ItemQuery) -> list[TrackedItem]:
    with Store.open(ws, create=False) as store:
        repos = [r.upstream.repo for r in recipes]
        # A first sync cut short still left what it stored to read.
        if store.last_synced(repos) is None and not any(store.count(r) for r in repos):
            names = " ".join(r.name for r in recipes)
            raise NotSynced(
                f"nothing synced yet for {names}",
                f"run: workbench sync {names if len(recipes) == 1 else ''}".strip(),
            )
        return store.query(query)


def _limit(args: argparse.Namespace) -> int | None:
    if args.limit is not None:
        return args.limit or None
    return None if args.json else TABLE_LIMIT


def _show(
    rows: list[TrackedItem], recipes: Sequence[Recipe], args: argparse.Namespace, prs: bool
) -> int:
    if args.json:
        print_json([r.to_json() for r in rows])
        return 0
    if not rows:
        out.print("nothing matches")
        return 0
    names = {r.upstream.repo: r.name for r in recipes}
    now = utc_now()
    # Titles and labels give way to a narrow terminal; each row stays on one line.
    table = Table(box=None, pad_edge=False)
    for col in ("upstream", "#"):
        table.add_column(col, no_wrap=True)
    table.add_column("title", min_width=12)
    if prs:
        for col in ("author", "ci", "review"):
            table.add_column(col, no_wrap=True)
    else:
        table.add_column("labels", max_width=30)
        table.add_column("assignees", no_wrap=True, max_width=16)
    table.add_column("updated", justify="right", no_wrap=True)
    for t in rows:
        i = t.item
        title = Text(no_wrap=True, overflow="ellipsis")
        if i.draft:  # first, so that cutting a long title keeps it
            title.append("draft ", style="dim")
        title.append(i.title)
        cells: list[Text | str] = [names.get(i.repo, i.repo), str(i.number), title]
        if prs:
            ci = t.ci or ""
            word, style = REVIEW_TEXT.get(t.review or "", ("", "dim"))
            review = Text(word, style=style)
            if t.review_requested:
                review.append((" " if word else "") + "your review", style="bold")
            cells += [Text(i.author or ""), Text(ci, style=CI_STYLE.get(ci, "dim")), review]
        else:
            cells += [
                Text(", ".join(i.labels), no_wrap=True, overflow="ellipsis"),
                Text(", ".join(i.assignees)),
            ]
        cells.append(ago(i.updated_at, now))
        table.add_row(*cells)
    out.print(table)
    if args.limit is None and len(rows) == TABLE_LIMIT:
        out.print(f"[dim]first {TABLE_LIMIT} shown; --limit 0 shows all[/]")
    return 0


def _states(state: str) -> tuple[str, ...]:
    return () if state == "all" else (state,)


def cmd_issues(args: argparse.Namespace) -> int:
    ws = Workspace.discover()
    recipes = _recipes(ws, args.name)
    newcomer = None
    if args.newcomer:
        newcomer = {r.upstream.repo: r.labels.newcomer for r in recipes}
        if not any(newcomer.values()):
            raise UsageError(
                "no newcomer labels in the recipe(s)",
                "add labels.newcomer to upstreams/NAME/recipe.toml",
            )
    query = ItemQuery(
        repos=tuple(r.upstream.repo for r in recipes),
        pull_requests=False,
        states=_states(args.state),
        labels=tuple(args.label or ()),
        newcomer=newcomer,
        unassigned=args.unassigned,
        search=args.search,
        limit=_limit(args),
    )
    return _show(_read(ws, recipes, query), recipes, args, prs=False)


def cmd_prs(args: argparse.Namespace) -> int:
    ws = Workspace.discover()
    recipes = _recipes(ws, args.name)
    query = ItemQuery(
        repos=tuple(r.upstream.repo for r in recipes),
        pull_requests=True,
        states=_states(args.state),
        labels=tuple(args.label or ()),
        search=args.search,
        mine=args.mine,
        review_requested=args.review_requested,
        limit=_limit(args),
    )
    return _show(_read(ws, recipes, query), recipes, args, prs=True)


# --- parser --------------------------------------------------------------------------------------


def register(subparsers: Any) -> None:
    """Add ``sync``, ``issues`` and ``prs`` to the ``workbench`` parser."""
    help_ = "fetch issues, PRs and your PRs' CI/review state into the local store"
    p = subparsers.add_parser("sync", help=help_, description=help_)
    p.add_argument(
        "names", nargs="*", metavar="NAME", help="upstreams to sync (default: every recipe)"
    )
    p.add_argument(
        "--closed-days",
        type=_non_negative,
        default=CLOSED_DAYS,
        metavar="N",
        help=f"on a first sync, also fetch items closed in the last N days (default {CLOSED_DAYS})",
    )
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_sync)

    def common(p: argparse.ArgumentParser, states: Sequence[str]) -> None:
        p.add_argument("name", nargs="?", metavar="NAME", help="one upstream (default: all)")
        p.add_argument(
            "--label", action="append", metavar="L", help="has label L (repeat: all of them)"
        )
        p.add_argument("--search", metavar="TEXT", help="words in the title or body, or #N")
        p.add_argument("--state", choices=(*states, "all"), default="open", help="default: open")
        p.add_argument(
            "--limit",
            type=_non_negative,
            metavar="N",
            help=f"at most N (default {TABLE_LIMIT} in the table, all with --json; 0: all)",
        )
        p.add_argument("--json", action="store_true", help="print JSON")

    help_ = "list issues from the store, newest update first (works offline)"
    p = subparsers.add_parser("issues", help=help_, description=help_)
    common(p, ("open", "closed"))
    p.add_argument(
        "--newcomer", action="store_true", help="has one of the recipe's newcomer labels"
    )
    p.add_argument("--unassigned", action="store_true", help="nobody is assigned")
    p.set_defaults(func=cmd_issues)

    help_ = "list pull requests from the store with CI and review state (works offline)"
    p = subparsers.add_parser("prs", help=help_, description=help_)
    common(p, ("open", "closed", "merged"))
    p.add_argument("--mine", action="store_true", help="opened by you (the token's user)")
    p.add_argument("--review-requested", action="store_true", help="your review is requested")
    p.set_defaults(func=cmd_prs)
