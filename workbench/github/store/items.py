"""Issues and PRs in the store: stored by UPSERT, listed and searched the way the CLI and the
TUI ask.

Items are never replaced by an older copy, so storing a page twice is harmless. Title and body
enter the full-text index once per sync pass (:meth:`ItemTables.index_pending`); a search also
finds the items stored since, by ``LIKE``.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from workbench.github.errors import NotSynced
from workbench.github.model import Item
from workbench.github.store.schema import json_list
from workbench.github.store.state import SyncStateTables

ITEM_COLUMNS = (
    "repo",
    "number",
    "is_pr",
    "title",
    "body",
    "state",
    "author",
    "labels",
    "assignees",
    "comments",
    "created_at",
    "updated_at",
    "closed_at",
    "url",
    "draft",
    "linked",
)
"""The columns of ``items`` an :class:`Item` fills, in the order of :func:`_item_values`."""


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


class _Stored(NamedTuple):
    """A stored item's row id and the ``updated_at`` of its copy."""

    id: int
    updated_at: str


class _Replaced(NamedTuple):
    """A stored item a newer copy replaces."""

    id: int
    repo: str
    number: int


class ItemTables(SyncStateTables):
    """The store's ``items`` (with their labels, links and search index)."""

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
            inserts: list[tuple[Any, ...]] = []
            new: list[tuple[str, int]] = []
            updates: list[tuple[Any, ...]] = []
            replaced: list[_Replaced] = []
            updated = 0
            for key, item in list(latest.items()):
                values = _item_values(item)
                old = known.get(key)
                if old is None:
                    inserts.append(values)
                    new.append(key)
                elif item.updated_at < old.updated_at:
                    del latest[key]  # GitHub's list was read before a change we already have
                else:
                    updated += item.updated_at > old.updated_at
                    updates.append((*values[2:], old.id))  # all but repo and number
                    replaced.append(_Replaced(old.id, item.repo, item.number))
            self._unindex_changed(db, replaced, latest)
            marks = ",".join("?" * len(ITEM_COLUMNS))
            db.executemany(
                f"INSERT INTO items ({', '.join(ITEM_COLUMNS)}) VALUES ({marks})", inserts
            )
            db.executemany(
                "UPDATE items SET is_pr=?, title=?, body=?, state=?, author=?, labels=?, "
                "assignees=?, comments=?, created_at=?, updated_at=?, closed_at=?, url=?, "
                "draft=?, linked=? WHERE id=?",
                updates,
            )
            db.executemany("DELETE FROM item_labels WHERE item_id = ?", [(r.id,) for r in replaced])
            db.executemany(
                "DELETE FROM links WHERE repo = ? AND pr = ?",
                [(r.repo, r.number) for r in replaced],
            )
            if new:
                known.update(self._ids(db, new))
            db.executemany(
                "INSERT OR IGNORE INTO item_labels (item_id, name) VALUES (?, ?)",
                [(known[k].id, name) for k, i in latest.items() for name in i.labels],
            )
            db.executemany(
                "INSERT OR IGNORE INTO links (repo, issue, pr) VALUES (?, ?, ?)",
                [(i.repo, n, i.number) for i in latest.values() for n in i.linked_issues],
            )
        return len(inserts), updated

    @staticmethod
    def _unindex_changed(
        db: sqlite3.Connection,
        replaced: list[_Replaced],
        latest: Mapping[tuple[str, int], Item],
    ) -> None:
        """Take items whose title or body changes out of the search index, until index_pending."""
        if not replaced:
            return
        by_id = {r.id: latest[(r.repo, r.number)] for r in replaced}
        rows = db.execute(
            "SELECT id, title, body FROM items WHERE indexed = 1 "
            f"AND id IN ({','.join('?' * len(by_id))})",
            tuple(by_id),
        ).fetchall()
        stale = [
            (r["id"], r["title"], r["body"])
            for r in rows
            if (r["title"], r["body"]) != (by_id[r["id"]].title, by_id[r["id"]].body)
        ]
        # An external-content index forgets a row only when told its old text.
        db.executemany(
            "INSERT INTO items_fts (items_fts, rowid, title, body) VALUES ('delete', ?, ?, ?)",
            stale,
        )
        db.executemany("UPDATE items SET indexed = 0 WHERE id = ?", [(s[0],) for s in stale])

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
    ) -> dict[tuple[str, int], _Stored]:
        """(repo, number) -> row id and ``updated_at`` of the stored ones among ``keys``."""
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
                found.update({(repo, r["number"]): _Stored(r["id"], r["updated_at"]) for r in rows})
        return found

    # --- reads -----------------------------------------------------------------------------------

    def count(self, repo: str | None = None) -> int:
        if repo is None:
            return self._value("SELECT count(*) FROM items")
        return self._value("SELECT count(*) FROM items WHERE repo = ?", (repo,))

    def item(self, repo: str, number: int) -> TrackedItem | None:
        found = self._select(["i.repo = ?", "i.number = ?"], [repo, number])
        return found[0] if found else None

    def linked_prs(self, repo: str, issue: int) -> list[int]:
        """PRs that say they close ``issue``."""
        rows = self._db.execute(
            "SELECT pr FROM links WHERE repo = ? AND issue = ? ORDER BY pr", (repo, issue)
        )
        return [r["pr"] for r in rows]

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
        return self._value(sql, args)

    def label_counts(self, q: ItemQuery, limit: int = 20) -> list[tuple[str, int]]:
        """The labels of the items matching ``q`` with how many carry each, most used first."""
        where, args = self._where(q)
        sql = (
            "SELECT l.name AS name, count(*) AS n FROM items i "
            "JOIN item_labels l ON l.item_id = i.id "
            "LEFT JOIN pr_status s ON s.repo = i.repo AND s.number = i.number"
        )
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " GROUP BY l.name ORDER BY n DESC, l.name LIMIT ?"
        return [(r["name"], r["n"]) for r in self._db.execute(sql, [*args, limit])]

    def flaky_issues(self, repos: Sequence[str]) -> list[Item]:
        """Open issues of ``repos`` that mark tests or jobs as flaky: titled ``DISABLED ...`` or
        ``UNSTABLE ...`` (PyTorch's bots' form), or with a label that says flaky."""
        if not repos:
            return []
        marks = ",".join("?" * len(repos))
        ids = [
            r["id"]
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
            f"SELECT {', '.join('i.' + c for c in ITEM_COLUMNS)}, "
            "s.ci, s.review, s.review_requested, s.mine, s.draft AS status_draft "
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


def _item_values(item: Item) -> tuple[Any, ...]:
    """``item`` as the values of :data:`ITEM_COLUMNS`."""
    return (
        item.repo,
        item.number,
        int(item.is_pull_request),
        item.title,
        item.body,
        item.state,
        item.author,
        json_list(item.labels),
        json_list(item.assignees),
        item.comments,
        item.created_at,
        item.updated_at,
        item.closed_at,
        item.url,
        None if item.draft is None else int(item.draft),
        json_list(item.linked_issues),
    )


def _tracked(row: sqlite3.Row) -> TrackedItem:
    """A row of :meth:`ItemTables._select`: the item, and its PR status where the last status
    search returned it."""
    is_pr = bool(row["is_pr"])
    # The status search's draft flag is newer than the list's.
    draft = row["draft"] if row["status_draft"] is None else row["status_draft"]
    item = Item(
        repo=row["repo"],
        number=row["number"],
        is_pull_request=is_pr,
        title=row["title"],
        body=row["body"],
        state=row["state"],
        author=row["author"],
        labels=tuple(json.loads(row["labels"])),
        assignees=tuple(json.loads(row["assignees"])),
        comments=row["comments"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        closed_at=row["closed_at"],
        url=row["url"],
        draft=None if draft is None else bool(draft),
        linked_issues=tuple(json.loads(row["linked"])),
    )
    return TrackedItem(
        item=item,
        ci=row["ci"] if is_pr else None,
        review=row["review"],
        review_requested=bool(row["review_requested"]),
        mine=bool(row["mine"]),
    )
