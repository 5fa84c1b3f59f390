"""The logs of a PR's failing checks, in one call: :func:`failing_logs`.

It is what ``workbench prs log`` and the dashboard's log key run. The PR's checks come from the
store (no network); the failing ones are picked (or the one a name picks), with, when asked, the
same jobs' runs on the PR's merge base; then each one's log is read: the stored one, or fetched
once (:func:`~workbench.github.joblogs.check_logs`). The GitHub client is opened at the first
fetch only, so that reading stored logs needs neither a token nor the network, and closed before
:func:`failing_logs` returns or raises.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from workbench.errors import WorkbenchError
from workbench.github.errors import Unreachable
from workbench.github.joblogs import CheckLog, check_logs, pick_checks
from workbench.github.model import CiCheck, PrStatus
from workbench.github.store import Store
from workbench.github.triage import job_key, read_facts

if TYPE_CHECKING:
    from workbench.github.client import GitHubClient


@dataclass
class FailingLogs:
    """What :func:`failing_logs` found for one PR: the checks picked and their logs."""

    repo: str
    number: int
    pr: PrStatus | None = None
    """The PR as the last status search stored it; None: the store has none of its checks."""
    checks: list[CiCheck] = field(default_factory=list)
    """The checks picked: the failing ones (or the one named), then the merge base's runs."""
    merge_bases: dict[int, str] = field(default_factory=dict)
    """Job id -> the merge base commit it ran on, for the merge base's runs among ``checks``."""
    logs: list[CheckLog] = field(default_factory=list)
    """Each check's log as it was read, in the order of ``checks``."""

    @property
    def fetched(self) -> int:
        """Logs fetched from GitHub now."""
        return sum(found.source == "fetched" for found in self.logs)

    @property
    def already_stored(self) -> int:
        """Logs read from the store (also where GitHub could not be reached)."""
        return sum(found.source in ("store", "offline") for found in self.logs)

    @property
    def problems(self) -> list[WorkbenchError]:
        """Why the logs that were gone or not found, and not stored, could not be read."""
        return [found.problem for found in self.logs if found.problem is not None]

    @property
    def summary(self) -> str:
        """One line for a notice: how many logs were fetched and how many were stored already,
        or why there was nothing to read."""
        if self.pr is None:
            return f"#{self.number}: no checks stored; sync first"
        if not self.checks:
            return f"#{self.number}: no failing checks"
        return (
            f"#{self.number}: {self.fetched} log(s) fetched, {self.already_stored} already stored"
        )

    @property
    def problem_lines(self) -> list[str]:
        """Each problem in one line (what went wrong, and what to do)."""
        return [problem.one_line() for problem in self.problems]


class LogsObserver(Protocol):
    """What :func:`failing_logs` tells as it goes (the CLI prints each log as it comes)."""

    def reading(self, found: FailingLogs) -> None:
        """The checks are picked (``found.checks``); their logs are read next."""

    def read(self, log: CheckLog) -> None:
        """One check's log was read (also added to ``found.logs``)."""

    def offline(self, exc: Unreachable) -> None:
        """GitHub could not be reached: a stored log is read instead of a fresh one."""

    def note(self, text: str) -> None:
        """Something worth a line that changes nothing (no runs of the merge base stored)."""


class _Quiet:
    def reading(self, found: FailingLogs) -> None:
        pass

    def read(self, log: CheckLog) -> None:
        pass

    def offline(self, exc: Unreachable) -> None:
        pass

    def note(self, text: str) -> None:
        pass


def failing_logs(
    store: Store,
    home: Path,
    repo: str,
    number: int,
    check: str | None = None,
    *,
    make_client: Callable[[], GitHubClient] | None = None,
    refresh: bool = False,
    base_branches: Mapping[str, str] | None = None,
    observer: LogsObserver | None = None,
) -> FailingLogs:
    """The logs of the failing checks of PR ``number`` of ``repo``, or of the one check that
    ``check`` names (:func:`~workbench.github.joblogs.pick_checks`): the stored ones read
    offline, the others fetched once into ``home`` and ``store``.

    ``make_client`` opens the GitHub client (default: ``GitHubClient.from_env``), at the first
    fetch only; the client is closed before this returns or raises. ``refresh`` fetches stored
    logs again. With ``base_branches`` (repository -> default branch), the same jobs' runs on
    the PR's merge base are read too.

    Returns with ``pr`` None when the store has no checks of the PR, and with no ``checks`` when
    none fails. A ``check`` that matches no check, or several, raises :class:`UsageError`; a
    rate limit, or an unreachable GitHub without a stored log, raises after ``observer`` was
    told of the logs read before it.
    """
    observer = observer or _Quiet()
    found = FailingLogs(repo, number, pr=store.pr_details(repo, number))
    if found.pr is None:
        return found
    found.checks = pick_checks(found.pr, check)
    if not found.checks:
        return found
    if base_branches is not None:
        found.checks += merge_base_runs(
            store, found.pr, found.checks, base_branches, found.merge_bases, observer.note
        )
    observer.reading(found)
    opened: list[GitHubClient] = []

    def client() -> GitHubClient:
        if make_client is None:
            from workbench.github.client import GitHubClient  # PyGithub: only to fetch

            opened.append(GitHubClient.from_env())
        else:
            opened.append(make_client())
        return opened[-1]

    try:
        for log in check_logs(
            store, home, repo, found.checks, client, refresh=refresh, on_offline=observer.offline
        ):
            found.logs.append(log)
            observer.read(log)
    finally:
        for opened_client in opened:
            opened_client.close()
    return found


def merge_base_runs(
    store: Store,
    pr: PrStatus,
    checks: list[CiCheck],
    branches: Mapping[str, str],
    on_base: dict[int, str],
    note: Callable[[str], None],
) -> list[CiCheck]:
    """The merge base's runs of the same jobs as ``checks`` (shard numbers ignored), noting in
    ``on_base`` which commit each ran on; ``note`` says so when the sync stored none."""
    facts = read_facts(store, [pr], branches)
    base = facts.bases.get((pr.repo, pr.number))
    read = facts.base_checks.get((pr.repo, base.sha)) if base and base.sha else None
    if read is None:
        why = base.problem if base and base.problem else "`workbench sync` reads it"
        note(f"no checks of the merge base are stored ({why})")
        return []
    keys = {job_key(c.label) for c in checks}
    found = [c for c in read.checks if job_key(c.label) in keys and c.job_id is not None]
    for c in found:
        if c.job_id is not None:
            on_base[c.job_id] = read.sha
    if not found:
        note(f"none of these jobs ran on the merge base {read.sha[:7]}")
    return found
