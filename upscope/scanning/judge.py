"""Judge every upsampling op record of a scan (torch-free: any front end's records).

A scan has three steps, each returning plain data, each in its own module:

1. loading (:mod:`upscope.scanning.load`): :func:`load_model` imports ``file.py:Name`` or
   ``package.module:Name`` (this executes that Python file, as any import does), builds it, and
   :func:`load_weights` loads a state dict.
2. tracing (:mod:`upscope.scanning.torch_front`): :func:`trace` runs one forward pass and returns
   every call of a transposed conv, ``F.interpolate`` or ``F.pixel_shuffle`` as an
   :class:`UpOp`, named by the module that made it.
3. judging (here): :func:`judge` gives each op its overlap verdict, the polyphase weight imbalance
   of its kernel, the compound overlap map of the transposed convs that feed one another, and a
   flag. :func:`upscope.scanning.run.scan` does all three for a PyTorch model.

This module imports no torch, so a front end for another format can use it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from upscope import arith
from upscope.errors import UpscopeError
from upscope.metrics import polyphase_sums
from upscope.overlap_map import OverlapResult, convt_overlap, stack_overlap
from upscope.result import Brief, Result
from upscope.scanning.args import GRID_THRESHOLD, check_fail_on
from upscope.scanning.grid import OutputGrid, attribute, can_learn, op_period
from upscope.scanning.records import Dims, Shape, UpOp

if TYPE_CHECKING:
    from upscope.scanning.fix import Fix

__all__ = [
    "GRID_THRESHOLD",
    "IMBALANCE_THRESHOLD",
    "RESPONSE_THRESHOLD",
    "STATUSES",
    "Finding",
    "ScanResult",
    "judge",
    "status",
    "worst",
]

#: Where no grid is measured (ONNX), an op whose mean relative weight imbalance exceeds this is an
#: ``artifact`` (docs/scan.md).
IMBALANCE_THRESHOLD = 0.1
#: The response score above which the table colours it red (evidence only; it decides nothing).
RESPONSE_THRESHOLD = 0.1
#: The statuses, worst first: uneven now, uneven geometry only, neither.
STATUSES = ("artifact", "risk", "ok")


def _phase_sums(weight: np.ndarray, stride: Shape, dilation: Shape, groups: int) -> np.ndarray:
    """Polyphase sub-kernel sums (:func:`upscope.metrics.polyphase_sums`) per output channel,
    shape (C_out, *stride); with groups, each output channel sums over its own group's inputs."""
    chunks = np.split(weight, groups, axis=0)
    return np.concatenate([polyphase_sums(chunk, stride, dilation) for chunk in chunks], axis=0)


def _pair_sums(weight: np.ndarray, stride: Shape, dilation: Shape) -> np.ndarray:
    """Polyphase sums per (output channel, input channel) pair of a ConvTranspose weight
    (C_in, C_out, *k) of one group: shape (C_out, C_in, *stride), not summed over inputs."""
    w = np.asarray(weight, dtype=np.float64)
    arr = np.swapaxes(w, 0, 1)  # (C_out, C_in, *k)
    for axis, (s, d) in enumerate(zip(stride, dilation, strict=True)):
        k = arr.shape[2 + axis]
        onehot = np.zeros((k, s))
        onehot[np.arange(k), (np.arange(k) * d) % s] = 1.0
        arr = np.moveaxis(np.tensordot(arr, onehot, axes=([2 + axis], [0])), -1, 2 + axis)
    return arr


def relative_imbalance(
    pairs: np.ndarray, taps: np.ndarray, per_phase: float, bias: np.ndarray | None = None
) -> np.ndarray:
    """Per output channel o: the RMS over its input channels c of (max - min over phases r of
    the sum ``pairs[o, c, r]``), divided by the kernel's own scale: the RMS of its taps
    ``taps[o]`` times sqrt(taps per phase), the spread a random kernel of that scale has. A
    per-phase ``bias`` (C_out, *phases) counts as one more input of level 1.

    0 for a zero-order hold; about 2 for a random kernel; float noise on sums that are all 0 stays
    noise (no division by a near-zero mean); NaN only for an all-zero kernel and bias.

    >>> seven_five = np.array([[[7.0, 5.0], [5.0, 7.0]]])  # (1 out, 2 in, 2 phases)
    >>> round(float(relative_imbalance(seven_five, seven_five, 1.0)[0]), 3)  # 2 / sqrt(37)
    0.329
    """
    flat = pairs.reshape(pairs.shape[0], pairs.shape[1], -1)
    spreads = flat.max(axis=2) - flat.min(axis=2)  # (C_out, C_in)
    power = (spreads**2).mean(axis=1)
    scale2 = (taps.reshape(taps.shape[0], -1) ** 2).mean(axis=1) * max(per_phase, 1.0)
    if bias is not None:
        b = bias.reshape(bias.shape[0], -1)
        n = flat.shape[1]
        power = (power * n + (b.max(axis=1) - b.min(axis=1)) ** 2) / (n + 1)
        scale2 = scale2 + (b**2).mean(axis=1)
    out = np.full(pairs.shape[0], np.nan)
    ok = scale2 > 0
    out[ok] = np.sqrt(power[ok] / scale2[ok])
    return out


def _convt_imbalance(weight: np.ndarray, stride: Shape, dilation: Shape, groups: int) -> np.ndarray:
    """:func:`relative_imbalance` of every output channel of a (grouped) ConvTranspose weight."""
    per_phase = math.prod(weight.shape[2:]) / math.prod(stride)
    parts = []
    for chunk in np.split(weight, groups, axis=0):
        pairs = _pair_sums(chunk, stride, dilation)
        parts.append(relative_imbalance(pairs, np.swapaxes(chunk, 0, 1), per_phase))
    return np.concatenate(parts)


@dataclass(repr=False)
class Finding(Brief):
    """The judgement of one op."""

    op: UpOp
    verdict: str
    interior_ratio: float | None
    note: str
    imbalance: np.ndarray | None = None  # per output channel
    phase_sums: np.ndarray | None = None  # (C_out, *stride) for convT, (C, r, r) pixel shuffle
    chain: list[str] = field(default_factory=list)  # transposed convs of the compound map
    chain_specs: list[arith.LayerSpec] = field(default_factory=list)
    chain_input: Shape = ()  # spatial input size of the first transposed conv of the chain
    reasons: list[str] = field(default_factory=list)
    with_bias: bool = False  # pixel shuffle: the feeding conv's bias is in phase_sums
    status: str = "ok"  # "artifact" | "risk" | "ok"
    fixes: list[Fix] = field(default_factory=list)  # ranked; filled for artifact / risk ops
    # the op's share of the model's measured output grid (None: not measured or not its kind)
    output_grid: float | None = None  # 8-bit grey levels, worst over levels and channels
    output_grid_rms: float | None = None  # the same in the output's units
    output_period: tuple[int | None, ...] | None = None  # its period in the output, per axis

    @property
    def name(self) -> str:
        """The op's name (its module path, ``path:function`` for a functional call)."""
        return self.op.name

    non_finite: str | None = None  # "weights hold NaN", ...: its own finding (see failing)

    _brief = (
        "name=op.name",
        "type=op.type",
        "status",
        "verdict",
        "imbalance=imbalance_worst",
        "response",
        "fixes",
    )

    @property
    def response(self) -> dict[str, float | None]:
        """The measured response score per model input (``"constant"``, ``"noise"``)."""
        return self.op.response

    @property
    def imbalance_mean(self) -> float | None:
        if self.imbalance is None or np.all(np.isnan(self.imbalance)):
            return None
        return float(np.nanmean(self.imbalance))

    @property
    def imbalance_worst(self) -> float | None:
        if self.imbalance is None or np.all(np.isnan(self.imbalance)):
            return None
        return float(np.nanmax(self.imbalance))

    @property
    def worst_channel(self) -> int | None:
        """The output channel with the largest imbalance (None: no channel has one, i.e. every
        channel's polyphase sums are all 0)."""
        if self.imbalance is None or np.all(np.isnan(self.imbalance)):
            return None
        return int(np.nanargmax(self.imbalance))

    def normalised_sums(self, channel: int) -> tuple[np.ndarray, float]:
        """The polyphase sums of output ``channel`` (summed over its inputs: its response to a
        constant input of 1) divided by their mean |sum|, and that mean, as the figure draws them.

        >>> sums = np.array([[[1.0, -1.0], [1.0, 5.0]]])  # one channel, 2x2 phases
        >>> values, scale = Finding(None, "even", None, "", phase_sums=sums).normalised_sums(0)
        >>> values.tolist(), scale
        ([[0.5, -0.5], [0.5, 2.5]], 2.0)
        """
        assert self.phase_sums is not None, "only a finding with polyphase sums has them"
        sums = self.phase_sums[channel]
        scale = float(np.abs(sums).mean())
        return (sums / scale if scale > 0 else np.zeros_like(sums)), scale

    @property
    def flagged(self) -> bool:
        return bool(self.reasons)

    def compound(self) -> OverlapResult | None:
        """The overlap of the chain of transposed convs ending here (None: too large a map)."""
        if not self.chain_specs:
            return None
        try:
            return stack_overlap(self.chain_specs, self.chain_input)
        except UpscopeError:
            return None

    def compound_map(self) -> np.ndarray | None:
        """The compound overlap-count map, int64, one axis per spatial axis."""
        result = self.compound()
        return None if result is None else result.map


def _spec(op: UpOp) -> arith.LayerSpec:
    prm = op.params
    keys = {"k": "kernel", "s": "stride", "p": "padding", "op": "output_padding", "d": "dilation"}
    per_axis = {short for short, key in keys.items() if len(set(prm[key])) > 1}
    k, s, p, o, d = (tuple(prm[key]) for key in keys.values())
    return arith.convt_spec(k, s, p, o, d, per_axis, _padding_end(op))


#: The input size per axis on which an op whose input size a front end could not determine is
#: judged (the verdict and interior ratio do not depend on the input size; the map drawn does).
STAND_IN_SIZE = 16


def _padding_end(op: UpOp) -> Shape | None:
    """The padding at the end of each axis when it differs from ``padding`` (ONNX pads)."""
    pe = op.params.get("padding_end")
    return None if pe is None else tuple(pe)


def _judged_input(op: UpOp) -> Shape:
    """The op's spatial input size, or :data:`STAND_IN_SIZE` per axis when it is unknown."""
    known = op.spatial_in
    return known if known is not None else (STAND_IN_SIZE,) * op.ndim


def _overlap(op: UpOp) -> OverlapResult:
    """The overlap core's result for this layer alone on its observed input size.

    If that map would be too large, a 32-pixel input per axis gives the same interior pattern.
    """
    prm = op.params
    k, s, p, o, d = (
        tuple(prm[key]) for key in ("kernel", "stride", "padding", "output_padding", "dilation")
    )
    size, pe = _judged_input(op), _padding_end(op)
    try:
        return convt_overlap(k, s, p, o, d, size, layers=1, pe=pe)
    except UpscopeError:
        return convt_overlap(k, s, p, o, d, tuple(min(n, 32) for n in size), layers=1, pe=pe)


def _judge_convT(op: UpOp, previous: Finding | None) -> Finding:
    prm = op.params
    result = _overlap(op)
    verdict, ratio = result.verdict, result.interior_ratio
    assert op.weight is not None, "a transposed conv op always records its weight"
    sums = _phase_sums(op.weight, prm["stride"], prm["dilation"], prm["groups"])
    imbalance = _convt_imbalance(op.weight, prm["stride"], prm["dilation"], prm["groups"])
    finding = Finding(op, verdict, ratio, result.explanation, imbalance, sums)
    chained = (
        previous is not None
        and previous.op.kind == "convT"
        and previous.op.ndim == op.ndim
        and op.spatial_in is not None
        and previous.op.spatial_out == op.spatial_in
    )
    if chained:
        assert previous is not None
        finding.chain = [*previous.chain, op.name]
        finding.chain_specs = [*previous.chain_specs, _spec(op)]
        finding.chain_input = previous.chain_input
    else:
        finding.chain, finding.chain_specs = [op.name], [_spec(op)]
        finding.chain_input = _judged_input(op)
    if verdict == "checkerboard":
        shown = "?" if ratio is None else f"{ratio:g}"
        finding.reasons.append(f"uneven overlap (interior max/min {shown})")
    elif verdict == "holes":
        finding.reasons.append("holes: some output phases get no kernel tap")
    return finding


def _judge_interpolate(op: UpOp) -> Finding:
    prm = op.params
    mode = prm["mode"]
    note = (
        f"{mode} resize: the weights of every output pixel sum to 1, so a constant input stays "
        "constant: no overlap checkerboard"
    )
    ins, outs = op.spatial_in, op.spatial_out
    if ins is not None and outs is not None:
        ratios = [o / i for o, i in zip(outs, ins, strict=True)]
    else:
        ratios = list(prm.get("scale_factor") or ())
    if mode in ("nearest", "nearest-exact") and any(not float(v).is_integer() for v in ratios):
        note += (
            "; non-integer scale: nearest repeats some rows/columns more often than others "
            "(uneven stretching, not a constant-input checkerboard)"
        )
    return Finding(op, "even", None, note)


def _judge_pixelshuffle(op: UpOp) -> Finding:
    r = op.params["upscale_factor"]
    note = (
        f"pixel shuffle (r={r}) has no overlap: every output pixel comes from one input channel. "
        f"It makes a checkerboard when the {r * r} channels feeding one output channel respond "
        "differently, i.e. the weight (and bias) imbalance of the conv before it (ICNR init makes "
        "them equal)"
    )
    finding = Finding(op, "even", None, note)
    if op.feeding_conv is None:
        finding.note += "; that conv was not found right before it, so it is not measured here"
        return finding
    path, weight = op.feeding_conv
    channels = weight.shape[0]
    if channels % (r * r):
        return finding
    # channel c * r^2 + a * r + b of the conv becomes phase (a, b) of output channel c; its
    # response to a constant input of 1 (away from the border) is its weight sum plus its bias
    response = weight.reshape(channels, -1).sum(axis=1)
    bias = op.feeding_bias
    if bias is not None and bias.shape == (channels,):
        response = response + bias
        measured = "weight sum + bias of each channel (its response to a constant input of 1)"
    else:
        bias = None
        measured = "weight sum of each channel (it has no bias)"
    sums = response.reshape(channels // (r * r), r, r)
    finding.phase_sums = sums
    per_out = weight.reshape(channels // (r * r), r, r, weight.shape[1], -1)
    pairs = np.moveaxis(per_out.sum(axis=-1), 3, 1)  # (C', C_in, r, r)
    finding.imbalance = relative_imbalance(
        pairs,
        weight.reshape(channels // (r * r), -1),
        float(math.prod(weight.shape[2:])),
        None if bias is None else bias.reshape(channels // (r * r), r, r),
    )
    finding.with_bias = bias is not None
    finding.note += f"; measured on the conv {path or '(root)'} that feeds it: {measured}"
    return finding


def status(
    finding: Finding,
    threshold: float = GRID_THRESHOLD,
    imbalance_threshold: float = IMBALANCE_THRESHOLD,
) -> str:
    """The one status rule, for PyTorch and ONNX (docs/scan.md):

    - ``artifact``: the output grid attributed to the op is above ``threshold`` grey levels now;
      where no grid was measured for it (ONNX: nothing runs), its weights are the evidence: mean
      relative imbalance above ``imbalance_threshold`` (the weights make a grid from a constant
      input now);
    - ``risk``: not now, but the op can learn one (:func:`upscope.scanning.grid.can_learn`: a
      strided transposed conv whatever K and init, a pixel shuffle), or its geometry is uneven
      or has holes;
    - ``ok``: it cannot make a phase pattern from a constant input (interpolation, stride 1).
    """
    grid = finding.output_grid
    if grid is not None:
        if grid > threshold:
            return "artifact"
    else:
        mean = finding.imbalance_mean
        if mean is not None and mean > imbalance_threshold:
            return "artifact"
    if can_learn(finding.op) or finding.verdict in ("checkerboard", "holes"):
        return "risk"
    return "ok"


def _attach_grid(findings: Sequence[Finding], grid: OutputGrid) -> None:
    """Each finding's share of the measured output grid, by period (:func:`.grid.attribute`)."""
    final = grid.output_shape[1:]
    periods = [op_period(f.op, final) if f.op.kind != "interpolate" else None for f in findings]
    shares, _ = attribute(grid, periods)
    for finding, period, share in zip(findings, periods, shares, strict=True):
        finding.output_period = period
        if share is None or not can_learn(finding.op):
            continue
        finding.output_grid_rms = float(share.max())
        finding.output_grid = grid.grey(finding.output_grid_rms)


def _which(values: np.ndarray) -> list[str]:
    """``["NaN", "inf"]``: what ``values`` hold that is not a finite number."""
    if values.dtype.kind not in "fc" or np.isfinite(values).all():
        return []
    return [word for word, test in (("NaN", np.isnan), ("inf", np.isinf)) if test(values).any()]


def not_finite(op: UpOp) -> str | None:
    """``"weights hold NaN; output holds inf"`` when the op's weights, the bias of the conv that
    feeds a pixel shuffle, or its output in the forward pass hold NaN or inf; else None."""
    parts = []
    conv = op.feeding_conv[1] if op.feeding_conv is not None else None
    for what, values in (
        ("weights hold", op.weight),
        ("feeding conv's weights hold", conv),
        ("feeding conv's bias holds", op.feeding_bias),
    ):
        found = [] if values is None else _which(np.asarray(values))
        if found:
            parts.append(f"{what} {' and '.join(found)}")
    if op.output_non_finite:
        parts.append(f"output holds {' and '.join(op.output_non_finite)}")
    return "; ".join(parts) or None


def judge(
    ops: Sequence[UpOp],
    threshold: float = GRID_THRESHOLD,
    grid: OutputGrid | None = None,
    imbalance_threshold: float = IMBALANCE_THRESHOLD,
) -> list[Finding]:
    """Judge every op in call order: geometry, weights, its share of the measured output
    ``grid`` (None: not measured, e.g. ONNX), then the status (:func:`status`); a finding is
    flagged (has reasons) when its status is not ``ok``."""
    findings: list[Finding] = []
    for op in ops:
        previous = findings[-1] if findings else None
        if op.kind == "convT":
            finding = _judge_convT(op, previous)
        elif op.kind == "interpolate":
            finding = _judge_interpolate(op)
        else:
            finding = _judge_pixelshuffle(op)
        finding.non_finite = not_finite(op)
        if finding.non_finite is not None:  # its own finding, whatever the status says
            finding.reasons.append(f"not finite: its {finding.non_finite}")
        findings.append(finding)
    if grid is not None:
        _attach_grid(findings, grid)
    for finding in findings:
        finding.status = status(finding, threshold, imbalance_threshold)
        measured, mean = finding.output_grid, finding.imbalance_mean
        if measured is not None and measured > threshold:
            finding.reasons.insert(0, f"output grid {measured:.2f} grey levels > {threshold:g}")
        elif measured is None and mean is not None and mean > imbalance_threshold:
            finding.reasons.insert(0, f"weight imbalance {mean:.2f} > {imbalance_threshold:g}")
        if finding.status != "ok" and not finding.reasons:
            now = "balanced weights" if measured is None else f"grid {measured:.2f} grey levels"
            finding.reasons.append(
                f"{now} now, can learn a grid in training: its output phases have their own "
                "trainable parameters"
            )
    return findings


def worst(findings: Sequence[Finding]) -> Finding | None:
    """The flagged op with the largest output grid, then weight imbalance (risk-only flags
    rank last)."""
    flagged = [f for f in findings if f.flagged]
    if not flagged:
        return None

    def key(f: Finding) -> tuple[int, float, float, float]:
        mean = f.imbalance_mean
        grid = f.output_grid
        return (
            f.status == "artifact",
            -math.inf if grid is None else grid,
            -math.inf if mean is None else mean,
            f.interior_ratio or math.inf,
        )

    return max(flagged, key=key)


@dataclass(repr=False)
class ScanResult(Result):
    """The result of a scan: every op judged, in call order (``upscope.scan`` returns it).

    ``to_dict()`` is the CLI's ``--json`` document, ``save_png(out)`` writes the figures of the
    flagged ops (their paths then appear under ``"png"``), ``rich.print(result)`` shows the table.
    """

    model: str
    input_shapes: list[Dims]  # None: a dimension the graph leaves symbolic (ONNX)
    shapes_from_model: bool
    findings: list[Finding]
    threshold: float = IMBALANCE_THRESHOLD
    response_threshold: float = RESPONSE_THRESHOLD
    grid: OutputGrid | None = None  # the measured output grid (None: not measured, ONNX)
    grid_threshold: float = GRID_THRESHOLD  # grey levels
    grid_reason: str = ""  # why no grid was measured (PyTorch)
    inputs: tuple[str, ...] = ("constant",)
    pngs: list[Path] = field(default_factory=list)
    model_format: str = "pytorch"  # "pytorch" | "onnx"
    output_non_finite: list[str] = field(default_factory=list)  # the model's output: NaN, inf
    audio: Any = None  # scan --rate: an upscope.scanning.audio.AudioTones (the Hz view)

    _brief = ("model", "format=model_format", "input_shapes", "statuses=status_counts", "findings")

    @property
    def status_counts(self) -> dict[str, int]:
        """How many ops have each status, worst first (statuses no op has left out)."""
        return {s: n for s in STATUSES if (n := sum(f.status == s for f in self.findings))}

    def failing(self, fail_on: str) -> list[Finding]:
        """The ops at status ``fail_on`` or worse (``artifact`` counts for ``risk``), and every op
        whose weights or output hold NaN or inf, whatever its status."""
        check_fail_on(fail_on)
        worse = STATUSES[: STATUSES.index(fail_on) + 1]
        return [f for f in self.findings if f.status in worse or f.non_finite is not None]
