"""What ``probe --audio`` and ``compare SOUND.wav`` return, torch-free:
:class:`AudioProbeReport` (one :class:`AudioMeasurement` per method and input) and
:class:`AudioComparison` (one :class:`AudioMethodResult` per method, the :class:`AudioSettings`
it ran with). :mod:`upscope.audio_probe` and :mod:`upscope.audio_compare` compute them; a process
that only presents a finished result (a pickled one, drawn elsewhere) imports this module, never
torch.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from upscope import zoo1d
from upscope.audio_config import AudioProbeConfig
from upscope.periods import tone_frequencies
from upscope.result import Brief, Result

__all__ = [
    "AudioComparison",
    "AudioMeasurement",
    "AudioMethodResult",
    "AudioProbeReport",
    "AudioSettings",
    "wav_name",
]

BATCH = 8
PATCH_OUT = 2048
LEARNING_RATE = 1e-2


@dataclass(frozen=True, repr=False)
class AudioMeasurement(Brief):
    """One method on one input, over seeds: mean and spread of each measure (None: not
    defined for this input, see :mod:`upscope.audio_metrics`)."""

    method: str
    input: str
    tone_db: float
    tone_db_std: float
    tone_hz: list[float]
    tones_db: list[float]
    highs_db: float | None
    highs_db_std: float | None
    images_db: float | None
    images_db_std: float | None
    spectrum: np.ndarray = field(repr=False)
    response: np.ndarray = field(repr=False)

    _brief = ("method", "input", "tone_db", "tone_hz", "highs_db", "images_db")


@dataclass(frozen=True, repr=False)
class AudioProbeReport(Result):
    """What ``upscope.probe(audio=True)`` returns; ``pngs``: what the last save_png wrote.
    Its document, view and figures are registered in :mod:`upscope.render.audio_present`."""

    config: AudioProbeConfig
    results: list[AudioMeasurement]
    pngs: list[Path] = field(default_factory=list, repr=False)

    _brief = ("scale=config.scale", "rate=config.rate", "methods=config.methods", "results")

    def result(self, method: str, input: str) -> AudioMeasurement:
        for r in self.results:
            if r.method == method and r.input == input:
                return r
        raise KeyError((method, input))


@dataclass(frozen=True, repr=False)
class AudioSettings(Brief):
    scale: int = 2
    methods: tuple[str, ...] = zoo1d.NAMES
    fit: int = 200
    seed: int = 0
    device: str = "cpu"
    width: int = 16
    batch: int = BATCH
    patch: int = PATCH_OUT
    lr: float = LEARNING_RATE


@dataclass(repr=False)
class AudioMethodResult(Brief):
    """One method's output (channels, frames) and its scores; ``wav``: where it was written."""

    method: str
    learned: bool
    params: int
    output: np.ndarray = field(repr=False)
    snr_db: float
    lsd_db: float
    tone_db: float
    seconds: float
    final_loss: float | None = None
    wav: Path | None = None

    _brief = ("method", "snr_db", "lsd_db", "tone_db", "seconds", "output")


@dataclass(repr=False)
class AudioComparison(Result):
    """What ``upscope.compare("clip.wav")`` returns: the ``original`` (channels, frames) at
    ``rate`` Hz, ``low`` its anti-aliased downsampling, one :class:`AudioMethodResult` per
    method; ``sound`` names the input in reports, ``path`` is the file read (never written).
    Its document, view and figures are registered in :mod:`upscope.render.audio_present`."""

    original: np.ndarray = field(repr=False)
    low: np.ndarray = field(repr=False)
    rate: int
    settings: AudioSettings
    results: list[AudioMethodResult] = field(default_factory=list)
    sound: str = ""
    encoding: str = ""
    path: Path | None = None
    pngs: list[Path] = field(default_factory=list, repr=False)

    _brief = (
        "sound",
        "rate",
        "scale=settings.scale",
        "fit=settings.fit",
        "methods=settings.methods",
    )

    @property
    def tone_hz(self) -> list[float]:
        return tone_frequencies(self.settings.scale, float(self.rate))

    def result(self, method: str) -> AudioMethodResult:
        for r in self.results:
            if r.method == method:
                return r
        raise KeyError(method)

    def save_wavs(self, out: str | os.PathLike[str] = "upscope-out") -> list[Path]:
        """Write each method's output as ``audio-METHOD.wav`` (16-bit PCM, the input's rate)."""
        from upscope import files
        from upscope.audio_io import write_wav

        folder = files.prepare_out_dir(Path(out))
        paths = [folder / wav_name(r.method) for r in self.results]
        files.refuse_inputs(paths, SOUND=self.path)
        for r, path in zip(self.results, paths, strict=True):
            r.wav = write_wav(path, r.output, self.rate)
        return paths

    def save(self, out: str | os.PathLike[str] = "upscope-out") -> list[Path]:
        """The WAVs and the figures (``save_png``): what the CLI writes."""
        return self.save_wavs(out) + self.save_png(out)


def wav_name(method: str) -> str:
    return f"audio-{method}.wav"
