"""workbench: a contributor's workbench for PyTorch AO, Triton and PyTorch XLA.

The library layer (everything but ``workbench.tui``) imports without Textual.
"""

__version__ = "0.1.0"
