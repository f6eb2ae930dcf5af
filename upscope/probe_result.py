"""What ``probe`` returns (:class:`ProbeReport`, one :class:`Measurement` per method and input),
torch-free: :mod:`upscope.probing` computes them, and a process that only presents a finished
result (a pickled one, drawn elsewhere) imports this module, never torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from upscope.probe_config import ProbeConfig
from upscope.result import Brief, Result

__all__ = ["FLAT", "Measurement", "ProbeReport"]

#: Below this phase imbalance an output counts as flat (float32 error reaches ~1e-7).
FLAT = 1e-5


@dataclass(frozen=True, repr=False)
class Measurement(Brief):
    """The metrics of one method (or one strided conv's gradient) on one input, over seeds.

    ``uniform_checkerboard`` is the phase imbalance of the constant-input response with every
    weight set to 1 and every bias to 0: the share of the structure that the layer's geometry
    (the overlap) makes whatever the weights. For the figures: ``energy`` is the mean over seeds
    of :func:`upscope.metrics.energy_map` (y^2 averaged over channels, each seed divided by its
    own mean energy over the metric's crop), the picture of what ``checkerboard`` measures: a
    plain mean of the outputs would cancel the grids that zero-mean random weights make.
    ``energy_imbalance`` is the phase imbalance of that mean map: never more than
    ``checkerboard`` (the mean of the per-seed imbalances), and smaller where the phase that gets
    the most energy changes from seed to seed (random-weight grids fade in the mean).
    ``response`` is channel 0 of the output for the first seed; ``spectrum`` the power spectrum
    (:func:`upscope.metrics.power_spectrum`) averaged over seeds.
    """

    method: str
    input: str
    checkerboard: float
    checkerboard_std: float
    spectral_peak_db: float
    spectral_peak_db_std: float
    weight_imbalance: float | None
    uniform_checkerboard: float
    verdict: str | None
    note: str
    energy: np.ndarray = field(repr=False)
    energy_imbalance: float = field(repr=False)
    response: np.ndarray = field(repr=False)
    spectrum: np.ndarray = field(repr=False)
    kernel: int | None = None
    stride: int | None = None
    padding: int | None = None

    _brief = ("method", "input", "checkerboard", "spectral_peak_db", "verdict", "kernel", "stride")


@dataclass(frozen=True, repr=False)
class ProbeReport(Result):
    """What :func:`upscope.probe` returns: one :class:`Measurement` per method and input (and
    per strided conv and upstream gradient with ``grad``); ``pngs``: what the last
    :meth:`save_png` wrote."""

    config: ProbeConfig
    results: list[Measurement]
    grad: list[Measurement] | None
    pngs: list[Path] = field(default_factory=list, repr=False)

    _brief = (
        "scale=config.scale",
        "methods=config.methods",
        "inputs=config.inputs",
        "results",
        "grad",
    )
