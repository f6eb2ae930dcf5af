"""Output folders and atomic file writes (torch-free, matplotlib-free)."""

from __future__ import annotations

import errno
import os
import signal
import stat
import tempfile
from collections.abc import Callable, Iterable
from contextvars import ContextVar
from pathlib import Path

from upscope.errors import UpscopeError


def check_regular_file(path: Path, what: str) -> None:
    """Raise UpscopeError unless ``path`` is a regular file (symbolic links followed).

    Decided from ``os.stat`` alone, before anything opens the path, so a FIFO is never waited
    on and a device never read: each gets its own message, naming ``what`` (e.g. "image").
    """
    name = str(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise UpscopeError(f"{what} {name!r} not found (no such file)") from None
    except OSError as exc:
        raise UpscopeError(f"{what} {name!r} cannot be read: {exc.strerror}") from None
    if stat.S_ISREG(mode):
        return
    kinds = (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    kind = next((word for test, word in kinds if test(mode)), "not a regular file")
    raise UpscopeError(f"{what} {name!r} is {kind}, not a file; upscope reads only regular files")


def same_file(a: Path, b: Path) -> bool:
    """True when ``a`` and ``b`` both exist and are one file (links and ``..`` seen through)."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


_inputs: ContextVar[tuple[tuple[str, Path], ...]] = ContextVar("upscope_inputs", default=())


def protect_inputs(**named: Path | str | None) -> None:
    """Name the files this run reads (``IMAGE=path``): :func:`atomic_write` then refuses to
    write over any of them, whatever path leads there. The CLI runs each command in its own
    context, so the list ends with the command."""
    given = tuple((what, Path(path)) for what, path in named.items() if path is not None)
    _inputs.set(_inputs.get() + given)


def refuse_inputs(targets: Iterable[Path], **named: Path | str | None) -> None:
    """Raise UpscopeError if one of ``targets`` is a file named by :func:`protect_inputs`, or
    one of ``named`` (``IMAGE=path``, as for :func:`protect_inputs`)."""
    extra = tuple((what, Path(path)) for what, path in named.items() if path is not None)
    for target in targets:
        for what, source in _inputs.get() + extra:
            if same_file(target, source):
                raise UpscopeError(
                    f"refusing to write {str(target)!r}: it is the {what} this command reads "
                    f"({str(source)!r}); choose another --out"
                )


def prepare_out_dir(out: Path) -> Path:
    """Create ``out`` if needed and check that we can write there; raise UpscopeError if not.

    Each refusal is one line that names the path at fault: ``out`` itself when it is a file, or
    the nearest existing folder above it (a file in the way, no permission, a file system such
    as /proc that makes no folders).
    """
    out = Path(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UpscopeError(_mkdir_failure(out, exc)) from None
    if not out.is_dir():  # pragma: no cover - mkdir(exist_ok=True) refuses a non-folder
        raise UpscopeError(f"output path {str(out)!r} {_not_a_folder(out)}")
    if not os.access(out, os.W_OK | os.X_OK):
        raise UpscopeError(f"output folder {str(out)!r} is not writable (no permission)")
    return out


def _not_a_folder(path: Path) -> str:
    return "is a file, not a folder" if path.is_file() else "is not a folder"


def _mkdir_failure(out: Path, exc: OSError) -> str:
    """One line saying why ``out.mkdir(parents=True)`` failed, naming the path at fault."""
    if exc.errno == errno.ENAMETOOLONG:  # before any other look at the path, which fails too
        longest = max(len(os.fsencode(part)) for part in out.parts)
        shown = str(out) if len(str(out)) <= 60 else str(out)[:57] + "..."
        return (
            f"cannot create output folder {shown!r}: its name is too long for the file system "
            f"(a part of {longest} bytes; the usual limit is 255 per name)"
        )
    if out.is_symlink() and not out.exists():
        return f"output path {str(out)!r} is a symbolic link to a missing target"
    if out.exists() and not out.is_dir():
        return f"output path {str(out)!r} {_not_a_folder(out)}"
    base = out.absolute().parent
    while not base.exists() and base != base.parent:
        base = base.parent
    if not base.is_dir():
        return f"cannot create output folder {str(out)!r}: {str(base)!r} {_not_a_folder(base)}"
    where = f"cannot create output folder {str(out)!r} in {str(base)!r}"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return f"{where}: no permission to create folders there"
    if exc.errno == errno.EROFS:
        return f"{where}: it is on a read-only file system"
    if exc.errno == errno.ENOENT:  # the folder exists, yet "no such file": /proc, /sys, ...
        return f"{where}: that file system does not allow new folders"
    return f"{where}: {exc.strerror}"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_SIGNALS = {signal.SIGINT, signal.SIGTERM}


def _block_signals() -> bool:
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - not POSIX
        return False
    signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    return True


def _unblock_signals(blocked: bool) -> None:
    if blocked:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _SIGNALS)


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it into place.

    Either the complete file appears at ``path`` or nothing changes there.
    """
    path = Path(path)
    refuse_inputs([path])
    # SIGINT/SIGTERM wait (blocked) until the temporary file is known to the cleanup below
    blocked = _block_signals()
    try:
        fd, tmp_name = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.stem}-", suffix=path.suffix or ".tmp"
        )
    except OSError as exc:
        _unblock_signals(blocked)
        raise UpscopeError(f"cannot write in {str(path.parent)!r}: {exc.strerror}") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        _unblock_signals(blocked)
        write(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual mode
        os.replace(tmp, path)
    except OSError as exc:
        raise UpscopeError(f"cannot write {str(path)!r}: {exc.strerror}") from None
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def atomic_write_bytes(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically."""

    def write(tmp: Path) -> None:
        tmp.write_bytes(data)

    return atomic_write(path, write)


def bundled_file(filename: str) -> Path:
    """A file bundled in ``upscope.samples`` (``samples/`` beside the package in a checkout)."""
    from importlib import resources

    try:
        found = resources.files("upscope.samples") / filename
        if found.is_file():
            return Path(str(found))
    except ModuleNotFoundError:  # a source checkout: samples/ is beside the package
        pass
    path = Path(__file__).resolve().parent.parent / "samples" / filename
    if not path.is_file():
        raise UpscopeError(f"the bundled sample {filename!r} is missing from this installation")
    return path
