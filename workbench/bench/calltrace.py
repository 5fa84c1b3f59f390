"""Which of the series' changed code one call runs, seen from inside the worker that makes it.

The worker's half of :mod:`workbench.bench.changes`: a trace of function calls in the watched
files, and of the Triton kernels launched. It runs in the measured environment, so it needs the
standard library only (Triton when the benchmark imported it).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading


class CallTracer:
    """Which functions of the watched files run: a trace of calls only (no line events), plus
    every Triton kernel launched (on a GPU a kernel's Python body never runs; in the
    interpreter it may run from rewritten code)."""

    def __init__(self, watch: dict[str, str]):
        self.watch = watch
        self.codes: set = set()
        self.launched: set[tuple[str, int]] = set()
        self._where: dict[str, str | None] = {}

    def _trace(self, frame, event, arg):
        if event == "call":
            self.codes.add(frame.f_code)
        return None

    def start(self) -> None:
        if not self.watch:
            return
        self.hook_triton()
        sys.settrace(self._trace)
        threading.settrace(self._trace)

    def stop(self) -> None:
        sys.settrace(None)
        threading.settrace(None)

    def hook_triton(self) -> None:
        """Record launches of ``@triton.jit`` functions (compiled or interpreted)."""
        if "triton" not in sys.modules:
            return
        tracer = self
        classes = []
        with contextlib.suppress(ImportError):
            from triton.runtime.jit import JITFunction

            classes.append(JITFunction)
        with contextlib.suppress(ImportError):
            from triton.runtime.interpreter import InterpretedFunction

            classes.append(InterpretedFunction)
        for cls in classes:
            original = cls.run
            if getattr(original, "_workbench_hooked", False):
                continue

            def run(self, *args, _original=original, **kwargs):
                fn = getattr(self, "fn", None)
                code = getattr(fn, "__code__", None)
                if code is not None:
                    tracer.launched.add((code.co_filename, code.co_firstlineno))
                return _original(self, *args, **kwargs)

            run._workbench_hooked = True  # type: ignore[attr-defined]
            cls.run = run

    def relative(self, filename: str) -> str | None:
        if filename not in self._where:
            rel = self.watch.get(filename)
            if rel is None and not filename.startswith("<"):
                rel = self.watch.get(os.path.realpath(filename))
            self._where[filename] = rel
        return self._where[filename]

    def found(self) -> dict:
        """``code``: [file, first line] of each watched function that ran; ``launched``: the
        same for each kernel launched; ``imported``: watched files imported as modules."""
        code = {(r, c.co_firstlineno) for c in self.codes if (r := self.relative(c.co_filename))}
        launched = {(r, line) for f, line in self.launched if (r := self.relative(f))}
        imported = set()
        for module in list(sys.modules.values()):
            file = getattr(module, "__file__", None)
            if isinstance(file, str) and (r := self.relative(file)):
                imported.add(r)
        return {
            "code": sorted(code),
            "launched": sorted(launched),
            "imported": sorted(imported),
        }
