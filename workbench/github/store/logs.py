"""Failing jobs' logs fetched on demand, as the store records them: the gzip file under the
workbench home and what was pulled out of it, so the blocking list names the failing test
offline."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import astuple, dataclass, fields

from workbench.github.store.schema import StoreConnection, from_row


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


_COLUMNS = ", ".join(f.name for f in fields(StoredJobLog))
"""The columns of ``job_logs``: the fields of :class:`StoredJobLog`, named alike."""


class JobLogTable(StoreConnection):
    """The store's ``job_logs`` table."""

    def save_job_log(self, log: StoredJobLog) -> None:
        """Record a job's log, fetched and stored at ``log.path`` (relative to the home)."""
        with self._write() as db:
            db.execute(
                f"INSERT INTO job_logs ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (repo, job_id) DO UPDATE SET check_name = excluded.check_name, "
                "fetched_at = excluded.fetched_at, path = excluded.path, bytes = excluded.bytes, "
                "first_error = excluded.first_error, error_block = excluded.error_block",
                astuple(log),
            )

    def job_log(self, repo: str, job_id: int) -> StoredJobLog | None:
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM job_logs WHERE repo = ? AND job_id = ?",
            (repo, job_id),
        ).fetchone()
        return from_row(StoredJobLog, row) if row else None

    def job_logs(self, repo: str, job_ids: Iterable[int]) -> dict[int, StoredJobLog]:
        """The stored logs among ``job_ids`` of ``repo``, by job id."""
        ids = list(job_ids)
        if not ids:
            return {}
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM job_logs "
            f"WHERE repo = ? AND job_id IN ({','.join('?' * len(ids))})",
            (repo, *ids),
        )
        return {r["job_id"]: from_row(StoredJobLog, r) for r in rows}
