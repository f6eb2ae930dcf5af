"""The drawing process: a command's figures drawn beside its analysis, on the other CPU.

A command that will write PNGs calls :func:`start` first, before it imports torch: the process
forks (cheap and safe: no thread runs yet, torch is not loaded). The child imports matplotlib
and draws a small figure to warm its fonts while the parent imports torch and computes, so
matplotlib's import (about 0.45 s) leaves the command's time. When the command's result is
ready, :func:`upscope.present.save_figures` hands it over (:func:`hand`: one pickle through a
pipe, with :func:`upscope.present.figures` to call on it).
The child forks once more, and the two draw every second figure each (:func:`share`), while
the parent runs the same figure function only to list the paths and set the result's ``pngs``
(:func:`listing`: :func:`upscope.render.plots.save_all` then draws nothing) and waits
(:func:`wait`). Every file is written atomically by the process that draws it; the same figure
gives the same bytes in any process.

If anything in the child fails (an error, a result that cannot be pickled, a signal), the
parent draws every figure itself, so an error is raised there with its own message. Ctrl-C
reaches all three processes (each removes its own temporary file); SIGTERM to the command
ends the drawing processes through :func:`stop` before the command exits; a command that
dies without a word (SIGKILL) ends them too (``PR_SET_PDEATHSIG``).

``UPSCOPE_FIGURE_WORKERS=1`` draws in the command's own process, one figure after another, as
:meth:`upscope.result.Result.save_png` does in a notebook or a script (no drawing process
there: a fork of a process that holds torch's threads is a risk).
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

__all__ = ["begin", "hand", "listing", "role", "share", "start", "stop", "wait", "wanted"]

#: seconds a handed result may take to reach a drawing process that does not read it
SEND_TIMEOUT = 60.0


class _Drawer:
    """The parent's end of one drawing process."""

    def __init__(self, pid: int, send: int, answer: int) -> None:
        self.pid = pid
        self.send = send  # the result goes here (pickled), then it is closed
        self.answer = answer  # b"ok" when every figure was written
        self.handed = False


_drawer: _Drawer | None = None
#: what save_all does in this process: None draws every job; "list" draws none (the drawing
#: processes have them); (k, n) draws the jobs whose index i in this figures call has i % n == k
_role: tuple[int, int] | str | None = None
_index = [0]


def wanted() -> bool:
    """True where a drawing process may start: Linux, two or more CPUs for this process, no
    thread besides this one, torch not yet imported, and not ``UPSCOPE_FIGURE_WORKERS=1``."""
    if os.environ.get("UPSCOPE_FIGURE_WORKERS", "").strip() == "1":
        return False
    if not sys.platform.startswith("linux") or "torch" in sys.modules:
        return False
    if threading.active_count() != 1 or _drawer is not None or _role is not None:
        return False
    return len(os.sched_getaffinity(0)) >= 2


def start(preload: Sequence[str] = ()) -> bool:
    """Fork the drawing process if :func:`wanted`; True if it runs. It imports the modules
    named in ``preload`` (the figures' modules) while it waits for a result."""
    global _drawer
    if not wanted():
        return False
    send_r, send_w = os.pipe()
    answer_r, answer_w = os.pipe()
    parent = os.getpid()
    # a signal between the fork and the child's own handlers would run the command's handler
    # there: held until each side has the handlers it wants
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        pid = os.fork()
    except OSError:
        for fd in (send_r, send_w, answer_r, answer_w):
            os.close(fd)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        return False
    if pid == 0:  # the child: never returns, whatever is raised on the way out
        try:
            os.close(send_w)
            os.close(answer_r)
            _child(send_r, answer_w, parent, mask, preload)
        finally:
            os._exit(1)
    _drawer = _Drawer(pid, send_w, answer_r)  # before a held signal can end this command
    os.close(send_r)
    os.close(answer_w)
    os.set_blocking(send_w, False)
    _forget_at_fork()
    signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    return True


def hand(draw: Callable[[Any, Path], Any], result: Any, out: Path) -> bool:
    """Have the drawing process call ``draw(result, out)`` (``draw`` a module-level function,
    pickled by name); True if it has them (then :func:`listing` and :func:`wait` follow). False
    without one, or once it has had a result (it draws one figures call), or if the result
    cannot be pickled or sent (it is stopped)."""
    import pickle

    drawer = _drawer
    if drawer is None or drawer.handed:
        return False
    drawer.handed = True
    try:
        data = pickle.dumps((draw, result, out), protocol=pickle.HIGHEST_PROTOCOL)
        # its length first: the child reads that many bytes, not up to an end of file that a
        # process the command forks later (a scanned model's worker) would hold off
        _write_all(drawer.send, len(data).to_bytes(8, "big") + data)
    except Exception:  # noqa: BLE001 - unpicklable, or the child is gone: draw here
        stop()
        return False
    finally:
        _close(drawer, "send")
    return True


@contextlib.contextmanager
def listing() -> Iterator[None]:
    """While inside, :func:`upscope.render.plots.save_all` lists its paths and draws nothing."""
    global _role
    _role = "list"
    try:
        yield
    finally:
        _role = None


def wait() -> bool:
    """Wait for the drawing process; True if it wrote every figure it was handed."""
    global _drawer
    drawer = _drawer
    if drawer is None:
        return False
    answer = b""
    with contextlib.suppress(OSError):
        while chunk := os.read(drawer.answer, 16):
            answer += chunk
    if answer != b"ok":
        stop()
        return False
    _drawer = None  # it has answered and exits: reap it
    _close(drawer, "answer")
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(drawer.pid, 0)
    return True


def stop() -> None:
    """End the drawing process (if it still runs) and wait for it: each drawing process removes
    its temporary file before it exits."""
    global _drawer
    drawer, _drawer = _drawer, None
    if drawer is None:
        return
    _close(drawer, "send")
    _close(drawer, "answer")
    # a second Ctrl-C must not cut the wait short: held until the drawing processes are gone
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        with contextlib.suppress(OSError):
            os.kill(drawer.pid, signal.SIGTERM)
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(drawer.pid, 0)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


def _close(drawer: _Drawer, end: str) -> None:
    """Close the drawer's ``end`` ("send" or "answer") once: a number closed twice may by then
    be another file's."""
    fd = getattr(drawer, end)
    if fd >= 0:
        setattr(drawer, end, -1)
        with contextlib.suppress(OSError):
            os.close(fd)


_fork_hook = [False]


def _forget_at_fork() -> None:
    """A process the command forks later (a scanned model's worker) closes its copies of the
    pipes and has no drawing process of its own."""
    if _fork_hook[0]:
        return
    _fork_hook[0] = True

    def forget() -> None:
        global _drawer
        drawer, _drawer = _drawer, None
        if drawer is not None:
            _close(drawer, "send")
            _close(drawer, "answer")

    os.register_at_fork(after_in_child=forget)


def role() -> tuple[int, int] | str | None:
    """What :func:`upscope.render.plots.save_all` does here (see ``_role``)."""
    return _role


def share(index: int) -> bool:
    """Whether the job with ``index`` (counted over one figures call) is drawn here."""
    if _role is None:
        return True
    if isinstance(_role, str):  # "list"
        return False
    k, n = _role
    return index % n == k


def begin() -> None:
    """A figures call starts: its jobs are counted from 0 (:func:`share`)."""
    _index[0] = 0


def next_index() -> int:
    """The index of the next job of this figures call (:func:`share`)."""
    index = _index[0]
    _index[0] += 1
    return index


# ---------------------------------------------------------------- the drawing processes


class _Stop(BaseException):
    """SIGINT or SIGTERM in a drawing process: unwind (temporary files go), then exit."""


_partner = [0]  # in the first drawing process: the second one's pid
_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def _on_signal(signum: int, frame: object) -> None:
    """Stop the partner, then unwind once: a second signal (Ctrl-C reaches every process, and
    the command then sends SIGTERM) must not interrupt the removal of a temporary file."""
    for sig in _SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    if _partner[0]:
        with contextlib.suppress(OSError):
            os.kill(_partner[0], signal.SIGTERM)
    raise _Stop


def _die_with(parent: int) -> None:
    """Be sent SIGTERM when the process that forked this one dies (Linux ``prctl``)."""
    import ctypes

    with contextlib.suppress(Exception):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # it died before prctl took effect
        raise _Stop


def _quiet() -> None:
    """Nothing a drawing process says reaches the command's stdout or stderr (``--json``)."""
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 1)
    os.dup2(null, 2)
    os.close(null)


def _child(
    receive: int, answer: int, parent: int, mask: set[int | signal.Signals], preload: Sequence[str]
) -> None:
    """The first drawing process: import and warm matplotlib, read the result, fork the second,
    draw its share, wait for the second, answer, exit. Whatever happens, it ends here
    (``os._exit``): it never returns into the command that forked it."""
    global _role
    code = 1
    ok = False
    try:
        signal.signal(signal.SIGINT, _on_signal)
        signal.signal(signal.SIGTERM, _on_signal)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        _quiet()
        _die_with(parent)
        _yield_cpu()
        _warm(receive)
        _preload(preload, receive)
        _collect_less()
        data = _read_result(receive)
        os.close(receive)
        if data:
            import gc
            import pickle

            draw, result, out = pickle.loads(data)
            gc.freeze()  # the result too
            me = os.getpid()
            signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)  # _partner is set first
            pid = os.fork()
            if pid == 0:
                _partner[0] = 0
                _role = (1, 2)
            else:
                _partner[0] = pid
                _role = (0, 2)
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
            if pid == 0:
                _die_with(me)
            begin()
            draw(result, out)
            if pid == 0:
                code = 0
                return
            _, status = os.waitpid(pid, 0)
            _partner[0] = 0
            ok = status == 0
        code = 0
    except BaseException:  # noqa: BLE001 - the parent draws again and reports the error
        if _partner[0]:
            with contextlib.suppress(OSError, ChildProcessError):
                os.waitpid(_partner[0], 0)
    finally:
        signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)  # nothing may raise past here
        if _role != (1, 2):
            with contextlib.suppress(OSError):
                os.write(answer, b"ok" if ok else b"no")
        os._exit(code)


#: the drawing processes' nice value: the command's own work comes first (see _yield_cpu)
NICENESS = 10


def _yield_cpu() -> None:
    """Lower this process's priority (and its fork's) by :data:`NICENESS`: while the command
    computes, the drawing process's warm-up (matplotlib's import, the figure modules, the glyph
    cache's self-check: about 0.7 s of CPU) takes what the command leaves of the two CPUs
    instead of half of them from torch's two threads. Once the result is handed over the
    command only waits, so the figures then run at the same speed either way (on a machine
    busy with other work, slower: they are the command's background work). Measured, DCGAN
    scan, 8 alternating pairs on the idle two-core machine: PNGs / --no-png 1.37 without,
    1.27 with. ``UPSCOPE_DRAWER_NICE=0`` keeps the command's priority."""
    value = os.environ.get("UPSCOPE_DRAWER_NICE", "").strip()
    step = int(value) if value.isdigit() else NICENESS
    if step:
        with contextlib.suppress(OSError):
            os.nice(step)


#: the drawing processes' first collection threshold (Python's default: 2000 allocations)
GC_THRESHOLD = 50_000


def _preload(names: Sequence[str], receive: int) -> None:
    """Import the modules ``names`` unless the result is already waiting in ``receive`` (then
    the figures import what they need)."""
    import importlib
    import select

    for name in names:
        if select.select([receive], [], [], 0)[0]:
            return
        importlib.import_module(name)


def _collect_less() -> None:
    """Collect once and freeze what is loaded (matplotlib, the figures' modules) out of the
    garbage collector's sight, while the result is not here yet, and collect the young
    generation after more allocations: a figure makes many objects and few cycles, and a full
    collection walking all of matplotlib cost about a tenth of the drawing (measured: 2 probe
    figures, 1.14-1.20 s against 1.32-1.51 s with the defaults). The process exits after its
    figures, so what this keeps a little longer is bounded."""
    import gc

    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])


def _warm(receive: int) -> None:
    """Import matplotlib and, unless the result is already waiting in ``receive``, run the glyph
    cache's self-check (:mod:`upscope.render.glyphs`) and draw a small figure (fonts, ticks, an
    image, a colorbar, the PNG encoder), so that the first real figure pays none of it."""
    import io
    import select

    import numpy as np
    from matplotlib.figure import Figure

    from upscope.render import glyphs

    if select.select([receive], [], [], 0)[0]:
        return
    fig = Figure(figsize=(2.0, 1.5), dpi=100)
    glyphs.canvas(fig)  # the canvas every figure gets (its self-check runs here, once)
    ax = fig.add_axes((0.2, 0.2, 0.5, 0.6))
    image = ax.imshow(np.arange(16.0).reshape(4, 4))
    ax.set_title("warm 0.5", fontsize=8)
    ax.set_xlabel("x")
    fig.colorbar(image, cax=fig.add_axes((0.8, 0.2, 0.05, 0.6)))
    fig.suptitle("warm")
    fig.savefig(io.BytesIO(), format="png")


def _read_exactly(fd: int, size: int) -> bytes:
    chunks = []
    while size > 0 and (chunk := os.read(fd, min(size, 1 << 20))):
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _read_result(fd: int) -> bytes:
    """The pickled result, length first; b"" if the command closed the pipe without one."""
    head = _read_exactly(fd, 8)
    if len(head) < 8:
        return b""
    size = int.from_bytes(head, "big")
    data = _read_exactly(fd, size)
    if len(data) < size:
        raise EOFError("the result was cut short")
    return data


def _write_all(fd: int, data: bytes) -> None:
    """Write ``data`` to the pipe ``fd``; TimeoutError if the reader takes none of it for
    :data:`SEND_TIMEOUT` seconds."""
    import select

    view = memoryview(data)
    while view:
        _, ready, _ = select.select([], [fd], [], SEND_TIMEOUT)
        if not ready:
            raise TimeoutError("the drawing process does not read")
        try:
            written = os.write(fd, view[: 1 << 16])
        except BlockingIOError:
            continue
        view = view[written:]
