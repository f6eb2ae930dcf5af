"""The one protocol every analysis result follows: the same object serves scripts, terminals and
notebooks (STYLE.md #13, torchinfo's habit).

Each public analysis returns a dataclass deriving from :class:`Result`:

- ``to_dict()``: exactly the document the CLI prints with ``--json`` for the same call;
- ``save_png(out)``: writes the figures the CLI writes into ``out`` and returns their paths;
- ``__rich__``: the table (or picture) the CLI shows, so ``rich.print(result)`` shows it;
- ``_repr_html_``: that same view as one HTML fragment (a ``<pre>``, no page styles), so a
  notebook cell shows the table once;
- ``__repr__``: one line of headline numbers (:class:`Brief`), arrays as their shapes.

The objects users reach from a result (a scan's findings and fixes, a probe's measurements, a
comparison's per-method scores, a size's layers) derive from :class:`Brief` for the same
one-line repr. A class names its headline attributes in ``_brief`` (``"label=attr.path"`` or
``"attr"``); :func:`brief_repr` formats them by one rule (``dataclass(repr=False)`` keeps the
dataclass from writing its own, field-by-field, repr).

A subclass holds data only: its document, view and figures are registered in the presentation
layer (:mod:`upscope.present`, docs/architecture.md). The methods here reach that registry
through ONE lazy import of :mod:`upscope.present` (:func:`_present`): the only import from a lower
layer to a higher one in the package, allowed by name in tests/test_layers.py. Nothing here
imports rich until a view is asked for.

>>> class Point(Brief):
...     _brief = ("x", "area=size.area")
...     def __init__(self):
...         self.x, self.size = 1.234567, Size()
>>> class Size:
...     area = [[0.5] * 200]
>>> Point()
Point(x=1.235, area=[[200 float]])
"""

from __future__ import annotations

import dataclasses
import io
import math
import os
from pathlib import Path
from typing import Any, ClassVar

__all__ = ["MAX_REPR", "Brief", "Result", "brief_repr"]

#: The longest one-line repr (a test holds every result type and what users reach from it to it).
MAX_REPR = 300
_MAX_TEXT = 40  # characters of a string value shown
_MAX_SEQUENCE = 100  # characters of a list or tuple shown in full; longer ones show as a count

#: What :meth:`Result._repr_html_` wraps the view in: one ``<pre>`` (what rich itself writes in
#: a notebook), no ``<html>``, ``<head>`` or ``<style>`` that would restyle the notebook's page.
HTML_FRAGMENT = (
    '<pre style="white-space:pre;overflow-x:auto;line-height:normal;'
    "font-family:Menlo,'DejaVu Sans Mono',consolas,'Courier New',monospace\">{code}</pre>\n"
)


def _present() -> Any:
    """The lazy door up to the presentation layer (documented in docs/architecture.md)."""
    from upscope import present  # the one allowed upward import (tests/test_layers.py)

    return present


def _short(value: Any, depth: int = 0) -> str:
    """One value of a one-line repr: numbers to 4 significant digits, arrays (anything with a
    ``shape`` and a ``dtype``: numpy, torch) as their shape, long strings cut, long sequences
    as a count, a nested :class:`Brief` by its own repr when short, an object with its own
    ``__str__`` (a layer spec) as that string."""
    if value is None or isinstance(value, bool | int):
        return repr(value)
    if isinstance(value, float) or type(value).__name__.startswith("float"):
        number = float(value)
        if math.isnan(number) or math.isinf(number):
            return repr(number)
        text = f"{number:.4g}"
        return text if any(c in text for c in ".en") else text + ".0"
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        if tuple(value.shape) == () and hasattr(value, "item"):  # a numpy or torch scalar
            return _short(value.item(), depth)
        dims = "x".join(str(int(n)) for n in value.shape)
        return f"<array {dims} {value.dtype}>"
    if isinstance(value, str):
        return repr(value if len(value) <= _MAX_TEXT else value[: _MAX_TEXT - 3] + "...")
    if isinstance(value, os.PathLike):
        return _short(os.fspath(value), depth)
    if isinstance(value, Brief):
        text = brief_repr(value) if depth < 1 else ""
        return text if 0 < len(text) <= _MAX_SEQUENCE else f"<{type(value).__name__}>"
    if isinstance(value, list | tuple | set | frozenset):
        if value and all(isinstance(item, Brief) for item in value):
            kinds = {type(item).__name__ for item in value}
            return f"[{len(value)} {kinds.pop() if len(kinds) == 1 else 'items'}]"
        items = [_short(item, depth + 1) for item in value]
        text = ", ".join(items)
        if isinstance(value, tuple):
            text = f"({text},)" if len(items) == 1 else f"({text})"
        elif isinstance(value, list):
            text = f"[{text}]"
        else:
            text = "{" + text + "}" if items else f"{type(value).__name__}()"
        if len(text) <= _MAX_SEQUENCE:
            return text
        kinds = {type(item).__name__ for item in value}
        noun = kinds.pop() if len(kinds) == 1 else "items"
        return f"[{len(items)} {noun}]"
    if isinstance(value, dict):
        text = "{" + ", ".join(f"{k!r}: {_short(v, depth + 1)}" for k, v in value.items()) + "}"
        return text if len(text) <= _MAX_SEQUENCE else f"{{{len(value)} keys}}"
    if type(value).__str__ is not object.__str__:
        return _short(str(value), depth)
    text = repr(value)
    return text if len(text) <= _MAX_SEQUENCE else f"<{type(value).__name__}>"


def _lookup(obj: Any, path: str) -> Any:
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def brief_repr(obj: Any) -> str:
    """``Name(label=value, ...)``: the attributes ``obj._brief`` names (every dataclass field
    when it names none), each by :func:`_short`, at most :data:`MAX_REPR` characters."""
    names: tuple[str, ...] = getattr(obj, "_brief", ())
    if not names and dataclasses.is_dataclass(obj):
        names = tuple(f.name for f in dataclasses.fields(obj) if f.repr)
    parts = []
    for entry in names:
        label, _, path = entry.partition("=")
        try:
            value = _lookup(obj, path or label)
        except Exception as exc:  # a repr never raises: it says what it could not read
            parts.append(f"{label}=<{type(exc).__name__}>")
        else:
            parts.append(f"{label}={_short(value)}")
    text = f"{type(obj).__name__}({', '.join(parts)})"
    return text if len(text) <= MAX_REPR else text[: MAX_REPR - 4] + "...)"


class Brief:
    """A one-line ``__repr__`` of the headline attributes named in ``_brief``."""

    _brief: ClassVar[tuple[str, ...]] = ()

    def __repr__(self) -> str:
        return brief_repr(self)


class Result(Brief):
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
        paths: list[Path] = _present().save_figures(self, Path(out))
        return paths

    def __rich__(self) -> Any:
        return self._renderable()

    def _repr_html_(self) -> str:
        """The view as one HTML fragment (:data:`HTML_FRAGMENT`).

        The console is told it is not in Jupyter: rich's own notebook mode would display what
        it prints at once, beside this method's answer (the table twice, and an empty ``<pre>``).
        """
        from rich.console import Console

        console = Console(
            record=True,
            width=100,
            file=io.StringIO(),
            color_system="truecolor",
            force_jupyter=False,
        )
        console.print(self._renderable())
        return console.export_html(inline_styles=True, code_format=HTML_FRAGMENT)
