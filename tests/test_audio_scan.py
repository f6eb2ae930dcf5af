"""``scan --rate``: each 1D op's tones in Hz, by the period rule, checked against an FFT of the
bundled HiFi-GAN-like generator's own output on silence."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

import upscope
from upscope.periods import tone_frequencies

RATE = 22050


@pytest.fixture(scope="module")
def hifigan_doc() -> dict:
    from typer.testing import CliRunner

    from upscope.cli import app

    result = CliRunner().invoke(
        app,
        ["scan", "samples/models.py:HiFiGANGenerator", "--rate", str(RATE), "--json", "--no-png"],
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_hifigan_names_86_hz_and_multiples_for_the_first_layer(hifigan_doc) -> None:
    layers = {layer["name"]: layer for layer in hifigan_doc["layers"]}
    assert hifigan_doc["rate"] == RATE and hifigan_doc["output_samples"] == 32 * 256
    first = layers["ups.0"]["tones_hz"]
    assert first[0] == pytest.approx(86.1328125) and first[:3] == pytest.approx(
        [86.1328125, 172.265625, 258.3984375]
    )
    assert first == pytest.approx([k * RATE / 256 for k in range(1, 129)])
    for name, period in (("ups.0", 256), ("ups.1", 32), ("ups.2", 4), ("ups.3", 2)):
        assert layers[name]["period_samples"] == period
        assert layers[name]["tones_hz"] == pytest.approx(tone_frequencies(period, RATE))
        assert layers[name]["tones_hz"][0] == pytest.approx(RATE / period)
        assert layers[name]["tone_db"] > 10


def test_the_tones_are_in_the_fft_of_the_output_on_silence(hifigan_doc) -> None:
    """Independently of the scan's measure: the model's output on zeros, FFT (no window, the
    middle half, 4096 samples = 16 periods of 256), has its energy at the frequencies the scan
    names for the first layer (86.13 Hz and multiples, which hold every later layer's too); the
    bins in between hold next to nothing."""
    from samples.models import HiFiGANGenerator

    torch.manual_seed(0)  # as the scan builds it (seed 0)
    model = HiFiGANGenerator().eval()
    with torch.no_grad():
        y = model(torch.zeros(1, 80, 32))[0, 0].double().numpy()
    middle = y[2048:6144]  # away from the ends, where padding breaks the period
    power = np.abs(np.fft.rfft(middle - middle.mean())) ** 2
    freqs = np.fft.rfftfreq(len(middle), 1 / RATE)
    named = [layer["tones_hz"] for layer in hifigan_doc["layers"] if layer["name"] == "ups.0"][0]
    on_tones = np.isin(np.round(freqs, 6), np.round(named, 6)) | (freqs == 0)
    assert power[on_tones].sum() > 1e6 * power[~on_tones].sum()
    base = int(np.argmin(np.abs(freqs - named[0])))
    assert power[base] > 1e3 * np.median(power[~on_tones])


def test_api_gives_the_same_tones(hifigan_doc) -> None:
    result = upscope.scan("samples/models.py:HiFiGANGenerator", rate=RATE)
    assert result.to_dict()["layers"] == hifigan_doc["layers"]
    assert result.audio.op("ups.1").tones_hz[0] == pytest.approx(689.0625)


def test_wavegan_uneven_layers(run_cli) -> None:
    result = run_cli("scan", "samples/models.py:WaveGANGenerator", "--rate", "16000", "--json",
                     "--no-png")  # fmt: skip
    assert result.exit_code == 0, result.stderr
    layers = json.loads(result.stdout)["layers"]
    assert [layer["period_samples"] for layer in layers] == [256, 64, 16, 4]
    assert [layer["tones_hz"][0] for layer in layers] == [62.5, 250.0, 1000.0, 4000.0]


def test_rate_must_be_positive(run_cli) -> None:
    result = run_cli("scan", "samples/models.py:HiFiGANGenerator", "--rate", "0")
    assert result.exit_code == 2 and "--rate" in result.stderr


def test_interpolation_then_convt_by_the_period_rule() -> None:
    """nearest x4 then ConvTranspose1d S=2 at 8 kHz: the resize's pattern has period 4 * 2 = 8
    (1000 Hz and multiples), the transposed conv's period 2 (4000 Hz)."""
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv1d(2, 2, 3, padding=1),
        nn.Upsample(scale_factor=4.0, mode="nearest"),
        nn.ConvTranspose1d(2, 1, 4, stride=2, padding=1),
    )
    result = upscope.scan(model, (1, 2, 16), rate=8000)
    ops = result.audio.ops
    assert [(o.period, o.tones_hz) for o in ops] == [
        (8, [1000.0, 2000.0, 3000.0, 4000.0]),
        (2, [4000.0]),
    ]
    assert result.to_dict()["output_samples"] == 16 * 8


def test_a_2d_model_has_no_tones(run_cli) -> None:
    result = run_cli("scan", "samples/models.py:ESPCN", "--rate", "16000", "--json", "--no-png")
    assert result.exit_code == 0, result.stderr
    doc = json.loads(result.stdout)
    assert doc["rate"] == 16000 and doc["output_samples"] is None
    assert all("tones_hz" not in layer for layer in doc["layers"])
