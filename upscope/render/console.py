"""The consoles every presenter writes to, and the one JSON writer."""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult


MIN_COLUMNS = 20


def _width() -> int | None:
    """None (rich's own choice) unless ``COLUMNS`` is too small to print in, e.g. 0: then
    the terminal's width, or 80 off a terminal."""
    columns = os.environ.get("COLUMNS", "").strip()
    if columns.isdigit() and int(columns) < MIN_COLUMNS:
        return max(shutil.get_terminal_size((80, 24)).columns, MIN_COLUMNS)
    return None


def out_console() -> Console:
    """A rich console on stdout (what a person reads)."""
    from rich.console import Console

    return Console(highlight=False, width=_width())


def err_console() -> Console:
    """A rich console on stderr (progress and notes, kept out of --json output)."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, width=_width())


_PRETTY_LIMIT = 200_000  # characters of compact JSON above which indentation is dropped


def print_json(document: dict[str, Any]) -> None:
    """Write exactly one JSON document to stdout (indented unless it is very large).

    ``document`` is a result's ``to_dict()``, which holds JSON types only already
    (:func:`upscope.documents.plain`); cleaning it again cost 1.5 s on a 1000x1000 map.
    """
    text = json.dumps(document, separators=(",", ":"), allow_nan=False)
    if len(text) <= _PRETTY_LIMIT:  # pretty for people; a huge map stays one compact line
        text = json.dumps(document, indent=2)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


class View:
    """A rich renderable of what ``show(console)`` prints: the CLI's text for ``rich.print``
    and notebooks (:meth:`upscope.result.Result._renderable`).

    ``show`` prints to a console of the same width and colours as the one rendering this, and
    its output (styles included) becomes one :class:`rich.text.Text`, so the text is exactly
    what the CLI prints at that width.
    """

    def __init__(self, show: Callable[[Console], None]) -> None:
        self._show = show

    def show(self, console: Console) -> None:
        """Print straight to ``console`` (the CLI's path: the same text, no capture)."""
        self._show(console)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.console import Console
        from rich.text import Text

        inner = Console(
            file=io.StringIO(),
            width=options.max_width,
            color_system=console.color_system,  # type: ignore[arg-type]
            force_terminal=console.color_system is not None,
            no_color=console.no_color,
            highlight=False,
            legacy_windows=False,
            force_jupyter=False,  # in a notebook rich would display this capture at once
        )
        with inner.capture() as captured:
            self._show(inner)
        text = Text.from_ansi(captured.get(), no_wrap=True)
        text.rstrip()
        yield text
