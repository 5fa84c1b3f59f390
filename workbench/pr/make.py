"""``make_draft``: the facts, the upstream's layout, the labels and the lint, in one call."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from workbench.config import load_recipe
from workbench.paths import Workspace
from workbench.pr.facts import Facts, LinkedIssue, gather
from workbench.pr.formats import RENDERERS
from workbench.pr.labels import suggest_labels
from workbench.pr.lint import lint
from workbench.pr.model import DraftWarning, PrDraft, keep_human_parts, split_file_text
from workbench.pr.sections import scrub
from workbench.pr.work import current_work

if TYPE_CHECKING:
    from workbench.github.store import Store


def linked_issue(
    ws: Workspace, name: str, repo: str, number: int | None, store: Store | None
) -> LinkedIssue | None:
    """``number`` (or the issue work was started on), with its title if the store has it."""
    if number is None:
        work = current_work(ws, name)
        if work is None:
            return None
        number = work.number
    issue = LinkedIssue(number=number)
    if store is not None:
        tracked = store.item(repo, number)
        if tracked is not None:
            issue.title, issue.url = tracked.item.title, tracked.item.url
    return issue


def _results(facts: Facts) -> dict[str, dict]:
    out = {}
    for kind, latest in (("tests", facts.tests), ("bench", facts.bench)):
        r = latest.result
        out[kind] = {
            "state": latest.state,
            "run_id": r.run_id if r else None,
            "device": r.device if r else None,
            "origin": r.origin if r else None,
            "verdict": r.verdict() if r and latest.current else None,
        }
    return out


def local_paths(ws: Workspace) -> list[Path]:
    """Paths that must not appear in anything that leaves the machine."""
    return [ws.root, ws.root.resolve(), ws.home, ws.home.resolve()]


def make_draft(
    ws: Workspace,
    name: str,
    *,
    issue: int | None = None,
    store: Store | None = None,
    body: str | None = None,
    title: str | None = None,
    keep_from: str | None = None,
    facts: Facts | None = None,
) -> PrDraft:
    """The draft for the series of ``name``.

    With ``body``/``title`` (an edited draft file) the same labels and lint run over the
    contributor's text instead of a fresh one. With ``keep_from`` (the text of an earlier draft
    file) the fresh draft keeps that file's title and every human part written in it. ``facts``:
    what a caller has gathered already (then ``issue`` and ``store`` went into it).
    """
    recipe = load_recipe(ws, name)
    if facts is None:
        facts = gather(ws, recipe, linked_issue(ws, name, recipe.upstream.repo, issue, store))
    gen_title, gen_body = RENDERERS[recipe.pr.format](facts)
    title = scrub(title or gen_title, local_paths(ws))
    body = scrub(body if body is not None else gen_body, local_paths(ws))
    kept: list[str] = []
    if keep_from is not None:
        old_title, old_body = split_file_text(keep_from)
        body, kept = keep_human_parts(body, old_body)
        if old_title and old_title != title:
            title = old_title
            kept.append("title")
    labels, why = suggest_labels(recipe, facts.changed)
    bot = recipe.pr.labels.bot_command
    if bot and labels:
        why.append("without triage rights, ask in a comment: " + bot + ' "' + labels[0] + '"')
    draft = PrDraft(
        upstream=name,
        repo=recipe.upstream.repo,
        format=recipe.pr.format,
        title=title,
        body=body,
        labels=labels,
        label_notes=why,
        issue=facts.issue.number if facts.issue else None,
        series_digest=facts.series_digest,
        results=_results(facts),
        kept=kept,
    )
    draft.warnings = lint(facts, body, labels)
    if facts.issue and facts.issue.title is None and store is not None:
        draft.warnings.append(
            DraftWarning(
                "issue-unknown",
                f"#{facts.issue.number} is not in the local store: workbench sync {name}",
            )
        )
    return draft
