"""Reading GitHub's JSON one field at a time, and the times the store writes.

Every reader checks the type of what it reads, so a malformed answer raises
:class:`UnexpectedResponse` before anything of it reaches the store. GraphQL's nulls read as
empty: a missing connection has no nodes, a null object no fields.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from workbench.github.errors import UnexpectedResponse

_CANONICAL = re.compile(r"\d{4}-[01]\d-[0-3]\dT[0-2]\d:[0-5]\d:[0-6]\dZ")


STAMP = "%Y-%m-%dT%H:%M:%SZ"
"""How the store writes a time: UTC, so that text order is time order."""


def stamp(moment: datetime) -> str:
    """An aware time as the store writes it (:data:`STAMP`)."""
    return moment.astimezone(UTC).strftime(STAMP)


def timestamp(value: object, what: str) -> str:
    """GitHub's ISO 8601 time as UTC ``YYYY-MM-DDTHH:MM:SSZ``, so text order is time order."""
    if isinstance(value, str) and _CANONICAL.fullmatch(value):
        return value  # what GitHub sends: no need to parse it
    if not isinstance(value, str):
        raise UnexpectedResponse(f"{what} is {type(value).__name__}, not a time")
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise UnexpectedResponse(f"{what} is not an ISO 8601 time: {value[:40]!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return stamp(parsed)


def field_value(raw: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    """``raw[key]``, which must be a ``kind`` (a bool is no int)."""
    value = raw.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        got = "missing" if key not in raw else type(value).__name__
        raise UnexpectedResponse(f"{where}: field '{key}' is {got}")
    return value


def login_of(value: object) -> str | None:
    """The ``login`` of a user object; None for a deleted user (null)."""
    login = value.get("login") if isinstance(value, dict) else None
    return login if isinstance(login, str) else None


def nodes_of(parent: object, key: str, where: str) -> list[Any]:
    """``parent[key].nodes`` of a GraphQL connection; a missing connection is an empty one."""
    conn = parent.get(key) if isinstance(parent, dict) else None
    if conn is None:
        return []
    nodes = conn.get("nodes") if isinstance(conn, dict) else None
    if not isinstance(nodes, list):
        raise UnexpectedResponse(f"{where}: {key}.nodes is not a list")
    return [n for n in nodes if isinstance(n, dict)]


def total_of(parent: object, key: str, default: int) -> int:
    """``parent[key].totalCount`` of a GraphQL connection, or ``default``."""
    conn = parent.get(key) if isinstance(parent, dict) else None
    total = conn.get("totalCount") if isinstance(conn, dict) else None
    return total if isinstance(total, int) else default


def stamp_or_none(value: object, what: str) -> str | None:
    """:func:`timestamp` of a time that may be null."""
    return timestamp(value, what) if value else None


def text_or_empty(value: object) -> str:
    """Text that may be null: null reads as empty."""
    return value if isinstance(value, str) else ""


def int_or_none(value: object) -> int | None:
    """A whole number that may be null (a bool is none)."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def object_or_empty(value: object) -> dict[str, Any]:
    """A GraphQL object that may be null: null reads as an empty object."""
    return value if isinstance(value, dict) else {}


def text_or_none(raw: dict[str, Any], key: str, where: str) -> str | None:
    """``raw[key]``, which must be text or missing."""
    value = raw.get(key)
    if value is not None and not isinstance(value, str):
        raise UnexpectedResponse(f"{where}: field '{key}' is {type(value).__name__}, not text")
    return value
