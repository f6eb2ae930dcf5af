"""The JSON document of ``upscope detect`` (presentation: plain JSON types from the analysis's
data; docs/detect.md lists every key)."""

from __future__ import annotations

from typing import Any

from upscope.detection import SOURCES, DetectResult, Group, LayerMatch, OpPeriod, PeriodFound

__all__ = ["detect_document", "source_text"]


def _num(value: float, digits: int = 3) -> float:
    return round(float(value), digits)


def source_text(found: PeriodFound) -> str:
    """The source in words; with a model, says when no op of it can make the period."""
    text = SOURCES[found.source]
    if found.model_can_make is False and found.source != "jpeg":
        text += "; not from this model's upsampling"
    elif found.model_can_make is False:
        text += " (not from this model's upsampling)"
    return text


def _layer(match: LayerMatch) -> dict[str, Any]:
    return {
        "name": match.name,
        "type": match.type,
        "period": list(match.period),
        "exact": match.exact,
        "status": match.status,
        "fix": match.fix,
        "fix_verified": match.fix_verified,
    }


def _period(found: PeriodFound, group: Group) -> dict[str, Any]:
    return {
        "period": list(found.period),
        "strength_db": _num(found.strength_db, 2),
        "z": _num(found.z, 2),
        "images": found.images,
        "images_total": group.count,
        "test": found.test,
        "source": found.source,
        "source_text": source_text(found),
        "rms": None if found.rms is None else _num(found.rms, 4),
        "size": [group.height, group.width],
        "layers": [_layer(m) for m in found.layers],
        "model_can_make": found.model_can_make,
    }


def _op(op: OpPeriod) -> dict[str, Any]:
    return {
        "name": op.name,
        "type": op.type,
        "period": list(op.period),
        "reasons": list(op.reasons),
        "status": op.status,
        "fix": op.fix,
        "fix_verified": op.fix_verified,
    }


def _group(group: Group) -> dict[str, Any]:
    return {
        "size": [group.height, group.width],
        "channels": group.channels,
        "images": group.count,
        "jpeg": group.jpeg,
        "units": group.units,
        "candidates": [
            {
                "test": c.test,
                "period": c.period,
                "z": _num(c.z, 2),
                "strength_db": _num(c.strength_db, 2),
            }
            for c in group.candidates
        ],
    }


def detect_document(result: DetectResult) -> dict[str, Any]:
    """The ``--json`` document of ``upscope detect``."""
    periods = [_period(found, group) for group in result.groups for found in group.found]
    return {
        "verdict": result.verdict,
        "images": sum(g.count for g in result.groups),
        "periods": periods,
        "z_min": result.z_min,
        "periods_tested": list(result.periods_tested),
        "model": result.model,
        "samples": result.samples,
        "seed": result.seed,
        "ops": [_op(op) for op in result.ops],
        "groups": [_group(g) for g in result.groups],
        "png": [str(p) for p in result.pngs],
    }
