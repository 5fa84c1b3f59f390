"""Bring the store up to date with GitHub in as few requests as possible.

Every repository is read through one list, ``GET /repos/{repo}/issues?state=all&sort=updated
&direction=desc`` (issues and PRs, the most recently updated first), 100 to a page:

* **First sync**: pages of that list until they reach items older than ``closed_days``, then the
  open items older than that, oldest first (``state=open&direction=asc``) until the two meet.
  About ceil(N / 100) requests for N items.
* **Later syncs**: the first page again, conditional on its ETag. Unchanged: GitHub answers 304,
  one request that does not count against the rate limit. Changed: pages until they reach the
  watermark (the newest ``updated_at`` already stored), so only what changed is fetched.

Each page is stored in its own transaction. The watermark and ETag are written only after a pass
completes: pages come newest first, so advancing the watermark earlier would make a killed sync
skip the older changes it had not reached. A rerun repeats the interrupted pass; storing a page
again is an idempotent UPSERT.

CI and review state of the contributor's open PRs and of PRs awaiting their review, with what
blocks each (the head commit's checks, the latest reviews, unresolved review threads, comments
since the last push, whether it merges), come from one GraphQL request per 100 PRs for all
repositories, made when something changed, when a check is pending or when the last one is older
than :data:`STATUS_MAX_AGE`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from workbench.github.bases import BasesReport, refresh_bases
from workbench.github.errors import UnexpectedResponse, Unreachable
from workbench.github.model import (
    Item,
    PrStatus,
    parse_checks_page,
    parse_issue,
    parse_pr_status,
    stamp,
)
from workbench.github.model.fields import object_or_empty
from workbench.github.notifications import NotificationReport, refresh_notifications
from workbench.github.queries import MORE_CHECKS_QUERY, STATUS_QUERY
from workbench.github.store import Store

if TYPE_CHECKING:
    from workbench.config import Recipe
    from workbench.github.client import ApiPage, GitHubClient, RateLimit
    from workbench.paths import (
        Workspace,  # at run time the client comes in with its caller: reading needs no PyGithub
    )

CLOSED_DAYS = 30
PER_PAGE = 100
STATUS_MAX_AGE = timedelta(minutes=10)

UPDATED_FIRST = {"state": "all", "sort": "updated", "direction": "desc", "per_page": PER_PAGE}
OLD_OPEN_FIRST = {"state": "open", "sort": "updated", "direction": "asc", "per_page": PER_PAGE}


@dataclass
class RepoReport:
    name: str
    repo: str
    first_sync: bool = False
    requests: int = 0
    new: int = 0
    updated: int = 0
    not_modified: bool = False
    pages: int = 0

    @property
    def changed(self) -> bool:
        return self.first_sync or self.new > 0 or self.updated > 0


@dataclass
class StatusReport:
    requests: int = 0
    skipped: str | None = None
    """Why no status request was made: ``anonymous`` or ``unchanged``."""
    viewer: str | None = None
    mine: int = 0
    review_requested: int = 0


@dataclass
class SyncReport:
    repos: list[RepoReport] = field(default_factory=list)
    status: StatusReport = field(default_factory=StatusReport)
    bases: BasesReport = field(default_factory=BasesReport)
    notifications: NotificationReport = field(default_factory=NotificationReport)
    requests: int = 0
    rate: RateLimit | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": 1,
            "repos": [asdict(r) for r in self.repos],
            "status": asdict(self.status),
            "bases": self.bases.to_json(),
            "notifications": asdict(self.notifications),
            "requests": self.requests,
            "rate_limit_remaining": self.rate.remaining if self.rate else None,
            "rate_limit_reset": self.rate.reset if self.rate else None,
        }


class SyncObserver(Protocol):
    """Progress callbacks, e.g. for a progress bar; called in the syncing thread."""

    def repo_started(self, name: str, repo: str, first_sync: bool) -> None: ...

    def page_stored(self, name: str, page: int, last_page: int | None, items: int) -> None: ...

    def repo_finished(self, report: RepoReport) -> None: ...


class _Quiet:
    def repo_started(self, name: str, repo: str, first_sync: bool) -> None:
        pass

    def page_stored(self, name: str, page: int, last_page: int | None, items: int) -> None:
        pass

    def repo_finished(self, report: RepoReport) -> None:
        pass


class Syncer:
    def __init__(
        self,
        client: GitHubClient,
        store: Store,
        *,
        closed_days: int = CLOSED_DAYS,
        observer: SyncObserver | None = None,
        branches: Mapping[str, str] | None = None,
    ):
        self.client = client
        self.store = store
        self.closed_days = closed_days
        self.branches = dict(branches or {})
        """Repository -> its default branch, for a PR whose base branch is not known."""
        self.observer = observer or _Quiet()

    def run(self, upstreams: Sequence[tuple[str, str]]) -> SyncReport:
        """Sync each ``(name, repo slug)``, then the PR status and the notifications; stops at
        the first error."""
        report = SyncReport()
        repos = [repo for _, repo in upstreams]
        try:
            for name, repo in upstreams:
                report.repos.append(self.sync_repo(name, repo))
            report.status = self.refresh_status(repos, any(r.changed for r in report.repos))
            if not self.client.anonymous:
                report.bases = refresh_bases(self.client, self.store, repos, self.branches)
            report.notifications = refresh_notifications(
                self.client, self.store, repos, now=datetime.now(UTC)
            )
        except Unreachable as exc:
            when = self.store.last_synced(repos)
            raise Unreachable(
                f"offline: {exc.message}; the store was last synced "
                + (f"{when} (UTC)" if when else "never"),
                "reads keep working: workbench issues, workbench prs",
            ) from None
        report.requests = self.client.requests
        report.rate = self.client.rate
        return report

    def sync_repo(self, name: str, repo: str) -> RepoReport:
        state = self.store.sync_state(repo)
        report = RepoReport(name, repo, first_sync=state is None or state.synced_at is None)
        self.observer.repo_started(name, repo, report.first_sync)
        try:
            if report.first_sync:
                self._first_pass(report)
            else:
                assert state is not None
                self._incremental_pass(report, state.watermark, state.etag)
        finally:
            # Whatever was stored, also what an earlier killed sync left, becomes searchable.
            self.store.index_pending()
        self.observer.repo_finished(report)
        return report

    def _first_pass(self, report: RepoReport) -> None:
        cutoff = stamp(datetime.now(UTC) - timedelta(days=self.closed_days))

        def wanted(item: Item) -> bool:
            return item.state == "open" or (item.closed_at or item.updated_at) >= cutoff

        first, newest, reached_end = self._walk(
            report, UPDATED_FIRST, None, wanted, stop=lambda last: last.updated_at < cutoff
        )
        if not reached_end:
            # Open items not updated since the cutoff. The watermark stays with the list above:
            # items updated meanwhile move to the end of this list and would push it too far.
            self._walk(
                report, OLD_OPEN_FIRST, None, wanted, stop=lambda last: last.updated_at >= cutoff
            )
        self.store.finish_pass(
            report.repo,
            watermark=newest,
            etag=first.etag,
            rate_remaining=self.client.rate.remaining,
            rate_reset=self.client.rate.reset,
        )

    def _incremental_pass(
        self, report: RepoReport, watermark: str | None, etag: str | None
    ) -> None:
        mark = watermark or ""

        first, newest, _ = self._walk(
            report,
            UPDATED_FIRST,
            etag,
            wanted=lambda item: item.updated_at >= mark,
            # Equal times may continue on the next page, so stop only below the watermark.
            stop=lambda last: last.updated_at < mark,
        )
        if first.not_modified:
            report.not_modified = True
            self.store.mark_unchanged(
                report.repo,
                rate_remaining=self.client.rate.remaining,
                rate_reset=self.client.rate.reset,
            )
            return
        self.store.finish_pass(
            report.repo,
            watermark=max(filter(None, (watermark, newest)), default=None),
            etag=first.etag,
            rate_remaining=self.client.rate.remaining,
            rate_reset=self.client.rate.reset,
        )

    def _walk(
        self,
        report: RepoReport,
        params: dict[str, Any],
        etag: str | None,
        wanted: Callable[[Item], bool],
        stop: Callable[[Item], bool],
    ) -> tuple[ApiPage, str | None, bool]:
        """Store pages of one list until ``stop(last item of a page)``.

        Returns the first page, the newest ``updated_at`` seen and whether the list ran out.
        """
        page = self.client.get_page(f"/repos/{report.repo}/issues", params, etag=etag)
        report.requests += 1
        first, newest, number = page, None, 1
        while not page.not_modified:
            # The whole page is parsed before anything of it is written.
            items = [parse_issue(raw, report.repo) for raw in page.items]
            new, updated = self.store.upsert_items([i for i in items if wanted(i)])
            report.new += new
            report.updated += updated
            report.pages += 1
            self.observer.page_stored(report.name, number, first.last_page, len(items))
            if items:
                newest = max(newest or "", max(i.updated_at for i in items))
            if not page.next_url or not items:
                return first, newest, True
            if stop(items[-1]):
                return first, newest, False
            page = self.client.get_page(page.next_url)
            report.requests += 1
            number += 1
        return first, newest, False

    def refresh_status(self, repos: Sequence[str], changed: bool) -> StatusReport:
        """CI and review state of the contributor's open PRs and review requests (GraphQL)."""
        if self.client.anonymous:
            return StatusReport(skipped="anonymous")
        if not repos:
            return StatusReport(skipped="unchanged")
        if not changed and not self.store.status_due(repos, STATUS_MAX_AGE):
            return StatusReport(skipped="unchanged")
        scope = " ".join(f"repo:{r}" for r in repos)
        before = self.client.requests
        variables: dict[str, Any] = {
            "mine": f"is:pr is:open author:@me {scope}",
            "review": f"is:pr is:open review-requested:@me {scope}",
            "mineAfter": None,
            "reviewAfter": None,
            "withMine": True,
            "withReview": True,
        }
        login: str | None = None
        statuses: list[PrStatus] = []
        more_checks: dict[tuple[str, int], str] = {}
        """PRs with more than 100 checks: the cursor after the first 100."""
        counts = {"mine": 0, "review": 0}
        # Both searches share each request; one that has run out is left out of the next.
        while variables["withMine"] or variables["withReview"]:
            data = self.client.graphql(STATUS_QUERY, variables)
            viewer = data.get("viewer")
            login = viewer.get("login") if isinstance(viewer, dict) else None
            if not isinstance(login, str):
                raise UnexpectedResponse("GitHub's GraphQL answer has no viewer.login")
            for alias in ("mine", "review"):
                flag = "withMine" if alias == "mine" else "withReview"
                if not variables[flag]:
                    continue
                result = data.get(alias)
                nodes = result.get("nodes") if isinstance(result, dict) else None
                if not isinstance(nodes, list):
                    raise UnexpectedResponse(f"GitHub's GraphQL answer has no {alias}.nodes list")
                found = []
                for node in nodes:
                    status = parse_pr_status(
                        node,
                        mine=alias == "mine",
                        review_requested=alias == "review",
                        where=f"GraphQL {alias}",
                        viewer=login,
                    )
                    if status is None:
                        continue
                    cursor = _more_checks(node)
                    if cursor and (status.repo, status.number) not in more_checks:
                        more_checks[(status.repo, status.number)] = cursor
                    found.append(status)
                counts[alias] += len(found)
                statuses.extend(found)
                page = result.get("pageInfo") if isinstance(result, dict) else None
                cursor = page.get("endCursor") if isinstance(page, dict) else None
                more = isinstance(page, dict) and page.get("hasNextPage") and nodes and cursor
                variables[flag] = bool(more)
                variables[f"{alias}After"] = cursor
        assert login is not None
        statuses = [
            self._all_checks(s, more_checks[(s.repo, s.number)])
            if (s.repo, s.number) in more_checks
            else s
            for s in statuses
        ]
        # Stored only once every page is read: a half-read search would drop the PRs not reached.
        self.store.replace_pr_status(repos, statuses, login)
        return StatusReport(
            requests=self.client.requests - before,
            viewer=login,
            mine=counts["mine"],
            review_requested=counts["review"],
        )

    def _all_checks(self, status: PrStatus, cursor: str) -> PrStatus:
        """``status`` with the checks after the first 100, 100 to a request."""
        owner, name = status.repo.split("/", 1)
        where = f"GraphQL checks of {status.repo}#{status.number}"
        checks = list(status.checks)
        after: str | None = cursor
        while after:
            data = self.client.graphql(
                MORE_CHECKS_QUERY,
                {"owner": owner, "name": name, "number": status.number, "after": after},
            )
            repository = object_or_empty(data.get("repository"))
            page, after = parse_checks_page(
                _contexts(object_or_empty(repository.get("pullRequest"))), where
            )
            checks += page
        return replace(status, checks=tuple(checks))


def _contexts(pr: dict[str, Any]) -> dict[str, Any]:
    """``commits(last: 1) ... statusCheckRollup.contexts`` of a PullRequest object."""
    nodes = object_or_empty(pr.get("commits")).get("nodes")
    head = object_or_empty(nodes[-1]) if isinstance(nodes, list) and nodes else {}
    rollup = object_or_empty(object_or_empty(head.get("commit")).get("statusCheckRollup"))
    return object_or_empty(rollup.get("contexts"))


def _more_checks(node: object) -> str | None:
    """The cursor after the first page of a PR's checks, if more follow."""
    page = object_or_empty(_contexts(object_or_empty(node)).get("pageInfo"))
    cursor = page.get("endCursor")
    return cursor if page.get("hasNextPage") and isinstance(cursor, str) else None


def sync_upstreams(
    ws: Workspace,
    recipes: Sequence[Recipe],
    *,
    closed_days: int = CLOSED_DAYS,
    observer: SyncObserver | None = None,
    on_client: Callable[[GitHubClient], None] | None = None,
) -> SyncReport:
    """Sync every recipe's upstream into the workspace's store: what ``workbench sync`` and the
    dashboard's ``s`` do. ``on_client`` sees the client before the first request (the CLI
    warns there when no token is set)."""
    from workbench.github.client import GitHubClient

    client = GitHubClient.from_env()
    if on_client is not None:
        on_client(client)
    with client, Store.open(ws) as store:
        syncer = Syncer(
            client,
            store,
            closed_days=closed_days,
            observer=observer,
            branches={r.upstream.repo: r.upstream.default_branch for r in recipes},
        )
        return syncer.run([(r.name, r.upstream.repo) for r in recipes])
