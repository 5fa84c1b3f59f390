"""Each step's worktree and environment, reused across runs.

Step 0 is the base worktree and the baseline environment, step N the patched worktree and the
patched environment. A step in between gets a detached worktree of the upstream clone under
``.workbench/steps/NAME/<tree hash>`` (named by its content, so a second run finds it) and an
environment under ``.workbench/envs/NAME/steps/<tree hash>``, built as a side's is and keyed by
what it is built from: rebuilt only when that changed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from workbench.envs.builder import EnvBuilder, SideEnv
from workbench.gitops.git import run as git
from workbench.steps.series import Step
from workbench.vocabulary import BASELINE, PATCHED

STEP = "step"
"""The label of an in-between step's environment (its folder says which content it holds)."""


def _tree(builder: EnvBuilder, commit: str) -> str:
    return git(builder.engine.co.src, "rev-parse", f"{commit}^{{tree}}").stdout


def _is_last(builder: EnvBuilder, step: Step) -> bool:
    return step.commit == builder.engine.co.head(builder.engine.co.patched)


def steps_home(builder: EnvBuilder) -> Path:
    """Where the in-between steps' worktrees of this upstream live."""
    return builder.ws.home / "steps" / builder.recipe.name


def step_worktree(builder: EnvBuilder, step: Step) -> Path:
    """The worktree of ``step``: base for step 0, patched for step N, else a detached worktree
    of the clone named by the step's tree (reused while it exists and holds that tree)."""
    co = builder.engine.co
    if step.index == 0:
        return co.base
    if _is_last(builder, step):
        return co.patched
    tree = _tree(builder, step.commit)
    path = steps_home(builder) / tree[:12]
    if co.worktree_ok(path):
        head = co.head(path)
        if head is not None and _tree(builder, head) == tree:
            return path
        git(co.src, "worktree", "remove", "--force", str(path), check=False)
    if path.exists():
        shutil.rmtree(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    git(co.src, "worktree", "prune")
    git(co.src, "worktree", "add", "--force", "--detach", "--quiet", str(path), step.commit)
    return path


def step_env(builder: EnvBuilder, step: Step) -> SideEnv:
    """The environment of ``step``: the baseline's for step 0, the patched side's for step N,
    else one built from its worktree (``rebuilt`` says whether a build happened)."""
    if step.index == 0:
        [env] = builder.build(sides=(BASELINE,))
        return env
    if _is_last(builder, step):
        [env] = builder.build(sides=(PATCHED,))
        return env
    worktree = step_worktree(builder, step)
    return builder.build_worktree(STEP, worktree, builder.root / "steps" / worktree.name)
