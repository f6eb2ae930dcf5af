"""WAV files in and out (standard library and numpy; no torch, no extra package).

Read: RIFF/WAVE with 16-, 24- or 32-bit integer PCM (format 1), 32- or 64-bit float (format 3),
or WAVE_FORMAT_EXTENSIBLE (0xFFFE) wrapping either; mono or up to :data:`MAX_CHANNELS` channels.
The header is parsed here (``struct``) rather than with the standard library's ``wave``, whose
reader refuses float WAVs; every check runs on the header, before a sample is read:

- not RIFF/WAVE, no ``fmt `` or ``data`` chunk: "not a WAV file";
- a ``data`` chunk longer than the file (truncated): refused, the missing bytes named;
- 0 samples; 8-bit PCM (unsigned, too coarse to measure tones 60 dB down); any other format;
- 0 or more than :data:`MAX_CHANNELS` channels; a rate of 0, or over :data:`MAX_RATE`;
- a sound whose float64 copies would pass the memory budget (:mod:`upscope.limits`).

Samples come back as float64 ``(channels, frames)`` in [-1, 1]. Write: 16-bit PCM through
``wave``, atomically (:func:`upscope.files.atomic_write`), clipped to [-1, 1].

>>> import tempfile, numpy as np
>>> folder = Path(tempfile.mkdtemp())
>>> _ = write_wav(folder / "a.wav", np.array([[0.0, 0.5, -0.5]]), 8000)
>>> sound = read_wav(folder / "a.wav")
>>> sound.rate, sound.channels, sound.frames, sound.encoding
(8000, 1, 3, 'pcm16')
"""

from __future__ import annotations

import struct
import wave
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from upscope.errors import UpscopeError
from upscope.files import atomic_write, check_regular_file

__all__ = ["MAX_CHANNELS", "MAX_RATE", "Sound", "read_header", "read_wav", "write_wav"]

MAX_CHANNELS = 64
MAX_RATE = 1_000_000
#: float64 copies of the sound a command holds at once (the original, its low-rate version,
#: each method's output is counted by the caller)
COPIES = 4

_PCM, _FLOAT, _EXTENSIBLE = 1, 3, 0xFFFE
#: the data chunk must start within this many bytes (metadata chunks before it included)
HEADER_BYTES = 1 << 20


@dataclass(frozen=True)
class WavHeader:
    """What a WAV header says: sample format, channels, rate, frames and where the data is."""

    fmt: int
    channels: int
    rate: int
    bits: int
    frames: int
    offset: int

    @property
    def encoding(self) -> str:
        return ("pcm" if self.fmt == _PCM else "float") + str(self.bits)


@dataclass(frozen=True)
class Sound:
    """A sound: ``samples`` float64 (channels, frames) in [-1, 1] at ``rate`` Hz."""

    samples: np.ndarray
    rate: int
    encoding: str = "float64"
    source: str = ""

    @property
    def channels(self) -> int:
        return int(self.samples.shape[0])

    @property
    def frames(self) -> int:
        return int(self.samples.shape[1])

    @property
    def seconds(self) -> float:
        return self.frames / self.rate


def _chunks(data: bytes) -> dict[bytes, tuple[int, int]]:
    """Chunk id -> (offset of its body, declared length), first occurrence of each, up to the
    data chunk (whose body need not be in ``data``)."""
    found: dict[bytes, tuple[int, int]] = {}
    pos = 12
    while pos + 8 <= len(data):
        cid, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        found.setdefault(cid, (pos + 8, size))
        if cid == b"data":
            break
        pos += 8 + size + (size & 1)
    return found


def read_header(path: Path, head: bytes, file_size: int) -> WavHeader:
    """Parse and check the header bytes ``head`` (the start of the file, up to the data chunk's
    start) of a file of ``file_size`` bytes; raise UpscopeError with one line if it is refused."""
    name = repr(str(path))
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        raise UpscopeError(f"sound {name} is not a WAV file (no RIFF/WAVE header)")
    chunks = _chunks(head)
    if b"fmt " not in chunks:
        raise UpscopeError(f"sound {name} is not a WAV file that upscope can read (no fmt chunk)")
    if b"data" not in chunks:
        raise UpscopeError(f"sound {name} has no data chunk (truncated, or not audio)")
    at, size = chunks[b"fmt "]
    if size < 16 or at + 16 > len(head):
        raise UpscopeError(f"sound {name} has a truncated fmt chunk")
    # the rate as a signed int: a header that says -8000 Hz is reported as such
    fmt, channels, rate, _, _, bits = struct.unpack("<HHiIHH", head[at : at + 16])
    if fmt == _EXTENSIBLE:
        if size < 40 or at + 26 > len(head):
            raise UpscopeError(f"sound {name} has a truncated WAVE_FORMAT_EXTENSIBLE header")
        fmt = struct.unpack("<H", head[at + 24 : at + 26])[0]
    if fmt not in (_PCM, _FLOAT):
        raise UpscopeError(
            f"sound {name} has sample format {fmt}; upscope reads PCM (1) and float (3) WAV"
        )
    if fmt == _PCM and bits == 8:
        raise UpscopeError(
            f"sound {name} is 8-bit PCM, too coarse to measure tones; convert it to 16-bit"
        )
    if (fmt == _PCM and bits not in (16, 24, 32)) or (fmt == _FLOAT and bits not in (32, 64)):
        kind = "PCM" if fmt == _PCM else "float"
        raise UpscopeError(f"sound {name} has {bits}-bit {kind} samples; upscope reads 16/24/32")
    if not 1 <= channels <= MAX_CHANNELS:
        raise UpscopeError(
            f"sound {name} has {channels} channels; upscope reads 1 to {MAX_CHANNELS}"
        )
    if not 0 < rate <= MAX_RATE:
        raise UpscopeError(
            f"sound {name} has a sample rate of {rate} Hz; it must be from 1 to {MAX_RATE} Hz"
        )
    offset, length = chunks[b"data"]
    frame_bytes = channels * bits // 8
    if length == 0 or length < frame_bytes:
        raise UpscopeError(f"sound {name} has 0 samples")
    if offset + length > file_size:
        missing = offset + length - file_size
        raise UpscopeError(
            f"sound {name} is truncated: its data chunk declares {length} bytes, "
            f"{missing} of them are missing"
        )
    return WavHeader(fmt, channels, rate, bits, length // frame_bytes, offset)


def sound_bytes(channels: int, frames: int, copies: int = COPIES) -> int:
    """Bytes of ``copies`` float64 arrays of the sound."""
    return channels * frames * 8 * copies


def read_wav(path: Path | str, before_read: Callable[[WavHeader], None] | None = None) -> Sound:
    """Read a WAV file into a :class:`Sound`; everything is checked on the header first (also
    ``before_read(header)`` when given, e.g. a caller's memory estimate), then the data read."""
    from upscope import limits

    path = Path(path)
    check_regular_file(path, "sound")
    try:
        with open(path, "rb") as handle:
            head = handle.read(HEADER_BYTES)
            file_size = handle.seek(0, 2)
            header = read_header(path, head, file_size)
            limits.check_memory(
                sound_bytes(header.channels, header.frames),
                f"reading {header.frames} frames x {header.channels} channels of {str(path)!r}",
            )
            if before_read is not None:
                before_read(header)
            handle.seek(header.offset)
            raw = handle.read(header.frames * header.channels * header.bits // 8)
    except OSError as exc:
        raise UpscopeError(f"sound {str(path)!r} cannot be read: {exc.strerror}") from None
    return Sound(_decode(raw, header, str(path)), header.rate, header.encoding, str(path))


def _decode(raw: bytes, header: WavHeader, name: str) -> np.ndarray:
    c, bits = header.channels, header.bits
    if header.fmt == _FLOAT:
        data = np.frombuffer(raw, dtype="<f4" if bits == 32 else "<f8").astype(np.float64)
        if not np.all(np.isfinite(data)):
            raise UpscopeError(f"sound {name!r} has NaN or infinite samples")
    elif bits == 24:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        ints = b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)
        ints = np.where(ints >= 1 << 23, ints - (1 << 24), ints)
        data = ints / float(1 << 23)
    else:
        dtype = "<i2" if bits == 16 else "<i4"
        data = np.frombuffer(raw, dtype=dtype) / float(1 << (bits - 1))
    return np.ascontiguousarray(data.reshape(-1, c).T)


def write_wav(path: Path, samples: np.ndarray, rate: int) -> Path:
    """Write ``samples`` (channels, frames), clipped to [-1, 1], as 16-bit PCM, atomically."""
    data = np.asarray(samples, dtype=np.float64)
    if data.ndim == 1:
        data = data[None]
    ints = np.round(np.clip(data, -1.0, 1.0) * 32767.0).astype("<i2")

    def write(tmp: Path) -> None:
        with wave.open(str(tmp), "wb") as handle:
            handle.setnchannels(int(data.shape[0]))
            handle.setsampwidth(2)
            handle.setframerate(int(rate))
            handle.writeframes(ints.T.tobytes())

    return atomic_write(Path(path), write)
