"""The one protocol every analysis result follows: the same object serves scripts, terminals and
notebooks (STYLE.md #13, torchinfo's habit).

Each public analysis returns a dataclass deriving from :class:`Result`:

- ``to_dict()``: exactly the document the CLI prints with ``--json`` for the same call;
- ``save_png(out)``: writes the figures the CLI writes into ``out`` and returns their paths;
- ``__rich__``: the table (or picture) the CLI shows, so ``rich.print(result)`` shows it;
- ``_repr_html_``: that same view as HTML, so a notebook cell shows the table.

A subclass holds data only: its document, view and figures are registered in the presentation
layer (:mod:`upscope.present`, docs/architecture.md). The methods here reach that registry
through ONE lazy import of :mod:`upscope.present` (:func:`_present`): the only import from a lower
layer to a higher one in the package, allowed by name in tests/test_layers.py. Nothing here
imports rich until a view is asked for.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

__all__ = ["Result"]


def _present() -> Any:
    """The lazy door up to the presentation layer (documented in docs/architecture.md)."""
    from upscope import present  # the one allowed upward import (tests/test_layers.py)

    return present


class Result:
    """Base of the dataclasses the public API returns."""

    def to_dict(self) -> dict[str, Any]:
        """The CLI's ``--json`` document for the same call (plain JSON types only)."""
        document: dict[str, Any] = _present().document(self)
        return document

    def _renderable(self) -> Any:
        """A rich renderable: what the CLI prints for a person."""
        return _present().view(self)

    def save_png(self, out: str | os.PathLike[str] = "upscope-out") -> list[Path]:
        """Write the figures the CLI writes into ``out``; return their paths."""
        paths: list[Path] = _present().figures(self, Path(out))
        return paths

    def __rich__(self) -> Any:
        return self._renderable()

    def _repr_html_(self) -> str:
        from rich.console import Console

        console = Console(record=True, width=100, file=io.StringIO(), color_system="truecolor")
        console.print(self._renderable())
        return console.export_html(inline_styles=True)
