"""``compare``: exact sizes, metrics against torch, determinism, the CLI, bad input, packaging."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from upscope import comparison as compare
from upscope import images, upsamplers, zoo
from upscope.errors import UpscopeError

ROOT = Path(__file__).resolve().parent.parent
KEYS = {"method", "psnr", "ssim", "checkerboard", "checkerboard_error", "spectral_peak_db"}


def smooth_image(c: int, h: int, w: int, seed: int = 0) -> np.ndarray:
    """Random smooth content in [0, 1]: low-frequency noise, bilinearly enlarged."""
    g = torch.Generator().manual_seed(seed)
    small = torch.rand(1, c, h // 4 + 2, w // 4 + 2, generator=g, dtype=torch.float64)
    big = F.interpolate(small, size=(h, w), mode="bilinear", align_corners=False)
    return big[0].numpy().astype(np.float32)


def save_rgb(path: Path, h: int = 40, w: int = 36) -> Path:
    pixels = smooth_image(3, h, w)
    Image.fromarray(images.to_uint8(pixels)).save(path)
    return path


@pytest.mark.parametrize(("channels", "scale", "size"), [(3, 2, (26, 22)), (1, 3, (27, 30))])
def test_every_method_returns_the_original_size(
    channels: int, scale: int, size: tuple[int, int]
) -> None:
    original = images.crop_to_multiple(smooth_image(channels, *size), scale)
    original = np.ascontiguousarray(original)
    settings = compare.Settings(scale=scale, fit=1, width=4, batch=2)
    result = compare.compare(original, settings)
    assert [r.method for r in result.results] == list(upsamplers.NAMES)
    for r in result.results:
        assert r.output.shape == original.shape, r.method
        assert r.output.dtype == np.float32
        assert r.output.min() >= 0.0 and r.output.max() <= 1.0
        assert r.learned == upsamplers.is_learned(r.method)
        assert (r.params > 0) == r.learned
    assert result.low.shape == (channels, size[0] // scale, size[1] // scale)


def test_bicubic_psnr_and_ssim_by_hand() -> None:
    original = smooth_image(3, 32, 28, seed=4)
    result = compare.compare(original, compare.Settings(methods=("bicubic", "nearest"), fit=0))
    x = torch.from_numpy(original)[None].double()
    low = F.avg_pool2d(x, 2)
    up = F.interpolate(low, scale_factor=2, mode="bicubic", align_corners=False).clamp(0, 1)
    mse = torch.mean((up - x) ** 2).item()
    bicubic = result.results[0]
    assert bicubic.psnr == pytest.approx(10 * math.log10(1 / mse), abs=1e-4)
    # nearest: every output pixel is its block's mean, so the error is the in-block deviation
    nearest = result.results[1]
    blocks = original.reshape(3, 16, 2, 14, 2).astype(np.float64)
    dev = blocks - blocks.mean(axis=(2, 4), keepdims=True)
    assert nearest.psnr == pytest.approx(10 * math.log10(1 / np.mean(dev**2)), abs=1e-4)
    from upscope.quality import ssim

    assert bicubic.ssim == pytest.approx(ssim(up[0].numpy(), original), abs=1e-5)


def test_fitting_is_seeded_and_helps() -> None:
    original = smooth_image(3, 32, 32, seed=2)
    base = compare.Settings(methods=("convT-even",), width=8, batch=4)
    untrained = compare.compare(original, compare.Settings(**{**base.__dict__, "fit": 0}))
    fitted = [
        compare.compare(original, compare.Settings(**{**base.__dict__, "fit": 40}))
        for _ in range(2)
    ]
    np.testing.assert_array_equal(fitted[0].results[0].output, fitted[1].results[0].output)
    assert fitted[0].results[0].psnr > untrained.results[0].psnr + 3.0
    assert fitted[0].results[0].final_loss is not None
    assert untrained.results[0].final_loss is None
    other = compare.compare(original, compare.Settings(**{**base.__dict__, "fit": 0, "seed": 1}))
    assert not np.array_equal(other.results[0].output, untrained.results[0].output)


def test_progress_callback_counts_every_step() -> None:
    calls: list[tuple[str, int, int]] = []
    original = smooth_image(1, 16, 16)
    settings = compare.Settings(methods=("pixelshuffle", "bilinear"), fit=3, width=2, batch=1)
    compare.compare(original, settings, lambda m, d, t: calls.append((m, d, t)))
    assert calls == [("pixelshuffle", 1, 3), ("pixelshuffle", 2, 3), ("pixelshuffle", 3, 3)]


def _fake(method: str, **values: float) -> compare.MethodResult:
    base = dict.fromkeys(compare.METRIC_KEYS, 0.0)
    base.update(values)
    return compare.MethodResult(
        method=method, learned=False, params=0, output=np.zeros((1, 1, 1)), **base
    )


def test_sort_directions() -> None:
    rs = [
        _fake("b", psnr=20, ssim=0.5, checkerboard=0.3, seconds=2.0),
        _fake("a", psnr=30, ssim=0.9, checkerboard=0.1, seconds=3.0),
        _fake("c", psnr=25, ssim=0.7, checkerboard=0.2, seconds=1.0),
    ]
    order = {
        key: [r.method for r in compare.sort_results(rs, key)]
        for key in ("psnr", "ssim", "checkerboard", "seconds", "method")
    }
    assert order == {
        "psnr": ["a", "c", "b"],
        "ssim": ["a", "c", "b"],
        "checkerboard": ["a", "c", "b"],
        "seconds": ["c", "b", "a"],
        "method": ["a", "b", "c"],
    }


def test_zoom_window_finds_the_errors() -> None:
    original = np.zeros((1, 64, 64), np.float32)
    settings = compare.Settings(methods=("a", "b"))
    out_a = original.copy()
    out_a[0, 40:48, 20:28] = 1.0
    out_b = original.copy()
    out_b[0, 42:46, 22:26] = 0.5
    comp = compare.Comparison(original=original, low=original[:, ::2, ::2], settings=settings)
    comp.results = [
        compare.MethodResult("a", False, 0, out_a, 0, 0, 0, 0, 0, 0),
        compare.MethodResult("b", False, 0, out_b, 0, 0, 0, 0, 0, 0),
    ]
    top, left, side = compare.zoom_window(comp)
    assert side == 16
    assert top <= 40 and top + side >= 48 and left <= 20 and left + side >= 28


def test_cli_json_and_pngs(run_cli, tmp_path: Path) -> None:
    image = save_rgb(tmp_path / "in.png")
    out = tmp_path / "out"
    res = run_cli(
        "compare", str(image), "--methods", "bicubic,convT-uneven", "--fit", "2",
        "--channels", "4", "--out", str(out), "--json",
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["image"] == str(image)
    assert doc["size"] == [40, 36] and doc["scale"] == 2 and doc["alpha"] == "none"
    assert [r["method"] for r in doc["results"]] == ["bicubic", "convT-uneven"]
    for r in doc["results"]:
        assert KEYS | {"seconds", "learned", "params", "final_loss"} == set(r)
    assert sorted(Path(p).name for p in doc["png"]) == sorted(
        ["compare-grid.png", "compare-spectra.png", "compare-radial.png"]
    )
    assert sorted(p.name for p in out.iterdir()) == sorted(Path(p).name for p in doc["png"])
    for p in doc["png"]:
        with Image.open(p) as png:
            assert png.format == "PNG" and png.size[0] > 400


def test_cli_table_and_no_png(run_cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    image = save_rgb(tmp_path / "in.png")
    res = run_cli(
        "compare", str(image), "--methods", "nearest,bilinear", "--fit", "0", "--no-png",
        "--sort", "ssim",
    )  # fmt: skip
    assert res.exit_code == 0, res.stderr
    assert res.stdout.index("bilinear") < res.stdout.index("nearest")  # bilinear has more SSIM
    assert "sorted by ssim" in res.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png"]


@pytest.mark.parametrize("kind", ["grey", "grey16", "palette", "rgba"])
def test_cli_image_modes(run_cli, tmp_path: Path, kind: str) -> None:
    rgb = images.to_uint8(smooth_image(3, 24, 24, seed=7))
    if kind == "grey":
        pic = Image.fromarray(rgb[..., 1])
    elif kind == "grey16":
        pic = Image.fromarray(rgb[..., 1].astype(np.uint16) * 257)
    elif kind == "palette":
        pic = Image.fromarray(rgb).convert("P", palette=Image.Palette.ADAPTIVE, colors=32)
    else:
        pic = Image.fromarray(np.dstack([rgb, np.full(rgb.shape[:2], 128, np.uint8)]), "RGBA")
    pic.save(tmp_path / "m.png")
    res = run_cli("compare", str(tmp_path / "m.png"), "-m", "bicubic,pixelshuffle", "--fit",
                  "1", "--channels", "2", "--no-png", "--json")  # fmt: skip
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["channels"] == (1 if kind.startswith("grey") else 3)
    assert doc["alpha"] == ("composited on white" if kind == "rgba" else "none")
    assert all(r["psnr"] > 0 and 0 < r["ssim"] <= 1 for r in doc["results"])


def _bad_input(tmp_path: Path, case: str) -> list[str]:
    path = tmp_path / "bad.png"
    if case == "missing":
        pass
    elif case == "folder":
        path.mkdir()
    elif case == "text":
        path.write_text("hello\n")
    elif case == "truncated":
        save_rgb(path, 64, 64)
        path.write_bytes(path.read_bytes()[:200])
    elif case == "tiny":
        Image.new("RGB", (1, 1)).save(path)
    elif case == "small":
        Image.new("RGB", (12, 12)).save(path)
    elif case == "bomb":
        from tests.test_images import png_header_only

        png_header_only(path, 9_000, 9_000)
    elif case == "out":
        save_rgb(path)
        (tmp_path / "file").write_text("")
        return [str(path), "--out", str(tmp_path / "file" / "sub")]
    elif case == "scale":
        save_rgb(path)
        return [str(path), "--scale", "5"]
    return [str(path), "--out", str(tmp_path / "o")]


BAD = ["missing", "folder", "text", "truncated", "tiny", "small", "bomb", "out", "scale"]


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_one_line_exit_2_no_files(run_cli, tmp_path: Path, case: str) -> None:
    args = _bad_input(tmp_path, case)
    before = sorted(p.name for p in tmp_path.iterdir())
    res = run_cli("compare", *args, "--fit", "0")
    assert res.exit_code == 2
    assert res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("upscope: error: "), res.stderr
    assert "Traceback" not in res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written, no --out


def test_bad_input_is_answered_before_torch_loads(tmp_path: Path) -> None:
    """A fresh interpreter: a bad image is refused without importing torch (so at once)."""
    (tmp_path / "x.png").write_text("not an image")
    code = (
        "import sys\nfrom upscope.cli import main\n"
        f"try:\n    main(['compare', {str(tmp_path / 'x.png')!r}])\n"
        "except SystemExit as e:\n    print(e.code, 'torch' in sys.modules)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert proc.stdout.split() == ["2", "False"], proc.stderr
    assert "is not an image Pillow can read" in proc.stderr


def test_cuda_request(run_cli, tmp_path: Path) -> None:
    image = save_rgb(tmp_path / "in.png")
    res = run_cli("compare", str(image), "-m", "nearest", "--device", "cuda", "--no-png")
    if torch.cuda.is_available():
        assert res.exit_code == 0
    else:
        assert res.exit_code == 2 and "--device cuda" in res.stderr
        with pytest.raises(UpscopeError):
            compare.resolve_device("cuda")
    assert compare.resolve_device("auto") == ("cuda" if torch.cuda.is_available() else "cpu")


def test_bundled_default_image(run_cli, tmp_path: Path) -> None:
    res = run_cli("compare", "-m", "nearest", "--no-png", "--json")
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["image"] == "bundled:astronaut" and doc["size"] == [512, 512]


def test_every_package_is_listed_in_pyproject() -> None:
    """pyproject lists packages (samples/ is mapped to upscope.samples): none may be missing."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "upscope").rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    assert found | {"upscope.samples"} <= listed
    assert config["package-dir"]["upscope.samples"] == "samples"
    assert {"*.png", "*.md"} <= set(config["package-data"]["upscope.samples"])


def test_sizes_are_wxh_in_text_and_height_width_in_json(run_cli, tmp_path: Path) -> None:
    """A 130-wide, 100-high image: "130x100 pixels (WxH)" where a person reads, [100, 130] in
    JSON (numpy's order), in the table and in an error message alike."""
    image = save_rgb(tmp_path / "wide.png", h=100, w=130)
    args = ["compare", str(image), "-m", "nearest", "--fit", "0", "--no-png"]
    assert json.loads(run_cli(*args, "--json").stdout)["size"] == [100, 130]
    assert "130x100 pixels (WxH)" in run_cli(*args).stdout
    small = save_rgb(tmp_path / "small.png", h=12, w=30)
    res = run_cli("compare", str(small), "--no-png")
    assert res.exit_code == 2 and "30x12 pixels (WxH)" in res.stderr


def test_json_records_the_thread_count(run_cli, tmp_path: Path) -> None:
    """Results depend (in their last digits) on the thread count, so the document says it."""
    from upscope.commands.compare import default_threads

    image = save_rgb(tmp_path / "in.png")
    args = ["compare", str(image), "-m", "nearest", "--fit", "0", "--no-png", "--json"]
    assert json.loads(run_cli(*args, "--threads", "3").stdout)["threads"] == 3
    assert json.loads(run_cli(*args).stdout)["threads"] == default_threads()


@pytest.mark.parametrize(("methods", "needle"), [(",", "is empty"), ("", "is empty"),
                                                 ("nearest,,bicubic", "empty item"),
                                                 ("nearest,", "empty item")])  # fmt: skip
def test_empty_methods_are_refused(run_cli, tmp_path: Path, methods: str, needle: str) -> None:
    res = run_cli("compare", "--methods", methods, "--no-png", "--fit", "0")
    assert res.exit_code == 2 and res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("upscope: error: --methods"), res.stderr
    assert needle in lines[0]


@pytest.mark.parametrize("methods", ["bicubic,foo", "foo", "all,nearest", "Nearest"])
def test_unknown_method_is_one_line_naming_it_and_the_valid_ones(
    run_cli, tmp_path: Path, methods: str
) -> None:
    res = run_cli("compare", "--methods", methods, "--out", str(tmp_path / "o"), "--fit", "0")
    assert res.exit_code == 2 and res.stdout == ""
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("upscope: error: --methods"), res.stderr
    bad = next(w for w in methods.split(",") if w not in zoo.NAMES)
    assert repr(bad) in lines[0]
    assert all(name in lines[0] for name in zoo.NAMES)
    assert not (tmp_path / "o").exists()


def test_bad_methods_are_refused_before_torch_pil_or_numpy_load() -> None:
    """A fresh interpreter: an unknown or empty --methods is exit 2 with nothing heavy imported,
    even when the image argument is fine (the options are checked before the image)."""
    code = (
        "import sys\nfrom upscope.cli import main\n"
        "for args in (['--methods', 'bicubic,foo'], ['astronaut', '-m', 'nearest,,bicubic']):\n"
        "    try:\n        main(['compare', *args, '--no-png'])\n"
        "    except SystemExit as e:\n        print(e.code)\n"
        "print(sorted(m for m in ('torch', 'PIL', 'matplotlib', 'numpy') if m in sys.modules))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert proc.stdout.split("\n")[:3] == ["2", "2", "[]"], (proc.stdout, proc.stderr)
    errors = proc.stderr.strip().splitlines()
    assert len(errors) == 2 and "'foo'" in errors[0] and "empty item" in errors[1]


@pytest.mark.parametrize(("scale", "size"), [(2, (40, 36)), (3, (36, 45))])
def test_spectra_figure_circles_the_grid_frequencies(scale: int, size: tuple[int, int]) -> None:
    """Every panel circles each (m/S, n/S) in [-1/2, 1/2]^2 but DC, on the pixel that draws
    that frequency's power, inside the frame; each method's title gives its table peak dB."""
    from upscope import quality
    from upscope.render import compare_view

    original = smooth_image(1, *size)
    settings = compare.Settings(scale=scale, methods=("nearest", "bicubic"), fit=0)
    result = compare.compare(original, settings)
    specs = compare.spectra(result)
    fig = compare_view.spectra_figure(result, specs)
    grid = [k / scale for k in range(-scale, scale + 1) if abs(k / scale) <= 0.5]
    expected = {(round(x, 9), round(y, 9)) for x in grid for y in grid if (x, y) != (0, 0)}
    outputs = {"original": original} | {r.method: r.output for r in result.results}
    h, w = size
    for ax, name in zip(fig.axes, specs, strict=False):
        (circles,) = [line for line in ax.get_lines() if line.get_gid() == "peaks"]
        xs, ys = np.asarray(circles.get_xdata()), np.asarray(circles.get_ydata())
        assert {(round(x, 9), round(y, 9)) for x, y in zip(xs, ys, strict=True)} == expected
        assert circles.get_markerfacecolor() == "none"  # hollow: the peak stays visible
        (image,) = ax.get_images()
        data = np.asarray(image.get_array())
        left, right, bottom, top = image.get_extent()
        power = quality.log_power_spectrum(outputs[name])  # centred: DC at (h // 2, w // 2)
        for fx, fy in zip(xs, ys, strict=True):
            i = int((fy - top) / (bottom - top) * data.shape[0])
            j = int((fx - left) / (right - left) * data.shape[1])
            assert data[i, j] == power[(h // 2 + round(fy * h)) % h, (w // 2 + round(fx * w)) % w]
        x0, x1 = ax.get_xlim()
        y1, y0 = ax.get_ylim()  # fy grows downwards
        assert x0 < left and right < x1 and y0 < top and bottom < y1  # no spine on a bin
    for r in result.results:
        (ax,) = [ax for ax in fig.axes if ax.get_title().startswith(r.method + "\n")]
        assert f"peak {r.spectral_peak_db:.1f} dB" in ax.get_title()
    assert f"cyan circles: the frequencies (m/{scale}, n/{scale})" in fig.get_suptitle()


def test_progress_bars_end_on_the_tables_seconds(run_cli, tmp_path: Path, monkeypatch) -> None:
    """Each bar ends on its method's ``time s`` (fit and final pass), not on its own clock,
    which started at the first step and stopped at the last (issue 20: 0:00:02 against 2.71)."""
    from PIL import Image

    monkeypatch.setenv("COLUMNS", "120")
    image = tmp_path / "tile.png"
    Image.fromarray((smooth_image(1, 32, 32)[0] * 255).astype(np.uint8)).save(image)
    result = run_cli(
        "compare", str(image), "--methods", "pixelshuffle,convT-even,nearest", "--fit", "3",
        "--channels", "2", "--threads", "1", "--no-png",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    for method in ("pixelshuffle", "convT-even"):
        row = next(line for line in result.stdout.splitlines() if line.startswith(method + " "))
        seconds = row.split()[-1].rstrip("*")
        bar = next(line for line in result.stderr.splitlines() if f"fitting {method} " in line)
        assert bar.rstrip().endswith(f"3/3 {seconds} s"), (bar, row)
    assert "fitting nearest" not in result.stderr  # a fixed method fits nothing: no bar
