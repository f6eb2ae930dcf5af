"""The command-line shell: parse options, call the core, hand results to ``upscope.render``.

Each command lives in ``upscope/commands/<name>.py`` and registers itself on ``app``.
Bad input raises :class:`upscope.errors.UpscopeError`, which becomes one line on stderr and
exit code 2; anything unexpected is an internal error, exit code 1. Interrupted runs print
"interrupted" and exit 130 (SIGINT, Ctrl-C) or 143 (SIGTERM, what ``timeout`` and CI runners
send); either way the temporary files of unfinished writes are removed. The plumbing the
commands share (``error_line``, ``guarded``) lives below them in ``upscope.commands._shell``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import sys
import threading
from typing import Annotated, Any, NoReturn

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


_recording = [False]  # once the work is over, a signal is recorded here instead of raised
_pending: list[int] = []


def _on_signal(signum: int, frame: object) -> None:
    if _recording[0]:
        _pending.append(signum)
        return
    raise Interrupted(signum)


class StdoutError(Exception):
    """Writing to stdout failed (``>/dev/full``, a closed pipe): bad surroundings, not a bug.
    Not an OSError: click turns an OSError of EPIPE into exit 1 on its own."""

    def __init__(self, code: int | None, reason: str | None) -> None:
        super().__init__(reason)
        self.errno, self.strerror = code, reason


class _Stdout:
    """sys.stdout as it was, except that a failed write or flush raises StdoutError (also when
    there is no stdout at all: ``>&-``)."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        if self._stream is None:
            raise StdoutError(errno.EBADF, "it is closed")
        try:
            return int(self._stream.write(text))
        except OSError as exc:
            raise StdoutError(exc.errno, exc.strerror) from None

    def flush(self) -> None:
        if self._stream is None:
            return
        try:
            self._stream.flush()
        except OSError as exc:
            raise StdoutError(exc.errno, exc.strerror) from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class _Stderr:
    """sys.stderr as it was, except that a failed write or flush is ignored (``2>&-``,
    ``2>/dev/full``): what cannot be said there must not become a second error."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return int(self._stream.write(text))
        except (OSError, ValueError, AttributeError):
            return len(text)

    def flush(self) -> None:
        with contextlib.suppress(OSError, ValueError, AttributeError):
            self._stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _hold_descriptors() -> None:
    """A closed descriptor 1 or 2 (``>&-``) gets /dev/null, so that no file opened later takes
    its number and receives what was meant for a terminal; sys.stdout/err stay None."""
    for fd in (1, 2):
        try:
            os.fstat(fd)
        except OSError:
            try:
                null = os.open(os.devnull, os.O_WRONLY)
                if null != fd:
                    os.dup2(null, fd)
                    os.close(null)
            except OSError:  # pragma: no cover - no /dev/null
                pass


def _setup_streams() -> tuple[Any, Any]:
    """Never fail on a character the terminal cannot encode (``PYTHONIOENCODING=ascii``), tell
    a failed write to stdout from a bug, and ignore a failed write to stderr. Returns the
    streams to restore."""
    _hold_descriptors()
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    original = (sys.stdout, sys.stderr)
    sys.stdout = _Stdout(original[0])  # type: ignore[assignment]
    sys.stderr = _Stderr(original[1])  # type: ignore[assignment]
    return original


def _silence_stdout() -> None:
    """Point fd 1 at /dev/null, so that Python's last flush at exit has nothing to report."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.close(null)
    except OSError:  # pragma: no cover - no /dev/null
        pass


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: exit 0 on success, 2 on bad input, 1 on an internal error,
    130 on Ctrl-C, 143 on SIGTERM, 141 when the reader of stdout closed the pipe.

    Called with ``argv=None`` (the ``upscope`` script, ``python -m upscope``) it ends the
    process itself (:func:`_finish`); with a list it raises SystemExit, for tests."""
    original = _setup_streams()
    _recording[0] = False
    _pending.clear()
    handlers = {}
    if threading.current_thread() is threading.main_thread():  # only there can Python catch them
        handlers = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            _run(argv)
            code = 0
        finally:
            _recording[0] = True  # from here a signal is recorded and reported, not raised
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except Interrupted as exc:  # arrived while the outcome was being reported
        _pending.insert(0, exc.signum)
        code = 1
    if argv is None:
        _finish(code)
    if _pending and code not in (130, 143):
        code = _interrupted(_pending[0])
    sys.stdout, sys.stderr = original
    for sig, handler in handlers.items():
        signal.signal(sig, handler)
    sys.exit(code)


def _finish(code: int) -> NoReturn:
    """End the process now: flush, block SIGINT and SIGTERM, report one that arrived since the
    work ended ("interrupted", 130/143, even after every file was written), then ``os._exit``.
    No interpreter teardown follows, during which a signal would end the process without a
    word, and no wait for threads a scanned model left running (the scan said so)."""
    try:
        sys.stdout.flush()
    except StdoutError as exc:
        code = _stdout_failed(exc)
    if threading.current_thread() is threading.main_thread():
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        _pending.extend(int(sig) for sig in signal.sigpending())
    if _pending and code not in (130, 143):
        code = _interrupted(_pending[0])
    for stream in (sys.stderr, sys.__stderr__):
        try:
            if stream is not None:
                stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)


def _stdout_failed(exc: StdoutError) -> int:
    """A closed pipe is the reader's choice: quiet, 141 (128 + SIGPIPE, what a shell reports for
    a tool that SIGPIPE ended); any other failure is one line, exit 2."""
    _silence_stdout()
    if exc.errno == errno.EPIPE:
        return 141
    error_line(f"cannot write to stdout: {exc.strerror}")
    return 2


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
        sys.exit(_interrupted(exc.signum))
    except KeyboardInterrupt:
        sys.exit(_interrupted(signal.SIGINT))
    except StdoutError as exc:
        sys.exit(_stdout_failed(exc))
    except Exception as exc:  # noqa: BLE001 - last resort: one line, not a traceback
        _internal_error(exc)
    sys.exit(rv if isinstance(rv, int) else 0)


def _interrupted(signum: int) -> int:
    """Say "interrupted" once; the exit code of ``signum``."""
    for sig in (signal.SIGINT, signal.SIGTERM):  # a second signal must not cut this short
        signal.signal(sig, signal.SIG_IGN)
    terminated = signum == signal.SIGTERM
    error_line("interrupted (SIGTERM)" if terminated else "interrupted")
    return 143 if terminated else 130


def _internal_error(exc: BaseException) -> None:
    if os.environ.get("UPSCOPE_DEBUG"):
        raise exc
    error_line(
        f"internal error: {type(exc).__name__}: {exc} (set UPSCOPE_DEBUG=1 for the traceback)"
    )
    sys.exit(1)
