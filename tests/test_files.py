"""Atomic writes: a complete file or nothing, with the usual permissions."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from upscope.errors import UpscopeError
from upscope.files import atomic_write, atomic_write_bytes, prepare_out_dir


def test_atomic_write_replaces_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "a.png"
    target.write_bytes(b"old")
    atomic_write_bytes(target, b"new content")
    assert target.read_bytes() == b"new content"
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~mask


def test_failed_write_leaves_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "a.png"
    target.write_bytes(b"old")

    def broken(tmp: Path) -> None:
        tmp.write_bytes(b"half")
        raise OSError(28, "No space left on device")

    with pytest.raises(UpscopeError, match="No space left"):
        atomic_write(target, broken)
    assert target.read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["a.png"]


def test_prepare_out_dir_errors(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(UpscopeError, match="cannot create output folder"):
        prepare_out_dir(blocker / "sub")
    with pytest.raises(UpscopeError, match="not a folder|cannot create"):
        prepare_out_dir(blocker)
    assert prepare_out_dir(tmp_path / "new" / "deep").is_dir()
