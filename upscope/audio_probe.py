"""Probe the 1D upsampler zoo for tonal and filtering artifacts at initialisation (Pons et al.).

For every method and seed ``seed + i`` (i < seeds): ``torch.manual_seed(seed + i)``, build the
layer with :func:`upscope.upsamplers1d.create` (float64), and feed it ``channels`` x N input
samples at the input rate ``rate / scale`` (N = ``seconds`` of output), from a numpy generator
seeded with ``seed + i``:

- ``silence``: silence after a preceding layer's bias: each channel a constant drawn from
  U(-0.5, 0.5) (what a conv's bias makes of zeros);
- ``dc``: ones;
- ``sine``: 0.5 sin(2 pi f t), f = :data:`SINE_FRACTION` of the input's Nyquist frequency;
- ``sweep``: a linear sine sweep of amplitude 0.5 from 0 to :data:`SWEEP_TOP` of the input's
  Nyquist frequency;
- ``noise``: white Gaussian noise, standard deviation 0.5.

Each output is scored with :mod:`upscope.audio_metrics` against the band-limited upsampling of
the same input (:func:`upscope.dsp.upsample`, the ``sinc`` reference): ``tone_db``, ``highs_db``,
``images_db``, mean and spread (population standard deviation) over seeds; the mean power
spectrum over seeds and channel 0 of the first seed's output are kept for the figures.
Computation only: nothing prints. The result types (:class:`AudioProbeReport`,
:class:`AudioMeasurement`) live in the torch-free :mod:`upscope.audio_results` and are
re-exported here.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from upscope import audio_metrics, dsp, upsamplers1d
from upscope.audio_config import AudioProbeConfig, check_config
from upscope.audio_results import AudioMeasurement, AudioProbeReport
from upscope.periods import tone_frequencies

__all__ = ["AudioMeasurement", "AudioProbeReport", "make_input", "run_audio_probe"]

SINE_FRACTION = 0.22
SWEEP_TOP = 0.95

#: ``progress("1D upsamplers", methods_done, methods_total)`` after each method
Progress = Callable[[str, int, int], None]


def make_input(kind: str, channels: int, length: int, input_rate: float, seed: int) -> np.ndarray:
    """The probe input ``kind`` (channels, length) at ``input_rate`` (see the module's text)."""
    rng = np.random.default_rng(seed)
    t = np.arange(length) / input_rate
    nyq = input_rate / 2
    if kind == "silence":
        return np.repeat(rng.uniform(-0.5, 0.5, (channels, 1)), length, axis=1)
    if kind == "dc":
        return np.ones((channels, length))
    if kind == "sine":
        return np.repeat(0.5 * np.sin(2 * np.pi * SINE_FRACTION * nyq * t)[None], channels, 0)
    if kind == "sweep":
        duration = length / input_rate
        phase = np.pi * SWEEP_TOP * nyq * t**2 / duration  # f(t) = top * t / duration
        return np.repeat(0.5 * np.sin(phase)[None], channels, 0)
    if kind == "noise":
        return 0.5 * rng.standard_normal((channels, length))
    raise ValueError(f"unknown input {kind!r}")


def _stats(values: list[float | None]) -> tuple[float | None, float | None]:
    if any(v is None for v in values):
        return None, None
    arr = np.array(values, dtype=np.float64)
    return float(arr.mean()), float(arr.std())


#: (input, seed, channels, length, rate, scale) -> (input, reference spectrum): the same for
#: every method, so computed once per run
_References = dict[tuple[str, int], tuple[np.ndarray, np.ndarray]]


def _reference(
    kind: str, seed: int, config: AudioProbeConfig, cache: _References
) -> tuple[np.ndarray, np.ndarray]:
    if (kind, seed) not in cache:
        x = make_input(kind, config.channels, config.input_length, config.input_rate, seed)
        cache[kind, seed] = x, audio_metrics.power_spectrum(dsp.upsample(x, config.scale))
    return cache[kind, seed]


def _measure(
    method: str, kind: str, config: AudioProbeConfig, cache: _References
) -> AudioMeasurement:
    rate, scale = float(config.rate), config.scale
    tones, highs, images, spectra = [], [], [], []
    levels: list[list[float]] = []
    response = np.zeros(0)
    for i in range(config.seeds):
        seed = config.seed + i
        torch.manual_seed(seed)
        layer = upsamplers1d.create(method, config.channels, scale).double().eval()
        x, ref = _reference(kind, seed, config, cache)
        with torch.inference_mode():
            y = layer(torch.from_numpy(x)[None])[0].numpy()
        spec = audio_metrics.power_spectrum(y)
        tone, _ = audio_metrics.tone_db(spec, rate, scale)
        tones.append(tone)
        levels.append(audio_metrics.tone_levels(spec, rate, scale))
        highs.append(audio_metrics.highs_db(spec, ref, rate, scale))
        images.append(audio_metrics.images_db(spec, ref, rate, scale))
        spectra.append(spec)
        if i == 0:
            response = y[0].copy()
    tone_mean, tone_std = _stats(list(tones))
    highs_mean, highs_std = _stats(highs)
    images_mean, images_std = _stats(images)
    assert tone_mean is not None and tone_std is not None
    return AudioMeasurement(
        method=method,
        input=kind,
        tone_db=tone_mean,
        tone_db_std=tone_std,
        tone_hz=tone_frequencies(scale, rate),
        tones_db=[float(v) for v in np.mean(levels, axis=0)],
        highs_db=highs_mean,
        highs_db_std=highs_std,
        images_db=images_mean,
        images_db_std=images_std,
        spectrum=np.mean(spectra, axis=0),
        response=response,
    )


def run_audio_probe(config: AudioProbeConfig, progress: Progress | None = None) -> AudioProbeReport:
    """Every method of ``config`` on every input; results in method order, then input order."""
    check_config(config)
    results = []
    cache: _References = {}
    before = torch.get_num_threads()
    torch.set_num_threads(1)  # small tensors: one thread is fastest, and the same everywhere
    try:
        for done, method in enumerate(config.methods, start=1):
            for kind in config.inputs:
                results.append(_measure(method, kind, config, cache))
            if progress is not None:
                progress("1D upsamplers", done, len(config.methods))
    finally:
        torch.set_num_threads(before)
    return AudioProbeReport(config=config, results=results)
