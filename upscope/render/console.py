"""The consoles every presenter writes to, and the one JSON writer."""

from __future__ import annotations

import json
import math
import os
import shutil
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console


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


def _clean(value: Any) -> Any:
    """Make a value JSON-safe: NaN and infinities become null, tuples lists."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def print_json(document: dict[str, Any]) -> None:
    """Write exactly one JSON document to stdout (indented unless it is very large)."""
    clean = _clean(document)
    text = json.dumps(clean, separators=(",", ":"))
    if len(text) <= _PRETTY_LIMIT:  # pretty for people; a huge map stays one compact line
        text = json.dumps(clean, indent=2)
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
