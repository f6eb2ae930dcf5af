"""The bundled sample sound (``sound.wav``): notes with harmonics, a sweep and a noise burst.

3 s of 16 kHz mono 16-bit PCM (96 KB), synthesised here so that ``upscope compare sound`` works
from any directory:

- 0.0-1.5 s: three notes of 0.5 s (A3 220 Hz, C#4 277.2 Hz, E4 329.6 Hz), each with 8 harmonics
  of amplitude 1/k, a 10 ms attack and an exponential decay (time constant 0.25 s);
- 1.5-2.5 s: a logarithmic sine sweep from 100 Hz to 7,500 Hz;
- 2.5-3.0 s: a burst of white noise (seed 0) under a Hann envelope.

Peak level 0.5. Regenerate with ``python samples/sound.py``; a test checks the committed file
against this generator.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

RATE = 16000
NOTES = (220.0, 277.18, 329.63)
NOTE_SECONDS = 0.5
SWEEP = (100.0, 7500.0, 1.0)
NOISE_SECONDS = 0.5
PEAK = 0.5


def sound(rate: int = RATE) -> np.ndarray:
    """The sound as float64 samples, mono, peak ``PEAK``."""
    parts = []
    n = int(NOTE_SECONDS * rate)
    t = np.arange(n) / rate
    envelope = np.minimum(t / 0.01, 1.0) * np.exp(-t / 0.25)
    for f0 in NOTES:
        note = sum(np.sin(2 * np.pi * k * f0 * t) / k for k in range(1, 9) if k * f0 < rate / 2)
        parts.append(envelope * note)
    low, high, seconds = SWEEP
    t = np.arange(int(seconds * rate)) / rate
    growth = np.log(high / low)
    parts.append(np.sin(2 * np.pi * low * seconds / growth * (np.exp(growth * t / seconds) - 1)))
    m = int(NOISE_SECONDS * rate)
    parts.append(np.hanning(m) * np.random.default_rng(0).standard_normal(m) / 3)
    out = np.concatenate([p / np.abs(p).max() for p in parts])
    return PEAK * out


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from upscope.audio_io import write_wav

    path = Path(__file__).with_name("sound.wav")
    write_wav(path, sound()[None], RATE)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
