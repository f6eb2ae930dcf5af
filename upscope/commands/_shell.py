"""The plumbing every command shares, below the commands and below ``upscope.cli``: the one
stderr error line and :func:`guarded`. Here (not in ``cli.py``) so that no command imports the
module that imports every command (tests/test_layers.py finds no import circle)."""

from __future__ import annotations

import contextvars
import functools
import re
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer

from upscope.errors import UpscopeError
from upscope.text import printable

__all__ = ["error_line", "guarded"]

# repr() of a path writes a byte that was not UTF-8 (surrogateescape) as \udc80-\udcff
_UNDECODED = re.compile(r"\\udc[89a-f][0-9a-f]")

F = TypeVar("F", bound=Callable[..., Any])


def error_line(message: str) -> None:
    """Write one ``upscope: error: ...`` line to stderr (control characters as escapes: a
    message may quote a name from a file or a model, :mod:`upscope.text`)."""
    text = printable(" ".join(str(message).split()), None)
    text = _UNDECODED.sub("\ufffd", text)  # a byte of a file name that was not UTF-8, as repr

    sys.stderr.write(f"upscope: error: {text}\n")
    sys.stderr.flush()


def guarded(func: F) -> F:
    """Turn UpscopeError raised by a command into one stderr line and exit code 2; run it
    under its ``--max-memory`` budget, if it has that option; an allocation that fails inside
    the work is the budget's refusal (:func:`upscope.limits.allocation_failure`). A command
    that will write PNGs starts its drawing process first (:mod:`upscope.render.drawer`)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from upscope import limits

        def run() -> Any:
            with limits.max_memory(kwargs.get("max_memory")):
                try:
                    return func(*args, **kwargs)
                except (MemoryError, RuntimeError) as exc:
                    refusal = limits.allocation_failure(exc)
                    if refusal is None:
                        raise
                    raise refusal from None

        from upscope import present
        from upscope.render import drawer

        try:  # a context of its own: what the command sets there (budget, inputs) ends with it
            if "out" in kwargs and kwargs.get("no_png") is False:
                drawer.start(present.registrars())  # the figures' process, before torch loads
            return contextvars.copy_context().run(run)
        except UpscopeError as exc:
            error_line(str(exc))
            raise typer.Exit(2) from None
        finally:
            drawer.stop()

    return wrapper  # type: ignore[return-value]
