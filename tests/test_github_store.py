"""The tracker's SQLite store: schema and migrations, UPSERTs, queries, two users at once."""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from workbench.errors import UsageError
from workbench.github.errors import NotSynced
from workbench.github.model import Item, PrStatus
from workbench.github.store import SCHEMA_VERSION, ItemQuery, Store
from workbench.github.store import schema as store_module

AO, XLA = "pytorch/ao", "pytorch/xla"


def item(number: int, repo: str = AO, **changes) -> Item:
    base = Item(
        repo=repo,
        number=number,
        is_pull_request=False,
        title=f"Issue {number}",
        body="",
        state="open",
        author="someone",
        labels=(),
        assignees=(),
        comments=0,
        created_at="2025-01-01T00:00:00Z",
        updated_at=f"2025-02-01T00:00:{number % 60:02d}Z",
        closed_at=None,
        url=f"https://github.com/{repo}/issues/{number}",
        draft=None,
        linked_issues=(),
    )
    return replace(base, **changes)


@pytest.fixture
def store(tmp_path: Path):
    with Store(tmp_path / "github.db") as s:
        yield s


def numbers(store: Store, **query) -> list[int]:
    return [t.item.number for t in store.query(ItemQuery(**query))]


def test_a_new_store_is_at_the_current_schema_in_wal_mode(tmp_path: Path) -> None:
    with Store(tmp_path / "github.db") as s:
        assert s.schema_version == SCHEMA_VERSION >= 1
    db = sqlite3.connect(tmp_path / "github.db")
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_migrations_run_in_order_and_keep_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "github.db"
    with Store(path) as s:
        s.upsert_items([item(1)])
    extra = ("ALTER TABLE items ADD COLUMN reactions INTEGER NOT NULL DEFAULT 0",)
    monkeypatch.setattr(store_module, "MIGRATIONS", (*store_module.MIGRATIONS, extra))
    monkeypatch.setattr(store_module, "SCHEMA_VERSION", SCHEMA_VERSION + 1)

    with Store(path) as s:
        assert s.schema_version == SCHEMA_VERSION + 1
        assert numbers(s) == [1]
    columns = [r[1] for r in sqlite3.connect(path).execute("PRAGMA table_info(items)")]
    assert "reactions" in columns


def test_a_store_from_a_newer_workbench_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "github.db"
    sqlite3.connect(path).execute(f"PRAGMA user_version = {SCHEMA_VERSION + 5}")
    with pytest.raises(UsageError, match="knows up to"):
        Store(path)


def test_a_file_that_is_not_a_database_says_how_to_recover(tmp_path: Path) -> None:
    path = tmp_path / "github.db"
    path.write_bytes(b"not sqlite at all" * 100)
    with pytest.raises(UsageError, match="file is not a database") as caught:
        Store(path)
    assert "the next `workbench sync` rebuilds it" in caught.value.one_line()


def test_reading_a_store_that_was_never_synced(tmp_path: Path) -> None:
    with pytest.raises(NotSynced, match="nothing synced yet"):
        Store(tmp_path / "github.db", create=False)
    assert not (tmp_path / "github.db").exists()


def test_upsert_counts_new_and_updated_and_is_idempotent(store: Store) -> None:
    assert store.upsert_items([item(1), item(2)]) == (2, 0)
    assert store.upsert_items([item(1), item(2)]) == (0, 0)
    newer = item(1, title="renamed", updated_at="2025-03-01T00:00:00Z", labels=("bug",))
    assert store.upsert_items([newer]) == (0, 1)
    assert store.count() == 2
    assert store.item(AO, 1).item == newer  # type: ignore[union-attr]


def test_an_older_copy_never_replaces_a_newer_one(store: Store) -> None:
    new = item(1, title="new", updated_at="2025-03-01T00:00:00Z", labels=("new",))
    store.upsert_items([new])
    assert store.upsert_items([item(1, title="old", labels=("old",))]) == (0, 0)
    assert store.item(AO, 1).item == new  # type: ignore[union-attr]
    assert numbers(store, labels=("old",)) == []


def test_query_orders_newest_update_first(store: Store) -> None:
    store.upsert_items([item(n, updated_at=f"2025-02-0{n}T00:00:00Z") for n in (3, 1, 2)])
    store.upsert_items([item(9, repo=XLA, updated_at="2025-02-02T12:00:00Z")])
    assert numbers(store) == [3, 9, 2, 1]
    assert numbers(store, repos=(AO,)) == [3, 2, 1]
    assert numbers(store, limit=2) == [3, 9]


def test_filters(store: Store) -> None:
    store.upsert_items(
        [
            item(1, labels=("good first issue", "bug")),
            item(2, labels=("Good First Issue",), assignees=("ada",)),
            item(3, labels=("bug",), state="closed"),
            item(4, is_pull_request=True, draft=False, labels=("bug",)),
            item(5, repo=XLA, labels=("help wanted",)),
            item(6, repo=XLA, labels=("good first issue",)),
        ]
    )
    assert numbers(store, labels=("bug",)) == [4, 1]
    assert numbers(store, labels=("bug",), states=()) == [4, 3, 1]
    assert numbers(store, labels=("bug", "good first issue")) == [1]
    assert numbers(store, pull_requests=False, unassigned=True) == [6, 5, 1]
    assert numbers(store, pull_requests=True) == [4]
    assert numbers(store, states=("closed",)) == [3]
    # Each repository with its own newcomer labels; label case does not matter.
    newcomer = {AO: ("good first issue",), XLA: ("help wanted",)}
    assert numbers(store, newcomer=newcomer) == [5, 2, 1]
    assert numbers(store, newcomer={AO: ()}) == []


@pytest.mark.parametrize("indexed", [True, False], ids=["indexed", "not yet indexed"])
def test_text_search(store: Store, indexed: bool) -> None:
    store.upsert_items(
        [
            item(1, title="Float8 training is slow", body="on H100"),
            item(2, title="Quantization docs", body="int4 weight-only quantize_ API"),
            item(12, title="Unrelated", body="quantizeX"),
        ]
    )
    if indexed:
        assert store.index_pending() == 3
    assert numbers(store, search="float8") == [1]
    assert numbers(store, search="FLOAT8 h100") == [1]
    assert numbers(store, search="quantiz") == [12, 2]  # prefixes match
    assert numbers(store, search="weight only") == [2]
    assert numbers(store, search="weight_only API") == [2]
    assert numbers(store, search="int4 slow") == []  # every word must match
    assert numbers(store, search="#12") == [12]
    assert numbers(store, search='"; DROP TABLE items; --') == []


def test_search_follows_edits(store: Store) -> None:
    store.upsert_items([item(1, title="Float8 training"), item(2, title="Float8 inference")])
    store.index_pending()
    store.upsert_items([item(1, title="Bfloat16 only", updated_at="2025-03-01T00:00:00Z")])
    assert numbers(store, search="float8") == [2]  # before the edit is indexed...
    assert numbers(store, search="bfloat16") == [1]
    assert store.index_pending() == 1
    assert numbers(store, search="float8") == [2]  # ...and after
    assert numbers(store, search="bfloat16") == [1]
    store.upsert_items([item(2, title="Float8 inference", updated_at="2025-03-02T00:00:00Z")])
    assert store.index_pending() == 0  # same text: the index entry stays


def test_linked_issues_are_indexed(store: Store) -> None:
    pr = item(10, is_pull_request=True, draft=False, linked_issues=(3, 4))
    store.upsert_items([pr])
    assert store.linked_prs(AO, 3) == [10]
    store.upsert_items([replace(pr, linked_issues=(4,), updated_at="2025-03-01T00:00:00Z")])
    assert store.linked_prs(AO, 3) == []
    assert store.linked_prs(AO, 4) == [10]


def test_pr_status_is_replaced_per_repository(store: Store) -> None:
    prs = [item(n, is_pull_request=True, draft=False, author="me") for n in (1, 2, 3)]
    store.upsert_items([*prs, item(4, repo=XLA, is_pull_request=True, draft=False)])
    store.replace_pr_status(
        [AO, XLA],
        [
            PrStatus(AO, 1, "failure", "CHANGES_REQUESTED", True, True, False),
            PrStatus(AO, 2, "success", None, False, False, True),
            PrStatus(AO, 2, "success", None, False, True, False),  # in both searches
            PrStatus(XLA, 4, "pending", None, False, False, True),
        ],
        viewer="me",
    )
    assert store.viewer() == "me"
    by_number = {t.item.number: t for t in store.query(ItemQuery(pull_requests=True))}
    assert (by_number[1].ci, by_number[1].review, by_number[1].item.draft) == (
        "failure",
        "CHANGES_REQUESTED",
        True,
    )
    assert by_number[2].mine and by_number[2].review_requested
    assert by_number[3].ci is None
    assert numbers(store, mine=True) == [3, 2, 1]  # authored by "me" (or found by the search)
    assert numbers(store, review_requested=True) == [4, 2]

    store.replace_pr_status([AO], [], viewer="me")
    assert numbers(store, review_requested=True) == [4]  # xla's status was left alone


def test_status_is_due_when_never_fetched_stale_or_pending(store: Store) -> None:
    assert store.status_due([AO], timedelta(minutes=10))
    store.replace_pr_status([AO], [PrStatus(AO, 1, "success", None, False, True, False)], "me")
    assert not store.status_due([AO], timedelta(minutes=10))
    assert store.status_due([AO, XLA], timedelta(minutes=10))  # xla never
    assert store.status_due([AO], timedelta(seconds=-1))  # stale
    store.replace_pr_status([AO], [PrStatus(AO, 1, "pending", None, False, True, False)], "me")
    assert store.status_due([AO], timedelta(minutes=10))


def test_mine_needs_to_know_who_you_are(store: Store) -> None:
    with pytest.raises(NotSynced, match="not known yet") as caught:
        store.query(ItemQuery(mine=True))
    assert "sync once with a token" in caught.value.one_line()


def test_sync_state_moves_only_when_told(store: Store) -> None:
    assert store.sync_state(AO) is None
    store.upsert_items([item(1)])
    assert store.sync_state(AO) is None
    store.finish_pass(
        AO, watermark="2025-02-01T00:00:01Z", etag='W/"x"', rate_remaining=9, rate_reset=5
    )
    state = store.sync_state(AO)
    assert state is not None
    assert (state.watermark, state.etag, state.rate_remaining) == (
        "2025-02-01T00:00:01Z",
        'W/"x"',
        9,
    )
    store.mark_unchanged(AO, rate_remaining=8, rate_reset=5)
    again = store.sync_state(AO)
    assert again is not None
    assert (again.watermark, again.etag, again.rate_remaining) == (state.watermark, state.etag, 8)
    assert store.last_synced([AO]) == again.synced_at
    assert store.last_synced([XLA]) is None


def test_a_reader_is_not_blocked_by_a_writer_and_writers_wait(tmp_path: Path) -> None:
    path = tmp_path / "github.db"
    with Store(path) as writer, Store(path) as reader, Store(path) as second_writer:
        writer.upsert_items([item(1)])
        holding = threading.Event()
        releasing = threading.Event()

        def hold_the_write_lock() -> None:
            db = sqlite3.connect(path, isolation_level=None)
            db.execute("BEGIN IMMEDIATE")
            db.execute("UPDATE items SET title = 'held' WHERE number = 1")
            holding.set()
            time.sleep(0.5)
            releasing.set()  # before the commit: whatever waited for the lock returns after this
            db.execute("COMMIT")
            db.close()

        thread = threading.Thread(target=hold_the_write_lock)
        thread.start()
        holding.wait(5)
        # WAL: the reader answers while the lock is still held …
        assert [t.item.title for t in reader.query(ItemQuery())] == ["Issue 1"]
        assert not releasing.is_set()
        # … and a second writer waits for it, then writes.
        assert second_writer.upsert_items([item(2)]) == (1, 0)
        assert releasing.is_set()
        thread.join()
        assert sorted(t.item.title for t in reader.query(ItemQuery())) == ["Issue 2", "held"]


def test_pages_counts_and_label_facets_follow_the_same_filter(store: Store) -> None:
    store.upsert_items(
        [
            item(n, updated_at=f"2025-02-{n:02d}T00:00:00Z", labels=("bug",) if n % 2 else ("ux",))
            for n in range(1, 11)
        ]
    )
    store.upsert_items([item(11, state="closed", labels=("bug",))])
    q = ItemQuery(labels=("bug",))
    assert store.count_matching(q) == 5
    first = [t.item.number for t in store.query(replace(q, limit=2))]
    second = [t.item.number for t in store.query(replace(q, limit=2, offset=2))]
    assert first == [9, 7] and second == [5, 3]
    assert store.count_matching(ItemQuery(states=())) == 11
    assert store.label_counts(ItemQuery()) == [("bug", 5), ("ux", 5)]
    assert store.label_counts(ItemQuery(states=()), limit=1) == [("bug", 6)]
    assert store.count_matching(ItemQuery(search="#4")) == 1
