"""WAV reading and writing (upscope.audio_io): every encoding round-trips, every bad file is one
line and exit 2 with nothing written."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from upscope import audio_io
from upscope.errors import UpscopeError


def wav_bytes(
    data: bytes, channels: int, rate: int, bits: int, fmt: int = 1, declared: int | None = None
) -> bytes:
    """A RIFF/WAVE file around ``data``; ``declared``: the data chunk's length in the header."""
    block = channels * bits // 8
    fmt_chunk = struct.pack("<HHIIHH", fmt, channels, rate, (rate * block) % 2**32, block, bits)
    size = len(data) if declared is None else declared
    body = b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt_chunk
    body += b"data" + struct.pack("<I", size) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def signal(channels: int, frames: int) -> np.ndarray:
    t = np.arange(frames)
    return np.stack([0.5 * np.sin(0.01 * (c + 1) * t) for c in range(channels)])


@pytest.mark.parametrize(
    ("bits", "fmt", "step"),
    [(16, 1, 2.0**-15), (24, 1, 2.0**-23), (32, 1, 2.0**-31), (32, 3, 1e-7), (64, 3, 0.0)],
)
def test_encodings_round_trip(tmp_path: Path, bits: int, fmt: int, step: float) -> None:
    x = signal(3, 500)
    frames = x.T.reshape(-1)
    if fmt == 3:
        raw = frames.astype("<f4" if bits == 32 else "<f8").tobytes()
    elif bits == 24:
        ints = np.round(frames * 2**23).astype(np.int64) & 0xFFFFFF
        raw = np.stack([ints & 255, (ints >> 8) & 255, ints >> 16], axis=1).astype(np.uint8)
        raw = raw.tobytes()
    else:
        raw = np.round(frames * 2 ** (bits - 1)).astype("<i2" if bits == 16 else "<i4").tobytes()
    path = tmp_path / "x.wav"
    path.write_bytes(wav_bytes(raw, 3, 22050, bits, fmt))
    sound = audio_io.read_wav(path)
    assert (sound.rate, sound.channels, sound.frames) == (22050, 3, 500)
    assert sound.encoding == ("pcm" if fmt == 1 else "float") + str(bits)
    assert np.abs(sound.samples - x).max() <= step


def test_write_then_read_keeps_rate_length_and_channels(tmp_path: Path) -> None:
    x = signal(2, 1001)
    audio_io.write_wav(tmp_path / "y.wav", x, 44100)
    sound = audio_io.read_wav(tmp_path / "y.wav")
    assert (sound.rate, sound.channels, sound.frames) == (44100, 2, 1001)
    assert np.abs(sound.samples - x).max() <= 1 / 32767


def test_extensible_float_is_read(tmp_path: Path) -> None:
    x = signal(1, 64)
    raw = x.T.reshape(-1).astype("<f4").tobytes()
    fmt = struct.pack("<HHIIHH", 0xFFFE, 1, 8000, 32000, 4, 32)
    ext = struct.pack("<HHI", 22, 32, 4) + struct.pack("<H", 3) + bytes(14)
    body = b"WAVE" + b"fmt " + struct.pack("<I", 40) + fmt + ext
    body += b"data" + struct.pack("<I", len(raw)) + raw
    path = tmp_path / "e.wav"
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    assert np.abs(audio_io.read_wav(path).samples - x).max() < 1e-7


GOOD = np.zeros(400, dtype="<i2").tobytes()
BAD = {
    "not-audio": (b"this is a text file, not a sound\n" * 4, "not a WAV file"),
    "truncated": (wav_bytes(GOOD, 1, 16000, 16, declared=4000), "truncated"),
    "empty": (wav_bytes(b"", 1, 16000, 16), "0 samples"),
    "8bit": (wav_bytes(bytes(400), 1, 16000, 8), "8-bit"),
    "1000ch": (wav_bytes(bytes(4000), 1000, 16000, 16), "1000 channels"),
    "rate0": (wav_bytes(GOOD, 1, 0, 16), "sample rate of 0"),
    "rate-neg": (wav_bytes(GOOD, 1, 2**32 - 8000, 16), "sample rate of -8000"),
    "alaw": (wav_bytes(GOOD, 1, 16000, 16, fmt=6), "sample format 6"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_files_are_one_line(tmp_path: Path, case: str) -> None:
    data, words = BAD[case]
    path = tmp_path / f"{case}.wav"
    path.write_bytes(data)
    with pytest.raises(UpscopeError, match=words):
        audio_io.read_wav(path)


@pytest.mark.parametrize("case", ["truncated", "1000ch", "rate0"])
def test_bad_files_exit_2_and_write_nothing(run_cli, tmp_path: Path, case: str) -> None:
    path = tmp_path / "bad.wav"
    path.write_bytes(BAD[case][0])
    out = tmp_path / "out"
    result = run_cli("compare", str(path), "--fit", "0", "--out", str(out))
    assert result.exit_code == 2 and result.stdout == ""
    line = result.stderr.strip()
    assert line.startswith("upscope: error: ") and "\n" not in line
    assert not out.exists() or not any(out.iterdir())


def test_longer_than_the_budget_is_refused_before_reading(run_cli, tmp_path: Path) -> None:
    # the header declares 50 M frames; the file holds them (sparse), the budget is 64 MiB
    path = tmp_path / "long.wav"
    frames = 50_000_000
    header = wav_bytes(b"", 1, 16000, 16, declared=2 * frames)
    with open(path, "wb") as handle:
        handle.write(header)
        handle.truncate(len(header) + 2 * frames)
    result = run_cli("compare", str(path), "--max-memory", "64M", "--no-png")
    assert result.exit_code == 2 and "memory" in result.stderr and "\n" not in result.stderr.strip()


def test_flac_is_refused_with_how_to_convert(run_cli, tmp_path) -> None:
    path = tmp_path / "clip.flac"
    path.write_bytes(b"fLaC" + bytes(100))
    result = run_cli("compare", str(path), "--no-png")
    assert result.exit_code == 2 and "WAV files only" in result.stderr and "ffmpeg" in result.stderr
