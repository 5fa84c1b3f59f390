"""Markdown for the detail pane (an issue or PR, a run, a series, a notification) and the PR
draft preview. No Textual here.

Text that is not meant as Markdown (titles, file names, labels, names, messages) goes through
:func:`md_text`, :func:`md_code` or :func:`md_fence`, so ``__init__`` or
``0001-Fix-_quantize_affine_-comment.patch`` reach the screen as written.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from workbench.bench import report
from workbench.config import Recipe
from workbench.display import REVIEW_TEXT, ago, is_stale, missing_labels, worktree_sentence
from workbench.github.blocking import Blocker, BlockingView, first_line
from workbench.github.model import Notification, PrStatus
from workbench.github.notifications import REASONS
from workbench.github.store import NotificationPoll, StoredJobLog, TrackedItem
from workbench.pr.patch_effects import PatchEffect
from workbench.runs import RunResult
from workbench.steps.cost import COST_RUNS, cost_words
from workbench.tui.data import ListFilter, SeriesView

if TYPE_CHECKING:
    from workbench.pr import PrDraft

_INLINE = re.compile(r"([\\`*_\[\]<>|~&#!])")
"""Characters that open or close inline Markdown (emphasis, code, links, HTML, entities, table
cells, strikethrough) or end a heading."""
_BLOCK_MARK = re.compile(r"^([ \t]*)([-+=>]|\d+(?=[.)]))", re.MULTILINE)
"""A list, quote or setext underline at the start of a line; a number before ``.`` or ``)``."""


def md_text(text: str) -> str:
    """``text`` as Markdown that renders as ``text``: every character that could start
    emphasis, code, a link, HTML or a block is escaped."""
    text = _INLINE.sub(r"\\\1", text)
    return _BLOCK_MARK.sub(_escape_mark, text)


def _escape_mark(m: re.Match[str]) -> str:
    indent, mark = m.group(1), m.group(2)
    if mark.isdigit():  # "1. x" is a list: the dot after the number is escaped instead
        return indent + mark + "\\"
    return indent + "\\" + mark


def md_code(text: str) -> str:
    """``text`` as a code span, whatever backticks it holds (on one line)."""
    text = " ".join(text.splitlines())
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    ticks = "`" * (longest + 1)
    pad = " " if text.startswith(("`", " ")) or text.endswith(("`", " ")) else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def md_fence(text: str, info: str = "") -> list[str]:
    """``text`` as a fenced code block (its lines), longer fences than any it holds."""
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=2)
    ticks = "`" * (longest + 1)
    return [ticks + info, *text.splitlines(), ticks]


def blocking_markdown(
    t: TrackedItem,
    found: Sequence[Blocker],
    status: PrStatus | None,
    logs: Mapping[tuple[str, int], StoredJobLog],
    now: datetime,
) -> list[str]:
    """The PR's blocking section: what blocks it, the failing jobs' first error blocks, the
    unresolved threads and the comments since the last push."""
    i = t.item
    lines = ["### Blocking", ""]
    if status is None:
        lines += ["*Checks, threads and comments are synced for your PRs and review requests.*", ""]
    yours = [b for b in found if b.blocks]
    if yours:
        for b in yours:
            line = f"- **{md_text(b.kind)}** {md_code(b.name)} {md_text(b.detail)}"
            if b.klass and b.why:
                line += f" — *{md_text(b.klass)}: {md_text(b.why)}*"
            lines.append(line)
    elif found:
        lines.append("Nothing of yours blocks it.")
    else:
        lines.append("Nothing blocks it." if status is not None else "Nothing known blocks it.")
    # Failing checks that are not the contributor's (trunk, flakes ...): dimmed, with why.
    for b in found:
        if not b.blocks:
            ask = f" → {md_text(b.ask)}" if b.ask else ""
            drci = f" (Dr.CI: {md_text(b.drci)})" if b.drci else ""
            lines.append(
                f"- *not yours, {md_text(b.klass or '')}:* {md_code(b.name)} "
                f"*{md_text(b.why or '')}{ask}{drci}*"
            )
    lines.append("")
    if status is None:
        return lines
    for c in status.checks:
        if not c.failed:
            continue
        log = logs.get((i.repo, c.job_id)) if c.job_id is not None else None
        lines.append(f"**{md_text(c.label)}**: {md_text(c.conclusion or '')}")
        if log is not None and log.error_block:
            block = "\n".join(log.error_block.splitlines()[:20])
            lines += ["", *md_fence(block, "text")]
        elif log is not None:
            lines.append(" · no error block found in its log")
        elif c.job_id is not None:
            lines.append(" · press `l` to fetch its log")
        lines.append("")
    if status.comments:
        lines += ["### Comments since your last push", ""]
        for said in status.comments:
            who = md_text(f"@{said.author or 'ghost'}")
            said_ = md_text(first_line(said.body))
            lines.append(f"- {who} ({ago(said.created_at, now)}): {said_}")
        lines.append("")
    pending = [c for c in status.checks if c.conclusion is None]
    if pending:
        lines += [f"{len(pending)} check(s) still running.", ""]
    return lines


def item_markdown(
    t: TrackedItem,
    recipe: Recipe | None,
    now: datetime,
    linked: list[int] | None = None,
    *,
    blocking: BlockingView | None = None,
) -> str:
    i = t.item
    kind = "pull request" if i.is_pull_request else "issue"
    lines = [f"## #{i.number} {md_text(i.title)}", ""]
    facts = [f"**{md_text(i.repo)}**", kind, i.state]
    if i.draft:
        facts.append("draft")
    if i.author:
        facts.append(md_text(f"by @{i.author}"))
    lines.append(" · ".join(facts))
    lines.append("")
    when = f"updated {ago(i.updated_at, now)} ({i.updated_at}) · created {i.created_at}"
    if i.state == "open" and is_stale(i.updated_at, now):
        when += " · **stale**"
    lines += [when, ""]
    if i.labels:
        lines += ["Labels: " + " ".join(md_code(label) for label in i.labels), ""]
    if i.assignees:
        lines += ["Assignees: " + md_text(", ".join(f"@{a}" for a in i.assignees)), ""]
    if i.is_pull_request:
        status = [f"CI: {t.ci or 'unknown'}"]
        if t.review:
            status.append(f"review: {REVIEW_TEXT.get(t.review, (t.review,))[0]}")
        if t.review_requested:
            status.append("your review is requested")
        missing = missing_labels(recipe, i.labels)
        if missing:
            status.append("missing labels: " + ", ".join(md_code(m) for m in missing))
        lines += [" · ".join(status), ""]
        if i.linked_issues:
            lines += ["Fixes " + ", ".join(f"#{n}" for n in i.linked_issues), ""]
        if blocking is not None and i.state == "open":
            key = (i.repo, i.number)
            lines += blocking_markdown(
                t, blocking.blocking.get(key, []), blocking.details.get(key), blocking.logs, now
            )
    if linked:
        lines += ["Linked PRs: " + ", ".join(f"#{n}" for n in linked), ""]
    lines += [f"<{i.url}>", "", "---", "", i.body.strip() or "*No description.*"]
    return "\n".join(lines)


def run_markdown(run: RunResult, current: bool) -> str:
    d = run.doc
    state = "current" if current else "stale (made from another version of the series)"
    lines = [
        f"## {md_text(run.upstream)} {run.kind}: {md_text(run.verdict())}",
        "",
        f"run {md_code(run.run_id)} · {run.origin} · device {md_text(run.device)} · {state}",
        "",
    ]
    if d.get("command"):
        lines += [md_code(str(d["command"])), ""]
    if run.kind == "tests":
        counts = d.get("counts") or {}
        if counts:
            lines += ["| passed | failed | error | skipped |", "|---:|---:|---:|---:|"]
            lines.append(
                "| "
                + " | ".join(
                    str(counts.get(k, 0)) for k in ("passed", "failed", "error", "skipped")
                )
                + " |"
            )
            lines.append("")
        elif d.get("note"):
            lines += [md_text(str(d["note"])), ""]
        skips = d.get("skipped_by_reason") or {}
        if skips:
            lines += ["### Skipped, by reason", "", "| tests | reason |", "|---:|---|"]
            lines += [f"| {n} | {md_text(reason)} |" for reason, n in skips.items()]
            lines.append("")
        for title, key in (("Regressions", "regressions"), ("Failing before too", "preexisting")):
            entries = d.get(key) or []
            if entries:
                lines += [f"### {title}", ""]
                lines += [
                    f"- {md_code(e['id'])} ({md_text(e['status'])}; "
                    f"baseline: {md_text(str(e['on_baseline']))})"
                    for e in entries
                ]
                lines.append("")
        gaps = d.get("not_exercised") or []
        if gaps:
            device = str(gaps[0].get("device") or d.get("device"))
            lines += [f"### Not exercised on {md_text(device)}", ""]
            lines += [
                f"- {md_code(g['file'] + '::' + g['block'])} ({md_text(g['how'])})" for g in gaps
            ]
            lines += [
                "",
                "No mapped test runs this changed code here: run the tests on a GPU runner.",
            ]
            lines.append("")
        if d.get("map"):
            m = d["map"]
            lines += [
                f"Tests picked one by one by the test map of {md_code(str(m['commit'])[:12])} "
                f"({m['tests']} tests).",
                "",
            ]
        elif d.get("map_note"):
            lines += [md_text(str(d["map_note"])), ""]
    elif run.kind == "map":
        lines += [
            f"Test map of {md_code(str(d.get('commit'))[:12])} on {md_text(str(d.get('device')))}: "
            f"{d.get('tests')} "
            f"tests in {d.get('test_files')} file(s), {d.get('blocks')} blocks, "
            f"{d.get('seconds_total')} s" + ("" if d.get("complete") else " (partial)"),
            "",
        ]
    elif run.kind == "codegen":
        from workbench.codegen import report as codegen_report

        # The table and findings; the diffs stay in the run folder (codegen.md has them).
        lines += [codegen_report.to_markdown(d), f"diffs in {md_code(f'{run.folder}/diffs/')}", ""]
    else:
        # The same report the PR draft quotes: evidence only, outputs, geomean, why no verdict.
        lines += [report.to_markdown({**d, "command": None}), ""]
    lines.append(f"files: {md_code(f'runs/{run.upstream}/{run.run_id}/')}")
    return "\n".join(lines)


def series_markdown(view: SeriesView) -> str:
    lines = [f"## Series {md_text(view.name)}", ""]
    if view.error is not None:
        lines += [f"**{md_text(view.error.message)}**", "", md_text(view.error.hint or "")]
        return "\n".join(lines)
    st = view.status
    if st is None:
        return "\n".join(lines)
    wt = st.worktree
    lines += [
        f"pin {md_code(st.pin.ref)} (from {md_text(st.pin.source)}) · {len(st.patches)} "
        f"patch(es) · {md_text(view.applies)}",
        "",
        f"worktree {md_code(str(wt.path))}: {md_text(worktree_sentence(wt.state, wt.stopped))}"
        + (f" → {md_code(wt.hint)}" if wt.hint else ""),
        "",
        md_text(
            f"last tests: {view.tests.verdict() if view.tests else 'none'} ({view.tests_state}) · "
            f"last bench: {view.bench.verdict() if view.bench else 'none'} ({view.bench_state})"
        ),
        "",
    ]
    lines += per_patch_sources(view)
    for p in st.patches:
        lines += [
            f"### {md_text(p.file)}",
            "",
            f"{md_text(p.subject)} (+{p.added} −{p.deleted})",
            "",
        ]
        effect = view.effects.get(p.file)
        if effect is not None:
            lines += effect_markdown(effect)
        lines += [f"- {md_code(f.path)}" for f in p.files]
        lines.append("")
    lines.append(f"changed files: {len(st.changed_files)}")
    return "\n".join(lines)


def per_patch_sources(view: SeriesView) -> list[str]:
    """Which runs the patches' own outcomes come from and what finding out cost; a per-patch run
    of an earlier version of the series is named, its outcomes not shown (nothing without one)."""
    said = []
    for kind, r in view.per_patch.current().items():
        cost = r.doc.get("per_patch_cost")
        how = cost_words(cost, COST_RUNS[kind]) if isinstance(cost, dict) else None
        said.append(f"{kind} from run {md_code(r.run_id)}" + (f" ({md_text(how)})" if how else ""))
    for kind, r in view.per_patch.stale().items():
        said.append(
            f"the newest {kind} run {md_code(r.run_id)} is from an earlier version of the series, "
            "so it is not shown"
        )
    return ["per patch: " + " · ".join(said), ""] if said else []


def effect_markdown(effect: PatchEffect) -> list[str]:
    """A patch's own tests and bench outcome, each a paragraph."""
    lines = []
    for what, words in (
        ("tests", effect.tests_words(md_code, md_text)),
        ("bench", effect.bench_words(md_code, md_text)),
    ):
        if words is not None:
            lines += [f"{what}: {words}", ""]
    return lines


LIST_WORDS = {
    "issues": ("issues", "No issues in the store: sync (`s`) fetches them."),
    "mine": ("PRs of yours", "No open PRs of yours in the store."),
    "reviews": ("review requests", "No PR waits for your review."),
}
EMPTY_TABS = {
    "patches": "No upstream has a recipe: add one as `upstreams/NAME/recipe.toml`.",
    "runs": "No runs yet: `t` runs the tests and `B` the benchmarks of the highlighted "
    "upstream (or `nox -s NAME_tests`).",
}
READING = {
    "patches": "Reading the series…",
    "runs": "Reading the runs…",
}


def empty_tab_markdown(
    kind: str, *, read: bool, filter: ListFilter | None = None, note: str | None = None
) -> str:
    """What the detail pane says on a tab with no row: still reading, why the list is empty
    (``note``), what the filter left out, or that there is nothing yet."""
    if not read:
        return f"*{READING.get(kind, 'Reading the store…')}*"
    if note:
        return f"*{md_text(note)}*"
    if kind in LIST_WORDS:
        what, nothing = LIST_WORDS[kind]
        narrowed = filter_words(filter) if filter is not None else ""
        if narrowed:
            return f"*No {what} match the filter: {md_text(narrowed)}.*"
        return f"*{nothing}*"
    return f"*{EMPTY_TABS.get(kind, 'Nothing to show.')}*"


def filter_words(f: ListFilter) -> str:
    """The filter in words (empty when it narrows nothing)."""
    words = []
    if f.upstream:
        words.append(f"upstream {f.upstream}")
    if f.text.strip():
        words.append(f"“{f.text.strip()}”")
    words += [f"label {label}" for label in f.labels]
    if f.newcomer:
        words.append("newcomer labels")
    if f.unassigned:
        words.append("unassigned")
    return ", ".join(words)


def notifications_note(poll: NotificationPoll, now: datetime) -> str:
    """What the Notifications tab says when it has no row to show."""
    if poll.checked_at is None:
        return "*Notifications are not fetched yet: sync (`s`) with a token.*"
    if poll.unavailable:
        return f"**Notifications unavailable:** {md_text(poll.unavailable)}"
    return f"*No unread notifications of the upstreams (checked {ago(poll.checked_at, now)}).*"


def notification_markdown(
    n: Notification, now: datetime, poll: NotificationPoll | None = None
) -> str:
    number = f" #{n.number}" if n.number is not None else ""
    state = "unread" if n.unread else f"read {ago(n.last_read_at, now)}"
    lines = [
        f"## {md_text(n.title)}",
        "",
        f"**{md_text(n.repo)}** · {md_text(n.subject_type)}{number} · {state}",
        "",
        f"Why: {md_text(REASONS.get(n.reason, n.reason))} ({md_code(n.reason)})",
        "",
        f"updated {ago(n.updated_at, now)} ({n.updated_at})",
        "",
    ]
    if n.url:
        lines += [f"<{n.url}>", ""]
    if poll is not None and poll.unavailable:
        lines += [f"**Notifications unavailable:** {md_text(poll.unavailable)}", ""]
    lines += ["---", "", "`o` opens it · `m` marks it read on GitHub (asks first)"]
    return "\n".join(lines)


def draft_preview(draft: PrDraft) -> str:
    """A PR draft as Markdown: warnings and labels above the title and body. The body is
    Markdown as GitHub will render it; the title is plain text there, and so here."""
    lines = []
    if draft.warnings:
        lines += [f"**{len(draft.warnings)} warning(s)**", ""]
        lines += [f"- {md_text(w.message)} {md_code(w.code)}" for w in draft.warnings]
        lines.append("")
    if draft.labels:
        lines += ["labels: " + ", ".join(md_code(label) for label in draft.labels), ""]
    if draft.kept:
        lines += [f"kept from your saved draft: {md_text(', '.join(draft.kept))}", ""]
    lines += ["---", "", f"# {md_text(draft.title)}", "", draft.body]
    return "\n".join(lines)
