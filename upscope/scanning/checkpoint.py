"""The memory a ``--weights`` checkpoint declares, read from its zip directory before torch
loads it (standard library only).

``torch.save`` writes a zip archive whose records (``data.pkl``, one ``data/N`` per tensor
storage) are stored uncompressed; ``torch.load`` allocates each storage at the size its record
declares. A small file can declare a huge record (a deflated record of zeros, or a forged
directory entry), so the declared sizes are added up and checked against the memory budget
(:func:`upscope.limits.check_memory`) before anything is read. A legacy (non-zip) checkpoint
holds its bytes inline: it cannot declare more than it holds, and its size is checked instead.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

from upscope.limits import check_memory, format_bytes

__all__ = ["check_checkpoint_memory", "declared_bytes"]


def declared_bytes(path: Path) -> int:
    """Bytes the records of the zip archive at ``path`` declare uncompressed (the file's size
    when it is not a readable zip archive)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return sum(max(info.file_size, 0) for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return os.stat(path).st_size


def check_checkpoint_memory(path: Path) -> None:
    """Refuse a checkpoint whose declared records exceed the budget, before it is read."""
    need = declared_bytes(path)
    size = format_bytes(os.stat(path).st_size)
    check_memory(need, f"--weights {str(path)!r} ({size} on disk, its records declare)")
