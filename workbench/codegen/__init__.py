"""What a patch series does to the compiled Triton kernels, per GPU target, without a GPU.

The bench cases run under ``TRITON_INTERPRET=1`` on each side (``recorder.py``), which records
every kernel launch: its arguments as the compiler specializes them, its constexprs and options,
and its inputs and outputs. Each side's compiler (``compiler.py``, a process without the
interpreter) compiles those launches for each target with ``triton.compile`` and the target
given explicitly, so no driver is asked. The baseline's recorded inputs are replayed through the
patched kernels to check that the outputs did not change. ``sides.py`` starts each side's
recorder and compiler; ``run.py`` pairs the two sides and writes ``codegen.json`` and the stage
diffs.
"""
