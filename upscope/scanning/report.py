"""The JSON document of a scan (torch-free, rich-free): ``upscope scan --json`` and
:meth:`upscope.scanning.judge.ScanResult.to_dict` are this one function."""

from __future__ import annotations

from typing import Any

from upscope import arith
from upscope.documents import plain
from upscope.scanning.grid import NEGLIGIBLE
from upscope.scanning.judge import STATUSES, Finding, ScanResult, worst
from upscope.scanning.records import Dims

__all__ = ["document", "layer_document", "summary_line"]


def _shape(shape: Dims) -> list[int | None]:
    """A shape as JSON: null for a dimension the front end could not determine (ONNX)."""
    return [None if v is None else int(v) for v in shape]


def _weights_doc(finding: Finding) -> dict[str, Any] | None:
    if finding.imbalance is None:
        return None
    op = finding.op
    source = op.name if op.kind == "convT" else (op.feeding_conv or ("", None))[0]
    return {
        "mean": finding.imbalance_mean,
        "worst": finding.imbalance_worst,
        "channels": int(finding.imbalance.shape[0]),
        "source": source,
        "bias": finding.with_bias,
    }


def _grid_share(finding: Finding) -> dict[str, Any] | None:
    """The op's attributed share of the measured output grid (null: none measured for it)."""
    period = finding.output_period
    if finding.output_grid is None:
        return None
    return {
        "grey_levels": finding.output_grid,
        "rms": finding.output_grid_rms,
        "period": None if period is None else list(period),
    }


def grid_line(result: ScanResult) -> str | None:
    """``"output grid 4.35 grey levels RMS (0.0171 in output units, range 0..1), worst at
    3x3"``; None when no grid was measured."""
    grid = result.grid
    if grid is None:
        return None
    lo, hi = grid.value_range
    if grid.grey_levels < NEGLIGIBLE:
        return (
            f"output grid 0 grey levels (under {NEGLIGIBLE:g}: float rounding; range "
            f"{lo:g}..{hi:g})"
        )
    text = (
        f"output grid {grid.grey_levels:.2f} grey levels RMS ({grid.worst_rms:.3g} in output "
        f"units, range {lo:g}..{hi:g}"
    )
    text += ", given)" if grid.range_source == "given" else ")"
    periods = grid.by_period_worst()
    if periods and grid.worst_rms > 0:
        top = max(periods, key=lambda k: periods[k])
        text += f", most at period {top}"
    return text


def layer_document(finding: Finding, inputs: tuple[str, ...] = ("constant",)) -> dict[str, Any]:
    """One op as JSON; keys that do not apply to its type are null."""
    op = finding.op
    prm = op.params

    def axes(key: str) -> list[Any] | None:
        value = prm.get(key)
        return None if value is None else list(value)

    weights = _weights_doc(finding)
    return {
        "name": op.name,
        "type": op.type,
        "input_shape": _shape(op.input_shape),
        "output_shape": _shape(op.output_shape),
        "kernel": axes("kernel"),
        "stride": axes("stride"),
        "padding": axes("padding"),
        "padding_end": axes("padding_end"),
        "output_padding": axes("output_padding"),
        "dilation": axes("dilation"),
        "groups": prm.get("groups"),
        "scale_factor": axes("scale_factor"),
        "size": axes("size"),
        "mode": prm.get("mode"),
        "upscale_factor": prm.get("upscale_factor"),
        "verdict": finding.verdict,
        "even_overlap": finding.verdict == "even",
        "interior_ratio": finding.interior_ratio,
        "weight_checkerboard": weights,
        "geometry": {"verdict": finding.verdict, "interior_ratio": finding.interior_ratio},
        "weights": weights,
        "response": {name: op.response.get(name) for name in inputs},
        "output_grid": _grid_share(finding),
        "status": finding.status,
        "fixes": [fix.to_dict() for fix in finding.fixes],
        "flagged": finding.flagged,
        "reasons": list(finding.reasons),
        "non_finite": finding.non_finite,
        "compound": list(finding.chain) if op.kind == "convT" else None,
        "note": finding.note,
    }


def summary_line(result: ScanResult) -> str:
    """``"2 of 5 upsampling ops can make a checkerboard (1 artifact, 1 risk); worst: up2,
    imbalance 0.41"``."""
    total = len(result.findings)
    flagged = sum(f.flagged for f in result.findings)
    noun = "op" if total == 1 else "ops"
    words = arith.artifact_words([f.op.ndim for f in result.findings])
    text = f"{flagged} of {total} upsampling {noun} {words}"
    bad = worst(result.findings)
    if bad is None:
        grid = grid_line(result)
        return text if grid is None else f"{text}; {grid}"
    counts = {s: sum(f.status == s for f in result.findings) for s in STATUSES[:2]}
    text += f" ({counts['artifact']} artifact, {counts['risk']} risk)"
    mean = bad.imbalance_mean
    grid = grid_line(result)
    if bad.output_grid is not None and bad.status == "artifact":
        text = f"{text}; worst: {bad.op.name}, its grid {bad.output_grid:.2f} grey levels"
    elif bad.output_grid is None and mean is not None and mean > result.threshold:
        text = f"{text}; worst: {bad.op.name}, imbalance {mean:.2f}"
    else:
        text = f"{text}; worst: {bad.op.name}, {bad.reasons[0]}"
    return text if grid is None else f"{text}; {grid}"


def document(result: ScanResult) -> dict[str, Any]:
    """``{"model", "format", "input_shapes", "output_grid", "layers", "summary", "png",
    "output_non_finite"}``."""
    bad = worst(result.findings)
    return plain(
        {
            "model": result.model,
            "format": result.model_format,
            "input_shapes": [_shape(s) for s in result.input_shapes],
            "output_grid": None if result.grid is None else result.grid.to_dict(),
            "layers": [layer_document(f, result.inputs) for f in result.findings],
            "summary": {
                "ops": len(result.findings),
                "flagged": sum(f.flagged for f in result.findings),
                "status": {s: sum(f.status == s for f in result.findings) for s in STATUSES},
                "worst": None
                if bad is None
                else {
                    "name": bad.op.name,
                    "imbalance": bad.imbalance_mean,
                    "output_grid": bad.output_grid,
                    "reasons": bad.reasons,
                },
                "threshold": result.threshold,
                "grid_threshold": result.grid_threshold,
                "grid_reason": result.grid_reason or None,
                "response_threshold": result.response_threshold,
                "inputs": list(result.inputs),
                "line": summary_line(result),
            },
            "png": [str(p) for p in result.pngs],
            "output_non_finite": list(result.output_non_finite),
        }
    )
