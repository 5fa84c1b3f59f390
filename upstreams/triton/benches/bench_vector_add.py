"""The tutorials' vector add as a Triton kernel: on CUDA, or in the interpreter on a CPU.

On a machine without a GPU the `cpu` case runs the kernel with TRITON_INTERPRET=1 (numpy under
the hood; set in every bench process by the recipe's `[bench.devices.cpu]`): it measures the
interpreter, which is what a Python-only change to `python/triton/runtime/interpreter.py` or the
frontend affects. On a GPU machine it is skipped.
"""

from workbench.bench import bench, skip

SIZES = [2**12, 2**16]


def _add(device: str):
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        skip("needs CUDA")
    if device == "cpu" and torch.cuda.is_available():
        skip("interpreter case: runs where there is no GPU")
    import triton
    import triton.language as tl

    @triton.jit
    def add_kernel(x_ptr, y_ptr, out_ptr, n_elements, BLOCK_SIZE: tl.constexpr):
        pid = tl.program_id(axis=0)
        offsets = pid * BLOCK_SIZE + tl.arange(0, BLOCK_SIZE)
        mask = offsets < n_elements
        x = tl.load(x_ptr + offsets, mask=mask)
        y = tl.load(y_ptr + offsets, mask=mask)
        tl.store(out_ptr + offsets, x + y, mask=mask)

    def add(x, y, out):
        n = out.numel()
        grid = (triton.cdiv(n, 1024),)
        add_kernel[grid](x, y, out, n, BLOCK_SIZE=1024)
        return out

    return torch, add


@bench(params={"n": SIZES, "device": ["cuda", "cpu"]}, bytes_moved=lambda n, device: 3 * 4 * n)
def vector_add(n, device):
    torch, add = _add(device)
    torch.manual_seed(0)
    x = torch.rand(n, device=device)
    y = torch.rand(n, device=device)
    out = torch.empty_like(x)
    add(x, y, out)
    if not torch.allclose(out, x + y):
        raise AssertionError("the kernel's sum differs from torch's")
    return lambda: add(x, y, out)
