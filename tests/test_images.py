"""Image loading: every Pillow mode we promise, EXIF orientation, the guards, box downsampling."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from upscope import images
from upscope.errors import UpscopeError


def _rgb(h: int = 12, w: int = 10, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims ``width`` x ``height`` RGB pixels, with a tiny IDAT."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\0" * 64)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )
    return path


def test_rgb_values_and_layout(tmp_path: Path) -> None:
    data = _rgb()
    Image.fromarray(data).save(tmp_path / "a.png")
    img = images.load_image(tmp_path / "a.png")
    assert img.pixels.dtype == np.float32
    assert img.pixels.shape == (3, 12, 10)
    np.testing.assert_allclose(img.pixels, np.moveaxis(data, -1, 0) / 255.0, atol=1e-7)
    assert img.alpha == images.ALPHA_NONE


def test_greyscale_stays_one_channel(tmp_path: Path) -> None:
    data = _rgb()[..., 0]
    Image.fromarray(data).convert("L").save(tmp_path / "g.png")
    img = images.load_image(tmp_path / "g.png")
    assert img.pixels.shape == (1, 12, 10)
    np.testing.assert_allclose(img.pixels[0], data / 255.0, atol=1e-7)


def test_sixteen_bit_greyscale(tmp_path: Path) -> None:
    data = np.random.default_rng(1).integers(0, 65536, (9, 7), dtype=np.uint16)
    Image.fromarray(data).save(tmp_path / "g16.png")
    img = images.load_image(tmp_path / "g16.png")
    assert img.mode.startswith("I")
    assert img.pixels.shape == (1, 9, 7)
    np.testing.assert_allclose(img.pixels[0], data / 65535.0, rtol=1e-6)


def test_palette(tmp_path: Path) -> None:
    rgb = Image.fromarray(_rgb())
    rgb.convert("P", palette=Image.Palette.ADAPTIVE, colors=16).save(tmp_path / "p.png")
    expected = np.asarray(Image.open(tmp_path / "p.png").convert("RGB")) / 255.0
    img = images.load_image(tmp_path / "p.png")
    assert img.mode == "P"
    np.testing.assert_allclose(img.pixels, np.moveaxis(expected, -1, 0), atol=1e-7)


def test_rgba_composited_on_white(tmp_path: Path) -> None:
    rgba = np.zeros((4, 4, 4), dtype=np.uint8)
    rgba[..., 0] = 255  # red
    rgba[..., 3] = [[0, 255, 51, 102]] * 4  # transparent, opaque, 20%, 40%
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    img = images.load_image(tmp_path / "a.png")
    assert img.alpha == images.ALPHA_WHITE
    assert img.pixels.shape == (3, 4, 4)
    alpha = np.array([0.0, 1.0, 0.2, 0.4])
    np.testing.assert_allclose(img.pixels[0, 0], np.ones(4), atol=1e-6)  # red stays 1
    np.testing.assert_allclose(img.pixels[1, 0], 1.0 - alpha, atol=1e-6)  # white shows through


def test_la_and_cmyk(tmp_path: Path) -> None:
    la = np.zeros((3, 3, 2), dtype=np.uint8)
    la[..., 1] = 0
    Image.fromarray(la, "LA").save(tmp_path / "la.png")
    img = images.load_image(tmp_path / "la.png")
    assert img.pixels.shape == (1, 3, 3)
    np.testing.assert_allclose(img.pixels, 1.0)  # fully transparent black over white
    Image.fromarray(_rgb()).convert("CMYK").save(tmp_path / "c.jpg", quality=95)
    img = images.load_image(tmp_path / "c.jpg")
    assert img.pixels.shape == (3, 12, 10)
    assert img.pixels.min() >= 0.0 and img.pixels.max() <= 1.0


def test_exif_orientation_applied(tmp_path: Path) -> None:
    data = _rgb(6, 10)
    pic = Image.fromarray(data)
    exif = pic.getexif()
    exif[0x0112] = 6  # "rotate 90 CW to view"
    pic.save(tmp_path / "o.jpg", exif=exif, quality=100)
    img = images.load_image(tmp_path / "o.jpg")
    assert img.pixels.shape == (3, 10, 6)


@pytest.mark.parametrize("case", ["missing", "folder", "text", "truncated", "bomb", "bomb_pil"])
def test_bad_files_are_one_line_and_quick(tmp_path: Path, case: str) -> None:
    path = tmp_path / "x.png"
    if case == "folder":
        path.mkdir()
    elif case == "text":
        path.write_text("this is not a picture\n")
    elif case == "truncated":
        Image.fromarray(_rgb(64, 64)).save(path)
        path.write_bytes(path.read_bytes()[:300])
    elif case == "bomb":
        png_header_only(path, 8_000, 8_000)  # over our limit, under Pillow's
    elif case == "bomb_pil":  # beyond Pillow's own limit too
        png_header_only(path, 100_000, 100_000)
    with pytest.raises(UpscopeError) as info:
        images.load_image(path)
    message = str(info.value)
    assert "\n" not in message and "x.png" in message
    if case.startswith("bomb"):  # refused from the header: the 64 stored bytes were not decoded
        assert "limit" in message and "truncated" not in message


def test_pixel_limit_is_a_parameter(tmp_path: Path) -> None:
    Image.fromarray(_rgb(10, 10)).save(tmp_path / "a.png")
    with pytest.raises(UpscopeError, match="limit of 99 pixels"):
        images.load_image(tmp_path / "a.png", max_pixels=99)
    assert images.load_image(tmp_path / "a.png", max_pixels=100).pixels.shape == (3, 10, 10)


def test_smaller_than_scale() -> None:
    with pytest.raises(UpscopeError, match="smaller than the scale 3"):
        images.crop_to_multiple(np.zeros((3, 2, 9), np.float32), 3)


@settings(max_examples=25)
@given(
    st.integers(1, 3),
    st.integers(1, 4),
    st.integers(1, 9),
    st.integers(1, 9),
    st.integers(0, 2**31 - 1),
)
def test_box_downsample_is_area_average(c: int, s: int, h: int, w: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.random((c, h * s + rng.integers(0, s), w * s + rng.integers(0, s)), dtype=np.float32)
    cropped = images.crop_to_multiple(x, s)
    assert cropped.shape == (c, h * s, w * s)
    np.testing.assert_array_equal(cropped, x[:, : h * s, : w * s])
    low = images.box_downsample(cropped, s)
    expected = torch.nn.functional.avg_pool2d(
        torch.from_numpy(cropped.astype(np.float64))[None], s
    )[0].numpy()
    np.testing.assert_allclose(low, expected, rtol=1e-6, atol=1e-7)
    # exactly: block (i, j) is the mean of its s*s values, written as a loop
    i, j = rng.integers(0, h), rng.integers(0, w)
    block = cropped[:, i * s : (i + 1) * s, j * s : (j + 1) * s].astype(np.float64)
    np.testing.assert_allclose(low[:, i, j], block.sum(axis=(1, 2)) / (s * s), rtol=1e-6)


def test_box_downsample_of_constant_blocks_is_exact() -> None:
    low = np.arange(6, dtype=np.float32).reshape(1, 2, 3) / 8
    up = np.kron(low, np.ones((1, 3, 3), np.float32))
    np.testing.assert_array_equal(images.box_downsample(up, 3), low)


def test_save_png_round_trip_and_atomic(tmp_path: Path) -> None:
    x = np.random.default_rng(2).random((3, 5, 7)).astype(np.float32)
    path = images.save_png(x, tmp_path / "r.png")
    back = images.load_image(path).pixels
    np.testing.assert_allclose(back, x, atol=0.5 / 255 + 1e-6)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.png"]


def test_bundled_samples() -> None:
    astronaut = images.load_image(images.resolve_image(None))
    assert astronaut.pixels.shape == (3, 512, 512)
    plate = images.load_image(images.resolve_image("zoneplate"))
    assert plate.pixels.shape == (1, 512, 512)
    from samples.zoneplate import zone_plate_uint8

    stored = np.round(plate.pixels[0] * 255).astype(np.int16)
    assert np.abs(stored - zone_plate_uint8().astype(np.int16)).max() <= 1
