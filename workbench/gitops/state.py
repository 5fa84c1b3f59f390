"""What the workbench remembers about a patched worktree, in ``.workbench/state/<name>.json``.

- ``base``: the commit the patched worktree was built on.
- ``synced_head``: the worktree's HEAD when it last matched ``patches/<name>/`` (after an apply or
  a refresh); a different HEAD means commits that are not in the patch files yet.
- ``series_digest``: the content of ``patches/<name>/`` at that moment; a different digest means
  the files changed since (edited by hand, or a ``git pull`` of the workbench).
- ``op``: an apply or rebase stopped on a conflict, with what ``--abort`` needs to back out.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from workbench.fsutil import atomic_write_json

SCHEMA = 1


@dataclass
class Operation:
    kind: str
    """``apply`` or ``rebase``."""
    onto: str
    before: str | None
    """HEAD of the patched worktree before the operation (None if it did not exist)."""
    old_base: str | None
    old_synced_head: str | None = None
    old_series_digest: str | None = None
    backup_ref: str | None = None


@dataclass
class SeriesState:
    base: str | None = None
    synced_head: str | None = None
    series_digest: str | None = None
    op: Operation | None = None
    extra: dict = field(default_factory=dict)


class StateStore:
    def __init__(self, path: Path):
        self.path = path

    def load(self) -> SeriesState:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return SeriesState()
        except (OSError, json.JSONDecodeError):
            # A state file we cannot read is rebuilt from git; nothing the user wrote lives here.
            return SeriesState()
        op = data.get("op")
        return SeriesState(
            base=data.get("base"),
            synced_head=data.get("synced_head"),
            series_digest=data.get("series_digest"),
            op=Operation(**op) if op else None,
            extra=data.get("extra", {}),
        )

    def save(self, state: SeriesState) -> None:
        data = asdict(state)
        data["schema"] = SCHEMA
        atomic_write_json(self.path, data)
