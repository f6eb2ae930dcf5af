"""1D models in scan's words and figures, and the audio figures' edges: sample/tone wording, a 1D
overlap figure of bars, the ``wrote`` lines after the tones table, scan-tones.png's Nyquist line
and readable multiples, tone marks on a spectrogram's top edge, and the help naming audio."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from matplotlib.text import Text

import upscope
from upscope import arith
from upscope.overlap_map import stack_overlap

RATE = 8000


@pytest.fixture(scope="module")
def scan_1d(tmp_path_factory: pytest.TempPathFactory):
    """A two-layer 1D model (K=3 S=2: uneven, then K=4 S=2: even) at 8 kHz, its PNGs written."""
    from torch import nn

    torch.manual_seed(0)
    model = nn.Sequential(
        nn.ConvTranspose1d(2, 2, 3, stride=2, padding=1, output_padding=1),
        nn.ConvTranspose1d(2, 1, 4, stride=2, padding=1),
    )
    result = upscope.scan(model, (1, 2, 16), rate=RATE)
    result.save_png(tmp_path_factory.mktemp("scan1d"))
    return result


def _text(result) -> str:
    from rich.console import Console

    from upscope import present

    console = Console(record=True, width=100, color_system=None)
    console.print(present.view(result))
    return console.export_text()


def test_overlap_text_says_sample_in_1d_and_pixel_in_2d() -> None:
    even, uneven = arith.parse_layer("convT k=4 s=2"), arith.parse_layer("convT k=3 s=2")
    assert "every interior sample receives 2" in stack_overlap([even], (16,)).explanation
    assert "interior samples receive 1 or 2" in stack_overlap([uneven], (16,)).explanation
    assert "every interior pixel receives 4" in stack_overlap([even], (16, 16)).explanation
    assert "pixel" not in stack_overlap([uneven], (16,)).explanation


def test_1d_scan_says_tones_and_samples(scan_1d) -> None:
    text = " ".join(_text(scan_1d).split())
    assert "2 of 2 upsampling ops can add tones" in text
    assert "can make a checkerboard" not in text
    assert "interior sample" in text and "interior pixel" not in text


def test_wrote_lines_come_after_the_tones_table_whose_footnote_is_left_aligned(scan_1d) -> None:
    lines = _text(scan_1d).splitlines()
    tones = next(i for i, line in enumerate(lines) if line.startswith("Tones in the output"))
    wrote = [i for i, line in enumerate(lines) if line.startswith("wrote ")]
    assert len(wrote) == len(scan_1d.pngs) == 3 and min(wrote) > tones
    footnote = next(line for line in lines if "tone dB: the output's strongest" in line)
    assert footnote.startswith("tone dB:")


def test_1d_overlap_panel_is_bars_not_a_one_row_map(scan_1d) -> None:
    from tests.test_scan import bars
    from upscope.render.scan_view import draw

    finding = scan_1d.findings[0]  # K=3 S=2: 1 or 2 contributions
    fig = draw(finding, scan_1d.threshold)
    overlap, *_, phases = fig.axes  # colorbars would be extra axes: there are none
    assert not overlap.images and not phases.images
    heights = [int(h) for h in bars(overlap)[1]]
    counts = finding.compound().map
    assert heights == counts[: len(heights)].tolist() and set(heights) == {1, 2}
    assert overlap.get_ylabel() == "contributions per output sample"
    words = " ".join(t.get_text() for t in fig.findobj(Text))
    assert "pixel" not in words
    index = finding.worst_channel
    values, _ = finding.normalised_sums(index)
    assert bars(phases)[1].tolist() == pytest.approx(values.tolist())
    assert fig.get_size_inches()[1] < 5


def _vlines(ax) -> dict[str, list[float]]:
    lines: dict[str, list[float]] = {}
    for line in ax.get_lines():
        x = line.get_xdata()
        if len(x) == 2 and x[0] == x[1]:
            lines.setdefault(str(line.get_color()), []).append(float(x[0]))
    return lines


def test_scan_tones_figure_nyquist_visible_few_multiples_readable_legend(tmp_path: Path) -> None:
    from torch import nn

    from upscope.render.audio_view import DRAWN_TONES, _tones_figure, save_scan_tones

    torch.manual_seed(0)
    model = nn.Sequential(  # periods 64 (many multiples) and 2 (a tone at Nyquist)
        nn.ConvTranspose1d(1, 1, 64, stride=32, padding=16),
        nn.ConvTranspose1d(1, 1, 3, stride=2, padding=1, output_padding=1),
    )
    result = upscope.scan(model, (1, 1, 8), rate=RATE)
    ops = [o for o in result.audio.ops if o.tones_hz]
    assert len(ops[0].tones_hz) > DRAWN_TONES and ops[1].tones_hz == [RATE / 2]
    assert save_scan_tones(result.audio, tmp_path).exists()
    ax = _tones_figure(result.audio).axes[0]
    assert ax.get_xlim()[1] > RATE / 2 * 1.05  # the line at rate / 2 is inside the axes
    lines = _vlines(ax)
    assert max(len(xs) for xs in lines.values()) <= DRAWN_TONES
    assert sum(RATE / 2 in xs for xs in lines.values()) >= 2  # the op's tone and Nyquist
    legend = ax.get_legend()
    assert min(t.get_fontsize() for t in legend.get_texts()) >= 9
    labels = [t.get_text() for t in legend.get_texts()]
    more = len(ops[0].tones_hz) - 1
    assert any(f"first {DRAWN_TONES - 1} of {more} multiples" in label for label in labels)
    assert any(label.startswith("Nyquist") for label in labels)


def test_a_tone_on_the_spectrogram_top_edge_gets_a_marker() -> None:
    from upscope.render import audio_view

    rate = 16000.0
    signal = np.sin(2 * np.pi * 1000 * np.arange(4096) / rate)
    fig = audio_view._spectrogram_grid([("a", signal)], ["spectrogram"], rate, [rate / 2], "t")
    ax = fig.axes[0]
    assert ax.get_ylim()[1] == pytest.approx(rate / 2, rel=0.01)  # the tone is on the border
    marks = [t for t in ax.texts if t.get_position()[1] == rate / 2]
    assert marks and not marks[0].get_clip_on()
    line = next(ln for ln in ax.get_lines() if ln.get_ydata()[0] == rate / 2)
    assert not line.get_clip_on()


def test_help_names_audio(run_cli) -> None:
    result = run_cli("--help")
    words = " ".join(re.sub("[│─╭╮╰╯]", " ", result.stdout).split())
    for name, needle in (("probe", "--audio"), ("compare", "WAV"), ("scan", "--rate")):
        line = words.split(f" {name} ", 1)[1][:200]
        assert needle in line, (name, line)
    assert (
        "docs/audio.md"
        in Path("README.md").read_text(encoding="utf-8").split("## Further reading")[1]
    )
