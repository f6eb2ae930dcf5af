"""The presentation registry: one place that maps a result type to its three views.

- :func:`document` ``(result) -> dict``: the JSON document (``--json``, ``Result.to_dict()``);
- :func:`view` ``(result) -> renderable``: the terminal table or picture (``rich.print(result)``,
  notebooks, and the CLI's text through :func:`show`);
- :func:`figures` ``(result, out) -> list[Path]``: writes the PNG files, returns their paths
  (:func:`save_figures` is the door that uses the command's drawing process).

Each is a :func:`functools.singledispatch` function. A presentation module registers the three
for its result types (``@present.view.register(OverlapResult)``). Registrars are imported
lazily, the first time a result of a type they serve is presented: :data:`_REGISTRARS` maps the
module that defines result types to the modules that register them, so presenting a size never
imports the probe's view (and torch). See docs/architecture.md.

This module imports nothing heavy: :mod:`upscope.result` reaches it through one lazy import.
"""

from __future__ import annotations

import functools
import importlib
from pathlib import Path
from typing import Any

__all__ = ["document", "figures", "save_figures", "show", "view"]

#: module that defines result types -> the modules that register their document, view, figures.
#: A new analysis adds one line here (and tests/test_layers.py gives its modules a layer).
_REGISTRARS: dict[str, tuple[str, ...]] = {
    "upscope.sizes": ("upscope.render.size_view",),
    "upscope.overlap_map": ("upscope.render.overlap_view",),
    "upscope.probe_result": ("upscope.render.probe_view",),
    "upscope.compare_result": ("upscope.render.compare_view",),
    "upscope.scanning.judge": ("upscope.render.scan_view",),
    "upscope.audio_results": ("upscope.render.audio_present",),
    "upscope.detection": ("upscope.render.detect_view",),
}

_loaded: set[str] = set()


def registrars() -> list[str]:
    """Every registrar module's name, once each (a drawing process imports them ahead)."""
    return list(dict.fromkeys(name for names in _REGISTRARS.values() for name in names))


def _load(cls: type) -> bool:
    """Import the registrars of ``cls`` and its bases; True if any was imported just now."""
    imported = False
    for klass in cls.__mro__:
        for name in _REGISTRARS.get(klass.__module__, ()):
            if name not in _loaded:
                importlib.import_module(name)
                _loaded.add(name)
                imported = True
    return imported


@functools.singledispatch
def document(result: Any) -> dict[str, Any]:
    """The JSON document of ``result`` (plain JSON types only)."""
    if _load(type(result)):
        return document(result)
    raise NotImplementedError(f"no document registered for {type(result).__name__}")


@functools.singledispatch
def view(result: Any) -> Any:
    """A rich renderable of ``result``: what the CLI prints for a person."""
    if _load(type(result)):
        return view(result)
    raise NotImplementedError(f"no view registered for {type(result).__name__}")


@functools.singledispatch
def figures(result: Any, out: Path) -> list[Path]:
    """Write the figures of ``result`` into the folder ``out``, in this process; return their
    paths. :func:`save_figures` is the door that uses a drawing process where there is one."""
    if _load(type(result)):
        return figures(result, out)
    raise NotImplementedError(f"{type(result).__name__} has no figures")


@functools.singledispatch
def handed(result: Any) -> Any:
    """What :func:`save_figures` sends to the drawing process for ``result``'s figures: the
    result itself, or a copy without what no figure reads (a registration says which), so
    that less is pickled and piped while the command waits."""
    return result


def save_figures(result: Any, out: Path) -> list[Path]:
    """:func:`figures`, drawn by the command's drawing process where it started one
    (:mod:`upscope.render.drawer`): this process then only lists the paths (and sets the
    result's ``pngs``) while the figures are drawn on the other CPU. If that fails, they are
    drawn here, so an error is raised here with its own message."""
    from upscope.render import drawer

    if drawer.hand(figures, handed(result), out):
        try:
            with drawer.listing():
                paths = figures(result, out)
        except BaseException:
            drawer.stop()
            raise
        if drawer.wait():
            return paths
    return figures(result, out)


def show(result: Any, console: Any = None) -> None:
    """Print ``result``'s :func:`view` on ``console`` (default: stdout), as the CLI does.

    A :class:`~upscope.render.console.View` prints through its own ``show``, so the CLI's text
    is exactly what ``rich.print(result)`` renders, with no second text path.
    """
    from upscope.render.console import View, out_console

    console = out_console() if console is None else console
    renderable = view(result)
    if isinstance(renderable, View):
        renderable.show(console)
    else:
        console.print(renderable)
