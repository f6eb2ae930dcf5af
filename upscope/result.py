"""The one protocol every analysis result follows: the same object serves scripts, terminals and
notebooks (STYLE.md #13, torchinfo's habit).

Each public analysis returns a dataclass deriving from :class:`Result`:

- ``to_dict()``: exactly the document the CLI prints with ``--json`` for the same call;
- ``save_png(out)``: writes the figures the CLI writes into ``out`` and returns their paths;
- ``__rich__``: the table (or picture) the CLI shows, so ``rich.print(result)`` shows it;
- ``_repr_html_``: that same view as HTML, so a notebook cell shows the table.

Subclasses implement :meth:`to_dict`, :meth:`_renderable` and, where there are figures,
:meth:`save_png`. Nothing here imports rich until a view is asked for.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

__all__ = ["Result"]


class Result:
    """Base of the dataclasses the public API returns."""

    def to_dict(self) -> dict[str, Any]:
        """The CLI's ``--json`` document for the same call (plain JSON types only)."""
        raise NotImplementedError

    def _renderable(self) -> Any:
        """A rich renderable: what the CLI prints for a person."""
        raise NotImplementedError

    def save_png(self, out: str | os.PathLike[str] = "upscope-out") -> list[Path]:
        """Write the figures the CLI writes into ``out``; return their paths."""
        raise NotImplementedError(f"{type(self).__name__} has no figures")

    def __rich__(self) -> Any:
        return self._renderable()

    def _repr_html_(self) -> str:
        from rich.console import Console

        console = Console(record=True, width=100, file=io.StringIO(), color_system="truecolor")
        console.print(self._renderable())
        return console.export_html(inline_styles=True)
