"""Is this red check mine? Each failing check of a PR, classified against the PR's merge base,
offline, from what the sync stored (:mod:`workbench.github.bases`), with the reason in words.

The rules are Dr. CI's (pytorch/test-infra, ``torchci/pages/api/drci/drci.ts``), first match
wins, with what a local store adds:

1. ``awaiting-approval``: ``action_required`` or ``startup_failure``, GitHub holding a first-time
   contributor's workflows until a maintainer approves them;
2. ``cancelled``: cancelled, not failed (Dr. CI leaves these out);
3. ``flaky`` for an unstable job: its name says ``unstable``, or an open issue ``UNSTABLE <job>``;
4. ``broken-trunk``: the same job (shard numbers ignored) failed on the merge base, and where both
   logs were fetched, with the same first error (the failing test, or the error line);
5. ``flaky``: the failing test has an open ``DISABLED <test>`` issue, or an open issue labelled
   flaky names it or the job; the same job passed in another attempt on the same head commit;
   its log was fetched and holds no test, build or Python error (an infrastructure failure);
6. ``unclassified``: nothing to compare with: the job did not run on the merge base, the merge
   base has no checks or is not known (a 404, a rate limit part-way), the base's job still ran;
7. ``new``: the same job passed on the merge base (or failed there with another first error).

Only ``new`` and ``unclassified`` block: the others are not the contributor's to fix, and say
what to ask a maintainer for when a fork contributor cannot act (approve the workflows, rerun a
job). Where ao's Dr. CI posted its own classification (the ``Dr.CI`` check run's JSON summary),
it is shown beside this one, and a disagreement is said, never settled silently.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from workbench.config.recipe import CiAsks
from workbench.github.model import CiCheck, CommitChecks, Item, MergeBase, PrStatus
from workbench.github.store import Store, StoredJobLog

CLASSES = ("new", "unclassified", "broken-trunk", "flaky", "awaiting-approval", "cancelled")
BLOCKING = frozenset({"new", "unclassified"})
"""The classes that are the contributor's to act on."""

AWAITING_APPROVAL = {
    "action_required": "GitHub holds the workflow until a maintainer approves it (action_required: "
    "a first-time contributor's runs wait for approval)",
    "startup_failure": "the workflow did not start (startup_failure): a first-time contributor's "
    "runs wait for approval, or the workflow file upstream is broken",
}
"""The conclusions of a check that waits for a maintainer's approval, and why, in words."""

ASK_APPROVAL = "ask a maintainer to approve the workflows"
ASK_RERUN = "ask a maintainer to rerun the job (a fork's author cannot)"

DRCI_CLASSES = {
    "FAILED": "new",
    "NEW_FAILURE": "new",
    "BROKEN_TRUNK": "broken-trunk",
    "FLAKY": "flaky",
    "UNSTABLE": "flaky",
    "UNKNOWN": "unclassified",
    "UNCLASSIFIED": "unclassified",
}
"""Dr. CI's summary keys in this module's words."""


@dataclass(frozen=True)
class Verdict:
    klass: str
    """One of :data:`CLASSES`."""
    why: str
    """One line naming the evidence."""
    ask: str | None = None
    """What a fork contributor asks a maintainer for, when the next step is theirs."""
    drci: str | None = None
    """Dr. CI's class for the same job, in :data:`CLASSES` words, where it posted one."""

    @property
    def blocks(self) -> bool:
        return self.klass in BLOCKING


@dataclass
class TriageFacts:
    """What the store holds to classify the failing checks of some PRs."""

    bases: dict[tuple[str, int], MergeBase] = field(default_factory=dict)
    """By (repo, PR number)."""
    base_checks: dict[tuple[str, str], CommitChecks] = field(default_factory=dict)
    """By (repo, merge base sha)."""
    heads: dict[tuple[str, str], CommitChecks] = field(default_factory=dict)
    """By (repo, head sha): jobs that passed in some attempt, Dr. CI's summary."""
    flaky_issues: dict[str, list[Item]] = field(default_factory=dict)
    """By repo: open DISABLED/UNSTABLE/flaky issues."""
    logs: dict[tuple[str, int], StoredJobLog] = field(default_factory=dict)
    """Fetched logs of the heads' and the bases' jobs, by (repo, job id)."""
    stopped: str | None = None
    """Why the last sync did not read every base (``bases_stopped``)."""
    asks: dict[str, CiAsks] = field(default_factory=dict)
    """By repo: the recipe's ``[ci]`` words for what to ask a maintainer for."""

    def ask_approval(self, repo: str) -> str:
        return self.asks.get(repo, CiAsks()).approval or ASK_APPROVAL

    def ask_rerun(self, repo: str, check: CiCheck) -> str:
        return self.asks.get(repo, CiAsks()).rerun_ask(check.workflow, ASK_RERUN)


def read_facts(
    store: Store,
    prs: Iterable[PrStatus],
    branches: Mapping[str, str],
    asks: Mapping[str, CiAsks] | None = None,
) -> TriageFacts:
    """The facts for ``prs`` (those with a failing check), in a few queries; ``asks``: the
    recipes' ``[ci]`` tables by repo."""
    from workbench.github.bases import STOPPED_KEY, base_key

    facts = TriageFacts(asks=dict(asks or {}))
    failing = [s for s in prs if s.head_sha and any(c.failed for c in s.checks)]
    if not failing:
        return facts
    keys = {(s.repo, s.number): base_key(s, branches) for s in failing}
    found = store.merge_bases(keys.values())
    facts.bases = {pr: found[k] for pr, k in keys.items() if k in found}
    wanted = [(b.repo, b.sha, "base") for b in facts.bases.values() if b.sha]
    wanted += [(s.repo, s.head_sha, "head") for s in failing if s.head_sha]
    for (repo, sha, kind), read in store.commit_checks(wanted).items():
        (facts.base_checks if kind == "base" else facts.heads)[(repo, sha)] = read
    repos = sorted({s.repo for s in failing})
    for issue in store.flaky_issues(repos):
        facts.flaky_issues.setdefault(issue.repo, []).append(issue)
    jobs: dict[str, set[int]] = {}
    for s in failing:
        jobs.setdefault(s.repo, set()).update(c.job_id for c in s.checks if c.job_id)
    for read in facts.base_checks.values():
        jobs.setdefault(read.repo, set()).update(c.job_id for c in read.checks if c.job_id)
    for repo, ids in jobs.items():
        facts.logs.update({(repo, k): v for k, v in store.job_logs(repo, ids).items()})
    stopped = store.meta(STOPPED_KEY)
    if stopped:
        try:
            said = json.loads(stopped)
            facts.stopped = f"{said.get('why')} at {said.get('at')}"
        except (ValueError, AttributeError):
            facts.stopped = "the last sync stopped part-way"
    return facts


# --- matching ------------------------------------------------------------------------------------

_CONFIG = re.compile(r"\(([^()]*)\)\s*$")


def job_key(label: str) -> str:
    """A job's ``workflow / name`` with its shard numbers left out, as Dr. CI matches jobs:
    ``test (cpu, 1, 4)`` and ``test (cpu, 3, 4)`` are the same job."""
    m = _CONFIG.search(label)
    if m is None:
        return label.strip().lower()
    parts = [p.strip() for p in m[1].split(",") if not p.strip().isdigit()]
    return (label[: m.start()].rstrip() + " (" + ", ".join(parts) + ")").lower()


_PYTEST_ID = re.compile(r"(?:FAILED|ERROR) (?P<file>[^\s:]+)::(?:(?P<cls>\w+)::)?(?P<test>\w+)")
_DISABLED = re.compile(r"DISABLED (?P<test>\w+)(?: \((?P<where>[\w.]+)\))?")
_UNSTABLE = re.compile(r"UNSTABLE (?P<job>.+)")


def failing_test(first_error: str | None) -> tuple[str | None, str] | None:
    """(class, test) that a pytest first error line names."""
    m = _PYTEST_ID.match(first_error or "")
    return (m["cls"], m["test"]) if m else None


def error_key(first_error: str) -> str:
    """What two first errors must share to be the same failure: the failing test's id for
    pytest's summary lines, else the line with its numbers left out (addresses, timings)."""
    m = _PYTEST_ID.match(first_error)
    if m:
        return f"{m['file']}::{m['cls'] or ''}::{m['test']}"
    return re.sub(r"0x[0-9a-f]+|\d+", "N", first_error.strip())


def _short(sha: str) -> str:
    return sha[:7]


# --- the rules -----------------------------------------------------------------------------------


def classify(
    check: CiCheck,
    pr: PrStatus,
    facts: TriageFacts,
    *,
    ref: str | None = None,
) -> Verdict:
    """The class of one failing ``check`` of ``pr``, and why. ``ref``: how the PR is named in a
    command (``pytorch/ao#12``)."""
    verdict = _classify(check, pr, facts, ref or f"{pr.repo}#{pr.number}")
    drci = drci_class(check, facts.heads.get((pr.repo, pr.head_sha or "")))
    if drci is None:
        return verdict
    why = verdict.why
    if drci != verdict.klass:
        why += f"; Dr.CI says {drci}: the two disagree"
    return Verdict(verdict.klass, why, verdict.ask, drci)


def _classify(check: CiCheck, pr: PrStatus, facts: TriageFacts, ref: str) -> Verdict:
    label = check.label
    if check.conclusion in AWAITING_APPROVAL:
        return Verdict(
            "awaiting-approval", AWAITING_APPROVAL[check.conclusion], facts.ask_approval(pr.repo)
        )
    if check.conclusion == "cancelled":
        return Verdict(
            "cancelled",
            "cancelled, not failed: a newer push or the workflow's concurrency group stops older "
            "runs, or someone cancelled it",
            "push again, or " + facts.ask_rerun(pr.repo, check),
        )
    issues = facts.flaky_issues.get(pr.repo, [])
    if "unstable" in label.lower():
        return Verdict("flaky", "the job is marked unstable upstream (its name says so)", None)
    key = job_key(label)
    for issue in issues:
        m = _UNSTABLE.fullmatch(issue.title.strip())
        if m and (job_key(m["job"]) == key or key.startswith(job_key(m["job"]))):
            return Verdict("flaky", f"the job is marked unstable upstream: #{issue.number}", None)

    head_log = facts.logs.get((pr.repo, check.job_id)) if check.job_id else None
    head_error = head_log.first_error if head_log else None
    base = facts.bases.get((pr.repo, pr.number))
    base_read = facts.base_checks.get((pr.repo, base.sha)) if base and base.sha else None
    same = [c for c in base_read.checks if job_key(c.label) == key] if base_read else []
    failed_on_base = [c for c in same if c.failed and c.conclusion != "cancelled"]
    differs: str | None = None
    if base and base.sha and failed_on_base:
        sha = _short(base.sha)
        errors = [
            log.first_error
            for c in failed_on_base
            if c.job_id and (log := facts.logs.get((pr.repo, c.job_id))) and log.first_error
        ]
        if head_error and errors:
            if any(error_key(e) == error_key(head_error) for e in errors):
                return Verdict(
                    "broken-trunk",
                    f"the same job failed on the merge base {sha} with the same first error",
                    "nothing to fix in the PR; rebase once trunk is fixed",
                )
            differs = errors[0]
        else:
            return Verdict(
                "broken-trunk",
                f"the same job failed on the merge base {sha} (first errors not compared: "
                f"workbench prs log {ref} --base fetches both logs)",
                "nothing to fix in the PR; rebase once trunk is fixed",
            )

    flaky = _flaky(
        check,
        key,
        head_log,
        head_error,
        issues,
        facts.heads.get((pr.repo, pr.head_sha or "")),
        facts.ask_rerun(pr.repo, check),
    )
    if flaky is not None:
        return flaky

    if differs is not None and base is not None:
        return Verdict(
            "new",
            f"the same job failed on the merge base {_short(base.sha or '')} too, but with another "
            f"first error (there: {differs[:80]})",
        )
    return _unclassified_or_new(pr, base, base_read, same, facts.stopped)


def _flaky(
    check: CiCheck,
    key: str,
    head_log: StoredJobLog | None,
    head_error: str | None,
    issues: Sequence[Item],
    head: CommitChecks | None,
    rerun: str,
) -> Verdict | None:
    test = failing_test(head_error)
    if test is not None:
        cls, name = test
        for issue in issues:
            m = _DISABLED.fullmatch(issue.title.strip())
            if not m or m["test"] != name:
                continue
            where = (m["where"] or "").rsplit(".", 1)[-1]
            if cls is None or not where or where == cls:
                return Verdict("flaky", f"{name} is disabled upstream: #{issue.number}", rerun)
    for issue in issues:
        if issue.title.startswith(("DISABLED ", "UNSTABLE ")):
            continue  # matched above by their own rules
        title = issue.title.lower()
        if (test is not None and test[1].lower() in title) or check.name.lower() in title:
            return Verdict(
                "flaky",
                f"an open issue labelled flaky names {test[1] if test else 'the job'}: "
                f"#{issue.number}",
                rerun,
            )
    if head is not None and any(job_key(p) == key for p in head.passed):
        return Verdict("flaky", "the same job passed in another attempt on this head commit", rerun)
    if head_log is not None and not head_log.error_block:
        return Verdict(
            "flaky",
            "its log holds no test, build or Python error: a runner or infrastructure failure",
            rerun,
        )
    return None


def _unclassified_or_new(
    pr: PrStatus,
    base: MergeBase | None,
    base_read: CommitChecks | None,
    same: Sequence[CiCheck],
    stopped: str | None,
) -> Verdict:
    def unclassified(why: str) -> Verdict:
        return Verdict("unclassified", why)

    if base is None or (base.sha and base_read is None):
        what = (
            "its merge base was"
            if base is None
            else f"the checks of its merge base {_short(base.sha or '')} were"
        )
        if stopped:
            return unclassified(f"{what} not read: {stopped}; run workbench sync again")
        return unclassified(f"{what} not read yet: run workbench sync")
    if base.sha is None:
        return unclassified(f"no merge base to compare with: {base.problem}")
    assert base_read is not None
    sha = _short(base.sha)
    if base_read.problem:
        return unclassified(f"merge base {sha}: {base_read.problem}")
    if not base_read.checks:
        return unclassified(f"the merge base {sha} has no checks: nothing to compare with")
    if not same:
        return unclassified(f"the job did not run on the merge base {sha}: nothing to compare with")
    if any(c.conclusion == "success" for c in same):
        return Verdict(
            "new", f"the same job passed on the merge base {sha}: the failure came with this PR"
        )
    if any(c.conclusion is None for c in same):
        return unclassified(f"the same job was still running on the merge base {sha} at the sync")
    said = sorted({c.conclusion or c.status for c in same})
    return unclassified(f"the same job was {' / '.join(said)} on the merge base {sha}")


# --- Dr. CI --------------------------------------------------------------------------------------


def drci_classes(summary: str | None) -> dict[str, list[dict[str, object]]]:
    """Dr. CI's JSON summary: its class -> the jobs (``name``, ``id``); empty if unreadable."""
    try:
        raw = json.loads(summary) if summary else {}
    except ValueError:
        return {}
    if not isinstance(raw, dict):
        return {}
    return {
        str(k): [j for j in v if isinstance(j, dict)] for k, v in raw.items() if isinstance(v, list)
    }


def drci_class(check: CiCheck, head: CommitChecks | None) -> str | None:
    """Dr. CI's class of ``check``, in this module's words; None where it said nothing of it."""
    if head is None or not head.drci:
        return None
    for raw, jobs in drci_classes(head.drci).items():
        for job in jobs:
            if (check.job_id is not None and job.get("id") == check.job_id) or job.get("name") in (
                check.label,
                check.name,
            ):
                return DRCI_CLASSES.get(raw.upper(), raw.lower())
    return None
