"""``probe --audio`` reproduces Pons et al. (ICASSP 2021) and ``compare SOUND.wav`` writes what
it says; both through the command line, whose JSON the API returns too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import upscope
from upscope import audio_io, zoo1d

TONE_METHODS = ("convT-uneven", "convT-even", "subpixel")
INTERP = ("nearest", "linear")


@pytest.fixture(scope="module")
def probe_doc() -> dict[str, Any]:
    from typer.testing import CliRunner

    from upscope.cli import app

    result = CliRunner().invoke(
        app, ["probe", "--audio", "--scale", "4", "--seeds", "2", "--json", "--no-png"]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def rows(doc: dict[str, Any], method: str) -> dict[str, dict[str, Any]]:
    return {r["input"]: r for r in doc["results"] if r["method"] == method}


def test_rows_and_keys(probe_doc: dict[str, Any]) -> None:
    assert probe_doc["rate"] == 16000 and probe_doc["input_rate"] == 4000
    assert [r["method"] for r in probe_doc["results"][::5]] == list(zoo1d.NAMES)
    keys = {"method", "input", "tone_db", "tone_hz", "highs_db", "images_db"}
    assert all(keys <= set(r) for r in probe_doc["results"])
    assert all(r["tone_hz"] == [4000.0, 8000.0] for r in probe_doc["results"])


@pytest.mark.parametrize("method", TONE_METHODS)
def test_convt_and_subpixel_add_tones_well_above_broadband(probe_doc, method: str) -> None:
    by = rows(probe_doc, method)
    assert by["silence"]["tone_db"] > 40 and by["dc"]["tone_db"] > 40


@pytest.mark.parametrize("method", INTERP)
def test_interpolation_adds_no_tone_but_filters_and_images(probe_doc, method: str) -> None:
    by = rows(probe_doc, method)
    assert all(r["tone_db"] <= 0 for r in by.values())
    assert by["noise"]["highs_db"] < -1 and by["sweep"]["highs_db"] < -1
    assert by["noise"]["images_db"] > -30


def test_linear_attenuates_the_highs_more_than_nearest(probe_doc) -> None:
    for kind in ("noise", "sweep"):
        assert (
            rows(probe_doc, "linear")[kind]["highs_db"]
            < rows(probe_doc, "nearest")[kind]["highs_db"]
        )


def test_the_band_limited_reference_has_neither(probe_doc) -> None:
    """Documented tolerances (docs/audio.md): tone_db <= 0, |highs_db| <= 0.1, images <= -60."""
    by = rows(probe_doc, "sinc")
    assert all(r["tone_db"] <= 0 for r in by.values())
    assert abs(by["noise"]["highs_db"]) <= 0.1 and abs(by["sweep"]["highs_db"]) <= 0.1
    assert by["noise"]["images_db"] <= -60 and by["sweep"]["images_db"] <= -60


def test_api_returns_the_cli_document(probe_doc) -> None:
    report = upscope.probe(audio=True, scale=4, seeds=2)
    assert report.to_dict() == probe_doc


def test_figures_are_written(tmp_path: Path) -> None:
    report = upscope.probe(
        audio=True, methods="convT-even,sinc", inputs="sweep,noise", seeds=1, out=tmp_path
    )
    assert sorted(p.name for p in report.pngs) == [
        "audio-probe-spectra.png",
        "audio-probe-spectrograms.png",
    ]
    assert all(p.stat().st_size > 10_000 for p in report.pngs)


def band_limited(rate: int, seconds: float, channels: int) -> np.ndarray:
    """Sines well inside the low rate's band (under 0.3 of its Nyquist at x2)."""
    t = np.arange(int(rate * seconds)) / rate
    freqs = [220.0, 660.0, 1100.0]
    return np.stack(
        [sum(0.2 * np.sin(2 * np.pi * f * (c + 1) * t / 2) for f in freqs) for c in range(channels)]
    )


def test_compare_sound_writes_one_wav_per_method(run_cli, tmp_path: Path) -> None:
    clip = tmp_path / "clip.wav"
    x = band_limited(8000, 0.5, 2)[:, :3999]  # odd length: outputs keep it
    audio_io.write_wav(clip, x, 8000)
    out = tmp_path / "out"
    result = run_cli(
        "compare", str(clip), "-m", "convT-even,nearest,sinc", "--fit", "3", "--out", str(out),
        "--json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert [r["method"] for r in doc["results"]] == ["convT-even", "nearest", "sinc"]
    assert {"snr_db", "lsd_db", "tone_db"} <= set(doc["results"][0])
    for r in doc["results"]:
        sound = audio_io.read_wav(r["wav"])
        assert (sound.rate, sound.channels, sound.frames) == (8000, 2, 3999)
    by = {r["method"]: r for r in doc["results"]}
    assert by["sinc"]["snr_db"] > 40  # band-limited content survives down- and upsampling
    assert by["sinc"]["snr_db"] > by["nearest"]["snr_db"]
    assert sorted(Path(p).name for p in doc["png"]) == [
        "audio-compare-spectra.png",
        "audio-compare-spectrograms.png",
    ]


def test_compare_bundled_sound_from_anywhere(run_cli, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = upscope.compare("sound", methods="nearest,sinc", fit=0)
    assert result.sound == "bundled:sound" and result.rate == 16000
    assert result.original.shape == (1, 48000)


def test_bundled_sound_is_its_generator() -> None:
    import importlib.util

    root = Path(__file__).resolve().parent.parent / "samples"
    spec = importlib.util.spec_from_file_location("sound_gen", root / "sound.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    committed = audio_io.read_wav(root / "sound.wav")
    expected = np.round(np.clip(module.sound(), -1, 1) * 32767) / 32768
    assert committed.rate == module.RATE
    assert np.array_equal(committed.samples[0], expected)


@pytest.mark.parametrize("scale", [2, 3, 8])
def test_the_claims_hold_at_other_scales(scale: int) -> None:
    report = upscope.probe(
        audio=True, scale=scale, seeds=1, inputs="silence,noise",
        methods="convT-even,convT-uneven,subpixel,nearest,linear,sinc",
    )  # fmt: skip
    by = {(r.method, r.input): r for r in report.results}
    for method in TONE_METHODS:
        assert by[method, "silence"].tone_db > 40
    for method in (*INTERP, "sinc"):
        assert by[method, "silence"].tone_db <= 0 and by[method, "noise"].tone_db <= 0
    nearest, linear, sinc = (by[m, "noise"] for m in ("nearest", "linear", "sinc"))
    assert linear.highs_db < nearest.highs_db < -1
    assert nearest.images_db > -30 and linear.images_db > -30
    assert abs(sinc.highs_db) <= 0.1 and sinc.images_db <= -60
