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
from upscope.metrics import polyphase_sums, weight_imbalance
from upscope.overlap_map import OverlapResult, convt_overlap, stack_overlap
from upscope.result import Brief, Result
from upscope.scanning.args import check_fail_on
from upscope.scanning.records import Dims, Shape, UpOp

if TYPE_CHECKING:
    from upscope.scanning.fix import Fix

__all__ = [
    "IMBALANCE_THRESHOLD",
    "RESPONSE_THRESHOLD",
    "STATUSES",
    "Finding",
    "ScanResult",
    "judge",
    "status",
    "worst",
]

#: An op whose mean per-channel weight imbalance exceeds this is an ``artifact`` (docs/scan.md).
IMBALANCE_THRESHOLD = 0.1
#: An op whose constant-input response score exceeds this is an ``artifact`` (docs/scan.md).
RESPONSE_THRESHOLD = 0.1
#: The statuses, worst first: uneven now, uneven geometry only, neither.
STATUSES = ("artifact", "risk", "ok")


def _phase_sums(weight: np.ndarray, stride: Shape, dilation: Shape, groups: int) -> np.ndarray:
    """Polyphase sub-kernel sums (:func:`upscope.metrics.polyphase_sums`) per output channel,
    shape (C_out, *stride); with groups, each output channel sums over its own group's inputs."""
    chunks = np.split(weight, groups, axis=0)
    return np.concatenate([polyphase_sums(chunk, stride, dilation) for chunk in chunks], axis=0)


def _imbalance(sums: np.ndarray) -> np.ndarray:
    """(max - min) / mean |sum| over the phases of each output channel of ``sums`` (C, *S).

    :func:`upscope.metrics.weight_imbalance` of a kernel whose every polyphase sub-kernel is one
    tap holding that sum, which gives back exactly these sums.

    >>> _imbalance(np.array([[[1.0, 1.0], [1.0, 1.0]], [[1.0, 3.0], [1.0, 3.0]]])).tolist()
    [0.0, 1.0]
    """
    return weight_imbalance(sums[np.newaxis], sums.shape[1:])


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
        """The polyphase sums of output ``channel`` divided by their mean |sum|, and that mean.

        Their max - min is the channel's imbalance (the definition of :func:`_imbalance`).

        >>> sums = np.array([[[1.0, -1.0], [1.0, 5.0]]])  # one channel, 2x2 phases
        >>> values, scale = Finding(None, "even", None, "", phase_sums=sums).normalised_sums(0)
        >>> values.tolist(), scale, float(values.max() - values.min()), _imbalance(sums).tolist()
        ([[0.5, -0.5], [0.5, 2.5]], 2.0, 3.0, [3.0])
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
    finding = Finding(op, verdict, ratio, result.explanation, _imbalance(sums), sums)
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
    finding.imbalance = _imbalance(sums)
    finding.with_bias = bias is not None
    finding.note += f"; measured on the conv {path or '(root)'} that feeds it: {measured}"
    return finding


def status(finding: Finding, threshold: float, response_threshold: float) -> str:
    """``artifact``: the weights' mean imbalance or the constant-input response is above its
    threshold (uneven now); ``risk``: not that, but the geometry is uneven or has holes
    (training can make it uneven); ``ok``: neither."""
    mean = finding.imbalance_mean
    measured = finding.response.get("constant")
    if (mean is not None and mean > threshold) or (
        measured is not None and measured > response_threshold
    ):
        return "artifact"
    if finding.verdict in ("checkerboard", "holes"):
        return "risk"
    return "ok"


def judge(
    ops: Sequence[UpOp],
    threshold: float = IMBALANCE_THRESHOLD,
    response_threshold: float = RESPONSE_THRESHOLD,
) -> list[Finding]:
    """Judge every op in call order: geometry, weights, response, then the status; a finding is
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
        mean = finding.imbalance_mean
        if mean is not None and mean > threshold:
            finding.reasons.append(f"weight imbalance {mean:.2f} > {threshold:g}")
        measured = op.response.get("constant")
        if measured is not None and measured > response_threshold:
            finding.reasons.append(f"response {measured:.2f} > {response_threshold:g}")
        finding.status = status(finding, threshold, response_threshold)
        findings.append(finding)
    return findings


def worst(findings: Sequence[Finding]) -> Finding | None:
    """The flagged op with the largest mean weight imbalance (overlap-only flags rank last)."""
    flagged = [f for f in findings if f.flagged]
    if not flagged:
        return None

    def key(f: Finding) -> tuple[float, float]:
        mean = f.imbalance_mean
        return (-math.inf if mean is None else mean, f.interior_ratio or math.inf)

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
    inputs: tuple[str, ...] = ("constant",)
    pngs: list[Path] = field(default_factory=list)
    model_format: str = "pytorch"  # "pytorch" | "onnx"
    audio: Any = None  # scan --rate: an upscope.scanning.audio.AudioTones (the Hz view)

    _brief = ("model", "format=model_format", "input_shapes", "statuses=status_counts", "findings")

    @property
    def status_counts(self) -> dict[str, int]:
        """How many ops have each status, worst first (statuses no op has left out)."""
        return {s: n for s in STATUSES if (n := sum(f.status == s for f in self.findings))}

    def failing(self, fail_on: str) -> list[Finding]:
        """The ops at status ``fail_on`` or worse (``artifact`` counts for ``risk``)."""
        check_fail_on(fail_on)
        worse = STATUSES[: STATUSES.index(fail_on) + 1]
        return [f for f in self.findings if f.status in worse]
