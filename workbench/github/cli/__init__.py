"""``workbench sync``, ``workbench issues``, ``workbench prs``, ``workbench prs log`` and
``workbench notifications``: their arguments here, each command in the module named after it.

``sync`` (:mod:`.sync`) talks to GitHub; ``issues`` and ``prs`` (:mod:`.lists`, one PR in full:
:mod:`.pr_view`) read the store and work offline. ``prs log`` (:mod:`.prs_log`) reads a PR's
checks from the store and fetches the logs of its failing jobs once, on demand; after that it
reads them offline too. ``notifications`` (:mod:`.notifications`) lists the stored threads and
marks one read on GitHub.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from workbench.commands import JSON_HELP, command, non_negative
from workbench.console import err, out
from workbench.github.blocking import IDLE_DAYS
from workbench.github.cli.lists import TABLE_LIMIT, cmd_issues, cmd_prs
from workbench.github.cli.notifications import cmd_notifications
from workbench.github.cli.prs_log import cmd_prs_log
from workbench.github.cli.sync import cmd_sync
from workbench.github.sync import CLOSED_DAYS

__all__ = ["err", "out", "register"]
"""``out`` and ``err``: the consoles these commands print on, where a test redirects them."""


_whole_number = non_negative(int, "a whole number")


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``sync``, ``issues``, ``prs``, ``prs log`` and ``notifications`` to the ``workbench``
    parser."""
    p = command(
        sub,
        "sync",
        "fetch issues, PRs and your PRs' CI/review state into the local store",
        cmd_sync,
        json="print the report as JSON",
    )
    p.add_argument(
        "names", nargs="*", metavar="NAME", help="upstreams to sync (default: every recipe)"
    )
    p.add_argument(
        "--closed-days",
        type=_whole_number,
        default=CLOSED_DAYS,
        metavar="N",
        help=f"on a first sync, also fetch items closed in the last N days (default {CLOSED_DAYS})",
    )

    p = command(
        sub,
        "issues",
        "list issues from the store, newest update first (works offline)",
        cmd_issues,
        json=JSON_HELP,
    )
    _list_arguments(p, ("open", "closed"))
    p.add_argument(
        "--newcomer", action="store_true", help="has one of the recipe's newcomer labels"
    )
    p.add_argument("--unassigned", action="store_true", help="nobody is assigned")

    p = command(
        sub,
        "prs",
        "list pull requests from the store with CI and review state (works offline)",
        cmd_prs,
        epilog="`workbench prs ao#123` shows one PR with all that blocks it; "
        "`workbench prs log OWNER/REPO#N` the logs of its failing CI jobs.",
        json=JSON_HELP,
    )
    _list_arguments(
        p, ("open", "closed", "merged"), "one upstream, or one PR (ao#123, OWNER/REPO#N)"
    )
    p.add_argument("--mine", action="store_true", help="opened by you (the token's user)")
    p.add_argument("--review-requested", action="store_true", help="your review is requested")
    p.add_argument(
        "--idle-days",
        type=_whole_number,
        default=IDLE_DAYS,
        metavar="N",
        help=f"list an open PR as idle after N days without activity (default {IDLE_DAYS})",
    )

    # `workbench prs log ...` arrives here as "prs log" (workbench.cli routes it): `prs` itself
    # takes an optional upstream NAME, so `log` cannot be a subcommand of it.
    about = "show the error in the logs of a PR's failing CI jobs (fetched once, then offline)"
    p = command(
        sub,
        "prs log",
        about,
        cmd_prs_log,
        description=about
        + ". The logs are kept gzipped under the workbench home (.workbench/logs).",
        json=JSON_HELP,
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

    about = (
        "list your GitHub notifications about the upstreams from the store (works offline); "
        "`read ID` marks one read on GitHub"
    )
    p = command(
        sub,
        "notifications",
        about,
        cmd_notifications,
        description=about + ". `workbench sync` fetches them, at the pace GitHub asks for.",
        usage="workbench notifications [NAME] [--all] [--json] | read ID [--yes] [--json]",
        json=JSON_HELP,
    )
    p.add_argument("name", nargs="?", metavar="NAME", help="one upstream (default: all); or `read`")
    p.add_argument("thread", nargs="?", metavar="ID", help="with `read`: the thread to mark read")
    p.add_argument("--all", action="store_true", help="read ones too (default: unread only)")
    p.add_argument(
        "--yes", action="store_true", help="with `read`: do not ask before writing to GitHub"
    )


def _list_arguments(
    p: argparse.ArgumentParser, states: Sequence[str], name_help: str = "one upstream"
) -> None:
    """What ``issues`` and ``prs`` both take: which upstream, filters, how many."""
    p.add_argument("name", nargs="?", metavar="NAME", help=f"{name_help} (default: all)")
    p.add_argument(
        "--label", action="append", metavar="L", help="has label L (repeat: all of them)"
    )
    p.add_argument("--search", metavar="TEXT", help="words in the title or body, or #N")
    p.add_argument("--state", choices=(*states, "all"), default="open", help="default: open")
    p.add_argument(
        "--limit",
        type=_whole_number,
        metavar="N",
        help=f"at most N (default {TABLE_LIMIT} in the table, all with --json; 0: all)",
    )
