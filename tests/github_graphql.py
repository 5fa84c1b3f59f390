"""GitHub's GraphQL API for the local server: graphql-core over a subset of GitHub's own schema.

Every query is parsed and validated against ``github_schema.graphql`` (real type and field names)
before it runs, so a field, argument or fragment GitHub lacks comes back as GitHub answers it:
HTTP 200 with an ``errors`` list and no data. Connections follow GitHub's rules: ``first`` or
``last`` is required and at most 100, cursors are opaque, ``pageInfo`` says whether more follow.
The data are the server's items (:class:`tests.github_server.FakeGitHub`).
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError, GraphQLSchema, build_schema, graphql_sync

if TYPE_CHECKING:
    from tests.github_server import FakeGitHub

SCHEMA_FILE = Path(__file__).with_name("github_schema.graphql")
MAX_PAGE = 100


@functools.cache
def schema() -> GraphQLSchema:
    return build_schema(SCHEMA_FILE.read_text())


def _cursor(index: int) -> str:
    return base64.b64encode(f"cursor:v2:{index}".encode()).decode()


def _index(cursor: str) -> int:
    try:
        return int(base64.b64decode(cursor).decode().rsplit(":", 1)[1])
    except (ValueError, IndexError):
        raise GraphQLError(f"`{cursor}` does not appear to be a valid cursor.") from None


def connection(items: Sequence[Any], name: str) -> Callable[..., dict[str, Any]]:
    """A resolver for a connection field over ``items`` (oldest first, as GitHub lists them)."""

    def resolve(
        info: Any,
        first: int | None = None,
        last: int | None = None,
        after: str | None = None,
        before: str | None = None,
        **_: Any,
    ) -> dict[str, Any]:
        if first is None and last is None:
            raise GraphQLError(
                f"You must provide a `first` or `last` value to properly paginate the `{name}` "
                "connection."
            )
        for arg, value in (("first", first), ("last", last)):
            if value is not None and not 0 <= value <= MAX_PAGE:
                raise GraphQLError(
                    f"Requesting {value} records on the `{name}` connection exceeds the `{arg}` "
                    f"limit of {MAX_PAGE} records."
                )
        start = _index(after) + 1 if after else 0
        end = _index(before) if before else len(items)
        if first is not None:
            end = min(end, start + first)
        if last is not None:
            start = max(start, end - last)
        return {
            "totalCount": len(items),
            "nodes": list(items[start:end]),
            "pageInfo": {
                "hasNextPage": end < len(items),
                "hasPreviousPage": start > 0,
                "startCursor": _cursor(start) if end > start else None,
                "endCursor": _cursor(end - 1) if end > start else None,
            },
        }

    return resolve


def _actor(login: str | None) -> dict[str, Any] | None:
    if login is None:
        return None  # a deleted account ("ghost")
    kind = "Bot" if login.endswith("[bot]") or login.endswith("-bot") else "User"
    return {"__typename": kind, "login": login}


def _check_run(
    repo: str, c: dict[str, Any], attempt: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A check of the server's data as GitHub's ``CheckRun`` (an earlier ``attempt`` of it with
    that attempt's conclusion and job id) or, with ``context``, a ``StatusContext``."""
    if "context" in c:
        return {
            "__typename": "StatusContext",
            "context": c["context"],
            "state": c["state"],
            "targetUrl": c.get("url"),
        }
    run = {**c, **(attempt or {})}
    return {
        "__typename": "CheckRun",
        "name": c["name"],
        "status": run.get("status", "COMPLETED"),
        "conclusion": run.get("conclusion"),
        "detailsUrl": f"https://github.com/{repo}/actions/runs/{c.get('run_id', 1)}/job/"
        f"{run.get('job_id', 0)}",
        "databaseId": run.get("job_id"),
        "completedAt": run.get("completed_at"),
        "title": c.get("title"),
        "summary": c.get("summary"),
        "text": None,
        # An Actions job belongs to a workflow run; another app's check run does not.
        "checkSuite": {
            "workflowRun": {"databaseId": c.get("run_id"), "workflow": {"name": c["workflow"]}}
            if "workflow" in c
            else None
        },
    }


def _check_suites(repo: str, checks: Sequence[dict[str, Any]]) -> Callable[..., dict[str, Any]]:
    """``Commit.checkSuites``: one suite per workflow run (or per app check), each with its
    check runs; ``checkRuns(filterBy: {checkType: ALL})`` includes a job's earlier ``attempts``."""
    suites: dict[Any, list[dict[str, Any]]] = {}
    for c in checks:
        if "context" not in c:
            suites.setdefault(
                (c.get("workflow"), c.get("run_id"), c.get("workflow") or c["name"]), []
            ).append(c)

    def suite(key: Any, runs: list[dict[str, Any]]) -> dict[str, Any]:
        def check_runs(info: Any, filterBy: dict[str, Any] | None = None, **page: Any) -> Any:
            f = filterBy or {}
            chosen = []
            for c in runs:
                tries = [*c.get("attempts", ()), {}] if f.get("checkType") == "ALL" else [{}]
                for attempt in tries:
                    run = _check_run(repo, c, attempt)
                    if f.get("checkName") is not None and run["name"] != f["checkName"]:
                        continue
                    if (
                        f.get("conclusions") is not None
                        and run["conclusion"] not in f["conclusions"]
                    ):
                        continue
                    chosen.append(run)
            return connection(chosen, "checkRuns")(info, **page)

        workflow, run_id, _ = key
        return {
            "checkRuns": check_runs,
            "status": "COMPLETED",
            "conclusion": None,
            "workflowRun": {"databaseId": run_id, "workflow": {"name": workflow}}
            if workflow
            else None,
        }

    return connection([suite(k, v) for k, v in suites.items()], "checkSuites")


def commit_object(
    repo: str, sha: str, checks: Sequence[dict[str, Any]], state: str | None, committed: str
) -> dict[str, Any]:
    """A commit as GitHub's ``Commit``, with the checks of its statusCheckRollup (the latest
    attempt of each) and its check suites."""
    latest = [_check_run(repo, c) for c in checks]
    return {
        "__typename": "Commit",
        "oid": sha,
        "committedDate": committed,
        "statusCheckRollup": {"state": state, "contexts": connection(latest, "contexts")}
        if state or latest
        else None,
        "checkSuites": _check_suites(repo, checks),
    }


def pull_request(fake: FakeGitHub, repo: str, item: dict[str, Any]) -> dict[str, Any]:
    """One PR as GitHub's ``PullRequest`` object."""
    commit = commit_object(repo, item["head_sha"], item["checks"], item["ci"], item["committed"])
    timeline = [
        {
            "__typename": "HeadRefForcePushedEvent",
            "createdAt": at,
            "_type": "HEAD_REF_FORCE_PUSHED_EVENT",
        }
        for at in item["pushes"]
    ]

    def timeline_items(info: Any, itemTypes: Sequence[str] | None = None, **kw: Any) -> Any:
        chosen = [t for t in timeline if itemTypes is None or t["_type"] in itemTypes]
        return connection(chosen, "timelineItems")(info, **kw)

    def comment(c: dict[str, Any], kind: str) -> dict[str, Any]:
        return {
            "__typename": kind,
            "author": _actor(c["author"]),
            "body": c["body"],
            "bodyText": c["body"],
            "createdAt": c["created"],
            "url": c.get("url") or f"https://github.com/{repo}/pull/{item['number']}#c",
        }

    threads = [
        {
            "isResolved": t.get("resolved", False),
            "isOutdated": t.get("outdated", False),
            "path": t["path"],
            "line": t.get("line"),
            "originalLine": t.get("line"),
            "comments": connection(
                [comment(c, "PullRequestReviewComment") for c in t["comments"]], "comments"
            ),
        }
        for t in item["threads"]
    ]
    reviews = [
        {
            "author": _actor(r["author"]),
            "state": r["state"],
            "submittedAt": r.get("submitted"),
            "url": f"https://github.com/{repo}/pull/{item['number']}#pullrequestreview",
        }
        for r in item["opinions"]
    ]
    return {
        "__typename": "PullRequest",
        "id": f"PR_{repo}#{item['number']}",
        "number": item["number"],
        "title": item["title"],
        "url": f"https://github.com/{repo}/pull/{item['number']}",
        "isDraft": item["draft"],
        "reviewDecision": item["review"],
        "mergeable": item["mergeable"],
        "updatedAt": item["updated"],
        "headRefOid": item["head_sha"],
        "baseRefName": item.get("base_ref", "main"),
        "baseRefOid": item.get("base_tip", "0" * 40),
        "headRefName": f"branch-{item['number']}",
        "author": _actor(item["author"]),
        "repository": {"nameWithOwner": repo},
        "labels": connection([{"name": n} for n in item["labels"]], "labels"),
        "commits": connection([{"commit": commit}], "commits"),
        "timelineItems": timeline_items,
        "latestOpinionatedReviews": connection(reviews, "latestOpinionatedReviews"),
        "reviewThreads": connection(threads, "reviewThreads"),
        "comments": connection(
            [comment(c, "IssueComment") for c in item["issue_comments"]], "comments"
        ),
    }


def fake_commit(fake: FakeGitHub, repo: str, sha: str) -> dict[str, Any] | None:
    """``Repository.object(oid:)``: a commit the server holds (``fake.commits``) or a PR's head;
    None (GitHub's null) for an oid it does not have."""
    with fake.lock:
        known = getattr(fake, "commits", {}).get((repo, sha))
        if known is not None:
            return commit_object(repo, sha, known["checks"], known.get("ci"), known["committed"])
        for item in fake.items.get(repo, {}).values():
            if item["pr"] and item["head_sha"] == sha:
                return commit_object(repo, sha, item["checks"], item["ci"], item["committed"])
    return None


def _search(fake: FakeGitHub) -> Callable[..., dict[str, Any]]:
    def resolve(info: Any, query: str, type: str, **page: Any) -> dict[str, Any]:
        words = query.split()
        repos = [w[5:] for w in words if w.startswith("repo:")]
        nodes = []
        with fake.lock:
            for repo in repos:
                for item in fake.items.get(repo, {}).values():
                    if not item["pr"] or item["state"] != "open":
                        continue
                    if "author:@me" in words and item["author"] != fake.viewer:
                        continue
                    if "review-requested:@me" in words and fake.viewer not in item["reviewers"]:
                        continue
                    nodes.append(pull_request(fake, repo, item))
        found = connection(nodes, "search")(info, **page)
        found["issueCount"] = len(nodes)
        return found

    return resolve


def execute(fake: FakeGitHub, request: dict[str, Any]) -> dict[str, Any]:
    """The JSON GitHub answers to one ``POST /graphql`` body."""
    with fake.lock:
        fake.graphql_queries.append(request)

    def repository(info: Any, owner: str, name: str, **_: Any) -> dict[str, Any] | None:
        repo = f"{owner}/{name}"
        if repo not in fake.items:
            raise GraphQLError(f"Could not resolve to a Repository with the name '{repo}'.")

        def pull(info: Any, number: int) -> dict[str, Any] | None:
            item = fake.items[repo].get(number)
            if item is None or not item["pr"]:
                raise GraphQLError(
                    f"Could not resolve to a PullRequest with the number of {number}."
                )
            return pull_request(fake, repo, item)

        def git_object(info: Any, oid: str | None = None, **_: Any) -> dict[str, Any] | None:
            return fake_commit(fake, repo, oid or "")

        return {"nameWithOwner": repo, "pullRequest": pull, "object": git_object}

    root = {
        "repository": repository,
        "viewer": {"login": fake.viewer},
        "rateLimit": {
            "cost": 1,
            "remaining": fake.rate_remaining,
            "resetAt": datetime.fromtimestamp(fake.rate_reset, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "search": _search(fake),
    }
    result = graphql_sync(
        schema(),
        request.get("query") or "",
        root_value=root,
        variable_values=request.get("variables") or {},
    )
    out: dict[str, Any] = {}
    if result.errors:
        out["errors"] = [
            {"message": e.message, "locations": [loc._asdict() for loc in e.locations or []]}
            for e in result.errors
        ]
    if result.data is not None or not result.errors:
        out["data"] = result.data
    return out
