"""PR descriptions in each upstream's own format, filled from real results; opening them."""

from workbench.draft.make import make_draft
from workbench.draft.model import DraftWarning, PrDraft
from workbench.draft.work import WorkItem, current_work, start_work, stop_work

__all__ = [
    "DraftWarning",
    "PrDraft",
    "WorkItem",
    "current_work",
    "make_draft",
    "start_work",
    "stop_work",
]
