"""Messages any pane posts to the screen: a step it runs (the status bar names it) and a step that
failed (an error dialog). A pane's own messages are nested in its widget class."""

from __future__ import annotations

from dataclasses import dataclass

from textual.message import Message
from textual.message_pump import MessagePump
from textual.worker import Worker, WorkerState


@dataclass(eq=False)
class Busy(Message):
    """A pane started a step the status bar names while it runs (``doing``), or ended it
    (None). Textual's Message initialises itself in ``__post_init__``: dataclasses work as is."""

    doing: str | None


@dataclass(eq=False)
class StepFailed(Message):
    """A widget's worker failed: the screen shows the error (worker messages do not bubble)."""

    error: BaseException | None
    doing: str


def forward_failure(widget: MessagePump, event: Worker.StateChanged) -> None:
    """For a widget's ``Worker.StateChanged`` handler: pass a failure on as ``StepFailed``."""
    if event.state == WorkerState.ERROR:
        widget.post_message(StepFailed(event.worker.error, event.worker.description))
