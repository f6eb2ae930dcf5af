"""Progress bars on stderr for long work (``upscope compare``'s fitting); rich is imported
only when the first bar starts."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

from upscope.render.console import err_console

__all__ = ["progress"]


@contextlib.contextmanager
def progress(
    enabled: bool, verb: str = "fitting", delay: float = 0.0
) -> Iterator[Callable[[str, int, int], None] | None]:
    """Rich progress bars on stderr, one per method as it reports; yields the callback
    ``report(method, done, total)`` (None when not ``enabled``). Nothing is drawn until the
    first report, so a run that fits nothing shows no bar. ``verb`` begins each bar's label
    (``fitting`` for compare, ``reading`` for detect). ``delay``: no bar before that many
    seconds have passed (a short run shows none)."""
    if not enabled:
        yield None
        return
    bars: list[Any] = []  # the rich Progress, once started
    tasks: dict[str, Any] = {}

    start = time.monotonic()

    def report(method: str, done: int, total: int) -> None:
        if not bars and time.monotonic() - start < delay:
            return
        if not bars:
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn
            from rich.progress import Progress as Bars

            bars.append(
                Bars(
                    TextColumn(verb + " [bold]{task.description:<21}"),
                    BarColumn(),
                    MofNCompleteColumn(),
                    TimeElapsedColumn(),
                    console=err_console(),
                    transient=False,
                )
            )
            bars[0].start()
        if method not in tasks:  # a bar appears when its method starts: its clock starts then
            tasks[method] = bars[0].add_task(method, total=total)
        bars[0].update(tasks[method], completed=done, total=total)

    try:
        yield report
    finally:
        if bars:
            bars[0].stop()
