"""The store's file and its one connection: where it lives, the schema and how a file reaches it.

The schema version lives in ``PRAGMA user_version``; :data:`MIGRATIONS` lists the steps to reach
it. :class:`StoreConnection` opens the file (WAL, a busy timeout), migrates it, and gives the
sections of :class:`~workbench.github.store.Store` the connection, its short write transactions
and rows that are read by column name.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self, TypeVar

from workbench.errors import UsageError
from workbench.github.errors import NotSynced
from workbench.paths import Workspace

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

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


def store_path(ws: Workspace) -> Path:
    return ws.home / DB_FILE


def json_list(values: Sequence[Any]) -> str:
    """A tuple of the model as the store keeps it in one column: a JSON list."""
    return json.dumps(list(values)) if values else "[]"


Record = TypeVar("Record", bound="DataclassInstance")


def from_row(kind: type[Record], row: sqlite3.Row, **converted: Any) -> Record:
    """The dataclass ``kind`` from the columns of ``row`` named as its fields; ``converted``
    gives the fields whose column holds another type (``unread=bool(row["unread"])``)."""
    values = {f.name: row[f.name] for f in fields(kind) if f.name not in converted}
    return kind(**values, **converted)


class StoreConnection:
    """The one connection every section of the store uses; one per thread."""

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
            self._db.row_factory = sqlite3.Row
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
    def open(cls, ws: Workspace, *, create: bool = True) -> Self:
        return cls(store_path(ws), create=create)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Self:
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

    def _value(self, sql: str, args: Sequence[Any] = ()) -> Any:
        """The one value of a one-column query (a count, a setting); None without a row."""
        return _value(self._db.execute(sql, args))

    def _migrate(self) -> None:
        version = self._value("PRAGMA user_version")
        if version == SCHEMA_VERSION:
            return
        if version > SCHEMA_VERSION:
            raise UsageError(
                f"{self.path} has schema {version}; this workbench knows up to {SCHEMA_VERSION}",
                "update the workbench, or move the file away to rebuild it with `workbench sync`",
            )
        with self._write() as db:
            # Read again under the lock: another process may have migrated meanwhile.
            version = _value(db.execute("PRAGMA user_version"))
            for step in MIGRATIONS[version:]:
                for statement in step:
                    db.execute(statement)
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @property
    def schema_version(self) -> int:
        return self._value("PRAGMA user_version")


def _value(cursor: sqlite3.Cursor) -> Any:
    row = cursor.fetchone()
    return row[0] if row else None
