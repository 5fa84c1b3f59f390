"""``workbench doctor``: the GitHub store's integrity, read-only, with a one-line way out."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from workbench.errors import UsageError
from workbench.github.model import Item
from workbench.github.store import SCHEMA_VERSION, Store

RECOVER = "move .workbench/github.db and its -wal/-shm files aside, then run: workbench sync"


def _item(number: int) -> Item:
    return Item(
        repo="pytorch/ao",
        number=number,
        is_pull_request=False,
        title=f"Issue {number}",
        body="text " * 200,
        state="open",
        author="someone",
        labels=("good first issue",),
        assignees=(),
        comments=0,
        created_at="2025-01-01T00:00:00Z",
        updated_at=f"2025-02-01T00:00:{number % 60:02d}Z",
        closed_at=None,
        url=f"https://github.com/pytorch/ao/issues/{number}",
        draft=None,
        linked_issues=(),
    )


@pytest.fixture
def db(workspace) -> Path:
    """A synced store of a few hundred items, closed (its WAL checkpointed into the file)."""
    path = workspace.root / ".workbench" / "github.db"
    with Store(path) as store:
        store.upsert_items([_item(n) for n in range(1, 301)])
        store.index_pending()
    assert not path.with_name("github.db-wal").exists()
    return path


def _store_check(wb, code: int) -> dict:
    res = wb("doctor", "--json")
    assert res.code == code, res.err
    [check] = [c for c in json.loads(res.out) if c["name"] == "github store"]
    return check


def test_no_store_is_a_warning(workspace, wb):
    check = _store_check(wb, 0)
    assert check["level"] == "warn"
    assert "nothing synced yet; run: workbench sync" in check["detail"]


def test_a_sound_store_is_ok_and_left_as_it_was(db, wb):
    before = db.read_bytes()
    check = _store_check(wb, 0)
    assert check["level"] == "ok"
    assert check["detail"].startswith(".workbench/github.db (")
    assert f"schema {SCHEMA_VERSION}" in check["detail"]
    assert db.read_bytes() == before


def test_a_truncated_store_fails_with_how_to_recover(db, wb):
    data = db.read_bytes()
    db.write_bytes(data[: len(data) // 2])
    before = db.read_bytes()
    with pytest.raises(UsageError):  # every store command refuses it
        Store(db)
    db.write_bytes(before)
    check = _store_check(wb, 1)
    assert check["level"] == "fail"
    assert "is corrupt (" in check["detail"] and "malformed" in check["detail"]
    assert "the store is a cache of GitHub" in check["detail"] and RECOVER in check["detail"]
    assert db.read_bytes() == before


def test_a_garbled_page_fails_the_check_with_its_first_problem(db, wb):
    data = bytearray(db.read_bytes())
    page = 4096
    data[page : page + 64] = b"\xa5" * 64  # the header of the second page
    db.write_bytes(bytes(data))
    check = _store_check(wb, 1)
    assert check["level"] == "fail"
    assert "is corrupt (" in check["detail"] and RECOVER in check["detail"]
    assert "_check: Page 2: " in check["detail"] and " more)" in check["detail"]
    assert "\n" not in check["detail"] and "***" not in check["detail"]
    assert db.read_bytes() == bytes(data)


def test_a_file_that_is_not_sqlite_fails(workspace, wb):
    path = workspace.root / ".workbench" / "github.db"
    path.parent.mkdir(exist_ok=True)
    path.write_text("<html>not a database</html>\n" * 200)
    check = _store_check(wb, 1)
    assert check["level"] == "fail"
    assert "is corrupt (file is not a database)" in check["detail"]
    assert RECOVER in check["detail"]
    assert path.read_text().startswith("<html>")
    assert sorted(p.name for p in path.parent.iterdir()) == ["github.db"]


def test_a_store_of_a_newer_workbench_fails(db, wb):
    with sqlite3.connect(db) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    check = _store_check(wb, 1)
    assert check["level"] == "fail"
    assert f"schema {SCHEMA_VERSION + 1}" in check["detail"]
    assert "update the workbench" in check["detail"]


def test_the_text_report_says_it_on_one_line(db, wb):
    db.write_bytes(db.read_bytes()[:1000])
    res = wb("doctor")
    assert res.code == 1
    [line] = [ln for ln in res.out.splitlines() if "github store" in ln]
    assert line.lstrip().startswith("fail  github store: .workbench/github.db is corrupt")
    assert line.endswith("then run: workbench sync")


def test_a_store_locked_by_a_writer_is_busy_not_corrupt(db, wb, monkeypatch):
    from workbench import doctor

    monkeypatch.setattr(doctor, "STORE_BUSY_S", 0.1)
    writer = sqlite3.connect(db, isolation_level=None)
    writer.execute("PRAGMA journal_mode = DELETE")
    writer.execute("BEGIN EXCLUSIVE")
    try:
        check = _store_check(wb, 0)
    finally:
        writer.execute("ROLLBACK")
        writer.close()
    assert check["level"] == "warn"
    assert "is busy" in check["detail"] and "workbench doctor again" in check["detail"]
