"""Which accelerator this machine has: CUDA, ROCm, TPU, or only the CPU.

Looked up without importing torch (seconds) and without the network: device nodes and driver
tools. ``WORKBENCH_DEVICE`` forces an answer (e.g. to run the CPU paths on a GPU machine).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from workbench.config.recipe import DEVICES
from workbench.errors import UsageError


def detect() -> str:
    forced = os.environ.get("WORKBENCH_DEVICE")
    if forced:
        if forced not in DEVICES:
            raise UsageError(
                f"WORKBENCH_DEVICE={forced} is not a device", f"use one of {', '.join(DEVICES)}"
            )
        return forced
    if Path("/dev/nvidia0").exists() or (
        Path("/dev/nvidiactl").exists() and shutil.which("nvidia-smi")
    ):
        return "cuda"
    if Path("/dev/kfd").exists():
        return "rocm"
    if (
        any(Path("/dev").glob("accel*"))
        or os.environ.get("TPU_NAME")
        or os.environ.get("TPU_ACCELERATOR_TYPE")
    ):
        return "tpu"
    return "cpu"
