"""Ops on the XLA device (PJRT_DEVICE=CPU here, TPU on a TPU VM), timed as executed, not traced.

XLA tensors are lazy: an op only records a graph. Each timed call therefore keeps its result,
cuts the graph with `torch_xla.sync()` and waits for the device with `xm.wait_device_ops()`, so
the time covers tracing, looking up the compiled executable (compiled once, before timing) and
running it, as a training step sees it. The harness refuses a case whose call runs no XLA
computation (a result dropped before the sync times tracing only).
"""

from workbench.bench import bench

SIZES = [256, 1024]


def _device():
    import torch_xla

    return torch_xla.device()


def _step(fn):
    import torch_xla
    import torch_xla.core.xla_model as xm

    def step():
        out = fn()  # alive through the sync: the graph that computes it is executed
        torch_xla.sync()
        xm.wait_device_ops()
        return out

    step()  # compile once before timing: the timed calls re-execute the cached executable
    return step


@bench(params={"n": SIZES}, flops=lambda n: 2 * n**3, bytes_moved=lambda n: 3 * 4 * n * n)
def matmul(n):
    import torch

    dev = _device()
    a = torch.randn(n, n, device=dev)
    b = torch.randn(n, n, device=dev)
    return _step(lambda: a @ b)


@bench(params={"n": SIZES}, bytes_moved=lambda n: 2 * 4 * n * n)
def gelu(n):
    import torch

    dev = _device()
    x = torch.randn(n, n, device=dev)
    return _step(lambda: torch.nn.functional.gelu(x))


@bench(params={"n": [4096, 262144]}, bytes_moved=lambda n: 2 * 4 * n)
def op_chain(n):
    """A small chain of elementwise ops and a reduction: one fused graph, dominated by the
    per-step overhead of tracing, the executable cache lookup and the launch."""
    import torch

    dev = _device()
    x = torch.randn(n, device=dev)
    return _step(lambda: ((x * 2 + 1).relu() - x.sin()).sum())
