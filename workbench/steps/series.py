"""The steps of a patch series: step k is the pin plus the first k patches.

The patched worktree holds one commit per patch on top of the pin (``git am``, see
:mod:`workbench.gitops.engine`), so step k is its k-th commit after the pin: step 0 is the pin
(the baseline side), step N the patched side. The commits are the series' patches only while the
worktree is what the patch files give (no uncommitted changes, no commits not refreshed, one
commit per patch); anything else is refused with the command that fixes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from workbench.envs.builder import EnvBuilder
from workbench.errors import UsageError
from workbench.gitops.git import run as git
from workbench.gitops.status import WorktreeState


@dataclass(frozen=True)
class Step:
    """The pin plus the first ``index`` patches of the series."""

    index: int
    """k: how many patches of the series this step holds."""
    patch: str | None
    """The file name of patch k in ``patches/NAME/`` (None for step 0, the pin)."""
    commit: str
    """The patched worktree's commit for step k (the pin for step 0)."""
    changed_files: list[str] = field(default_factory=list)
    """What patch k changes against step k-1 (empty for step 0)."""


def series_steps(builder: EnvBuilder) -> list[Step]:
    """Steps 0..N of the series, from the patched worktree's commits ``pin..HEAD``, matched one
    to one with the series' patch files. A worktree that is not what the files give (uncommitted
    changes, commits not refreshed, a stopped apply) is a :class:`UsageError` saying the fix."""
    engine = builder.engine
    co = engine.co
    builder.worktrees()  # cloned, base at the pin, patched built from the files if they changed
    name = engine.name
    where = engine.ws.relative(co.patched)
    refresh = f"run `workbench patches refresh {name}` first"
    dirty = co.uncommitted(co.patched)
    if dirty:
        shown = ", ".join(d.strip() for d in dirty[:3]) + (" …" if len(dirty) > 3 else "")
        raise UsageError(
            f"{where} has uncommitted changes ({shown}): each step is built from a patch's commit",
            f"commit them and {refresh}",
        )
    series = engine.series()
    worktree = engine.report.worktree(series=series)
    if worktree.state is WorktreeState.CONFLICT:
        raise UsageError(
            f"an {worktree.stopped or 'apply'} of the {name} series stopped on a conflict in {where}",
            f"finish it with `workbench patches {worktree.stopped or 'apply'} {name} --continue`",
        )
    if worktree.state is WorktreeState.UNSAVED_COMMITS:
        raise UsageError(f"{where} has commits that are not in the series' patch files", refresh)
    if worktree.state is WorktreeState.PATCHES_CHANGED:
        raise UsageError(
            f"the patch files of {name} changed since {where} was built from them",
            f"run `workbench patches apply {name}` first",
        )
    pin = co.head(co.base)
    head = worktree.head
    if pin is None or head is None or not co.is_ancestor(pin, head):
        raise UsageError(
            f"{where} is not built on the pin of {name}",
            f"rebuild it with `workbench patches apply {name}`",
        )
    commits = git(co.src, "rev-list", "--reverse", "--first-parent", f"{pin}..{head}").stdout
    ordered = commits.split()
    if len(ordered) != len(series.entries):
        raise UsageError(
            f"{where} has {len(ordered)} commit(s) on the pin but the series has "
            f"{len(series.entries)} patch(es): a step needs one commit per patch",
            refresh,
        )
    steps = [Step(0, None, pin, [])]
    before = pin
    for k, (patch, commit) in enumerate(zip(series.entries, ordered, strict=True), 1):
        diff = git(co.src, "diff", "--name-only", "--no-renames", before, commit).stdout
        steps.append(Step(k, patch, commit, sorted(diff.splitlines())))
        before = commit
    return steps
