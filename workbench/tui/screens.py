"""Dialogs: an error with the library's hint, the PR draft preview, the rebase target, and a
yes/no question before a write to GitHub."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Markdown, Static

from workbench.fsutil import atomic_write_bytes

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


def draft_preview(draft: PrDraft) -> str:
    """A PR draft as Markdown: warnings and labels above the title and body."""
    lines = []
    if draft.warnings:
        lines += [f"**{len(draft.warnings)} warning(s)**", ""]
        lines += [f"- {w.message} `{w.code}`" for w in draft.warnings]
        lines.append("")
    if draft.labels:
        lines += ["labels: " + ", ".join(f"`{label}`" for label in draft.labels), ""]
    if draft.kept:
        lines += [f"kept from your saved draft: {', '.join(draft.kept)}", ""]
    lines += ["---", "", f"# {draft.title}", "", draft.body]
    return "\n".join(lines)


class DraftScreen(ModalScreen[None]):
    """The PR draft with its warnings; copy it or save it where ``pr open --body-file`` reads it.

    What is copied and saved is the title and body (``PrDraft.file_text()``), as
    ``workbench pr draft -o FILE`` writes them.
    """

    DEFAULT_CSS = """
    DraftScreen { align: center middle; }
    DraftScreen > Vertical { width: 90%; height: 90%; border: thick $primary; background: $surface; }
    DraftScreen #draft-help { dock: bottom; color: $text-muted; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "copy", "Copy", id="draft.copy", tooltip="Copy the draft to the clipboard"),
        Binding("s", "save", "Save", id="draft.save", tooltip="Save the draft to a Markdown file"),
        Binding("escape", "dismiss", "Close", id="draft.close", tooltip="Close the preview"),
    ]

    def __init__(self, name: str, preview: str, text: str, save_to: Path, shown_as: str):
        super().__init__()
        self.upstream, self.preview, self.text = name, preview, text
        self.save_to, self.shown_as = save_to, shown_as

    def compose(self) -> ComposeResult:
        with Vertical():
            with VerticalScroll():
                yield Markdown(self.preview, id="draft-text")
            yield Static(
                f"c copy · s save to {self.shown_as} (then: workbench pr open {self.upstream} "
                f"--body-file {self.shown_as}) · esc close",
                id="draft-help",
                markup=False,
            )

    def action_copy(self) -> None:
        self.app.copy_to_clipboard(self.text)
        self.notify("draft copied to the clipboard")

    def action_save(self) -> None:
        atomic_write_bytes(self.save_to, self.text.encode())
        self.notify(f"draft saved to {self.shown_as}")


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
