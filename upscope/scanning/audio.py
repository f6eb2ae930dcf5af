"""``scan --rate HZ``: the tones each 1D upsampling op puts in a model's output, in Hz.

For each 1D op (ConvTranspose1d, 1D interpolation) of a scan:

- its period in the final output comes from :func:`upscope.periods.period_in_output` (the op's
  own period, its stride or scale factor, the op's output length and the model's), the one
  period rule; ``tones_hz`` is :func:`upscope.periods.tone_frequencies` of that period at the
  output rate ``rate``: the base ``rate / period`` first, then its multiples up to rate / 2;
- ``tone_db`` is measured on the model's own output, not inferred: the model runs on silence
  (zeros) and on the scan's constant input (ones); on the Hann-windowed power spectrum of each
  output (:func:`upscope.audio_metrics.power_spectrum`) the strongest bin within one bin of the
  op's *own* tones (those that are not also tones of an op with a shorter period: 86.1 Hz and
  its odd multiples belong to HiFi-GAN's first layer, 689 Hz to its second) is compared with
  the broadband level as in :func:`upscope.audio_metrics.tone_levels`; the larger of the two
  inputs is kept, and ``tone_input`` says which. None when the op's pattern does not reach the
  output (period unknown or 1) or the model was not run (ONNX).

Data only: nothing prints here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from upscope import audio_metrics
from upscope.periods import period_in_output, tone_frequencies
from upscope.result import Brief
from upscope.scanning.records import UpOp

__all__ = ["AudioTones", "OpTones", "measure", "op_tones"]

SILENCE, CONSTANT = "silence", "constant"


@dataclass(frozen=True, repr=False)
class OpTones(Brief):
    """One 1D op's tones in the output: its period (samples), the frequencies, the level."""

    name: str
    period: int | None
    tones_hz: list[float]
    tone_db: float | None
    tone_input: str | None
    reason: str = ""


@dataclass(repr=False)
class AudioTones(Brief):
    """The Hz view of a scan: the output ``rate``, its length, each 1D op's tones, and for the
    figure the output's power spectrum on each input (``spectra``: input -> spectrum)."""

    rate: int
    output_length: int | None
    ops: list[OpTones]
    spectra: dict[str, np.ndarray] = field(default_factory=dict, repr=False)

    def op(self, name: str) -> OpTones:
        for o in self.ops:
            if o.name == name:
                return o
        raise KeyError(name)


def _own_period(op: UpOp) -> int | None:
    stride = op.params.get("stride")
    if stride:
        return int(stride[0])
    n_in, n_out = op.spatial_in, op.spatial_out
    if n_in and n_out and n_out[0] % n_in[0] == 0:
        return n_out[0] // n_in[0]
    return None


def op_tones(
    ops: Sequence[UpOp], final_length: int | None, rate: float
) -> list[tuple[UpOp, int | None, list[float], str]]:
    """(op, period in the output, tones in Hz, why none) for every 1D op, by the period rule."""
    found: list[tuple[UpOp, int | None, list[float], str]] = []
    for op in ops:
        if op.ndim != 1:
            continue
        own, out = _own_period(op), op.spatial_out
        if own is None or out is None or final_length is None:
            found.append((op, None, [], "its sizes are unknown"))
            continue
        axis = period_in_output((own,), out, (final_length,))[0]
        if axis.period is None or axis.period == 1:
            found.append((op, axis.period, [], axis.reason or "no period reaches the output"))
            continue
        found.append((op, axis.period, tone_frequencies(axis.period, rate), ""))
    return found


def _own_tones(period: int, periods: Sequence[int], rate: float) -> list[float]:
    """The tones of ``period`` that no shorter period among ``periods`` also makes."""
    shorter = [p for p in periods if p < period and period % p == 0]
    own = [
        k * rate / period
        for k in range(1, period // 2 + 1)
        if not any((k * p) % period == 0 for p in shorter)
    ]
    return own or tone_frequencies(period, rate)


def _level(
    spec: np.ndarray, rate: float, tones: Sequence[float], all_tones: Sequence[float]
) -> float:
    """The strongest of ``tones`` over the broadband median (every tone of the model kept out)."""
    step = rate / (2 * (len(spec) - 1))
    floor = float(spec.sum()) * 10 ** (audio_metrics.FLOOR_DB / 10) + 1e-300
    keep = np.ones(len(spec), dtype=bool)
    keep[:3] = False
    for f in all_tones:
        b = int(round(f / step))
        keep[max(0, b - 3) : b + 4] = False
    broad = max(float(np.median(spec[keep])) if keep.any() else 0.0, floor)
    best = -np.inf
    for f in tones:
        b = int(round(f / step))
        peak = max(float(spec[max(0, b - 1) : b + 2].max()), floor)
        best = max(best, 10 * np.log10(peak / broad))
    return float(best)


def measure(ops: Sequence[UpOp], rate: int, outputs: dict[str, np.ndarray] | None) -> AudioTones:
    """The Hz view: ``outputs`` maps ``silence`` / ``constant`` to the model's first output
    (batch 0: channels x samples), or is None when the model was not run."""
    length = int(next(iter(outputs.values())).shape[-1]) if outputs else None
    found = op_tones(ops, length, float(rate))
    periods = [p for _, p, tones, _ in found if p and tones]
    every = sorted({f for _, _, tones, _ in found for f in tones})
    spectra = {k: audio_metrics.power_spectrum(v) for k, v in (outputs or {}).items()}
    result = []
    for op, period, tones, reason in found:
        level, which = None, None
        if period and tones and spectra:
            own = _own_tones(period, periods, float(rate))
            levels = {k: _level(s, float(rate), own, every) for k, s in spectra.items()}
            which = max(levels, key=lambda k: levels[k])
            level = levels[which]
        result.append(OpTones(op.name, period, tones, level, which, reason))
    return AudioTones(rate=rate, output_length=length, ops=result, spectra=spectra)


def run_outputs(net: Any, constant: Sequence[Any]) -> dict[str, np.ndarray]:
    """The model's first output on silence (zeros) and on the constant inputs, as numpy
    (channels, samples) of batch item 0; empty when the output is not a sound (more than three
    dimensions: an image). Imports torch."""
    import torch

    outputs = {}
    with torch.inference_mode():
        for kind, inputs in ((SILENCE, [torch.zeros_like(t) for t in constant]),
                             (CONSTANT, list(constant))):  # fmt: skip
            out = net(*inputs)
            if isinstance(out, list | tuple):
                out = out[0]
            array = out.detach().double().cpu().numpy()
            if array.ndim > 3:  # (N, C, H, W): not a sound, no tones to measure
                return {}
            array = array[0] if array.ndim == 3 else array  # batch item 0: (channels, samples)
            outputs[kind] = array.reshape(-1, array.shape[-1])
    return outputs


def document_keys(tones: AudioTones) -> dict[str, dict[str, Any]]:
    """Per op name, the keys ``scan --rate`` adds to its layer: ``period_samples``,
    ``tones_hz``, ``tone_db``, ``tone_input``, ``tone_reason``."""
    return {
        o.name: {
            "period_samples": o.period,
            "tones_hz": o.tones_hz,
            "tone_db": o.tone_db,
            "tone_input": o.tone_input,
            "tone_reason": o.reason or None,
        }
        for o in tones.ops
    }
