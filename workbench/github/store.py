"""The tracker's local store: SQLite at ``<home>/github.db``, readable offline.

WAL mode and a busy timeout let a TUI read while a sync writes. Every write is one short
``BEGIN IMMEDIATE`` transaction, so a process killed at any point leaves the last committed state.
Items are stored by UPSERT and never replaced by an older copy, so storing a page twice is harmless.
The schema version lives in ``PRAGMA user_version``; :data:`MIGRATIONS` lists the steps to reach it.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import astuple, dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from workbench.errors import UsageError
from workbench.github.errors import NotSynced
from workbench.github.model import (
    CiCheck,
    Comment,
    CommitChecks,
    Item,
    MergeBase,
    Notification,
    PrStatus,
    Review,
    Thread,
    stamp,
)
from workbench.paths import Workspace

DB_FILE = "github.db"
BUSY_TIMEOUT_MS = 10_000

# One tuple of statements per schema version; append, never edit a released step.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE items (
            id INTEGER PRIMARY KEY,
            repo TEXT NOT NULL,
            number INTEGER NOT NULL,
            is_pr INTEGER NOT NULL,
            title TEXT NOT NULL,
            body TEXT NOT NULL,
            state TEXT NOT NULL,
            author TEXT,
            labels TEXT NOT NULL,
            assignees TEXT NOT NULL,
            comments INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            closed_at TEXT,
            url TEXT NOT NULL,
            draft INTEGER,
            linked TEXT NOT NULL,
            indexed INTEGER NOT NULL DEFAULT 0,
            UNIQUE (repo, number)
        )""",
        # Lists are per repository, newest update first. Across repositories a sort of a few
        # ten thousand rows takes milliseconds; another index would slow every sync down more.
        "CREATE INDEX items_repo_updated ON items (repo, updated_at DESC)",
        """CREATE TABLE item_labels (
            item_id INTEGER NOT NULL REFERENCES items (id) ON DELETE CASCADE,
            name TEXT NOT NULL COLLATE NOCASE,
            PRIMARY KEY (name, item_id)
        ) WITHOUT ROWID""",
        "CREATE INDEX item_labels_item ON item_labels (item_id)",
        """CREATE TABLE links (
            repo TEXT NOT NULL,
            issue INTEGER NOT NULL,
            pr INTEGER NOT NULL,
            PRIMARY KEY (repo, issue, pr)
        ) WITHOUT ROWID""",
        "CREATE INDEX links_pr ON links (repo, pr)",
        """CREATE TABLE pr_status (
            repo TEXT NOT NULL,
            number INTEGER NOT NULL,
            ci TEXT NOT NULL,
            review TEXT,
            draft INTEGER NOT NULL,
            mine INTEGER NOT NULL,
            review_requested INTEGER NOT NULL,
            PRIMARY KEY (repo, number)
        ) WITHOUT ROWID""",
        """CREATE TABLE sync_state (
            repo TEXT PRIMARY KEY,
            watermark TEXT,
            etag TEXT,
            synced_at TEXT,
            rate_remaining INTEGER,
            rate_reset INTEGER,
            status_at TEXT
        )""",
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        # Full-text search over title and body. Items enter it once per sync pass
        # (Store.index_pending) rather than once per page: one bulk insert costs a tenth of a
        # hundred small ones. `indexed` = 0 marks the items not in it yet.
        """CREATE VIRTUAL TABLE items_fts USING fts5(
            title, body, content='items', content_rowid='id'
        )""",
        "CREATE INDEX items_unindexed ON items (id) WHERE indexed = 0",
    ),
    (
        # The TUI's lists: open issues or PRs, newest update first, a page at a time, with the
        # filtered count. Walking this index stops after a page and counts without reading
        # items (bodies and all); 20,000 items: 30 ms -> 4 ms a page (docs/benchmarks.md).
        "CREATE INDEX items_lists ON items (is_pr, state, updated_at DESC, repo)",
    ),
    (
        # What blocks a PR (issue 17): the head commit's checks, the reviews, the unresolved
        # threads, the comments since the last push and whether it merges, per PR of the
        # status search; replaced with each search, like pr_status.
        "ALTER TABLE pr_status ADD COLUMN mergeable TEXT",
        "ALTER TABLE pr_status ADD COLUMN last_push TEXT",
        "ALTER TABLE pr_status ADD COLUMN head_sha TEXT",
        "ALTER TABLE pr_status ADD COLUMN updated_at TEXT",
        "ALTER TABLE pr_status ADD COLUMN labels TEXT",
        "ALTER TABLE pr_status ADD COLUMN checks_total INTEGER",
        "ALTER TABLE pr_status ADD COLUMN threads_total INTEGER",
        """CREATE TABLE pr_checks (
            repo TEXT NOT NULL,
            number INTEGER NOT NULL,
            name TEXT NOT NULL,
            workflow TEXT,
            conclusion TEXT,
            status TEXT NOT NULL,
            url TEXT,
            job_id INTEGER,
            run_id INTEGER,
            completed_at TEXT
        )""",
        "CREATE INDEX pr_checks_pr ON pr_checks (repo, number)",
        """CREATE TABLE pr_reviews (
            repo TEXT NOT NULL,
            number INTEGER NOT NULL,
            author TEXT,
            state TEXT NOT NULL,
            submitted_at TEXT,
            url TEXT
        )""",
        "CREATE INDEX pr_reviews_pr ON pr_reviews (repo, number)",
        """CREATE TABLE pr_threads (
            repo TEXT NOT NULL,
            number INTEGER NOT NULL,
            path TEXT NOT NULL,
            line INTEGER,
            outdated INTEGER NOT NULL,
            author TEXT,
            body TEXT NOT NULL,
            created_at TEXT NOT NULL,
            url TEXT,
            comments INTEGER NOT NULL
        )""",
        "CREATE INDEX pr_threads_pr ON pr_threads (repo, number)",
        """CREATE TABLE pr_comments (
            repo TEXT NOT NULL,
            number INTEGER NOT NULL,
            author TEXT,
            body TEXT NOT NULL,
            created_at TEXT NOT NULL,
            url TEXT
        )""",
        "CREATE INDEX pr_comments_pr ON pr_comments (repo, number)",
        # Failing jobs' logs fetched on demand: the file (gzip) under <home>/logs and what was
        # pulled out of it, so the blocking list names the failing test offline.
        """CREATE TABLE job_logs (
            repo TEXT NOT NULL,
            job_id INTEGER NOT NULL,
            check_name TEXT NOT NULL,
            fetched_at TEXT NOT NULL,
            path TEXT NOT NULL,
            bytes INTEGER NOT NULL,
            first_error TEXT,
            error_block TEXT NOT NULL,
            PRIMARY KEY (repo, job_id)
        ) WITHOUT ROWID""",
        # GitHub notifications of the tracked repositories; `unread` follows the last full list.
        """CREATE TABLE notifications (
            id TEXT PRIMARY KEY,
            repo TEXT NOT NULL,
            reason TEXT NOT NULL,
            subject_type TEXT NOT NULL,
            title TEXT NOT NULL,
            number INTEGER,
            url TEXT,
            updated_at TEXT NOT NULL,
            unread INTEGER NOT NULL,
            last_read_at TEXT
        ) WITHOUT ROWID""",
        "CREATE INDEX notifications_updated ON notifications (unread, updated_at DESC)",
    ),
    (
        # Is this red check mine (issue 25): each own PR's merge base, and the checks of that
        # commit, kept per commit so that PRs sharing a base cost one read; for a PR's head,
        # the jobs that passed in some attempt and Dr.CI's summary. Kept across status
        # searches: a commit's finished checks do not change.
        "ALTER TABLE pr_status ADD COLUMN base_ref TEXT",
        """CREATE TABLE pr_bases (
            repo TEXT NOT NULL,
            head_sha TEXT NOT NULL,
            base_ref TEXT NOT NULL,
            sha TEXT,
            problem TEXT,
            read_at TEXT NOT NULL,
            PRIMARY KEY (repo, head_sha, base_ref)
        ) WITHOUT ROWID""",
        """CREATE TABLE commit_reads (
            repo TEXT NOT NULL,
            sha TEXT NOT NULL,
            kind TEXT NOT NULL,
            read_at TEXT NOT NULL,
            state TEXT,
            checks_total INTEGER NOT NULL,
            problem TEXT,
            passed TEXT NOT NULL,
            drci TEXT,
            seen TEXT NOT NULL,
            PRIMARY KEY (repo, sha, kind)
        ) WITHOUT ROWID""",
        """CREATE TABLE commit_checks (
            repo TEXT NOT NULL,
            sha TEXT NOT NULL,
            name TEXT NOT NULL,
            workflow TEXT,
            conclusion TEXT,
            status TEXT NOT NULL,
            url TEXT,
            job_id INTEGER,
            run_id INTEGER,
            completed_at TEXT
        )""",
        "CREATE INDEX commit_checks_sha ON commit_checks (repo, sha)",
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)

_ITEM_COLUMNS = (
    "repo, number, is_pr, title, body, state, author, labels, assignees, comments, "
    "created_at, updated_at, closed_at, url, draft, linked"
)


def _json_list(values: Sequence[Any]) -> str:
    return json.dumps(list(values)) if values else "[]"


def _row(item: Item) -> tuple[Any, ...]:
    """``item`` as the values of :data:`_ITEM_COLUMNS`."""
    return (
        item.repo,
        item.number,
        int(item.is_pull_request),
        item.title,
        item.body,
        item.state,
        item.author,
        _json_list(item.labels),
        _json_list(item.assignees),
        item.comments,
        item.created_at,
        item.updated_at,
        item.closed_at,
        item.url,
        None if item.draft is None else int(item.draft),
        _json_list(item.linked_issues),
    )


def now_utc() -> str:
    return stamp(datetime.now(UTC))


def store_path(ws: Workspace) -> Path:
    return ws.home / DB_FILE


_DETAILS: tuple[tuple[str, str, type], ...] = (
    ("pr_checks", "checks", CiCheck),
    ("pr_reviews", "reviews", Review),
    ("pr_threads", "threads", Thread),
    ("pr_comments", "comments", Comment),
)
"""What blocks a PR, one table each: (table, the PrStatus field, its type); the table's columns
are repo, number and the type's fields, in order."""
_DETAIL_TABLES = tuple(t for t, _, _ in _DETAILS)
_JOB_LOG_COLUMNS = "repo, job_id, check_name, fetched_at, path, bytes, first_error, error_block"


@dataclass(frozen=True)
class StoredJobLog:
    """A failing job's log as stored: the file and what was pulled out of it."""

    repo: str
    job_id: int
    check_name: str
    fetched_at: str
    path: str
    """The gzip file, relative to the workbench home (``logs/OWNER/REPO/JOB.log.gz``)."""
    bytes: int
    """Size of the log before compression."""
    first_error: str | None
    """The first line of the first error block: what the blocking list shows."""
    error_block: str
    """The first error block (failing tests and their assertion, compiler errors, or the last
    traceback); empty when none was found."""


@dataclass(frozen=True)
class SyncState:
    """Where the last complete sync pass of one repository left off."""

    repo: str
    watermark: str | None
    """The newest ``updated_at`` stored by a complete pass: later syncs fetch from here."""
    etag: str | None
    """ETag of the first page of the updated-first list, for a conditional request."""
    synced_at: str | None
    """When a pass last completed or was confirmed unchanged; None: never fully synced."""
    rate_remaining: int | None
    rate_reset: int | None
    status_at: str | None
    """When CI and review state were last fetched for this repository."""


@dataclass(frozen=True)
class TrackedItem:
    """An item as the CLI and the TUI show it: the issue or PR and, for PRs, CI and review."""

    item: Item
    ci: str | None
    review: str | None
    review_requested: bool
    mine: bool

    def to_json(self) -> dict[str, Any]:
        i = self.item
        out: dict[str, Any] = {
            "repo": i.repo,
            "number": i.number,
            "title": i.title,
            "state": i.state,
            "labels": list(i.labels),
            "is_pull_request": i.is_pull_request,
            "author": i.author,
            "assignees": list(i.assignees),
            "comments": i.comments,
            "created_at": i.created_at,
            "updated_at": i.updated_at,
            "closed_at": i.closed_at,
            "url": i.url,
        }
        if i.is_pull_request:
            out |= {
                "draft": i.draft,
                "ci": self.ci,
                "review": self.review,
                "review_requested": self.review_requested,
                "mine": self.mine,
                "linked_issues": list(i.linked_issues),
            }
        return out


@dataclass(frozen=True)
class ItemQuery:
    """What to list; every filter given must hold. Results come newest update first."""

    repos: tuple[str, ...] = ()
    """Repository slugs; empty: all."""
    pull_requests: bool | None = None
    """True: PRs only; False: issues only; None: both."""
    states: tuple[str, ...] = ("open",)
    """Any of ``open``, ``closed``, ``merged``; empty: all."""
    labels: tuple[str, ...] = ()
    """Labels that must all be present (case-insensitive)."""
    newcomer: Mapping[str, tuple[str, ...]] | None = None
    """Repository slug -> its newcomer labels; an item needs one of its repository's."""
    unassigned: bool = False
    search: str | None = None
    """Words matched against title and body (prefixes), or ``#N`` / ``N`` for a number."""
    mine: bool = False
    review_requested: bool = False
    limit: int | None = None
    offset: int = 0
    """Rows to skip before the first one returned (paging, with ``limit``)."""


class Store:
    """One connection to the store; use one per thread."""

    def __init__(self, path: Path, *, create: bool = True):
        self.path = path
        if not create and not path.exists():
            raise NotSynced(
                f"nothing synced yet ({path.name} does not exist)",
                "run: workbench sync",
            )
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            self._db.execute("PRAGMA journal_mode = WAL")
            # WAL + NORMAL survives a killed process; only a power cut may lose the last commit.
            self._db.execute("PRAGMA synchronous = NORMAL")
            self._db.execute("PRAGMA foreign_keys = ON")
            self._migrate()
        except sqlite3.DatabaseError as exc:
            raise UsageError(
                f"cannot open the GitHub store {path}: {exc}",
                "move the file away; the next `workbench sync` rebuilds it",
            ) from None

    @classmethod
    def open(cls, ws: Workspace, *, create: bool = True) -> Store:
        return cls(store_path(ws), create=create)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        # IMMEDIATE takes the write lock up front, so a busy store waits here (busy_timeout)
        # instead of failing half-way through the transaction.
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise UsageError(
                f"{self.path} has schema {version}; this workbench knows up to {SCHEMA_VERSION}",
                "update the workbench, or move the file away to rebuild it with `workbench sync`",
            )
        with self._write() as db:
            # Read again under the lock: another process may have migrated meanwhile.
            version = db.execute("PRAGMA user_version").fetchone()[0]
            for step in MIGRATIONS[version:]:
                for statement in step:
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @property
    def schema_version(self) -> int:
        return self._db.execute("PRAGMA user_version").fetchone()[0]

    # --- writes ----------------------------------------------------------------------------------

    def upsert_items(self, items: Sequence[Item]) -> tuple[int, int]:
        """Store ``items`` in one transaction; returns (new, updated). Older copies are skipped."""
        latest: dict[tuple[str, int], Item] = {}
        for item in items:
            key = (item.repo, item.number)
            if key not in latest or item.updated_at >= latest[key].updated_at:
                latest[key] = item
        if not latest:
            return 0, 0
        with self._write() as db:
            known = self._ids(db, latest)
            inserts, updates, replaced = [], [], []
            updated = 0
            for key, item in list(latest.items()):
                row = _row(item)
                old = known.get(key)
                if old is None:
                    inserts.append(row)
                elif item.updated_at < old[1]:
                    del latest[key]  # GitHub's list was read before a change we already have
                else:
                    updated += item.updated_at > old[1]
                    updates.append((*row[2:], old[0]))
                    replaced.append((old[0], item.repo, item.number))
            self._unindex_changed(db, replaced, latest)
            marks = ",".join("?" * len(_ITEM_COLUMNS.split(",")))
            db.executemany(f"INSERT INTO items ({_ITEM_COLUMNS}) VALUES ({marks})", inserts)
            db.executemany(
                "UPDATE items SET is_pr=?, title=?, body=?, state=?, author=?, labels=?, "
                "assignees=?, comments=?, created_at=?, updated_at=?, closed_at=?, url=?, "
                "draft=?, linked=? WHERE id=?",
                updates,
            )
            db.executemany("DELETE FROM item_labels WHERE item_id = ?", [(r[0],) for r in replaced])
            db.executemany("DELETE FROM links WHERE repo = ? AND pr = ?", [r[1:] for r in replaced])
            if inserts:
                known.update(self._ids(db, {(r[0], r[1]) for r in inserts}))
            db.executemany(
                "INSERT OR IGNORE INTO item_labels (item_id, name) VALUES (?, ?)",
                [(known[k][0], name) for k, i in latest.items() for name in i.labels],
            )
            db.executemany(
                "INSERT OR IGNORE INTO links (repo, issue, pr) VALUES (?, ?, ?)",
                [(i.repo, n, i.number) for i in latest.values() for n in i.linked_issues],
            )
        return len(inserts), updated

    @staticmethod
    def _unindex_changed(
        db: sqlite3.Connection,
        replaced: list[tuple[int, str, int]],
        latest: Mapping[tuple[str, int], Item],
    ) -> None:
        """Take items whose title or body changes out of the search index, until index_pending."""
        if not replaced:
            return
        by_id = {r[0]: latest[(r[1], r[2])] for r in replaced}
        rows = db.execute(
            "SELECT id, title, body FROM items WHERE indexed = 1 "
            f"AND id IN ({','.join('?' * len(by_id))})",
            tuple(by_id),
        ).fetchall()
        stale = [r for r in rows if (r[1], r[2]) != (by_id[r[0]].title, by_id[r[0]].body)]
        # An external-content index forgets a row only when told its old text.
        db.executemany(
            "INSERT INTO items_fts (items_fts, rowid, title, body) VALUES ('delete', ?, ?, ?)",
            stale,
        )
        db.executemany("UPDATE items SET indexed = 0 WHERE id = ?", [(r[0],) for r in stale])

    def index_pending(self) -> int:
        """Add the items stored since the last call to the search index; returns how many."""
        with self._write() as db:
            db.execute(
                "INSERT INTO items_fts (rowid, title, body) "
                "SELECT id, title, body FROM items WHERE indexed = 0"
            )
            return db.execute("UPDATE items SET indexed = 1 WHERE indexed = 0").rowcount

    @staticmethod
    def _ids(
        db: sqlite3.Connection, keys: Iterable[tuple[str, int]]
    ) -> dict[tuple[str, int], tuple[int, str]]:
        """(repo, number) -> (id, updated_at) of the stored ones among ``keys``."""
        by_repo: dict[str, list[int]] = {}
        for repo, number in keys:
            by_repo.setdefault(repo, []).append(number)
        found = {}
        for repo, numbers in by_repo.items():
            for start in range(0, len(numbers), 500):
                chunk = numbers[start : start + 500]
                rows = db.execute(
                    "SELECT number, id, updated_at FROM items "
                    f"WHERE repo = ? AND number IN ({','.join('?' * len(chunk))})",
                    (repo, *chunk),
                )
                found.update({(repo, n): (i, u) for n, i, u in rows})
        return found

    def _upsert_state(self, db: sqlite3.Connection, repo: str, **values: Any) -> None:
        cols = ", ".join(values)
        marks = ", ".join("?" * len(values))
        sets = ", ".join(f"{c} = excluded.{c}" for c in values)
        db.execute(
            f"INSERT INTO sync_state (repo, {cols}) VALUES (?, {marks}) "
            f"ON CONFLICT (repo) DO UPDATE SET {sets}",
            (repo, *values.values()),
        )

    def finish_pass(
        self,
        repo: str,
        *,
        watermark: str | None,
        etag: str | None,
        rate_remaining: int | None,
        rate_reset: int | None,
    ) -> None:
        """Record a complete pass: only now may later syncs start from ``watermark``."""
        with self._write() as db:
            self._upsert_state(
                db,
                repo,
                watermark=watermark,
                etag=etag,
                synced_at=now_utc(),
                rate_remaining=rate_remaining,
                rate_reset=rate_reset,
            )

    def mark_unchanged(
        self, repo: str, *, rate_remaining: int | None, rate_reset: int | None
    ) -> None:
        """The conditional request said 304: the store is current as of now."""
        with self._write() as db:
            self._upsert_state(
                db, repo, synced_at=now_utc(), rate_remaining=rate_remaining, rate_reset=rate_reset
            )

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
            for table in ("pr_status", *_DETAIL_TABLES):
                db.execute(f"DELETE FROM {table} WHERE repo IN ({marks})", tuple(repos))
            db.executemany(
                "INSERT INTO pr_status (repo, number, ci, review, draft, mine, review_requested, "
                "mergeable, last_push, head_sha, updated_at, labels, checks_total, threads_total, "
                "base_ref) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
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
                        _json_list(s.labels),
                        s.checks_total,
                        s.threads_total,
                        s.base_ref,
                    )
                    for s in rows
                ],
            )
            for table, attr, kind in _DETAILS:
                names = [f.name for f in fields(kind)]
                db.executemany(
                    f"INSERT INTO {table} (repo, number, {', '.join(names)}) "
                    f"VALUES ({', '.join('?' * (len(names) + 2))})",
                    [(s.repo, s.number, *astuple(x)) for s in rows for x in getattr(s, attr)],
                )
            at = now_utc()
            for repo in repos:
                self._upsert_state(db, repo, status_at=at)
            db.execute(
                "INSERT INTO meta (key, value) VALUES ('viewer', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (viewer,),
            )

    def save_job_log(self, log: StoredJobLog) -> None:
        """Record a job's log, fetched and stored at ``log.path`` (relative to the home)."""
        with self._write() as db:
            db.execute(
                "INSERT INTO job_logs (repo, job_id, check_name, fetched_at, path, bytes, "
                "first_error, error_block) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (repo, job_id) DO UPDATE SET check_name = excluded.check_name, "
                "fetched_at = excluded.fetched_at, path = excluded.path, bytes = excluded.bytes, "
                "first_error = excluded.first_error, error_block = excluded.error_block",
                (
                    log.repo,
                    log.job_id,
                    log.check_name,
                    log.fetched_at,
                    log.path,
                    log.bytes,
                    log.first_error,
                    log.error_block,
                ),
            )

    # --- reads -----------------------------------------------------------------------------------

    def sync_state(self, repo: str) -> SyncState | None:
        row = self._db.execute(
            "SELECT repo, watermark, etag, synced_at, rate_remaining, rate_reset, status_at "
            "FROM sync_state WHERE repo = ?",
            (repo,),
        ).fetchone()
        return SyncState(*row) if row else None

    def last_synced(self, repos: Sequence[str] = ()) -> str | None:
        """When the store was last brought up to date (for ``repos``, or any)."""
        sql = "SELECT max(synced_at) FROM sync_state"
        if repos:
            sql += f" WHERE repo IN ({','.join('?' * len(repos))})"
        return self._db.execute(sql, tuple(repos)).fetchone()[0]

    def viewer(self) -> str | None:
        """The login of the token's user, learnt by the last status refresh."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'viewer'").fetchone()
        return row[0] if row else None

    def status_due(self, repos: Sequence[str], max_age: timedelta) -> bool:
        """Whether CI/review state should be fetched again even though no list changed."""
        marks = ",".join("?" * len(repos))
        oldest = self._db.execute(
            f"SELECT count(*), min(coalesce(status_at, '')) FROM sync_state WHERE repo IN ({marks})",
            tuple(repos),
        ).fetchone()
        cutoff = stamp(datetime.now(UTC) - max_age)
        if oldest[0] < len(repos) or oldest[1] < cutoff:
            return True
        # Checks finish without the PR changing, so a pending PR is worth asking about again.
        pending = self._db.execute(
            f"SELECT 1 FROM pr_status WHERE ci = 'pending' AND repo IN ({marks}) LIMIT 1",
            tuple(repos),
        ).fetchone()
        return pending is not None

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

            def rows(sql: str, cond: str = cond, args: list[Any] = args) -> list[tuple[Any, ...]]:
                return self._db.execute(f"{sql} WHERE {cond}", args).fetchall()

            extra: dict[str, dict[tuple[str, int], list[Any]]] = {}
            for table, attr, kind in _DETAILS:
                names = [f.name for f in fields(kind)]
                found = extra.setdefault(attr, {})
                # In the order GitHub gave them (the row id: these tables keep it).
                sql = f"SELECT repo, number, {', '.join(names)} FROM {table}"
                for r in rows(sql, cond + " ORDER BY rowid"):
                    values = dict(zip(names, r[2:], strict=True))
                    if "outdated" in values:
                        values["outdated"] = bool(values["outdated"])
                    found.setdefault((r[0], r[1]), []).append(kind(**values))
            for r in rows(
                "SELECT repo, number, ci, review, draft, mine, review_requested, mergeable, "
                "last_push, head_sha, updated_at, labels, checks_total, threads_total, base_ref "
                "FROM pr_status"
            ):
                key = (r[0], r[1])
                checks = tuple(extra["checks"].get(key, ()))
                threads = tuple(extra["threads"].get(key, ()))
                out[key] = PrStatus(
                    repo=r[0],
                    number=r[1],
                    ci=r[2],
                    review=r[3],
                    draft=bool(r[4]),
                    mine=bool(r[5]),
                    review_requested=bool(r[6]),
                    mergeable=r[7],
                    last_push=r[8],
                    head_sha=r[9],
                    updated_at=r[10],
                    labels=tuple(json.loads(r[11] or "[]")),
                    checks=checks,
                    checks_total=r[12] if r[12] is not None else len(checks),
                    reviews=tuple(extra["reviews"].get(key, ())),
                    threads=threads,
                    threads_total=r[13] if r[13] is not None else len(threads),
                    comments=tuple(extra["comments"].get(key, ())),
                    base_ref=r[14],
                )
        return out

    # --- merge bases and the checks of commits (issue 25) ---------------------------------------

    def own_pr_keys(self, repos: Sequence[str]) -> list[tuple[str, int]]:
        """(repo, number) of the contributor's PRs in the last status search of ``repos``."""
        if not repos:
            return []
        rows = self._db.execute(
            "SELECT repo, number FROM pr_status WHERE mine = 1 "
            f"AND repo IN ({','.join('?' * len(repos))}) ORDER BY repo, number",
            tuple(repos),
        )
        return [(r[0], r[1]) for r in rows]

    def save_merge_base(self, base: MergeBase) -> None:
        with self._write() as db:
            db.execute(
                "INSERT INTO pr_bases (repo, head_sha, base_ref, sha, problem, read_at) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (repo, head_sha, base_ref) DO UPDATE SET "
                "sha = excluded.sha, problem = excluded.problem, read_at = excluded.read_at",
                astuple(base),
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
                out[(repo, head, ref)] = MergeBase(*row)
        return out

    def save_commit_checks(self, read: CommitChecks) -> None:
        """Record what a commit's checks said; a base's checks replace those read before."""
        names = [f.name for f in fields(CiCheck)]
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
                    _json_list(read.passed),
                    read.drci,
                    _json_list(read.seen),
                ),
            )
            if read.kind == "base":
                db.execute(
                    "DELETE FROM commit_checks WHERE repo = ? AND sha = ?", (read.repo, read.sha)
                )
                db.executemany(
                    f"INSERT INTO commit_checks (repo, sha, {', '.join(names)}) "
                    f"VALUES ({', '.join('?' * (len(names) + 2))})",
                    [(read.repo, read.sha, *astuple(c)) for c in read.checks],
                )

    def commit_checks(
        self, keys: Iterable[tuple[str, str, str]]
    ) -> dict[tuple[str, str, str], CommitChecks]:
        """The stored reads among ``keys`` (repo, sha, kind), a base's with its checks."""
        names = [f.name for f in fields(CiCheck)]
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
                    CiCheck(*r)
                    for r in self._db.execute(
                        f"SELECT {', '.join(names)} FROM commit_checks "
                        "WHERE repo = ? AND sha = ? ORDER BY rowid",
                        (repo, sha),
                    )
                )
            out[(repo, sha, kind)] = CommitChecks(
                repo=repo,
                sha=sha,
                kind=kind,
                read_at=row[0],
                state=row[1],
                checks=checks,
                checks_total=row[2],
                problem=row[3],
                passed=tuple(json.loads(row[4])),
                drci=row[5],
                seen=tuple(json.loads(row[6])),
            )
        return out

    def set_meta(self, key: str, value: str | None) -> None:
        """Keep (or, with None, forget) one fact of the store's own (``meta``)."""
        with self._write() as db:
            if value is None:
                db.execute("DELETE FROM meta WHERE key = ?", (key,))
            else:
                db.execute(
                    "INSERT INTO meta (key, value) VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (key, value),
                )

    def meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def flaky_issues(self, repos: Sequence[str]) -> list[Item]:
        """Open issues of ``repos`` that mark tests or jobs as flaky: titled ``DISABLED ...`` or
        ``UNSTABLE ...`` (PyTorch's bots' form), or with a label that says flaky."""
        if not repos:
            return []
        marks = ",".join("?" * len(repos))
        ids = [
            r[0]
            for r in self._db.execute(
                f"SELECT i.id FROM items i WHERE i.repo IN ({marks}) AND i.is_pr = 0 "
                "AND i.state = 'open' AND (i.title LIKE 'DISABLED %' OR i.title LIKE 'UNSTABLE %' "
                "OR EXISTS (SELECT 1 FROM item_labels l WHERE l.item_id = i.id "
                "AND l.name LIKE '%flaky%'))",
                tuple(repos),
            )
        ]
        if not ids:
            return []
        return [
            t.item
            for start in range(0, len(ids), 400)
            for t in self._select(
                [f"i.id IN ({','.join('?' * len(ids[start : start + 400]))})"],
                list(ids[start : start + 400]),
            )
        ]

    def job_log(self, repo: str, job_id: int) -> StoredJobLog | None:
        row = self._db.execute(
            f"SELECT {_JOB_LOG_COLUMNS} FROM job_logs WHERE repo = ? AND job_id = ?",
            (repo, job_id),
        ).fetchone()
        return StoredJobLog(*row) if row else None

    def job_logs(self, repo: str, job_ids: Iterable[int]) -> dict[int, StoredJobLog]:
        """The stored logs among ``job_ids`` of ``repo``, by job id."""
        ids = list(job_ids)
        if not ids:
            return {}
        rows = self._db.execute(
            f"SELECT {_JOB_LOG_COLUMNS} FROM job_logs "
            f"WHERE repo = ? AND job_id IN ({','.join('?' * len(ids))})",
            (repo, *ids),
        )
        return {r[1]: StoredJobLog(*r) for r in rows}

    def count(self, repo: str | None = None) -> int:
        if repo is None:
            return self._db.execute("SELECT count(*) FROM items").fetchone()[0]
        return self._db.execute("SELECT count(*) FROM items WHERE repo = ?", (repo,)).fetchone()[0]

    def item(self, repo: str, number: int) -> TrackedItem | None:
        found = self._select(["i.repo = ?", "i.number = ?"], [repo, number])
        return found[0] if found else None

    def linked_prs(self, repo: str, issue: int) -> list[int]:
        """PRs that say they close ``issue``."""
        rows = self._db.execute(
            "SELECT pr FROM links WHERE repo = ? AND issue = ? ORDER BY pr", (repo, issue)
        )
        return [r[0] for r in rows]

    def query(self, q: ItemQuery) -> list[TrackedItem]:
        where, args = self._where(q)
        return self._select(where, args, q.limit, q.offset)

    def count_matching(self, q: ItemQuery) -> int:
        """How many items :meth:`query` would return without ``limit`` and ``offset``."""
        where, args = self._where(q)
        sql = "SELECT count(*) FROM items i"
        if q.mine or q.review_requested:
            sql += " LEFT JOIN pr_status s ON s.repo = i.repo AND s.number = i.number"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return self._db.execute(sql, args).fetchone()[0]

    def label_counts(self, q: ItemQuery, limit: int = 20) -> list[tuple[str, int]]:
        """The labels of the items matching ``q`` with how many carry each, most used first."""
        where, args = self._where(q)
        sql = (
            "SELECT l.name, count(*) AS n FROM items i "
            "JOIN item_labels l ON l.item_id = i.id "
            "LEFT JOIN pr_status s ON s.repo = i.repo AND s.number = i.number"
        )
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " GROUP BY l.name ORDER BY n DESC, l.name LIMIT ?"
        return [(r[0], r[1]) for r in self._db.execute(sql, [*args, limit])]

    def _where(self, q: ItemQuery) -> tuple[list[str], list[Any]]:
        where: list[str] = []
        args: list[Any] = []
        if q.repos:
            where.append(f"i.repo IN ({','.join('?' * len(q.repos))})")
            args.extend(q.repos)
        if q.pull_requests is not None:
            where.append("i.is_pr = ?")
            args.append(int(q.pull_requests))
        if q.states:
            where.append(f"i.state IN ({','.join('?' * len(q.states))})")
            args.extend(q.states)
        for label in q.labels:
            where.append(
                "EXISTS (SELECT 1 FROM item_labels l WHERE l.item_id = i.id AND l.name = ?)"
            )
            args.append(label)
        if q.newcomer is not None:
            ors = []
            for repo, names in q.newcomer.items():
                if names:
                    ors.append(
                        "(i.repo = ? AND EXISTS (SELECT 1 FROM item_labels l "
                        f"WHERE l.item_id = i.id AND l.name IN ({','.join('?' * len(names))})))"
                    )
                    args.extend((repo, *names))
            where.append("(" + (" OR ".join(ors) or "0") + ")")
        if q.unassigned:
            where.append("i.assignees = '[]'")
        if q.search:
            # Words as FTS5's tokenizer cuts them: letters and digits (so `_` splits, too).
            words = re.findall(r"[^\W_]+", q.search)
            if words:
                # Stored but not yet indexed (a sync is under way): each word, anywhere.
                like = " AND ".join("(title LIKE ? OR body LIKE ?)" for _ in words)
                # Two id lists, so that neither side scans every item: the index's matches,
                # and the unindexed items (the partial index items_unindexed) that match.
                text = (
                    "(i.id IN (SELECT rowid FROM items_fts WHERE items_fts MATCH ?)"
                    f" OR i.id IN (SELECT id FROM items WHERE indexed = 0 AND {like}))"
                )
                text_args: list[Any] = [" ".join(f'"{w}"*' for w in words)]
                for w in words:  # no % or _ in a word: nothing to escape
                    text_args += [f"%{w}%", f"%{w}%"]
                number = re.fullmatch(r"#?(\d+)", q.search.strip())
                if number:
                    text = f"(i.number = ? OR {text})"
                    text_args.insert(0, int(number[1]))
                where.append(text)
                args.extend(text_args)
        if q.mine:
            viewer = self.viewer()
            if viewer is None:
                raise NotSynced(
                    "who you are on GitHub is not known yet",
                    "sync once with a token: GH_TOKEN=... workbench sync",
                )
            where.append("(i.author = ? COLLATE NOCASE OR s.mine = 1)")
            args.append(viewer)
        if q.review_requested:
            where.append("s.review_requested = 1")
        return where, args

    def _select(
        self, where: list[str], args: list[Any], limit: int | None = None, offset: int = 0
    ) -> list[TrackedItem]:
        sql = (
            f"SELECT {', '.join('i.' + c.strip() for c in _ITEM_COLUMNS.split(','))}, "
            "s.ci, s.review, s.review_requested, s.mine, s.draft "
            "FROM items i LEFT JOIN pr_status s ON s.repo = i.repo AND s.number = i.number"
        )
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY i.updated_at DESC, i.repo, i.number DESC"
        if limit:
            sql += " LIMIT ?"
            args.append(limit)
            if offset:
                sql += " OFFSET ?"
                args.append(offset)
        return [_tracked(row) for row in self._db.execute(sql, args)]

    # --- notifications ---------------------------------------------------------------------------

    def upsert_notifications(self, threads: Sequence[Notification]) -> int:
        """Store threads of a notifications list as GitHub sent them; returns how many are new."""
        with self._write() as db:
            ids = [t.id for t in threads]
            known = {
                r[0]
                for start in range(0, len(ids), 400)
                for r in db.execute(
                    "SELECT id FROM notifications WHERE id IN "
                    f"({','.join('?' * len(ids[start : start + 400]))})",
                    ids[start : start + 400],
                )
            }
            db.executemany(
                f"INSERT INTO notifications ({_NOTIFICATION_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET repo = excluded.repo, reason = excluded.reason, "
                "subject_type = excluded.subject_type, title = excluded.title, "
                "number = excluded.number, url = excluded.url, "
                "updated_at = excluded.updated_at, unread = excluded.unread, "
                "last_read_at = excluded.last_read_at",
                [
                    (
                        t.id,
                        t.repo,
                        t.reason,
                        t.subject_type,
                        t.title,
                        t.number,
                        t.url,
                        t.updated_at,
                        int(t.unread),
                        t.last_read_at,
                    )
                    for t in threads
                ],
            )
        return len(set(ids) - known)

    def finish_notifications(
        self, repos: Sequence[str], listed: Iterable[str], poll: NotificationPoll
    ) -> int:
        """After a complete list of the unread threads (a 200): the threads of ``repos`` stored
        as unread that it no longer holds were read elsewhere. Saves ``poll``; returns how many
        were marked read."""
        listed = set(listed)
        with self._write() as db:
            marks = ",".join("?" * len(repos))
            stale = [
                r[0]
                for r in db.execute(
                    f"SELECT id FROM notifications WHERE unread = 1 AND repo IN ({marks})",
                    tuple(repos),
                )
                if r[0] not in listed
            ]
            db.executemany(
                "UPDATE notifications SET unread = 0 WHERE id = ?", [(i,) for i in stale]
            )
            self._save_poll(db, poll)
        return len(stale)

    def save_notification_poll(self, poll: NotificationPoll) -> None:
        """Record a check that changed no thread: a 304, or the API refusing (``unavailable``)."""
        with self._write() as db:
            self._save_poll(db, poll)

    def _save_poll(self, db: sqlite3.Connection, poll: NotificationPoll) -> None:
        db.execute(
            "INSERT INTO meta (key, value) VALUES ('notifications', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (json.dumps(poll.to_json()),),
        )

    def notification_poll(self) -> NotificationPoll:
        """Where polling the notifications stands; all None before the first check."""
        row = self._db.execute("SELECT value FROM meta WHERE key = 'notifications'").fetchone()
        return NotificationPoll.from_json(row[0] if row else None)

    def mark_notification_read(self, thread_id: str, at: str) -> bool:
        """Mark one thread read here (after GitHub was told); False if it is not stored."""
        with self._write() as db:
            cur = db.execute(
                "UPDATE notifications SET unread = 0, last_read_at = ? WHERE id = ?",
                (at, thread_id),
            )
        return cur.rowcount > 0

    def notifications(
        self, repos: Sequence[str] = (), *, unread_only: bool = True, limit: int | None = None
    ) -> list[Notification]:
        """Stored threads of ``repos`` (empty: all), newest update first."""
        where: list[str] = []
        args: list[Any] = []
        if repos:
            where.append(f"repo IN ({','.join('?' * len(repos))})")
            args.extend(repos)
        if unread_only:
            where.append("unread = 1")
        sql = f"SELECT {_NOTIFICATION_COLUMNS} FROM notifications"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY updated_at DESC, id DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [_notification(r) for r in self._db.execute(sql, args)]

    def notification(self, thread_id: str) -> Notification | None:
        row = self._db.execute(
            f"SELECT {_NOTIFICATION_COLUMNS} FROM notifications WHERE id = ?", (thread_id,)
        ).fetchone()
        return _notification(row) if row else None


_NOTIFICATION_COLUMNS = (
    "id, repo, reason, subject_type, title, number, url, updated_at, unread, last_read_at"
)


def _notification(row: tuple[Any, ...]) -> Notification:
    return Notification(
        id=row[0],
        repo=row[1],
        reason=row[2],
        subject_type=row[3],
        title=row[4],
        number=row[5],
        url=row[6],
        updated_at=row[7],
        unread=bool(row[8]),
        last_read_at=row[9],
    )


@dataclass(frozen=True)
class NotificationPoll:
    """Where polling ``GET /notifications`` stands (kept in ``meta``)."""

    checked_at: str | None = None
    """When GitHub was last asked (answered 200, 304 or refused)."""
    last_modified: str | None = None
    """``Last-Modified`` of the last complete list: sent as ``If-Modified-Since``."""
    poll_interval: int | None = None
    """``X-Poll-Interval``: seconds GitHub wants between two polls."""
    repos: tuple[str, ...] = ()
    """The repositories the last complete list was stored for; another set asks anew."""
    unavailable: str | None = None
    """Why the API refused at ``checked_at`` (e.g. a fine-grained token); None when it answered."""

    def to_json(self) -> dict[str, Any]:
        return {
            "checked_at": self.checked_at,
            "last_modified": self.last_modified,
            "poll_interval": self.poll_interval,
            "repos": list(self.repos),
            "unavailable": self.unavailable,
        }

    @classmethod
    def from_json(cls, text: str | None) -> NotificationPoll:
        try:
            raw = json.loads(text) if text else {}
        except ValueError:
            raw = {}
        if not isinstance(raw, dict):
            raw = {}

        def text_(key: str) -> str | None:
            value = raw.get(key)
            return value if isinstance(value, str) else None

        interval = raw.get("poll_interval")
        repos = raw.get("repos")
        return cls(
            checked_at=text_("checked_at"),
            last_modified=text_("last_modified"),
            poll_interval=interval if isinstance(interval, int) else None,
            repos=tuple(r for r in repos if isinstance(r, str)) if isinstance(repos, list) else (),
            unavailable=text_("unavailable"),
        )


def _tracked(row: tuple[Any, ...]) -> TrackedItem:
    is_pr = bool(row[2])
    draft = row[14] if row[20] is None else row[20]
    item = Item(
        repo=row[0],
        number=row[1],
        is_pull_request=is_pr,
        title=row[3],
        body=row[4],
        state=row[5],
        author=row[6],
        labels=tuple(json.loads(row[7])),
        assignees=tuple(json.loads(row[8])),
        comments=row[9],
        created_at=row[10],
        updated_at=row[11],
        closed_at=row[12],
        url=row[13],
        draft=None if draft is None else bool(draft),
        linked_issues=tuple(json.loads(row[15])),
    )
    return TrackedItem(
        item=item,
        ci=row[16] if is_pr else None,
        review=row[17],
        review_requested=bool(row[18]),
        mine=bool(row[19]),
    )
