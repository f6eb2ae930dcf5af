"""Run the user's model code so that its misbehaviour cannot take the command with it.

``upscope scan`` imports, builds, copies and runs a user's model in its own process. Inside
:func:`guard` (the whole of a scan's work with the model):

- **Output.** File descriptor 1 points at descriptor 2, and ``sys.stdout`` at ``sys.stderr``:
  whatever the model writes (``print``, ``sys.__stdout__``, ``os.write(1, ...)``, a C library's
  ``printf``) lands on stderr, so ``--json`` stays one document. Descriptor 1 is restored after.
- **Exceptions.** Every ``BaseException`` the model's code raises (``SystemExit`` from its
  ``__deepcopy__``, ``GeneratorExit``, a ``KeyboardInterrupt`` it raises itself) is the model's
  failure: the caller turns it into one line, exit 2 (:func:`model_failure`). Only what a real
  signal caused passes through: if SIGINT or SIGTERM arrived while the block ran, the exception
  is the user's Ctrl-C (or ``timeout``'s SIGTERM) and keeps its meaning (exit 130/143).
- **os._exit.** ``os._exit`` is replaced while the block runs: a model that calls it fails with
  "the model called os._exit(0)" instead of ending upscope silently. What cannot be caught in
  one process is documented in docs/scan.md: a model that kills its own process (a signal,
  ``posix._exit``, a C library's ``exit``, a crash) ends upscope with no report; upscope prints
  its JSON only at the end, so a script sees no document (and the code the model chose).
- **Threads.** A thread the model starts and leaves running is listed (:func:`stray_threads`);
  the command line says so and exits without waiting for it.
- **Time.** :func:`time_limit` around each forward pass: past ``--timeout`` seconds a SIGALRM
  (``setitimer``, main thread only) raises :class:`ModelTimeout` in the forward pass, which
  becomes one line. Python runs the handler between bytecodes, so one long C call (a huge
  convolution) finishes first; the command line also arms a last-resort watchdog thread that
  ends the process (exit 2, one line) :data:`GRACE` seconds after the limit.

Standard library only; torch is the callers'.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextvars import ContextVar

from upscope.errors import UpscopeError, one_line

__all__ = [
    "GRACE",
    "ModelExit",
    "ModelTimeout",
    "guard",
    "model_failure",
    "passes",
    "stray_threads",
    "time_limit",
    "timeout",
]

GRACE = 5.0  # seconds after --timeout before the watchdog ends the process (command line)
_TIMEOUT: ContextVar[float | None] = ContextVar("upscope_model_timeout", default=None)
_HARD: ContextVar[bool] = ContextVar("upscope_model_hard_stop", default=False)
_signalled: list[int] = []  # real SIGINT/SIGTERM seen during the outermost guard
_stray: list[threading.Thread] = []
_depth = [0]


class ModelExit(BaseException):
    """The model called ``os._exit`` (replaced inside :func:`guard`)."""

    def __init__(self, code: object) -> None:
        super().__init__(code)
        self.code = code


class ModelTimeout(BaseException):
    """A forward pass ran past ``--timeout`` (raised by the SIGALRM handler; a BaseException, so
    a model's ``except Exception`` does not swallow it)."""


def passes(exc: BaseException) -> bool:
    """True when ``exc`` must not be reported as the model's failure: a real signal arrived
    while the model ran (the user's Ctrl-C, a SIGTERM), or its time ran out."""
    return bool(_signalled) or isinstance(exc, ModelTimeout)


def model_failure(exc: BaseException, what: str) -> UpscopeError:
    """One line for what the model's code raised: ``{what} failed: TypeName: message``."""
    if isinstance(exc, ModelExit):
        return UpscopeError(f"{what} failed: the model called os._exit({exc.code!r})")
    return UpscopeError(f"{what} failed: {one_line(exc, 400, typed=True)}")


def stray_threads() -> list[str]:
    """Names of the threads the model started and left running (non-daemon: Python would wait
    for them at exit)."""
    return [t.name for t in _stray if t.is_alive()]


@contextlib.contextmanager
def timeout(seconds: float | None, hard: bool | None = None) -> Iterator[None]:
    """Set the limit of each forward pass inside the block (``None``: no limit); ``hard=True``
    arms the watchdog that ends the process :data:`GRACE` seconds past the limit (the command
    line only: a notebook must not be killed; ``None`` keeps the setting in force)."""
    if seconds is not None:
        if not 0 < seconds <= 10**6:
            raise UpscopeError(f"--timeout must be between 0 and 1000000 seconds, got {seconds:g}")
        if threading.current_thread() is not threading.main_thread():
            raise UpscopeError(
                "timeout= needs the main thread (a signal stops the forward pass); call "
                "upscope.scan from the main thread or without a timeout"
            )
    token, hard_token = _TIMEOUT.set(seconds), _HARD.set(_HARD.get() if hard is None else hard)
    try:
        yield
    finally:
        _TIMEOUT.reset(token)
        _HARD.reset(hard_token)


def _on_alarm(signum: int, frame: object) -> None:
    raise ModelTimeout


_real_exit = os._exit


def _watchdog(seconds: float) -> None:
    line = (
        f"upscope: error: the model's forward pass did not return within {seconds:g} s "
        f"(--timeout), nor {GRACE:g} s later (stuck outside Python); stopped\n"
    )
    with contextlib.suppress(OSError):
        os.write(2, line.encode())
    _real_exit(2)


@contextlib.contextmanager
def time_limit() -> Iterator[None]:
    """Around one forward pass: past the :func:`timeout` in force, stop it with one line."""
    seconds = _TIMEOUT.get()
    if seconds is None:
        yield
        return
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    watchdog = None
    if _HARD.get():
        watchdog = threading.Timer(seconds + GRACE, _watchdog, (seconds,))
        watchdog.daemon = True
        watchdog.start()
    signal.setitimer(signal.ITIMER_REAL, seconds, 1.0)  # again each second if it is swallowed
    try:
        yield
    except ModelTimeout:
        raise UpscopeError(
            f"the model's forward pass did not return within {seconds:g} s (--timeout "
            f"{seconds:g}); give it more time with --timeout, or a smaller --input-shape"
        ) from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if watchdog is not None:
            watchdog.cancel()


def _record_then(previous: object) -> object:
    def handler(signum: int, frame: object) -> None:
        _signalled.append(signum)
        if callable(previous):
            previous(signum, frame)
        elif previous == signal.SIG_DFL:
            if signum == signal.SIGINT:
                raise KeyboardInterrupt
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    return handler


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Descriptor 1 -> descriptor 2 and sys.stdout -> sys.stderr inside the block."""
    for stream in (sys.stdout, sys.__stdout__):
        with contextlib.suppress(Exception):
            if stream is not None:
                stream.flush()
    try:
        saved: int | None = os.dup(1)
    except OSError:  # descriptor 1 is closed: keep it closed after
        saved = None
    try:
        os.dup2(2, 1)
    except OSError:  # descriptor 2 is closed too: the model writes to nothing
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.close(null)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        for stream in (sys.stdout, sys.__stdout__, sys.stderr):
            with contextlib.suppress(Exception):
                if stream is not None:
                    stream.flush()
        if saved is None:
            with contextlib.suppress(OSError):
                os.close(1)
        else:
            os.dup2(saved, 1)
            os.close(saved)


@contextlib.contextmanager
def guard() -> Iterator[None]:
    """Run the block as the user's model code (see the module docstring); nested blocks are the
    outermost one's."""
    if _depth[0]:
        _depth[0] += 1
        try:
            yield
        finally:
            _depth[0] -= 1
        return
    _depth[0] = 1
    _signalled.clear()
    before = set(threading.enumerate())
    handlers = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous = signal.getsignal(sig)
            handlers[sig] = previous
            signal.signal(sig, _record_then(previous))  # type: ignore[arg-type]

    def model_exit(code: object) -> None:
        raise ModelExit(code)

    os._exit = model_exit  # type: ignore[assignment]
    try:
        with _stdout_to_stderr():
            yield
    finally:
        os._exit = _real_exit
        for sig, previous in handlers.items():
            signal.signal(sig, previous)  # type: ignore[arg-type]
        _depth[0] = 0
        _stray.extend(
            t for t in threading.enumerate() if t not in before and t.is_alive() and not t.daemon
        )
