"""A new version of an open PR: what its fork branch and its body on GitHub hold now, the new
title and own body each PR gets, and the re-roll from the old series to the new one.

Everything here reads (``git ls-remote``, a fetch of the fork's commits this clone lacks, GitHub's
PRs); nothing is pushed or edited. The fork branch's commit is the lease the push goes with; the
marker in the body (:mod:`workbench.pr.revision`) says what workbench pushed last, so a branch
someone else pushed to is caught even before the push.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.errors import ProblemFound, UsageError
from workbench.github.client import GitHubClient
from workbench.gitops.git import run
from workbench.paths import Workspace
from workbench.pr.facts import Facts
from workbench.pr.make import make_draft
from workbench.pr.model import human_parts, keep_human_parts
from workbench.pr.reroll import Reroll, compute
from workbench.pr.revision import normalize, read_mark, same_text, strip_mark, without_part

if TYPE_CHECKING:
    from github.Repository import Repository

    from workbench.github.store import Store
    from workbench.pr.publish_plan import PublishPlan


@dataclass
class Previous:
    """What an open PR held before this push: its fork branch, and its body on GitHub."""

    version: int
    """The version of the series it is at (its marker; 1 without one)."""
    commit: str | None
    """What the fork branch holds now (None: no such branch): the push's lease."""
    recorded: str | None
    """The commit workbench pushed last, from the marker (None: unknown)."""
    top: str | None
    """The series' top commit when workbench pushed it, from the marker."""
    title: str
    body: str
    merge_from: str
    """The body the new one keeps the contributor's words from (seeds they never edited left
    out, so a reworded commit message still reaches a lower PR of a stack)."""


def said(text: str, token: str | None) -> str:
    """The last line git printed, the token masked."""
    lines = text.replace(token or "\0", "***").strip().splitlines()
    return lines[-1] if lines else "git said nothing"


def have(worktree: Path, sha: str) -> bool:
    return run(worktree, "cat-file", "-e", f"{sha}^{{commit}}", check=False).ok


def fork_heads(
    worktree: Path,
    plan: PublishPlan,
    patterns: list[str],
    *,
    env: dict[str, str],
    token: str | None,
) -> dict[str, str]:
    """Branch -> commit on the fork for ``patterns`` (``refs/heads/...``), read with real git;
    the commits are fetched (objects only: no ref, no FETCH_HEAD) where this clone lacks them."""
    listed = run(worktree, "ls-remote", plan.push_url, *patterns, env=env, check=False)
    if not listed.ok:
        raise UsageError(
            f"cannot read the branches of {plan.fork}: {said(listed.stderr, token)}",
            "check --push-url and that you can reach the fork",
        )
    heads = {}
    for line in listed.stdout.splitlines():
        sha, _, ref = line.partition("\t")
        # ls-remote matches patterns on the tail of a name: keep the exact ones.
        if any(fnmatch.fnmatchcase(ref, p) for p in patterns):
            heads[ref.removeprefix("refs/heads/")] = sha
    missing = [b for b, sha in heads.items() if not have(worktree, sha)]
    if missing:
        fetched = run(
            worktree,
            "fetch",
            "--quiet",
            "--no-tags",
            "--no-write-fetch-head",
            plan.push_url,
            *(f"refs/heads/{b}" for b in missing),
            env=env,
            check=False,
        )
        if not fetched.ok:
            raise UsageError(
                f"cannot fetch {', '.join(missing)} from {plan.fork}: "
                f"{said(fetched.stderr, token)}",
                "check --push-url and that you can reach the fork",
            )
        moved = [b for b in missing if not have(worktree, heads[b])]
        if moved:
            raise ProblemFound(
                f"{', '.join(moved)} of {plan.fork} moved while it was read; nothing was pushed",
                "someone else is pushing to it: run pr open again once they are done",
            )
    return heads


def _message(worktree: Path, sha: str) -> tuple[str, str]:
    """(subject, body) of a commit's message."""
    text = run(worktree, "show", "-s", "--format=%B", sha).stdout
    subject, _, body = text.partition("\n")
    return subject.strip(), body.strip()


def prepare_updates(
    ws: Workspace,
    name: str,
    plan: PublishPlan,
    client: GitHubClient,
    upstream: Repository,
    *,
    worktree: Path,
    facts: Facts,
    store: Store | None,
    stack_prefix: str | None,
    use_github_text: bool,
    env: dict[str, str],
) -> Reroll | None:
    """Read what every open PR of the plan holds (fork branch, body on GitHub), give each its
    new title and own body, and find the re-roll from the old series to the new one."""
    token = client.credentials.token
    patterns = [f"refs/heads/{pr.branch}" for pr in plan.prs]
    if stack_prefix:
        patterns.append(f"refs/heads/{stack_prefix}-*")
    heads = fork_heads(worktree, plan, patterns, env=env, token=token)
    opened = [pr for pr in plan.prs if pr.number is not None]
    with client.calls(f"GET /repos/{plan.repo}/pulls/N"):
        pulls = {pr.number: upstream.get_pull(pr.number) for pr in opened if pr.number}
        read = {n: (p.title, normalize(p.body)) for n, p in pulls.items()}
    for pr in opened:
        assert pr.number is not None
        title, body = read[pr.number]
        mark = read_mark(body)
        held = heads.get(pr.branch)
        pr.previous = Previous(
            version=mark.version,
            commit=held,
            recorded=mark.commit,
            top=mark.top,
            title=title,
            body=body,
            merge_from=strip_mark(body),
        )
        if mark.commit and held and held not in (mark.commit, pr.commit):
            what = (
                f"someone else pushed to {pr.branch} of {plan.fork} since workbench pushed "
                f"v{mark.version} (it holds {held[:12]}, not {mark.commit[:12]})"
            )
            if not plan.force:
                raise ProblemFound(
                    f"{what}; nothing was pushed and PR #{pr.number} was not changed",
                    f"see what is there (git fetch {plan.push_url} {pr.branch}); "
                    "--force replaces it",
                )
            plan.warnings.append(f"{what}: --force replaces it")
    plan.version = max(pr.previous.version for pr in opened if pr.previous) + 1
    top = plan.prs[-1]
    for pr in plan.prs:
        prev = pr.previous
        if prev is None:
            continue
        if pr is top:
            if use_github_text:
                again = make_draft(
                    ws,
                    name,
                    store=store,
                    facts=facts,
                    keep_from=f"{prev.title}\n\n{prev.merge_from}",
                )
                pr.title, pr.own = again.title, again.body
            continue
        # A lower PR of a stack: its title and description start as the commit's subject and
        # message; what the contributor did not change follows the new commit.
        subject, message = (
            _message(worktree, prev.commit)
            if prev.commit and have(worktree, prev.commit)
            else (None, None)
        )
        described = human_parts(prev.merge_from).get("description")
        if message is not None and described is not None and same_text(described, message):
            prev.merge_from = without_part(prev.merge_from, "description")
        pr.own = keep_human_parts(pr.own, prev.merge_from)[0]
        if subject is None or prev.title != subject:
            pr.title = prev.title
    if stack_prefix:
        left = sorted(
            b
            for b in heads
            if (m := re.fullmatch(re.escape(stack_prefix) + r"-(\d+)", b))
            and int(m[1]) > len(plan.prs)
        )
        if left:
            plan.warnings.append(
                f"{', '.join(left)} of {plan.fork} no longer belong to the stack: close their "
                "PRs on GitHub if they have any"
            )
    # The old series: its top as workbench recorded it, else the highest open PR's branch.
    olds = [pr.previous for pr in plan.prs if pr.previous]
    newest = [p.top for p in olds if p.version == plan.version - 1 and p.top]
    old_top = newest[0] if newest else next((p.commit for p in reversed(olds) if p.commit), None)
    same = all(pr.previous and pr.previous.commit == pr.commit for pr in plan.prs)
    if same and old_top == top.commit:
        plan.up_to_date = True
        plan.version -= 1
        return None
    if old_top is None or not have(worktree, old_top):
        plan.warnings.append(
            f"no v{plan.version} comment: the commit of v{plan.version - 1} is not on {plan.fork}"
        )
        return None
    reroll = compute(worktree, old_top, plan.pin, top.commit, old_version=plan.version - 1)
    if reroll is None:
        plan.warnings.append(
            f"no v{plan.version} comment: v{plan.version - 1} ({old_top[:12]}) shares no "
            "history with the pin"
        )
    return reroll
