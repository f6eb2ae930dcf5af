"""The audio half of the Python API: ``upscope.probe(audio=True)`` and ``upscope.compare(
"clip.wav")`` land here (:func:`upscope.api.probe` and :func:`upscope.api.compare` dispatch).

Imports neither torch nor matplotlib until called.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from upscope import audio_config, limits, zoo1d
from upscope.errors import UpscopeError

if TYPE_CHECKING:
    from upscope.audio_compare import AudioComparison
    from upscope.audio_probe import AudioProbeReport, Progress

__all__ = ["AUDIO_SUFFIXES", "SOUND_SAMPLES", "compare_audio", "is_sound", "probe_audio"]

PathLike = str | os.PathLike[str]
AUDIO_SUFFIXES = (".wav", ".wave")
#: sound files upscope does not decode: refused with a line that says how to convert them
OTHER_AUDIO = (".flac", ".ogg", ".oga", ".opus", ".mp3", ".m4a", ".aac", ".aif", ".aiff")
#: bundled sample sounds: name -> file in upscope.samples
SOUND_SAMPLES = {"sound": "sound.wav"}


def _words(value: str | Sequence[str]) -> str:
    return value if isinstance(value, str) else ",".join(value)


def is_sound(image: object) -> bool:
    """Whether ``compare``'s argument names a sound: a ``.wav`` path or a bundled sound's name."""
    if not isinstance(image, str | os.PathLike):
        return False
    text = os.fspath(image)
    if Path(text).suffix.lower() in AUDIO_SUFFIXES + OTHER_AUDIO:
        return True
    return text in SOUND_SAMPLES and not Path(text).exists()


def probe_audio(
    rate: int = audio_config.DEFAULT_RATE,
    scale: int = 2,
    methods: str | Sequence[str] = "all",
    inputs: str | Sequence[str] | None = None,
    seeds: int = 8,
    channels: int = 4,
    seed: int = 0,
    *,
    out: PathLike | None = None,
    progress: Progress | None = None,
    max_memory: int | str | None = None,
) -> AudioProbeReport:
    """Every 1D upsampler (``upscope.zoo1d``) at initialisation on silence (+ bias), DC, a sine,
    a sweep and white noise, ``rate`` Hz output (input rate ``rate / scale``): ``tone_db``,
    ``tone_hz``, ``highs_db``, ``images_db`` (``upscope probe --audio``). Imports torch."""
    with limits.max_memory(max_memory):
        audio_config.check_rate(rate)
        zoo1d.check_scale(scale)
        config = audio_config.AudioProbeConfig(
            rate=rate,
            scale=scale,
            methods=zoo1d.parse_names(_words(methods), "--methods"),
            inputs=audio_config.INPUTS
            if inputs is None
            else audio_config.parse_inputs(_words(inputs)),
            seeds=seeds,
            channels=channels,
            seed=seed,
        )
        audio_config.check_config(config)
        if out is not None:
            from upscope.files import prepare_out_dir

            prepare_out_dir(Path(out))
        from upscope.audio_probe import run_audio_probe

        report = run_audio_probe(config, progress)
    if out is not None:
        report.save_png(out)
    return report


def resolve_sound(sound: PathLike) -> tuple[Path, str]:
    """(path, how reports name it): a file, or ``bundled:NAME`` for a bundled sound."""
    from upscope.files import bundled_file

    text = os.fspath(sound)
    if text in SOUND_SAMPLES and not Path(text).exists():
        return bundled_file(SOUND_SAMPLES[text]), f"bundled:{text}"
    suffix = Path(text).suffix.lower()
    if suffix in OTHER_AUDIO:
        raise UpscopeError(
            f"sound {text!r}: upscope reads WAV files only (PCM 16/24/32-bit or float), not "
            f"{suffix}; convert it first, e.g. ffmpeg -i {shlex.quote(text)} clip.wav"
        )
    return Path(text), text


def compare_audio(
    sound: PathLike,
    scale: int = 2,
    methods: str | Sequence[str] = "all",
    fit: int = 200,
    channels: int = 16,
    device: str = "auto",
    threads: int | None = None,
    seed: int = 0,
    *,
    out: PathLike | None = None,
    progress: Progress | None = None,
    max_memory: int | str | None = None,
    max_fit: int = 100_000,
    max_width: int = 512,
) -> AudioComparison:
    """``sound`` (a WAV file or a bundled sound's name) downsampled x ``scale`` with the
    anti-aliasing filter, upsampled back with every 1D method (learned ones fitted ``fit``
    steps), scored with SNR, LSD and tone dB; ``out``: also each method's WAV and the figures.
    ``threads``: torch CPU threads (None: as set; :func:`upscope.compare` passes its default)."""
    with limits.max_memory(max_memory):
        zoo1d.check_scale(scale)
        limits.check_int("--fit", fit, 0, max_fit)
        limits.check_int("--channels", channels, 1, max_width)
        if threads is not None:
            limits.check_int("--threads", threads, 1, limits.MAX_THREADS)
        limits.check_int("--seed", seed, 0, limits.MAX_INT)
        names = zoo1d.parse_names(_words(methods), "--methods")
        from upscope import audio_io
        from upscope.files import prepare_out_dir, refuse_inputs

        path, label = resolve_sound(sound)

        def fits(header: audio_io.WavHeader) -> None:
            from upscope.audio_compare import compare_bytes

            need = compare_bytes(header.channels, header.frames, len(names), channels, fit > 0)
            limits.check_memory(need, f"compare on {header.frames} frames x {header.channels} "
                                      "channels")  # fmt: skip

        loaded = audio_io.read_wav(path, before_read=fits)
        if loaded.frames < scale * 2 * 8:
            raise UpscopeError(
                f"sound {str(path)!r} has {loaded.frames} frames; compare needs at least "
                f"{scale * 16} at --scale {scale}"
            )
        if out is not None:
            from upscope.audio_compare import output_names

            folder = prepare_out_dir(Path(out))
            refuse_inputs((folder / f for f in output_names(names)), SOUND=path)

        import torch

        from upscope import audio_compare as core
        from upscope.comparison import resolve_device

        settings = core.AudioSettings(
            scale=scale, methods=names, fit=fit, seed=seed,
            device=resolve_device(str(device)), width=channels,
        )  # fmt: skip
        before = torch.get_num_threads()
        torch.set_num_threads(threads or before)
        try:
            result = core.compare_sound(loaded.samples, loaded.rate, settings, progress)
        finally:
            torch.set_num_threads(before)
    result.sound, result.path, result.encoding = label, path, loaded.encoding
    if out is not None:
        result.save(out)
    return result
