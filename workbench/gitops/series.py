"""A patch series kept as files: ``patches/<name>/series`` plus ``git format-patch`` files.

The ``series`` file is quilt's: one patch file name per line, ``#`` comments, blank lines ignored
(a ``-p1`` option after the name is accepted; git patches are always -p1). One structured comment
is the workbench's own: ``# workbench-base: <commit>`` records the upstream commit the series
applies to after a ``rebase`` (it overrides the recipe's pin).

Writes replace the whole folder atomically (see :func:`replace_series_dir`): after a crash at any
point, the folder holds either the old series or the new one, never a mix.
"""

from __future__ import annotations

import email.header
import email.parser
import hashlib
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from workbench.errors import UsageError
from workbench.faults import checkpoint
from workbench.fsutil import fsync_dir, write_bytes_durably

SERIES_FILE = "series"
BASE_RE = re.compile(r"^#\s*workbench-base:\s*([0-9a-fA-F]{7,64})\s*$")
SUBJECT_PREFIX_RE = re.compile(r"^\s*\[[^\]]*PATCH[^\]]*\]\s*")


@dataclass
class Series:
    """The parsed ``series`` file of one upstream."""

    dir: Path
    entries: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    """Comment lines before the first entry (the base line excluded)."""
    comments: dict[str, list[str]] = field(default_factory=dict)
    """Comment lines that precede an entry, kept with it when the series is rewritten."""
    base: str | None = None

    @property
    def file(self) -> Path:
        return self.dir / SERIES_FILE

    def paths(self) -> list[Path]:
        return [self.dir / e for e in self.entries]

    def render(self, entries: list[str] | None = None, base: str | None = None) -> str:
        lines = []
        base = base if base is not None else self.base
        if base:
            lines.append(f"# workbench-base: {base}")
        lines.extend(self.header)
        for e in entries if entries is not None else self.entries:
            lines.extend(self.comments.get(e, []))
            lines.append(e)
        lines.extend(self.comments.get("", []))
        return "\n".join(lines) + "\n" if lines else ""

    def digest(self) -> str:
        """A hash of the series file and every listed patch: changes when any of them changes."""
        h = hashlib.sha256()
        h.update(self.file.read_bytes() if self.file.exists() else b"")
        for p in self.paths():
            h.update(b"\0" + p.name.encode() + b"\0")
            h.update(p.read_bytes())
        return h.hexdigest()


def parse_series(text: str, directory: Path, shown: str) -> Series:
    series = Series(dir=directory)
    pending: list[str] = []
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            m = BASE_RE.match(line)
            if m:
                series.base = m.group(1).lower()
            elif series.entries:
                pending.append(raw)
            else:
                series.header.append(raw)
            continue
        name, *options = line.split()
        if any(opt != "-p1" for opt in options):
            raise UsageError(
                f"{shown}:{lineno}: unsupported option {' '.join(options)!r} for {name}",
                "git format-patch files are always -p1; remove the option",
            )
        if "/" in name or name in (".", ".."):
            raise UsageError(
                f"{shown}:{lineno}: '{name}' is not a file name in {directory.name}/",
                "list patch files by name, one per line",
            )
        if name in series.entries:
            raise UsageError(f"{shown}:{lineno}: '{name}' is listed twice", "list it once")
        series.entries.append(name)
        if pending:
            series.comments[name] = pending
            pending = []
    # Comments after the last entry stay at the end.
    if pending:
        series.comments.setdefault("", []).extend(pending)
    return series


def load_series(directory: Path, shown: str | None = None) -> Series:
    """Load ``directory/series`` (an absent folder or file is an empty series)."""
    recover(directory)
    shown = shown or str(directory / SERIES_FILE)
    file = directory / SERIES_FILE
    if not file.exists():
        return Series(dir=directory)
    series = parse_series(file.read_text(encoding="utf-8"), directory, shown)
    missing = [e for e in series.entries if not (directory / e).is_file()]
    if missing:
        raise UsageError(
            f"{shown} lists {missing[0]}, which is not in {directory.name}/",
            "restore the file (git checkout) or remove its line from the series",
        )
    return series


# --- patch files -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PatchHeader:
    subject: str
    author: str
    date: str


def read_patch_header(path: Path) -> PatchHeader:
    """Subject, author and date of a ``git format-patch`` file."""
    with open(path, "rb") as fh:
        raw = fh.read(64 * 1024)
    head = raw.split(b"\n\n", 1)[0]
    msg = email.parser.BytesHeaderParser().parsebytes(head + b"\n\n")

    def decoded(name: str) -> str:
        value = msg.get(name)
        if value is None:
            return ""
        text = str(email.header.make_header(email.header.decode_header(str(value))))
        return " ".join(text.split())

    subject = SUBJECT_PREFIX_RE.sub("", decoded("Subject"))
    return PatchHeader(subject=subject or path.name, author=decoded("From"), date=decoded("Date"))


# --- atomic replacement ------------------------------------------------------------------------


def _siblings(directory: Path) -> tuple[Path, Path]:
    return (
        directory.parent / f".{directory.name}.new",
        directory.parent / f".{directory.name}.old",
    )


def recover(directory: Path) -> str | None:
    """Finish or undo a replacement a crash interrupted; returns what was done, if anything."""
    new, old = _siblings(directory)
    if not directory.exists() and old.exists():
        # Crashed between moving the old folder aside and moving the new one in: keep the old.
        os.rename(old, directory)
        shutil.rmtree(new, ignore_errors=True)
        return "restored the previous series after an interrupted write"
    done = None
    if new.exists():
        shutil.rmtree(new)
        done = "discarded an unfinished series write"
    if old.exists() and directory.exists():
        shutil.rmtree(old)
    return done


def replace_series_dir(directory: Path, files: dict[str, bytes], trash: Path) -> Path | None:
    """Make ``directory`` hold exactly ``files``, atomically.

    The previous folder is kept whole under ``trash/<timestamp>/`` (returned), so a patch that
    was dropped or rewritten can always be found again.
    """
    recover(directory)
    new, old = _siblings(directory)
    new.mkdir(parents=True)
    for name, data in files.items():
        write_bytes_durably(new / name, data)
    fsync_dir(new)
    checkpoint("series.new-written")
    had_old = directory.exists()
    if had_old:
        os.rename(directory, old)
    checkpoint("series.old-moved")
    os.rename(new, directory)
    fsync_dir(directory.parent)
    checkpoint("series.swapped")
    if not had_old:
        return None
    if not any(old.iterdir()):
        old.rmdir()
        return None
    trash.mkdir(parents=True, exist_ok=True)
    kept = trash / time.strftime("%Y%m%d-%H%M%S")
    n = 0
    while kept.exists():
        n += 1
        kept = trash / f"{time.strftime('%Y%m%d-%H%M%S')}-{n}"
    shutil.move(str(old), str(kept))
    return kept
