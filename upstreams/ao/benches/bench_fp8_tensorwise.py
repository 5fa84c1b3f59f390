"""torchao's float8 tensorwise scale: `_hp_tensor_to_scale`, two Triton kernels per call.

From `torchao.prototype.float8nocompile.kernels.fp8_dynamic_tensorwise`: the amax of a float32
tensor (per block, then across blocks, or with an atomic max) and the float8 e4m3 scale from it.
On a machine without a GPU the `cpu` case runs the kernels in the Triton interpreter: it times
the interpreter, and it is what `workbench codegen ao` records the kernels' launches from (the
autotuned atomic-max kernel then runs every one of its configs once; timed, it keeps its first
config, since the interpreter has nothing to autotune with). The interpreter is on in
every bench process from the start (`TRITON_INTERPRET=1` from the recipe's `[bench.devices.cpu]`):
torchao defines the kernels when it is imported, before a case's setup runs.
"""

from workbench.bench import bench, skip

SIZES = [2**12, 2**16]


def _setup(n: int, algo: str, device: str):
    import torch

    if device == "cuda" and not torch.cuda.is_available():
        skip("needs CUDA")
    if device == "cpu" and torch.cuda.is_available():
        skip("interpreter case: runs where there is no GPU")
    import triton.language as tl
    from torchao.prototype.float8nocompile.kernels import fp8_dynamic_tensorwise as k

    torch.manual_seed(0)
    x = torch.randn(n, device=device)
    fp8_max = torch.finfo(torch.float8_e4m3fn).max
    kind = k.KernelAlgorithm.REDUCTION if algo == "reduction" else k.KernelAlgorithm.ATOMIC_MAX

    def call():
        return k._hp_tensor_to_scale(x, tl.float32, fp8_max, kind)

    if device == "cpu" and kind == k.KernelAlgorithm.ATOMIC_MAX:
        try:
            call()
        except RuntimeError as exc:
            if "active drivers" not in str(exc):
                raise
            # The interpreter has no timer to autotune with ("0 active drivers"): one config, as
            # a GPU keeps after tuning. (`workbench codegen` gives the autotuner a timer of its
            # own, so there every config still runs once.)
            k._amax_atomic.configs = k._amax_atomic.configs[:1]
    return call


@bench(
    params={"n": SIZES, "algo": ["reduction", "atomic_max"], "device": ["cuda", "cpu"]},
    bytes_moved=lambda n, algo, device: 4 * n,
)
def hp_tensor_to_scale(n, algo, device):
    return _setup(n, algo, device)
