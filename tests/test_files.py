"""Atomic writes: a complete file or nothing, with the usual permissions."""

from __future__ import annotations

import errno
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


def _refusal(out: Path) -> str:
    with pytest.raises(UpscopeError) as info:
        prepare_out_dir(out)
    message = str(info.value)
    assert "\n" not in message and str(out) in message
    return message


def test_an_existing_file_is_named_as_a_file(tmp_path: Path) -> None:
    afile = tmp_path / "afile"
    afile.write_text("x")
    message = _refusal(afile)
    assert message == f"output path {str(afile)!r} is a file, not a folder"
    assert "File exists" not in message and afile.read_text() == "x"


@pytest.mark.parametrize("below", ["x", "x/y/z"])
def test_a_file_in_the_way_is_named(tmp_path: Path, below: str) -> None:
    afile = tmp_path / "hostname"
    afile.write_text("x")
    message = _refusal(afile / below)
    assert message.endswith(f": {str(afile)!r} is a file, not a folder")
    assert "Not a directory" not in message
    assert [p.name for p in tmp_path.iterdir()] == ["hostname"]


def test_a_device_or_a_broken_link_is_not_a_folder(tmp_path: Path) -> None:
    assert _refusal(Path(os.devnull)).endswith("is not a folder")
    assert _refusal(Path(os.devnull) / "x").endswith(f"{os.devnull!r} is not a folder")
    link = tmp_path / "link"
    link.symlink_to(tmp_path / "missing")
    assert "symbolic link to a missing target" in _refusal(link)
    assert not (tmp_path / "missing").exists()


def test_a_file_system_that_makes_no_folders_is_named() -> None:
    message = _refusal(Path("/proc/upscope-out"))  # procfs refuses mkdir; errno is ENOENT
    assert "'/proc'" in message and "No such file" not in message


@pytest.mark.parametrize(
    ("code", "needle"),
    [
        (errno.EACCES, "no permission to create folders there"),
        (errno.EPERM, "no permission to create folders there"),
        (errno.EROFS, "read-only file system"),
        (errno.ENOSPC, os.strerror(errno.ENOSPC)),  # anything else: the system's words
    ],
)
def test_mkdir_failures_name_the_folder_above(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int, needle: str
) -> None:
    def refuse(self: Path, *args: object, **kwargs: object) -> None:
        raise OSError(code, os.strerror(code), str(self))

    monkeypatch.setattr(Path, "mkdir", refuse)
    out = tmp_path / "a" / "b"
    message = _refusal(out)
    assert message.startswith(f"cannot create output folder {str(out)!r} in {str(tmp_path)!r}: ")
    assert message.endswith(needle)


def test_an_existing_folder_without_write_permission(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "access", lambda *args, **kwargs: False)
    assert _refusal(tmp_path).endswith("is not writable (no permission)")


def test_a_read_only_parent_for_real(tmp_path: Path) -> None:
    """Without write permission on the parent: refused, unless we are root (who may write)."""
    parent = tmp_path / "ro"
    parent.mkdir()
    parent.chmod(0o555)
    try:
        if os.geteuid() == 0:
            assert prepare_out_dir(parent / "out").is_dir()
        else:
            assert _refusal(parent / "out").endswith("no permission to create folders there")
            assert not (parent / "out").exists()
    finally:
        parent.chmod(0o755)
