"""Output folders and atomic file writes (torch-free, matplotlib-free)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

from upscope.errors import UpscopeError


def prepare_out_dir(out: Path) -> Path:
    """Create ``out`` if needed and check that we can write there; raise UpscopeError if not."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UpscopeError(f"cannot create output folder {str(out)!r}: {exc.strerror}") from None
    if not out.is_dir():
        raise UpscopeError(f"output path {str(out)!r} is not a folder")
    if not os.access(out, os.W_OK | os.X_OK):
        raise UpscopeError(f"output folder {str(out)!r} is not writable")
    return out


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
