"""``workbench notifications``: the stored notification threads of the upstreams, offline; and
``workbench notifications read ID``, which marks one read on GitHub after asking."""

from __future__ import annotations

import argparse
import dataclasses
from typing import Any

from rich.table import Table
from rich.text import Text

from workbench.console import confirm, err, out, print_json
from workbench.display import ago, utc_now
from workbench.errors import UsageError
from workbench.github.cli.lists import recipes_named
from workbench.github.errors import NotSynced
from workbench.github.model import Notification
from workbench.github.store import Store
from workbench.paths import Workspace


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
    recipes = recipes_named(ws, args.name)
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
