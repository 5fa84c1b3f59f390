"""A pytest plugin that records which functions of the upstream each test runs (stdlib only).

``workbench tests map`` copies this file next to the map it makes and runs pytest in the side's
environment with ``-p _workbench_testmap``. For every test (setup, call and teardown) a trace
function sees each Python function call (``call`` events only: it returns None, so no line is
traced) and keeps the code objects; those whose file lies under ``WORKBENCH_MAP_ROOT`` and not
under ``WORKBENCH_MAP_TESTS`` are written as ``[file, first line]`` per test. The host turns
lines into blocks. Results are written one test file at a time, atomically, as soon as that
file's last test ends, into ``WORKBENCH_MAP_OUT``: a map that is killed keeps every finished
file, and the next run skips them.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

import pytest


def _setting(name: str) -> str:
    # Read when pytest loads the plugin (importing the module needs none of them).
    return os.path.realpath(os.environ[name])


def _slug(path: str) -> str:
    return path.replace("/", "__").replace(".py", "") + ".json"


class Recorder:
    def __init__(self) -> None:
        self.codes: set = set()
        self.files: dict[str, dict] = {}
        self.remaining: dict[str, int] = {}
        self.where: dict[str, str | None] = {}
        self.started = 0.0
        self.outcome: dict[str, str] = {"outcome": "passed"}
        self.root = self.tests = ""
        self.out = Path()

    def configure(self) -> None:
        self.root = _setting("WORKBENCH_MAP_ROOT") + os.sep
        self.tests = _setting("WORKBENCH_MAP_TESTS") + os.sep
        self.out = Path(_setting("WORKBENCH_MAP_OUT"))

    def trace(self, frame, event, arg):
        if event == "call":
            self.codes.add(frame.f_code)
        return None

    def relative(self, filename: str) -> str | None:
        if filename in self.where:
            return self.where[filename]
        real = os.path.realpath(filename)
        # Code made at run time ("<string>", FX's "<eval_with_key>.12") has no file to map.
        inside = real.startswith(self.root) and not real.startswith(self.tests)
        inside = inside and not filename.startswith("<") and os.path.isfile(real)
        rel = real[len(self.root) :] if inside else None
        self.where[filename] = rel
        return rel

    def entry(self, file: str) -> dict:
        return self.files.setdefault(file, {"file": file, "tests": {}, "errors": []})

    def write(self, file: str) -> None:
        doc = self.files.pop(file, None) or {"file": file, "tests": {}, "errors": []}
        target = self.out / _slug(file)
        tmp = target.with_suffix(".tmp")
        tmp.write_text(json.dumps(doc))
        os.replace(tmp, target)


REC = Recorder()


def pytest_configure(config):
    REC.configure()


def pytest_collection_modifyitems(session, config, items):
    for item in items:
        file = item.nodeid.split("::", 1)[0]
        REC.remaining[file] = REC.remaining.get(file, 0) + 1
        REC.entry(file)


def pytest_collectreport(report):
    file = (report.nodeid or "").split("::", 1)[0]
    if not file.endswith(".py"):
        return
    if report.failed:
        lines = str(report.longrepr).strip().splitlines()
        REC.entry(file)["errors"].append(lines[-1][:300] if lines else "collection error")
    elif report.skipped:
        # A module that skips itself (pytest.skip(allow_module_level=True)): no test to map.
        why = report.longrepr
        REC.entry(file)["skipped"] = str(why[2] if isinstance(why, tuple) else why)[:300]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    REC.codes = set()
    REC.started = time.perf_counter()
    outcome = REC.outcome = {"outcome": "passed"}
    sys.settrace(REC.trace)
    threading.settrace(REC.trace)
    try:
        yield
    finally:
        sys.settrace(None)
        threading.settrace(None)
    seen: set[tuple[str, int]] = set()
    for code in REC.codes:
        rel = REC.relative(code.co_filename)
        if rel is not None:
            seen.add((rel, code.co_firstlineno))
    file = item.nodeid.split("::", 1)[0]
    REC.entry(file)["tests"][item.nodeid] = {
        "outcome": outcome["outcome"],
        "seconds": round(time.perf_counter() - REC.started, 4),
        "code": sorted(seen),
    }
    REC.remaining[file] = REC.remaining.get(file, 1) - 1
    if REC.remaining[file] <= 0:
        REC.write(file)


def pytest_runtest_logreport(report):
    # The test's outcome: failed in any phase wins, then skipped, then passed.
    rank = {"passed": 0, "skipped": 1, "failed": 2}
    if rank.get(report.outcome, 0) > rank.get(REC.outcome["outcome"], 0):
        REC.outcome["outcome"] = report.outcome


def pytest_sessionfinish(session, exitstatus):
    # Files that collected nothing (an import error, a module-level skip, every test
    # deselected) are written too, so that a resumed map does not try them again.
    for file in list(REC.files):
        if REC.remaining.get(file, 0) <= 0:
            REC.write(file)
    if exitstatus in (0, 1, 5):  # the run went through: a file asked for and not seen has no test
        for arg in session.config.args:
            file = arg.split("::", 1)[0]
            if file.endswith(".py") and not (REC.out / _slug(file)).exists():
                REC.write(file)
