"""Messages the thread workers post; widgets change only in the handlers of these."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.message import Message
from textual.message_pump import MessagePump
from textual.worker import Worker, WorkerState

from workbench.tui.data import ListPage, SyncInfo, UpstreamCounts


class _Msg(Message):
    """Textual's Message initialises itself in ``__post_init__``, so dataclasses work as is."""


@dataclass(eq=False)
class PageLoaded(_Msg):
    page: ListPage
    generation: int


@dataclass(eq=False)
class StoreRead(_Msg):
    """Sidebar counts and the sync state, read after start, a sync or a run."""

    counts: list[UpstreamCounts]
    info: SyncInfo


@dataclass(eq=False)
class SyncFinished(_Msg):
    summary: str
    offline: str | None = None
    """The offline message when GitHub could not be reached (the store still reads)."""


@dataclass(eq=False)
class SeriesChanged(_Msg):
    """An apply, refresh or rebase finished: say what happened and read the series again."""

    summary: str


@dataclass(eq=False)
class DraftReady(_Msg):
    draft: Any
    """A :class:`workbench.pr.PrDraft`."""


@dataclass(eq=False)
class WorkStarted(_Msg):
    work: Any
    """A :class:`workbench.pr.WorkItem`."""


@dataclass(eq=False)
class StepFailed(_Msg):
    """A widget's worker failed: the screen shows the error (worker messages do not bubble)."""

    error: BaseException | None
    doing: str


def forward_failure(widget: MessagePump, event: Worker.StateChanged) -> None:
    """For a widget's ``Worker.StateChanged`` handler: pass a failure on as ``StepFailed``."""
    if event.state == WorkerState.ERROR:
        widget.post_message(StepFailed(event.worker.error, event.worker.description))


@dataclass(eq=False)
class LogsFetched(_Msg):
    """The failing jobs' logs of one PR were fetched (or read): say how it went, read again."""

    summary: str
    problems: list[str]
