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


def pull_request(fake: FakeGitHub, repo: str, item: dict[str, Any]) -> dict[str, Any]:
    """One PR as GitHub's ``PullRequest`` object."""
    checks = [
        {
            "__typename": "CheckRun",
            "name": c["name"],
            "status": c.get("status", "COMPLETED"),
            "conclusion": c.get("conclusion"),
            "detailsUrl": f"https://github.com/{repo}/actions/runs/{c.get('run_id', 1)}/job/"
            f"{c.get('job_id', 0)}",
            "databaseId": c.get("job_id"),
            "completedAt": c.get("completed_at"),
            # An Actions job belongs to a workflow run; another app's check run does not.
            "checkSuite": {
                "workflowRun": {"databaseId": c.get("run_id"), "workflow": {"name": c["workflow"]}}
                if "workflow" in c
                else None
            },
        }
        if "context" not in c
        else {
            "__typename": "StatusContext",
            "context": c["context"],
            "state": c["state"],
            "targetUrl": c.get("url"),
        }
        for c in item["checks"]
    ]
    rollup = (
        {"state": item["ci"], "contexts": connection(checks, "contexts")}
        if item["ci"] or checks
        else None
    )
    commit = {
        "oid": item["head_sha"],
        "committedDate": item["committed"],
        "statusCheckRollup": rollup,
    }
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

        return {"nameWithOwner": repo, "pullRequest": pull}

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
