"""What blocks a PR, as the last status search found it: CI and review state, the head commit's
checks, reviews, unresolved threads and comments since the last push; and, to tell whose a red
check is, each own PR's merge base and the checks of commits.

The status search replaces a repository's PR rows (``pr_status`` and its detail tables) as a
whole. Merge bases and commits' checks are kept across searches, per commit: a finished check
does not change.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import astuple, dataclass, fields, replace
from typing import Any

from workbench.github.model import (
    CiCheck,
    Comment,
    CommitChecks,
    MergeBase,
    PrStatus,
    Review,
    Thread,
)
from workbench.github.store.schema import from_row, json_list
from workbench.github.store.state import SyncStateTables


@dataclass(frozen=True)
class _Detail:
    """One table of what blocks a PR: its rows are repo, number and the fields of ``kind``."""

    table: str
    field: str
    """The :class:`PrStatus` field it fills."""
    kind: type

    @property
    def columns(self) -> list[str]:
        return [f.name for f in fields(self.kind)]


_DETAILS = (
    _Detail("pr_checks", "checks", CiCheck),
    _Detail("pr_reviews", "reviews", Review),
    _Detail("pr_threads", "threads", Thread),
    _Detail("pr_comments", "comments", Comment),
)

_STATUS_COLUMNS = (
    "repo",
    "number",
    "ci",
    "review",
    "draft",
    "mine",
    "review_requested",
    "mergeable",
    "last_push",
    "head_sha",
    "updated_at",
    "labels",
    "checks_total",
    "threads_total",
    "base_ref",
)
"""The columns of ``pr_status``, in the order of :func:`_status_values`."""

_CHECK_COLUMNS = [f.name for f in fields(CiCheck)]


class PrTables(SyncStateTables):
    """The store's ``pr_*`` tables, ``commit_reads`` and ``commit_checks``."""

    # --- the status search -----------------------------------------------------------------------

    def replace_pr_status(
        self, repos: Sequence[str], statuses: Sequence[PrStatus], viewer: str
    ) -> None:
        """Replace the CI/review state of ``repos``, and what blocks each PR, with a fresh search
        result, in one transaction."""
        merged: dict[tuple[str, int], PrStatus] = {}
        for s in statuses:
            key = (s.repo.lower(), s.number)
            if key in merged:  # both mine and review-requested
                old = merged[key]
                s = replace(
                    s,
                    mine=s.mine or old.mine,
                    review_requested=s.review_requested or old.review_requested,
                )
            merged[key] = s
        canonical = {r.lower(): r for r in repos}
        rows = [replace(s, repo=canonical.get(s.repo.lower(), s.repo)) for s in merged.values()]
        with self._write() as db:
            marks = ",".join("?" * len(repos))
            for table in ("pr_status", *(d.table for d in _DETAILS)):
                db.execute(f"DELETE FROM {table} WHERE repo IN ({marks})", tuple(repos))
            db.executemany(
                f"INSERT INTO pr_status ({', '.join(_STATUS_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(_STATUS_COLUMNS))})",
                [_status_values(s) for s in rows],
            )
            for detail in _DETAILS:
                names = detail.columns
                db.executemany(
                    f"INSERT INTO {detail.table} (repo, number, {', '.join(names)}) "
                    f"VALUES ({', '.join('?' * (len(names) + 2))})",
                    [
                        (s.repo, s.number, *astuple(x))
                        for s in rows
                        for x in getattr(s, detail.field)
                    ],
                )
            self._status_read(db, repos)
            self._put_meta(db, "viewer", viewer)

    def pr_details(self, repo: str, number: int) -> PrStatus | None:
        """The state of one PR of the last status search, with its checks, reviews, threads and
        comments since the last push; None if the search did not return it."""
        found = self.pr_details_many([(repo, number)])
        return found.get((repo, number))

    def pr_details_many(self, keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], PrStatus]:
        """:meth:`pr_details` of several PRs, in one query per table."""
        wanted = list(dict.fromkeys(keys))
        out: dict[tuple[str, int], PrStatus] = {}
        for start in range(0, len(wanted), 400):
            chunk = wanted[start : start + 400]
            cond = " OR ".join("(repo = ? AND number = ?)" for _ in chunk)
            args = [v for k in chunk for v in k]

            def rows(sql: str, cond: str = cond, args: list[Any] = args) -> list[sqlite3.Row]:
                return self._db.execute(f"{sql} WHERE {cond}", args).fetchall()

            extra: dict[str, dict[tuple[str, int], list[Any]]] = {}
            for detail in _DETAILS:
                found = extra.setdefault(detail.field, {})
                # In the order GitHub gave them (the row id: these tables keep it).
                sql = f"SELECT repo, number, {', '.join(detail.columns)} FROM {detail.table}"
                for r in rows(sql, cond + " ORDER BY rowid"):
                    converted = {"outdated": bool(r["outdated"])} if detail.kind is Thread else {}
                    found.setdefault((r["repo"], r["number"]), []).append(
                        from_row(detail.kind, r, **converted)
                    )
            for r in rows(f"SELECT {', '.join(_STATUS_COLUMNS)} FROM pr_status"):
                key = (r["repo"], r["number"])
                out[key] = _status(
                    r,
                    checks=tuple(extra["checks"].get(key, ())),
                    reviews=tuple(extra["reviews"].get(key, ())),
                    threads=tuple(extra["threads"].get(key, ())),
                    comments=tuple(extra["comments"].get(key, ())),
                )
        return out

    def own_pr_keys(self, repos: Sequence[str]) -> list[tuple[str, int]]:
        """(repo, number) of the contributor's PRs in the last status search of ``repos``."""
        if not repos:
            return []
        rows = self._db.execute(
            "SELECT repo, number FROM pr_status WHERE mine = 1 "
            f"AND repo IN ({','.join('?' * len(repos))}) ORDER BY repo, number",
            tuple(repos),
        )
        return [(r["repo"], r["number"]) for r in rows]

    # --- merge bases and the checks of commits (issue 25) ---------------------------------------

    def save_merge_base(self, base: MergeBase) -> None:
        with self._write() as db:
            db.execute(
                "INSERT INTO pr_bases (repo, head_sha, base_ref, sha, problem, read_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (repo, head_sha, base_ref) DO UPDATE SET "
                "sha = excluded.sha, problem = excluded.problem, read_at = excluded.read_at",
                (base.repo, base.head_sha, base.base_ref, base.sha, base.problem, base.read_at),
            )

    def merge_bases(
        self, keys: Iterable[tuple[str, str, str]]
    ) -> dict[tuple[str, str, str], MergeBase]:
        """The stored merge bases among ``keys`` (repo, head sha, base branch)."""
        out = {}
        for repo, head, ref in dict.fromkeys(keys):
            row = self._db.execute(
                "SELECT repo, head_sha, base_ref, sha, problem, read_at FROM pr_bases "
                "WHERE repo = ? AND head_sha = ? AND base_ref = ?",
                (repo, head, ref),
            ).fetchone()
            if row:
                out[(repo, head, ref)] = from_row(MergeBase, row)
        return out

    def save_commit_checks(self, read: CommitChecks) -> None:
        """Record what a commit's checks said; a base's checks replace those read before."""
        with self._write() as db:
            db.execute(
                "INSERT INTO commit_reads (repo, sha, kind, read_at, state, checks_total, "
                "problem, passed, drci, seen) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (repo, sha, kind) DO UPDATE SET read_at = excluded.read_at, "
                "state = excluded.state, checks_total = excluded.checks_total, "
                "problem = excluded.problem, passed = excluded.passed, drci = excluded.drci, "
                "seen = excluded.seen",
                (
                    read.repo,
                    read.sha,
                    read.kind,
                    read.read_at,
                    read.state,
                    read.checks_total,
                    read.problem,
                    json_list(read.passed),
                    read.drci,
                    json_list(read.seen),
                ),
            )
            if read.kind == "base":
                db.execute(
                    "DELETE FROM commit_checks WHERE repo = ? AND sha = ?", (read.repo, read.sha)
                )
                db.executemany(
                    f"INSERT INTO commit_checks (repo, sha, {', '.join(_CHECK_COLUMNS)}) "
                    f"VALUES ({', '.join('?' * (len(_CHECK_COLUMNS) + 2))})",
                    [(read.repo, read.sha, *astuple(c)) for c in read.checks],
                )

    def commit_checks(
        self, keys: Iterable[tuple[str, str, str]]
    ) -> dict[tuple[str, str, str], CommitChecks]:
        """The stored reads among ``keys`` (repo, sha, kind), a base's with its checks."""
        out = {}
        for repo, sha, kind in dict.fromkeys(keys):
            row = self._db.execute(
                "SELECT read_at, state, checks_total, problem, passed, drci, seen "
                "FROM commit_reads WHERE repo = ? AND sha = ? AND kind = ?",
                (repo, sha, kind),
            ).fetchone()
            if row is None:
                continue
            checks: tuple[CiCheck, ...] = ()
            if kind == "base":
                checks = tuple(
                    from_row(CiCheck, r)
                    for r in self._db.execute(
                        f"SELECT {', '.join(_CHECK_COLUMNS)} FROM commit_checks "
                        "WHERE repo = ? AND sha = ? ORDER BY rowid",
                        (repo, sha),
                    )
                )
            out[(repo, sha, kind)] = CommitChecks(
                repo=repo,
                sha=sha,
                kind=kind,
                read_at=row["read_at"],
                state=row["state"],
                checks=checks,
                checks_total=row["checks_total"],
                problem=row["problem"],
                passed=tuple(json.loads(row["passed"])),
                drci=row["drci"],
                seen=tuple(json.loads(row["seen"])),
            )
        return out


def _status_values(s: PrStatus) -> tuple[Any, ...]:
    """``s`` as the values of :data:`_STATUS_COLUMNS`."""
    return (
        s.repo,
        s.number,
        s.ci,
        s.review,
        int(s.draft),
        int(s.mine),
        int(s.review_requested),
        s.mergeable,
        s.last_push,
        s.head_sha,
        s.updated_at,
        json_list(s.labels),
        s.checks_total,
        s.threads_total,
        s.base_ref,
    )


def _status(
    row: sqlite3.Row,
    *,
    checks: tuple[CiCheck, ...],
    reviews: tuple[Review, ...],
    threads: tuple[Thread, ...],
    comments: tuple[Comment, ...],
) -> PrStatus:
    """A ``pr_status`` row with its details; a row stored before the totals were counted has
    as many as it holds."""
    return PrStatus(
        repo=row["repo"],
        number=row["number"],
        ci=row["ci"],
        review=row["review"],
        draft=bool(row["draft"]),
        mine=bool(row["mine"]),
        review_requested=bool(row["review_requested"]),
        mergeable=row["mergeable"],
        last_push=row["last_push"],
        head_sha=row["head_sha"],
        updated_at=row["updated_at"],
        labels=tuple(json.loads(row["labels"] or "[]")),
        checks=checks,
        checks_total=row["checks_total"] if row["checks_total"] is not None else len(checks),
        reviews=reviews,
        threads=threads,
        threads_total=row["threads_total"] if row["threads_total"] is not None else len(threads),
        comments=comments,
        base_ref=row["base_ref"],
    )
