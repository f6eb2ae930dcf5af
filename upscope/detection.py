"""Find the periodic grid in images a model made (``upscope detect``): plain data, numpy only.

Two tests per candidate period P (2 to 16, and every period a given model can make), both built
on :mod:`upscope.phase_stats` (the formulas are there and in docs/detect.md):

- **additive**: the per-phase mean of the high-pass residual (a transposed conv's or a pixel
  shuffle's per-phase offsets), a P x P tile, in square units of about 32 x 32 pixels;
- **structural**: the per-phase mean of the absolute difference between neighbours, relative to
  its own mean, along each axis (nearest / pixel-repeat upscaling, JPEG's 8x8 blocks: the
  differences change with the phase while the mean does not), in bands of 16 rows (or columns)
  spanning the image.

A period is *found* when its z is at least :data:`Z_MIN`. Additive periods are reported as
they are (each class is a fundamental period); structural ones per axis, keeping only those
that divide no other found period of that axis (nearest x4 also changes at period 2; JPEG's
blocks at 2 and 4), and paired across axes when equal.

Images are streamed one at a time (:mod:`upscope.image_sets`) and grouped by size, JPEG files
apart from the rest (their blocks are the compression's); each group
keeps running sums only: its mean residual, its mean residual power spectrum, the tests' sums.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from upscope import limits
from upscope.image_sets import Item, Plan
from upscope.phase_stats import (
    BLOCK,
    ClassStat,
    Sums,
    class_stat,
    freq_set,
    grey,
    highpass,
    highpass_gain,
    paulson_z,
    unit_amplitudes,
)
from upscope.result import Brief, Result

__all__ = [
    "MAX_PERIOD",
    "Z_MIN",
    "DetectResult",
    "Group",
    "LayerMatch",
    "PeriodFound",
    "analyse",
    "candidate_periods",
    "estimate_bytes",
]

Z_MIN = 5.0
"""A period is found at z >= 5 (one-sided p of about 3e-7 per test under the null)."""
MIN_PERIOD, MAX_PERIOD = 2, 16
BAND = 8
"""Thickness of a structural test's band (rows or columns), rounded up to a multiple of P."""
REPEAT_RATIO = 0.2
"""A structural period is pixel repetition when its quietest phase's mean difference is under
this share of its busiest phase's (nearest x2: 0; JPEG blocks: about 0.7)."""
SOURCES = {
    "grid": "upsampling grid (per-phase offsets)",
    "repetition": "pixel repetition (nearest / pixel-repeat upscaling)",
    "jpeg": "JPEG 8x8 blocks",
    "structure": "periodic differences (per-phase structure)",
}
Progress = Callable[[str, int, int], None]


@dataclass(repr=False)
class LayerMatch(Brief):
    """A model op that can make a found period: its period in the output and scan's judgement."""

    name: str
    type: str
    period: list[int | None]
    exact: bool  # its period is the found one (else a multiple of it)
    status: str
    fix: str | None  # the title of scan's top fix
    fix_verified: bool
    fix_code: str | None = None

    _brief = ("name", "type", "period", "exact", "status", "fix")


@dataclass(repr=False)
class OpPeriod(Brief):
    """One upsampling op of the model and the period it leaves in the output (None: unknown)."""

    name: str
    type: str
    period: list[int | None]
    reasons: list[str]
    status: str
    fix: str | None
    fix_verified: bool
    fix_code: str | None

    _brief = ("name", "type", "period", "status", "fix")


@dataclass(repr=False)
class PeriodFound(Brief):
    """One found period of a group of images."""

    period: tuple[int, int]  # rows, cols; 1 = none along that axis
    test: str  # "additive" | "structural"
    strength_db: float
    z: float
    images: int  # images in which it is found on their own
    source: str  # a key of SOURCES
    tile: np.ndarray  # the mean residual per phase (rows, cols), in grey levels
    image_db: np.ndarray  # per image
    image_z: np.ndarray
    rms: float | None = None  # additive: the pattern's RMS in grey levels (high-pass undone)
    profile: list[np.ndarray] = field(default_factory=list)  # structural: per axis found
    layers: list[LayerMatch] = field(default_factory=list)
    model_can_make: bool | None = None  # None: no model given

    _brief = ("period", "test", "source", "strength_db", "z", "images", "rms")


@dataclass(repr=False)
class Candidate(Brief):
    """The outcome of one test at one period (found or not)."""

    test: str  # "additive" | "rows" | "cols"
    period: int
    z: float
    strength_db: float


@dataclass(repr=False)
class Group(Brief):
    """The images of one size (JPEG files apart from the others) and what was found in them."""

    height: int
    width: int
    channels: int  # the most channels of its images (each is reduced to grey as read)
    names: list[str]
    jpeg: int  # how many were JPEG files
    found: list[PeriodFound]
    candidates: list[Candidate]
    power: np.ndarray  # mean power spectrum of the residual (H, W), DC at [0, 0]
    mean_power: np.ndarray  # power spectrum of the mean residual (H, W)
    units: str  # "grey levels" | "output units"
    channel_counts: list[int] = field(default_factory=list)  # the distinct channels, sorted

    _brief = ("height", "width", "channels", "images=count", "found")

    @property
    def count(self) -> int:
        return len(self.names)


@dataclass(repr=False)
class DetectResult(Result):
    """What ``upscope detect`` found: per group of images of one size, the periods found.

    ``verdict`` is ``"grid"`` when any period other than JPEG blocks is found, else ``"none"``.
    ``to_dict()``, ``save_png(out)`` and the table reach :mod:`upscope.render.detect_view`
    through the registry (:mod:`upscope.present`); ``save_png`` fills ``pngs``.
    """

    groups: list[Group]
    periods_tested: list[int]
    z_min: float = Z_MIN
    model: str | None = None
    samples: int | None = None
    seed: int = 0
    ops: list[OpPeriod] = field(default_factory=list)
    pngs: list[Path] = field(default_factory=list)

    @property
    def found(self) -> list[PeriodFound]:
        return [p for g in self.groups for p in g.found]

    @property
    def verdict(self) -> str:
        return "grid" if any(p.source != "jpeg" for p in self.found) else "none"

    _brief = ("verdict", "images=image_count", "periods=period_labels")

    @property
    def image_count(self) -> int:
        return sum(g.count for g in self.groups)

    @property
    def period_labels(self) -> list[str]:
        """Each found period as ``2x2 (structure)``: rows x cols and its source."""
        return [f"{p.period[0]}x{p.period[1]} ({p.source})" for p in self.found]


def candidate_periods(extra: Iterable[int] = (), smallest_side: int | None = None) -> list[int]:
    """2..16 and ``extra`` (a model's periods), sorted; at most half the smallest side.

    >>> candidate_periods([32, 8], smallest_side=64)[-3:]
    [15, 16, 32]
    """
    periods = set(range(MIN_PERIOD, MAX_PERIOD + 1)) | {p for p in extra if p >= MIN_PERIOD}
    if smallest_side is not None:
        periods = {p for p in periods if 2 * p <= smallest_side}
    return sorted(periods)


def estimate_bytes(the_plan: Plan, periods: int = MAX_PERIOD) -> int:
    """Peak bytes of :func:`analyse` on ``the_plan``: per group of one size, four float64
    maps of the image (the sums), per image of the largest size about twelve float64 maps
    while it is worked on (its grey, residual, differences, spectrum, one batch's array read
    whole for an npz), and per image kept about 8 bytes per tested frequency (the per-image
    test, 2 * P^2 / 2 + 2 * P per period P) and its neighbour differences per phase (the
    source's naming, 2 * P more)."""
    sizes = the_plan.sizes()
    kinds = {(e.height, e.width, e.jpeg) for e in the_plan.entries}  # JPEG files apart
    groups = sum(h * w * 8 * 4 for h, w, _ in kinds)
    largest = max(h * w for h, w in sizes)
    channels = max(e.channels for e in the_plan.entries)
    work = largest * 8 * 12 + largest * 4 * channels
    batch = max((e.bytes_per_batch for e in the_plan.entries), default=0)
    per_image = sum(p * p + 4 * p for p in range(2, periods + 1)) * 8
    return groups + work + batch + the_plan.count * per_image


class _GroupSums:
    """The running sums of one group of images of one size."""

    def __init__(self, height: int, width: int, channels: int, periods: list[int]) -> None:
        self.height, self.width, self.channels = height, width, channels
        self.channel_counts: set[int] = set()
        side = min(height, width)
        self.periods = [p for p in periods if 2 * p <= side]
        self.names: list[str] = []
        self.jpeg = 0
        self.residual = np.zeros((height, width))
        self.power = np.zeros((height, width))
        self.additive = {p: Sums(freq_set(p, p, p)) for p in self.periods}
        self.rows = {p: Sums(freq_set(p, 1, p)) for p in self.periods if p < height}
        self.cols = {p: Sums(freq_set(1, p, p)) for p in self.periods if p < width}
        self.profile_rows = {p: np.zeros(p) for p in self.rows}
        self.profile_cols = {p: np.zeros(p) for p in self.cols}
        # per image, to name a structural source by the images that show it (see _finish)
        self.image_rows: dict[int, list[np.ndarray]] = {p: [] for p in self.rows}
        self.image_cols: dict[int, list[np.ndarray]] = {p: [] for p in self.cols}
        self.units = "grey levels"

    def add(self, item: Item) -> None:
        g = grey(item.pixels)
        r = highpass(g)
        self.names.append(item.name)
        self.jpeg += int(item.jpeg)
        self.residual += r
        self.power += np.abs(np.fft.fft2(r)) ** 2 / r.size
        d_rows = np.abs(np.diff(g, axis=0))  # between row i and i + 1, at row phase i
        d_cols = np.abs(np.diff(g, axis=1))
        block = block_side(self.height, self.width)
        for p, sums in self.additive.items():
            sums.add(unit_amplitudes(r, p, p, (block, block), freqs=sums.freqs))
        for p, sums in self.rows.items():
            sums.add(
                unit_amplitudes(d_rows, p, 1, (BAND, 1 << 30), relative=True, freqs=sums.freqs)
            )
            means = _phase_means(d_rows, p, axis=0)
            self.profile_rows[p] += means
            self.image_rows[p].append(means)
        for p, sums in self.cols.items():
            sums.add(
                unit_amplitudes(d_cols, 1, p, (1 << 30, BAND), relative=True, freqs=sums.freqs)
            )
            means = _phase_means(d_cols, p, axis=1)
            self.profile_cols[p] += means
            self.image_cols[p].append(means)


def block_side(height: int, width: int) -> int:
    """The additive test's unit side: an eighth of the image's smaller side, 8 to 32 pixels,
    so that a small image still has many locations (the test's spread is measured over them)."""
    return max(8, min(BLOCK, min(height, width) // 8))


def _phase_means(d: np.ndarray, p: int, axis: int) -> np.ndarray:
    """Mean of ``d`` per phase (index mod p) along ``axis``."""
    n = d.shape[axis] - d.shape[axis] % p
    cut = d[:n] if axis == 0 else d[:, :n]
    per_line = cut.mean(axis=1 - axis)
    return np.asarray(per_line.reshape(-1, p).mean(axis=0))


def _tile(mean_residual: np.ndarray, pr: int, pc: int) -> np.ndarray:
    """The per-phase mean of the group's mean residual, (pr, pc), in the same units."""
    h, w = mean_residual.shape
    cut = mean_residual[: h - h % pr, : w - w % pc]
    return np.asarray(cut.reshape(cut.shape[0] // pr, pr, cut.shape[1] // pc, pc).mean((0, 2)))


def _shape_of(stat: ClassStat, sums: Sums) -> tuple[int, int]:
    """The per-axis period of a found additive class: the lcm of the denominators of the
    frequencies that carry 90 % of its excess over the null."""
    excess = np.maximum(stat.q - 1.0, 0.0) * sums.freqs.dof
    order = np.argsort(-excess)
    total, acc, pr, pc = float(excess.sum()), 0.0, 1, 1
    for index in order:
        pr = math.lcm(pr, int(sums.freqs.den_r[index]))
        pc = math.lcm(pc, int(sums.freqs.den_c[index]))
        acc += float(excess[index])
        if acc >= 0.9 * total:
            break
    return pr, pc


def _rms(stat: ClassStat, sums: Sums, scale: float) -> float:
    """The RMS of the class's pattern in the image, its residual amplitudes divided by the
    high-pass gain at each frequency (a complex pair counts twice)."""
    total = 0.0
    shape = sums.freqs.shape
    for k in range(sums.freqs.size):
        u = sums.freqs.rows[k] / shape[0]
        v = sums.freqs.cols[k] / shape[1]
        gain = highpass_gain(u, v)
        total += float(sums.freqs.dof[k]) * (abs(stat.amplitude[k]) / gain) ** 2
    return math.sqrt(total) * scale


def _combine(stats: list[ClassStat]) -> tuple[float, float, np.ndarray, np.ndarray]:
    """z, dB and the per-image z, dB of several classes tested as one (their chi-squares and
    degrees of freedom added)."""
    chi2 = sum(s.chi2 for s in stats)
    dof = sum(s.dof for s in stats)
    d2 = min(s.units for s in stats) - 1
    z = paulson_z(chi2 / dof, dof, d2)
    db = 10 * math.log10(
        max(sum(float((abs(s.amplitude) ** 2).sum()) for s in stats), 1e-300)
        / sum(float(s.null.sum()) for s in stats)
    )
    image_chi2 = np.sum([s.image_chi2 for s in stats], axis=0)
    image_z = np.array(
        [np.nan if not np.isfinite(c) else paulson_z(c / dof, dof, d2) for c in image_chi2]
    )
    image_db = 10 * np.log10(
        np.maximum(np.sum([s.image_power for s in stats], axis=0), 1e-300)
        / np.sum([s.image_null for s in stats], axis=0)
    )
    return z, db, image_z, image_db


def _maximal(found: list[int]) -> list[int]:
    """The periods that divide no other: [2, 4, 8] -> [8]; [2, 3] -> [2, 3]."""
    return [p for p in found if not any(q != p and q % p == 0 for q in found)]


def _finish(acc: _GroupSums, z_min: float) -> Group:
    n = len(acc.names)
    mean_residual = acc.residual / n
    scale = 255.0 if acc.units == "grey levels" else 1.0
    candidates: list[Candidate] = []
    found: list[PeriodFound] = []
    for p, sums in acc.additive.items():
        stat = class_stat(sums)
        if stat is None:
            continue
        candidates.append(Candidate("additive", p, stat.z, stat.strength_db))
        if stat.z < z_min:
            continue
        pr, pc = _shape_of(stat, sums)
        found.append(
            PeriodFound(
                period=(pr, pc),
                test="additive",
                strength_db=stat.strength_db,
                z=stat.z,
                images=int(np.sum(stat.image_z >= z_min)),
                source="grid",
                tile=_tile(mean_residual, pr, pc) * scale,
                image_db=stat.image_db,
                image_z=stat.image_z,
                rms=_rms(stat, sums, scale),
            )
        )
    axis_found: dict[str, dict[int, ClassStat]] = {"rows": {}, "cols": {}}
    for axis, table in (("rows", acc.rows), ("cols", acc.cols)):
        for p, sums in table.items():
            stat = class_stat(sums)
            if stat is None:
                continue
            candidates.append(Candidate(axis, p, stat.z, stat.strength_db))
            if stat.z >= z_min:
                axis_found[axis][p] = stat
    rows = _maximal(sorted(axis_found["rows"]))
    cols = _maximal(sorted(axis_found["cols"]))
    pairs = [(p, p) for p in rows if p in cols]
    pairs += [(p, 1) for p in rows if p not in cols] + [(1, p) for p in cols if p not in rows]
    for pr, pc in pairs:
        stats = []
        profiles = []
        if pr > 1:
            stats.append(axis_found["rows"][pr])
            profiles.append(acc.profile_rows[pr] / n)
        if pc > 1:
            stats.append(axis_found["cols"][pc])
            profiles.append(acc.profile_cols[pc] / n)
        z, db, image_z, image_db = _combine(stats)
        # the source is named by the images that show the period alone (all of them when none
        # does): a clean photograph beside a nearest-upscaled one must not turn the latter's
        # pixel repetition into mere periodic structure
        shown = np.flatnonzero(image_z >= z_min)
        if shown.size == 0:
            shown = np.arange(n)
        naming = []
        if pr > 1:
            naming.append(np.mean([acc.image_rows[pr][k] for k in shown], axis=0))
        if pc > 1:
            naming.append(np.mean([acc.image_cols[pc][k] for k in shown], axis=0))
        repeat = all(float(pf.min()) < REPEAT_RATIO * float(pf.max()) for pf in naming)
        if repeat:
            source = "repetition"
        elif max(pr, pc) in (8, 16) and (acc.jpeg or 8 in (pr, pc)):
            source = "jpeg"
        else:
            source = "structure"
        found.append(
            PeriodFound(
                period=(pr, pc),
                test="structural",
                strength_db=db,
                z=z,
                images=int(np.sum(image_z >= z_min)),
                source=source,
                tile=_tile(mean_residual, pr, pc) * scale,
                image_db=image_db,
                image_z=image_z,
                profile=profiles,
            )
        )
    found.sort(key=lambda f: (f.period[0] * f.period[1], f.period, f.test))
    mean_power = np.abs(np.fft.fft2(mean_residual)) ** 2 / mean_residual.size
    return Group(
        height=acc.height,
        width=acc.width,
        channels=acc.channels,
        names=acc.names,
        jpeg=acc.jpeg,
        found=found,
        candidates=candidates,
        power=(acc.power / n).astype(np.float32),
        mean_power=mean_power.astype(np.float32),
        units=acc.units,
        channel_counts=sorted(acc.channel_counts),
    )


def analyse(
    items: Iterable[Item],
    the_plan: Plan,
    extra_periods: Sequence[int] = (),
    z_min: float = Z_MIN,
    progress: Progress | None = None,
    units: str = "grey levels",
) -> tuple[list[Group], list[int]]:
    """Test every image of ``items`` (described by ``the_plan``), grouped by size.

    Each image is reduced to grey as it is read (:func:`upscope.phase_stats.grey`), so a group
    may mix grey and colour images. The memory estimate (:func:`estimate_bytes`) must fit the
    budget (:mod:`upscope.limits`) before any image is read.
    """
    periods = candidate_periods(extra_periods)
    limits.check_memory(
        estimate_bytes(the_plan, max(periods)), f"detect on {the_plan.count} image(s)"
    )
    # JPEG files are a group of their own: their 8x8 blocks are the compression's, and pooled
    # with other images of their size both would be diluted (a JPEG beside a nearest-x4 PNG
    # showed neither the blocks nor the repetition as such)
    groups: dict[tuple[int, int, bool], _GroupSums] = {}
    total = the_plan.count
    for done, item in enumerate(items, start=1):
        _, h, w = item.pixels.shape
        acc = groups.get((h, w, item.jpeg))
        if acc is None:
            acc = groups[(h, w, item.jpeg)] = _GroupSums(h, w, item.pixels.shape[0], periods)
            acc.units = units
        acc.channels = max(acc.channels, item.pixels.shape[0])
        acc.channel_counts.add(item.pixels.shape[0])
        acc.add(item)
        if progress is not None:
            progress("images", done, total)
    return [_finish(acc, z_min) for acc in groups.values()], periods
