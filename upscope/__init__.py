"""upscope: see what your upsampling layers really do.

This module stays light: importing it never loads torch, matplotlib or PIL.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
