"""``compare`` on a sound: anti-aliased downsampling -> every 1D upsampler -> SNR, LSD, tones.

The original (channels, frames) is the ground truth; its end is extended by reflection to a
multiple of S frames and every output cut back to the original's length, so each method's WAV
has the input's rate and length. The low-rate input is :func:`upscope.dsp.downsample` (the
windowed-sinc anti-aliasing low-pass, then every S-th sample). Parameter-free methods (nearest,
linear, sinc) upsample it as they are. A learned method is wrapped, as ``compare`` does on
images (:mod:`upscope.comparison`), in a small linear network ``Conv1d k=3 (C -> W)``, the
upsampler at W channels, ``Conv1d k=3 (W -> C)``, trained with Adam (cosine schedule) for
``fit`` steps on random aligned crops of this very sound to reconstruct it from its low-rate
version (``fit = 0``: untrained). Every method gets the same seed, so the same initial
head/tail draws and the same crops.

Scores (:mod:`upscope.audio_metrics`): ``snr_db``, ``lsd_db`` and ``tone_db``: at each tone
frequency ``k * rate / S`` the output's power over the original's (both floored 100 dB below the
original's total power), the strongest, in dB: 0 when the method adds nothing there.
Nothing here prints; progress goes through an optional callback. The result types
(:class:`AudioComparison`, :class:`AudioMethodResult`, :class:`AudioSettings`) live in the
torch-free :mod:`upscope.audio_results` and are re-exported here.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

from upscope import audio_metrics, dsp, upsamplers1d, zoo1d
from upscope.audio_results import (
    BATCH,
    LEARNING_RATE,
    PATCH_OUT,
    AudioComparison,
    AudioMethodResult,
    AudioSettings,
    wav_name,
)
from upscope.periods import tone_frequencies

__all__ = [
    "AudioComparison",
    "AudioMethodResult",
    "AudioSettings",
    "BATCH",
    "LEARNING_RATE",
    "PATCH_OUT",
    "compare_bytes",
    "compare_sound",
    "output_names",
    "wav_name",
]

KERNEL = 3

#: ``progress(method, steps_done, steps_total)`` after every training step
Progress = Callable[[str, int, int], None]


def output_names(methods: tuple[str, ...]) -> list[str]:
    """Every file compare writes into ``--out`` for ``methods``."""
    return [wav_name(m) for m in methods] + ["audio-compare-spectrograms.png",
                                             "audio-compare-spectra.png"]  # fmt: skip


def compare_bytes(channels: int, frames: int, methods: int, width: int, learned: bool) -> int:
    """Peak bytes: every method's output and a dozen sound-sized float64 arrays (the original,
    its low-rate version, spectra and STFTs), plus a learned network's activations (float32,
    about four of ``width`` channels at full rate)."""
    sound = channels * frames * 8
    network = 4 * width * frames * 4 if learned else 0
    return (methods + 12) * sound + network


class FitNet1d(nn.Module):
    """Conv1d k=3 (C -> W), the upsampler at W channels, Conv1d k=3 (W -> C): linear."""

    def __init__(self, method: str, channels: int, width: int, scale: int) -> None:
        super().__init__()
        self.head = nn.Conv1d(channels, width, KERNEL, padding=KERNEL // 2)
        self.up = upsamplers1d.create(method, width, scale)
        self.tail = nn.Conv1d(width, channels, KERNEL, padding=KERNEL // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.tail(self.up(self.head(x)))


def _train(
    net: nn.Module,
    low: torch.Tensor,
    target: torch.Tensor,
    settings: AudioSettings,
    on_step: Callable[[int], None],
) -> float | None:
    if settings.fit <= 0:
        return None
    s = settings.scale
    length = low.shape[-1]
    p = min(max(8, settings.patch // s), length)
    gen = torch.Generator().manual_seed(settings.seed)
    opt = torch.optim.Adam(net.parameters(), lr=settings.lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=settings.fit)
    loss_value = None
    net.train()
    for step in range(settings.fit):
        starts = torch.randint(0, length - p + 1, (settings.batch,), generator=gen).tolist()
        x = torch.cat([low[:, :, a : a + p] for a in starts])
        y = torch.cat([target[:, :, s * a : s * (a + p)] for a in starts])
        opt.zero_grad(set_to_none=True)
        loss = torch.mean((net(x) - y) ** 2)
        loss.backward()
        opt.step()
        sched.step()
        loss_value = float(loss.detach())
        on_step(step + 1)
    net.eval()
    return loss_value


def tone_excess_db(output: np.ndarray, original: np.ndarray, rate: float, scale: int) -> float:
    """The strongest ratio, in dB, of the output's power to the original's at the tones."""
    out_spec = audio_metrics.power_spectrum(output)
    ref_spec = audio_metrics.power_spectrum(original)
    floor = float(ref_spec.sum()) * 10 ** (audio_metrics.FLOOR_DB / 10) + 1e-300
    step = rate / (2 * (len(ref_spec) - 1))
    worst = -np.inf
    for f in tone_frequencies(scale, rate):
        b = int(round(f / step))
        sl = slice(max(0, b - 1), b + 2)
        ratio = max(float(out_spec[sl].max()), floor) / max(float(ref_spec[sl].max()), floor)
        worst = max(worst, 10 * np.log10(ratio))
    return float(worst)


def run_method(
    method: str,
    padded: np.ndarray,
    low: np.ndarray,
    settings: AudioSettings,
    progress: Progress | None = None,
) -> tuple[np.ndarray, bool, int, float, float | None]:
    """(output at the padded length, learned, params, seconds, final loss)."""
    device = torch.device(settings.device)
    channels = padded.shape[0]
    learned = zoo1d.is_learned(method)
    low_t = torch.from_numpy(np.ascontiguousarray(low, dtype=np.float32))[None].to(device)
    start = time.perf_counter()
    final_loss = None
    if learned:
        torch.manual_seed(settings.seed)
        net: nn.Module = FitNet1d(method, channels, settings.width, settings.scale).to(device)
        target = torch.from_numpy(np.ascontiguousarray(padded, dtype=np.float32))[None]

        def on_step(done: int) -> None:
            if progress is not None:
                progress(method, done, settings.fit)

        final_loss = _train(net, low_t, target.to(device), settings, on_step)
    else:
        net = upsamplers1d.create(method, channels, settings.scale).to(device)
    with torch.inference_mode():
        out = net(low_t)[0].double().cpu().numpy()
    seconds = time.perf_counter() - start
    params = int(sum(p.numel() for p in net.parameters()))
    return out, learned, params, seconds, final_loss


def compare_sound(
    original: np.ndarray, rate: int, settings: AudioSettings, progress: Progress | None = None
) -> AudioComparison:
    """Every method of ``settings.methods`` on ``original`` (channels, frames) at ``rate``."""
    s = settings.scale
    frames = original.shape[1]
    extra = (-frames) % s
    padded = np.pad(original, ((0, 0), (0, extra)), mode="reflect") if extra else original
    low = dsp.downsample(padded, s)
    result = AudioComparison(original=original, low=low, rate=rate, settings=settings)
    for method in settings.methods:
        out, learned, params, seconds, loss = run_method(method, padded, low, settings, progress)
        out = out[:, :frames]
        result.results.append(
            AudioMethodResult(
                method=method,
                learned=learned,
                params=params,
                output=out,
                snr_db=audio_metrics.snr_db(original, out),
                lsd_db=audio_metrics.lsd_db(original, out),
                tone_db=tone_excess_db(out, original, float(rate), s),
                seconds=seconds,
                final_loss=loss,
            )
        )
    return result
