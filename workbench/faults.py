"""Named points where a test can kill the process, to prove a crash loses nothing.

``WORKBENCH_FAULT=<point>`` makes :func:`checkpoint` end the process at once with SIGKILL, as a
power cut or ``kill -9`` would: no cleanup handlers, no flushed buffers.
"""

from __future__ import annotations

import os
import signal


def checkpoint(point: str) -> None:
    if os.environ.get("WORKBENCH_FAULT") == point:
        os.kill(os.getpid(), signal.SIGKILL)
