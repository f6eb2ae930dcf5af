"""Probe the upsampler zoo (and strided convolutions' gradients) for checkerboard artifacts.

For every method and every seed ``seed + i`` (i < seeds): ``torch.manual_seed(seed + i)``, build
the layer with :func:`upscope.upsamplers.create`, then feed it

* ``constant``: ``ones(1, C, N, N)``, and
* ``noise``: ``randn(1, C, N, N)`` drawn from the global RNG right after the layer's weights,

and score each output with :mod:`upscope.metrics`. The result holds the mean and the spread
(population standard deviation) over seeds of every metric, and for the figures the mean over
seeds of each output's normalised energy map. Computation only: nothing prints.

``--grad`` (:func:`probe_gradients`): the backward pass of a strided *downsampling* conv is a
transposed conv, so the gradient that reaches a generator's output through a discriminator (or
an encoder) gets the same pattern. For each (K, S) in (2S-1, S), (2S, S), (S, S), (2S+1, S) it
builds ``Conv2d(C, C, K, stride=S, padding=(K-1)//2)`` on an (S*N) x (S*N) input and
backpropagates an upstream gradient that is ``constant`` (ones: the loss is the sum of the
outputs) or ``noise`` (randn); the metrics are those of the input gradient.

What to run (:class:`ProbeConfig`, :data:`INPUTS`) and its checks (:func:`check_config`) are
torch-free, in :mod:`upscope.probe_config`, so the CLI answers bad input before torch loads;
they are re-exported here, and so are the result types (:class:`ProbeReport`,
:class:`Measurement`, :data:`FLAT`), which live in the torch-free :mod:`upscope.probe_result`.
"""

from __future__ import annotations

from typing import TypedDict

import numpy as np
import torch
from torch import nn

from upscope import metrics, upsamplers
from upscope.arith import overlap_verdict, phase_coverage
from upscope.probe_config import INPUTS, ProbeConfig, check_config
from upscope.probe_result import FLAT, Measurement, ProbeReport

__all__ = [
    "FLAT",
    "INPUTS",
    "Measurement",
    "ProbeConfig",
    "ProbeReport",
    "check_config",
    "grad_pairs",
    "probe_gradients",
    "probe_methods",
    "run_probe",
]


def grad_pairs(scale: int) -> list[tuple[int, int]]:
    """(K, S) of the strided convs whose gradients ``--grad`` probes: (3,2), (4,2), (2,2), (5,2)
    at S = 2."""
    return [(2 * scale - 1, scale), (2 * scale, scale), (scale, scale), (2 * scale + 1, scale)]


class _Scores(TypedDict):
    cbs: list[float]
    peaks: list[float]
    spectrum: np.ndarray
    energy: np.ndarray


def _score(ys: list[np.ndarray], scale: int) -> _Scores:
    """Per-seed phase imbalances and spectral peaks; mean spectrum; mean energy map."""
    return _Scores(
        cbs=[metrics.phase_imbalance(y, scale) for y in ys],
        peaks=[metrics.spectral_peak_db(y, scale) for y in ys],
        spectrum=np.mean([metrics.power_spectrum(y, scale) for y in ys], axis=0),
        energy=mean_energy_map(ys, scale),
    )


def mean_energy_map(ys: list[np.ndarray], scale: int) -> np.ndarray:
    """Mean over seeds of :func:`upscope.metrics.energy_map` of each (C, H, W) output: every
    seed weighs the same, whatever the size of its weights; mean 1 over the metric's crop."""
    return np.mean([metrics.energy_map(y, scale) for y in ys], axis=0)


def _stats(values: list[float]) -> tuple[float, float]:
    arr = np.asarray(values, dtype=np.float64)
    return float(arr.mean()), float(arr.std())


class _ScoreFields(TypedDict):
    checkerboard: float
    checkerboard_std: float
    spectral_peak_db: float
    spectral_peak_db_std: float
    energy: np.ndarray
    energy_imbalance: float
    spectrum: np.ndarray


def _score_fields(scores: _Scores, scale: int) -> _ScoreFields:
    """The Measurement fields of the scores over seeds: mean and spread of the two image metrics,
    the mean energy map and its phase imbalance (that of an image whose square is the map), and
    the mean spectrum."""
    cb, cb_std = _stats(scores["cbs"])
    pk, pk_std = _stats(scores["peaks"])
    energy = scores["energy"]
    return _ScoreFields(
        checkerboard=cb,
        checkerboard_std=cb_std,
        spectral_peak_db=pk,
        spectral_peak_db_std=pk_std,
        energy=energy,
        energy_imbalance=metrics.phase_imbalance(np.sqrt(energy), scale),
        spectrum=scores["spectrum"],
    )


def _mean_or_none(values: list[float]) -> float | None:
    finite = [v for v in values if np.isfinite(v)]
    return float(np.mean(finite)) if finite else None


_BLEND_NOTE = (
    "; noise scores {expected:.2f} from the weights alone, with no spectral peak (a variance "
    "pattern, not a grid): each output phase mixes input pixels with its own weights, and a "
    "mix of independent samples has less variance than a copy (bilinear x3: one phase copies "
    "a pixel, variance 1; the others mix 1/3 + 2/3, variance 5/9)"
)


def blend_imbalance(name: str, scale: int) -> float:
    """The phase energy imbalance an interpolation gives white noise, from its weights alone.

    Output pixel (y, x) is a weighted sum of independent unit-variance inputs, so its variance
    is the sum of its squared weights; the weights come from interpolating one impulse. The
    score is (max - min) / mean of those variances over the S x S phases (0 when every phase
    mixes alike: bilinear at S = 2, whose phases sit at +-1/4).
    """
    n = 16
    impulse = torch.zeros(1, 1, n, n, dtype=torch.float64)
    impulse[0, 0, n // 2, n // 2] = 1.0
    out = nn.functional.interpolate(impulse, scale_factor=scale, mode=name, align_corners=False)[
        0, 0
    ].numpy()
    # out[y, x] is the weight of output (y, x) on the impulse's pixel; shifting the input by
    # one pixel shifts the output by S, so the squares summed over one phase's positions are
    # the sum of one output pixel's squared weights over every input pixel: its variance
    energy = np.array(
        [[float((out[r::scale, q::scale] ** 2).sum()) for q in range(scale)] for r in range(scale)]
    )
    return float((energy.max() - energy.min()) / energy.mean())


def method_note(name: str, scale: int, constant: float | None, noise: float | None = None) -> str:
    """A plain-language sentence on why ``name`` does (not) make a grid on a constant input;
    for bilinear and bicubic, when noise was measured, why they score on it where their weights
    make them (:func:`blend_imbalance`)."""
    why = {
        "convT-even": "even overlap (K a multiple of S), but random weights give the S^2 "
        "sub-kernels different sums",
        "resize-nearest-conv": "resize first, then one shared 3x3 kernel for every phase",
        "resize-bilinear-conv": "resize first, then one shared 3x3 kernel for every phase",
        "pixelshuffle": "each of the S^2 sub-pixels has its own random kernel (own DC gain)",
        "pixelshuffle-icnr": "ICNR copies one kernel to all S^2 sub-pixels: conv, then nearest",
        "nearest": "copies each pixel S x S times",
        "bilinear": "no weights; interpolation weights sum to 1 at every phase",
        "bicubic": "no weights; interpolation weights sum to 1 at every phase",
    }
    if name == "convT-uneven":
        k, s, _, _ = upsamplers.convt_params(name, scale)
        cov = "/".join(map(str, sorted(set(phase_coverage(k, s)), reverse=True)))
        reason = f"K={k} is not a multiple of S={s}: phases get {cov} taps per axis (overlap)"
    else:
        reason = why[name]
    if name in ("bilinear", "bicubic") and noise is not None:
        expected = blend_imbalance(name, scale)
        if expected > 0.05:
            reason += _BLEND_NOTE.format(expected=expected)
    if constant is None:
        return reason
    return ("grid" if constant > FLAT else "flat") + f" on constants: {reason}"


def uniform_checkerboard(layer: nn.Module, channels: int, size: int, scale: int) -> float:
    """Phase imbalance of ``layer`` on ones(1, C, N, N) with all weights 1 and biases 0.

    The layer is changed in place."""
    with torch.no_grad():
        for module in layer.modules():
            if isinstance(module, nn.Conv2d | nn.ConvTranspose2d):
                module.weight.fill_(1.0)
                if module.bias is not None:
                    module.bias.zero_()
        y = layer(torch.ones(1, channels, size, size))[0].numpy().astype(np.float64)
    return metrics.phase_imbalance(y, scale)


def _verdict(name: str, scale: int) -> str | None:
    if not name.startswith("convT"):
        return None
    k, s, _, _ = upsamplers.convt_params(name, scale)
    return overlap_verdict(k, s)


def _input(kind: str, shape: tuple[int, ...]) -> torch.Tensor:
    return torch.ones(shape) if kind == "constant" else torch.randn(shape)


def probe_methods(config: ProbeConfig) -> list[Measurement]:
    """Every method of ``config`` on every input, ``config.seeds`` initialisations each."""
    check_config(config)
    shape = (1, config.channels, config.size, config.size)
    torch_threads = torch.get_num_threads()
    results: list[Measurement] = []
    try:
        torch.set_num_threads(1)  # small tensors: threads cost more than they give
        for name in config.methods:
            outputs: dict[str, list[np.ndarray]] = {kind: [] for kind in config.inputs}
            weight_scores: list[float] = []
            for i in range(config.seeds):
                torch.manual_seed(config.seed + i)
                layer = upsamplers.create(name, config.channels, config.scale)
                if isinstance(layer, nn.ConvTranspose2d):
                    w = layer.weight.detach().numpy()
                    weight_scores.append(
                        float(np.nanmean(metrics.weight_imbalance(w, layer.stride)))
                    )
                with torch.no_grad():
                    for kind in config.inputs:
                        y = layer(_input(kind, shape))[0].numpy().astype(np.float64)
                        outputs[kind].append(y)
            scored = {kind: _score(ys, config.scale) for kind, ys in outputs.items()}
            uniform = uniform_checkerboard(
                upsamplers.create(name, config.channels, config.scale),
                config.channels,
                config.size,
                config.scale,
            )
            constant = _stats(scored["constant"]["cbs"])[0] if "constant" in scored else None
            noise = _stats(scored["noise"]["cbs"])[0] if "noise" in scored else None
            note = method_note(name, config.scale, constant, noise)
            params: dict[str, int] = {}
            if name.startswith("convT"):
                k, s, p, _ = upsamplers.convt_params(name, config.scale)
                params = {"kernel": k, "stride": s, "padding": p}
            for kind in config.inputs:
                results.append(
                    Measurement(
                        method=name,
                        input=kind,
                        **_score_fields(scored[kind], config.scale),
                        weight_imbalance=_mean_or_none(weight_scores),
                        uniform_checkerboard=uniform,
                        verdict=_verdict(name, config.scale),
                        note=note,
                        response=outputs[kind][0][0],
                        **params,
                    )
                )
    finally:
        torch.set_num_threads(torch_threads)
    return results


def grad_note(k: int, s: int) -> str:
    verdict = overlap_verdict(k, s)
    if verdict == "even":
        if k == s:
            return f"K=S={s}: no overlap; each phase has its own taps, so random weights differ"
        return f"K={k} is a multiple of S={s}: even overlap; random weights still differ by phase"
    cov = "/".join(map(str, sorted(set(phase_coverage(k, s)), reverse=True)))
    return f"K={k} is not a multiple of S={s}: phases get {cov} taps per axis (overlap)"


@torch.enable_grad()
def probe_gradients(config: ProbeConfig) -> list[Measurement]:
    """Input gradients of strided convs (:func:`grad_pairs`) for constant / noise upstream."""
    check_config(config)
    side = config.size * config.scale
    results: list[Measurement] = []
    torch_threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        for k, s in grad_pairs(config.scale):
            p = (k - 1) // 2
            grads: dict[str, list[np.ndarray]] = {kind: [] for kind in config.inputs}
            weight_scores: list[float] = []
            for i in range(config.seeds):
                torch.manual_seed(config.seed + i)
                conv = nn.Conv2d(config.channels, config.channels, k, stride=s, padding=p)
                # the gradient is a transposed conv whose weight is conv.weight as it is
                w = conv.weight.detach().numpy()
                weight_scores.append(float(np.nanmean(metrics.weight_imbalance(w, (s, s)))))
                for kind in config.inputs:
                    x = torch.zeros(1, config.channels, side, side, requires_grad=True)
                    y = conv(x)
                    y.backward(_input(kind, tuple(y.shape)))
                    assert x.grad is not None
                    grads[kind].append(x.grad[0].numpy().astype(np.float64))
            ones = nn.Conv2d(config.channels, config.channels, k, stride=s, padding=p)
            x = torch.zeros(1, config.channels, side, side, requires_grad=True)
            with torch.no_grad():
                ones.weight.fill_(1.0)
            ones(x).sum().backward()
            assert x.grad is not None
            uniform = metrics.phase_imbalance(x.grad[0].numpy().astype(np.float64), s)
            for kind in config.inputs:
                results.append(
                    Measurement(
                        method=f"conv k={k} s={s}",
                        input=kind,
                        **_score_fields(_score(grads[kind], s), s),
                        weight_imbalance=_mean_or_none(weight_scores),
                        uniform_checkerboard=uniform,
                        verdict=overlap_verdict(k, s),
                        note=grad_note(k, s),
                        response=grads[kind][0][0],
                        kernel=k,
                        stride=s,
                        padding=p,
                    )
                )
    finally:
        torch.set_num_threads(torch_threads)
    return results


def run_probe(config: ProbeConfig) -> ProbeReport:
    """The whole probe: the zoo, and the gradients when ``config.grad``."""
    check_config(config)
    results = probe_methods(config)
    grad = probe_gradients(config) if config.grad else None
    return ProbeReport(config, results, grad)
