"""The output grid: the phase pattern a model's own output shows on constant inputs (analysis).

:func:`measure_output_grid` runs the model's forward pass on constant inputs at several levels
and measures, per output channel, the periodic part of the per-phase means of the output away
from the border, in the output's units and in 8-bit grey levels. :func:`attribute` gives each
upsampling op its share by period. This is what the user sees; ``scan``'s status is decided by it
(:mod:`upscope.scanning.judge`), and :mod:`upscope.scanning.verify` calls
:func:`measure_output_grid` again on the model with a fix swapped in.

**Levels.** Every model input is filled with one constant, at each of :data:`LEVELS` (0.1, 0.5,
0.9): the dark, middle and bright grey of an image in 0..1, inside an image in -1..1 too, and
within one standard deviation for a standard-normal latent. A grid grows with the input level
(0.31 -> 1.56 grey levels from 0.1 to 0.9 on one trained model, shared/REFERENCES.md), so the
worst over levels is reported.

**The tile.** Each op of own period S (its stride or scale per axis) whose output is enlarged by
a total factor U before the model's output leaves period S*U there
(:func:`upscope.periods.period_in_output`, the one rule). The tile is the least common multiple
of these periods per axis: every op's pattern repeats in it. The per-phase mean M[c, r] is the
mean of output channel c over the pixels at position r modulo the tile, away from a border (2
tiles per side, or an eighth of the axis if that is more, made smaller on a small output so two
tiles remain). The grid of channel c is the RMS over phases of M[c] - mean(M[c]).

**By period.** The tile's discrete Fourier transform splits that RMS exactly (Parseval): the
power at frequency k per axis belongs to the fundamental period P_i / gcd(k_i, P_i) per axis
(1 along an axis with k_i = 0). A period-4 tile that alternates a, b, a, b has all its power at
period 2, so it is reported at "2x2", not "4x4". ``by_period`` holds sqrt(power) per
fundamental; the squares of its values add up to the squared total.

**Range and grey levels.** ``value_range=(LO, HI)`` converts output units to 8-bit grey levels:
grey = rms * 255 / (HI - LO). Without it, the range is the first of 0..1, -1..1 and 0..255 that
holds every output value seen on the constant inputs, else their own min..max (``range_source``
says which).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from upscope.periods import can_make, period_in_output
from upscope.scanning.records import UpOp
from upscope.scanning.score import op_scales

if TYPE_CHECKING:
    from upscope.scanning.args import Shape

__all__ = [
    "LEVELS",
    "NEGLIGIBLE",
    "STANDARD_RANGES",
    "OutputGrid",
    "attribute",
    "by_period",
    "can_learn",
    "grid_from_outputs",
    "measure_output_grid",
    "op_period",
    "period_key",
    "tile_of",
]

#: The constant input levels (see the module docstring).
LEVELS = (0.1, 0.5, 0.9)
#: A period whose RMS is under this many grey levels is left out of ``by_period`` (float noise).
NEGLIGIBLE = 1e-6
#: The most phases a tile may have (a larger one is not measured; the reason says so).
MAX_PHASES = 65536
#: The output ranges tried, in order, when no range is given.
STANDARD_RANGES = ((0.0, 1.0), (-1.0, 1.0), (0.0, 255.0))


def period_key(period: Sequence[int]) -> str:
    """``(2, 2)`` -> ``"2x2"`` (the JSON key of a period).

    >>> period_key((4, 2)), period_key((8,))
    ('4x2', '8')
    """
    return "x".join(str(int(p)) for p in period)


@dataclass
class OutputGrid:
    """The measured output grid of one model (arrays are indexed [level, channel])."""

    tile: tuple[int, ...]  # the period per spatial axis the phases were taken over
    levels: tuple[float, ...]
    value_range: tuple[float, float]
    range_source: str  # "given", "0..1 (every output value fits)", "observed min..max"
    rms: np.ndarray  # (levels, channels) RMS of the periodic part, output units
    periods: dict[tuple[int, ...], np.ndarray] = field(default_factory=dict)  # fundamental -> rms
    border: tuple[int, ...] = ()
    output_shape: tuple[int, ...] = ()
    note: str = ""

    @property
    def scale(self) -> float:
        """Grey levels per output unit: 255 / (HI - LO)."""
        lo, hi = self.value_range
        return 255.0 / (hi - lo) if hi > lo else math.inf

    def grey(self, value: float) -> float:
        """An RMS in output units, in 8-bit grey levels."""
        return float(value) * self.scale

    @property
    def worst_rms(self) -> float:
        return float(self.rms.max()) if self.rms.size else 0.0

    @property
    def grey_levels(self) -> float:
        return self.grey(self.worst_rms)

    def by_period_worst(self) -> dict[str, float]:
        """The worst (over levels and channels) RMS per fundamental period, output units; a
        period under :data:`NEGLIGIBLE` grey levels (float rounding) is left out."""
        return {
            period_key(p): float(v.max())
            for p, v in sorted(self.periods.items())
            if self.grey(float(v.max())) >= NEGLIGIBLE
        }

    def to_dict(self) -> dict[str, Any]:
        """The JSON ``"output_grid"`` of a scan (documented in docs/scan.md)."""
        return {
            "rms": self.worst_rms,
            "grey_levels": self.grey_levels,
            "by_period": {k: self.grey(v) for k, v in self.by_period_worst().items()},
            "by_period_rms": self.by_period_worst(),
            "levels": [
                {
                    "level": level,
                    "rms": float(self.rms[i].max()),
                    "grey_levels": self.grey(float(self.rms[i].max())),
                    "channels": [self.grey(float(v)) for v in self.rms[i]],
                }
                for i, level in enumerate(self.levels)
            ],
            "channels": [self.grey(float(v)) for v in self.rms.max(axis=0)],
            "tile": list(self.tile),
            "border": list(self.border),
            "range": list(self.value_range),
            "range_source": self.range_source,
            "output_shape": list(self.output_shape),
            "note": self.note,
        }


def op_period(op: UpOp, final_spatial: Sequence[int]) -> tuple[int | None, ...] | None:
    """The period per axis that ``op`` leaves in an output of spatial size ``final_spatial``
    (:func:`upscope.periods.period_in_output`; None along an axis the rule cannot follow), or
    None when the op has no whole-number scale or unknown sizes."""
    own, out = op_scales(op), op.spatial_out
    if own is None or out is None or len(out) != len(final_spatial):
        return None
    return tuple(a.period for a in period_in_output(own, out, tuple(final_spatial)))


def can_learn(op: UpOp) -> bool:
    """Whether the op's output phases have independently trainable parameters: every strided
    transposed conv (whatever K and init) and every pixel shuffle; never an interpolation."""
    if op.kind == "interpolate":
        return False
    scales = op_scales(op)
    return scales is not None and any(s > 1 for s in scales)


def tile_of(periods: Sequence[tuple[int | None, ...] | None], ndim: int) -> tuple[int, ...]:
    """The least common multiple per axis of the known periods (1 along an axis with none)."""
    tile = [1] * ndim
    for period in periods:
        if period is None or len(period) != ndim:
            continue
        for axis, p in enumerate(period):
            if p is not None:
                tile[axis] = math.lcm(tile[axis], int(p))
    return tuple(tile)


def _border(size: int, period: int) -> int:
    """The border dropped per side: 2 tiles or an eighth of the axis, keeping 2 tiles (1 at the
    least; 0 when the axis is shorter than that)."""
    want = max(2 * period, size // 8)
    for keep in (2 * period, period):
        if size - 2 * want >= keep:
            return want
        if size >= keep:
            return (size - keep) // 2
    return 0


def phase_means(y: np.ndarray, tile: Sequence[int]) -> tuple[np.ndarray, tuple[int, ...]]:
    """Per-phase means (C, *tile) of ``y`` (C, *spatial) away from the border; phase r is the
    position modulo the tile in the whole output. Returns the means and the border per axis."""
    spatial = y.shape[1:]
    borders = tuple(_border(n, p) for n, p in zip(spatial, tile, strict=True))
    crop = y[(slice(None), *(slice(b, n - b) for b, n in zip(borders, spatial, strict=True)))]
    means = np.zeros((y.shape[0], *tile))
    for phase in itertools.product(*(range(p) for p in tile)):
        index: tuple[Any, ...] = tuple(
            slice((r - b) % p, None, p) for r, b, p in zip(phase, borders, tile, strict=True)
        )
        where: tuple[Any, ...] = (slice(None), *phase)
        means[where] = crop[(slice(None), *index)].mean(axis=tuple(range(1, crop.ndim)))
    return means, borders


def by_period(means: np.ndarray) -> dict[tuple[int, ...], np.ndarray]:
    """The RMS of the periodic part of ``means`` (C, *tile) per fundamental period (Parseval
    over the tile's DFT); the squares of the values add up to the squared total RMS.

    >>> tile = np.array([[[1.0, 3.0, 1.0, 3.0]]])  # one channel, a 1x4 tile alternating
    >>> {k: v.round(6).tolist() for k, v in by_period(tile).items() if v.any()}
    {(1, 2): [1.0]}
    """
    tile = means.shape[1:]
    count = math.prod(tile)
    spectrum = np.fft.fftn(means, axes=tuple(range(1, means.ndim))) / count
    power = np.abs(spectrum) ** 2
    result: dict[tuple[int, ...], np.ndarray] = {}
    for freq in itertools.product(*(range(p) for p in tile)):
        if not any(freq):
            continue
        fundamental = tuple(p // math.gcd(k, p) for k, p in zip(freq, tile, strict=True))
        total = result.setdefault(fundamental, np.zeros(means.shape[0]))
        at: tuple[Any, ...] = (slice(None), *freq)
        total += power[at]
    return {key: np.sqrt(value) for key, value in sorted(result.items())}


def _range(values: Sequence[tuple[float, float]]) -> tuple[tuple[float, float], str]:
    lo = min(v[0] for v in values)
    hi = max(v[1] for v in values)
    for a, b in STANDARD_RANGES:
        if a <= lo and hi <= b:
            return (a, b), f"{a:g}..{b:g} (every output value fits)"
    if hi > lo:
        return (lo, hi), "observed min..max"
    return (lo - 0.5, lo + 0.5), "a constant output, 1 unit around it"


def grid_from_outputs(
    outputs: Sequence[np.ndarray],
    tile: Sequence[int],
    levels: Sequence[float],
    value_range: tuple[float, float] | None = None,
) -> OutputGrid:
    """The grid of given outputs (one (C, *spatial) array per level), torch-free."""
    rms_rows: list[np.ndarray] = []
    period_rows: list[dict[tuple[int, ...], np.ndarray]] = []
    borders: tuple[int, ...] = ()
    for y in outputs:
        means, borders = phase_means(np.asarray(y, dtype=np.float64), tile)
        periodic = means - means.mean(axis=tuple(range(1, means.ndim)), keepdims=True)
        rms_rows.append(np.sqrt((periodic**2).mean(axis=tuple(range(1, means.ndim)))))
        period_rows.append(by_period(means))
    keys = sorted({k for row in period_rows for k in row})
    channels = outputs[0].shape[0] if outputs else 0
    periods = {k: np.stack([row.get(k, np.zeros(channels)) for row in period_rows]) for k in keys}
    if value_range is not None:
        lo, hi = float(value_range[0]), float(value_range[1])
        chosen, source = (lo, hi), "given"
    else:
        seen = [(float(np.min(y)), float(np.max(y))) for y in outputs] or [(0.0, 1.0)]
        chosen, source = _range(seen)
    shape = tuple(outputs[0].shape) if outputs else ()
    note = ""
    if all(p == 1 for p in tile):
        note = "no op leaves a period in the output: there are no phases to compare"
    elif outputs:
        kept = [(n - 2 * b) // p for n, b, p in zip(shape[1:], borders, tile, strict=True) if p > 1]
        if min(kept) < 4:
            note = (
                f"only {min(kept)} tile(s) per axis away from the border: where the output is "
                "not flat on a constant input (a generator from a latent), its content mixes "
                "with the grid at the longer periods"
            )
    return OutputGrid(
        tuple(int(p) for p in tile),
        tuple(float(v) for v in levels),
        chosen,
        source,
        np.stack(rms_rows) if rms_rows else np.zeros((0, 0)),
        periods,
        tuple(borders),
        shape,
        note,
    )


def attribute(
    grid: OutputGrid, periods: Sequence[tuple[int | None, ...] | None]
) -> tuple[list[np.ndarray | None], np.ndarray]:
    """Each op's share of ``grid`` (RMS, output units, [level, channel]) and what no op explains.

    ``periods[i]`` is op i's period in the output (:func:`op_period`), None for an op that cannot
    make a pattern (an interpolation) or whose period is unknown. The power at a fundamental
    period F goes to the ops that can make F (:func:`upscope.periods.can_make`) with the
    smallest period: F itself when an op has exactly that period. In a x4 stack of two x2 ops,
    the power at 4x4 (and 4x2, 2x4) is the inner op's, at 2x2 the outer op's. Ops of the same
    period cannot be told apart: each gets all of that power.
    """
    shape = grid.rms.shape
    shares: list[np.ndarray | None] = [None if p is None else np.zeros(shape) for p in periods]
    left = np.zeros(shape)
    for fundamental, rms in grid.periods.items():
        power = rms**2
        known = [
            (i, p)
            for i, p in enumerate(periods)
            if p is not None and len(p) == len(fundamental) and can_make(p, fundamental)
        ]
        if not known:
            left += power
            continue

        def size(p: tuple[int | None, ...]) -> float:
            return math.prod(math.inf if v is None else v for v in p)

        best = min(size(p) for _, p in known)
        for i, p in known:
            if size(p) == best:
                share = shares[i]
                assert share is not None
                share += power
    return [None if s is None else np.sqrt(s) for s in shares], np.sqrt(left)


def _first_output(value: Any) -> Any:
    import torch

    if torch.is_tensor(value):
        return value if value.dim() >= 3 else None
    items = value.values() if isinstance(value, dict) else value
    if isinstance(items, list | tuple) or isinstance(value, dict):
        for item in items:
            found = _first_output(item)
            if found is not None:
                return found
    return None


def model_outputs(
    model: Any, inputs: Sequence[Any], levels: Sequence[float] = LEVELS
) -> list[np.ndarray]:
    """The model's first output with spatial axes (batch item 0, (C, *spatial), float64) on
    constant inputs at each level; ``inputs`` are example tensors (their shapes and dtypes)."""
    import torch

    arrays = []
    model.eval()
    with torch.no_grad():
        for level in levels:
            out = _first_output(model(*[torch.full_like(t, float(level)) for t in inputs]))
            if out is None:
                raise ValueError("the model returns no tensor with spatial axes (N x C x ...)")
            arrays.append(out[0].detach().to("cpu", torch.float64).numpy())
    return arrays


def grid_for_scan(
    model: Any,
    examples: Sequence[Any],
    ops: Sequence[UpOp],
    value_range: tuple[float, float] | None = None,
    levels: Sequence[float] = LEVELS,
) -> tuple[OutputGrid | None, str]:
    """The scan's measurement: the grid of ``model`` on constant inputs shaped like
    ``examples``, its tile from the traced ``ops``; (None, why) when there is nothing to
    measure (no output with spatial axes) or the forward pass fails at a level."""
    try:
        outputs = model_outputs(model, examples, levels)
    except ValueError as exc:
        return None, str(exc)
    except Exception as exc:  # noqa: BLE001 - the user's forward at another level
        return None, f"the forward pass on a constant input failed: {type(exc).__name__}: {exc}"
    final = outputs[0].shape[1:]
    tile = tile_of([op_period(op, final) for op in ops], len(final))
    too_long = [(p, n) for p, n in zip(tile, final, strict=True) if p > n]
    if too_long:
        period, size = too_long[0]
        return None, f"the ops' period {period} is longer than the output ({size}): no phases"
    if math.prod(tile) > MAX_PHASES:
        return None, f"the tile {period_key(tile)} has over {MAX_PHASES} phases"
    return grid_from_outputs(outputs, tile, levels, value_range), ""


def remeasure(model: Any, examples: Sequence[Any], like: OutputGrid) -> OutputGrid:
    """The grid of ``model`` (e.g. with a fix swapped in) measured as ``like`` was: the same
    levels, tile and output range, so the two compare. :mod:`.verify` calls this."""
    outputs = model_outputs(model, examples, like.levels)
    grid = grid_from_outputs(outputs, like.tile, like.levels, like.value_range)
    grid.range_source = like.range_source
    return grid


def measure_output_grid(
    model: Any,
    inputs: Sequence[Shape] | Sequence[Any] | Any,
    levels: Sequence[float] = LEVELS,
    value_range: tuple[float, float] | None = None,
    tile: Sequence[int] | None = None,
) -> OutputGrid:
    """The output grid of ``model`` (an ``nn.Module``) on constant inputs (module docstring).

    ``inputs``: example tensors (their shapes and dtypes; a tensor or a sequence of them) or
    input shapes. ``tile``: the period per spatial axis to take phases over; None: traced from
    the model's upsampling ops. :mod:`.verify` passes the original model's tile, so a fix that
    removes every op is measured on the same phases. The model's training mode is restored.
    """
    import torch

    from upscope.scanning.torch_front import make_inputs, trace

    given: Any = inputs
    if torch.is_tensor(given):
        examples = [given]
    elif given and all(torch.is_tensor(t) for t in given):
        examples = list(given)
    else:
        items = list(given)
        shapes = [tuple(items)] if all(isinstance(v, int) for v in items) else items
        examples = make_inputs(model, [tuple(s) for s in shapes], 0, "constant")
    modes = {module: module.training for module in model.modules()}
    try:
        outputs = model_outputs(model, examples, levels)
        if tile is None:
            ops = trace(model, [torch.ones_like(t) for t in examples])
            final = outputs[0].shape[1:]
            tile = tile_of([op_period(op, final) for op in ops], len(final))
    finally:
        for module, training in modes.items():
            module.train(training)
    return grid_from_outputs(outputs, tile, levels, value_range)
