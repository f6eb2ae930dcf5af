"""Many images, streamed one at a time: files, folders of them, ``.npy`` / ``.npz`` batches and
arrays in memory (what ``upscope detect`` reads). numpy only; Pillow through :mod:`upscope.images`.

:func:`plan` reads headers only (image file headers, array headers, a memory-mapped ``.npy``) and
says how many images of which size there are, so the caller can estimate memory and refuse
before any pixel is decoded; :func:`stream` then yields one :class:`Item` at a time, so a
folder of 10,000 images is never held at once.

Arrays hold a batch ``N x C x H x W`` or ``N x H x W x C`` (C of 1 to 4 decides which; NCHW
when both fit), uint8 (0 to 255) or floats: in [0, 1], or in [-1, 1] (a tanh output: mapped to
[0, 1] by ``(x + 1) / 2``; an image with a negative value is read so). A 4-channel array's
last channel is alpha, composited on white as :mod:`upscope.images` does; 2 channels likewise.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from upscope.errors import UpscopeError
from upscope.files import check_regular_file
from upscope.images import SAMPLES, load_image, read_header, sample_path

__all__ = ["IMAGE_SUFFIXES", "Entry", "Item", "Plan", "plan", "stream"]

IMAGE_SUFFIXES = (
    ".png",
    ".jpg",
    ".jpeg",
    ".bmp",
    ".gif",
    ".tif",
    ".tiff",
    ".webp",
    ".ppm",
    ".pgm",
    ".pbm",
)
ARRAY_SUFFIXES = (".npy", ".npz")


@dataclass(frozen=True)
class Item:
    """One image: ``pixels`` (C, H, W) float32 in [0, 1] (or the model's own units)."""

    name: str
    pixels: np.ndarray
    jpeg: bool = False


@dataclass
class Entry:
    """One source: an image file (``count`` 1) or a batch of ``count`` images of one size."""

    name: str
    kind: str  # "image" | "npy" | "npz" | "array"
    height: int
    width: int
    channels: int
    count: int = 1
    jpeg: bool = False
    path: Path | None = None
    member: str | None = None  # npz: the array's name
    layout: str = "nchw"  # arrays: "nchw" | "nhwc"
    array: Any = None  # "array": the object in memory
    bytes_per_batch: int = 0  # what reading the source holds at once (an npz member)


@dataclass
class Plan:
    """Every source, in order, with the sizes read from headers."""

    entries: list[Entry] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(e.count for e in self.entries)

    def sizes(self) -> dict[tuple[int, int], int]:
        """Images per (height, width)."""
        out: dict[tuple[int, int], int] = {}
        for e in self.entries:
            out[(e.height, e.width)] = out.get((e.height, e.width), 0) + e.count
        return out


@dataclass(frozen=True)
class _Shape:
    """An array's shape and dtype, read from its header."""

    shape: tuple[int, ...]
    dtype: Any


def _layout(shape: tuple[int, ...], name: str) -> tuple[str, int, int, int, int]:
    """(layout, N, C, H, W) of a batch array's shape; UpscopeError for anything else."""
    if len(shape) != 4:
        raise UpscopeError(
            f"{name} has shape {shape} ({len(shape)} dimensions); a batch of images is "
            "N x C x H x W or N x H x W x C"
        )
    n, a, b, c = (int(v) for v in shape)
    if 1 <= a <= 4:
        return "nchw", n, a, b, c
    if 1 <= c <= 4:
        return "nhwc", n, c, a, b
    raise UpscopeError(
        f"{name} has shape {shape}: neither axis 1 nor axis 3 holds 1 to 4 channels "
        "(a batch is N x C x H x W or N x H x W x C)"
    )


def _check_dtype(dtype: np.dtype[Any], name: str) -> None:
    if dtype != np.uint8 and not np.issubdtype(dtype, np.floating):
        raise UpscopeError(f"{name} is {dtype}; arrays of images must be uint8 or float")


def _array_entry(source: Any, name: str, kind: str, **extra: Any) -> Entry:
    layout, n, c, h, w = _layout(tuple(source.shape), name)
    _check_dtype(np.dtype(source.dtype), name)
    if n == 0:
        raise UpscopeError(f"{name} holds no images (its first axis is 0)")
    channels = {2: 1, 4: 3}.get(c, c)  # alpha is composited away
    return Entry(name, kind, h, w, channels, count=n, layout=layout, **extra)


def _npz_entries(path: Path) -> list[Entry]:
    entries = []
    try:
        with zipfile.ZipFile(path) as archive:
            members = sorted(m for m in archive.namelist() if m.endswith(".npy"))
            for member in members:
                with archive.open(member) as handle:
                    version = np.lib.format.read_magic(handle)
                    if version == (1, 0):
                        shape, _, dtype = np.lib.format.read_array_header_1_0(handle)
                    else:
                        shape, _, dtype = np.lib.format.read_array_header_2_0(handle)
                name = f"{path}[{member[:-4]}]"
                entry = _array_entry(
                    _Shape(tuple(shape), dtype), name, "npz", path=path, member=member[:-4]
                )
                entry.bytes_per_batch = int(np.prod(shape)) * np.dtype(dtype).itemsize
                entries.append(entry)
    except (zipfile.BadZipFile, ValueError, OSError) as exc:
        raise UpscopeError(f"cannot read {str(path)!r} as an .npz archive: {exc}") from None
    if not entries:
        raise UpscopeError(f"{str(path)!r} holds no arrays")
    return entries


def _file_entries(path: Path) -> list[Entry]:
    suffix = path.suffix.lower()
    if suffix == ".npy":
        check_regular_file(path, "array file")
        try:
            array = np.load(path, mmap_mode="r", allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise UpscopeError(f"cannot read {str(path)!r} as an .npy array: {exc}") from None
        return [_array_entry(array, str(path), "npy", path=path)]
    if suffix == ".npz":
        check_regular_file(path, "array file")
        return _npz_entries(path)
    header = read_header(path)
    return [
        Entry(
            str(path),
            "image",
            header.height,
            header.width,
            header.channels,
            jpeg=header.is_jpeg,
            path=path,
        )
    ]


def _folder_files(folder: Path, recursive: bool) -> list[Path]:
    found = folder.rglob("*") if recursive else folder.iterdir()
    files = sorted(
        p for p in found if p.suffix.lower() in IMAGE_SUFFIXES + ARRAY_SUFFIXES and p.is_file()
    )
    if not files:
        how = " (or below it)" if recursive else ""
        hint = "" if recursive else "; --recursive looks in its subfolders"
        raise UpscopeError(f"folder {str(folder)!r}{how} has no image files{hint}")
    return files


def _object_entries(value: Any, index: int) -> list[Entry]:
    name = f"array {index}" if index else "array"
    module = type(value).__module__.split(".")[0]
    if module == "torch" and hasattr(value, "detach"):
        tensor = value.detach().cpu()
        if tensor.is_floating_point():
            tensor = tensor.float()
        data = tensor.numpy()
        if data.ndim == 3:
            data = data[None]
        return [_array_entry(data, name, "array", array=data)]
    if isinstance(value, np.ndarray):
        data = value
        if data.ndim == 2:
            data = data[None, None]
        elif data.ndim == 3:  # one image, (C, H, W) or (H, W, C)
            data = data[None]
        return [_array_entry(data, name, "array", array=data)]
    raise UpscopeError(
        "images must be paths (files, folders, .npy, .npz), numpy arrays or torch tensors, "
        f"got {type(value).__name__}"
    )


def plan(sources: Sequence[Any], recursive: bool = False) -> Plan:
    """Read the headers of every source (paths, folders, arrays, or the name of a bundled
    image: ``astronaut``, ``zoneplate``); UpscopeError for bad input."""
    if not sources:
        raise UpscopeError("no images given: name image files, folders, .npy or .npz files")
    result = Plan()
    for index, source in enumerate(sources):
        if isinstance(source, str | os.PathLike):
            path = Path(source)
            if isinstance(source, str) and source in SAMPLES and not path.exists():
                path = sample_path(source)  # a bundled image by its name, as compare takes
            if path.is_dir():
                for file in _folder_files(path, recursive):
                    result.entries.extend(_file_entries(file))
            else:
                result.entries.extend(_file_entries(path))
        else:
            result.entries.extend(_object_entries(source, index))
    for entry in result.entries:
        if entry.height < 2 or entry.width < 2:
            raise UpscopeError(
                f"{entry.name} is {entry.width}x{entry.height} pixels (WxH); detect needs at "
                "least 2x2 (a period needs two phases)"
            )
    return result


def _scaled(values: np.ndarray, name: str) -> np.ndarray:
    """One image of an array, (C, H, W), to float32 in [0, 1] (see the module docstring)."""
    if values.dtype == np.uint8:
        return values.astype(np.float32) / 255.0
    data = np.asarray(values, dtype=np.float32)
    if not np.all(np.isfinite(data)):
        raise UpscopeError(f"{name} holds NaN or infinite values")
    low, high = float(data.min()), float(data.max())
    if low < 0.0:
        if low < -1.0 or high > 1.0:
            raise UpscopeError(
                f"{name} holds values from {low:.4g} to {high:.4g}; float images must be in "
                "[0, 1] or in [-1, 1]"
            )
        return (data + 1.0) / 2.0
    if high > 1.0:
        raise UpscopeError(
            f"{name} holds values up to {high:.4g}; float images must be in [0, 1] or in "
            "[-1, 1] (uint8 for 0 to 255)"
        )
    return data


def _composite(pixels: np.ndarray) -> np.ndarray:
    """2 or 4 channels: the last is alpha, composited on white."""
    if pixels.shape[0] in (2, 4):
        colour, alpha = pixels[:-1], pixels[-1:]
        return np.asarray(colour * alpha + (1.0 - alpha), dtype=np.float32)
    return pixels


def _batch(entry: Entry) -> Any:
    if entry.kind == "array":
        return entry.array
    assert entry.path is not None
    if entry.kind == "npy":
        return np.load(entry.path, mmap_mode="r", allow_pickle=False)
    try:
        with np.load(entry.path, allow_pickle=False) as archive:
            return archive[entry.member]
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise UpscopeError(f"cannot read {entry.name}: {exc}") from None


def stream(the_plan: Plan) -> Iterator[Item]:
    """Every image of ``the_plan``, one at a time, in order."""
    for entry in the_plan.entries:
        if entry.kind == "image":
            assert entry.path is not None
            loaded = load_image(entry.path)
            yield Item(entry.name, loaded.pixels, entry.jpeg)
            continue
        batch = _batch(entry)
        for i in range(entry.count):
            one = np.asarray(batch[i])
            if entry.layout == "nhwc":
                one = np.moveaxis(one, -1, 0)
            name = f"{entry.name}[{i}]"
            yield Item(name, _composite(_scaled(one, name)))
        del batch
