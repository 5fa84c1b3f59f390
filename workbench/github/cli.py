"""``workbench sync``, ``workbench issues``, ``workbench prs`` and ``workbench prs log``.

``sync`` talks to GitHub; ``issues`` and ``prs`` read the store and work offline. ``prs log``
reads a PR's checks from the store and fetches the logs of its failing jobs once, on demand;
after that it reads them offline too.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from workbench.config import Recipe, load_recipe, load_recipes
from workbench.console import confirm, err, out, print_json
from workbench.display import CI_STYLE, REVIEW_TEXT, ago, utc_now
from workbench.errors import UsageError
from workbench.github.blocking import (
    IDLE_DAYS,
    Blocker,
    classes,
    first_line,
    read_blocking,
    summary,
)
from workbench.github.errors import NotSynced
from workbench.github.model import Notification
from workbench.github.store import ItemQuery, Store, TrackedItem
from workbench.github.sync import CLOSED_DAYS, RepoReport, SyncReport
from workbench.paths import Workspace

TABLE_LIMIT = 50
WIDE = 120
"""Terminal columns from which ``prs --mine`` has a column for the failing checks' classes."""


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
    line = _notifications_line(report)
    if line:
        out.print(line, markup=False)
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


def _read(
    ws: Workspace,
    recipes: Sequence[Recipe],
    query: ItemQuery,
    *,
    idle_days: int | None = None,
) -> tuple[list[TrackedItem], dict[tuple[str, int], list[Blocker]]]:
    """The items of ``query`` and, with ``idle_days``, what blocks each open PR among them."""
    with Store.open(ws, create=False) as store:
        repos = [r.upstream.repo for r in recipes]
        # A first sync cut short still left what it stored to read.
        if store.last_synced(repos) is None and not any(store.count(r) for r in repos):
            names = " ".join(r.name for r in recipes)
            raise NotSynced(
                f"nothing synced yet for {names}",
                f"run: workbench sync {names if len(recipes) == 1 else ''}".strip(),
            )
        rows = store.query(query)
        if idle_days is None:
            return rows, {}
        by_repo = {r.upstream.repo: r for r in recipes}
        return rows, read_blocking(store, rows, by_repo, utc_now(), idle_days=idle_days).blocking


def _limit(args: argparse.Namespace) -> int | None:
    if args.limit is not None:
        return args.limit or None
    return None if args.json else TABLE_LIMIT


def _show(
    rows: list[TrackedItem],
    recipes: Sequence[Recipe],
    args: argparse.Namespace,
    prs: bool,
    blocking: dict[tuple[str, int], list[Blocker]] | None = None,
) -> int:
    blocking = blocking or {}
    if args.json:
        docs = []
        for r in rows:
            doc = r.to_json()
            if prs:
                found = blocking.get((r.item.repo, r.item.number), [])
                doc["blocking"] = [b.to_json() for b in found]
            docs.append(doc)
        print_json(docs)
        return 0
    if not rows:
        out.print("nothing matches")
        return 0
    names = {r.upstream.repo: r.name for r in recipes}
    now = utc_now()
    # Titles and labels give way to a narrow terminal; each row stays on one line.
    table = Table(box=None, pad_edge=False)
    # The number is what a contributor types next: never squeezed. Titles give way first.
    table.add_column("upstream", no_wrap=True)
    table.add_column("#", no_wrap=True, min_width=len(str(max(r.item.number for r in rows))))
    table.add_column("title", min_width=12)
    mine_only = prs and getattr(args, "mine", False)  # the author is you: no column for it
    if prs:
        for col in ("ci", "review") if mine_only else ("author", "ci", "review"):
            table.add_column(col, no_wrap=True)
        if blocking:
            table.add_column("blocking", max_width=24, no_wrap=True, overflow="ellipsis")
    else:
        table.add_column("labels", max_width=30)
        table.add_column("assignees", no_wrap=True, max_width=16)
    # Whose each failing check is, in a column of its own where the terminal has room for it;
    # in a narrow one the blocking cell counts the others as "not yours".
    with_classes = (
        bool(blocking)
        and out.width >= WIDE
        and any(b.klass for found in (blocking or {}).values() for b in found)
    )
    if with_classes:
        table.add_column("failing checks", max_width=30, no_wrap=True, overflow="ellipsis")
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
            if not mine_only:
                cells.append(Text(i.author or ""))
            cells += [Text(ci, style=CI_STYLE.get(ci, "dim")), review]
            if blocking:
                found = blocking.get((i.repo, i.number), [])
                said = summary(found)
                cell = Text(said, style="red" if said else "dim")
                others = sum(1 for b in found if not b.blocks)
                if others and not with_classes:
                    cell.append((", " if said else "") + f"{others} not yours", style="dim")
                cells.append(cell)
            if with_classes:
                # The contributor's (new, unclassified) in red, the others dim.
                mine = any(b.kind == "check" and b.blocks for b in found)
                cells.append(Text(classes(found), style="red" if mine else "dim"))
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
    rows, _ = _read(ws, recipes, query)
    return _show(rows, recipes, args, prs=False)


def _show_pr(ws: Workspace, ref: str, args: argparse.Namespace) -> int:
    """One PR, as ``gh pr view`` would, with everything that blocks it in full."""
    from workbench.github.joblogs import parse_pr_ref

    recipes = load_recipes(ws)
    repo, number = parse_pr_ref(ref, {r.name: r.upstream.repo for r in recipes})
    with Store.open(ws, create=False) as store:
        t = store.item(repo, number)
        if t is None or not t.item.is_pull_request:
            raise NotSynced(
                f"{repo}#{number} is not a pull request in the store",
                "run: workbench sync (the store holds open PRs and those closed lately)",
            )
        by_repo = {r.upstream.repo: r for r in recipes}
        view = read_blocking(store, [t], by_repo, utc_now(), idle_days=args.idle_days)
    key = (repo, number)
    found, status = view.blocking.get(key, []), view.details.get(key)
    base = view.facts.bases.get(key)
    if args.json:
        doc = t.to_json() | {"blocking": [b.to_json() for b in found]}
        if status is not None:
            doc |= {
                "merge_base": base.sha if base else None,
                "mergeable": status.mergeable,
                "last_push": status.last_push,
                "checks": [dataclasses.asdict(c) for c in status.checks],
                "threads": [dataclasses.asdict(th) for th in status.threads],
                "comments_since_push": [dataclasses.asdict(c) for c in status.comments],
            }
        print_json(doc)
        return 0
    i, now = t.item, utc_now()
    out.print(Text(f"{repo}#{number} {i.title}", style="bold"))
    facts = [
        i.state,
        *(["draft"] if i.draft else []),
        f"by @{i.author}",
        f"updated {ago(i.updated_at, now)}",
    ]
    out.print(" · ".join(facts), markup=False)
    word = REVIEW_TEXT.get(t.review or "", (t.review or "no review yet",))[0]
    out.print(f"CI: {t.ci or 'unknown'} · review: {word}", markup=False)
    if status is None:
        out.print("(checks, threads and comments are synced for your PRs and review requests)")
    yours = [b for b in found if b.blocks]
    others = [b for b in found if not b.blocks]
    if yours:
        out.print("blocking:", style="red")
    else:
        out.print("nothing of yours blocks it" if others else "nothing blocks it", style="green")
    for b in yours:
        out.print(f"  {b.kind:<18} {b.name}", Text(f" {b.detail}", style="dim"), sep="")
        _print_class(b)
    if others:
        out.print("failing, not yours:", style="yellow")
        for b in others:
            out.print(f"  {b.klass:<18} {b.name}", Text(f" {b.detail}", style="dim"), sep="")
            _print_class(b, with_class=False)
    if base is not None and any(b.kind == "check" for b in found):
        where = base.sha[:12] if base.sha else f"unknown ({base.problem})"
        out.print(f"merge base with {base.base_ref}: {where}", markup=False, style="dim")
    if status is not None and status.comments:
        out.print("comments since your last push:")
        for c in status.comments:
            out.print(
                f"  @{c.author or 'ghost'} {ago(c.created_at, now)}: {first_line(c.body)}",
                markup=False,
            )
    out.print(i.url, markup=False)
    return 0


def _print_class(b: Blocker, *, with_class: bool = True) -> None:
    """The lines under a failing check: its class and why, what to ask for, Dr. CI's word."""
    if b.kind != "check" or b.klass is None:
        return
    pad = " " * 21
    said = f"{b.klass}: {b.why}" if with_class else str(b.why)
    out.print(Text(pad + said, style="dim" if not b.blocks else ""))
    if b.ask:
        out.print(Text(f"{pad}→ {b.ask}", style="dim"))
    if b.drci:
        out.print(Text(f"{pad}Dr.CI: {b.drci}", style="dim"))


def cmd_prs(args: argparse.Namespace) -> int:
    ws = Workspace.discover()
    if args.name and ("#" in args.name or args.name.startswith(("http://", "https://"))):
        return _show_pr(ws, args.name, args)
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
    rows, blocking = _read(ws, recipes, query, idle_days=args.idle_days)
    if not args.json and not (args.mine or args.review_requested):
        blocking = {}  # the column where it is asked for: a table of every PR needs its titles
    return _show(rows, recipes, args, prs=True, blocking=blocking)


# --- prs log -------------------------------------------------------------------------------------


def _size(n: float) -> str:
    for unit in ("B", "kB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} MB"


def _log_client() -> Any:
    from workbench.github.client import GitHubClient
    from workbench.github.errors import BadToken

    client = GitHubClient.from_env()
    if client.anonymous:
        client.close()
        raise BadToken(
            "downloading Actions logs needs a GitHub token",
            "set GH_TOKEN or run `gh auth login`; logs fetched before are read without one",
        )
    return client


def cmd_prs_log(args: argparse.Namespace) -> int:
    from rich.markup import escape

    from workbench.errors import WorkbenchError
    from workbench.github import joblogs

    ws = Workspace.discover()
    try:
        recipes = load_recipes(ws)
    except WorkbenchError:  # a broken recipe elsewhere should not stop reading a log
        recipes = []
    repos = {r.name: r.upstream.repo for r in recipes}
    branches = {r.upstream.repo: r.upstream.default_branch for r in recipes}
    repo, number = joblogs.parse_pr_ref(args.pr, repos)
    ref = f"{repo}#{number}"
    on_base: dict[int, str] = {}
    """Job id -> the merge base it ran on, for the base's jobs shown with --base."""
    results: list[dict[str, Any]] = []
    problems: list[WorkbenchError] = []
    clients: list[Any] = []

    def client() -> Any:
        clients.append(_log_client())
        return clients[-1]

    def offline(exc: WorkbenchError) -> None:
        err.print(f"warning: {exc.one_line()}; showing the stored log", markup=False)

    def show(found: joblogs.CheckLog) -> None:
        check, log = found.check, found.log
        conclusion = check.conclusion or check.status
        base_sha = on_base.get(check.job_id) if check.job_id is not None else None
        note = ""
        if found.source == "status":
            note = f"no Actions log (a commit status or an app's check): {check.url or 'no URL'}"
        elif found.problem is not None:
            note = found.problem.one_line()
        elif log is not None:
            when = "fetched now" if found.source == "fetched" else f"fetched {log.fetched_at}"
            note = when + {
                "offline": ", GitHub unreachable",
                "kept": ", GitHub no longer has it",
            }.get(found.source, "")
        if args.json:
            entry: dict[str, Any] = {
                "check": check.label,
                "job_id": check.job_id,
                "conclusion": conclusion,
                "url": check.url,
                "log_path": str(joblogs.stored_file(ws.home, log)) if log else None,
                "bytes": log.bytes if log else None,
                "first_error": log.first_error if log else None,
                "error_block": log.error_block if log else None,
                "fetched": log.fetched_at if log else None,
            }
            if base_sha:
                entry["merge_base"] = base_sha  # a base's run of the job (--base)
            if log is None:
                entry["note"] = note
            elif args.full:
                entry["log"] = joblogs.read_log(ws.home, log)
            results.append(entry)
            return
        style = "red" if check.failed else "dim"
        where = f"on the merge base {base_sha[:7]}: " if base_sha else ""
        out.print(f"{where}[bold]{escape(check.label)}[/]  [{style}]{escape(conclusion)}[/]")
        if log is None:
            out.print(f"  {note}\n", markup=False)
            return
        where = ws.relative(joblogs.stored_file(ws.home, log))
        out.print(f"  log: {where} ({_size(log.bytes)}, {note})\n", markup=False)
        if args.full:
            text = joblogs.read_log(ws.home, log)
            out.file.write(text if text.endswith("\n") else text + "\n")
        elif log.error_block:
            out.print(log.error_block, markup=False, emoji=False)
        else:
            out.print("(no error block found in the log; --full prints all of it)", markup=False)
        out.print()

    with Store.open(ws, create=False) as store:
        pr = store.pr_details(repo, number)
        if pr is None:
            raise NotSynced(
                f"{ref} is not in the store (it keeps your open PRs and those awaiting your review)",
                "run: workbench sync",
            )
        checks = joblogs.pick_checks(pr, args.check)
        if not checks:
            if args.json:
                print_json([])
                return 0
            ci = f"; CI is {pr.ci.lower()}" if pr.ci else ""
            out.print(
                f"{ref}: no failing check among the {len(pr.checks)} stored{ci} "
                "(`workbench sync` updates them)",
                markup=False,
            )
            return 0
        if args.base:
            checks += _base_jobs(store, pr, checks, branches, on_base)
        try:
            for found in joblogs.check_logs(
                store, ws.home, repo, checks, client, refresh=args.refresh, on_offline=offline
            ):
                if found.problem is not None:
                    problems.append(found.problem)
                show(found)
        finally:
            for c in clients:
                c.close()
            if args.json:
                print_json(results)
    if len(problems) > 1:
        worst = max(problems, key=lambda p: p.exit_code)
        summary = joblogs.JobLogGone(
            f"{len(problems)} logs of {ref} could not be fetched; first: {problems[0].message}",
            problems[0].hint,
        )
        summary.exit_code = worst.exit_code
        raise summary
    if problems:
        raise problems[0]
    return 0


def _base_jobs(
    store: Store, pr: Any, checks: list[Any], branches: dict[str, str], on_base: dict[int, str]
) -> list[Any]:
    """The merge base's runs of the same jobs as ``checks`` (shard numbers ignored), noting in
    ``on_base`` which commit each ran on; a line on stderr when the sync has none stored."""
    from workbench.github.triage import job_key, read_facts

    facts = read_facts(store, [pr], branches)
    base = facts.bases.get((pr.repo, pr.number))
    read = facts.base_checks.get((pr.repo, base.sha)) if base and base.sha else None
    if read is None:
        why = base.problem if base and base.problem else "`workbench sync` reads it"
        err.print(f"note: no checks of the merge base are stored ({why})", markup=False)
        return []
    keys = {job_key(c.label) for c in checks}
    found = [c for c in read.checks if job_key(c.label) in keys and c.job_id is not None]
    for c in found:
        if c.job_id is not None:
            on_base[c.job_id] = read.sha
    if not found:
        err.print(f"note: none of these jobs ran on the merge base {read.sha[:7]}", markup=False)
    return found


# --- notifications -------------------------------------------------------------------------------


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


def _thread_words(n: Notification) -> str:
    number = f"#{n.number} " if n.number is not None else ""
    return f"{n.repo} {number}{n.title!r}"


def _confirm_read(n: Notification) -> bool:
    return confirm(
        f"Mark {_thread_words(n)} read on GitHub? This writes to GitHub.",
        refusal="notifications read asks before it writes to GitHub, "
        "and there is no terminal to ask on",
        hint=f"pass --yes: workbench notifications read {n.id} --yes",
    )


def cmd_notifications_read(args: argparse.Namespace, ws: Workspace) -> int:
    from workbench.github.client import GitHubClient
    from workbench.github.notifications import mark_read

    thread = args.thread or ""
    if not thread.isdigit():
        raise UsageError(
            f"notifications read needs a thread ID (digits), got {thread!r}"
            if thread
            else "notifications read needs a thread ID",
            "`workbench notifications` lists them with their IDs",
        )
    with Store.open(ws, create=False) as store:
        n = store.notification(thread)
        if n is None:
            raise UsageError(
                f"no notification {thread} in the store",
                "`workbench notifications --all` lists the stored ones (`workbench sync` fetches them)",
            )
        if not args.yes and not _confirm_read(n):
            err.print("nothing was written to GitHub")
            return 0
        with GitHubClient.from_env() as client:
            mark_read(client, store, thread, now=utc_now())
        n = store.notification(thread) or n
    if args.json:
        print_json(_notification_json(n, {}))
    else:
        out.print(f"marked read on GitHub: {_thread_words(n)}", markup=False)
    return 0


def _notification_json(n: Notification, names: dict[str, str]) -> dict[str, Any]:
    return {"upstream": names.get(n.repo), **dataclasses.asdict(n)}


def cmd_notifications(args: argparse.Namespace) -> int:
    ws = Workspace.discover()
    if args.name == "read":
        return cmd_notifications_read(args, ws)
    if args.thread is not None:
        raise UsageError(
            f"unexpected {args.thread!r} after {args.name!r}",
            f"to mark a thread read: workbench notifications read {args.thread}",
        )
    if args.yes:
        raise UsageError(
            "--yes goes with `notifications read ID`", "workbench notifications read ID --yes"
        )
    recipes = _recipes(ws, args.name)
    names = {r.upstream.repo: r.name for r in recipes}
    with Store.open(ws, create=False) as store:
        poll = store.notification_poll()
        rows = store.notifications(list(names), unread_only=not args.all)
        # A first poll cut short (a rate limit) still left what it stored to read.
        if poll.checked_at is None and not rows and not store.notifications(unread_only=False):
            raise NotSynced(
                "notifications were not fetched yet",
                "run `workbench sync` with a token (GH_TOKEN or `gh auth login`)",
            )
    if poll.unavailable:
        err.print(f"notifications unavailable: {poll.unavailable}", markup=False)
    if args.json:
        print_json([_notification_json(n, names) for n in rows])
        return 0
    now = utc_now()
    if not rows:
        which = "notifications" if args.all else "unread notifications"
        of = args.name or "the tracked upstreams"
        out.print(f"no {which} of {of} (checked {ago(poll.checked_at, now)})")
        return 0
    table = Table(box=None, pad_edge=False)
    for col in ("id", "upstream", "reason", "type", "#"):
        table.add_column(col, no_wrap=True)
    table.add_column("title", min_width=12)
    table.add_column("updated", justify="right", no_wrap=True)
    for n in rows:
        style = "" if n.unread else "dim"
        table.add_row(
            n.id,
            names.get(n.repo, n.repo),
            n.reason,
            n.subject_type,
            str(n.number) if n.number is not None else "",
            Text(n.title, no_wrap=True, overflow="ellipsis"),
            ago(n.updated_at, now),
            style=style,
        )
    out.print(table)
    return 0


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

    def common(
        p: argparse.ArgumentParser, states: Sequence[str], name_help: str = "one upstream"
    ) -> None:
        p.add_argument("name", nargs="?", metavar="NAME", help=f"{name_help} (default: all)")
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
    p = subparsers.add_parser(
        "prs",
        help=help_,
        description=help_,
        epilog="`workbench prs ao#123` shows one PR with all that blocks it; "
        "`workbench prs log OWNER/REPO#N` the logs of its failing CI jobs.",
    )
    common(p, ("open", "closed", "merged"), "one upstream, or one PR (ao#123, OWNER/REPO#N)")
    p.add_argument("--mine", action="store_true", help="opened by you (the token's user)")
    p.add_argument("--review-requested", action="store_true", help="your review is requested")
    p.add_argument(
        "--idle-days",
        type=_non_negative,
        default=IDLE_DAYS,
        metavar="N",
        help=f"list an open PR as idle after N days without activity (default {IDLE_DAYS})",
    )
    p.set_defaults(func=cmd_prs)

    # `workbench prs log ...` arrives here as "prs log" (workbench.cli routes it): `prs` itself
    # takes an optional upstream NAME, so `log` cannot be a subcommand of it.
    help_ = "show the error in the logs of a PR's failing CI jobs (fetched once, then offline)"
    p = subparsers.add_parser(
        "prs log",
        help=help_,
        description=help_
        + ". The logs are kept gzipped under the workbench home (.workbench/logs).",
    )
    p.add_argument(
        "pr", metavar="OWNER/REPO#N", help="the pull request (also NAME#N or the PR's URL)"
    )
    p.add_argument(
        "--check",
        metavar="NAME",
        help="only the check whose name or 'workflow / name' contains NAME (any check, "
        "failing ones first; default: every failing check)",
    )
    p.add_argument(
        "--refresh", action="store_true", help="fetch the logs again even if they are stored"
    )
    p.add_argument("--full", action="store_true", help="print the whole log, not the error block")
    p.add_argument(
        "--base",
        action="store_true",
        help="also the logs of the same jobs on the PR's merge base (to compare the first "
        "errors: is trunk broken the same way?)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_prs_log)

    help_ = (
        "list your GitHub notifications about the upstreams from the store (works offline); "
        "`read ID` marks one read on GitHub"
    )
    p = subparsers.add_parser(
        "notifications",
        help=help_,
        description=help_ + ". `workbench sync` fetches them, at the pace GitHub asks for.",
        usage="workbench notifications [NAME] [--all] [--json] | read ID [--yes] [--json]",
    )
    p.add_argument("name", nargs="?", metavar="NAME", help="one upstream (default: all); or `read`")
    p.add_argument("thread", nargs="?", metavar="ID", help="with `read`: the thread to mark read")
    p.add_argument("--all", action="store_true", help="read ones too (default: unread only)")
    p.add_argument(
        "--yes", action="store_true", help="with `read`: do not ask before writing to GitHub"
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_notifications)
