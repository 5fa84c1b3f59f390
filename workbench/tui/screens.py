"""Dialogs: an error with the library's hint, the PR draft preview, the rebase target, and a
yes/no question before a write to GitHub."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from rich.markdown import Markdown as RichMarkdown
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.geometry import Size
from textual.message import Message
from textual.screen import ModalScreen
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import Button, Input, Label, Static
from textual.worker import Worker, WorkerState

from workbench.errors import WorkbenchError
from workbench.fsutil import atomic_write_bytes
from workbench.paths import Workspace
from workbench.tui.detail import draft_preview, md_text

if TYPE_CHECKING:
    from workbench.pr import PrDraft


class ErrorDialog(ModalScreen[None]):
    """What went wrong and what to do: the message and hint of a WorkbenchError."""

    DEFAULT_CSS = """
    ErrorDialog { align: center middle; }
    ErrorDialog > Vertical {
        width: 80; height: auto; max-height: 80%; border: thick $error; background: $surface;
        padding: 1 2;
    }
    ErrorDialog #error-title { text-style: bold; color: $error; }
    ErrorDialog #error-hint { color: $success; margin-top: 1; }
    ErrorDialog #error-details { color: $text-muted; margin-top: 1; max-height: 12; }
    ErrorDialog Button { margin-top: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter", "dismiss", "Close", id="error.close", tooltip="Close this dialog")
    ]

    def __init__(self, title: str, message: str, hint: str | None, details: str | None = None):
        super().__init__()
        self.error_title, self.message, self.hint, self.details = title, message, hint, details

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.error_title, id="error-title")
            yield Static(self.message, id="error-message", markup=False)
            if self.hint:
                yield Static(f"→ {self.hint}", id="error-hint", markup=False)
            if self.details:
                with VerticalScroll(id="error-details"):
                    yield Static(self.details.strip()[-4000:], markup=False)
            yield Button("Close", variant="error", id="error-close")

    def on_button_pressed(self) -> None:
        self.dismiss()


class RichMarkdownView(Widget):
    """Markdown drawn by Rich as lines, once per width: one widget, however many blocks.

    Textual's ``Markdown`` makes a widget per block (0.4-2 s to mount and lay out a draft with
    tables and code); a ``Static`` of Rich's ``Markdown`` renders it again for every layout
    pass (three or four times on opening). This renders it once for a width and keeps the
    lines.
    """

    DEFAULT_CSS = "RichMarkdownView { height: auto; }"

    def __init__(self, markdown: str = "", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.source = markdown
        self._lines: tuple[int, list[Strip]] | None = None

    def update(self, markdown: str) -> None:
        self.source, self._lines = markdown, None
        self.refresh(layout=True)

    def lines(self, width: int) -> list[Strip]:
        """The Markdown's lines at ``width`` cells, rendered on the first call for it."""
        if self._lines is None or self._lines[0] != width:
            console = self.app.console
            options = console.options.update(width=width, height=None)
            rendered = console.render_lines(
                RichMarkdown(self.source, hyperlinks=True), options, style=self.rich_style
            )
            self._lines = (width, [Strip(line, width) for line in rendered])
        return self._lines[1]

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return len(self.lines(width))

    def render_line(self, y: int) -> Strip:
        width = self.content_region.width
        lines = self.lines(width)
        return lines[y] if y < len(lines) else Strip.blank(width, self.rich_style)


class DraftScreen(ModalScreen[None]):
    """The PR draft with its warnings; copy it or save it where ``pr open --body-file`` reads it.

    It opens at once and drafts in a thread worker (the series' patches read with git, the
    runs, the saved draft's human parts); the preview is drawn by :class:`RichMarkdownView`.
    What is
    copied and saved is the title and body (``PrDraft.file_text()``), as
    ``workbench pr draft -o FILE`` writes them.
    """

    DEFAULT_CSS = """
    DraftScreen { align: center middle; }
    DraftScreen > Vertical { width: 90%; height: 90%; border: thick $primary; background: $surface; }
    DraftScreen #draft-text { padding: 0 1; }
    DraftScreen #draft-help { dock: bottom; color: $text-muted; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "copy", "Copy", id="draft.copy", tooltip="Copy the draft to the clipboard"),
        Binding("s", "save", "Save", id="draft.save", tooltip="Save the draft to a Markdown file"),
        Binding("escape", "dismiss", "Close", id="draft.close", tooltip="Close the preview"),
    ]

    @dataclass(eq=False)
    class _Drafted(Message):
        """The worker made the draft: show it."""

        draft: PrDraft

    def __init__(self, ws: Workspace, name: str, save_to: Path) -> None:
        super().__init__()
        self.ws, self.upstream, self.save_to = ws, name, save_to
        self.shown_as = ws.relative(save_to)
        self.draft: PrDraft | None = None
        self.preview = ""
        """The draft as the Markdown shown (warnings, labels, title, body)."""
        self.text = ""
        """What ``c`` copies and ``s`` saves; empty until the draft is made."""
        self.opened_at: float | None = None
        self.shown_at: float | None = None
        """``perf_counter()`` after the refreshes that showed the screen and then the draft in it
        (what benchmarks/bench_tui.py times)."""

    def compose(self) -> ComposeResult:
        with Vertical():
            with VerticalScroll():
                yield RichMarkdownView(
                    md_text(f"Drafting the PR of {self.upstream}…"), id="draft-text"
                )
            yield Static(
                f"c copy · s save to {self.shown_as} (then: workbench pr open {self.upstream} "
                f"--body-file {self.shown_as}) · esc close",
                id="draft-help",
                markup=False,
            )

    def on_mount(self) -> None:
        self._make()
        self.call_after_refresh(self._opened)

    def _opened(self) -> None:
        self.opened_at = time.perf_counter()

    @work(thread=True, exclusive=True, exit_on_error=False, group="draft", description="draft")
    def _make(self) -> None:
        from workbench.github.store import Store
        from workbench.pr import make_draft

        # Like `pr draft -o FILE`: a re-draft keeps the title and human parts written there.
        saved = self.save_to
        previous = saved.read_text(errors="replace") if saved.is_file() else None
        with Store.open(self.ws) as store:
            draft = make_draft(self.ws, self.upstream, store=store, keep_from=previous)
        self.post_message(self._Drafted(draft))

    @on(_Drafted)
    def _ready(self, msg: _Drafted) -> None:
        self.show(msg.draft)

    def show(self, draft: PrDraft) -> None:
        self.draft = draft
        self.preview = draft_preview(draft)
        self.text = draft.file_text()
        self.query_one("#draft-text", RichMarkdownView).update(self.preview)
        self.call_after_refresh(self._shown)

    def _shown(self, waited: int = 0) -> None:
        # The layout update() asks for is sometimes not done: under load the view kept the
        # placeholder's one line through 100 refreshes. Shown is when the view has the draft's
        # height; until then the layout is asked for again (once was always enough).
        view = self.query_one("#draft-text", RichMarkdownView)
        laid_out = view.content_size.height >= len(view.lines(view.content_size.width))
        if not laid_out and waited < 100:
            self.refresh(layout=True)
            view.refresh(layout=True)
            self.call_after_refresh(self._shown, waited + 1)
            return
        self.shown_at = time.perf_counter()

    @on(Worker.StateChanged)
    def _worker_changed(self, event: Worker.StateChanged) -> None:
        if event.state == WorkerState.ERROR:
            self.dismiss()
            self.app.push_screen(error_dialog(event.worker.error, "drafting the PR"))

    def action_copy(self) -> None:
        if not self.text:
            self.notify("still drafting", severity="warning")
            return
        self.app.copy_to_clipboard(self.text)
        self.notify("draft copied to the clipboard")

    def action_save(self) -> None:
        if not self.text:
            self.notify("still drafting", severity="warning")
            return
        atomic_write_bytes(self.save_to, self.text.encode())
        self.notify(f"draft saved to {self.shown_as}")


def error_dialog(exc: BaseException | None, doing: str) -> ErrorDialog:
    """The dialog for a failed step: the library's message and hint, or a bug report's."""
    if isinstance(exc, WorkbenchError):
        title = exc.title if exc.title != "error" else doing
        return ErrorDialog(title, exc.message, exc.hint, exc.details)
    return ErrorDialog(
        f"unexpected {type(exc).__name__}",
        str(exc),
        "a bug: run again with WORKBENCH_DEBUG=1 and report it",
    )


class RebaseDialog(ModalScreen[str | None]):
    """Ask where to rebase the series onto (a tag, branch or commit)."""

    DEFAULT_CSS = """
    RebaseDialog { align: center middle; }
    RebaseDialog > Vertical {
        width: 70; height: auto; border: thick $primary; background: $surface; padding: 1 2;
    }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel", id="rebase.cancel", tooltip="Do not rebase")
    ]

    def __init__(self, name: str, default: str):
        super().__init__()
        self.upstream, self.default = name, default

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(f"Rebase the {self.upstream} series onto (tag, branch or commit):")
            yield Input(value=self.default, id="rebase-onto")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value.strip() or None)

    def action_cancel(self) -> None:
        self.dismiss(None)


class ConfirmDialog(ModalScreen[bool]):
    """A yes/no question before something that writes upstream; No has the focus, so Enter and
    Escape leave GitHub untouched."""

    DEFAULT_CSS = """
    ConfirmDialog { align: center middle; }
    ConfirmDialog > Vertical {
        width: 76; height: auto; border: thick $warning; background: $surface; padding: 1 2;
    }
    ConfirmDialog #confirm-question { text-style: bold; }
    ConfirmDialog #confirm-details { color: $text-muted; margin-top: 1; }
    ConfirmDialog Horizontal { height: auto; margin-top: 1; }
    ConfirmDialog Button { margin-right: 2; }
    """
    AUTO_FOCUS = "#confirm-no"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes", tooltip="Yes: go ahead"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no", tooltip="No: change nothing"),
    ]

    def __init__(self, question: str, details: str = ""):
        super().__init__()
        self.question, self.details = question, details

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.question, id="confirm-question", markup=False)
            if self.details:
                yield Static(self.details, id="confirm-details", markup=False)
            with Horizontal():
                yield Button("Yes (y)", variant="warning", id="confirm-yes")
                yield Button("No (n)", variant="primary", id="confirm-no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm-yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)
