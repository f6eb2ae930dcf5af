"""Table cells for ``probe`` and ``compare``: numbers formatted once, tables that never cut them.

rich shrinks every column of a table that is wider than the terminal, numbers included, and cuts
them with an ellipsis. :func:`print_table` prints a table at the terminal's width when it fits
there (wrapping only method names, at their hyphens), and otherwise wider: the lines overflow, which
a terminal wraps or a pager scrolls, but no digit is lost.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult
    from rich.measure import Measurement
    from rich.table import Table


def fixed(value: float, decimals: int) -> str:
    """``value`` with ``decimals`` decimals; a value that rounds to zero has no minus sign.

    >>> fixed(-0.0004, 2), fixed(-0.006, 2), fixed(float("inf"), 1)
    ('0.00', '-0.01', 'inf')
    """
    text = f"{value:.{decimals}f}"
    if text.startswith("-") and math.isfinite(value) and float(text) == 0.0:
        return text[1:]
    return text


class Name:
    """A method name in a table cell: when its column is narrow it wraps after a hyphen or at a
    space (``resize-bilinear-`` / ``conv``), never inside a word part.

    >>> from rich.console import Console
    >>> Console(width=12, color_system=None).print(Name("resize-bilinear-conv"))
    resize-
    bilinear-
    conv
    """

    def __init__(self, text: str, gap: int = 0) -> None:
        self.text = text
        self.gap = gap  # blank columns after the name (a table without cell padding)
        self.pieces = re.findall(r"[^\s-]*-|[^\s-]+|\s+", text)

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        from rich.measure import Measurement

        shortest = max((len(p.rstrip()) for p in self.pieces if p.strip()), default=0)
        wanted = Measurement(shortest + self.gap, len(self.text) + self.gap)
        return wanted.with_maximum(options.max_width)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.text import Text

        width = options.max_width - self.gap
        lines: list[str] = []
        line = ""
        for piece in self.pieces:
            if piece.isspace():
                line += " " if line else ""
            elif not line or len(line) + len(piece) <= width:
                line += piece
            else:
                lines.append(line.rstrip())
                line = piece
        lines.append(line.rstrip())
        yield Text("\n".join(line + " " * self.gap for line in lines), overflow="fold")


def print_table(console: Console, table: Table) -> None:
    """Print ``table`` at the console's width when every column's narrowest form fits there
    (numbers whole, :class:`Name` cells wrapped at their hyphens); otherwise render it at the
    width it needs and let the lines overflow."""
    from rich.measure import Measurement
    from rich.segment import Segments

    need = Measurement.get(console, console.options.update_width(10_000), table).minimum
    if need <= console.width:
        console.print(table)
        return
    console.print(Segments(console.render(table, console.options.update_width(need))), crop=False)
