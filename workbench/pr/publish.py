"""``workbench pr open``: push the patched worktree's commits to a branch of the contributor's
fork and open a *draft* PR against the upstream, or one draft PR per patch (``--stack``).

Outside contributors cannot push branches upstream (ghstack needs that), so a stack is a row of
fork branches, each holding the patches up to its own, every PR based on the upstream's default
branch, and each body listing the stack with links. Only the top PR carries the test and bench
results: they were made from the whole series.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from workbench.config import Recipe, load_recipe
from workbench.display import worktree_sentence
from workbench.errors import ProblemFound, UsageError
from workbench.github.client import GitHubClient
from workbench.gitops.engine import SeriesEngine
from workbench.gitops.git import run
from workbench.gitops.status import WorktreeState
from workbench.paths import Workspace
from workbench.pr.facts import gather
from workbench.pr.make import linked_issue, local_paths, make_draft
from workbench.pr.model import GENERATED, PrDraft, human, quote, split_file_text

if TYPE_CHECKING:
    from github.Repository import Repository

    from workbench.github.store import Store

SLUG_RE = re.compile(r"^[\w.-]+/[\w.-]+$")
LABEL_PERMISSIONS = ("triage", "push", "maintain", "admin")


@dataclass
class PlannedPr:
    branch: str
    commit: str
    title: str
    body: str
    labels: list[str]
    existing: str | None = None
    """The URL of an open PR from this branch, if there is one (it is not opened twice)."""
    number: int | None = None
    url: str | None = None
    labelled: bool = False


@dataclass
class Plan:
    upstream: str
    repo: str
    base: str
    fork: str
    push_url: str
    prs: list[PlannedPr]
    can_label: bool
    warnings: list[str] = field(default_factory=list)
    label_hint: str | None = None
    force: bool = False

    def describe(self) -> str:
        lines = [
            f"push {len(self.prs)} branch(es) to {self.fork}"
            + (" (force: replaces what is there)" if self.force else "")
            + ":"
        ]
        for pr in self.prs:
            lines.append(f"  {pr.commit[:12]} -> {pr.branch}")
        lines.append(f"open {len(self.prs)} DRAFT PR(s) against {self.repo}:{self.base}:")
        for pr in self.prs:
            state = f" (already open: {pr.existing}; only the branch moves)" if pr.existing else ""
            lines.append(f"  {pr.title}{state}")
        labels = self.prs[-1].labels if self.prs else []
        if labels:
            how = "set" if self.can_label else "listed for you (this token cannot set labels)"
            lines.append(f"labels {how}: {', '.join(labels)}")
            if not self.can_label and self.label_hint:
                lines.append(f"  ask: {self.label_hint}")
        for w in self.warnings:
            lines.append(f"warning: {w}")
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {"schema": 1, "kind": "pr-open", **asdict(self)}


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


def _commits(engine: SeriesEngine, name: str) -> list[str]:
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
    return commits


def _stack_body(plan: Plan, index: int, own: str) -> str:
    """The stack list (with links once the PRs exist) above a PR's own body."""
    rows = []
    for i, pr in enumerate(plan.prs):
        ref = f"#{pr.number}" if pr.number else f"`{pr.branch}`"
        mark = " ← this PR" if i == index else ""
        rows.append(f"{i + 1}. {ref} {pr.title}{mark}")
    head = (
        f"{GENERATED}: a stack of {len(plan.prs)} draft PRs from `{plan.fork}`, each holding "
        "the patches below it; review the last commit of each.\n\n" + "\n".join(rows)
    )
    return quote(head) + "\n\n" + own


def _lower_body(patch_body: str, top: str) -> str:
    text = patch_body.strip() or None
    part = (
        f"<!-- human:description -->\n{text}\n<!-- /human:description -->"
        if text
        else human("description", "In your own words: what this patch changes and why.")
    )
    return (
        part
        + "\n\n"
        + quote(f"{GENERATED}: tests and benchmarks were run on the whole series; see {top}.")
    )


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
) -> Plan:
    recipe = load_recipe(ws, name)
    if client.anonymous:
        raise UsageError(
            "opening a PR needs a GitHub token", "set GH_TOKEN (or run `gh auth login`)"
        )
    engine = SeriesEngine(ws, recipe)
    engine.co.require()
    commits = _commits(engine, name)
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
    plan = Plan(
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
    )
    if not stack or len(commits) == 1:
        plan.prs.append(PlannedPr(top_branch, commits[-1], draft.title, draft.body, draft.labels))
    else:
        patches = facts.patches
        for i, (commit, patch) in enumerate(zip(commits, patches, strict=True)):
            last = i == len(commits) - 1
            plan.prs.append(
                PlannedPr(
                    f"{top_branch}-{i + 1}",
                    commit,
                    draft.title if last else patch.subject,
                    draft.body if last else "",
                    draft.labels,
                )
            )
        for pr, patch in zip(plan.prs[:-1], patches, strict=False):
            pr.body = _lower_body(patch.body, f"the top of the stack (`{plan.prs[-1].branch}`)")
    owner = fork.split("/")[0]
    with client.calls(f"GET /repos/{plan.repo}/pulls"):
        for pr in plan.prs:
            found = list(upstream.get_pulls(state="open", head=f"{owner}:{pr.branch}"))
            if found:
                pr.existing, pr.number = found[0].html_url, found[0].number
    return plan


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


def push(ws: Workspace, name: str, plan: Plan, client: GitHubClient) -> None:
    """One push of every branch; an https push to GitHub gets the token through the
    environment only (never written to a config file)."""
    recipe = load_recipe(ws, name)
    worktree = SeriesEngine(ws, recipe).co.patched
    refspecs = [f"{pr.commit}:refs/heads/{pr.branch}" for pr in plan.prs]
    env: dict[str, str] = {}
    token = client.credentials.token
    if token and plan.push_url.startswith("https://"):
        import base64

        basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
        host = plan.push_url.split("/")[2]
        env = {
            "GIT_CONFIG_COUNT": "1",
            "GIT_CONFIG_KEY_0": f"http.https://{host}/.extraheader",
            "GIT_CONFIG_VALUE_0": f"AUTHORIZATION: basic {basic}",
        }
    args = ["push", "--porcelain", *(["--force"] if plan.force else []), plan.push_url, *refspecs]
    result = run(worktree, *args, env=env, check=False)
    if not result.ok:
        said = (result.stderr or result.stdout).replace(token or "\0", "***")
        rejected = "rejected" in said or "non-fast-forward" in said or "fetch first" in said
        raise ProblemFound(
            f"pushing to {plan.fork} failed: "
            + ("a branch there holds other commits" if rejected else said.strip().splitlines()[-1]),
            "use --branch NAME for a new branch, or --force to replace it"
            if rejected
            else "check --push-url and that you can push to the fork",
        )


def open_prs(plan: Plan, client: GitHubClient, log: Callable[[str], None] = lambda _: None) -> Plan:
    owner = plan.fork.split("/")[0]
    with client.calls(f"POST /repos/{plan.repo}/pulls"):
        upstream = client.github.get_repo(plan.repo)
        made = []
        for pr in plan.prs:
            if pr.existing:
                pr.url = pr.existing
                log(f"already open: {pr.existing}")
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
        if len(plan.prs) > 1:
            # Numbers exist only now: every new PR's body gets the stack with links.
            top = plan.prs[-1]
            for pr, created in made:
                index = plan.prs.index(pr)
                own = pr.body
                if top.number:
                    own = own.replace(f"the top of the stack (`{top.branch}`)", f"#{top.number}")
                pr.body = _stack_body(plan, index, own)
                created.edit(body=pr.body)
        labels = plan.prs[-1].labels if plan.prs else []
        if plan.can_label and labels:
            for pr, created in made:
                created.add_to_labels(*labels)
                pr.labelled = True
    return plan
