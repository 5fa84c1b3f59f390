"""Messages the thread workers post; widgets change only in the handlers of these."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message

from workbench.runs import RunResult
from workbench.tui.data import Page, SeriesView, SyncInfo, UpstreamCounts


class _Msg(Message):
    """Textual's Message initialises itself in ``__post_init__``, so dataclasses work as is."""


@dataclass(eq=False)
class PageLoaded(_Msg):
    page: Page
    generation: int


@dataclass(eq=False)
class StoreRead(_Msg):
    """Sidebar counts and the sync state, read after start, a sync or a run."""

    counts: list[UpstreamCounts]
    info: SyncInfo


@dataclass(eq=False)
class SeriesLoaded(_Msg):
    views: list[SeriesView]


@dataclass(eq=False)
class RunsLoaded(_Msg):
    runs: list[tuple[RunResult, bool]]


@dataclass(eq=False)
class SyncFinished(_Msg):
    summary: str
    offline: str | None = None
    """The offline message when GitHub could not be reached (the store still reads)."""


@dataclass(eq=False)
class JobOutput(_Msg):
    lines: list[str]


@dataclass(eq=False)
class JobFinished(_Msg):
    session: str
    returncode: int | None
    cancelled: bool


@dataclass(eq=False)
class SeriesChanged(_Msg):
    """An apply, refresh or rebase finished: say what happened and read the series again."""

    summary: str


@dataclass(eq=False)
class DraftReady(_Msg):
    draft: Any
    """A :class:`workbench.draft.PrDraft`."""


@dataclass(eq=False)
class WorkStarted(_Msg):
    work: Any
    """A :class:`workbench.draft.WorkItem`."""
