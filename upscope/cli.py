"""The command-line shell: parse options, call the core, hand results to ``upscope.render``.

Each command lives in ``upscope/commands/<name>.py`` and registers itself on ``app``.
Bad input raises :class:`upscope.errors.UpscopeError`, which becomes one line on stderr and
exit code 2; anything unexpected is an internal error, exit code 1.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer

from upscope import __version__
from upscope.commands import UpscopeGroup
from upscope.errors import UpscopeError

F = TypeVar("F", bound=Callable[..., Any])

app = typer.Typer(
    name="upscope",
    cls=UpscopeGroup,
    help=(
        "See what your upsampling layers really do: transposed convolution, resize-conv and "
        "pixel shuffle, their output sizes, overlap maps and checkerboard artifacts."
    ),
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def error_line(message: str) -> None:
    """Write one ``upscope: error: ...`` line to stderr."""
    text = " ".join(str(message).split())
    sys.stderr.write(f"upscope: error: {text}\n")
    sys.stderr.flush()


def guarded(func: F) -> F:
    """Turn UpscopeError raised by a command into one stderr line and exit code 2."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except UpscopeError as exc:
            error_line(str(exc))
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def _version_callback(value: bool) -> None:
    if value:
        sys.stdout.write(f"upscope {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_callback, is_eager=True, help="Show the version."
        ),
    ] = False,
) -> None:
    """See what your upsampling layers really do."""


def _register_commands() -> None:
    from upscope.commands import compare, overlap, probe, scan, size

    for command in (size, overlap, probe, compare, scan):
        command.register(app)


_register_commands()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: exit 0 on success, 2 on bad input, 1 on an internal error."""
    try:
        rv = app(args=argv, prog_name="upscope", standalone_mode=False)
    except UpscopeError as exc:
        error_line(str(exc))
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        error_line("aborted")
        sys.exit(130)
    except typer.TyperException as exc:  # typer's usage errors (its vendored click)
        if type(exc).__name__ == "NoArgsIsHelpError":
            exc.show()  # type: ignore[attr-defined]
            sys.exit(0)
        error_line(exc.format_message())
        sys.exit(2 if exc.exit_code == 2 else 1)
    except KeyboardInterrupt:
        error_line("interrupted")
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - last resort: one line, not a traceback
        if os.environ.get("UPSCOPE_DEBUG"):
            raise
        error_line(
            f"internal error: {type(exc).__name__}: {exc} (set UPSCOPE_DEBUG=1 for the traceback)"
        )
        sys.exit(1)
    sys.exit(rv if isinstance(rv, int) else 0)
