"""The response score of an upsampling op (torch-free): the probe's phase-energy imbalance,
on any number of spatial axes.

An op of scale S (per axis) splits its output into S_1 x S_2 x ... phases (position mod S on
every axis). After dropping a border on every side, the energy E_r of phase r is the mean of
y^2 over that phase and over channels; the score is (max E - min E) / mean E, 0 when every phase
is alike (a zero output scores 0). In 2D with the default border this is exactly
:func:`upscope.metrics.phase_imbalance`, the number ``upscope probe`` reports.

The border is 2*S per axis (the probe's default), made smaller on an output too small for it so
that at least two periods (2*S pixels) remain, or one period at the least.

>>> import numpy as np
>>> y = np.tile([[4.0, 2.0], [2.0, 1.0]], (6, 6))[None]  # the K=3, S=2 overlap map
>>> round(response_score(y, (2, 2)), 6)                     # (16 - 1) / mean(16, 4, 4, 1)
2.4
>>> response_score(np.ones((1, 8)), (2,))
0.0
"""

from __future__ import annotations

import itertools

import numpy as np

from upscope.scanning.records import UpOp

__all__ = ["border", "op_scales", "response_score"]


def border(size: int, scale: int) -> int | None:
    """The border dropped on each side of an axis of ``size`` pixels (None: under one period)."""
    if size < scale:
        return None
    if size - 4 * scale >= 2 * scale:
        return 2 * scale
    if size >= 2 * scale:
        return (size - 2 * scale) // 2
    return (size - scale) // 2


def response_score(y: np.ndarray, scales: tuple[int, ...]) -> float | None:
    """Phase-energy imbalance of ``y`` (C, *spatial) at ``scales`` (one per spatial axis); None
    when an axis is shorter than its scale."""
    arr = np.asarray(y, dtype=np.float64)
    spatial = arr.shape[1:]
    found = [border(n, s) for n, s in zip(spatial, scales, strict=True)]
    borders = [b for b in found if b is not None]
    if len(borders) != len(found):
        return None
    crop = arr[(slice(None), *(slice(b, n - b) for b, n in zip(borders, spatial, strict=True)))]
    sq = crop * crop
    energies = []
    for phase in itertools.product(*(range(s) for s in scales)):
        # absolute phase r of y sits at crop offset (r - b) mod S
        index = tuple(
            slice((r - b) % s, None, s) for r, b, s in zip(phase, borders, scales, strict=True)
        )
        energies.append(float(sq[(slice(None), *index)].mean()))
    values = np.array(energies)
    mean = float(values.mean())
    return 0.0 if mean == 0.0 else float((values.max() - values.min()) / mean)


def op_scales(op: UpOp) -> tuple[int, ...] | None:
    """The phase period of the op's output per spatial axis (None: not a whole-number scale)."""
    if op.kind == "convT":
        return tuple(int(s) for s in op.params["stride"])
    if op.kind == "pixelshuffle":
        r = int(op.params["upscale_factor"])
        return (1,) * (op.ndim - 2) + (r, r)
    ins, outs = op.spatial_in, op.spatial_out
    if ins is None or outs is None:
        return None
    ratios = [o / i for o, i in zip(outs, ins, strict=True)]
    if all(float(v).is_integer() for v in ratios):
        return tuple(int(v) for v in ratios)
    return None
