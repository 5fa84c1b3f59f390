"""Facts about the workflow file that the dispatcher and the file itself must agree on.

The tests parse ``.github/workflows/upstream-check.yml`` and check it against these names, so a
change on one side without the other fails there, not on a GPU runner.
"""

from __future__ import annotations

from collections.abc import Mapping

WORKFLOW_FILE = "upstream-check.yml"
WORKFLOW_PATH = f".github/workflows/{WORKFLOW_FILE}"

SESSIONS = ("tests", "bench", "map")
INPUTS = ("upstream", "session", "ref", "runner_labels", "dispatch_id")
"""The ``workflow_dispatch`` inputs, all strings; ``runner_labels`` is a JSON list."""

GPU_LABELS = ("self-hosted", "linux", "gpu")
TPU_LABELS = ("self-hosted", "linux", "tpu")

DEVICE_FILE = "device.txt"
"""Written by the workflow next to the run folders: the runner's device, e.g. 'NVIDIA H100'."""
LOG_FILE = "nox.log"
"""The nox session's output on the runner."""


def artifact_name(upstream: str, session: str, run_id: int | str) -> str:
    """The artifact a run uploads; the workflow builds the same string from its inputs."""
    return f"workbench-{upstream}-{session}-{run_id}"


def run_marker(dispatch_id: str) -> str:
    """What the workflow's ``run-name`` carries so the dispatcher can find its run in a list."""
    return f"[{dispatch_id}]"


def default_labels(build_devices: Mapping[str, str]) -> tuple[str, ...]:
    """Runner labels for an upstream: TPU runners where its recipe builds for a TPU, else GPU."""
    return TPU_LABELS if "tpu" in build_devices else GPU_LABELS
