"""Run one unittest file as its own ``__main__`` and record each test's outcome as it happens.

Used as ``python unittest_probe.py RESULTS FILE [ARGS...]`` in the side's interpreter (standard
library only: the side's environment has no workbench). The file runs as ``python FILE`` would
run it (its own ``unittest.main()`` or ``absltest.main()``, its own argument parsing); every
``TestResult`` records its outcomes by appending a JSON line to ``RESULTS`` and flushing, so a
file that crashes its interpreter half-way still leaves what finished. A last line
``{"end": code}`` says the file ran to its end.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
import traceback
import unittest

RESULTS = ""
"""The JSON-lines file outcomes are appended to (set from the command line)."""


def _write(record: dict) -> None:
    with open(RESULTS, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def _id(test: unittest.TestCase) -> str:
    parts = test.id().split(".")
    return "::".join(parts[-2:]) if len(parts) >= 2 else test.id()


def _message(err: object) -> str:
    if isinstance(err, tuple) and len(err) == 3:
        lines = traceback.format_exception_only(err[0], err[1])
        return "".join(lines).strip().splitlines()[-1] if lines else ""
    return str(err)


def _patch() -> None:
    base = unittest.TestResult

    def wrap(name: str, status: str, with_err: bool) -> None:
        original = getattr(base, name)

        def method(self: unittest.TestResult, test: unittest.TestCase, *args: object) -> object:
            message = ""
            if with_err and args:
                message = _message(args[0])
            _write({"id": _id(test), "status": status, "message": message})
            return original(self, test, *args)

        setattr(base, name, method)

    wrap("addSuccess", "passed", False)
    wrap("addFailure", "failed", True)
    wrap("addError", "error", True)
    wrap("addSkip", "skipped", True)
    wrap("addExpectedFailure", "passed", False)
    wrap("addUnexpectedSuccess", "failed", False)


def main() -> None:
    global RESULTS
    RESULTS, file = sys.argv[1], sys.argv[2]
    _patch()
    sys.argv = [file, *sys.argv[3:]]
    # As `python FILE`: the file's folder first on the path, not this probe's (which sits
    # beside modules such as select.py that would shadow the standard library's).
    sys.path[0] = os.path.dirname(os.path.abspath(file))
    try:
        runpy.run_path(file, run_name="__main__")
    except SystemExit as exc:
        code = exc.code
        _write({"end": code if isinstance(code, int) or code is None else 1})
        raise
    except BaseException as exc:  # the file itself failed (an import, a module-level error)
        _write({"end": 1, "error": _message((type(exc), exc, exc.__traceback__))})
        raise
    _write({"end": 0})


if __name__ == "__main__":
    main()
