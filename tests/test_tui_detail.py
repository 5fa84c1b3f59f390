"""The detail pane's and the draft preview's Markdown: plain text (titles, file names, labels,
names, messages) reaches the screen as written, parsed as Textual's Markdown widget parses it."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st
from markdown_it import MarkdownIt
from markdown_it.token import Token

from tests import tui_data
from workbench.github.store import TrackedItem
from workbench.tui.detail import (
    draft_preview,
    empty_tab_markdown,
    item_markdown,
    md_code,
    md_fence,
    md_text,
    series_markdown,
)

PARSER = MarkdownIt("gfm-like")  # what textual.widgets.Markdown parses with
MARKUP = {"em_open", "strong_open", "s_open", "code_inline", "html_inline", "image"}
"""Inline tokens that mean a character was read as Markdown (a link from linkify is fine: the
text stays as written)."""

PATCH = "0001-Fix-_quantize_affine_-comment.patch"
TITLE = "Fix __init__ of quant_primitives for 2**20 elements [fp8] <bf16> #12 `x`"


def inlines(markdown: str) -> list[Token]:
    return [t for t in PARSER.parse(markdown) if t.type == "inline"]


def read_as(token: Token, *, plain: bool = True) -> str:
    """The text a reader sees in an inline token; ``plain``: and it holds no markup."""
    children = token.children or []
    if plain:
        assert not [c.type for c in children if c.type in MARKUP], children
    return "".join(c.content for c in children if c.type in ("text", "softbreak"))


plain_lines = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=40
).filter(lambda s: s == s.strip())


@given(plain_lines)
def test_escaped_text_reads_as_written_in_a_paragraph(text: str) -> None:
    [token] = inlines(md_text(text))
    assert read_as(token) == text


@given(plain_lines)
def test_escaped_text_reads_as_written_in_a_heading_and_a_list_item(text: str) -> None:
    heading, item = inlines(f"## #12 {md_text(text)}\n\n- by {md_text(text)}")
    assert read_as(heading) == f"#12 {text}"
    assert read_as(item) == f"by {text}"


@given(st.text(alphabet="`ab ", min_size=1, max_size=12).filter(lambda s: s.strip(" ") != ""))
def test_a_code_span_holds_any_backticks(text: str) -> None:
    [token] = inlines(md_code(text))
    [code] = [c for c in token.children or [] if c.type == "code_inline"]
    assert code.content.strip(" ") == text.strip(" ")


def test_a_fence_is_longer_than_the_fences_it_holds() -> None:
    block = "FAILED x\n```\nnot the end\n````"
    [fence] = [t for t in PARSER.parse("\n".join(md_fence(block, "text"))) if t.type == "fence"]
    assert fence.content.rstrip("\n") == block and fence.info == "text"


def _item(**changes) -> TrackedItem:
    base = next(i for i in tui_data.items() if i.is_pull_request)
    return TrackedItem(replace(base, **changes), "failure", None, False, True)


def test_an_item_title_labels_and_names_are_not_markdown() -> None:
    t = _item(title=TITLE, author="some_user_", labels=("module: _ops_",), assignees=("a_b_",))
    text = item_markdown(t, None, tui_data.NOW)
    tokens = inlines(text)
    assert read_as(tokens[0]) == f"#{t.item.number} {TITLE}"
    assert "by @some_user_" in read_as(tokens[1], plain=False)
    assert "`module: _ops_`" in text
    assert "Assignees: @a_b_" in [read_as(tok, plain=False) for tok in tokens]


def test_a_patch_file_name_is_a_heading_as_written() -> None:
    from workbench.gitops.status import (
        PatchFile,
        PatchInfo,
        Pin,
        SeriesStatus,
        UpstreamHead,
        Worktree,
        WorktreeState,
    )
    from workbench.tui.data import SeriesView

    files = (PatchFile("torchao/quantization/quant_primitives.py", added=1, deleted=1),)
    patch = PatchInfo(PATCH, "Fix _quantize_affine_ comment", "ada", files)
    status = SeriesStatus(
        upstream="ao",
        repo="pytorch/ao",
        url="https://github.com/pytorch/ao.git",
        url_source="recipe",
        pin=Pin("v0.18.0", "recipe"),
        upstream_head=UpstreamHead("main", None),
        worktree=Worktree("upstreams/ao/patched", None, None, WorktreeState.IN_SYNC),
        patches=(patch,),
    )
    text = series_markdown(SeriesView("ao", status))
    read = [read_as(tok) for tok in inlines(text) if "`" not in tok.content]
    assert PATCH in read and "Fix _quantize_affine_ comment (+1 −1)" in read


def test_the_draft_preview_escapes_the_title_not_the_body() -> None:
    from workbench.pr import PrDraft

    draft = PrDraft(
        upstream="ao",
        repo="pytorch/ao",
        format="pytorch",
        title="Fix __init__ of _quantize_affine",
        body="Summary:\n\nMakes `quantize_affine` **faster**.",
        labels=["module: inference"],
    )
    text = draft_preview(draft)
    read = [read_as(tok) for tok in inlines(text) if tok.content.startswith("Fix")]
    assert "Fix __init__ of _quantize_affine" in read
    assert "Makes `quantize_affine` **faster**." in text  # the body is Markdown for GitHub


def test_an_empty_tab_says_why() -> None:
    from workbench.tui.data import ListFilter

    assert "Reading" in empty_tab_markdown("runs", read=False)
    assert "No runs yet" in empty_tab_markdown("runs", read=True)
    narrowed = empty_tab_markdown("mine", read=True, filter=ListFilter(text="my_filter"))
    assert [read_as(t, plain=False) for t in inlines(narrowed)] == [
        "No PRs of yours match the filter: “my_filter”."
    ]
    note = empty_tab_markdown("mine", read=True, note="who you are is unknown: sync first")
    assert "who you are is unknown" in note
