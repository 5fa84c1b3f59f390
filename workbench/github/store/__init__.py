"""The tracker's local store: SQLite at ``<home>/github.db``, readable offline.

WAL mode and a busy timeout let a TUI read while a sync writes. Every write is one short
``BEGIN IMMEDIATE`` transaction, so a process killed at any point leaves the last committed state.

One :class:`Store` holds the one connection; its methods come in sections, a module each:
:mod:`~.schema` (the file, the migrations, the connection), :mod:`~.state` (where the syncs left
off), :mod:`~.items` (issues and PRs, lists and search), :mod:`~.pulls` (what blocks a PR),
:mod:`~.logs` (stored job logs) and :mod:`~.notifications`.
"""

from __future__ import annotations

from workbench.github.store.items import ItemQuery, ItemTables, TrackedItem
from workbench.github.store.logs import JobLogTable, StoredJobLog
from workbench.github.store.notifications import NotificationPoll, NotificationTables
from workbench.github.store.pulls import PrTables
from workbench.github.store.schema import (
    BUSY_TIMEOUT_MS,
    DB_FILE,
    MIGRATIONS,
    SCHEMA_VERSION,
    store_path,
)
from workbench.github.store.state import SyncState, now_utc


class Store(ItemTables, PrTables, JobLogTable, NotificationTables):
    """One connection to the store; use one per thread."""


__all__ = [
    "BUSY_TIMEOUT_MS",
    "DB_FILE",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "ItemQuery",
    "NotificationPoll",
    "Store",
    "StoredJobLog",
    "SyncState",
    "TrackedItem",
    "now_utc",
    "store_path",
]
