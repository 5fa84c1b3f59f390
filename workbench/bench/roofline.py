"""How close a benchmark runs to the hardware's limits.

GPU peaks come from the vendors' data sheets (dense, no sparsity), matched on the name
``torch.cuda.get_device_name()`` reports. On a CPU the memory bandwidth is measured once per
machine (a large ``bytearray`` copy, best of several) and cached; there is no FLOP peak for CPUs.
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Peak:
    name: str
    bandwidth_gbs: float
    tflops_fp32: float | None = None
    tflops_bf16: float | None = None
    source: str = "data sheet"


# Matched in order: the first key contained in the device name wins (so "H100 PCIe" before "H100").
GPU_PEAKS: list[tuple[str, Peak]] = [
    ("H200", Peak("NVIDIA H200", 4800, 67, 989)),
    ("GH200", Peak("NVIDIA GH200", 4000, 67, 989)),
    ("H100 PCIe", Peak("NVIDIA H100 PCIe", 2000, 51, 756)),
    ("H100 NVL", Peak("NVIDIA H100 NVL", 3900, 60, 835)),
    ("H100", Peak("NVIDIA H100 SXM", 3350, 67, 989)),
    ("H800", Peak("NVIDIA H800 SXM", 3350, 67, 989)),
    ("B200", Peak("NVIDIA B200", 8000, 80, 2250)),
    ("A100-SXM4-80GB", Peak("NVIDIA A100 SXM 80GB", 2039, 19.5, 312)),
    ("A100 80GB PCIe", Peak("NVIDIA A100 PCIe 80GB", 1935, 19.5, 312)),
    ("A100", Peak("NVIDIA A100 40GB", 1555, 19.5, 312)),
    ("L40S", Peak("NVIDIA L40S", 864, 91.6, 362)),
    ("L40", Peak("NVIDIA L40", 864, 90.5, 181)),
    ("L4", Peak("NVIDIA L4", 300, 30.3, 121)),
    ("A10G", Peak("NVIDIA A10G", 600, 31.2, 70)),
    ("A10", Peak("NVIDIA A10", 600, 31.2, 125)),
    ("T4", Peak("NVIDIA T4", 320, 8.1, 65)),
    ("V100", Peak("NVIDIA V100", 900, 15.7, 125)),
    ("RTX 4090", Peak("NVIDIA RTX 4090", 1008, 82.6, 165)),
    ("MI300X", Peak("AMD MI300X", 5300, 163, 1307)),
    ("MI250X", Peak("AMD MI250X", 3277, 47.9, 383)),
]


def gpu_peak(device_name: str) -> Peak | None:
    for key, peak in GPU_PEAKS:
        if key.lower() in device_name.lower():
            return peak
    return None


def measure_cpu_bandwidth(size: int = 256 * 1024 * 1024, repeats: int = 5) -> float:
    """Copy bandwidth in GB/s: bytes read plus bytes written over the best time."""
    src = bytearray(size)
    dst = bytearray(size)
    dst[:] = src  # touch every page first
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        dst[:] = src
        best = min(best, time.perf_counter() - t0)
    return 2 * size / best / 1e9


def _cache_file() -> Path:
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("workbench")) / "cpu-bandwidth.json"


def cpu_peak(cache: Path | None = None) -> Peak:
    """The CPU's measured copy bandwidth, cached per machine (host name and CPU model)."""
    cache = cache or _cache_file()
    key = f"{platform.node()}|{platform.processor() or platform.machine()}|{os.cpu_count()}"
    try:
        data = json.loads(cache.read_text())
    except (OSError, ValueError):
        data = {}
    if key not in data:
        data[key] = measure_cpu_bandwidth()
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            cache.write_text(json.dumps(data, indent=2))
        except OSError:
            pass  # a read-only home: measure again next time
    return Peak("CPU (measured copy bandwidth)", round(data[key], 1), source="measured")


@dataclass(frozen=True)
class Roofline:
    gbs: float | None
    tflops: float | None
    pct_bandwidth: float | None
    pct_flops: float | None
    peak: Peak


def roofline(
    seconds: float,
    bytes_moved: float | None,
    flops: float | None,
    peak: Peak,
    dtype: str | None = None,
) -> Roofline | None:
    if not bytes_moved and not flops:
        return None
    gbs = bytes_moved / seconds / 1e9 if bytes_moved else None
    tflops = flops / seconds / 1e12 if flops else None
    flop_peak = peak.tflops_fp32 if dtype in (None, "float32", "fp32") else peak.tflops_bf16
    return Roofline(
        gbs=gbs,
        tflops=tflops,
        pct_bandwidth=100 * gbs / peak.bandwidth_gbs if gbs and peak.bandwidth_gbs else None,
        pct_flops=100 * tflops / flop_peak if tflops and flop_peak else None,
        peak=peak,
    )
