"""upscope: see what your upsampling layers really do.

The analyses of the command line, as functions (:mod:`upscope.api`)::

    import upscope
    upscope.size(14, kernel=4, stride=2, padding=1).output      # (28,)
    upscope.solve(14, 28).recommended                           # the best ConvTranspose
    upscope.overlap(3, 2).verdict                               # 'checkerboard'
    upscope.probe(scale=2), upscope.compare("photo.png"), upscope.scan(model, (1, 100, 1, 1))
    upscope.detect("samples/", model="gen.py:Generator")        # the grid in its images

Each returns a result object: the numbers as attributes, ``to_dict()`` (the CLI's ``--json``),
``save_png(dir)``, and the CLI's table for ``rich.print`` and notebooks. Bad arguments raise
:class:`UpscopeError` (a ``ValueError``) with the CLI's message.

This module stays light: importing it never loads torch, matplotlib or PIL; each function
loads what it needs when called (``size``, ``solve``, ``stack``, ``overlap`` never load them).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from upscope.errors import UpscopeError

if TYPE_CHECKING:
    from upscope.api import compare, detect, framework_size, overlap, probe, size, solve, stack
    from upscope.scanning.run import scan

__version__ = "0.1.0"

#: public name -> the module that defines it, imported on first use
_LAZY = {
    "size": "upscope.api",
    "solve": "upscope.api",
    "stack": "upscope.api",
    "framework_size": "upscope.api",
    "overlap": "upscope.api",
    "probe": "upscope.api",
    "compare": "upscope.api",
    "detect": "upscope.api",
    "scan": "upscope.scanning.run",
}

__all__ = [
    "UpscopeError",
    "__version__",
    "compare",
    "detect",
    "framework_size",
    "overlap",
    "probe",
    "scan",
    "size",
    "solve",
    "stack",
]


def __getattr__(name: str) -> Any:
    if name == "testing":  # upscope.testing.assert_no_checkerboard without a second import
        return importlib.import_module("upscope.testing")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'upscope' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | {"testing"})
