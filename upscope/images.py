"""Safe image loading (any Pillow mode, EXIF orientation, size limits), box downsampling, saving.

Pillow is imported inside the functions that need it. Every bad input raises
:class:`upscope.errors.UpscopeError` with one line, before any large allocation.

Conventions (documented in the README):

- values are float32 in [0, 1], arrays are channel-first: ``(3, H, W)`` for colour images and
  ``(1, H, W)`` for greyscale ones (modes ``1``, ``L``, ``I;16``, ``I``, ``F``, ``LA``), which stay
  one channel;
- an alpha channel (RGBA, LA, PA, palette transparency) is composited on white, as a browser
  shows the picture on a white page; :attr:`LoadedImage.alpha` says whether that happened;
- 16-bit greyscale is scaled by 1/65535, 8-bit by 1/255; CMYK, YCbCr, LAB and HSV are converted
  to RGB by Pillow; the EXIF orientation tag is applied (``ImageOps.exif_transpose``).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from upscope.errors import UpscopeError
from upscope.files import atomic_write, bundled_file, check_regular_file

if TYPE_CHECKING:
    from PIL import Image as PILImage

T = TypeVar("T")

MAX_PIXELS = 40_000_000
"""Largest image (width * height, from the file header) that is decoded at all."""

SAMPLES = {"astronaut": "astronaut.png", "zoneplate": "zoneplate.png"}
"""Bundled images, by the short name ``upscope compare NAME`` accepts."""
DEFAULT_SAMPLE = "astronaut"

ALPHA_NONE = "none"
ALPHA_WHITE = "composited on white"

_GREY_MODES = {"1", "L", "LA", "La", "I", "I;16", "I;16L", "I;16B", "I;16N", "F"}


@dataclass(frozen=True)
class LoadedImage:
    """A decoded image: ``pixels`` (C, H, W) float32 in [0, 1]; ``mode`` is Pillow's mode."""

    pixels: np.ndarray
    mode: str
    alpha: str
    source: str

    @property
    def channels(self) -> int:
        return int(self.pixels.shape[0])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def width(self) -> int:
        return int(self.pixels.shape[2])


def sample_path(name: str = DEFAULT_SAMPLE) -> Path:
    """The file of a bundled sample image (``upscope.samples``, or ``samples/`` in a checkout)."""
    return bundled_file(SAMPLES[name])


def resolve_image(image: str | None) -> Path:
    """The path of ``image``: a file, the name of a bundled sample, or None for the default."""
    if image is None:
        return sample_path(DEFAULT_SAMPLE)
    if image in SAMPLES and not Path(image).exists():
        return sample_path(image)
    return Path(image)


def describe_source(image: str | None, path: Path) -> str:
    """How reports name the image: the path given, or ``bundled:NAME`` for a sample."""
    if image is None:
        return f"bundled:{DEFAULT_SAMPLE}"
    if image in SAMPLES and not Path(image).exists():
        return f"bundled:{image}"
    return str(path)


def load_image(
    path: Path | str,
    max_pixels: int = MAX_PIXELS,
    before_decode: Callable[[int, int, int], None] | None = None,
) -> LoadedImage:
    """Decode ``path`` into a :class:`LoadedImage`; raise UpscopeError for anything unreadable.

    The header is read first and its pixel count checked against ``max_pixels`` before the
    pixel data is decoded, so a decompression bomb costs nothing; so is ``before_decode(width,
    height, bands)`` when given (a memory estimate, say), which may raise UpscopeError.
    """
    from PIL import Image

    path = Path(path)
    name = str(path)
    check_regular_file(path, "image")

    def read() -> LoadedImage:
        with Image.open(path) as img:
            return _decode(img, name, max_pixels, before_decode)

    return _pillow_errors(read, name)


def _pillow_errors(read: Callable[[], T], name: str) -> T:
    """``read()``, with whatever Pillow raises turned into one UpscopeError line."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            return read()
    except UpscopeError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise UpscopeError(f"image {name!r} is too large to decode safely: {exc}") from None
    except UnidentifiedImageError:
        raise UpscopeError(f"{name!r} is not an image Pillow can read") from None
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise UpscopeError(f"cannot decode image {name!r}: {reason}") from None
    except MemoryError:
        raise UpscopeError(f"image {name!r} does not fit in memory") from None


def _check_pixels(
    name: str,
    width: int,
    height: int,
    bands: int,
    max_pixels: int,
    before_decode: Callable[[int, int, int], None] | None,
) -> None:
    if width * height > max_pixels:
        raise UpscopeError(
            f"image {name!r} is {width}x{height} pixels (WxH), more than the limit of "
            f"{max_pixels} pixels (a decompression bomb?); crop or shrink it first"
        )
    if width < 1 or height < 1:
        raise UpscopeError(f"image {name!r} has no pixels ({width}x{height}, WxH)")
    if before_decode is not None:
        before_decode(width, height, bands)


def _decode(
    img: PILImage.Image,
    name: str,
    max_pixels: int,
    before_decode: Callable[[int, int, int], None] | None,
) -> LoadedImage:
    width, height = img.size
    _check_pixels(name, width, height, len(img.getbands()), max_pixels, before_decode)
    img.load()
    pixels, alpha = _to_array(_oriented(img))
    return LoadedImage(pixels=pixels, mode=img.mode, alpha=alpha, source=name)


#: the Pillow mode of an in-memory (H, W, C) image, by its channel count C
ARRAY_MODES = {1: "L", 2: "LA", 3: "RGB", 4: "RGBA"}


def from_object(
    image: object,
    max_pixels: int = MAX_PIXELS,
    before_decode: Callable[[int, int, int], None] | None = None,
) -> LoadedImage:
    """An image already in memory, as :func:`load_image` reads the same pixels from a file.

    - a PIL image: read as a file of its mode is read (EXIF orientation, alpha on white);
    - a numpy array, ``(H, W)`` or ``(H, W, C)`` with C = 1 (grey), 2 (grey and alpha), 3 (RGB)
      or 4 (RGBA): uint8 (0 to 255) or floats in [0, 1]; its mode is ``ARRAY_MODES[C]``;
    - a torch tensor, ``(C, H, W)`` or ``(1, C, H, W)``: the same channels, dtypes and values.

    ``max_pixels`` and ``before_decode`` are checked as by :func:`load_image`.
    """
    module = type(image).__module__.split(".")[0]
    if module == "PIL" and hasattr(image, "getbands"):
        img: PILImage.Image = image  # type: ignore[assignment]
        return _pillow_errors(
            lambda: _decode(img, "PIL image", max_pixels, before_decode), "PIL image"
        )
    if module == "torch" and hasattr(image, "detach"):
        tensor = image.detach().cpu()  # type: ignore[attr-defined]
        if tensor.ndim == 4 and tensor.shape[0] == 1:
            tensor = tensor[0]
        if tensor.ndim != 3 or not 1 <= tensor.shape[0] <= 4:
            raise UpscopeError(
                "a tensor image is (C, H, W) or (1, C, H, W) with C of 1 to 4, got shape "
                f"{tuple(tensor.shape)}"
            )
        if tensor.is_floating_point():
            tensor = tensor.float()  # numpy has no bfloat16
        return _from_array(
            np.moveaxis(tensor.numpy(), 0, -1), "torch tensor", max_pixels, before_decode
        )
    if isinstance(image, np.ndarray):
        if image.ndim not in (2, 3) or (image.ndim == 3 and not 1 <= image.shape[2] <= 4):
            raise UpscopeError(
                f"a numpy image is (H, W) or (H, W, C) with C of 1 to 4, got shape {image.shape}"
            )
        return _from_array(image, "numpy array", max_pixels, before_decode)
    raise UpscopeError(
        "image must be a file path, a bundled sample name, a PIL image, a numpy array or a "
        f"torch tensor, got {type(image).__name__}"
    )


def _from_array(
    data: np.ndarray,
    name: str,
    max_pixels: int,
    before_decode: Callable[[int, int, int], None] | None,
) -> LoadedImage:
    """(H, W) or (H, W, C) uint8 or floats in [0, 1] -> :class:`LoadedImage`."""
    height, width = data.shape[:2]
    bands = data.shape[2] if data.ndim == 3 else 1
    _check_pixels(name, width, height, bands, max_pixels, before_decode)
    if data.dtype == np.uint8:
        values = data.astype(np.float32) / 255.0
    elif np.issubdtype(data.dtype, np.floating):
        values = data.astype(np.float32)
        low, high = float(np.min(values)), float(np.max(values))
        if not (low >= 0.0 and high <= 1.0):  # NaN fails both
            raise UpscopeError(
                f"a float {name} must hold values in [0, 1], got {low:.4g} to {high:.4g}"
            )
    else:
        raise UpscopeError(f"a {name} image must be uint8 or float in [0, 1], got {data.dtype}")
    mode = ARRAY_MODES[bands]
    if bands in (2, 4):
        return LoadedImage(_over_white(values), mode, ALPHA_WHITE, name)
    return LoadedImage(_channels_first(values), mode, ALPHA_NONE, name)


def _oriented(img: PILImage.Image) -> PILImage.Image:
    """Apply the EXIF orientation tag, if any."""
    from PIL import ImageOps

    return ImageOps.exif_transpose(img) or img


def _to_array(img: PILImage.Image) -> tuple[np.ndarray, str]:
    """Pixels as (C, H, W) float32 in [0, 1] and the alpha handling used."""
    mode = img.mode
    if mode == "P":
        mode_to = "RGBA" if "transparency" in img.info else "RGB"
        img, mode = img.convert(mode_to), mode_to
    elif mode == "PA":
        img, mode = img.convert("RGBA"), "RGBA"
    elif mode == "1":
        img, mode = img.convert("L"), "L"
    elif mode == "La":
        img, mode = img.convert("LA"), "LA"
    elif mode == "RGBa":
        img, mode = img.convert("RGBA"), "RGBA"
    elif mode not in _GREY_MODES and mode not in ("RGB", "RGBA"):
        img, mode = img.convert("RGB"), "RGB"

    if mode in ("RGBA", "LA"):
        return _over_white(np.asarray(img, dtype=np.float32) / 255.0), ALPHA_WHITE
    if mode.startswith("I;16") or mode == "I":
        data = np.asarray(img).astype(np.float32)
        return _channels_first(np.clip(data / 65535.0, 0.0, 1.0)), ALPHA_NONE
    if mode == "F":
        data = np.nan_to_num(np.asarray(img, dtype=np.float32), nan=0.0)
        return _channels_first(np.clip(data, 0.0, 1.0)), ALPHA_NONE
    data = np.asarray(img, dtype=np.float32) / 255.0
    return _channels_first(data), ALPHA_NONE


def _over_white(data: np.ndarray) -> np.ndarray:
    """(H, W, C) colour and alpha (last channel) -> (C - 1, H, W) composited on white."""
    colour, alpha = data[..., :-1], data[..., -1:]
    return _channels_first(colour * alpha + (1.0 - alpha))


def _channels_first(data: np.ndarray) -> np.ndarray:
    data = data[None] if data.ndim == 2 else np.moveaxis(data, -1, 0)
    return np.ascontiguousarray(data, dtype=np.float32)


def crop_to_multiple(pixels: np.ndarray, scale: int, source: str = "image") -> np.ndarray:
    """Crop (C, H, W) at the bottom and right to multiples of ``scale``.

    >>> crop_to_multiple(np.zeros((1, 5, 7)), 2).shape
    (1, 4, 6)
    """
    if scale < 1:
        raise UpscopeError(f"scale must be at least 1, got {scale}")
    _, height, width = pixels.shape
    if height < scale or width < scale:
        raise UpscopeError(
            f"{source} is {width}x{height} pixels (WxH), smaller than the scale {scale}: "
            "nothing to downsample"
        )
    return pixels[:, : height - height % scale, : width - width % scale]


def min_side(scale: int) -> int:
    """Smallest (cropped) image side ``compare`` accepts at ``scale``: what the checkerboard
    metrics need (:func:`upscope.metrics.required_size`), SSIM's 11x11 window, and 16."""
    from upscope import metrics, quality

    return max(metrics.required_size(scale), quality.SSIM_WIN, 16)


def check_size(pixels: np.ndarray, scale: int, source: str = "image") -> None:
    """Raise UpscopeError when the (cropped) image is too small to compare at ``scale``."""
    _, height, width = pixels.shape
    need = min_side(scale)
    if height < need or width < need:
        raise UpscopeError(
            f"{source} is {width}x{height} pixels (WxH) after cropping to a multiple of {scale}; "
            f"compare at scale {scale} needs at least {need}x{need}"
        )


def box_downsample(pixels: np.ndarray, scale: int) -> np.ndarray:
    """Mean over non-overlapping ``scale`` x ``scale`` blocks of (C, H, W), H and W multiples.

    >>> box_downsample(np.arange(16, dtype=np.float32).reshape(1, 4, 4), 2)[0]
    array([[ 2.5,  4.5],
           [10.5, 12.5]], dtype=float32)
    """
    channels, height, width = pixels.shape
    if height % scale or width % scale:
        raise UpscopeError(f"{width}x{height} (WxH) is not a multiple of the scale {scale}")
    blocks = pixels.reshape(channels, height // scale, scale, width // scale, scale)
    return blocks.mean(axis=(2, 4), dtype=np.float64).astype(np.float32)


def to_uint8(pixels: np.ndarray) -> np.ndarray:
    """(C, H, W) or (H, W) floats in [0, 1] to (H, W[, 3]) uint8, rounded, clipped."""
    data = np.asarray(pixels, dtype=np.float64)
    if data.ndim == 3:
        data = data[0] if data.shape[0] == 1 else np.moveaxis(data, 0, -1)
    return np.round(np.clip(data, 0.0, 1.0) * 255.0).astype(np.uint8)


def save_png(pixels: np.ndarray, path: Path) -> Path:
    """Save (C, H, W) / (H, W) floats in [0, 1] as an 8-bit PNG, atomically."""
    from PIL import Image

    img = Image.fromarray(to_uint8(pixels))
    return atomic_write(Path(path), lambda tmp: img.save(tmp, format="PNG"))


@dataclass(frozen=True)
class ImageHeader:
    """What an image file's header says, read without decoding the pixels: its size, the
    channels :func:`load_image` will return (1 grey, 3 colour) and Pillow's format name."""

    width: int
    height: int
    channels: int
    format: str

    @property
    def is_jpeg(self) -> bool:
        return self.format in ("JPEG", "MPO")


def read_header(path: Path | str, max_pixels: int = MAX_PIXELS) -> ImageHeader:
    """The :class:`ImageHeader` of ``path``; raise UpscopeError for anything unreadable.

    The EXIF orientation tag is honoured (a rotated photo's width and height swap), so the size
    is the one :func:`load_image` returns.
    """
    from PIL import Image

    path = Path(path)
    name = str(path)
    check_regular_file(path, "image")

    def read() -> ImageHeader:
        with Image.open(path) as img:
            width, height = img.size
            _check_pixels(name, width, height, len(img.getbands()), max_pixels, None)
            if img.getexif().get(0x0112, 1) in (5, 6, 7, 8):  # transposed orientations
                width, height = height, width
            channels = 1 if img.mode in _GREY_MODES else 3
            return ImageHeader(width, height, channels, str(img.format or ""))

    return _pillow_errors(read, name)
