"""``workbench sync``: bring the store up to date, a spinner line per repository while it runs,
then one line each for the repositories, the PR status, the notifications and the rate limit."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from workbench.config import load_recipe, load_recipes
from workbench.console import err, out, print_json
from workbench.github.sync import RepoReport, SyncReport
from workbench.paths import Workspace


def cmd_sync(args: argparse.Namespace) -> int:
    # PyGithub is imported here so that reading the store does not pay for it.
    from workbench.github.client import GitHubClient
    from workbench.github.settings import ANONYMOUS_WARNING
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
    line = _notifications_line(report)
    if line:
        out.print(line, markup=False)
    rate = report.rate
    if rate and rate.remaining is not None:
        out.print(f"rate limit: {rate.remaining} left, resets {reset_text(rate.reset)}")


def _notifications_line(report: SyncReport) -> str | None:
    """The sync's line about notifications; None when there is nothing new to say."""
    n = report.notifications
    if n.unavailable:
        return f"notifications unavailable: {n.unavailable}"
    if n.skipped == "anonymous":
        return "notifications: skipped (they need a token)"
    if n.skipped == "unavailable":
        return None  # said by the sync that learnt it; `workbench notifications` says it again
    if n.skipped:
        return f"notifications: {n.unread} unread; next poll in {n.next_poll_s} s (GitHub's pace)"
    if n.not_modified:
        return f"notifications: unchanged (304), {n.unread} unread"
    read = f", {n.read_elsewhere} read elsewhere" if n.read_elsewhere else ""
    return f"notifications: {n.unread} unread ({n.new} new{read})"
