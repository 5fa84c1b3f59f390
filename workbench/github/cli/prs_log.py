"""``workbench prs log OWNER/REPO#N``: the error in the logs of a PR's failing CI jobs.

:func:`~workbench.github.failing.failing_logs` picks the checks and reads their logs (fetched
once, then offline); :class:`_LogPrinter` prints each log as it comes, or collects it for
``--json``; the logs that could not be read end the command as one error.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from rich.markup import escape

from workbench.config import Recipe, load_recipes
from workbench.console import err, out, print_json
from workbench.errors import WorkbenchError
from workbench.github.errors import NotSynced, Unreachable
from workbench.github.failing import FailingLogs, failing_logs
from workbench.github.joblogs import CheckLog, JobLogGone, read_log, stored_file
from workbench.github.model import PrStatus
from workbench.github.pr_ref import parse_pr_ref
from workbench.github.store import Store
from workbench.paths import Workspace

if TYPE_CHECKING:
    from workbench.github.client import GitHubClient


def cmd_prs_log(args: argparse.Namespace) -> int:
    ws = Workspace.discover()
    recipes = _readable_recipes(ws)
    repo, number = parse_pr_ref(args.pr, {r.name: r.upstream.repo for r in recipes})
    ref = f"{repo}#{number}"
    branches = {r.upstream.repo: r.upstream.default_branch for r in recipes}
    printer = _LogPrinter(ws, full=args.full, as_json=args.json)
    with Store.open(ws, create=False) as store:
        try:
            found = failing_logs(
                store,
                ws.home,
                repo,
                number,
                args.check,
                make_client=_log_client,
                refresh=args.refresh,
                base_branches=branches if args.base else None,
                observer=printer,
            )
        finally:
            printer.print_json()  # what was read before a failure, too
    if found.pr is None:
        raise NotSynced(
            f"{ref} is not in the store (it keeps your open PRs and those awaiting your review)",
            "run: workbench sync",
        )
    if not found.checks:
        return _no_failing_check(found.pr, ref, as_json=args.json)
    _raise_problems(found.problems, ref)
    return 0


def _log_client() -> GitHubClient:
    """A client with a token: GitHub serves Actions logs to signed-in users only."""
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


def _readable_recipes(ws: Workspace) -> list[Recipe]:
    """The recipes, to name a PR by its upstream's name; none when one cannot be read."""
    try:
        return load_recipes(ws)
    except WorkbenchError:  # a broken recipe elsewhere should not stop reading a log
        return []


class _LogPrinter:
    """What ``prs log`` shows of each check's log as :func:`failing_logs` reads it: the check,
    where its log is and its error block (or the whole log with ``--full``); with ``--json``,
    one entry each, printed together at the end."""

    def __init__(self, ws: Workspace, *, full: bool, as_json: bool):
        self.ws = ws
        self.full = full
        self.as_json = as_json
        self.merge_bases: dict[int, str] = {}
        """Job id -> the merge base it ran on, for the base's jobs shown with --base."""
        self.entries: list[dict[str, Any]] = []
        self.started = False
        """Whether the logs were being read: only then is there JSON to print."""

    def reading(self, found: FailingLogs) -> None:
        self.merge_bases = found.merge_bases
        self.started = True

    def read(self, log: CheckLog) -> None:
        job_id = log.check.job_id
        base_sha = self.merge_bases.get(job_id) if job_id is not None else None
        if self.as_json:
            self.entries.append(self._entry(log, base_sha))
        else:
            self._print(log, base_sha)

    def offline(self, exc: Unreachable) -> None:
        err.print(f"warning: {exc.one_line()}; showing the stored log", markup=False)

    def note(self, text: str) -> None:
        err.print(f"note: {text}", markup=False)

    def print_json(self) -> None:
        if self.as_json and self.started:
            print_json(self.entries)

    def _entry(self, found: CheckLog, base_sha: str | None) -> dict[str, Any]:
        check, log = found.check, found.log
        entry: dict[str, Any] = {
            "check": check.label,
            "job_id": check.job_id,
            "conclusion": check.conclusion or check.status,
            "url": check.url,
            "log_path": str(stored_file(self.ws.home, log)) if log else None,
            "bytes": log.bytes if log else None,
            "first_error": log.first_error if log else None,
            "error_block": log.error_block if log else None,
            "fetched": log.fetched_at if log else None,
        }
        if base_sha:
            entry["merge_base"] = base_sha  # a base's run of the job (--base)
        if log is None:
            entry["note"] = _source_note(found)
        elif self.full:
            entry["log"] = read_log(self.ws.home, log)
        return entry

    def _print(self, found: CheckLog, base_sha: str | None) -> None:
        check, log = found.check, found.log
        conclusion = check.conclusion or check.status
        style = "red" if check.failed else "dim"
        where = f"on the merge base {base_sha[:7]}: " if base_sha else ""
        out.print(f"{where}[bold]{escape(check.label)}[/]  [{style}]{escape(conclusion)}[/]")
        if log is None:
            out.print(f"  {_source_note(found)}\n", markup=False)
            return
        where = self.ws.relative(stored_file(self.ws.home, log))
        out.print(f"  log: {where} ({_size(log.bytes)}, {_source_note(found)})\n", markup=False)
        if self.full:
            text = read_log(self.ws.home, log)
            out.file.write(text if text.endswith("\n") else text + "\n")
        elif log.error_block:
            out.print(log.error_block, markup=False, emoji=False)
        else:
            out.print("(no error block found in the log; --full prints all of it)", markup=False)
        out.print()


def _source_note(found: CheckLog) -> str:
    """Where the log shown comes from, or why there is none."""
    check, log = found.check, found.log
    if found.source == "status":
        return f"no Actions log (a commit status or an app's check): {check.url or 'no URL'}"
    if found.problem is not None:
        return found.problem.one_line()
    if log is None:
        return ""
    when = "fetched now" if found.source == "fetched" else f"fetched {log.fetched_at}"
    return when + {
        "offline": ", GitHub unreachable",
        "kept": ", GitHub no longer has it",
    }.get(found.source, "")


def _size(n: float) -> str:
    for unit in ("B", "kB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} MB"


def _no_failing_check(pr: PrStatus, ref: str, *, as_json: bool) -> int:
    if as_json:
        print_json([])
        return 0
    ci = f"; CI is {pr.ci.lower()}" if pr.ci else ""
    out.print(
        f"{ref}: no failing check among the {len(pr.checks)} stored{ci} "
        "(`workbench sync` updates them)",
        markup=False,
    )
    return 0


def _raise_problems(problems: list[WorkbenchError], ref: str) -> None:
    """The logs that could not be read, as one error: the first one's words, the worst one's
    exit code."""
    if len(problems) > 1:
        worst = max(problems, key=lambda p: p.exit_code)
        summary = JobLogGone(
            f"{len(problems)} logs of {ref} could not be fetched; first: {problems[0].message}",
            problems[0].hint,
        )
        summary.exit_code = worst.exit_code
        raise summary
    if problems:
        raise problems[0]
