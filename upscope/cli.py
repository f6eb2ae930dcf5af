"""The command-line shell: parse options, call the core, hand results to ``upscope.render``.

Each command lives in ``upscope/commands/<name>.py`` and registers itself on ``app``.
Bad input raises :class:`upscope.errors.UpscopeError`, which becomes one line on stderr and
exit code 2; anything unexpected is an internal error, exit code 1. Interrupted runs print
"interrupted" and exit 130 (SIGINT, Ctrl-C) or 143 (SIGTERM, what ``timeout`` and CI runners
send); either way the temporary files of unfinished writes are removed. The plumbing the
commands share (``error_line``, ``guarded``) lives below them in ``upscope.commands._shell``.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from typing import Annotated, Any

import typer

from upscope import __version__
from upscope.commands import UpscopeGroup
from upscope.commands._shell import error_line, guarded  # noqa: F401 - guarded: old import path
from upscope.errors import UpscopeError

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
    from upscope.commands import compare, detect, overlap, probe, scan, size

    for command in (size, overlap, probe, compare, scan, detect):
        command.register(app)


_register_commands()


class Interrupted(BaseException):
    """SIGINT or SIGTERM. Raised from the signal handler so that every ``finally`` (temporary
    files) runs; a BaseException but no KeyboardInterrupt, which typer would swallow."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _on_signal(signum: int, frame: object) -> None:
    raise Interrupted(signum)


class StdoutError(OSError):
    """Writing to stdout failed (``>/dev/full``, a closed pipe): bad surroundings, not a bug."""


class _Stdout:
    """sys.stdout as it was, except that a failed write or flush raises StdoutError."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return int(self._stream.write(text))
        except OSError as exc:
            raise StdoutError(exc.errno, exc.strerror) from None

    def flush(self) -> None:
        try:
            self._stream.flush()
        except OSError as exc:
            raise StdoutError(exc.errno, exc.strerror) from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _setup_streams() -> Any:
    """Never fail on a character the terminal cannot encode (``PYTHONIOENCODING=ascii``), and
    tell a failed write to stdout from a bug. Returns the stdout to restore."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    original = sys.stdout
    sys.stdout = _Stdout(original)  # type: ignore[assignment]
    return original


def _silence_stdout() -> None:
    """Point fd 1 at /dev/null, so that Python's last flush at exit has nothing to report."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.__stdout__.fileno() if sys.__stdout__ else 1)
        os.close(null)
    except (OSError, ValueError):  # pragma: no cover - no fd 1 at all
        pass


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: exit 0 on success, 2 on bad input, 1 on an internal error,
    130 on Ctrl-C, 143 on SIGTERM."""
    original_stdout = _setup_streams()
    handlers = {}
    if threading.current_thread() is threading.main_thread():  # only there can Python catch them
        handlers = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        _run(argv)
    finally:
        sys.stdout = original_stdout
        for sig, handler in handlers.items():
            signal.signal(sig, handler)


def _run(argv: list[str] | None) -> None:
    try:
        rv = app(args=argv, prog_name="upscope", standalone_mode=False)
        sys.stdout.flush()  # a full disk is reported here, not after the exit code is set
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
    except Interrupted as exc:
        _interrupted(exc.signum)
    except KeyboardInterrupt:
        _interrupted(signal.SIGINT)
    except StdoutError as exc:
        _silence_stdout()
        error_line(f"cannot write to stdout: {exc.strerror}")
        sys.exit(2)
    except Exception as exc:  # noqa: BLE001 - last resort: one line, not a traceback
        _internal_error(exc)
    sys.exit(rv if isinstance(rv, int) else 0)


def _interrupted(signum: int) -> None:
    for sig in (signal.SIGINT, signal.SIGTERM):  # a second signal must not cut this short
        signal.signal(sig, signal.SIG_IGN)
    terminated = signum == signal.SIGTERM
    error_line("interrupted (SIGTERM)" if terminated else "interrupted")
    sys.exit(143 if terminated else 130)


def _internal_error(exc: BaseException) -> None:
    if os.environ.get("UPSCOPE_DEBUG"):
        raise exc
    error_line(
        f"internal error: {type(exc).__name__}: {exc} (set UPSCOPE_DEBUG=1 for the traceback)"
    )
    sys.exit(1)
