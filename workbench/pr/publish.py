"""``workbench pr open``: push the patched worktree's commits to a branch of the contributor's
fork and open a *draft* PR against the upstream, or one draft PR per patch (``--stack``).

Outside contributors cannot push branches upstream (ghstack needs that), so a stack is a row of
fork branches, each holding the patches up to its own, every PR based on the upstream's default
branch, and each body listing the stack with links. Only the top PR carries the test and bench
results: they were made from the whole series.

A branch that already has an open PR gets the next version of the series (v2, v3, ...): it is
pushed with a lease on what the fork held (so a push someone else made meanwhile is never
replaced), the body is regenerated with what the contributor wrote kept (see
:mod:`workbench.pr.revision`), and a "v2: changes since v1" comment with the range-diff can go on
the (top) PR (see :mod:`workbench.pr.reroll`).

Here: reading GitHub and the fork into a plan (:func:`plan_open`), the checks before anything is
pushed, the push, opening or editing the PRs, the comment. The plan itself, and the body each PR
gets, is :mod:`workbench.pr.publish_plan`.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from github.GithubObject import NotSet

from workbench.config import Recipe, load_recipe
from workbench.display import worktree_sentence
from workbench.errors import ProblemFound, UsageError
from workbench.github.client import GitHubClient
from workbench.gitops.engine import SeriesEngine
from workbench.gitops.git import run
from workbench.gitops.status import WorktreeState
from workbench.paths import Workspace
from workbench.pr.checks import ci_part
from workbench.pr.facts import gather
from workbench.pr.lint import lint
from workbench.pr.make import linked_issue, local_paths, make_draft
from workbench.pr.model import PrDraft, split_file_text, too_long
from workbench.pr.publish_plan import PlannedPr, PublishPlan, compose, lower_body, top_ref
from workbench.pr.reroll import comment_text
from workbench.pr.update import prepare_updates, said

if TYPE_CHECKING:
    from github.Repository import Repository

    from workbench.github.store import Store

SLUG_RE = re.compile(r"^[\w.-]+/[\w.-]+$")
LABEL_PERMISSIONS = ("triage", "push", "maintain", "admin")


def _slug(text: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]+", "-", text.lower()).strip("-")
    return slug[:40].rstrip("-") or "series"


def _check_fork(client: GitHubClient, fork: str, recipe: Recipe) -> Repository:
    if not SLUG_RE.match(fork):
        raise UsageError(f"--fork {fork!r} is not OWNER/REPO", "e.g. --fork yourname/ao")
    with client.calls(f"GET /repos/{fork}"):
        repo = client.github.get_repo(fork)
        parent = repo.parent.full_name if repo.fork and repo.parent else None
    if parent and parent.lower() != recipe.upstream.repo.lower():
        raise UsageError(
            f"{fork} is a fork of {parent}, not of {recipe.upstream.repo}",
            f"give your fork of {recipe.upstream.repo} with --fork",
        )
    if not repo.fork:
        raise UsageError(
            f"{fork} is not a fork of {recipe.upstream.repo}",
            f"fork {recipe.upstream.repo} on GitHub and give that with --fork",
        )
    return repo


def _commits(engine: SeriesEngine, name: str) -> tuple[str, list[str]]:
    """The pin the patched worktree sits on, and its commits on it, oldest first."""
    status = engine.report.status(check_head=False)
    wt = status.worktree
    if wt.state is not WorktreeState.IN_SYNC:
        raise UsageError(
            f"upstreams/{name}/patched {worktree_sentence(wt.state, wt.stopped)}",
            wt.hint or f"workbench patches refresh {name}",
        )
    commits = run(
        engine.co.patched, "rev-list", "--reverse", f"{wt.base}..{wt.head}"
    ).stdout.split()
    if len(commits) != len(status.patches):
        raise UsageError(
            f"upstreams/{name}/patched has {len(commits)} commit(s) on the pin but the series "
            f"lists {len(status.patches)}",
            f"workbench patches apply {name}",
        )
    base = run(engine.co.patched, "rev-parse", f"{wt.base}^{{commit}}").stdout
    return base, commits


def _auth_env(push_url: str, token: str | None) -> dict[str, str]:
    """An https push or fetch to GitHub gets the token through the environment only (never
    written to a config file)."""
    if not token or not push_url.startswith("https://"):
        return {}
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    host = push_url.split("/")[2]
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"http.https://{host}/.extraheader",
        "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: basic {basic}",
    }


def plan_open(
    ws: Workspace,
    name: str,
    client: GitHubClient,
    *,
    fork: str,
    stack: bool = False,
    branch: str | None = None,
    body_file: Path | None = None,
    push_url: str | None = None,
    issue: int | None = None,
    store: Store | None = None,
    force: bool = False,
) -> PublishPlan:
    """What ``pr open`` will do; reads GitHub and the fork, writes nothing."""
    recipe = load_recipe(ws, name)
    if client.anonymous:
        raise UsageError(
            "opening a PR needs a GitHub token", "set GH_TOKEN (or run `gh auth login`)"
        )
    engine = SeriesEngine(ws, recipe)
    engine.co.require()
    pin, commits = _commits(engine, name)
    fork_repo = _check_fork(client, fork, recipe)
    with client.calls(f"GET /repos/{recipe.upstream.repo}"):
        upstream = client.github.get_repo(recipe.upstream.repo)
        perms = upstream.permissions
        can_label = bool(perms and any(getattr(perms, p, False) for p in LABEL_PERMISSIONS))
    facts = gather(ws, recipe, linked_issue(ws, name, recipe.upstream.repo, issue, store))
    if body_file is not None:
        try:
            title, body = split_file_text(body_file.read_text())
        except OSError as exc:
            raise UsageError(f"cannot read {body_file}: {exc.strerror}") from None
        if not title:
            raise UsageError(f"{body_file} has no title line", "the first line is the PR title")
        draft = make_draft(ws, name, store=store, title=title, body=body, facts=facts)
    else:
        draft = make_draft(ws, name, store=store, facts=facts)
    _refuse_secrets(draft, client, ws)
    top_branch = branch or f"workbench/{name}/{_slug(draft.title)}"
    bot = recipe.pr.labels.bot_command
    hint = f'{bot} "{draft.labels[0]}"' if bot and draft.labels else None
    plan = PublishPlan(
        upstream=name,
        repo=recipe.upstream.repo,
        base=recipe.upstream.default_branch,
        fork=fork,
        push_url=push_url or fork_repo.clone_url,
        prs=[],
        can_label=can_label,
        warnings=[w.message for w in draft.warnings],
        label_hint=hint,
        force=force,
        pin=pin,
    )
    is_stack = stack and len(commits) > 1
    if not is_stack:
        plan.prs.append(
            PlannedPr(top_branch, commits[-1], draft.title, "", draft.labels, own=draft.body)
        )
    else:
        patches = facts.patches
        for i, (commit, patch) in enumerate(zip(commits, patches, strict=True)):
            last = i == len(commits) - 1
            plan.prs.append(
                PlannedPr(
                    f"{top_branch}-{i + 1}",
                    commit,
                    draft.title if last else patch.subject,
                    "",
                    draft.labels,
                    own=draft.body if last else "",
                )
            )
        for pr, patch in zip(plan.prs[:-1], patches, strict=False):
            pr.own = lower_body(patch.body, top_ref(plan.prs[-1].branch))
    owner = fork.split("/")[0]
    with client.calls(f"GET /repos/{plan.repo}/pulls"):
        for pr in plan.prs:
            found = list(upstream.get_pulls(state="open", head=f"{owner}:{pr.branch}"))
            if found:
                pr.existing, pr.number = found[0].html_url, found[0].number
    if any(pr.existing for pr in plan.prs):
        reroll = prepare_updates(
            ws,
            name,
            plan,
            client,
            upstream,
            worktree=engine.co.patched,
            facts=facts,
            store=store,
            stack_prefix=top_branch if is_stack else None,
            use_github_text=body_file is None,
            env=_auth_env(plan.push_url, client.credentials.token),
        )
        if plan.up_to_date:
            for pr in plan.prs:
                assert pr.previous is not None
                pr.title, pr.body = pr.previous.title, pr.previous.body
            return plan
        if reroll is not None:
            # The checks of the old version ran on the PR that held its top commit.
            held = [pr for pr in plan.prs if pr.previous and pr.number is not None]
            old_top = next(
                (pr for pr in held if pr.previous and pr.previous.commit == reroll.old_head),
                held[-1] if held else None,
            )
            ci = (
                ci_part(
                    store,
                    recipe,
                    old_top.number,
                    reroll.old_head,
                    old_version=reroll.old_version,
                )
                if old_top is not None and old_top.number is not None
                else []
            )
            plan.comment = comment_text(reroll, ci=ci)
            plan.comment_title, plan.changes = reroll.title, reroll.counts
    for i, pr in enumerate(plan.prs):
        pr.body, notes = compose(plan, i)
        if pr.previous:
            pr.body_changed = pr.body != pr.previous.body
            if notes:
                plan.warnings.append(
                    f"PR #{pr.number}: kept {'; '.join(notes)}: what the new body lacked is at "
                    "its end (<!-- human:from-github --> and any part no longer drafted); "
                    "move it where it belongs"
                )
    top = plan.prs[-1]
    if top.previous:
        # The parts to write yourself are those still empty once GitHub's text is kept.
        empty = "empty-human-section"
        drafted = {w.message for w in draft.warnings if w.code == empty}
        still = [w.message for w in lint(facts, top.body, top.labels) if w.code == empty]
        plan.warnings = still + [w for w in plan.warnings if w not in drafted]
    _refuse_token([pr.title + "\n" + pr.body for pr in plan.prs] + [plan.comment or ""], client)
    _refuse_too_long(plan)
    return plan


def _refuse_too_long(plan: PublishPlan) -> None:
    """GitHub refuses a body or comment over its limit: say so before anything is pushed."""
    texts = [(pr.body, f"the body of {pr.title!r}") for pr in plan.prs]
    texts.append((plan.comment or "", "the version comment"))
    for text, what in texts:
        problem = too_long(text, what)
        if problem:
            raise UsageError(
                problem + "; nothing was pushed",
                "edit the body file (--body-file) or run fewer tests into the draft",
            )


def _refuse_token(texts: list[str], client: GitHubClient) -> None:
    token = client.credentials.token
    if token and any(token in t for t in texts):
        raise UsageError(
            "the PR body or the version comment holds your GitHub token; nothing was pushed",
            "remove it (from the PR on GitHub, or from the patches)",
        )


def _refuse_secrets(draft: PrDraft, client: GitHubClient, ws: Workspace) -> None:
    token = client.credentials.token
    text = draft.title + "\n" + draft.body
    if token and token in text:
        raise UsageError(
            "the PR body holds your GitHub token; nothing was pushed", "remove it from the body"
        )
    for p in local_paths(ws):
        if str(p) in text:
            raise UsageError(
                f"the PR body holds a local path ({p}); nothing was pushed",
                "remove it from the body file",
            )


def push(ws: Workspace, name: str, plan: PublishPlan, client: GitHubClient) -> None:
    """One push of every branch. A new branch is pushed plainly (``--force`` replaces one that
    holds other commits); a new version of an open PR with ``--force-with-lease`` on what the
    fork held when the plan was made, all or nothing (``--atomic``)."""
    recipe = load_recipe(ws, name)
    worktree = SeriesEngine(ws, recipe).co.patched
    token = client.credentials.token
    env = _auth_env(plan.push_url, token)
    args = ["push", "--porcelain"]
    if plan.updates:
        args.append("--atomic")
    for pr in plan.updates:
        assert pr.previous is not None
        args.append(f"--force-with-lease=refs/heads/{pr.branch}:{pr.previous.commit or ''}")
    refspecs = [
        ("+" if plan.force and not pr.previous else "") + f"{pr.commit}:refs/heads/{pr.branch}"
        for pr in plan.prs
    ]
    result = run(worktree, *args, plan.push_url, *refspecs, env=env, check=False)
    if result.ok:
        return
    text = result.stderr or result.stdout
    stale = [
        line.split("\t")[1].rpartition(":refs/heads/")[2]
        for line in result.stdout.splitlines()
        if line.startswith("!") and "stale info" in line and "\t" in line
    ]
    if stale:
        prs = [pr for pr in plan.prs if pr.branch in stale and pr.number]
        which = ", ".join(f"#{pr.number}" for pr in prs) or "the PR"
        raise ProblemFound(
            f"someone else pushed to {', '.join(stale)} of {plan.fork} meanwhile; nothing was "
            f"pushed and {which} was not changed",
            f"see what is there now: workbench pr open {name} --fork {plan.fork} --dry-run",
        )
    rejected = any(w in text for w in ("rejected", "non-fast-forward", "fetch first"))
    raise ProblemFound(
        f"pushing to {plan.fork} failed: "
        + ("a branch there holds other commits" if rejected else said(text, token)),
        "use --branch NAME for a new branch, or --force to replace it"
        if rejected
        else "check --push-url and that you can push to the fork",
    )


def open_prs(
    plan: PublishPlan, client: GitHubClient, log: Callable[[str], None] = lambda _: None
) -> PublishPlan:
    """Open the new PRs as drafts, and give the open ones their new body (and title) where it
    changed."""
    owner = plan.fork.split("/")[0]
    with client.calls(f"POST /repos/{plan.repo}/pulls"):
        upstream = client.github.get_repo(plan.repo)
        made = []
        for pr in plan.prs:
            if pr.existing:
                pr.url = pr.existing
                continue
            created = upstream.create_pull(
                base=plan.base,
                head=f"{owner}:{pr.branch}",
                title=pr.title,
                body=pr.body,
                draft=True,
                maintainer_can_modify=True,
            )
            pr.number, pr.url = created.number, created.html_url
            made.append((pr, created))
            log(f"opened draft PR #{created.number}: {created.html_url}")
        if len(plan.prs) > 1 and made:
            # Numbers exist only now: every body gets the stack with links.
            for i, pr in enumerate(plan.prs):
                pr.body = compose(plan, i)[0]
                if pr.previous:
                    pr.body_changed = pr.body != pr.previous.body
            for pr, created in made:
                created.edit(body=pr.body)
        labels = plan.prs[-1].labels if plan.prs else []
        if plan.can_label and labels:
            for pr, created in made:
                created.add_to_labels(*labels)
                pr.labelled = True
    with client.calls(f"PATCH /repos/{plan.repo}/pulls/N"):
        for pr in plan.updates:
            assert pr.previous is not None and pr.number is not None
            changes = {}
            if pr.body_changed:
                changes["body"] = pr.body
            if pr.title != pr.previous.title:
                changes["title"] = pr.title
            if changes:
                upstream.get_pull(pr.number).edit(
                    title=changes.get("title", NotSet), body=changes.get("body", NotSet)
                )
            what = " and ".join(changes) + " updated" if changes else "body unchanged"
            log(f"already open: {pr.existing}; now at v{plan.version} ({what})")
    return plan


def post_comment(plan: PublishPlan, client: GitHubClient) -> None:
    """The "vN: changes since vM" comment on the top PR."""
    top = plan.prs[-1]
    if not plan.comment or top.number is None:
        return
    with client.calls(f"POST /repos/{plan.repo}/issues/{top.number}/comments"):
        pull = client.github.get_repo(plan.repo).get_pull(top.number)
        made = pull.create_issue_comment(plan.comment)
    plan.posted, plan.comment_url = True, made.html_url
