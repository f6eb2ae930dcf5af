"""Exact overlap-count maps of upsampling stacks, numpy only (never torch, never matplotlib).

The overlap count of an output pixel is the number of (input pixel, kernel tap) paths that reach
it: for one transposed convolution it is ``conv_transpose(ones input, ones kernel)``; for a stack
it is every layer applied in turn to the previous map, each with an all-ones kernel. Every layer
here is separable, and a separable layer maps an outer product to an outer product, so the map
of a 2D stack is the outer product of two 1D count profiles, each computed by applying the
stack to one axis. Integer arithmetic throughout; memory is proportional to the map.

How each layer kind moves counts (one axis; the same rule per axis in 2D):

- ``convT``: transposed convolution with a ones kernel: stretch the input with S-1 zeros between
  pixels, add the K copies shifted by 0, D, ..., D*(K-1), crop P at the start, and keep
  ``O`` values (output padding adds rows that only taps reaching past the crop can fill).
- ``conv``: correlation with a ones kernel over the zero-padded input, every S-th window.
- ``pool type=max``: the largest count in each window (padding never wins);
  ``pool type=avg``: the window *sum* (the number of paths, i.e. torch's avg pool with
  ``divisor_override=1``); dividing by the window size would leave the integers.
- ``upsample mode=nearest`` (the default) and ``mode=nearest-exact``: each output pixel copies
  the count of the input pixel torch reads for it (float32 index arithmetic, as torch does).
  Other modes blend neighbours with fractional weights and are refused.
- ``pixelshuffle r=R``: every count is replicated R times per axis, like nearest x R (with the
  same ones map in every channel, PixelShuffle moves equal values into each R x R block).
  ``pixelunshuffle`` moves pixels into channels and is refused.

The interior (the region not touched by border effects), per axis, composed layer by layer:
the input is all interior. An output position of a layer is interior when every input position
that reaches it lies inside the previous layer's interior: for ``convT``, every tap that lands
on it (the taps of its phase, ``t - j*D`` a multiple of S) comes from an interior input pixel;
for ``conv`` and ``pool`` the whole window lies inside the interior (no padding, no ceil-mode
overhang); for ``upsample``/``pixelshuffle`` the source pixel is interior. The interior is the
longest run of such positions: an interval per axis, a rectangle in 2D, possibly empty for a
tiny input. An interior pixel has exactly the count it would have with an infinitely large
input (the periodic pattern); everything else is border fall-off, which is not a
checkerboard.

>>> r = convt_overlap((4,), (2,), (1,), (0,), (1,), (8,))
>>> r.map.tolist(), r.verdict
([1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1], 'even')
>>> np.unique(convt_overlap((3,), (2,), (0,), (0,), (1,), (8, 8)).interior_values()).tolist()
[1, 2, 4]
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from upscope import arith, limits
from upscope.arith import Axes, LayerResult, LayerSpec
from upscope.errors import UpscopeError
from upscope.result import Brief, Result

MAX_CELLS = 1 << 25  # 33.5 M cells (256 MiB of int64)
MAX_AXIS = 1 << 24
PROBE_FLOOR = 1 << 28  # bytes a verdict probe on a larger input may take, or 4x the map's
_COUNT_LIMIT = 1 << 62
_NEAREST_MODES = ("nearest", "nearest-exact")
SUPPORTED_KINDS = arith.OVERLAP_KINDS

__all__ = [
    "AxisProfile",
    "OverlapResult",
    "SUPPORTED_KINDS",
    "axis_profile",
    "convt_overlap",
    "stack_overlap",
]


@dataclass(frozen=True, eq=False, repr=False)
class AxisProfile(Brief):
    """One axis: the 1D counts and the interior as a half-open interval ``[start, stop)``."""

    counts: np.ndarray
    start: int
    stop: int

    @property
    def interior(self) -> np.ndarray:
        return self.counts[self.start : self.stop]

    @property
    def interior_len(self) -> int:
        return max(self.stop - self.start, 0)


@dataclass(frozen=True, eq=False, repr=False)
class OverlapResult(Result):
    """The overlap-count map of a stack and its figures (what :func:`upscope.overlap` returns).

    ``map`` is int64 with one axis per input axis. ``interior`` is the ``(start, stop)`` interval
    of each axis (``start >= stop``: no interior). ``interior_*`` are None without an interior;
    ``interior_ratio`` is None also when the interior minimum is 0 (holes). ``period`` and
    ``verdict`` describe the interior pattern; they come from the map of ``verdict_input``,
    which is ``input_size`` unless this map's interior was too small to hold two periods, in
    which case the same stack on a larger input was used (the explanation says so).
    ``verdict_rule`` says what was judged: ``"interior"``, that interior pattern; ``"layers"``,
    each layer's own interior pattern, because no input tried gives the stack an interior of
    two periods' worth (border fall-off is not a checkerboard). ``period`` is exact
    (:func:`periodic_pattern`) unless a layer is not shift-invariant; then it is measured on
    that interior. ``repeats`` is how many times the user's stack was repeated (``--layers``;
    it names the PNG file); ``pngs`` is what the last :meth:`save_png` wrote.
    """

    map: np.ndarray
    min: int
    max: int
    interior_min: int | None
    interior_max: int | None
    interior_ratio: float | None
    period: tuple[int, ...]
    verdict: str
    explanation: str
    input_size: Axes = ()
    output_size: Axes = ()
    interior: tuple[tuple[int, int], ...] = ()
    profiles: tuple[AxisProfile, ...] = ()
    verdict_input: Axes = ()
    specs: tuple[LayerSpec, ...] = field(default=())
    verdict_rule: str = "interior"
    repeats: int = 1
    pngs: list[Path] = field(default_factory=list, repr=False)

    _brief = ("verdict", "ratio=interior_ratio", "period", "shape=output_size")

    @property
    def has_interior(self) -> bool:
        return all(stop > start for start, stop in self.interior)

    def interior_values(self) -> np.ndarray:
        """The map restricted to its interior (empty when there is none)."""
        return self.map[tuple(slice(a, b) for a, b in self.interior)]


# ---------------------------------------------------------------- 1D building blocks


def _residue_prefix(z: np.ndarray, d: int) -> np.ndarray:
    """``c[u] = z[u] + z[u-d] + z[u-2d] + ...``: prefix sums along each residue class mod d."""
    rows = -(-z.size // d)
    padded = np.zeros(rows * d, np.int64)
    padded[: z.size] = z
    return np.cumsum(padded.reshape(rows, d), axis=0).reshape(-1)[: z.size]


def _class_sum_upto(c: np.ndarray, t: np.ndarray, d: int) -> np.ndarray:
    """For each t (any int): the sum of ``z[u]`` over ``0 <= u <= t``, ``u = t (mod d)``."""
    n = c.size
    if n == 0:
        return np.zeros(t.shape, np.int64)
    u = np.where(t >= n, t - ((t - (n - 1) + d - 1) // d) * d, t)  # last such u inside z
    return np.where(u >= 0, c[np.clip(u, 0, n - 1)], 0)


def _window_sums(z: np.ndarray, starts: np.ndarray, k: int, d: int) -> np.ndarray:
    """``w[i] = sum_{j<k} z[starts[i] + j*d]``, indices outside ``z`` counting 0; exact int64.

    Memory and time are O(z.size + d + starts.size) whatever K is: the sums come from the
    residue-class prefix sums, so a huge kernel or padding costs nothing by itself.
    """
    c = _residue_prefix(z, d)
    return _class_sum_upto(c, starts + (k - 1) * d, d) - _class_sum_upto(c, starts - d, d)


def _ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def _convt_axis(prof: AxisProfile, k: int, s: int, p: int, d: int, out_size: int) -> AxisProfile:
    x = prof.counts
    stretched = np.zeros((x.size - 1) * s + 1, np.int64)
    stretched[::s] = x
    # output o is position t = o + P of the uncropped result, full[t] = sum_j stretched[t - j*D]
    # (rows past the last tap, from output padding, sum nothing and stay 0)
    starts = np.arange(out_size, dtype=np.int64) + (p - d * (k - 1))
    counts = _window_sums(stretched, starts, k, d)
    if prof.stop <= prof.start:
        return AxisProfile(counts, 0, 0)
    # output o is full position t = o + P; tap j reaches it from input (t - j*D) / S when that
    # is an integer: every such input must be interior (positions no tap reaches qualify too)
    # the taps of residue r = t mod S are the j < K with j*D = r (mod S); they repeat every
    # S/gcd(D, S), so the first and last of each residue lie in the first and last S taps
    first = np.full(s, -1, np.int64)
    last = np.full(s, -1, np.int64)
    for j in range(min(k, s)):
        if first[(j * d) % s] < 0:
            first[(j * d) % s] = j
    for j in range(k - 1, max(k - s, 0) - 1, -1):
        if last[(j * d) % s] < 0:
            last[(j * d) % s] = j
    t = np.arange(out_size, dtype=np.int64) + p
    r = t % s
    no_tap = first[r] < 0
    # the nearest source (first tap) and the farthest (last tap) must both be interior
    valid = no_tap | (
        (t - first[r] * d <= (prof.stop - 1) * s) & (t - last[r] * d >= prof.start * s)
    )
    return AxisProfile(counts, *_longest_run(valid))


def _longest_run(mask: np.ndarray) -> tuple[int, int]:
    """``[start, stop)`` of the longest run of True (the first of equals); (0, 0) if none."""
    if not mask.any():
        return 0, 0
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    best = int(np.argmax(stops - starts))
    return int(starts[best]), int(stops[best])


def _conv_axis(prof: AxisProfile, k: int, s: int, p: int, d: int, out_size: int) -> AxisProfile:
    starts = np.arange(out_size, dtype=np.int64) * s - p  # window o reads o*S - P + j*D
    counts = _window_sums(prof.counts, starts, k, d)
    return AxisProfile(counts, *_window_interior(prof, k, s, p, d, out_size))


def _max_axis(prof: AxisProfile, k: int, s: int, p: int, d: int, out_size: int) -> AxisProfile:
    """The largest count in each window, padding left out (torch pads max pool with -inf).

    Each residue class mod D is laid out contiguously, so a window's taps that fall inside the
    input are one contiguous segment, reduced by ``np.maximum.reduceat``: O(input + output + D
    + the taps inside the input), never O(K) per window.
    """
    x = prof.counts
    n = x.size
    o = np.arange(out_size, dtype=np.int64)
    base = o * s - p
    j_lo = np.maximum(-(base // d), 0)  # first tap at or after index 0: ceil(-base / d)
    j_hi = np.minimum(k - 1, (n - 1 - base) // d)  # last tap at or before index n - 1
    taps = j_hi - j_lo + 1
    if out_size and taps.min() < 1:
        bad = int(np.argmin(taps))
        raise UpscopeError(
            f"max pool k={k} s={s} p={p} d={d}: the window of output {bad} covers only padding "
            "(torch returns -inf there), so it has no count"
        )
    residues = np.arange(min(d, n), dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum((n - residues + d - 1) // d)])
    order = np.concatenate([np.arange(r, n, d) for r in range(min(d, n))]) if n else o[:0]
    first = base + j_lo * d
    start = offsets[first % d] + first // d
    bounds = np.stack([start, start + taps], axis=1).reshape(-1)
    laid = np.concatenate([x[order], [0]])  # one spare slot: reduceat needs bounds < size
    counts = np.maximum.reduceat(laid, bounds)[::2] if out_size else o[:0]
    return AxisProfile(counts, *_window_interior(prof, k, s, p, d, out_size))


def _window_interior(
    prof: AxisProfile, k: int, s: int, p: int, d: int, out_size: int
) -> tuple[int, int]:
    """Outputs whose window ``o*S - P + j*D`` (j < K) lies inside the previous interior."""
    if prof.stop <= prof.start:
        return 0, 0
    start = max(_ceil_div(prof.start + p, s), 0)
    stop = min((prof.stop - 1 + p - d * (k - 1)) // s + 1, out_size)
    return start, max(stop, start)


def _nearest_sources(
    n_in: int, n_out: int, scale: float | None, exact: bool, shortcuts: bool = True
) -> np.ndarray:
    """The input index torch's nearest / nearest-exact upsampling reads for each output pixel.

    Mirrors ATen: the scale is a float32, ``1/scale_factor`` when a factor is given, else
    ``in/out``; nearest uses ``floor(o * scale)``, nearest-exact ``floor((o + 0.5) * scale)``;
    both are clamped to the last input pixel. ATen's 2D kernel (``shortcuts``) first returns
    ``o`` when out == in and ``o >> 1`` when out == 2*in, whatever the scale (so scale=2.01 on
    8 pixels reads like scale=2); its 1D kernel has no such shortcut.
    """
    o = np.arange(n_out, dtype=np.int64)
    if shortcuts and not exact and n_out == n_in:
        return o
    if shortcuts and not exact and n_out == 2 * n_in:
        return o >> 1
    in_over_out = np.float32(n_in) / np.float32(n_out)
    factor = np.float32(1.0 / scale) if scale is not None else in_over_out
    of = o.astype(np.float32)
    if exact:
        of = of + np.float32(0.5)
    src = np.floor(of * factor).astype(np.int64)
    return np.minimum(src, n_in - 1)


def _upsample_axis(prof: AxisProfile, spec: LayerSpec, out_size: int, ndim: int) -> AxisProfile:
    mode = spec.options.get("mode", "nearest")
    scale = float(spec.options["scale"]) if "scale" in spec.options else None
    exact = mode == "nearest-exact"
    src = _nearest_sources(prof.counts.size, out_size, scale, exact, shortcuts=ndim >= 2)
    counts = prof.counts[src]
    start = int(np.searchsorted(src, prof.start, side="left"))
    stop = int(np.searchsorted(src, prof.stop, side="left"))
    if prof.stop <= prof.start:
        start = stop = 0
    return AxisProfile(counts, start, max(stop, start))


def _check_supported(spec: LayerSpec) -> None:
    if spec.kind not in SUPPORTED_KINDS:
        raise UpscopeError(
            f"overlap counts are not defined for {spec.kind}: it moves pixels into channels, so "
            "one count map cannot follow it; supported kinds: " + ", ".join(SUPPORTED_KINDS)
        )
    if spec.kind == "upsample":
        mode = spec.options.get("mode", "nearest")
        if mode not in _NEAREST_MODES:
            raise UpscopeError(
                f"upsample mode={mode} blends neighbours with fractional weights, so it has no "
                "integer overlap count; use mode=nearest or mode=nearest-exact"
            )


def _step(prof: AxisProfile, result: LayerResult, axis: int) -> AxisProfile:
    """Apply one layer (``result.spec``) to one axis; the output size comes from arith."""
    spec, g = result.spec, result.spec.get
    out_size = result.output[axis]
    if out_size > MAX_AXIS:
        raise UpscopeError(f"an axis would have {out_size} pixels; at most {MAX_AXIS} are drawn")
    k = g("k", axis, 1)
    peak = int(prof.counts.max()) if prof.counts.size else 0
    if spec.kind in ("convT", "conv", "pool") and peak * k >= _COUNT_LIMIT:
        raise UpscopeError("overlap counts would overflow 64-bit integers: too many layers")
    if spec.kind == "convT":
        d, p = g("d", axis, 1), g("p", axis, 0)
        new = _convt_axis(prof, k, g("s", axis, 1), p, d, out_size)
    elif spec.kind == "conv":
        new = _conv_axis(prof, k, g("s", axis, 1), g("p", axis, 0), g("d", axis, 1), out_size)
    elif spec.kind == "pool":
        args = (k, g("s", axis, k), g("p", axis, 0), g("d", axis, 1), out_size)
        if spec.options.get("type", "max") == "max":
            new = _max_axis(prof, *args)
        else:
            new = _conv_axis(prof, *args)
    elif spec.kind == "upsample":
        new = _upsample_axis(prof, spec, out_size, len(result.input))
    else:  # pixelshuffle
        r = g("r", axis, 1)
        start, stop = (prof.start * r, prof.stop * r) if prof.stop > prof.start else (0, 0)
        new = AxisProfile(np.repeat(prof.counts, r), start, stop)
    if new.counts.size != out_size:  # our arithmetic disagrees with arith's: a bug, not input
        raise RuntimeError(f"{spec.kind} axis {axis}: {new.counts.size} != {out_size}")
    return new


def axis_profile(results: list[LayerResult], axis: int) -> AxisProfile:
    """The 1D counts and interior of one axis after every layer of a sized stack."""
    n = results[0].input[axis] if results else 1
    prof = AxisProfile(np.ones(n, np.int64), 0, n)
    for result in results:
        prof = _step(prof, result, axis)
    return prof


# ---------------------------------------------------------------- period, verdict, explanation


def _period(seq: np.ndarray) -> int:
    """The smallest p with seq[x] == seq[x + p] everywhere, seen at least twice (else len).

    Used only where :func:`periodic_pattern` has no answer; no cap on p. A cheap look at the
    first values rules most candidates out.
    """
    n = seq.size
    for p in range(1, n // 2 + 1):
        head = min(n - p, 64)
        if np.array_equal(seq[p : p + head], seq[:head]) and np.array_equal(seq[p:], seq[:-p]):
            return p
    return max(n, 1)


PATTERN_LIMIT = 1 << 22  # longest period (per axis) computed exactly; past it, measured


def _minimal_cycle(x: np.ndarray) -> np.ndarray:
    """The shortest prefix whose repetition is the cyclic sequence ``x`` (a divisor of len)."""
    n = x.size
    small = [q for q in range(1, math.isqrt(n) + 1) if n % q == 0]
    for q in small + [n // q for q in reversed(small)]:
        if np.array_equal(x, np.roll(x, q)):
            return x[:q].copy()
    return x  # unreachable: q = n always matches


PATTERN_WORK = 1 << 26  # element operations of a cyclic max pool, past which it is measured


def _cyclic_walks(n: int, d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Z_n walked by steps of d: ``order[c, m] = (c + m*d) mod n``, one row per coset of
    gcd(d, n), and for each index its row and its place in that row."""
    g = math.gcd(d % n, n)
    order = (np.arange(g, dtype=np.int64)[:, None] + np.arange(n // g)[None, :] * (d % n)) % n
    row = np.empty(n, np.int64)
    place = np.empty(n, np.int64)
    row[order] = np.arange(g)[:, None]
    place[order] = np.arange(n // g)[None, :]
    return order, row, place


def _cyclic_window_sums(x: np.ndarray, starts: np.ndarray, k: int, d: int) -> np.ndarray:
    """``w[i] = sum_{j<k} x[(starts[i] + j*d) mod n]``, ``x`` one cycle of a periodic sequence.

    O(n + len(starts)) whatever K: the taps of a window walk one coset of gcd(d, n), which
    they go round ``K // L`` times whole (L = its length) plus a run of ``K % L``, a
    difference of prefix sums along the coset walked twice.
    """
    order, row, place = _cyclic_walks(x.size, d)
    vals = x[order]
    length = vals.shape[1]
    full, rest = divmod(k, length)
    prefix = np.zeros((vals.shape[0], 2 * length + 1), np.int64)
    prefix[:, 1:] = np.cumsum(np.concatenate([vals, vals], axis=1), axis=1)
    r, m = row[starts % x.size], place[starts % x.size]
    return full * prefix[r, length] + prefix[r, m + rest] - prefix[r, m]


def _cyclic_window_max(x: np.ndarray, starts: np.ndarray, k: int, d: int) -> np.ndarray | None:
    """``max_{j<k} x[(starts[i] + j*d) mod n]``; None past PATTERN_WORK element operations."""
    order, row, place = _cyclic_walks(x.size, d)
    vals = x[order]
    length = vals.shape[1]
    width = min(k, length)
    r, m = row[starts % x.size], place[starts % x.size]
    if width == length:
        return vals.max(axis=1)[r]
    if starts.size * width > PATTERN_WORK:
        return None
    laid = np.concatenate([np.concatenate([vals, vals], axis=1).reshape(-1), [0]])
    begin = r * 2 * length + m
    return np.maximum.reduceat(laid, np.stack([begin, begin + width], axis=1).reshape(-1))[::2]


def _periodic_step(x: np.ndarray, result: LayerResult, axis: int) -> np.ndarray | None:
    """One layer applied to the infinite repetition of ``x``: one cycle of the output.

    None when the layer is not shift-invariant (an upsample to a fixed size, a non-integer or
    float-rounded scale) or the cycle would be longer than ``PATTERN_LIMIT``.
    """
    spec, g = result.spec, result.spec.get
    n = x.size
    k, s, p, d = g("k", axis, 1), g("s", axis, 1), g("p", axis, 0), g("d", axis, 1)
    if spec.kind == "convT":
        cycle = n * s
        if cycle > PATTERN_LIMIT:
            return None
        z = np.zeros(cycle, np.int64)
        z[::s] = x
        # output o is position t = o + P before the crop, y[t] = sum_j z[t - j*D]
        t = np.arange(cycle, dtype=np.int64) + p
        return _cyclic_window_sums(z, t - (k - 1) * d, k, d)
    if spec.kind in ("conv", "pool"):
        if spec.kind == "pool":
            s = g("s", axis, k)
        cycle = n // math.gcd(n, s)
        base = np.arange(cycle, dtype=np.int64) * s - p
        if spec.kind == "pool" and spec.options.get("type", "max") == "max":
            return _cyclic_window_max(x, base, k, d)
        return _cyclic_window_sums(x, base, k, d)
    if spec.kind == "pixelshuffle":
        return np.repeat(x, g("r", axis, 1))
    # upsample: shift-invariant only as a whole-number scale that torch reads as one
    if "scale" not in spec.options:
        return None
    scale = float(spec.options["scale"])
    n_in, n_out = result.input[axis], result.output[axis]
    if not scale.is_integer() or n_out != n_in * int(scale):
        return None
    exact = spec.options.get("mode", "nearest") == "nearest-exact"
    src = _nearest_sources(n_in, n_out, scale, exact, shortcuts=len(result.input) >= 2)
    if not np.array_equal(src, np.arange(n_out) // int(scale)):
        return None
    return np.repeat(x, int(scale))


def periodic_pattern(results: list[LayerResult], axis: int) -> np.ndarray | None:
    """One period of the interior pattern of ``axis`` for an unboundedly large input.

    The input is all ones (period 1); each layer maps a periodic sequence to a periodic one
    (a transposed convolution with stride S multiplies the period by S, a strided conv divides
    it by gcd(period, S), nearest x R and pixel shuffle multiply it by R), and the cycle is cut
    to its shortest repeat after each layer. So the period is exact: the lcm of the per-layer
    periods scaled through the stack, without a cap. None when a layer is not shift-invariant
    (then the period is measured on the map).
    """
    x = np.ones(1, np.int64)
    for result in results:
        y = _periodic_step(x, result, axis)
        if y is None:
            return None
        x = _minimal_cycle(y)
    return x


def _growth_bound(results: list[LayerResult], axis: int) -> int:
    """A guess at the period of the interior pattern: the product of the upsampling factors.

    It depends on the layers only, not on the input size, so that the map of ``verdict_input``
    is long enough by the same rule.
    """
    bound = 1
    for r in results:
        spec = r.spec
        if spec.kind == "convT":
            bound *= spec.get("s", axis, 1)
        elif spec.kind == "pixelshuffle":
            bound *= spec.get("r", axis, 1)
        elif spec.kind == "upsample" and "scale" in spec.options:
            bound *= max(math.ceil(float(spec.options["scale"])), 1)
    return bound


def _verdict_sequence(
    specs: list[LayerSpec],
    input_size: Axes,
    prof: AxisProfile,
    results: list[LayerResult],
    axis: int,
) -> tuple[np.ndarray, int]:
    """The interior sequence the verdict of ``axis`` is read from, and the input size used.

    This map's own interior when it holds at least two periods' worth of pixels; otherwise the
    same stack on a larger input (doubling, a few times at most).
    """
    need = 2 * _growth_bound(results, axis)
    cap = min(limits.budget(), max(4 * estimate(results)[0], PROBE_FLOOR))  # bytes per probe
    seq, used = prof.interior, input_size[axis]
    n = used
    for _ in range(12):
        if seq.size >= need:
            break
        n *= 2
        probe = tuple(n if a == axis else i for a, i in enumerate(input_size))
        try:
            probe_results = arith.stack_output(specs, probe)
            bytes_needed, ops = estimate(probe_results, axes=(axis,))
            too_big = bytes_needed > cap or ops > limits.MAX_OPS
            if probe_results[-1].output[axis] > MAX_AXIS or too_big:
                break
            cand = axis_profile(probe_results, axis)
        except UpscopeError:
            break
        if cand.interior_len > seq.size:
            seq, used = cand.interior, n
    return seq, used


def _combine(seqs: list[np.ndarray]) -> str:
    if any(s.size == 0 for s in seqs):
        return "even"
    if any(int(s.min()) == 0 for s in seqs):
        return "holes"
    if any(int(s.min()) != int(s.max()) for s in seqs):
        return "checkerboard"
    return "even"


def _judge_layers(results: list[LayerResult]) -> tuple[str, str]:
    """The verdict of a stack without an interior: each layer's own interior pattern.

    A layer alone on a large constant input: its periodic pattern (only a transposed
    convolution can make one uneven; a layer that is not shift-invariant keeps a constant
    input constant). Holes beat checkerboard beat even, over every layer and axis.
    """
    ones = np.ones(1, np.int64)
    worst: dict[str, tuple[int, LayerSpec]] = {}
    for n, result in enumerate(results, start=1):
        seqs = []
        for axis in range(len(result.input)):
            own = _periodic_step(ones, result, axis)
            seqs.append(ones if own is None else own)
        worst.setdefault(_combine(seqs), (n, result.spec))
    head = (
        "no interior large enough to show the pattern: almost every output pixel is touched by "
        "the border, and border fall-off is not a checkerboard, so each layer's own interior "
        "is judged"
    )
    for verdict, what in (("holes", "has holes"), ("checkerboard", "spreads its taps unevenly")):
        if verdict in worst:
            n, spec = worst[verdict]
            return verdict, f"{head}: layer {n} ({spec.kind} {spec.describe()}) {what}"
    return "even", f"{head}: every layer spreads its taps evenly"


def _values_text(values: list[int]) -> str:
    if len(values) == 1:
        return str(values[0])
    if len(values) <= 6:
        return ", ".join(map(str, values[:-1])) + f" or {values[-1]}"
    return f"{values[0]} to {values[-1]} ({len(values)} different counts)"


def _axes_text(spec: LayerSpec, key: str, ndim: int, default: int) -> str:
    values = [spec.get(key, a, default) for a in range(ndim)]
    return str(values[0]) if len(set(values)) == 1 else "x".join(map(str, values))


def _explain(
    specs: list[LayerSpec], seqs: list[np.ndarray], verdict: str, period: tuple[int, ...]
) -> str:
    ndim = len(seqs)
    values = functools.reduce(np.multiply.outer, [np.unique(s) for s in seqs])
    distinct = sorted({int(v) for v in np.unique(values)})
    nonzero = [v for v in distinct if v]
    single = all(spec == specs[0] for spec in specs)
    prefix = ""
    if single and specs[0].kind == "convT":
        spec = specs[0]
        k, s = _axes_text(spec, "k", ndim, 1), _axes_text(spec, "s", ndim, 1)
        d = _axes_text(spec, "d", ndim, 1)
        dil = "" if d == "1" else f" with D={d}"
        stacked = f"{len(specs)} stacked layers of " if len(specs) > 1 else ""
        if verdict == "even" and dil == "" and len(specs) == 1:
            prefix = f"K={k} is a multiple of S={s}: "
        elif verdict == "checkerboard" and dil == "" and len(specs) == 1:
            prefix = f"K={k} is not a multiple of S={s}: "
        else:
            prefix = f"{stacked}K={k}, S={s}{dil}: "
    elif len(specs) > 1:
        prefix = f"a stack of {len(specs)} layers: "
    per = "x".join(map(str, period))
    cell = arith.cell_word(ndim)
    if verdict == "even":
        return f"{prefix}every interior {cell} receives {distinct[0]} contributions; only the " + (
            "border falls off"
        )
    if verdict == "holes":
        rest = f"; the others receive {_values_text(nonzero)}" if nonzero else ""
        return f"{prefix}some interior {cell}s receive no contribution at all (holes){rest}"
    return f"{prefix}interior {cell}s receive {_values_text(distinct)} contributions (period {per})"


# ---------------------------------------------------------------- public API


def stack_overlap(specs: list[LayerSpec], input_size: Axes) -> OverlapResult:
    """The overlap-count map of a stack of layers (PyTorch semantics) on ``input_size``.

    Sizes are those of :func:`upscope.arith.stack_output`, which also rejects what torch
    rejects; kinds without an integer count (``pixelunshuffle``, non-nearest upsampling) raise
    :class:`UpscopeError`.
    """
    specs = list(specs)
    if not specs:
        raise UpscopeError("no layers given")
    input_size = tuple(int(i) for i in input_size)
    if not input_size:
        raise UpscopeError("the input needs at least one axis")
    for spec in specs:
        _check_supported(spec)
    results = arith.stack_output(specs, input_size)
    output = results[-1].output
    cells = math.prod(output)
    if cells > MAX_CELLS:
        shown = "x".join(map(str, output))
        raise UpscopeError(
            f"the map would be {shown} = {cells} pixels, more than {MAX_CELLS}; "
            "use a smaller input or one axis"
        )
    bytes_needed, ops = estimate(results)
    what = f"the overlap map of {_stack_text(specs)} on input {'x'.join(map(str, input_size))}"
    limits.check_memory(bytes_needed, what)
    limits.check_ops(ops, what, "use a smaller input or kernel")
    ndim = len(input_size)
    profiles = tuple(axis_profile(results, axis) for axis in range(ndim))
    peaks = [int(p.counts.max()) for p in profiles]
    if math.prod(peaks) >= _COUNT_LIMIT:
        raise UpscopeError("overlap counts would overflow 64-bit integers: too many layers")
    full = functools.reduce(np.multiply.outer, [p.counts for p in profiles])
    interior = tuple((p.start, max(p.stop, p.start)) for p in profiles)
    inner = [p.interior for p in profiles]
    has_interior = all(x.size for x in inner)
    i_min: int | None
    i_max: int | None
    if has_interior:
        i_min = math.prod(int(x.min()) for x in inner)
        i_max = math.prod(int(x.max()) for x in inner)
        ratio = None if i_min == 0 else i_max / i_min
    else:
        i_min = i_max = None
        ratio = None
    found = [_verdict_sequence(specs, input_size, p, results, a) for a, p in enumerate(profiles)]
    seqs = [seq for seq, _ in found]
    verdict_input = tuple(used for _, used in found)
    patterns = [periodic_pattern(results, axis) for axis in range(ndim)]
    period = tuple(
        pat.size if pat is not None else (_period(seq) if seq.size else 1)
        for pat, seq in zip(patterns, seqs, strict=True)
    )
    # two periods' worth of interior shows the whole pattern; less (none, or too few pixels
    # after trying larger inputs, e.g. behind an upsample to a fixed size) cannot, so then
    # each layer's own interior is judged instead
    needs = [2 * _growth_bound(results, axis) for axis in range(ndim)]
    if all(seq.size >= need for seq, need in zip(seqs, needs, strict=True)):
        rule = "interior"
        verdict = _combine(seqs)
        explanation = _explain(specs, seqs, verdict, period)
        if verdict_input != input_size:
            shown = "x".join(map(str, verdict_input))
            explanation += (
                f" (this input is too small to show the whole pattern: verdict and period from "
                f"input {shown})"
            )
    else:
        rule = "layers"
        verdict, explanation = _judge_layers(results)
    return OverlapResult(
        map=full,
        min=math.prod(int(p.counts.min()) for p in profiles),  # counts are >= 0, so the
        max=math.prod(peaks),  # extremes of an outer product are products of extremes
        interior_min=i_min,
        interior_max=i_max,
        interior_ratio=ratio,
        period=period,
        verdict=verdict,
        explanation=explanation,
        input_size=input_size,
        output_size=output,
        interior=interior,
        profiles=profiles,
        verdict_input=verdict_input,
        specs=tuple(specs),
        verdict_rule=rule,
    )


def _axes(value: int | tuple[int, ...], name: str, ndim: int) -> Axes:
    values = (value,) if isinstance(value, int) else tuple(int(v) for v in value)
    if len(values) == 1:
        return values * ndim
    if len(values) != ndim:
        raise UpscopeError(f"{name} has {len(values)} axes but the input has {ndim}")
    return values


def convt_overlap(
    k: tuple[int, ...],
    s: tuple[int, ...],
    p: tuple[int, ...],
    op: tuple[int, ...],
    d: tuple[int, ...],
    input_size: tuple[int, ...],
    layers: int = 1,
    pe: tuple[int, ...] | None = None,
) -> OverlapResult:
    """The overlap-count map of ``layers`` identical ConvTranspose layers on ``input_size``.

    Each parameter is one value per axis (a 1-tuple applies to every axis); the map has
    ``len(input_size)`` axes. ``pe``: the padding at the end of each axis, when it differs from
    ``p`` at the start (ONNX's asymmetric pads; :func:`upscope.arith.convt_output_asym`).

    >>> convt_overlap((3,), (2,), (0,), (0,), (1,), (4,), pe=(1,)).map.tolist()
    [1, 1, 2, 1, 2, 1, 2, 1]
    """
    input_size = tuple(int(i) for i in input_size)
    ndim = len(input_size)
    if layers < 1:
        raise UpscopeError(f"layers must be at least 1, got {layers}")
    values = {
        "k": _axes(k, "k", ndim),
        "s": _axes(s, "s", ndim),
        "p": _axes(p, "p", ndim),
        "op": _axes(op, "op", ndim),
        "d": _axes(d, "d", ndim),
    }
    ends = None if pe is None else _axes(pe, "pe", ndim)
    per_axis = {name for name, v in values.items() if len(set(v)) > 1}
    spec = arith.convt_spec(
        values["k"], values["s"], values["p"], values["op"], values["d"], per_axis, ends
    )
    return stack_overlap([spec] * layers, input_size)


# ---------------------------------------------------------------- cost, before any array exists


def _stack_text(specs: list[LayerSpec]) -> str:
    if all(spec == specs[0] for spec in specs):
        times = f" x{len(specs)}" if len(specs) > 1 else ""
        return f"{specs[0].kind} {specs[0].describe()}{times}"
    return f"a stack of {len(specs)} layers"


def _step_cost(result: LayerResult, axis: int) -> tuple[int, int]:
    """(bytes, element operations) of one layer on one axis, as :func:`_step` computes it."""
    spec, g = result.spec, result.spec.get
    x, out = result.input[axis], result.output[axis]
    k, s, d = g("k", axis, 1), g("s", axis, 1), g("d", axis, 1)
    if spec.kind == "convT":
        span = (x - 1) * s + 1  # the stretched input, then its residue prefix sums
        return 8 * (3 * (span + d) + 20 * out + 2 * s), 3 * span + 20 * out
    if spec.kind == "pool" and spec.options.get("type", "max") == "max":
        return 8 * (6 * (x + d) + 12 * out), out * min(k, x // d + 1) + 6 * x
    if spec.kind in ("conv", "pool"):
        return 8 * (3 * (x + d) + 20 * out), 3 * x + 20 * out
    if spec.kind == "upsample":
        return 8 * 5 * out, 8 * out  # source indices, float32 index arithmetic
    return 8 * 2 * out, 2 * out  # pixelshuffle: a repeat


def estimate(results: list[LayerResult], axes: tuple[int, ...] | None = None) -> tuple[int, int]:
    """(peak bytes, element operations) of :func:`stack_overlap` for a sized stack.

    Per axis, the largest layer's arrays plus the profile it reads; then the full map (and one
    temporary of its size). Only ``axes`` when given (the verdict's larger-input probes).
    """
    ndim = len(results[0].input) if results else 0
    chosen = range(ndim) if axes is None else axes
    total_bytes = total_ops = 0
    for axis in chosen:
        costs = [_step_cost(r, axis) for r in results]
        total_bytes += max(b for b, _ in costs) + 8 * max(r.input[axis] for r in results)
        total_ops += sum(o for _, o in costs)
    if axes is None:
        cells = math.prod(results[-1].output)
        total_bytes += 2 * 8 * cells
        total_ops += 4 * cells
    return total_bytes, total_ops
