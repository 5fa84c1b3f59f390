"""pytest's junit XML read back: outcomes, and skips by reason as a reader should take them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import write
from workbench.selection.run import parse_junit

TESTS = """\
import pytest


def test_passes():
    assert True


@pytest.mark.xfail(reason="rounding differs on this platform")
def test_known_to_fail():
    assert 1 == 2


@pytest.mark.skip(reason="needs CUDA")
def test_gpu():
    pass
"""


def test_an_expected_failure_is_said_so_not_read_as_a_failure(tmp_path: Path):
    write(tmp_path / "test_x.py", TESTS)
    write(tmp_path / "pytest.ini", "[pytest]\n")
    xml = tmp_path / "junit.xml"
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={xml}"],
        cwd=tmp_path,
        capture_output=True,
        check=False,
    )
    report = parse_junit(xml)
    assert report.count("passed") == 1 and report.count("failed") == 0
    assert report.skipped_by_reason() == {
        "expected to fail (xfail): rounding differs on this platform": 1,
        "needs CUDA": 1,
    }
