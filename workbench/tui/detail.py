"""Markdown for the detail pane: an issue or PR, a run, a series, a notification. No Textual
here."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from workbench.bench import report
from workbench.config import Recipe
from workbench.display import REVIEW_TEXT, ago, is_stale, missing_labels, worktree_sentence
from workbench.github.blocking import Blocker, BlockingView, first_line
from workbench.github.model import Notification, PrStatus
from workbench.github.notifications import REASONS
from workbench.github.store import JobLog, NotificationPoll, TrackedItem
from workbench.runs import RunResult
from workbench.tui.data import SeriesView


def _code(text: str) -> str:
    return "`" + text.replace("`", "'") + "`"


def blocking_markdown(
    t: TrackedItem,
    found: Sequence[Blocker],
    status: PrStatus | None,
    logs: Mapping[tuple[str, int], JobLog],
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
            line = f"- **{b.kind}** {_code(b.name)} {b.detail}"
            if b.klass and b.why:
                line += f" — *{b.klass}: {b.why}*"
            lines.append(line)
    elif found:
        lines.append("Nothing of yours blocks it.")
    else:
        lines.append("Nothing blocks it." if status is not None else "Nothing known blocks it.")
    # Failing checks that are not the contributor's (trunk, flakes ...): dimmed, with why.
    for b in found:
        if not b.blocks:
            ask = f" → {b.ask}" if b.ask else ""
            drci = f" (Dr.CI: {b.drci})" if b.drci else ""
            lines.append(
                f"- *not yours, {b.klass or ''}:* {_code(b.name)} *{b.why or ''}{ask}{drci}*"
            )
    lines.append("")
    if status is None:
        return lines
    for c in status.checks:
        if not c.failed:
            continue
        log = logs.get((i.repo, c.job_id)) if c.job_id is not None else None
        lines.append(f"**{c.label}**: {c.conclusion}")
        if log is not None and log.error_block:
            lines += ["", "```text", *log.error_block.splitlines()[:20], "```"]
        elif log is not None:
            lines.append(" · no error block found in its log")
        elif c.job_id is not None:
            lines.append(" · press `l` to fetch its log")
        lines.append("")
    if status.comments:
        lines += ["### Comments since your last push", ""]
        for said in status.comments:
            who = f"@{said.author or 'ghost'}"
            lines.append(f"- {who} ({ago(said.created_at, now)}): {first_line(said.body)}")
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
    lines = [f"## #{i.number} {i.title}", ""]
    facts = [f"**{i.repo}**", kind, i.state]
    if i.draft:
        facts.append("draft")
    if i.author:
        facts.append(f"by @{i.author}")
    lines.append(" · ".join(facts))
    lines.append("")
    when = f"updated {ago(i.updated_at, now)} ({i.updated_at}) · created {i.created_at}"
    if i.state == "open" and is_stale(i.updated_at, now):
        when += " · **stale**"
    lines += [when, ""]
    if i.labels:
        lines += ["Labels: " + " ".join(_code(label) for label in i.labels), ""]
    if i.assignees:
        lines += ["Assignees: " + ", ".join(f"@{a}" for a in i.assignees), ""]
    if i.is_pull_request:
        status = [f"CI: {t.ci or 'unknown'}"]
        if t.review:
            status.append(f"review: {REVIEW_TEXT.get(t.review, (t.review,))[0]}")
        if t.review_requested:
            status.append("your review is requested")
        missing = missing_labels(recipe, i.labels)
        if missing:
            status.append("missing labels: " + ", ".join(_code(m) for m in missing))
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
        f"## {run.upstream} {run.kind}: {run.verdict()}",
        "",
        f"run `{run.run_id}` · {run.origin} · device {run.device} · {state}",
        "",
    ]
    if d.get("command"):
        lines += [f"`{d['command']}`", ""]
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
            lines += [d["note"], ""]
        skips = d.get("skipped_by_reason") or {}
        if skips:
            lines += ["### Skipped, by reason", "", "| tests | reason |", "|---:|---|"]
            lines += [f"| {n} | {reason} |" for reason, n in skips.items()]
            lines.append("")
        for title, key in (("Regressions", "regressions"), ("Failing before too", "preexisting")):
            entries = d.get(key) or []
            if entries:
                lines += [f"### {title}", ""]
                lines += [
                    f"- `{e['id']}` ({e['status']}; baseline: {e['on_baseline']})" for e in entries
                ]
                lines.append("")
        gaps = d.get("not_exercised") or []
        if gaps:
            lines += [f"### Not exercised on {gaps[0].get('device') or d.get('device')}", ""]
            lines += [f"- `{g['file']}::{g['block']}` ({g['how']})" for g in gaps]
            lines += [
                "",
                "No mapped test runs this changed code here: run the tests on a GPU runner.",
            ]
            lines.append("")
        if d.get("map"):
            m = d["map"]
            lines += [
                f"Tests picked one by one by the test map of `{str(m['commit'])[:12]}` ({m['tests']} tests).",
                "",
            ]
        elif d.get("map_note"):
            lines += [d["map_note"], ""]
    elif run.kind == "map":
        lines += [
            f"Test map of `{str(d.get('commit'))[:12]}` on {d.get('device')}: {d.get('tests')} "
            f"tests in {d.get('test_files')} file(s), {d.get('blocks')} blocks, "
            f"{d.get('seconds_total')} s" + ("" if d.get("complete") else " (partial)"),
            "",
        ]
    elif run.kind == "codegen":
        from workbench.codegen import report as codegen_report

        # The table and findings; the diffs stay in the run folder (codegen.md has them).
        lines += [codegen_report.to_markdown(d), f"diffs in `{run.folder}/diffs/`", ""]
    else:
        # The same report the PR draft quotes: evidence only, outputs, geomean, why no verdict.
        lines += [report.to_markdown({**d, "command": None}), ""]
    lines.append(f"files: `runs/{run.upstream}/{run.run_id}/`")
    return "\n".join(lines)


def series_markdown(view: SeriesView) -> str:
    lines = [f"## Series {view.name}", ""]
    if view.error is not None:
        lines += [f"**{view.error.message}**", "", view.error.hint or ""]
        return "\n".join(lines)
    st = view.status
    if st is None:
        return "\n".join(lines)
    wt = st.worktree
    lines += [
        f"pin `{st.pin.ref}` (from {st.pin.source}) · {len(st.patches)} patch(es) · {view.applies}",
        "",
        f"worktree `{wt.path}`: {worktree_sentence(wt.state, wt.stopped)}"
        + (f" → `{wt.hint}`" if wt.hint else ""),
        "",
        f"last tests: {view.tests.verdict() if view.tests else 'none'} ({view.tests_state}) · "
        f"last bench: {view.bench.verdict() if view.bench else 'none'} ({view.bench_state})",
        "",
    ]
    for p in st.patches:
        lines += [f"### {p.file}", "", f"{p.subject} (+{p.added} −{p.deleted})", ""]
        lines += [f"- `{f.path}`" for f in p.files]
        lines.append("")
    lines.append(f"changed files: {len(st.changed_files)}")
    return "\n".join(lines)


def notifications_note(poll: NotificationPoll, now: datetime) -> str:
    """What the Notifications tab says when it has no row to show."""
    if poll.checked_at is None:
        return "*Notifications are not fetched yet: sync (`s`) with a token.*"
    if poll.unavailable:
        return f"**Notifications unavailable:** {poll.unavailable}"
    return f"*No unread notifications of the upstreams (checked {ago(poll.checked_at, now)}).*"


def notification_markdown(
    n: Notification, now: datetime, poll: NotificationPoll | None = None
) -> str:
    number = f" #{n.number}" if n.number is not None else ""
    state = "unread" if n.unread else f"read {ago(n.last_read_at, now)}"
    lines = [
        f"## {n.title}",
        "",
        f"**{n.repo}** · {n.subject_type}{number} · {state}",
        "",
        f"Why: {REASONS.get(n.reason, n.reason)} ({_code(n.reason)})",
        "",
        f"updated {ago(n.updated_at, now)} ({n.updated_at})",
        "",
    ]
    if n.url:
        lines += [f"<{n.url}>", ""]
    if poll is not None and poll.unavailable:
        lines += [f"**Notifications unavailable:** {poll.unavailable}", ""]
    lines += ["---", "", "`o` opens it · `m` marks it read on GitHub (asks first)"]
    return "\n".join(lines)
