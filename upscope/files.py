"""Output folders and atomic file writes (torch-free, matplotlib-free)."""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from upscope.errors import UpscopeError


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


def atomic_write(path: Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it into place.

    Either the complete file appears at ``path`` or nothing changes there.
    """
    path = Path(path)
    try:
        fd, tmp_name = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.stem}-", suffix=path.suffix or ".tmp"
        )
    except OSError as exc:
        raise UpscopeError(f"cannot write in {str(path.parent)!r}: {exc.strerror}") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
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
