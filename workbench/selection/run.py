"""Run the selected tests on the patched side, re-run failures on the baseline, report.

pytest writes junit XML; the report (``tests.json``) counts passed, failed, errors and skipped,
groups skips by reason ("needs CUDA: 40") so the contributor sees what still needs a GPU runner,
and separates regressions (fail on patched, pass on baseline, or tests the series adds that
fail) from failures that were already there.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

SCHEMA = 1
LOCATION_RE = re.compile(r"^(?:\S+\.py:\d+: )")
TPU_RE = re.compile(r"\bTPU\b", re.IGNORECASE)
TPU_ONLY = "needs a TPU (any skip reason naming TPU)"


@dataclass
class Outcome:
    id: str
    """pytest node id: ``path::Class::test``."""
    status: str
    """passed, failed, error or skipped."""
    message: str = ""


@dataclass
class JunitReport:
    outcomes: list[Outcome] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    def skipped_by_reason(self) -> dict[str, int]:
        """Skips counted by reason; the many ways of saying "TPU only" count as one."""
        reasons = Counter(
            TPU_ONLY if TPU_RE.search(_reason(o.message)) else _reason(o.message)
            for o in self.outcomes
            if o.status == "skipped"
        )
        return dict(reasons.most_common())


def _reason(message: str) -> str:
    text = LOCATION_RE.sub("", (message or "").strip())
    text = text.removeprefix("Skipped: ").strip()
    return text or "no reason given"


def _node_id(case: ET.Element) -> str:
    """The pytest node id of a junit testcase (``-o junit_family=xunit1`` writes ``file``)."""
    file, classname, name = case.get("file"), case.get("classname", ""), case.get("name", "")
    if not file:
        return f"{classname}::{name}"
    module = file[:-3].replace("/", ".").split(".")
    parts = classname.split(".")
    rest = parts[len(module) :] if parts[: len(module)] == module else []
    return "::".join([file, *rest, name])


def parse_junit(path: Path) -> JunitReport:
    report = JunitReport()
    if not path.exists():
        return report
    for case in ET.parse(path).getroot().iter("testcase"):
        status, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                status = {"failure": "failed", "error": "error", "skipped": "skipped"}[child.tag]
                text = (child.text or "").strip().splitlines()
                message = child.get("message") or (text[0] if text else "")
                if child.get("type") == "pytest.xfail":  # an expected failure, not a failure
                    message = f"expected to fail (xfail): {message}".rstrip(": ")
                break
        report.outcomes.append(Outcome(_node_id(case), status, message))
    return report


def has_pytest_config(worktree: Path) -> bool:
    """Whether pytest would find a configuration in the worktree itself."""
    markers = {
        "pytest.ini": "",
        ".pytest.ini": "",
        "tox.ini": "[pytest]",
        "setup.cfg": "[tool:pytest]",
        "pyproject.toml": "[tool.pytest.ini_options]",
    }
    for name, section in markers.items():
        f = worktree / name
        if f.is_file() and section in f.read_text(encoding="utf-8", errors="replace"):
            return True
    return False


def config_args(worktree: Path, folder: Path) -> list[str]:
    """pytest's ``-c`` with an empty ini in ``folder`` when the worktree has no configuration:
    otherwise pytest walks up to the workbench's own pyproject.toml and its settings."""
    if has_pytest_config(worktree):
        return []
    empty = folder / "pytest.ini"
    empty.write_text("[pytest]\n")
    return ["-c", str(empty)]


@dataclass
class PytestRun:
    returncode: int
    report: JunitReport
    seconds: float
    command: list[str]
    log: Path


def run_pytest(
    python: Path,
    worktree: Path,
    targets: list[str],
    junit: Path,
    log: Path,
    *,
    env: dict[str, str],
    args: list[str],
) -> PytestRun:
    config = config_args(worktree, junit.parent)
    cmd = [
        str(python),
        "-m",
        "pytest",
        *config,
        f"--rootdir={worktree}",
        *targets,
        f"--junitxml={junit}",
        "-p",
        "no:cacheprovider",
        "-o",
        "junit_family=xunit1",
        "-q",
        *args,
    ]
    t0 = time.perf_counter()
    with log.open("a") as fh:
        fh.write(f"$ {' '.join(cmd)}\n")
        fh.flush()
        proc = subprocess.run(
            cmd, cwd=worktree, env={**os.environ, **env}, stdout=fh, stderr=subprocess.STDOUT
        )
    return PytestRun(proc.returncode, parse_junit(junit), time.perf_counter() - t0, cmd, log)
