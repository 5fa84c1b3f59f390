"""Where the syncs left off: each repository's last pass (``sync_state``) and the store's own
facts (``meta``: the token's user, the notifications' poll).

The time every sync-state write stamps comes from :func:`now_utc`, looked up here, so that a
test can set the clock of the whole store in one place.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from workbench.github.model import stamp
from workbench.github.store.schema import StoreConnection, from_row


def now_utc() -> str:
    return stamp(datetime.now(UTC))


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


class SyncStateTables(StoreConnection):
    """The store's ``sync_state`` and ``meta`` tables."""

    # --- writes ----------------------------------------------------------------------------------

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

    def _status_read(self, db: sqlite3.Connection, repos: Sequence[str]) -> None:
        """Within a write: the CI and review state of ``repos`` were read now."""
        at = now_utc()
        for repo in repos:
            self._upsert_state(db, repo, status_at=at)

    def set_meta(self, key: str, value: str | None) -> None:
        """Keep (or, with None, forget) one fact of the store's own (``meta``)."""
        with self._write() as db:
            if value is None:
                db.execute("DELETE FROM meta WHERE key = ?", (key,))
            else:
                self._put_meta(db, key, value)

    @staticmethod
    def _put_meta(db: sqlite3.Connection, key: str, value: str) -> None:
        """Within a write: keep ``value`` under ``key`` in ``meta``."""
        db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    # --- reads -----------------------------------------------------------------------------------

    def sync_state(self, repo: str) -> SyncState | None:
        row = self._db.execute(
            "SELECT repo, watermark, etag, synced_at, rate_remaining, rate_reset, status_at "
            "FROM sync_state WHERE repo = ?",
            (repo,),
        ).fetchone()
        return from_row(SyncState, row) if row else None

    def last_synced(self, repos: Sequence[str] = ()) -> str | None:
        """When the store was last brought up to date (for ``repos``, or any)."""
        sql = "SELECT max(synced_at) FROM sync_state"
        if repos:
            sql += f" WHERE repo IN ({','.join('?' * len(repos))})"
        return self._value(sql, tuple(repos))

    def meta(self, key: str) -> str | None:
        return self._value("SELECT value FROM meta WHERE key = ?", (key,))

    def viewer(self) -> str | None:
        """The login of the token's user, learnt by the last status refresh."""
        return self.meta("viewer")

    def status_due(self, repos: Sequence[str], max_age: timedelta) -> bool:
        """Whether CI/review state should be fetched again even though no list changed."""
        marks = ",".join("?" * len(repos))
        oldest = self._db.execute(
            "SELECT count(*) AS known, min(coalesce(status_at, '')) AS oldest "
            f"FROM sync_state WHERE repo IN ({marks})",
            tuple(repos),
        ).fetchone()
        cutoff = stamp(datetime.now(UTC) - max_age)
        if oldest["known"] < len(repos) or oldest["oldest"] < cutoff:
            return True
        # Checks finish without the PR changing, so a pending PR is worth asking about again.
        pending = self._db.execute(
            f"SELECT 1 FROM pr_status WHERE ci = 'pending' AND repo IN ({marks}) LIMIT 1",
            tuple(repos),
        ).fetchone()
        return pending is not None
