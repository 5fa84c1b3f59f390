"""A matmul and an elementwise op on the XLA device (PJRT_DEVICE=CPU here, TPU on a TPU VM).

Each call builds the lazy graph, cuts it with `torch_xla.sync()` and waits for the device, so the
time covers tracing, the (cached) compiled executable and its run, as a training step sees it.
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
        fn()
        torch_xla.sync()
        xm.wait_device_ops()

    step()  # compile once before timing
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
