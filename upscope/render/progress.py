"""Progress bars on stderr for long work (``upscope compare``'s fitting); rich is imported
only when the first bar starts."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping
from typing import Any

from upscope.render.console import err_console

__all__ = ["Bars", "progress"]


def _seconds_column() -> Any:
    """A column of seconds with two decimals, as the table's ``time s`` column shows them: a
    running bar shows its clock; a method that :meth:`Bars.finish` timed shows that time."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class Seconds(ProgressColumn):
        def render(self, task: Any) -> Text:
            seconds = task.fields.get("seconds")
            if seconds is None:
                seconds = task.finished_time if task.finished else task.elapsed
            return Text("" if seconds is None else f"{seconds:.2f} s", style="progress.elapsed")

    return Seconds()


class Bars:
    """``bars(method, done, total)``: the progress callback (one bar per method, drawn when it
    first reports); :meth:`finish` then shows each method's measured seconds."""

    def __init__(self, verb: str = "fitting", delay: float = 0.0) -> None:
        self._verb, self._delay, self._start = verb, delay, time.monotonic()
        self._bars: Any = None  # the rich Progress, once started
        self._tasks: dict[str, Any] = {}

    def __call__(self, method: str, done: int, total: int) -> None:
        if self._bars is None and time.monotonic() - self._start < self._delay:
            return
        if self._bars is None:
            from rich.progress import BarColumn, MofNCompleteColumn, TextColumn
            from rich.progress import Progress as RichProgress

            self._bars = RichProgress(
                TextColumn(self._verb + " [bold]{task.description:<21}"),
                BarColumn(),
                MofNCompleteColumn(),
                _seconds_column(),
                console=err_console(),
                transient=False,
            )
            self._bars.start()
        if method not in self._tasks:  # a bar appears when its method starts
            self._tasks[method] = self._bars.add_task(method, total=total)
        self._bars.update(self._tasks[method], completed=done, total=total)

    def finish(self, seconds: Mapping[str, float]) -> None:
        """Show ``seconds[method]`` (the result's ``seconds``, what the table shows: the fit
        and the final pass) on each method's bar instead of the bar's own clock."""
        for method, task in self._tasks.items():
            if method in seconds and self._bars is not None:
                self._bars.update(task, seconds=seconds[method])

    def stop(self) -> None:
        if self._bars is not None:
            self._bars.stop()


@contextlib.contextmanager
def progress(enabled: bool, verb: str = "fitting", delay: float = 0.0) -> Iterator[Bars | None]:
    """Rich progress bars on stderr, one per method as it reports; yields a :class:`Bars`, the
    callback ``report(method, done, total)`` (None when not ``enabled``). Nothing is drawn until
    the first report, so a run that fits nothing shows no bar. ``verb`` begins each bar's label
    (``fitting`` for compare, ``reading`` for detect). ``delay``: no bar before that many
    seconds have passed (a short run shows none)."""
    if not enabled:
        yield None
        return
    bars = Bars(verb, delay)
    try:
        yield bars
    finally:
        bars.stop()
