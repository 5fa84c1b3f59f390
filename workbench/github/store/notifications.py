"""The contributor's GitHub notifications as the store keeps them: the threads of the tracked
repositories, and where polling ``GET /notifications`` stands (:class:`NotificationPoll`, kept
in ``meta``). ``unread`` follows the last complete list."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from workbench.github.model import Notification
from workbench.github.store.schema import from_row
from workbench.github.store.state import SyncStateTables

_COLUMNS = ", ".join(f.name for f in fields(Notification))
"""The columns of ``notifications``: the fields of :class:`Notification`, named alike."""


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


class NotificationTables(SyncStateTables):
    """The store's ``notifications`` table and the poll's entry in ``meta``."""

    # --- writes ----------------------------------------------------------------------------------

    def upsert_notifications(self, threads: Sequence[Notification]) -> int:
        """Store threads of a notifications list as GitHub sent them; returns how many are new."""
        with self._write() as db:
            ids = [t.id for t in threads]
            known = {
                r["id"]
                for start in range(0, len(ids), 400)
                for r in db.execute(
                    "SELECT id FROM notifications WHERE id IN "
                    f"({','.join('?' * len(ids[start : start + 400]))})",
                    ids[start : start + 400],
                )
            }
            db.executemany(
                f"INSERT INTO notifications ({_COLUMNS}) "
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
                r["id"]
                for r in db.execute(
                    f"SELECT id FROM notifications WHERE unread = 1 AND repo IN ({marks})",
                    tuple(repos),
                )
                if r["id"] not in listed
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
        self._put_meta(db, "notifications", json.dumps(poll.to_json()))

    def mark_notification_read(self, thread_id: str, at: str) -> bool:
        """Mark one thread read here (after GitHub was told); False if it is not stored."""
        with self._write() as db:
            cur = db.execute(
                "UPDATE notifications SET unread = 0, last_read_at = ? WHERE id = ?",
                (at, thread_id),
            )
        return cur.rowcount > 0

    # --- reads -----------------------------------------------------------------------------------

    def notification_poll(self) -> NotificationPoll:
        """Where polling the notifications stands; all None before the first check."""
        return NotificationPoll.from_json(self.meta("notifications"))

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
        sql = f"SELECT {_COLUMNS} FROM notifications"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY updated_at DESC, id DESC"
        if limit:
            sql += f" LIMIT {int(limit)}"
        return [_notification(r) for r in self._db.execute(sql, args)]

    def notification(self, thread_id: str) -> Notification | None:
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM notifications WHERE id = ?", (thread_id,)
        ).fetchone()
        return _notification(row) if row else None


def _notification(row: sqlite3.Row) -> Notification:
    return from_row(Notification, row, unread=bool(row["unread"]))
