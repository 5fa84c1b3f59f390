"""What a PR's failing checks are measured against: its merge base and that commit's checks.

For each of the contributor's open PRs with a failing check, the sync learns

* the merge base: ``GET /repos/{repo}/compare/{base}...{head}`` answers ``merge_base_commit``,
  one REST request per PR head, kept per (head, base branch): a head that does not change is
  never compared again;
* the merge base's checks: ``Repository.object(oid:)`` on the ``Commit``, its
  ``statusCheckRollup`` (the latest attempt of every job, as a PR's own checks are read), kept per
  commit, so PRs that share a base cost one read, read again only while some of them still run;
* for the PR's head, the jobs that passed in some attempt (``checkSuites`` → ``checkRuns`` with
  ``checkType: ALL``) and the summary of a ``Dr.CI`` check run (ao's own classification), read
  again when another job fails.

The commits are read in GraphQL requests of :data:`COMMITS_PER_REQUEST`. Every answer is stored
as it arrives, so a rate limit part-way loses nothing read before it; what was not reached is
classified ``unclassified`` with the reason (:mod:`workbench.github.triage`). Base jobs' logs are
fetched on demand only (``workbench prs log OWNER/REPO#N --base``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from workbench.github.errors import RateLimited, UnexpectedResponse
from workbench.github.model import (
    CI_ROLLUP,
    CommitChecks,
    MergeBase,
    PrStatus,
    parse_checks_page,
)
from workbench.github.model.fields import object_or_empty
from workbench.github.queries import CHECK_FRAGMENT, ROLLUP_FRAGMENT
from workbench.github.store import Store, now_utc

if TYPE_CHECKING:
    from workbench.github.client import GitHubClient

COMMITS_PER_REQUEST = 20
"""Commits per GraphQL request: a head asks for up to 50 check suites of 100 runs each, so 20
stay far below GitHub's 500,000 nodes a request (about 102,000)."""
SUITES_READ = 50
"""Check suites read per head (one per workflow run or app): ao's PRs have about 20."""
STOPPED_KEY = "bases_stopped"
"""The store's meta key saying why the last sync did not read every base (a rate limit)."""
DRCI_CHECK = "Dr.CI"
"""The check run ao's Dr.CI posts on a PR's head; its summary is the JSON classification."""

BASE_FRAGMENT = """
fragment baseChecks on Commit {
  oid
  statusCheckRollup { ...rollup }
}
"""

HEAD_FRAGMENT = """
fragment headAttempts on Commit {
  oid
  checkSuites(first: $SUITES) {
    totalCount
    nodes {
      workflowRun { workflow { name } }
      passed: checkRuns(first: 100, filterBy: {checkType: ALL, conclusions: [SUCCESS]}) {
        nodes { name }
      }
      drci: checkRuns(first: 1, filterBy: {checkName: "$DRCI"}) {
        nodes { name summary }
      }
    }
  }
}
""".replace("$SUITES", str(SUITES_READ)).replace("$DRCI", DRCI_CHECK)

MORE_BASE_CHECKS_QUERY = """
query MoreBaseChecks($owner: String!, $name: String!, $oid: GitObjectID!, $after: String) {
  repository(owner: $owner, name: $name) {
    object(oid: $oid) {
      ... on Commit {
        statusCheckRollup {
          contexts(first: 100, after: $after) {
            pageInfo { hasNextPage endCursor }
            nodes { ...check }
          }
        }
      }
    }
  }
}
"""


def commits_query(kinds: Sequence[str]) -> str:
    """One request reading several commits: ``c0``, ``c1`` ... each a base (its checks) or a
    head (jobs that passed in some attempt, Dr.CI's summary), as ``kinds`` says."""
    params = ", ".join(
        f"$o{k}: String!, $n{k}: String!, $s{k}: GitObjectID!" for k in range(len(kinds))
    )
    fields = "\n".join(
        f"  c{k}: repository(owner: $o{k}, name: $n{k}) {{ object(oid: $s{k}) {{ "
        f"...{'baseChecks' if kind == 'base' else 'headAttempts'} }} }}"
        for k, kind in enumerate(kinds)
    )
    fragments = ""
    if "base" in kinds:
        fragments += BASE_FRAGMENT + ROLLUP_FRAGMENT + CHECK_FRAGMENT
    if "head" in kinds:
        fragments += HEAD_FRAGMENT
    return f"query CommitChecks({params}) {{\n  rateLimit {{ cost remaining resetAt }}\n{fields}\n}}\n{fragments}"


@dataclass
class BasesReport:
    prs: int = 0
    """Own open PRs with a failing check."""
    compared: int = 0
    """Merge bases asked for (compare requests)."""
    commits_read: int = 0
    requests: int = 0
    problems: int = 0
    """Merge bases or commits GitHub could not give (404, gone)."""
    points: int = 0
    """GraphQL rate-limit points the reads cost, as GitHub reported them."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def failing_prs(store: Store, repos: Sequence[str]) -> list[PrStatus]:
    """The contributor's open PRs of ``repos`` with a failing check and a known head."""
    keys = store.own_pr_keys(repos)
    found = store.pr_details_many(keys)
    return [s for s in found.values() if s.head_sha and any(c.failed for c in s.checks)]


def refresh_bases(
    client: GitHubClient, store: Store, repos: Sequence[str], branches: Mapping[str, str]
) -> BasesReport:
    """Read the merge base and its checks for every own PR with a failing check, and its head's
    attempts; ``branches``: each repository's default branch, for a PR whose base branch is not
    known. Stores each answer as it comes; a rate limit is recorded and raised."""
    report = BasesReport()
    before = client.requests
    prs = failing_prs(store, repos)
    report.prs = len(prs)
    try:
        bases = _merge_bases(client, store, prs, branches, report)
        _read_commits(client, store, prs, bases, report)
    except RateLimited as exc:
        store.set_meta(
            STOPPED_KEY, json.dumps({"at": now_utc(), "why": "GitHub's rate limit ran out"})
        )
        report.requests = client.requests - before
        raise RateLimited(
            f"{exc.message}; the merge bases read so far are stored",
            "failing checks not compared yet show as unclassified; run `workbench sync` again then",
            reset=exc.reset,
        ) from None
    store.set_meta(STOPPED_KEY, None)
    report.requests = client.requests - before
    return report


def base_key(s: PrStatus, branches: Mapping[str, str]) -> tuple[str, str, str]:
    assert s.head_sha is not None
    return (s.repo, s.head_sha, s.base_ref or branches.get(s.repo, "main"))


def _merge_bases(
    client: GitHubClient,
    store: Store,
    prs: Sequence[PrStatus],
    branches: Mapping[str, str],
    report: BasesReport,
) -> dict[tuple[str, str, str], MergeBase]:
    keys = [base_key(s, branches) for s in prs]
    known = store.merge_bases(keys)
    for key in dict.fromkeys(keys):
        if key in known:
            continue  # a head's merge base with its branch does not move; a 404 stays one
        repo, head, ref = key
        status, body = client.request(
            "GET", f"/repos/{repo}/compare/{ref}...{head}", {"per_page": 1}, allow=(404, 422)
        )
        report.compared += 1
        sha = object_or_empty(object_or_empty(body).get("merge_base_commit")).get("sha")
        if status >= 400:
            problem = (
                f"GitHub cannot compare {head[:7]} with {ref} ({status}): the head or the branch "
                "is gone (force-pushed away?)"
            )
            base = MergeBase(repo, head, ref, None, problem, now_utc())
            report.problems += 1
        elif isinstance(sha, str) and sha:
            base = MergeBase(repo, head, ref, sha, None, now_utc())
        else:
            raise UnexpectedResponse(
                f"GitHub's compare of {ref}...{head[:7]} in {repo} has no merge_base_commit.sha",
                "check WORKBENCH_GITHUB_API; the merge bases read before are kept",
            )
        store.save_merge_base(base)
        known[key] = base
    return known


def _read_commits(
    client: GitHubClient,
    store: Store,
    prs: Sequence[PrStatus],
    bases: Mapping[tuple[str, str, str], MergeBase],
    report: BasesReport,
) -> None:
    wanted: dict[tuple[str, str, str], tuple[int, ...]] = {}
    for b in bases.values():
        if b.sha:
            wanted.setdefault((b.repo, b.sha, "base"), ())
    for s in prs:
        assert s.head_sha is not None
        failing = tuple(sorted(c.job_id for c in s.checks if c.failed and c.job_id is not None))
        wanted[(s.repo, s.head_sha, "head")] = failing
    stored = store.commit_checks(wanted)
    todo = []
    for key, failing in wanted.items():
        old = stored.get(key)
        if old is None:
            todo.append(key)
        elif key[2] == "base" and old.pending and old.problem is None:
            todo.append(key)  # still running when read: their results may be in now
        elif key[2] == "head" and not set(failing) <= set(old.seen):
            todo.append(key)  # another job failed since: did it pass in some attempt?
    for start in range(0, len(todo), COMMITS_PER_REQUEST):
        batch = todo[start : start + COMMITS_PER_REQUEST]
        variables: dict[str, Any] = {}
        for k, (repo, sha, _) in enumerate(batch):
            owner, name = repo.split("/", 1)
            variables |= {f"o{k}": owner, f"n{k}": name, f"s{k}": sha}
        data = client.graphql(commits_query([kind for _, _, kind in batch]), variables)
        cost = object_or_empty(data.get("rateLimit")).get("cost")
        report.points += cost if isinstance(cost, int) else 0
        for k, key in enumerate(batch):
            obj = object_or_empty(data.get(f"c{k}")).get("object")
            read = _base(client, key, obj) if key[2] == "base" else _head(key, obj, wanted[key])
            report.problems += read.problem is not None
            store.save_commit_checks(read)
            report.commits_read += 1


def _gone(sha: str) -> str:
    return f"GitHub does not have commit {sha[:7]} (force-pushed away or deleted)"


def _base(client: GitHubClient, key: tuple[str, str, str], obj: object) -> CommitChecks:
    repo, sha, _ = key
    where = f"GraphQL checks of {repo}@{sha[:7]}"
    if not isinstance(obj, dict):
        return CommitChecks(repo, sha, "base", now_utc(), problem=_gone(sha))
    rollup = obj.get("statusCheckRollup")
    if not isinstance(rollup, dict):
        return CommitChecks(repo, sha, "base", now_utc(), state="none")
    contexts = object_or_empty(rollup.get("contexts"))
    checks, after = parse_checks_page(contexts, where)
    while after:
        owner, name = repo.split("/", 1)
        data = client.graphql(
            MORE_BASE_CHECKS_QUERY + CHECK_FRAGMENT,
            {"owner": owner, "name": name, "oid": sha, "after": after},
        )
        commit = object_or_empty(object_or_empty(data.get("repository")).get("object"))
        more = object_or_empty(object_or_empty(commit.get("statusCheckRollup")).get("contexts"))
        page, after = parse_checks_page(more, where)
        checks += page
    state = rollup.get("state")
    total = contexts.get("totalCount")
    return CommitChecks(
        repo,
        sha,
        "base",
        now_utc(),
        state=CI_ROLLUP.get(state, "none") if isinstance(state, str) else "none",
        checks=tuple(checks),
        checks_total=total if isinstance(total, int) else len(checks),
    )


def _head(key: tuple[str, str, str], obj: object, failing: tuple[int, ...]) -> CommitChecks:
    repo, sha, _ = key
    if not isinstance(obj, dict):
        return CommitChecks(repo, sha, "head", now_utc(), problem=_gone(sha), seen=failing)
    suites = object_or_empty(obj.get("checkSuites")).get("nodes")
    passed: list[str] = []
    drci = None
    for suite in suites if isinstance(suites, list) else []:
        suite = object_or_empty(suite)
        workflow_run = object_or_empty(suite.get("workflowRun"))
        workflow = object_or_empty(workflow_run.get("workflow")).get("name")
        for run in object_or_empty(suite.get("passed")).get("nodes") or []:
            name = object_or_empty(run).get("name")
            if isinstance(name, str):
                passed.append(f"{workflow} / {name}" if isinstance(workflow, str) else name)
        for run in object_or_empty(suite.get("drci")).get("nodes") or []:
            summary = object_or_empty(run).get("summary")
            if isinstance(summary, str) and summary.strip():
                drci = summary
    return CommitChecks(
        repo,
        sha,
        "head",
        now_utc(),
        passed=tuple(dict.fromkeys(passed)),
        drci=drci,
        seen=failing,
    )
