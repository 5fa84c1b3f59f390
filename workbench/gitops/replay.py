"""Replay a series onto a commit without touching any worktree.

Patches are applied to a temporary index (``git apply --cached``, then ``--3way`` if the plain
apply fails) and, when asked, turned into commits with ``commit-tree`` using the author, date and
message ``git mailinfo`` reads from each patch: the same commits ``git am`` would make. Status uses
it to say whether the series still applies to upstream's head; range-diff uses the commits.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from workbench.gitops.conflicts import files_from_errors
from workbench.gitops.git import run


@dataclass
class Replay:
    ok: bool
    commits: list[str] = field(default_factory=list)
    modes: list[str] = field(default_factory=list)
    """Per applied patch: ``clean`` or ``3way`` (applied only with a three-way merge)."""
    failed: Path | None = None
    conflicts: list[str] = field(default_factory=list)
    message: str = ""

    @property
    def tip(self) -> str | None:
        return self.commits[-1] if self.commits else None


def mailinfo(src: Path, patch: Path) -> tuple[dict[str, str], str]:
    """Author/Email/Subject/Date and the message body, exactly as ``git am`` reads them."""
    with tempfile.TemporaryDirectory() as tmp:
        msg, body = Path(tmp) / "msg", Path(tmp) / "patch"
        out = run(
            src,
            "mailinfo",
            str(msg),
            str(body),
            stdin=patch.read_text(encoding="utf-8", errors="surrogateescape"),
            what="reading a patch header",
        ).stdout
        info = {}
        for line in out.splitlines():
            key, _, value = line.partition(": ")
            if key:
                info[key] = value
        return info, msg.read_text(encoding="utf-8", errors="replace")


def replay(src: Path, base: str, patches: list[Path], *, make_commits: bool = True) -> Replay:
    with tempfile.TemporaryDirectory() as tmp:
        env = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        run(src, "read-tree", base, env=env, what="reading the base tree")
        parent = base
        result = Replay(ok=True)
        for patch in patches:
            plain = run(src, "apply", "--cached", str(patch), env=env, check=False)
            mode = "clean"
            if not plain.ok:
                merged = run(src, "apply", "--cached", "--3way", str(patch), env=env, check=False)
                if not merged.ok:
                    unmerged = run(src, "ls-files", "-u", env=env, check=False).stdout
                    files = sorted(
                        {ln.split("\t", 1)[1] for ln in unmerged.splitlines() if "\t" in ln}
                    )
                    result.ok = False
                    result.failed = patch
                    result.conflicts = files or files_from_errors(merged.stderr + plain.stderr)
                    result.message = merged.stderr.strip() or plain.stderr.strip()
                    return result
                mode = "3way"
            result.modes.append(mode)
            if make_commits:
                tree = run(src, "write-tree", env=env).stdout
                info, body = mailinfo(src, patch)
                message = info.get("Subject", patch.name)
                if body.strip():
                    message += "\n\n" + body.strip()
                who = {
                    "GIT_AUTHOR_NAME": info.get("Author", "unknown"),
                    "GIT_AUTHOR_EMAIL": info.get("Email", ""),
                    "GIT_AUTHOR_DATE": info.get("Date", ""),
                    "GIT_COMMITTER_NAME": info.get("Author", "unknown"),
                    "GIT_COMMITTER_EMAIL": info.get("Email", ""),
                    "GIT_COMMITTER_DATE": info.get("Date", ""),
                }
                parent = run(
                    src, "commit-tree", tree, "-p", parent, "-F", "-", env=who, stdin=message + "\n"
                ).stdout
                result.commits.append(parent)
        return result
