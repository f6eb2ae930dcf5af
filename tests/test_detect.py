"""``upscope detect``: the grid in images, from images whose truth is known.

Clean photographs are the bundled astronaut, crops and flips of it; the grids are added with a
documented amplitude in grey levels (of 255); nearest upscaling and JPEG are made here with
numpy and Pillow; the DCGAN sample's outputs at initialisation carry its transposed convs'
grids, and the same generator with scan's fixes swapped in carries none.
"""

from __future__ import annotations

import copy
import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import upscope
from upscope import detect_model, image_sets, phase_stats
from upscope.detection import OpPeriod, PeriodFound
from upscope.errors import UpscopeError
from upscope.images import load_image, sample_path

ASTRONAUT = load_image(sample_path("astronaut")).pixels  # (3, 512, 512) in [0, 1]
GREY = 1 / 255


def crops(n: int, size: int, seed: int = 0) -> np.ndarray:
    """``n`` random crops of the astronaut, each flipped at random: (n, 3, size, size)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        i, j = rng.integers(0, 512 - size + 1, 2)
        crop = ASTRONAUT[:, i : i + size, j : j + size]
        if rng.random() < 0.5:
            crop = crop[:, :, ::-1]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        out.append(crop)
    return np.ascontiguousarray(np.stack(out))


def periods(result: upscope.detection.DetectResult) -> set[tuple[int, int]]:
    return {found.period for found in result.found}


def to_uint8(batch: np.ndarray) -> np.ndarray:
    """What a saved image holds: rounded to 8 bits."""
    return np.round(np.clip(batch, 0, 1) * 255).astype(np.uint8)


# ---------------------------------------------------------------- truth from constructed images


@pytest.mark.parametrize("n, size", [(1, 512), (16, 96), (48, 64)])
def test_clean_photographs_are_not_flagged(n: int, size: int) -> None:
    result = upscope.detect(to_uint8(crops(n, size, seed=n)))
    assert result.verdict == "none"
    assert result.found == []
    assert max(c.z for c in result.groups[0].candidates) < result.z_min


def test_an_added_period_2_grid_of_one_grey_level_is_found_at_2() -> None:
    batch = crops(16, 96, seed=1)
    i, j = np.indices(batch.shape[2:])
    grid = 1.0 * GREY * (-1.0) ** (i + j)  # a checkerboard of +-1 grey level
    result = upscope.detect(to_uint8(batch + grid))
    assert result.verdict == "grid"
    assert periods(result) == {(2, 2)}  # the fundamental: not 4x4, 6x6 ... as well
    [found] = result.found
    assert found.test == "additive" and found.source == "grid"
    assert found.rms == pytest.approx(1.0, abs=0.15)  # grey levels, through the rounding
    assert found.tile.shape == (2, 2)
    assert np.sign(found.tile).tolist() == [[1.0, -1.0], [-1.0, 1.0]]


def test_a_period_4_pattern_along_columns_is_found_as_1x4() -> None:
    batch = crops(16, 96, seed=2)
    j = np.arange(batch.shape[3])
    stripes = 2.0 * GREY * np.cos(2 * np.pi * j / 4)  # 2 grey levels, along columns only
    result = upscope.detect(to_uint8(batch + stripes))
    assert periods(result) == {(1, 4)}
    assert result.to_dict()["periods"][0]["period"] == [1, 4]


@pytest.mark.parametrize("factor", [2, 3, 4])
def test_nearest_upscaled_photographs_show_the_factor(factor: int) -> None:
    small = crops(8, 128 // factor + 1, seed=factor)
    big = small.repeat(factor, axis=2).repeat(factor, axis=3)[:, :, :128, :128]
    result = upscope.detect(to_uint8(big))
    [found] = result.found
    assert found.period == (factor, factor)
    assert found.test == "structural" and found.source == "repetition"


def jpeg_file(pixels: np.ndarray, path: Path, quality: int = 75) -> Path:
    Image.fromarray(to_uint8(pixels).transpose(1, 2, 0)).save(path, "JPEG", quality=quality)
    return path


def test_jpeg_photographs_show_period_8_and_say_jpeg(tmp_path: Path) -> None:
    files = [
        jpeg_file(ASTRONAUT, tmp_path / "a.jpg"),
        jpeg_file(ASTRONAUT[:, ::-1].copy(), tmp_path / "b.jpg"),
    ]
    result = upscope.detect(files)
    assert result.groups[0].jpeg == 2
    assert periods(result) == {(8, 8)}
    [found] = result.found
    assert found.source == "jpeg" and found.test == "structural"
    assert result.verdict == "none"  # JPEG blocks are not an upsampling grid
    assert "JPEG" in result.to_dict()["periods"][0]["source_text"]


def test_a_jpeg_file_at_quality_95_is_clean(tmp_path: Path) -> None:
    result = upscope.detect(jpeg_file(ASTRONAUT, tmp_path / "a.jpg", quality=95))
    assert result.found == []


# ---------------------------------------------------------------- the model: DCGAN


@pytest.fixture(scope="module")
def dcgan():  # type: ignore[no-untyped-def]
    import torch
    from upscope.samples.models import DCGANGenerator

    torch.manual_seed(0)
    return DCGANGenerator()


@pytest.fixture(scope="module")
def dcgan_result(dcgan):  # type: ignore[no-untyped-def]
    return upscope.detect(model=dcgan, samples=16, seed=0)


def test_dcgan_at_init_shows_2_4_8_attributed_to_their_layers(dcgan_result) -> None:  # type: ignore[no-untyped-def]
    result = dcgan_result
    assert periods(result) == {(2, 2), (4, 4), (8, 8)}
    exact = {f.period: [m.name for m in f.layers if m.exact] for f in result.found}
    # the period rule: a stride-2 layer whose output is 64 / n wide leaves period 2 * 64 / n
    assert exact == {(2, 2): ["main.12"], (4, 4): ["main.9"], (8, 8): ["main.6"]}
    for found in result.found:
        assert all(m.status == "artifact" and m.fix_verified for m in found.layers)
        # every op that can make it: the exact one and those whose period is a multiple
        assert {m.name for m in found.layers} == {
            op.name
            for op in result.ops
            if op.period[0] is not None and op.period[0] > 1 and op.period[0] % found.period[0] == 0
        }
    doc = result.to_dict()
    assert doc["verdict"] == "grid"
    assert {"period", "strength_db", "z", "images", "source", "layers"} <= set(doc["periods"][0])
    assert [op["period"] for op in doc["ops"]] == [[1, 1], [16, 16], [8, 8], [4, 4], [2, 2]]
    json.dumps(doc, allow_nan=False)


def test_dcgan_with_scans_fixes_shows_no_grid(dcgan, dcgan_result) -> None:  # type: ignore[no-untyped-def]
    import torch
    from torch import nn

    fixed = copy.deepcopy(dcgan)
    applied = 0
    for op in dcgan_result.ops:  # scan's top fix per op, applied as scan's verify applies it
        if op.fix_code:
            torch.manual_seed(0)
            exec(op.fix_code, {"model": fixed, "nn": nn, "torch": torch})  # noqa: S102
            applied += 1
    assert applied == 4
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        out = fixed.eval()(torch.randn(16, 100, 1, 1, generator=gen))
    assert out.shape == (16, 3, 64, 64)
    result = upscope.detect(out)  # a tensor batch in [-1, 1]
    assert result.verdict == "none", result
    upscope.testing.assert_no_grid(out)


def test_a_period_no_op_can_make_is_not_from_the_model() -> None:
    ops = [OpPeriod("up", "ConvTranspose2d", [2, 2], [], "artifact", "fix", True, None)]
    found = PeriodFound(
        (3, 3), "additive", 10.0, 8.0, 1, "grid", np.zeros((3, 3)), *[np.zeros(1)] * 2
    )
    detect_model.attribute(found, ops)
    assert found.layers == [] and found.model_can_make is False
    found2 = PeriodFound(
        (1, 2), "additive", 10.0, 8.0, 1, "grid", np.zeros((1, 2)), *[np.zeros(1)] * 2
    )
    detect_model.attribute(found2, ops)
    assert [m.name for m in found2.layers] == ["up"] and not found2.layers[0].exact


def test_assert_no_grid_names_the_period() -> None:
    batch = crops(8, 96, seed=5)
    i, j = np.indices(batch.shape[2:])
    with pytest.raises(AssertionError, match="period 2x2"):
        upscope.testing.assert_no_grid(to_uint8(batch + 2 * GREY * (-1.0) ** (i + j)))
    upscope.testing.assert_no_grid(to_uint8(batch))


# ---------------------------------------------------------------- the statistics


def test_frequency_classes_partition_the_tile() -> None:
    for p in range(2, 13):
        sets = [phase_stats.freq_set(p, p, d) for d in range(1, p + 1) if p % d == 0]
        # every frequency but DC, one of each conjugate pair, in exactly one class
        total = sum(int(s.dof.sum()) for s in sets)
        assert total == p * p
        assert phase_stats.freq_set(p, p, 1).size == 1  # DC only


def test_unit_amplitudes_read_a_known_pattern() -> None:
    i, j = np.indices((64, 64))
    x = 0.5 * np.cos(2 * np.pi * j / 4)
    c = phase_stats.unit_amplitudes(x, 4, 4, (16, 16))
    assert c.shape == (16, 4, 4)
    np.testing.assert_allclose(c[:, 0, 1], 0.25, atol=1e-12)  # half the amplitude per side
    np.testing.assert_allclose(np.abs(c[:, 1:, :]), 0.0, atol=1e-12)
    # the same amplitudes from the Fourier basis of one frequency class
    freqs = phase_stats.freq_set(4, 4, 4)
    direct = phase_stats.unit_amplitudes(x + np.sin(i), 4, 4, (16, 16), freqs=freqs)
    full = phase_stats.unit_amplitudes(x + np.sin(i), 4, 4, (16, 16))
    np.testing.assert_allclose(direct, full[:, freqs.rows, freqs.cols], atol=1e-12)


# ---------------------------------------------------------------- the command line


def save_png(pixels: np.ndarray, path: Path) -> Path:
    data = to_uint8(pixels)
    Image.fromarray(data[0] if data.shape[0] == 1 else data.transpose(1, 2, 0)).save(path)
    return path


def test_cli_json_and_fail_on(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    batch = crops(8, 96, seed=7)
    i, j = np.indices(batch.shape[2:])
    np.save(tmp_path / "grid.npy", to_uint8(batch + 2 * GREY * (-1.0) ** (i + j)))
    np.save(tmp_path / "clean.npy", to_uint8(batch).transpose(0, 2, 3, 1))  # NHWC
    result = run_cli("detect", str(tmp_path / "grid.npy"), "--json", "--no-png")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["verdict"] == "grid" and doc["periods"][0]["period"] == [2, 2]
    grid = run_cli("detect", str(tmp_path / "grid.npy"), "--no-png", "--fail-on", "grid")
    assert grid.exit_code == 3
    clean = run_cli("detect", str(tmp_path / "clean.npy"), "--no-png", "--fail-on", "grid")
    assert clean.exit_code == 0, clean.stderr
    assert "verdict: none" in clean.stdout


def test_cli_writes_three_pngs(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    folder = tmp_path / "imgs"
    folder.mkdir()
    batch = crops(4, 64, seed=8)
    i, j = np.indices(batch.shape[2:])
    for k, image in enumerate(batch + 3 * GREY * (-1.0) ** (i + j)):
        save_png(image, folder / f"{k}.png")
    (folder / "notes.txt").write_text("not an image")
    out = tmp_path / "out"
    result = run_cli("detect", str(folder), "--out", str(out))
    assert result.exit_code == 0, result.stderr
    names = sorted(p.name for p in out.iterdir())
    assert names == [
        "detect-64x64-spectrum.png",
        "detect-64x64-strengths.png",
        "detect-64x64-tiles.png",
    ]


def test_recursive_reads_subfolders(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    save_png(crops(1, 64)[0], tmp_path / "sub" / "a.png")
    with pytest.raises(UpscopeError, match="no image files.*--recursive"):
        image_sets.plan([tmp_path])
    assert image_sets.plan([tmp_path], recursive=True).count == 1


def test_memory_is_refused_before_reading(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    np.save(tmp_path / "a.npy", np.zeros((4, 3, 256, 256), np.uint8))
    result = run_cli("detect", str(tmp_path / "a.npy"), "--no-png", "--max-memory", "1M")
    assert result.exit_code == 2
    assert "needs about" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def bad_inputs(tmp: Path) -> dict[str, tuple[list[str], str]]:
    save_png(np.zeros((1, 16, 16)), tmp / "grey.png")
    save_png(np.zeros((3, 16, 16)), tmp / "rgb.png")
    save_png(np.zeros((3, 1, 1)), tmp / "dot.png")
    np.save(tmp / "rank3.npy", np.zeros((4, 16, 16), np.uint8))
    nan = np.zeros((2, 1, 16, 16), np.float32)
    nan[1, 0, 3, 3] = np.nan
    np.save(tmp / "nan.npy", nan)
    (tmp / "empty").mkdir()
    (tmp / "empty" / "readme.txt").write_text("x")
    return {
        "no images": ([], "no images given"),
        "mixed channels": ([str(tmp / "grey.png"), str(tmp / "rgb.png")], "differ in channels"),
        "1x1 image": ([str(tmp / "dot.png")], "at least 2x2"),
        "wrong rank": ([str(tmp / "rank3.npy")], "N x C x H x W"),
        "NaN": ([str(tmp / "nan.npy")], "NaN"),
        "empty folder": ([str(tmp / "empty")], "no image files"),
        "samples without model": (["--samples", "4"], "--samples needs --model"),
        "no samples": (["--model", "no_such_module:Gen", "--samples", "0"], "at least 1"),
        "images and samples": (
            [str(tmp / "rgb.png"), "--model", "m:G", "--samples", "2"],
            "not both",
        ),
        "weights without model": ([str(tmp / "rgb.png"), "--weights", "w.pt"], "is for --model"),
        "bad fail-on": ([str(tmp / "rgb.png"), "--fail-on", "risk"], "--fail-on must be grid"),
        "missing file": ([str(tmp / "nope.png")], "not found"),
    }


def test_every_bad_input_is_one_line_exit_2(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    for case, (args, message) in bad_inputs(tmp_path).items():
        result = run_cli("detect", *args, "--no-png")
        assert result.exit_code == 2, (case, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], (case, result.stderr)
        assert "Traceback" not in result.stderr


def test_import_upscope_stays_light() -> None:
    import subprocess
    import sys

    code = (
        "import upscope, upscope.detection, sys; "
        "print('torch' in sys.modules, 'PIL' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_jpeg_bytes_in_memory_are_not_named_jpeg() -> None:
    """Only a JPEG file says JPEG by its format; decoded arrays are judged by blockiness alone."""
    buffer = io.BytesIO()
    Image.fromarray(to_uint8(ASTRONAUT).transpose(1, 2, 0)).save(buffer, "JPEG", quality=75)
    pixels = np.asarray(Image.open(buffer)).transpose(2, 0, 1)
    result = upscope.detect(np.stack([pixels, pixels[:, ::-1]]))
    assert result.groups[0].jpeg == 0
    assert {f.source for f in result.found} <= {"jpeg"}
