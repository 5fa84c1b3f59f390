"""The CI part of a "vN: changes since vN-1" comment: what happened to vN-1's checks, from what
the last ``workbench sync`` stored (offline; ``pr open`` never syncs).

Each failing check of vN-1's head is classified as ``workbench prs`` does
(:mod:`workbench.github.triage`) and listed under whose it is: the series' own (``new``,
``unclassified``: what this version is meant to address), broken on trunk too, flaky, awaiting a
maintainer's approval, cancelled; each with its one-line why. The part names the head commit and
when the sync read it, and says so plainly when the store holds no checks for that head.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from workbench.github.model import PrStatus
from workbench.github.triage import classify, read_facts
from workbench.pr.model import GENERATED

if TYPE_CHECKING:
    from workbench.config import Recipe
    from workbench.github.store import Store

GROUPS = (
    (("new", "unclassified"), "Failing with this series: v{new} is meant to address them"),
    (("broken-trunk",), "Broken on trunk too (failing on the merge base): not this series'"),
    (("flaky",), "Flaky: not this series'"),
    (("awaiting-approval",), "Awaiting a maintainer's approval of the workflows"),
    (("cancelled",), "Cancelled, not failed"),
)
"""The classes of :data:`workbench.github.triage.CLASSES`, in the order the comment lists them."""
MAX_CI_CHARS = 8_000
"""The CI part's most characters: the range-diff keeps the rest of GitHub's 65,536."""
MAX_WHY = 240
"""One why's most characters."""


def _when(stamp: str) -> str:
    """The store's ``YYYY-MM-DDTHH:MM:SSZ`` as ``YYYY-MM-DD HH:MM UTC``."""
    return f"{stamp[:10]} {stamp[11:16]} UTC"


def _code(text: str) -> str:
    return "`" + text.replace("`", "'") + "`"


def _cut(text: str, width: int) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


def ci_part(
    store: Store | None,
    recipe: Recipe,
    number: int,
    head: str,
    *,
    old_version: int,
    limit: int = MAX_CI_CHARS,
) -> list[str]:
    """The comment's lines about the checks of v``old_version`` on PR ``number`` of the recipe's
    upstream, whose head was ``head``; block-quoted as generated text."""
    repo = recipe.upstream.repo
    old, new = old_version, old_version + 1
    title = f"#### CI of v{old}"
    lacks = f"the store holds no checks for v{old}'s head {_code(head[:12])}"
    if store is None:
        return _said(title, f"{lacks}: nothing was synced yet.")
    state = store.sync_state(repo)
    status_at = state.status_at if state else None
    if status_at is None:
        return _said(title, f"{lacks}: no `workbench sync` has read the checks of {repo}.")
    status = store.pr_details(repo, number)
    if status is None:
        return _said(
            title,
            f"{lacks}: the last `workbench sync` of {repo} ({_when(status_at)}) did not read "
            f"#{number} (it reads the checks of your own PRs, with a token).",
        )
    if status.head_sha != head:
        seen = _code(status.head_sha[:12]) if status.head_sha else "no head commit"
        return _said(
            title,
            f"{lacks}: the last `workbench sync` ({_when(status_at)}) saw #{number} at {seen}; "
            "a sync before `pr open` reports them.",
        )
    return _checks(
        title, status, recipe, store, _code(head[:12]), _when(status_at), old, new, limit
    )


def _said(title: str, text: str) -> list[str]:
    return [title, "", f"> {GENERATED}: {text}"]


def _checks(
    title: str,
    status: PrStatus,
    recipe: Recipe,
    store: Store,
    sha: str,
    when: str,
    old: int,
    new: int,
    limit: int,
) -> list[str]:
    repo, number = status.repo, status.number
    checks = status.checks
    failed = [c for c in checks if c.failed]
    running = [c for c in checks if c.conclusion is None]
    read = f"`workbench sync` read them on {when}"
    unread = status.checks_total - len(checks)
    of = f"{len(checks)} read of {status.checks_total}" if unread > 0 else f"{len(checks)}"
    if not checks:
        return _said(title, f"GitHub reported no checks for v{old}'s head {sha} when {read}.")
    if not failed:
        still = f"; {len(running)} were still running" if running else ""
        every = f"all {of} checks" if len(checks) > 1 else "the one check"
        said = (
            f"{every} of v{old} (head {sha}) passed"
            if not running and unread <= 0
            else f"none of the {of} checks of v{old} (head {sha}) failed{still}"
        )
        return _said(title, f"{said}, as {read}.")
    facts = read_facts(store, [status], {repo: recipe.upstream.default_branch}, {repo: recipe.ci})
    verdicts = [(c, classify(c, status, facts)) for c in failed]
    lines = [
        title,
        "",
        f"> {GENERATED} from the checks of v{old} (head {sha}, #{number}) as {read}, "
        f"classified against the merge base: {len(failed)} of {of} failed"
        + (f", {len(running)} still running" if running else "")
        + ".",
    ]
    size = sum(len(line) + 1 for line in lines)
    left = len(verdicts)
    for classes, heading in GROUPS:
        group = [(c, v) for c, v in verdicts if v.klass in classes]
        if not group:
            continue
        block = [">", f"> **{heading.format(new=new)}**"]
        for c, v in group:
            item = f"> - {_code(c.label)} ({v.klass}): {_cut(v.why, MAX_WHY)}"
            if size + sum(len(b) + 1 for b in block) + len(item) + 1 > limit:
                break
            block.append(item)
        shown = len(block) - 2
        if shown:
            lines += block
            size += sum(len(b) + 1 for b in block)
            left -= shown
        if shown < len(group):
            break
    if left:
        lines.append(
            f"> - … and {left} more failing check(s): `workbench prs {repo}#{number}` lists "
            "them all"
        )
    return lines
